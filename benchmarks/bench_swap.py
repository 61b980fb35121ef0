"""Swap quality per CPU minute: training recipes side by side, measured by the swap metrics, not the loss.

    python -m benchmarks.bench recipes [--minutes 10] [--every 1] [--recipes original fast ...]
    python -m benchmarks.bench recipes --steps 2000 --every-steps 400 --recipes fast fast:shared=decoder

Each recipe trains a fresh ``tiny`` model on the sample data (A: the sample video's faces, B: 200 photos
of George_W_Bush) in turn, in this one process; after every ``--every`` minutes of training (the
trainer's own clock: evaluation time is not counted), or every ``--every-steps`` steps, the model
converts the sample video and ``metrics.evaluate`` scores it (ID retrieval over the gallery, recognised
as B, faces found, sharpness kept, expression, jitter). A recipe is given by name or as
``name:field=value,...`` to change fields of a named one (e.g. ``fast:ssim=0``, ``original:coverage=192``,
``fast:precision=bfloat16``, or ``fast:shared=decoder`` for the two-encoder design of ``model``).
Budgets in steps give every recipe the same steps whatever else the machine runs; budgets in minutes
compare recipes whose steps cost different times.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import record_header
from deepfake_utils import blend, data, metrics
from deepfake_utils.checkpoint import load
from deepfake_utils.choices import COLOUR_METHODS, DEFAULT_MASK, MASKS, Options
from deepfake_utils.errors import InvalidArgument
from deepfake_utils.extract import ALIGNMENTS_FILE, extract_identity_faces, extract_sample_faces, load_alignments
from deepfake_utils.model import SHARED, Preset, get_preset
from deepfake_utils.swap import convert, measure_seam
from deepfake_utils.train import Recipe, Trainer, get_recipe, load_faces


def parse_recipe(spec: str) -> tuple[Recipe, str | None, str]:
    """'fast:ssim=0,coverage=160' -> the recipe (renamed to the spec), its precision ('bfloat16' or None) and
    the model's shared part ('encoder', the classic, unless the spec says ``shared=decoder``)."""
    name, _, changes = spec.partition(":")
    recipe, precision, shared = get_recipe(name), None, "encoder"
    types = {f.name: f.type for f in dataclasses.fields(Recipe)}
    updates = {}
    for item in filter(None, changes.split(",")):
        key, _, value = item.partition("=")
        if key == "precision":
            precision = value
        elif key == "shared":
            if value not in SHARED:
                raise InvalidArgument(f"{spec}: shared must be one of {SHARED}, not {value!r}")
            shared = value
        elif key not in types or key == "name":
            raise InvalidArgument(f"{spec}: unknown recipe field {key!r}")
        else:
            updates[key] = value if key == "colour" else (int(value) if key in ("coverage", "batch_size")
                                                             else float(value))
    return dataclasses.replace(recipe, name=spec, **updates), precision, shared


