"""Command line: thin wrappers over the modules (extract, train, data, demo)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import DeepfakeError


def _extract(args: argparse.Namespace) -> int:
    from .extract import extract, faces_found

    result = extract(args.input, args.out_dir, size=args.size, fps=args.fps, max_frames=args.max_frames,
                     blur_threshold=args.blur_threshold, reference=args.reference, fast=not args.naive)
    found = sum(1 for faces in result["frames"].values() if faces)
    print(f"{found}/{len(result['frames'])} frames with a face ({faces_found(result):.0%}); "
          f"faces and alignments.json in {args.out_dir}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from .train import Trainer, load_faces, match_mean_colour

    faces_a, faces_b = load_faces(args.a_dir), load_faces(args.b_dir)
    if args.match_colour:
        faces_a = match_mean_colour(faces_a, faces_b)
    trainer = Trainer(args.model_dir, args.preset, seed=args.seed, batch_size=args.batch_size,
                      learning_rate=args.learning_rate)
    start = trainer.step
    history = trainer.fit(faces_a, faces_b, args.steps, save_every=args.save_every)
    if history:
        _, loss_a, loss_b = history[-1]
        print(f"steps {start} -> {trainer.step}; loss A {loss_a:.4f}, B {loss_b:.4f}; "
              f"checkpoint and preview.png in {args.model_dir}")
    return 0


def _data(args: argparse.Namespace) -> int:
    from . import data

    wanted = [data.SAMPLE_VIDEO] + [p for name in args.identity for p in data.identity_files(name)]
    paths = data.fetch_many(sorted(data.registry()) if args.all else wanted)
    print(f"{len(paths)} files verified in {data.cache_dir()}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from . import data, viz
    from .extract import extract, faces_found
    from .fileio import read_image, write_image

    out = Path(args.out_dir)
    faces_dir = out / "faces_A"
    result = extract(data.sample_video(), faces_dir, max_frames=args.max_frames)
    faces = [(k, f[0]["face"]) for k, f in result["frames"].items() if f]
    images = [read_image(faces_dir / rel) for _, rel in faces]
    sheet = viz.contact_sheet(images, ncols=args.ncols, size=96, labels=[k for k, _ in faces])
    sheet_path = write_image(out / "contact_sheet.png", sheet)
    print(f"demo: faces found in {faces_found(result):.0%} of {len(result['frames'])} frames; "
          f"aligned faces in {faces_dir}, contact sheet {sheet_path}")
    return 0


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
    p.set_defaults(func=_extract)

    p = sub.add_parser("train", help="train the autoencoders on two folders of aligned faces (resumes)")
    p.add_argument("a_dir", help="aligned faces of person A (the face in the video to convert)")
    p.add_argument("b_dir", help="aligned faces of person B (the face swapped in)")
    p.add_argument("model_dir", help="checkpoints, state.json and preview.png go here; training resumes from it")
    p.add_argument("--preset", default=None, help="original, lowmem, tiny or 128 (default: the saved one, else tiny)")
    p.add_argument("--steps", type=int, required=True, help="train until this many steps are done in total")
    p.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    p.add_argument("--learning-rate", type=float, default=None, help="default: the preset's (original: 5e-5)")
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--match-colour", action="store_true", help="shift A's colours to B's mean colour first")
    p.set_defaults(func=_train)

    p = sub.add_parser("data", help="fetch and verify the sample data into the cache")
    p.add_argument("--identity", action="append", default=[], help="also fetch this identity's photos")
    p.add_argument("--all", action="store_true", help="fetch every registry file")
    p.set_defaults(func=_data)

    p = sub.add_parser("demo", help="run the pipeline on the sample data")
    p.add_argument("--out-dir", default="out/demo")
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--ncols", type=int, default=13)
    p.set_defaults(func=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; errors of the course package print one clear line and exit 1."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DeepfakeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: files already written are complete and kept", file=sys.stderr)
        return 130
