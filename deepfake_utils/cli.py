"""Command line: thin wrappers over the modules (extract, train, convert, data, demo)."""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import configure
from .choices import (
    COLOUR_METHODS,
    CONVERT_MASKS,
    DEFAULT_COLOUR,
    DEFAULT_MASK,
    DEFAULT_SHARPEN,
    GAN_COLOUR,
    GAN_PRESETS,
    GAN_SHARPEN,
    LABEL,
    MODEL_KINDS,
    RECIPES,
    Options,
)
from .config import SEED
from .errors import DeepfakeError

DEMO_MINUTES_CPU = 5.0  # training time of `make demo` on a CPU: B is recognised after 1-2 minutes, expression
# (landmark NME) settles below 0.06 after 2-4 (benchmarks/README.md)
DEMO_MINUTES_GPU = 20.0
LOW_FACE_SHARE = 0.5  # extract: below this share of a video's frames with a face, a hint (a turned video?)

TF_LOG_ENV = "TF_CPP_MIN_LOG_LEVEL"
# TensorFlow's C++ log: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR either. The command line uses 3: on a
# machine without a usable GPU even level 2 prints "E0000 ... failed call to cuInit"; real failures still
# raise Python exceptions, and TF_CPP_MIN_LOG_LEVEL=0 shows everything again.
TF_LOG_LEVEL = "3"
# what TensorFlow's C++ side prints while it loads, before its log level applies: absl INFO/WARNING/ERROR lines
TF_STARTUP_NOISE = re.compile(
    r"[IWE]\d{4} \d\d:\d\d:[\d.]+\s+\d+ [\w./-]+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags")