def run_recipe(spec: str, faces_a: list[np.ndarray], faces_b: list[np.ndarray], dir_a: Path,
               gallery: dict[str, np.ndarray], source_track: metrics.FaceTrack, work: Path, *, minutes: float,
               every: float, stop_at: float | None, progress: bool, steps: int | None = None,
               every_steps: int | None = None, preset: str | Preset = "tiny") -> dict:
    """Train one recipe on a model of ``preset`` for ``minutes`` (measuring every ``every`` minutes), or for
    ``steps`` (measuring every ``every_steps``) when given; its curve of metrics."""
    if steps is not None:
        if not every_steps or not 0 < every_steps <= steps:
            raise InvalidArgument(f"measure every 0 < N <= steps steps (got every_steps={every_steps}, steps={steps})")
        total, every = steps, every_steps
    elif not 0 < every <= minutes:
        raise InvalidArgument(f"measure every 0 < N <= minutes (got every={every}, minutes={minutes})")
    else:
        total = minutes
    recipe, precision, shared = parse_recipe(spec)
    video_path = data.sample_video()
    trainer = Trainer(work / "model", get_preset(preset, shared=shared), recipe=recipe,
                      mixed_precision=precision or False)
    curve = []
    budget = every
    while budget <= total + 1e-9:
        budgets = {"steps": budget} if steps is not None else {"minutes": budget}
        trainer.fit(faces_a, faces_b, **budgets, save_every=10**9, progress=progress)  # saves at the end
        model = load(work / "model")
        out = work / f"swapped-{len(curve)}.mp4"
        convert(video_path, model, out, alignments=dir_a, progress=False)
        report = metrics.evaluate(video_path, out, gallery, source_track=source_track, progress=False)
        row = point(report, trainer.train_seconds / 60, trainer.step)
        curve.append(row)
        print(f"  {spec}: {row['minutes']:.1f} min, {row['steps']} steps: ID retrieval {row['id_retrieval']:.0%}, "
              f"recognised {row['recognised']:.0%}, faces {row['faces_found']:.0%}, sharpness "
              f"{row['sharpness_kept']:.2f}, NME {row['expression_error']:.3f}, jitter x{row['jitter_ratio']:.2f}, "
              f"distance to B {row['to_target']:.3f}", flush=True)
        if stop_at is not None and row["id_retrieval"] >= stop_at and row["recognised"] >= stop_at:
            break
        budget += every
    if shared == "decoder":
        # the question a learner asks next: does A's face through *B's* encoder (and the one decoder) give B?
        # B's encoder has never seen A's face; this measures what its code for A decodes to
        convert(video_path, model.via_encoder("b"), out, alignments=dir_a, progress=False)
        report = metrics.evaluate(video_path, out, gallery, source_track=source_track, progress=False)
        curve[-1]["through_b_encoder"] = point(report, curve[-1]["minutes"], curve[-1]["steps"])
    if model.colour_shift is not None:
        # the colour question: the last model fed raw colours at conversion, as conversion did before
        # the shift was recorded (the model trained on shifted A faces sees colours it never learned)
        convert(video_path, dataclasses.replace(model, colour_shift=None), out, alignments=dir_a, progress=False)
        raw = metrics.evaluate(video_path, out, gallery, source_track=source_track, progress=False)
        curve[-1]["raw_input"] = point(raw, curve[-1]["minutes"], curve[-1]["steps"])
    reached = next((r for r in curve if r["id_retrieval"] >= 0.9), None)
    return {"recipe": dataclasses.asdict(recipe), "precision": precision or "float32", "shared": shared,
            "parameters": model.count_params(), "batch": trainer.batch_size,
            "images_per_s": 2 * trainer.batch_size * trainer.step / trainer.train_seconds,
            "minutes_to_90": reached and reached["minutes"], "steps_to_90": reached and reached["steps"],
            "curve": curve}


def point(report: dict, minutes: float, steps: int) -> dict:
    """One measurement of a training curve: the swap metrics that matter, flat."""
    return {"minutes": round(minutes, 3), "steps": steps, **metrics.headline(report)}


def bench_recipes(specs: list[str], minutes: float, every: float, *, stop_at: float | None = None,
                  faces: Path | None = None, out: Path | None = None, progress: bool = False,
                  steps: int | None = None, every_steps: int | None = None, preset: str = "tiny") -> dict:
    """Train and measure each recipe in turn, in one run; returns (and writes to ``out``) the curves.
    ``steps`` and ``every_steps`` budget every recipe in training steps instead of minutes; every recipe
    trains a model of ``preset``."""
    get_preset(preset)  # an unknown name stops here, before the extraction
    for spec in specs:
        parse_recipe(spec)  # likewise a misspelt recipe
    with tempfile.TemporaryDirectory() as tmp:
        if faces is not None and (faces / "A" / ALIGNMENTS_FILE).is_file():
            dir_a, dir_b = faces / "A", faces / "B"  # extracted before (e.g. by `make demo`)
        else:
            dir_a, dir_b = extract_sample_faces(faces or Path(tmp) / "faces", n_photos=200, progress=progress)
        faces_a, faces_b = load_faces(dir_a), load_faces(dir_b)
        gallery = metrics.sample_gallery(progress=progress)
        source_track = metrics.face_track(data.sample_video(), track=False, progress=progress)
        budget = {"steps": steps, "every_steps": every_steps} if steps is not None else {"minutes": minutes,
                                                                                          "every": every}
        result = {**record_header(), "preset": preset, **budget,
                  "faces": {"A": len(faces_a), "B": len(faces_b)}, "gallery": sorted(gallery) + [metrics.SOURCE],
                  "recipes": {}}
        for spec in specs:
            work = Path(tmp) / spec.replace(":", "_").replace(",", "_").replace("=", "-")
            result["recipes"][spec] = run_recipe(spec, faces_a, faces_b, dir_a, gallery, source_track, work,
                                                 minutes=minutes, every=every, stop_at=stop_at, progress=progress,
                                                 steps=steps, every_steps=every_steps, preset=preset)
            if out is not None:
                out.write_text(json.dumps(result, indent=1))
    return result


