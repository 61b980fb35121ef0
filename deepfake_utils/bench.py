"""Benchmarks that print our pipeline against the naive way of the original tutorials, side by side.

    python -m deepfake_utils.bench extract [--video PATH] [--frames N]

Both runs extract the same frames of the same video into temporary folders (decode, detect,
landmarks, align, write PNG, alignments.json); the landmark agreement is the mean error of ours
against the naive landmarks, normalised by the inter-ocular distance.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from . import data
from .extract import extract, load_alignments
from .landmarks import landmark_error


def bench_extract(video_path: Path, frames: int | None) -> dict:
    """Time naive and fast extraction of the same frames and compare their landmarks."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fast in (("naive", False), ("ours", True)):
            start = time.perf_counter()
            extract(video_path, Path(tmp) / name, max_frames=frames, fast=fast, progress=False)
            results[name] = {"seconds": time.perf_counter() - start}
            results[name]["alignments"] = load_alignments(Path(tmp) / name)
    naive, ours = results["naive"]["alignments"]["frames"], results["ours"]["alignments"]["frames"]
    errors = [landmark_error(naive[k][0]["landmarks"], ours[k][0]["landmarks"])
              for k in naive if naive[k] and ours.get(k)]
    n = len(naive)
    return {
        "frames": n,
        "naive_fps": n / results["naive"]["seconds"],
        "ours_fps": n / results["ours"]["seconds"],
        "found_naive": sum(bool(v) for v in naive.values()),
        "found_ours": sum(bool(v) for v in ours.values()),
        "nme_mean": float(np.mean(errors)) if errors else float("nan"),
        "nme_p95": float(np.percentile(errors, 95)) if errors else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    """Run a benchmark from the command line and print its table."""
    parser = argparse.ArgumentParser(prog="python -m deepfake_utils.bench")
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("extract", help="extraction frames/s: naive full-frame HOG vs our pipeline")
    p.add_argument("--video", type=Path, default=None, help="default: the course's sample video")
    p.add_argument("--frames", type=int, default=None, help="only the first N frames")
    args = parser.parse_args(argv)
    video_path = args.video or data.sample_video()
    r = bench_extract(video_path, args.frames)
    ratio = r["ours_fps"] / r["naive_fps"]
    print(f"extraction benchmark on {video_path.name}, {r['frames']} frames (one run, same machine)")
    print(f"{'pipeline':<10}{'frames/s':>10}{'faces found':>14}")
    print(f"{'naive':<10}{r['naive_fps']:>10.2f}{r['found_naive']:>14}")
    print(f"{'ours':<10}{r['ours_fps']:>10.2f}{r['found_ours']:>14}")
    print(f"speed-up: {ratio:.1f}x   landmark error vs naive (NME, inter-ocular): "
          f"mean {r['nme_mean']:.4f}, p95 {r['nme_p95']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
