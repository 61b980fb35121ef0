"""Notebook 10's detectors, trained as its full mode trains them, scored on the course's swaps of pairs they never saw.

The four detectors (face-warping artifacts, Face X-ray blends, self-blended images, the three mixed) learn from
real photos of the training identities only; each one's threshold is chosen on the held-out identities' simulated
fakes of its own kind (``forensics.threshold_at``), then fixed. They are then scored, per group of swaps, on the
swaps that ``python -m benchmarks.bench pairs --work WORK`` made (``WORK/swapped/*.pair.json``) and on those that
``benchmarks/gpu_pairs.py measure`` made from the GPU-trained models (``WORK/gpu-swapped/*.mp4``), each against
its own source video seen through the source's extraction, as is and after each ``forensics.treat``ment.

    python -m benchmarks.bench_detector --work out/bench-pairs --out benchmarks/detector-cross.json
    python -m benchmarks.bench_detector --work out/bench-pairs --swaps out/gan-pairs --out ...   (GAN swaps too)
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks import record_header
from deepfake_utils import data, extract, forensics, forensics_data
from deepfake_utils.config import SEED

KINDS = {"FWA": ("fwa",), "X-ray": ("xray",), "SBI": ("sbi",), "mixed": forensics.KINDS}
TRAIN_IDS = ("Colin_Powell", *data.GALLERY[:7])  # as notebook 10
TEST_IDS = data.GALLERY[7:]


def identity_views(work: Path, names: tuple[str, ...], n_photos: int | None) -> dict[str, tuple[list, list]]:
    """Each identity's faces as the detector's views (extracted once into WORK/identities)."""
    out = {}
    for name in names:
        photos = data.identity_photos(name, n_photos)
        folder = work / "identities" / name
        extract.extract(photos[0].parent, folder, max_frames=len(photos), progress=False)
        out[name] = forensics_data.views_from_folder(folder)
    return out


def _span(steps: list[int]) -> str:
    low, high = min(steps), max(steps)
    return f"{low:_}".replace("_", " ") if low == high else f"{low:_}–{high:_}".replace("_", " ")  # 1 425–7 862


def swap_groups(*folders: Path) -> dict[str, list[tuple[Path, Path, Path]]]:
    """The swaps to score, as (swapped, source, alignments) triples, grouped by how their model was trained: every
    ``FOLDER/swapped/*.pair.json`` and ``FOLDER/gpu-swapped/*.pair.json`` (``bench_swap.write_pair_json``), under its
    ``group`` with the span of its steps (none: "CPU tiny, STEPS steps", the runs of ``bench pairs``, then how it was
    converted where the pair.json says, e.g. ", converted with colour hist, sharpen 1"). GPU swaps
    measured before ``gpu_pairs measure`` wrote pair.json are read from their names (NAME-only-b-PRESET-STEPS.mp4)."""
    grouped: dict[str, list[tuple[int, tuple[Path, Path, Path]]]] = {}
    labelled: set[str] = set()  # labels that already say the steps
    for work in folders:
        for spec in sorted([*(work / "swapped").glob("*.pair.json"), *(work / "gpu-swapped").glob("*.pair.json")]):
            pair = json.loads(spec.read_text())
            triple = tuple(spec.parent / pair[key] for key in ("swapped", "source", "alignments"))
            group = pair.get("group")
            if group is None:
                converted = f", converted with {pair['conversion']}" if "conversion" in pair else ""
                group = f"CPU tiny, {pair['steps']} steps{converted}"
                labelled.add(group)
            grouped.setdefault(group, []).append((pair["steps"], triple))
        for swapped in sorted((work / "gpu-swapped").glob("*.mp4")):
            if (swapped.parent / (swapped.stem + ".pair.json")).is_file():
                continue
            stem = swapped.stem
            source = "2.mp4" if stem.startswith("2_mp4-") else stem.split("-")[0]
            _, preset, steps = stem.rsplit("-", 2)
            grouped.setdefault(f"GPU {preset}", []).append(
                (int(steps), (swapped, data.source_video(source), work / "faces" / source)))
    return {(group if group in labelled else f"{group}, {_span([s for s, _ in runs])} steps"):
            [triple for _, triple in runs] for group, runs in grouped.items()}


def bench_detectors(work: Path, *, n_photos: int | None = None, epochs: int = 30, max_frames: int | None = 60,
                    out: Path | None = None, swaps: tuple[Path, ...] = (), only: tuple[str, ...] = ()) -> dict:
    """Train the four detectors and score them per group of swaps and treatment; the results as a dict. The swaps
    are those of ``work`` and of the ``swaps`` folders (``swap_groups``); ``only`` keeps the groups whose label
    holds one of these words."""
    started = time.monotonic()
    rng = np.random.default_rng(SEED)
    faces = identity_views(work, (*TRAIN_IDS, *TEST_IDS), n_photos)
    train_views = [v for n in TRAIN_IDS for v in faces[n][0]]
    train_points = [p for n in TRAIN_IDS for p in faces[n][1]]
    test_views = [v for n in TEST_IDS for v in faces[n][0]]
    test_points = [p for n in TEST_IDS for p in faces[n][1]]
    detectors, thresholds, in_dist = {}, {}, {}
    for name, kinds in KINDS.items():
        detectors[name] = forensics.build_detector(seed=SEED, colour=name != "FWA")
        forensics.train_detector(detectors[name], train_views, train_points, rng, epochs=epochs, kinds=kinds,
                                 progress=False)
        views, labels = forensics.simulated_set(test_views, test_points, np.random.default_rng(SEED + 2), kinds=kinds)
        scores = forensics.fake_scores(detectors[name], views)
        thresholds[name] = forensics.threshold_at(labels, scores)
        in_dist[name] = forensics.detector_report(labels, scores, thresholds[name])
        print(f"{name}: held-out simulated AUC {in_dist[name]['auc']:.3f}", flush=True)
    result = {**record_header(), "epochs": epochs, "photos": n_photos,
              "max_frames": max_frames, "train_faces": len(train_views), "test_faces": len(test_views),
              "in_distribution": in_dist, "thresholds": thresholds, "groups": {}}
    groups = swap_groups(work, *swaps)
    for group, pairs in {g: p for g, p in groups.items() if not only or any(w in g for w in only)}.items():
        scored = forensics_data.evaluate_pairs(detectors, pairs, thresholds, max_frames=max_frames)
        result["groups"][group] = {"swaps": [str(p[0]) for p in pairs], "rows": {
            f"{name} | {treatment}": {k: v for k, v in report.items() if k not in ("labels", "scores")}
            for (name, treatment), report in scored.items()}}
        print(f"{group}: {len(pairs)} swaps scored", flush=True)
        if out is not None:
            out.write_text(json.dumps(result, indent=1))
    result["minutes"] = round((time.monotonic() - started) / 60, 1)
    if out is not None:
        out.write_text(json.dumps(result, indent=1))
    return result


def table(result: dict) -> str:
    """AUC (real frames flagged at the threshold) per detector, per group of swaps and treatment, as markdown."""
    names = list(KINDS)
    lines = ["| swaps, treatment | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|",
             "| held-out people, simulated | " + " | ".join(
                 f"{result['in_distribution'][n]['auc']:.2f} ({result['in_distribution'][n]['false_alarms']:.0%})"
                 for n in names) + " |"]
    for group, g in result["groups"].items():
        for treatment in forensics.TREATMENTS:
            cells = [g["rows"].get(f"{n} | {treatment}") for n in names]
            if all(c is None for c in cells):
                continue
            lines.append(f"| {group} ({len(g['swaps'])}), {treatment} | " + " | ".join(
                f"{c['auc']:.2f} ({c['false_alarms']:.0%})" if c else "–" for c in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("out/bench-pairs"))
    parser.add_argument("--photos", type=int, default=None, help="photos per identity (default: all, as full mode)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--max-frames", type=int, default=60, help="frames of each video scored")
    parser.add_argument("--swaps", type=Path, nargs="*", default=(),
                        help="other folders whose swapped/*.pair.json are scored too (e.g. out/gan-pairs)")
    parser.add_argument("--only", nargs="*", default=(), help="score only the groups whose label holds one of these")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--table", type=Path, default=None, help="print the table of a results JSON and stop")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return 0
    print(table(bench_detectors(args.work, n_photos=args.photos, epochs=args.epochs, max_frames=args.max_frames,
                                out=args.out, swaps=tuple(args.swaps), only=tuple(args.only))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