def format_recipes(result: dict) -> str:
    """The comparison as a table: minutes of training to ID retrieval >= 90 %, and the last point of each."""
    by_steps = "steps" in result and result["steps"] is not None
    unit, short = ("step", "step") if by_steps else ("minute", "min")
    lines = [f"swap quality per training {unit}, {result.get('preset', 'tiny')} preset, {result['machine']} "
             f"({result['date']})",
             f"{'recipe':<34}{'img/s':>7}{short + ' to 90%':>12}{'last ' + short:>10}{'ID retr.':>9}"
             f"{'recog.':>8}{'faces':>7}{'sharp':>7}{'NME':>7}{'jitter':>8}{'to B':>7}"]
    for spec, r in result["recipes"].items():
        last = r["curve"][-1]
        reached = r["steps_to_90" if by_steps else "minutes_to_90"]
        reached = "not yet" if reached is None else f"{reached:.0f}" if by_steps else f"{reached:.1f}"
        at = f"{last['steps']:.0f}" if by_steps else f"{last['minutes']:.1f}"
        lines.append(f"{spec:<34}{r['images_per_s']:>7.0f}{reached:>12}{at:>10}" + _scores(last))
        for key, label in (("raw_input", "same model, raw colours in"), ("through_b_encoder", "A through B's encoder")):
            if key in last:
                lines.append(f"{'  ' + label:<34}{'':>7}{'':>12}{'':>10}" + _scores(last[key]))
    return "\n".join(lines)


def _scores(row: dict) -> str:
    return (f"{row['id_retrieval']:>9.0%}{row['recognised']:>8.0%}{row['faces_found']:>7.0%}"
            f"{row['sharpness_kept']:>7.2f}{row['expression_error']:>7.3f}{row['jitter_ratio']:>7.2f}x"
            f"{row['to_target']:>7.3f}")


# --- the swap on several pairs of people ----------------------------------------------------------------
#: The benchmark's pairs (source video, B): two per source video, same-gender B, as ``shared/data``'s README
#: proposes; ``CROSS_PAIRS`` are reported too (the classic autoencoder replaces only the inner face, so the
#: outline stays A's).
PAIRS: tuple[tuple[str, str], ...] = (("2.mp4", "George_W_Bush"), ("2.mp4", "Gerhard_Schroeder"),
                                      ("KatieHill", "Serena_Williams"), ("KatieHill", "Gloria_Macapagal_Arroyo"))
CROSS_PAIRS: tuple[tuple[str, str], ...] = (("2.mp4", "Serena_Williams"), ("KatieHill", "George_W_Bush"))
#: The columns of the pairs table, by the name ``metrics.headline`` gives them.
PAIR_COLUMNS = ("id_retrieval", "recognised", "faces_found", "expression_error", "jitter_ratio", "detail_kept",
                "detail_fine", "sharpness_kept", "to_target", "seam")


def parse_paste(spec: str, base: Options | None = None) -> Options:
    """'seamless', 'blur=0.12' or 'colour=hist,seamless': conversion options (``choices.Options`` fields, a bare
    name for True) that differ from ``base`` (default: the defaults); checked as the command line checks them."""
    fields = {f.name: f for f in dataclasses.fields(Options)}
    changes: dict[str, object] = {}
    for item in filter(None, spec.split(",")):
        key, sep, value = item.partition("=")
        kind = fields[key].type.removesuffix(" | None") if key in fields else None  # "float | None": a float
        if kind is None or key in ("label", "side") or (not sep and kind != "bool"):
            raise InvalidArgument(f"{spec!r}: a paste is FIELD=VALUE[,...] (or a flag such as seamless) with FIELD "
                                  "one of mask, erode, blur, colour, seamless, sharpen, smooth, min_cutoff, beta")
        try:
            changes[key] = (True if not sep else value.lower() in ("1", "true", "yes")) if kind == "bool" else (
                float(value) if kind == "float" else value)
        except ValueError:
            raise InvalidArgument(f"{spec!r}: {key} takes a number, not {value!r}") from None
    if not changes:
        raise InvalidArgument(f"{spec!r}: name at least one conversion option, e.g. seamless or blur=0.12")
    return dataclasses.replace(base or Options(), **changes)


def parse_pair(spec: str) -> tuple[str, str]:
    """'KatieHill:Serena_Williams' -> (source video's short name, B's LFW identity), both checked."""
    source, sep, target = spec.partition(":")
    if not sep or source not in data.SOURCE_VIDEOS or target not in data.lfw_splits()["swap"]:
        raise InvalidArgument(f"{spec!r}: a pair is SOURCE:IDENTITY with SOURCE one of {sorted(data.SOURCE_VIDEOS)} "
                              f"and IDENTITY one of the swap identities {data.lfw_splits()['swap']}")
    return source, target


def chosen_pairs(specs: list[str] | None, cross: bool = False) -> list[tuple[str, str]]:
    """The pairs a command line names (``SOURCE:IDENTITY`` each; none: the benchmark's four), with ``CROSS_PAIRS``
    added when ``cross``."""
    return ([parse_pair(spec) for spec in specs] if specs else list(PAIRS)) + (list(CROSS_PAIRS) if cross else [])


