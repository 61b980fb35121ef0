"""The course's GAN on the benchmark's pairs (issues 22 and 23): does it pay off where a CPU budget can show it?

    python -m benchmarks.bench gan-pairs --start out/bench-pairs/models --steps 900 --work out/gan-pairs \
        --out benchmarks/gan-pairs.json

For each pair, from that pair's trained autoencoder (``START/NAME``, e.g. the 1 425-step models of ``bench pairs``):

- the ``tiny`` GAN warm-started from it (``GanTrainer(warm_start_from=...)``: encoder and face layers copied, the
  mask layer and the discriminators fresh), trained for ``--steps`` (its schedule spread over them) or
  ``--max-minutes`` of training, whichever comes first;
- beside it, in the same run, **the same autoencoder trained on for the same training time** (its own clock: the GAN's
  ``train_seconds`` added to the autoencoder's), the fair control;

then the whole video converted three ways and measured as ``bench pairs`` measures (``metrics.evaluate`` against
100+ distractor identities, eyes-and-mouth detail at sigma = face width / 64 and at 2 px): the autoencoder (its
``hull_rect`` mask), the GAN with its learned mask, and the GAN's face with the autoencoder's ``hull_rect`` mask (the
learned mask starts at 0.5 everywhere and moves slowly, so the second swap can show half of A's face whatever the
GAN's face is worth). Each swap gets NAME.metrics.json and NAME.pair.json (``group``: how ``bench_detector`` labels
it); the rows go to ``--out`` after every pair.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks import record_header
from benchmarks.bench_swap import conversion_label, convert_and_measure, measured, parse_paste, resolution_ceiling
from deepfake_utils import data, metrics
from deepfake_utils.align import crop_to_model
from deepfake_utils.checkpoint import load
from deepfake_utils.choices import GAN_COLOUR, GAN_SHARPEN, Options
from deepfake_utils.errors import InvalidArgument
from deepfake_utils.extract import load_alignments
from deepfake_utils.train import Trainer, load_faces

#: The three swaps of every pair: key, label, which model folder ("ae" or "gan"), conversion mask (None: its own).
# the autoencoder's mask is named, not left to the default (now forehead), and so are its colour and sharpening (now
# hist and 1: CONVERSION): the runs stay those of gan-pairs.json, and every swap's NAME.pair.json says the mask it was
# converted through
SWAPS = (("autoencoder", "autoencoder, trained on as long", "ae", "hull_rect"),
         ("gan_learned", "GAN, learned mask", "gan", None),
         ("gan_ae_mask", "GAN's face, autoencoder's hull_rect mask", "gan", "hull_rect"))

#: The colour method and sharpening of every swap here: the GAN's own for both models, as gan-pairs.json was made.
CONVERSION = {"colour": GAN_COLOUR, "sharpen": GAN_SHARPEN}


def pair_name(source: str, target: str, only_b: bool = False) -> str:
    """The model folder's name of a pair in ``bench pairs``' work folder (its scratch run; ``only_b``: trained on B's
    faces alone, ``bench pairs``' default since 2026-12-05)."""
    return f"{source}-{target}".replace(".", "_") + ("-only-b" if only_b else "")


def mask_mean(model, faces: list[np.ndarray], n: int = 32) -> float:
    """The learned mask's mean over the first ``n`` faces (256 px aligned crops) turned into B: 0.5 is a fresh
    sigmoid, i.e. half of A's own face shows through."""
    from deepfake_utils.paste import predict_with_mask

    size = model.preset.size
    crops = np.stack([cv2.warpAffine(f, crop_to_model(size, model.coverage), (size, size)) for f in faces[:n]])
    return float(predict_with_mask(model, crops)[1].mean())


def run_gan_pair(source: str, target: str, start: Path, work: Path, *, steps: int, max_minutes: float | None,
                 gallery: dict[str, np.ndarray], faces: Path, source_track: metrics.FaceTrack | None = None,
                 ceiling: float | None = None, max_frames: int | None = None, conversions: tuple[str, ...] = (),
                 only_b: bool = False, progress: bool = False) -> dict:
    """One pair: the GAN warm-started from ``start`` and the autoencoder trained on for as long, each converted and
    measured; one row (the three swaps' metrics, steps, minutes, the learned mask's mean). ``conversions``: other
    conversions (``bench pairs``' paste specs, e.g. 'colour=hist,sharpen=1') of the same three swaps, each measured
    too (the swap's ``by_conversion``)."""
    from deepfake_utils.gan_train import GanTrainer

    name = pair_name(source, target, only_b)
    video_path = data.source_video(source)
    dir_a, dir_b = faces / source, faces / (target + "-only" * only_b)  # as bench pairs extracted them
    faces_a, faces_b = load_faces(dir_a), load_faces(dir_b)
    ae_dir, gan_dir = work / "models" / f"{name}-ae-more", work / "models" / f"{name}-gan"
    for folder in (ae_dir, gan_dir):
        shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(start, ae_dir)  # the control trains on a copy: the start stays as it was
    loads = [os.getloadavg()[0]]
    began = time.monotonic()
    gan = GanTrainer(gan_dir, "tiny", warm_start_from=start, total_steps=steps)
    gan.fit(faces_a, faces_b, steps, minutes=max_minutes, save_every=10**9, progress=progress)
    gan_wall = time.monotonic() - began
    loads.append(os.getloadavg()[0])
    ae = Trainer(ae_dir, mixed_precision=False)
    ae_start_steps, ae_start_seconds = ae.step, ae.train_seconds
    began = time.monotonic()
    ae.fit(faces_a, faces_b, minutes=(ae_start_seconds + gan.train_seconds) / 60, save_every=10**9, progress=progress)
    ae_wall = time.monotonic() - began
    loads.append(os.getloadavg()[0])
    models = {"ae": load(ae_dir), "gan": load(gan_dir)}
    row = {"source": source, "target": target, "start": str(start), "start_steps": ae_start_steps,
           "faces": {"A": len(faces_a), "B": len(faces_b)},
           "gan": {"steps": gan.step, "total_steps": gan.total_steps, "batch": gan.batch_size,
                   "train_minutes": round(gan.train_seconds / 60, 2), "wall_minutes": round(gan_wall / 60, 2),
                   "warm_start": gan.warm_start_report, "mask_mean": mask_mean(models["gan"], faces_a)},
           "autoencoder": {"steps": ae.step, "steps_added": ae.step - ae_start_steps, "batch": ae.batch_size,
                           "train_minutes": round((ae.train_seconds - ae_start_seconds) / 60, 2),
                           "wall_minutes": round(ae_wall / 60, 2)},
           "identities": len(gallery) + 1, "detail_ceiling": ceiling, "swaps": {}}
    for key, label, which, mask in SWAPS:
        out = work / "swapped" / f"{name}-{key.replace('_', '-')}.mp4"
        trained = row["gan" if which == "gan" else "autoencoder"]
        group = ("CPU tiny autoencoder, 1 425 + as many minutes as the GAN" if which == "ae" else
                 f"CPU GAN tiny, warm-started, {'learned' if mask is None else mask} mask")
        own = Options(mask=mask, **CONVERSION)
        row["swaps"][key] = {"label": label, "by_conversion": {}}
        for spec in ("", *conversions):  # the GAN's own conversion first, then the others of the same model
            options = parse_paste(spec, own) if spec else own
            swapped = out.with_name(f"{out.stem}-{conversion_slug(spec)}.mp4") if spec else out
            report = convert_and_measure(video_path, models[which], swapped, dir_a, gallery, target,
                                         steps=trained["steps"], max_frames=max_frames, options=options,
                                         source_track=source_track, progress=progress,
                                         group=group + (f", converted with {spec}" if spec else ""),
                                         kind="gan" if which == "gan" else "autoencoder", mask=mask or "learned",
                                         conversion=conversion_label(options))
            if spec:
                row["swaps"][key]["by_conversion"][spec] = measured(swapped, report)
            else:
                row["swaps"][key].update(measured(swapped, report))
    loads.append(os.getloadavg()[0])
    row["load"] = [round(v, 2) for v in loads]
    return row


def conversion_slug(spec: str) -> str:
    """A paste spec as part of a file name: 'colour=hist,sharpen=1' -> 'colour-hist-sharpen-1'."""
    return spec.replace("=", "-").replace(",", "-").replace(".", "_")


def bench_gan_pairs(pairs: list[tuple[str, str]], start: Path, work: Path, *, steps: int = 900,
                    max_minutes: float | None = 6.0, out: Path | None = None, faces: Path | None = None,
                    gallery: str = "large", gallery_photos: tuple[int, int] = (64, 20), max_frames: int | None = None,
                    conversions: tuple[str, ...] = (), only_b: bool = False, progress: bool = False) -> dict:
    """Every pair in turn (``run_gan_pair``), rows written to ``out`` after each; the result. ``conversions``: other
    conversions of every swap, measured beside the GAN's own (``CONVERSION``)."""
    import json

    if steps < 1:
        raise InvalidArgument(f"--steps {steps}: the GAN needs at least one step")
    for spec in conversions:  # checked before any work
        parse_paste(spec, Options(**CONVERSION))
    faces = faces or start.parent / "faces"
    missing = [pair_name(*p, only_b) for p in pairs if not (start / pair_name(*p, only_b) / "state.json").is_file()]
    if missing:
        raise InvalidArgument(f"{start}: no trained autoencoder for {missing} (run `bench pairs --work` first)")
    result = {**record_header(), "preset": "tiny", "gan_steps": steps, "max_minutes": max_minutes, "only_b": only_b,
              "start": str(start), "gallery": gallery, "conversion": CONVERSION, "conversions": list(conversions),
              "pairs": []}
    tracks: dict[str, metrics.FaceTrack] = {}
    ceilings: dict[str, float] = {}
    for source, target in pairs:
        model_dir = start / pair_name(source, target, only_b)
        print(f"pair {source} -> {target}: GAN and autoencoder from {model_dir}", flush=True)
        video_path = data.source_video(source)
        if source not in tracks:  # the source measured once per video, as every swap of it is measured against it
            tracks[source] = metrics.face_track(video_path, max_frames=max_frames, track=False, progress=progress)
            state = json.loads((model_dir / "state.json").read_text())
            ceilings[source] = resolution_ceiling(video_path, load_alignments(faces / source), state["preset"]["size"],
                                                  state["recipe"]["coverage"], max_frames)
        identities = metrics.sample_gallery(target, *gallery_photos, progress=progress, size=gallery)
        row = run_gan_pair(source, target, model_dir, work, steps=steps,
                           max_minutes=max_minutes, gallery=identities, faces=faces, source_track=tracks[source],
                           ceiling=ceilings[source], max_frames=max_frames, conversions=conversions,
                           only_b=only_b, progress=progress)
        result["pairs"].append(row)
        print(format_gan_pairs({"pairs": [row]}, head=False), flush=True)
        if out is not None:
            out.write_text(json.dumps(result, indent=1))
    return result


def gan_rows(result: dict) -> list[dict]:
    """The recorded run flat: one dict per pair, swap and conversion (pair, swap label, the conversion spec, '' for
    the GAN's own, steps, train minutes and the metrics), what notebook 09 and the tables show."""
    rows = []
    for r in result["pairs"]:
        for key, label, which, _ in SWAPS:
            if key not in r["swaps"]:
                continue
            trained = r["gan"] if which == "gan" else r["autoencoder"]
            for spec, s in (("", r["swaps"][key]), *r["swaps"][key].get("by_conversion", {}).items()):
                rows.append({"pair": f"{r['source']} → {r['target']}", "swap": label + (f", {spec}" if spec else ""),
                             "conversion": spec, "steps": trained["steps"],
                             "minutes": trained["train_minutes"], "id_retrieval": s["id_retrieval"],
                             "recognised": s["recognised"], "faces_found": s["faces_found"],
                             "expression_error": s["expression_error"], "jitter_ratio": s["jitter_ratio"],
                             "detail": s["detail"]["eyes_mouth"], "eyes": s["detail"]["eyes"],
                             "mouth": s["detail"]["mouth"], "fine": s["detail"]["fine"], "to_target": s["to_target"],
                             "ceiling": r.get("detail_ceiling"),
                             "mask_mean": r["gan"]["mask_mean"] if which == "gan" else None})
    return rows


def format_gan_pairs(result: dict, head: bool = True) -> str:
    """The run as a markdown table: per pair, the autoencoder trained on and the GAN's two swaps."""
    lines = ["| pair | swap | steps | train min | ID retrieval | recognised | faces | NME | jitter | eyes+mouth "
             "detail (ceiling) | eyes | mouth | 2 px | to B |", "|---" * 14 + "|"] if head else []
    for w in gan_rows(result):
        ceiling = "–" if w["ceiling"] is None else f"{w['ceiling']:.2f}"
        lines.append(f"| {w['pair']} | {w['swap']} | {w['steps']} | {w['minutes']:.1f} | {w['id_retrieval']:.0%} | "
                     f"{w['recognised']:.0%} | {w['faces_found']:.0%} | {w['expression_error']:.3f} | "
                     f"{w['jitter_ratio']:.2f}× | **{w['detail']:.2f}** ({ceiling}) | {w['eyes']:.2f} | "
                     f"{w['mouth']:.2f} | {w['fine']:.2f} | {w['to_target']:.3f} |")
    return "\n".join(lines)