@contextmanager
def _stderr_filtered(drop: Callable[[str], object]) -> Iterator[None]:
    """Capture file descriptor 2 (C++ libraries write there) and pass on the lines ``drop`` does not match."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode(errors="replace").splitlines(keepends=True)
                    if not drop(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


def quiet_tensorflow() -> None:
    """Import TensorFlow without its C++/absl start-up lines, unless the user set TF_CPP_MIN_LOG_LEVEL."""
    if TF_LOG_ENV in os.environ or "tensorflow" in sys.modules:
        return  # the user's own level wins; a TensorFlow already loaded has printed what it prints
    os.environ[TF_LOG_ENV] = TF_LOG_LEVEL
    with _stderr_filtered(TF_STARTUP_NOISE.match):
        import tensorflow  # noqa: F401


def _turn_hint(args: argparse.Namespace, result: dict) -> str:
    """What to do about faces found in few frames of a video: turn it upright, by how much when a turn shows them."""
    from .extract import TURN_FILTERS, TURNS, upright_turn

    source = Path(args.input)
    upright = f"{source.stem}_upright{source.suffix}"
    turn = upright_turn(source, result, fps=args.fps)
    if turn is not None:
        k, hits, tried = turn
        return (f"; {hits} of {tried} frames without one show a face when turned {TURNS[k]}: the video is stored "
                f"turned; turn it upright and extract that: ffmpeg -i {source.name} -vf {TURN_FILTERS[k]} -c:a copy "
                f"{upright}")
    return (f"; if the face is turned in the picture, turn the video upright first (ffmpeg -i {source.name} -vf "
            f"transpose=1 -c:a copy {upright}: 90° clockwise; transpose=2: counter-clockwise; hflip,vflip: 180°)")


def _extract(args: argparse.Namespace) -> int:
    from . import video
    from .errors import DeepfakeWarning, NoFaceError, VideoError
    from .extract import extract, faces_found

    result = extract(args.input, args.out_dir, size=args.size, fps=args.fps, max_frames=args.max_frames,
                     blur_threshold=args.blur_threshold, reference=args.reference, fast=not args.naive,
                     overwrite=args.overwrite)
    frames, run = result["frames"], result["run"]
    found = sum(1 for faces in frames.values() if faces)
    is_video = not Path(args.input).is_dir()
    if is_video:
        info = video.probe(args.input, count=False)
        if info.rotated:
            print(f"{Path(args.input).name}: its metadata turns it by 90° (a phone video): its frames are read "
                  f"upright, {info.size[0]}x{info.size[1]} (stored {info.stored_size[0]}x{info.stored_size[1]})")
    if run["resumed_frames"]:
        print(f"continued an earlier extraction: {run['resumed_frames']} frames were already done")
    if run["removed"] or run["moved"]:
        print(f"your edits are kept: {run['removed']} deleted faces marked removed (not written again), "
              f"{run['moved']} moved faces followed")
    several = [key for key, faces in frames.items() if len(faces) > 1]
    if several:
        how = ("the reference person's at the top level, the others in other/" if args.reference else
               "all kept as _0, _1, ... (_0 is the one nearest the centre; --reference keeps one person)")
        print(f"{len(several)} images with several faces ({', '.join(several[:3])}{', ...' * (len(several) > 3)}): "
              f"{how}")
    skipped = result["skipped"]
    if skipped:
        print(f"{len(skipped)} unreadable images skipped (fix or remove them; a re-run adds them):", file=sys.stderr)
        for reason in skipped.values():
            print(f"  {reason}", file=sys.stderr)
    print(f"{found}/{len(frames)} frames with a face ({faces_found(result):.0%}); "
          f"faces and alignments.json in {args.out_dir}")
    truncated = result.get("truncated")
    if truncated:
        raise VideoError(f"{args.input}: truncated: only {truncated['frames']} of its {truncated['declared_frames']} "
                         f"frames decode (an incomplete copy or download?); the faces of those are kept in "
                         f"{args.out_dir}: copy the whole file and run extract again to continue")
    if frames and not found:
        raise NoFaceError(f"{args.input}: no face found in any of its {len(frames)} frames (recorded in "
                          f"{args.out_dir}/alignments.json); use a video or photos with a clear, frontal face "
                          f"at least about 80 px high{_turn_hint(args, result) if is_video else ''}")
    if is_video and faces_found(result) < LOW_FACE_SHARE:
        warnings.warn(f"{args.input}: faces found in only {found} of its {len(frames)} frames"
                      f"{_turn_hint(args, result)}", DeepfakeWarning, stacklevel=2)
    return 0


def _same_folder(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve() or (Path(a).is_dir() and Path(b).is_dir()
                                                      and os.path.samefile(a, b))


def _check_train_args(args: argparse.Namespace) -> None:
    """The train arguments that are wrong whatever the folders hold (checked before TensorFlow loads)."""
    if args.steps is None and args.minutes is None:
        raise DeepfakeError("say how long to train: --steps N (in total) or --minutes M (of training in total)")
    positive = [("--steps", args.steps, "the number of steps to reach in total, e.g. --steps 1000"),
                ("--minutes", args.minutes, "the training minutes to reach in total"),
                ("--batch-size", args.batch_size, "faces per side and step, e.g. 16; leave it out for the preset's"),
                ("--learning-rate", args.learning_rate, "e.g. 5e-5; leave it out for the preset's"),
                ("--save-every", args.save_every, "steps between checkpoints, e.g. 100")]
    for flag, value, what in positive:
        if value is not None and not value > 0:
            raise DeepfakeError(f"{flag} {value}: must be positive ({what})")
    if _same_folder(args.a_dir, args.b_dir):
        raise DeepfakeError(f"{args.a_dir}: given as both A and B; the swap needs faces of two different people "
                            "in two folders")
    for faces in (args.a_dir, args.b_dir):
        if _same_folder(faces, args.model_dir):
            raise DeepfakeError(f"{args.model_dir}: the model folder is the face folder {faces}; checkpoints and "
                                "preview.png would land among the faces: choose another model folder")
    _check_model_options(args, args.model)


def _check_pretrain_args(args: argparse.Namespace) -> None:
    """The pretrain arguments (checked before TensorFlow loads)."""
    if args.steps is None and args.minutes is None:
        raise DeepfakeError("say how long to pretrain: --steps N or --minutes M (in total)")
    for flag, value in (("--steps", args.steps), ("--minutes", args.minutes), ("--identities", args.identities),
                        ("--learning-rate", args.learning_rate)):
        if value is not None and not value > 0:
            raise DeepfakeError(f"{flag} {value}: must be positive")


def _check_model_options(args: argparse.Namespace, kind: str | None) -> None:
    """Options that only one kind of model takes (``kind`` None: not known yet)."""
    if kind == "gan":
        for flag, value in (("--recipe", args.recipe), ("--precision", args.precision), ("--init", args.init)):
            if value is not None:
                raise DeepfakeError(f"{flag} is an option of the autoencoder; the GAN's losses are its own "
                                    f"(deepfake_utils.gan.GanConfig): leave {flag} out")
        if args.preset is not None and args.preset not in GAN_PRESETS:
            raise DeepfakeError(f"--preset {args.preset}: a GAN preset is one of {', '.join(GAN_PRESETS)}")
    elif kind == "autoencoder":
        for flag, value in (("--warm-start", args.warm_start), ("--perceptual", args.perceptual or None)):
            if value is not None:
                raise DeepfakeError(f"{flag} is an option of the GAN: add --model gan")


def _train(args: argparse.Namespace) -> int:
    from .checkpoint import saved_kind
    from .train import load_faces

    saved = saved_kind(args.model_dir)
    kind = args.model or saved or "autoencoder"
    _check_model_options(args, kind)
    if kind == "gan" and saved is None and args.steps is None:
        raise DeepfakeError("a new GAN needs --steps: its loss schedule (perceptual loss, mask hinge, learning "
                            "rate) switches at fractions of the run's steps (--minutes may stop it earlier)")
    _warn_unaligned(args.a_dir, args.b_dir)
    faces_a, faces_b = load_faces(args.a_dir), load_faces(args.b_dir)
    if kind == "gan":
        from .gan import GanConfig
        from .gan_train import GanTrainer

        config = GanConfig(perceptual=True) if args.perceptual else None
        trainer = GanTrainer(args.model_dir, args.preset, config=config, seed=args.seed, batch_size=args.batch_size,
                             learning_rate=args.learning_rate, total_steps=args.steps,
                             warm_start_from=args.warm_start)
    else:
        from .train import Trainer

        trainer = Trainer(args.model_dir, args.preset, recipe=args.recipe, seed=args.seed,
                          batch_size=args.batch_size, learning_rate=args.learning_rate,
                          mixed_precision=_precision(args.precision))
        if args.init is not None:
            _init_from_generic(trainer, args.init)
    print(f"training {trainer.summary()}")
    for change in trainer.changes:
        print(f"changed: {change}")
    start, printed = trainer.step, len(trainer.changes)
    history = trainer.fit(faces_a, faces_b, args.steps, minutes=args.minutes, save_every=args.save_every,
                          new_data=args.new_data)
    for change in trainer.changes[printed:]:
        print(f"changed: {change}")
    if history:
        losses = ", ".join(f"{name} {value:.4f}" for name, value in zip(trainer.history_columns, history[-1][1:],
                                                                         strict=True))
        print(f"steps {start} -> {trainer.step}; {losses}; checkpoint, preview.png and previews/ in {args.model_dir}")
    return 0


def _init_from_generic(trainer, parts: str) -> None:
    """``--init``: a new model starts from the generic face model of its preset (``pretrain``); a resumed one
    keeps its own weights."""
    from . import pretrain

    if trainer.step > 0:
        raise DeepfakeError(f"--init {parts}: {trainer.model_dir} already holds a model trained for {trainer.step} "
                            "steps; --init starts new models only (leave it out to resume)")
    meta = pretrain.initialise(trainer.model, f"generic-{trainer.preset.name}", parts)
    print(f"started from the generic {meta['preset']} face model ({parts}: {meta['file']}, {meta['steps']} steps "
          f"on {meta['faces']} faces of {meta['identities']} people)")


def _pretrain(args: argparse.Namespace) -> int:
    from . import pretrain
    from .train import Trainer, load_faces, machine

    out = Path(args.out_dir)
    faces = load_faces(pretrain.pretrain_faces(out, args.identities))
    trainer = Trainer(out / "model", args.preset, recipe=args.recipe, learning_rate=args.learning_rate)
    print(f"pretraining {trainer.summary()} on {len(faces)} faces (A and B: the generic set; resumes in "
          f"{out / 'model'})")
    trainer.fit(faces, faces, args.steps, minutes=args.minutes, save_every=500)
    if args.export:
        about = {"command": "python -m deepfake_utils " + " ".join(sys.argv[1:] if args.argv is None else args.argv),
                 "data": "the sample data's pretrain split (lfw_splits.json): one LFW deep-funneled photo each",
                 "identities": len(list((out / "photos").iterdir())), "faces": len(faces),
                 "recipe": trainer.recipe.name, "learning_rate": trainer.learning_rate,
                 "batch_size": trainer.batch_size, "precision": trainer.precision,
                 "steps": trainer.step,
                 "train_minutes": round(trainer.train_seconds / 60, 1), "machine": machine(),
                 "date": time.strftime("%Y-%m-%d")}
        path = pretrain.save_weights(trainer.model, args.export, about)
        print(f"exported the encoder and decoder A ({path.stat().st_size / 1e6:.1f} MB, float16) to {path}")
    return 0


def _warn_unaligned(*folders: str) -> None:
    """Warn about a face folder that `extract` did not write: raw photos train a model that swaps nothing."""
    from .errors import DeepfakeWarning

    for folder in folders:
        if Path(folder).is_dir() and not (Path(folder) / "alignments.json").is_file():
            warnings.warn(f"{folder}: no alignments.json, so these may be raw photos rather than aligned faces (a "
                          f"model trained on them swaps badly); run python -m deepfake_utils extract {folder} "
                          "FACES_DIR and train on FACES_DIR", DeepfakeWarning, stacklevel=2)


def _precision(name: str | None) -> bool | str | None:
    """--precision as Trainer's mixed_precision: None (the device's default), False, 'float16' or 'bfloat16'."""
    return {None: None, "float32": False}.get(name, name)


def _options(args: argparse.Namespace):
    from .paste import Options

    return Options(mask=args.mask, erode=args.erode, blur=args.blur, colour=args.colour, seamless=args.seamless,
                   sharpen=args.sharpen, smooth=not args.no_smooth, label=None if args.no_label else args.label,
                   side=args.side)


def _convert(args: argparse.Namespace) -> int:
    from .swap import convert

    result = convert(args.video, args.model_dir, args.out, alignments=args.alignments, options=_options(args),
                     frames=args.frames, max_frames=args.max_frames, batch_size=args.batch_size)
    print(f"{result.swapped}/{result.frames} frames swapped ({result.no_face} without a face, {result.removed} "
          f"faces removed from the aligned folder) at {result.fps:.1f} frames/s -> {result.output}")
    return 0


def _data(args: argparse.Namespace) -> int:
    from . import data

    wanted = [data.SAMPLE_VIDEO] + [p for name in args.identity for p in data.identity_files(name)]
    paths = data.fetch_many(sorted(data.registry()) if args.all else wanted)
    print(f"{len(paths)} files verified in {data.cache_dir()}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    import tensorflow as tf

    from . import data, metrics, viz
    from .config import settings
    from .extract import extract_sample_faces, load_alignments
    from .fileio import read_image, write_image
    from .swap import convert, measure_seam, unsharpened_detail, write_comparison
    from .train import Trainer, load_faces

    out = Path(args.out_dir)
    gpu = bool(tf.config.list_physical_devices("GPU"))
    minutes = args.minutes if args.minutes is not None else (DEMO_MINUTES_GPU if gpu else DEMO_MINUTES_CPU)
    print(f"demo 1/4: extract faces of A (sample video) and B ({args.identity}, {args.photos} photos)")
    dir_a, dir_b = extract_sample_faces(out / "faces", max_frames=args.max_frames, n_photos=args.photos,
                                        identity=args.identity)
    found = [(k, f[0]["face"]) for k, f in load_alignments(dir_a)["frames"].items() if f]
    sheet = viz.contact_sheet([read_image(dir_a / rel) for _, rel in found], ncols=args.ncols, size=96,
                              labels=[k for k, _ in found])
    write_image(out / "contact_sheet.png", sheet)
    trainer = Trainer(out / "model", "tiny", recipe=args.recipe)
    print(f"demo 2/4: train for {minutes:g} minutes{f' (at most {args.steps} steps)' if args.steps else ''}: "
          f"{trainer.summary()} (resumes in {out / 'model'})")
    trainer.fit(load_faces(dir_a), load_faces(dir_b), args.steps, minutes=minutes, save_every=250)
    print("demo 3/4: convert the video (labelled SYNTHETIC, audio kept) and the side-by-side comparison")
    video_path = data.sample_video()
    swapped = out / "swapped.mp4"
    result = convert(video_path, out / "model", swapped, alignments=dir_a, max_frames=args.max_frames)
    write_comparison(video_path, swapped, out / "comparison.mp4", gif_path=out / "comparison.gif")
    print("demo 4/4: metrics")
    n_target, n_other = settings().gallery_photos
    gallery = metrics.sample_gallery(args.identity, n_target, n_other, size=settings().gallery)
    source = metrics.face_track(video_path, max_frames=args.max_frames, track=False)  # measured once, for both
    report = metrics.evaluate(video_path, swapped, gallery, args.identity, max_frames=args.max_frames,
                              source_track=source)
    report["seam"] = measure_seam(video_path, result)
    if result.options.sharpen > 0:  # the model's own detail: the same faces converted again, unsharpened
        report["unsharpened_detail"] = unsharpened_detail(video_path, out / "model", result, alignments=dir_a,
                                                          max_frames=args.max_frames, source_track=source)
    write_image(out / "closeup.png", _closeup(video_path, swapped, load_alignments(dir_a)))
    report["convert"] = {"frames": result.frames, "swapped": result.swapped, "fps": round(result.fps, 2)}
    report["gallery_photos"] = {"target": n_target, "other": n_other, "identities": len(gallery) + 1}
    report["training"] = {"steps": trainer.step, "minutes": round(trainer.train_seconds / 60, 2),
                          "recipe": trainer.recipe.name, "summary": trainer.summary()}
    metrics.save_report(report, swapped.with_suffix(".metrics.json"))
    print(metrics.format_table(report))
    print(f"after {trainer.train_seconds / 60:.1f} minutes of training ({trainer.step} steps): "
          f"{metrics.verdict(report, mask=result.options.mask, colour=result.options.colour)}")
    print(f"demo: {result.swapped}/{result.frames} frames swapped; in {out}: swapped.mp4, comparison.mp4, "
          "comparison.gif, swapped.metrics.json, contact_sheet.png, closeup.png (eyes and mouth, source beside "
          "swap), preview grid model/preview.png")
    return 0


def _closeup(source: Path, swapped: Path, alignments: dict, n: int = 4):
    """Eyes and mouth of ``n`` frames spread over the video, source beside swap (the demo's closeup.png)."""
    import numpy as np

    from . import video, viz

    keyed = {int(k): np.asarray(f[0]["landmarks"]) for k, f in alignments["frames"].items() if f}
    if not keyed:
        raise DeepfakeError(f"{source}: no face in its alignments, nothing to show close up")
    keys = sorted(keyed)
    picked = {keys[round(i)] for i in np.linspace(0, len(keys) - 1, min(n, len(keys)))}
    frames = {}
    for path in (source, swapped):
        for i, frame in enumerate(video.iter_frames(path, max_frames=max(picked)), 1):
            if i in picked:
                frames.setdefault(i, []).append(frame)
    return viz.closeup([(*frames[i], keyed[i]) for i in sorted(frames) if len(frames[i]) == 2])


def _add_convert_options(p: argparse.ArgumentParser) -> None:
    d = Options()  # the defaults (choices imports no TensorFlow: --help stays instant)
    p.add_argument("--alignments", default=None,
                   help="alignments.json (or its folder) from `extract`: reuse its faces; faces deleted from "
                        "that folder are not swapped (default: find faces as we go)")
    p.add_argument("--frames", default=None, help="1-based frame ranges to swap, e.g. 1-50,80,100- (others kept)")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    p.add_argument("--mask", choices=CONVERT_MASKS, default=d.mask,
                   help=f"default: learned for a GAN model (its own alpha mask), {DEFAULT_MASK} for the autoencoder "
                        "(hull_rect: the original converter's)")
    p.add_argument("--erode", type=float, default=d.erode,
                   help=f"shrink the mask by this share of the face size, negative grows it (default {d.erode})")
    p.add_argument("--blur", type=float, default=d.blur, help=f"feather width, share of the face size ({d.blur})")
    p.add_argument("--colour", choices=COLOUR_METHODS, default=d.colour,
                   help=f"colour correction (default: {DEFAULT_COLOUR} for the autoencoder, {GAN_COLOUR} for a GAN; "
                        "avg with --sharpen 0: the classic converter's)")
    p.add_argument("--seamless", action="store_true", help="Poisson blending (OpenCV seamless clone)")
    p.add_argument("--sharpen", type=float, default=d.sharpen,
                   help=f"unsharp-mask amount for the new face (default: {DEFAULT_SHARPEN:g} for the autoencoder, "
                        f"{GAN_SHARPEN:g} for a GAN; 0: off): more contrast in what the model painted, no new detail "
                        "(written into the video's tags: evaluate reports its eye-and-mouth detail, uncredited)")
    p.add_argument("--no-smooth", action="store_true", help="no temporal smoothing of the landmarks")
    p.add_argument("--side", choices=("a", "b"), default=d.side, help="the decoder that paints the face (default b)")
    p.add_argument("--label", default=LABEL, help=f"the visible label on every frame (default {LABEL})")
    p.add_argument("--no-label", action="store_true",
                   help="no visible label (the file's metadata still says it is synthetic); only with consent")
    p.add_argument("--batch-size", type=int, default=32, help="faces predicted at once")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m deepfake_utils``."""
    parser = argparse.ArgumentParser(prog="python -m deepfake_utils", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("extract", help="video or image folder -> aligned faces + alignments.json")
    p.add_argument("input", help="a video file or a folder of images")
    p.add_argument("out_dir", help="folder for the aligned faces and alignments.json")
    p.add_argument("--size", type=int, default=256, help="side of the aligned crops in px (default 256)")
    p.add_argument("--fps", type=float, default=None, help="resample the video to this frame rate")
    p.add_argument("--max-frames", type=int, default=None, help="stop after this many frames/images")
    p.add_argument("--blur-threshold", type=float, default=None,
                   help="move faces with a lower variance-of-Laplacian into blurry/")
    p.add_argument("--reference", default=None, help="image of the wanted person: others go into other/")
    p.add_argument("--naive", action="store_true", help="full-frame detection on every frame (slow; for comparison)")
    p.add_argument("--overwrite", action="store_true",
                   help="OUT_DIR holds another extraction: delete its faces and start afresh (without it, a re-run "
                        "of the same source continues where it stopped and keeps your deletions)")
    p.set_defaults(func=_extract)

    p = sub.add_parser("train", help="train the autoencoders (or the GAN) on two folders of aligned faces (resumes)")
    p.add_argument("a_dir", help="aligned faces of person A (the face in the video to convert)")
    p.add_argument("b_dir", help="aligned faces of person B (the face swapped in)")
    p.add_argument("model_dir", help="checkpoints, state.json and preview.png go here, and previews/ keeps every "
                                     "preview (one per checkpoint); training resumes from it")
    p.add_argument("--model", choices=tuple(MODEL_KINDS), default=None,
                   help="autoencoder or gan (default: the folder's, else autoencoder)")
    p.add_argument("--preset", default=None,
                   help="original, lowmem, tiny or 128; for the GAN standard, lite or tiny (default: the saved one, "
                        "else tiny)")
    p.add_argument("--warm-start", default=None, metavar="AE_DIR",
                   help="GAN only: start the generator from a trained autoencoder of the preset's family "
                        "(tiny from tiny, standard from original, lite from lowmem)")
    p.add_argument("--perceptual", action="store_true",
                   help="GAN only: add the perceptual loss (downloads ResNet50's ImageNet weights once; "
                        "offline it is switched off with a warning)")
    p.add_argument("--steps", type=int, default=None,
                   help="train until this many steps are done in total (the GAN spreads its loss schedule over them)")
    p.add_argument("--minutes", type=float, default=None,
                   help="train until this many minutes of training are done in total (with or without --steps)")
    p.add_argument("--recipe", default=None, choices=tuple(RECIPES),
                   help="loss and framing: fast (default for new models) or original (the original trainer's)")
    p.add_argument("--precision", choices=("float32", "float16", "bfloat16"), default=None,
                   help="compute precision (default: float16 on a GPU, bfloat16 on CPUs where it was measured "
                        "faster, else float32)")
    p.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    p.add_argument("--learning-rate", type=float, default=None, help="default: the preset's (original: 5e-5)")
    p.add_argument("--save-every", type=int, default=100, help="steps between checkpoints (default 100)")
    p.add_argument("--seed", type=int, default=None,
                   help=f"seed of a new model (default {SEED}); a resumed model keeps its own")
    p.add_argument("--init", choices=("encoder", "all"), default=None,
                   help="a new autoencoder starts from the generic face model shipped for its preset (`pretrain`): "
                        "its encoder, or its encoder and decoders (default: random weights)")
    p.add_argument("--new-data", action="store_true",
                   help="resume on other faces than the model was trained on (its old checkpoints are kept aside)")
    p.set_defaults(func=_train, check=_check_train_args, tensorflow=True)

    p = sub.add_parser("pretrain", help="train the generic face model on the sample data's pretraining set (once)")
    p.add_argument("out_dir", help="photos/, faces/ and model/ of the pretraining go here (resumes)")
    p.add_argument("--minutes", type=float, default=None, help="minutes of training in total")
    p.add_argument("--steps", type=int, default=None, help="steps in total (whichever comes first)")
    p.add_argument("--identities", type=int, default=None, help="only the first N pretraining identities")
    p.add_argument("--preset", default="tiny")
    p.add_argument("--recipe", default="fast", choices=tuple(RECIPES))
    p.add_argument("--learning-rate", type=float, default=None,
                   help="default: the preset's (tiny: 4e-4; the shipped generic-tiny was pretrained at 2e-4)")
    p.add_argument("--export", default=None,
                   help="write the encoder and decoder as float16 .npz (+ .json record) here, e.g. "
                        "deepfake_utils/weights/generic-tiny.npz")
    p.set_defaults(func=_pretrain, check=_check_pretrain_args, tensorflow=True, argv=None)

    p = sub.add_parser("convert", help="swap the face in a video with a trained model (audio kept, labelled)")
    p.add_argument("video", help="the video whose face is replaced (person A)")
    p.add_argument("model_dir", help="a model folder written by `train`")
    p.add_argument("out", help="the output video (.mp4)")
    _add_convert_options(p)
    p.set_defaults(func=_convert, tensorflow=True)

    p = sub.add_parser("data", help="fetch and verify the sample data into the cache")
    p.add_argument("--identity", action="append", default=[], help="also fetch this identity's photos")
    p.add_argument("--all", action="store_true", help="fetch every registry file")
    p.set_defaults(func=_data)

    p = sub.add_parser("demo", help="run the pipeline on the sample data")
    p.add_argument("--out-dir", default="out/demo")
    p.add_argument("--max-frames", type=int, default=None, help="only the first N frames of the video")
    p.add_argument("--photos", type=int, default=200, help="photos of person B to train on (default 200)")
    p.add_argument("--identity", default="George_W_Bush", help="person B (default George_W_Bush)")
    p.add_argument("--minutes", type=float, default=None,
                   help=f"training minutes in total (default {DEMO_MINUTES_CPU:g} on a CPU, {DEMO_MINUTES_GPU:g} on a "
                        "GPU); a re-run resumes and trains only what is missing")
    p.add_argument("--steps", type=int, default=None, help="stop training at this many steps at the latest")
    p.add_argument("--recipe", default="fast", choices=tuple(RECIPES), help="training recipe (default fast)")
    p.add_argument("--ncols", type=int, default=13)
    p.set_defaults(func=_demo, tensorflow=True)
    return parser


#: The commands that make (or train the model of) a face swap, which Colab's managed runtimes forbid.
GENERATIVE_COMMANDS = {"train": "train a face-swap model", "convert": "make a face-swapped video",
                       "demo": "train a face-swap model and make a face-swapped video"}


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """The package's own warnings as one ``warning: ...`` line; others as Python prints them."""
    from .errors import DeepfakeWarning

    if issubclass(category, DeepfakeWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; errors of the course package print one clear line and exit 1."""
    configure()
    args = build_parser().parse_args(argv)
    if hasattr(args, "argv"):
        args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded with what it makes
    try:
        if args.command in GENERATIVE_COMMANDS:
            from .course.notebook import ColabRuleError, colab_rule, managed_colab_machine

            if managed_colab_machine():
                raise ColabRuleError(colab_rule(GENERATIVE_COMMANDS[args.command]))
        if getattr(args, "check", None):
            args.check(args)
        if getattr(args, "tensorflow", False):
            quiet_tensorflow()
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.func(args)
    except DeepfakeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: files already written are complete and kept", file=sys.stderr)
        return 130