def resolution_ceiling(video_path: Path, alignments: dict, size: int, coverage: int,
                       max_frames: int | None = None) -> float:
    """The eyes' and mouth's detail a *perfect* model of ``size`` px would keep: every source face cut out at the
    model's framing and size, pasted straight back, and measured as a swap is (the resolution's own limit)."""
    from deepfake_utils.paste import model_input, model_matrix, paste_face
    from deepfake_utils.video import frame_key, iter_frames

    source, ceiling = [], []
    for i, frame in enumerate(iter_frames(video_path, max_frames=max_frames), 1):
        faces = alignments["frames"].get(frame_key(i)) or []
        if not faces:
            continue
        points = np.asarray(faces[0]["landmarks"])
        pasted = paste_face(frame, model_input(frame, points, size, coverage), model_matrix(points, size, coverage))
        source.append(metrics.face_detail(frame, points))
        ceiling.append(metrics.face_detail(pasted, points))
    return metrics.detail_kept(source, ceiling)


def training_detail(folder: Path, size: int = 64, coverage: int = 192, max_faces: int | None = 400) -> dict:
    """The eyes' and mouth's band-pass energy of an extraction folder's faces, measured in the aligned 256 px crop
    (the same framing and scale for a video's faces and a photo's, σ = face width / 64 as ``metrics.face_detail``):
    as extracted (``crop``) and as a perfect model of ``size`` px at ``coverage`` holds them (``model``); medians
    over the folder's faces (evenly spaced, at most ``max_faces``), ``n`` of them measured."""
    import cv2

    from deepfake_utils.align import crop_to_model, transform_points
    from deepfake_utils.fileio import read_image

    entries = [f for faces in load_alignments(folder)["frames"].values() for f in (faces or [])
               if (folder / f["face"]).is_file()]  # faces set aside (moved to a subfolder) are not trained on
    if not entries:
        raise InvalidArgument(f"{folder}: no faces to measure")
    step = max(1, len(entries) // max_faces) if max_faces else 1
    to_model = crop_to_model(size, coverage)
    crop, model = [], []
    for entry in entries[::step]:
        face = read_image(folder / entry["face"])
        points = transform_points(entry["landmarks"], entry["matrix"])  # in the crop
        small = cv2.warpAffine(face, to_model, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
        back = cv2.warpAffine(small, to_model, face.shape[1::-1], flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        crop.append(metrics.face_detail(face, points))
        model.append(metrics.face_detail(back, points))

    def energy(details: list[dict]) -> float:
        return float(np.median([d["eyes"] + d["mouth"] for d in details]))

    return {"n": len(crop), "crop": energy(crop), "model": energy(model)}


def detail_sources(pairs: list[tuple[str, str]], work: Path, size: int = 64, coverage: int = 192,
                   only_b: bool = True) -> dict:
    """How much eye-and-mouth structure each pair's training faces hold: A's video and B's photos, from a
    ``bench pairs --work`` folder's extractions. ``b_over_a`` (B's faces at the model's size over A's as extracted)
    is the detail a perfect model trained on B's photos could keep of A's: below 1 when A's video is sharper than
    B's photos, whatever the model."""
    rows = []
    for source, target in pairs:
        folders = {"A": work / "faces" / source, "B": work / "faces" / (target + "-only" * only_b)}
        missing = [str(f) for f in folders.values() if not (f / ALIGNMENTS_FILE).is_file()]
        if missing:
            raise InvalidArgument(f"no extraction in {missing}: run `python -m benchmarks.bench pairs --work {work}` "
                                  "first")
        a, b = (training_detail(f, size, coverage) for f in folders.values())
        rows.append({"source": source, "target": target, "A": a, "B": b, "b_over_a": b["model"] / a["crop"]})
    return {**record_header(), "size": size, "coverage": coverage,
            "pairs": rows}


def write_pair_json(swapped: Path, source: Path, alignments: Path, target: str, steps: int, **about) -> Path:
    """What notebook 10 and ``bench_detector`` test the detectors on: ``NAME.pair.json`` beside the swap, naming the
    swap, its source and the source's alignments (relative to the file where they are not absolute), B, the steps,
    and anything else about the model (``about``: e.g. ``group``, the label ``bench_detector`` scores it under)."""
    spec = swapped.parent / (swapped.stem + ".pair.json")
    spec.write_text(json.dumps({"swapped": swapped.name, "source": str(source),
                                "alignments": os.path.relpath(alignments, swapped.parent), "target": target,
                                "steps": steps, **about}, indent=1))
    return spec


def conversion_label(options: Options) -> str:
    """How an autoencoder's swap was converted, in words: its colour method and sharpening (the model's own where
    ``options`` leaves them None), and its mask where one is named (the pair.json's ``conversion``)."""
    own = options.for_model(gan=False)
    return f"colour {own.colour}, sharpen {own.sharpen:g}" + (f", mask {options.mask}" if options.mask else "")


def convert_and_measure(video_path: Path, model, out: Path, dir_a: Path, gallery: dict[str, np.ndarray], target: str,
                        *, steps: int, max_frames: int | None = None, options=None,
                        source_track: metrics.FaceTrack | None = None, progress: bool = False, **about) -> dict:
    """Convert the whole video with ``model`` (a folder or a loaded model; ``options``: ``choices.Options``), measure
    it against ``gallery`` (and the seam the paste left: ``swap.measure_seam``), and write NAME.metrics.json and
    NAME.pair.json beside the swap; the report."""
    out.parent.mkdir(parents=True, exist_ok=True)
    converted = convert(video_path, model, out, alignments=dir_a, max_frames=max_frames,
                        options=options or Options(), progress=progress)
    report = metrics.evaluate(video_path, out, gallery, target, max_frames=max_frames, source_track=source_track,
                              progress=progress)
    report["seam"] = measure_seam(video_path, converted, progress=progress)
    metrics.save_report(report, out.with_suffix(".metrics.json"))
    write_pair_json(out, video_path, dir_a, target, steps, **about)
    return report


def measured(swapped: Path, report: dict) -> dict:
    """What a benchmark records of one measured swap: its file, the detail by region, the headline numbers and the
    three identities most often nearest to the swapped face (frames each: B, A, or a look-alike in the gallery)."""
    nearest = list(report["identity"]["swapped"]["nearest"].items())[:3]  # most often first (metrics.identity_scores)
    return {"swapped": str(swapped), "detail": report["detail_kept"], **metrics.headline(report),
            "nearest": dict(nearest)}


def run_pair(source: str, target: str, work: Path, *, recipe: str, preset: str, minutes: float | None,
             steps: int | None, gallery: dict[str, np.ndarray], max_frames: int | None = None,
             n_photos: int | None = None, init: str | None = None, only_b: bool = False,
             every_steps: int | None = None, seed: int | None = None, masks: tuple[str, ...] = (),
             colours: tuple[str, ...] = (), pastes: tuple[str, ...] = (), reuse: bool = False,
             generic: str | None = None, conversion: Options | None = None, progress: bool = False) -> dict:
    """Extract, train a fresh model, convert and measure one pair; its metrics, steps and minutes
    (with ``every_steps``, also measured on the way: ``curve``, one row per measurement; ``seed``: the trainer's,
    None for its default; ``masks``: the same model also converted with each of these masks at every
    measurement, each point's ``by_mask``; ``colours``: the same with these colour methods, ``by_colour``;
    ``pastes``: with these conversion options (``parse_paste``), ``by_paste``; ``reuse``: go on from the model
    already in ``work`` (trained by an earlier run with the same settings) instead of training afresh; ``generic``:
    the weights file ``init`` starts from, None for the preset's shipped one; ``conversion``: the rows' own conversion
    options, which the masks, colours and pastes change, default the defaults)."""
    import shutil

    from deepfake_utils.extract import extract

    video_path = data.source_video(source)
    dir_a = work / "faces" / source
    extract(video_path, dir_a, max_frames=max_frames, progress=progress)  # resumes: once per work folder
    dir_b = extract_identity_faces(target, work / "faces" / (target + "-only" * only_b), n_photos, only_b=only_b,
                                   progress=progress)
    faces_a, faces_b = load_faces(dir_a), load_faces(dir_b)
    start = f"-init-{init}" + (f"-{Path(generic).stem}" if generic else "") if init else ""
    name = (f"{source}-{target}".replace(".", "_") + start + ("-only-b" if only_b else "")
            + ("" if recipe == "fast" else "-" + recipe.replace(":", "-").replace("=", "").replace(",", "-"))
            + ("" if seed is None else f"-seed{seed}"))
    model_dir = work / "models" / name
    rec, precision, shared = parse_recipe(recipe)
    if not reuse:
        shutil.rmtree(model_dir, ignore_errors=True)  # every run trains from scratch
    trainer = Trainer(model_dir, get_preset(preset, shared=shared), recipe=rec, mixed_precision=precision or False,
                      seed=seed)  # with reuse, resumes the model there (and says so if other settings made it)
    if reuse and steps is not None and trainer.step > steps:
        raise InvalidArgument(f"{model_dir} has trained {trainer.step} steps, past the {steps} asked for: reuse it "
                              f"with --steps {trainer.step}")
    if init is not None and trainer.step == 0:  # the generic face model (``pretrain``) as the starting point
        from deepfake_utils.pretrain import initialise

        initialise(trainer.model, generic or f"generic-{trainer.preset.name}", init)
    stops = [steps] if not every_steps or steps is None else [*range(every_steps, steps, every_steps), steps]
    curve, wall, base = [], 0.0, conversion or Options()
    source_track = metrics.face_track(video_path, max_frames=max_frames, track=False, progress=progress)  # once
    for i, stop in enumerate(stops):
        started = time.monotonic()
        trainer.fit(faces_a, faces_b, stop, minutes=minutes, save_every=10**9, progress=progress)
        wall += time.monotonic() - started  # training's wall time: the measurements on the way not counted
        last = i == len(stops) - 1 or trainer.step < stop  # the minutes ran out before this stop
        out = work / "swapped" / (f"{name}.mp4" if last else f"{name}-step{trainer.step}.mp4")
        model = load(model_dir)  # once per measurement, for every mask's conversion
        report = convert_and_measure(video_path, model, out, dir_a, gallery, target, steps=trainer.step,
                                     max_frames=max_frames, options=base, source_track=source_track,
                                     progress=progress, init=init, conversion=conversion_label(base))
        point = {"steps": trainer.step, "train_minutes": round(trainer.train_seconds / 60, 2), **measured(out, report)}
        variants = ([("mask", m, dataclasses.replace(base, mask=m)) for m in masks]
                    + [("colour", c, dataclasses.replace(base, colour=c)) for c in colours]
                    + [("paste", p, parse_paste(p, base)) for p in pastes])
        for what, value, options in variants:  # the same model, pasted through another mask or colour method
            label = value.replace(",", "-").replace("=", "")
            other = out.with_name(out.stem.replace(name, f"{name}-{what}-{label}", 1) + out.suffix)
            by = convert_and_measure(video_path, model, other, dir_a, gallery, target, steps=trainer.step,
                                     max_frames=max_frames, options=options, source_track=source_track,
                                     progress=progress, init=init, conversion=conversion_label(options))
            point.setdefault(f"by_{what}", {})[value] = measured(other, by)
        curve.append(point)
        if last:
            break
    ceiling = resolution_ceiling(video_path, load_alignments(dir_a), trainer.preset.size, trainer.coverage, max_frames)
    return {"source": source, "target": target, "faces": {"A": len(faces_a), "B": len(faces_b)},
            "wall_minutes": round(wall / 60, 2), "load": os.getloadavg()[0],
            "identities": len(report["gallery"]), "init": init, "only_b": only_b, "seed": seed,
            "learning_rate": trainer.learning_rate, "batch_size": trainer.batch_size,
            "precision": trainer.precision, **curve[-1],
            "detail_ceiling": ceiling, **({"curve": curve} if len(curve) > 1 else {})}


def bench_pairs(pairs: list[tuple[str, str]], *, recipe: str = "fast", preset: str = "tiny",
                minutes: float | None = 5.0, steps: int | None = None, work: Path | None = None,
                out: Path | None = None, gallery: str = "large", max_frames: int | None = None,
                n_photos: int | None = None, gallery_photos: tuple[int, int] = (64, 20), init: str | None = None,
                only_b: bool = True, every_steps: int | None = None, seed: int | None = None,
                masks: tuple[str, ...] = (), colours: tuple[str, ...] = (), pastes: tuple[str, ...] = (),
                reuse: bool = False, generic: str | None = None, conversion: str | None = None,
                progress: bool = False) -> dict:
    """Each pair extracted, trained for ``minutes`` of training (or ``steps``, whichever comes first),
    converted and measured against 100+ distractor identities, in one run; the rows and their median.
    ``init`` starts every model from the generic face model (``pretrain.initialise``: "encoder" or "all"), the
    shipped one or the weights file ``generic`` (e.g. one ``pretrain --export`` made);
    ``only_b`` trains B's decoder on B's own faces only (other people in B's photos set aside);
    ``every_steps`` also measures every pair on the way (each row's ``curve``); ``seed`` trains with another seed
    than the trainer's default (a second run of the same recipe: how much of a difference is chance); ``masks``
    also converts every measured model through each of these conversion masks (the row's own is the default),
    ``colours`` with each of these colour methods, ``pastes`` with these conversion options (``parse_paste``);
    ``reuse`` converts and measures the models an earlier run left in ``work`` again (training only the steps they
    lack) instead of training afresh: for other conversions of the same models; ``conversion``: the rows' own
    conversion options (``parse_paste``; e.g. "colour=avg,sharpen=0", the autoencoder's defaults before 2026-12-06),
    which the masks, colours and pastes change; ``max_frames``, ``n_photos`` and ``gallery_photos`` shrink it for a
    test."""
    if minutes is None and steps is None:
        raise InvalidArgument("give a training budget: minutes, steps or both")
    if every_steps is not None and (steps is None or not 0 < every_steps <= steps):
        raise InvalidArgument(f"every_steps needs a step budget and must be in 1..steps, got {every_steps}")
    get_preset(preset)
    if set(masks) - set(MASKS):  # before any training; "learned" is a GAN's, and these are autoencoders
        raise InvalidArgument(f"masks must be among {MASKS}, got {list(masks)}")
    if set(colours) - set(COLOUR_METHODS):
        raise InvalidArgument(f"colours must be among {COLOUR_METHODS}, got {list(colours)}")
    base = parse_paste(conversion) if conversion else Options()
    for spec in pastes:
        parse_paste(spec, base)
    if generic is not None:  # a file of another generic model: checked (sha256, preset) before any work
        from deepfake_utils.pretrain import load_weights

        if init is None:
            raise InvalidArgument("generic names the weights --init starts from: give init too")
        generic_meta = load_weights(generic)[1]
        if generic_meta["preset"] != preset:
            raise InvalidArgument(f"{generic}: holds a {generic_meta['preset']!r} model, not a {preset!r} one")
    if reuse and (work is None or every_steps is not None):
        raise InvalidArgument("reuse converts the models an earlier run left in its work folder: give work, and "
                              "no every_steps (a model trained on cannot be measured at its earlier steps)")
    scheduled = parse_recipe(recipe)[0]  # a misspelt recipe stops here too
    if (scheduled.decay or scheduled.b_first) and every_steps is not None and every_steps < steps:
        raise InvalidArgument(f"{recipe}: a schedule (a decaying rate, B's side first) runs over one budget; measure "
                              "it with --steps alone, once per budget, not --every-steps")
    default = base.for_model(gan=False)  # the rows' own conversion: its colour and sharpening
    result = {**record_header(), "recipe": recipe, "preset": preset,
              "init": init, "generic": None if generic is None else {"file": str(generic), **{
                  k: generic_meta.get(k) for k in ("sha256", "command", "learning_rate", "batch_size", "precision",
                                                   "steps", "train_minutes", "machine", "date")}},
              "only_b": only_b, "minutes": minutes, "steps": steps, "every_steps": every_steps,
              "seed": seed, "gallery": gallery, "mask": base.mask or DEFAULT_MASK, "masks": list(masks),
              "colour": default.colour, "sharpen": default.sharpen, "conversion": conversion,
              "colours": list(colours), "pastes": list(pastes), "reused": reuse,
              "local_sigma": blend.LOCAL_SIGMA,
              "pairs": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(work) if work is not None else Path(tmp)
        for source, target in pairs:
            print(f"pair {source} -> {target}: extract, train, convert, measure", flush=True)
            identities = metrics.sample_gallery(target, *gallery_photos, progress=progress, size=gallery)
            row = run_pair(source, target, root, recipe=recipe, preset=preset, minutes=minutes, steps=steps,
                           gallery=identities, max_frames=max_frames, n_photos=n_photos, init=init,
                           only_b=only_b, every_steps=every_steps, seed=seed, masks=masks, colours=colours,
                           pastes=pastes, reuse=reuse, generic=generic, conversion=base, progress=progress)
            result["pairs"].append(row)
            for point in row.get("curve", [row]):
                last = point is row or point is row["curve"][-1]
                shown = {**row, **point, **({} if last else {"detail_ceiling": float("nan")})}  # ceiling: at the end
                for line in (_pair_line(shown), *_mask_lines(shown)):
                    print("  " + line, flush=True)
            if out is not None:
                out.write_text(json.dumps(result, indent=1))
    result["median"] = {k: float(np.median([r.get(k, np.nan) for r in result["pairs"]]))  # seam: not in older rows
                        for k in (*PAIR_COLUMNS, "detail_ceiling")}
    result["targets_met"] = {k: all(metrics.check_targets_values(r)[k] for r in result["pairs"])
                             for k in metrics.TARGETS}
    if out is not None:
        out.write_text(json.dumps(result, indent=1))
    return result


LABEL_WIDTH = 38  # characters of the pairs table's first column (the pair, or the mask under it)


def _pair_line(row: dict) -> str:
    return (f"{row['source'] + ' -> ' + row['target']:<{LABEL_WIDTH}}{row['steps']:>6}{row['train_minutes']:>6.1f}"
            f"{row['id_retrieval']:>7.0%}{row['recognised']:>7.0%}{row['faces_found']:>7.0%}"
            f"{row['expression_error']:>7.3f}{row['jitter_ratio']:>6.2f}x{row['detail_kept']:>7.2f}"
            f"{row.get('detail_ceiling', float('nan')):>7.2f}{row['detail_fine']:>7.2f}{row['sharpness_kept']:>7.2f}"
            f"{row['to_target']:>7.3f}{row.get('seam', float('nan')):>6.1f}")


def _mask_lines(row: dict) -> list[str]:
    """The row's model pasted through the other masks, colour methods and options (``masks``, ``colours``,
    ``pastes``), a line each under the row's own."""
    return [f"{'  ' + what + ' ' + value:<{LABEL_WIDTH}}" + _pair_line({**row, **other})[LABEL_WIDTH:]
            for what in ("mask", "colour", "paste") for value, other in row.get(f"by_{what}", {}).items()]


def format_pairs(result: dict) -> str:
    """The pairs benchmark as a table: one row per pair, then the median and which targets hold on every pair."""
    budget = " and ".join(f"{v:g} {k}" for k, v in (("minutes", result["minutes"]), ("steps", result["steps"]))
                          if v is not None)
    start = f", started from the generic model ({result['init']})" if result.get("init") else ""
    start += ", B's own faces only" if result.get("only_b") else ""
    paste = f"; converted with colour {result['colour']}, sharpen {result['sharpen']:g}" if "sharpen" in result else ""
    lines = [f"the swap on {len(result['pairs'])} pairs: {result['preset']} preset{start}, {result['recipe']} recipe, "
             f"{budget} of training (whichever first){paste}, {result['machine']} ({result['date']})",
             f"{'pair (A video -> B)':<{LABEL_WIDTH}}{'steps':>6}{'min':>6}{'IDret':>7}{'recog':>7}{'faces':>7}"
             f"{'NME':>7}{'jitter':>7}{'detail':>7}{'ceil.':>7}{'fine':>7}{'sharp':>7}{'to B':>7}{'seam':>6}"]
    for row in result["pairs"]:
        lines += [_pair_line(row), *_mask_lines(row)]
    if "median" in result:
        m = result["median"]
        lines.append(f"{'median':<{LABEL_WIDTH}}{'':>12}{m['id_retrieval']:>7.0%}{m['recognised']:>7.0%}"
                     f"{m['faces_found']:>7.0%}"
                     f"{m['expression_error']:>7.3f}{m['jitter_ratio']:>6.2f}x{m['detail_kept']:>7.2f}"
                     f"{m.get('detail_ceiling', float('nan')):>7.2f}{m['detail_fine']:>7.2f}{m['sharpness_kept']:>7.2f}"
                     f"{m['to_target']:>7.3f}{m.get('seam', float('nan')):>6.1f}")
        held = ", ".join(f"{k} {'yes' if ok else 'NO'}" for k, ok in result["targets_met"].items())
        lines.append(f"targets on every pair: {held}")
    identities = sorted({r["identities"] for r in result["pairs"]})
    lines.append(f"IDret: nearest of {'/'.join(map(str, identities))} identities (A, B and the distractors) is B; "
                 "detail: eyes' and mouth's band-pass energy kept at sigma = face width / 64; ceil.: what a "
                 "perfect model of this size and framing would keep; fine: at 2 px; seam: the colour step the paste "
                 "adds across its mask's edge, CIE delta E (2.3 just noticeable)")
    return "\n".join(lines)


def markdown_pairs(runs: dict[str, dict]) -> str:
    """Several pairs runs (by label) as one Markdown table, a row per pair and run: how benchmarks/README.md
    records them side by side."""
    head = ("| pair (A video → B) | run | steps | ID retrieval | recognised | faces | NME | jitter | **eyes+mouth "
            "detail** | eyes | mouth | ceiling | 2 px | sharpness |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    pairs = dict.fromkeys((r["source"], r["target"]) for run in runs.values() for r in run["pairs"])
    for source, target in pairs:
        for label, run in runs.items():
            row = next((r for r in run["pairs"] if (r["source"], r["target"]) == (source, target)), None)
            if row is None:
                continue
            ceiling = row.get("detail_ceiling")
            lines.append(f"| {source} → {target} | {label} | {row['steps']} | {row['id_retrieval']:.0%} | "
                         f"{row['recognised']:.0%} | {row['faces_found']:.0%} | {row['expression_error']:.3f} | "
                         f"{row['jitter_ratio']:.2f}× | **{row['detail_kept']:.2f}** | {row['detail']['eyes']:.2f} | "
                         f"{row['detail']['mouth']:.2f} | {'–' if ceiling is None else f'{ceiling:.2f}'} | "
                         f"{row['detail_fine']:.2f} | {row['sharpness_kept']:.2f} |")
    return "\n".join(lines)
