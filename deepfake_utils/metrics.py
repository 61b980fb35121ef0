"""Swap quality, measured so that a blur cannot pass for a swap.

- **Identity as retrieval**: every swapped frame's face is encoded with face_recognition (128-d) and
  compared with a gallery of identity centres: A (the source video's own face), B (held-out photos of
  the target) and eleven other LFW people. *ID retrieval* is the share of frames whose nearest identity
  is B; *recognised as B* the share within face_recognition's 0.6 tolerance of B and nearer B than A.
  A frame where the detector finds no face counts as a miss in both: a blur that nobody recognises
  scores 0, not "nearer B than A" (kept as a secondary column). (The 0.6 tolerance is applied to B's
  centre, the mean of 64 encodings, which is a little more lenient than face_recognition's photo-to-photo
  use of it.)
- **Sharpness kept**: variance of the Laplacian inside the source face's landmark hull, swapped over
  source (1.0: as sharp as the real face); blur is the autoencoder's known failure.
- **Expression kept** (landmark NME against the source face) and **jitter** (landmark acceleration).

``evaluate`` is the one function the demo, notebook 08 and the benchmarks use.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from . import video
from .detect import face_encoding
from .errors import InvalidArgument, NoFaceError
from .fileio import ensure_rgb_uint8, read_image, write_json_atomic
from .images import to_uint8
from .landmarks import inter_ocular_distance, landmark_error

#: face_recognition's rule of thumb: encodings nearer than this are the same person.
SAME_PERSON = 0.6
#: The name of the source video's own identity in a gallery.
SOURCE = "A"
#: What a working swap reaches on the sample data (issue 9's targets for ``make demo``).
TARGETS = {"id_retrieval": 0.9, "recognised": 0.9, "faces_found": 0.98, "expression_error": 0.06, "jitter_ratio": 1.2}


# --- identities -------------------------------------------------------------------------------------
def encodings_of(images: Iterable[np.ndarray | str | os.PathLike], *, progress: bool = False) -> list[np.ndarray]:
    """The encodings of the faces found in several images (paths or arrays); images without a face are skipped."""
    found = []
    for image in tqdm(images, desc="encodings", unit="image", disable=not progress, leave=False):
        image = read_image(image) if isinstance(image, (str, os.PathLike)) else image
        encoding = face_encoding(image)
        if encoding is not None:
            found.append(encoding)
    return found


def mean_encoding(images: Iterable[np.ndarray | str | os.PathLike], *, progress: bool = False) -> np.ndarray:
    """The mean encoding of a person over several images (paths or arrays): their identity's centre."""
    found = encodings_of(images, progress=progress)
    if not found:
        raise NoFaceError("no face found in any of the images")
    return np.mean(found, axis=0)


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Euclidean distance of two encodings: about 0 for the same face, above ~0.6 for different people."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def crop_encodings(crops: Iterable[np.ndarray], size: int = 128) -> list[np.ndarray]:
    """The encodings of aligned face crops (a model's faces: float 0..1 or uint8), each resized to ``size`` px
    and taken whole as the face's box: whom the faces themselves resemble, before any is pasted into a frame."""
    found = []
    for crop in crops:
        crop = np.asarray(crop)
        if crop.dtype != np.uint8:
            crop = to_uint8(crop)
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_CUBIC if crop.shape[0] < size else cv2.INTER_AREA)
        found.append(face_encoding(crop, (0, size, size, 0)))
    return found


@lru_cache(maxsize=4)
def sample_gallery(target: str = "George_W_Bush", n_target: int = 64, n_other: int = 20,
                   progress: bool = True) -> dict[str, np.ndarray]:
    """Identity centres of the sample data: B from its last ``n_target`` photos (held out: training takes
    only ``data.training_photos``), and the first ``n_other`` photos of every other LFW identity (none: B only)."""
    from . import data

    if not 0 < n_target <= data.HELD_OUT:
        raise InvalidArgument(f"n_target must be 1..{data.HELD_OUT}: only the last {data.HELD_OUT} photos are held out")
    gallery = {}
    names = [target] + [name for name in data.IDENTITIES if name != target] * (n_other > 0)
    for name in tqdm(names, desc="gallery", unit="identity", disable=not progress):
        files = data.identity_files(name)
        picked = files[-n_target:] if name == target else files[:n_other]
        gallery[name] = mean_encoding(data.fetch_many(picked, desc=name))
    return gallery


def nearest_identity(encoding: np.ndarray, gallery: dict[str, np.ndarray]) -> tuple[str, dict[str, float]]:
    """The gallery identity nearest an encoding, and the distance to every identity."""
    distances = {name: identity_distance(encoding, centre) for name, centre in gallery.items()}
    return min(distances, key=distances.get), distances


def identity_scores(encodings: Sequence[np.ndarray | None], gallery: dict[str, np.ndarray], target: str,
                    source: str = SOURCE) -> dict:
    """Identity of a face per frame (None: no face found, a miss) as retrieval over the gallery."""
    frames = len(encodings)
    found = [e for e in encodings if e is not None]
    if not frames:
        raise InvalidArgument("no frames to score")
    nearest, to_target, to_source = [], [], []
    for encoding in found:
        name, distances = nearest_identity(encoding, gallery)
        nearest.append(name)
        to_target.append(distances[target])
        to_source.append(distances[source])
    to_target, to_source = np.array(to_target), np.array(to_source)
    recognised = (to_target < SAME_PERSON) & (to_target < to_source)
    mean = (lambda v: float(v.mean())) if found else (lambda v: float("nan"))
    return {
        "frames": frames, "faces": len(found),
        "id_retrieval": sum(n == target for n in nearest) / frames,  # misses count against
        "recognised": float(recognised.sum()) / frames,
        "nearer_target": mean(to_target < to_source),  # secondary: among the faces found only
        "to_target": mean(to_target), "to_source": mean(to_source),
        "nearest": dict(Counter(nearest + ["(no face)"] * (frames - len(found))).most_common()),
    }


# --- sharpness, expression, stability -----------------------------------------------------------------
def hull_region(shape: tuple[int, ...], landmarks: np.ndarray, erode: float = 0.1) -> np.ndarray:
    """The landmark hull as a boolean mask, shrunk by ``erode`` of the inter-ocular distance (away from seams)."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(np.asarray(landmarks)).astype(np.int32)), 1)
    radius = round(erode * inter_ocular_distance(landmarks))
    if radius > 0:
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return mask.astype(bool)


def sharpness(image: np.ndarray, region: np.ndarray | None = None) -> float:
    """Variance of the Laplacian of the grey image (inside ``region``): high for detail, near 0 for a blur."""
    ensure_rgb_uint8(image)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    laplacian = cv2.Laplacian(grey, cv2.CV_64F)
    return float(laplacian[region].var() if region is not None else laplacian.var())


def jitter(track: list[np.ndarray | None]) -> float:
    """Frame-to-frame shake: the mean size of the landmarks' second difference (acceleration), per
    inter-ocular distance. Smooth motion scores near 0; landmarks that tremble score high."""
    values = []
    for before, now, after in zip(track, track[1:], track[2:], strict=False):
        if before is None or now is None or after is None:
            continue
        accel = np.asarray(after, np.float64) - 2 * np.asarray(now, np.float64) + np.asarray(before, np.float64)
        values.append(np.linalg.norm(accel, axis=1).mean() / inter_ocular_distance(now))
    return float(np.mean(values)) if values else float("nan")


def expression_error(source: dict[str, np.ndarray], swapped: dict[str, np.ndarray]) -> float:
    """Mean landmark error (NME) of the swapped faces against the source faces of the same frames."""
    errors = [landmark_error(source[k], swapped[k]) for k in source if k in swapped]
    return float(np.mean(errors)) if errors else float("nan")


# --- one video ----------------------------------------------------------------------------------------
@dataclass
class FaceTrack:
    """What the detector and the recogniser see in each frame of a video (None where no face is found)."""

    landmarks: list[np.ndarray | None] = field(default_factory=list)
    encodings: list[np.ndarray | None] = field(default_factory=list)
    sharpness: list[float | None] = field(default_factory=list)  # inside the region measured

    def keyed(self) -> dict[str, np.ndarray]:
        """The landmarks by frame key ('000001', ...), frames with a face only."""
        return {video.frame_key(i): p for i, p in enumerate(self.landmarks, 1) if p is not None}


def face_track(path: str | os.PathLike, *, max_frames: int | None = None, track: bool = True,
               regions: Sequence[np.ndarray | None] | None = None, progress: bool = False) -> FaceTrack:
    """Find, encode and measure the face in every frame. ``track=False`` runs the detector on every frame
    (no reuse of the last box), as a swapped video must be measured; sharpness is taken inside
    ``regions[i]`` (landmarks, e.g. the source's), else inside the face's own hull."""
    from .extract import FaceFinder

    finder = FaceFinder() if track else FaceFinder(reuse_below=0)
    out = FaceTrack()
    total = min(video.probe(path).n_frames, max_frames or 10**9)
    for i, frame in enumerate(tqdm(video.iter_frames(path, max_frames=max_frames), total=total,
                                   desc=f"metrics {Path(path).name}", unit="frame", disable=not progress)):
        face = finder(frame)
        out.landmarks.append(None if face is None else face.landmarks)
        out.encodings.append(None if face is None else face_encoding(frame, face.box))
        points = regions[i] if regions is not None and i < len(regions) else out.landmarks[-1]
        out.sharpness.append(None if points is None else sharpness(frame, hull_region(frame.shape, points)))
    return out


def sharpness_kept(source: Sequence[float | None], swapped: Sequence[float | None]) -> float:
    """The median over frames of swapped / source sharpness in the same face region (1.0: as sharp)."""
    ratios = [b / a for a, b in zip(source, swapped, strict=False) if a and b is not None]
    return float(np.median(ratios)) if ratios else float("nan")


def evaluate(source: str | os.PathLike, swapped: str | os.PathLike, gallery: dict[str, np.ndarray],
             target: str = "George_W_Bush", *, max_frames: int | None = None, source_track: FaceTrack | None = None,
             progress: bool = True) -> dict:
    """Measure a swapped video against its source: identity retrieval over ``gallery`` (plus A, the
    source's own face), faces found, sharpness kept, expression kept and jitter (a JSON-ready report).

    Both videos are measured alike, the detector run on every frame; frames the swapped video lacks
    count as misses. ``source_track`` (from ``face_track(source, track=False)``) skips re-measuring the
    source when evaluating often.
    """
    if target not in gallery:
        raise InvalidArgument(f"the target {target!r} is not in the gallery ({sorted(gallery)})")
    src = source_track or face_track(source, max_frames=max_frames, track=False, progress=progress)
    found_source = [e for e in src.encodings if e is not None]
    if not found_source:
        raise NoFaceError(f"{source}: no face found in the source video")
    identities = {SOURCE: np.mean(found_source, axis=0), **{k: v for k, v in gallery.items() if k != SOURCE}}
    out = face_track(swapped, max_frames=max_frames, track=False, regions=src.landmarks, progress=progress)
    frames = len(src.landmarks) if max_frames is None else min(len(src.landmarks), max_frames)
    if len(out.landmarks) > frames:
        raise InvalidArgument(f"{swapped}: has more frames than its source {source}; is it the swap of that video?")
    for missing in (out.landmarks, out.encodings, out.sharpness):  # frames the swap lacks are misses
        missing.extend([None] * (frames - len(missing)))
    src_jitter, out_jitter = jitter(src.landmarks[:frames]), jitter(out.landmarks)
    return {
        "frames": frames,
        "target": target,
        "gallery": sorted(identities),
        "faces_found": {"source": sum(p is not None for p in src.landmarks[:frames]),
                        "swapped": sum(p is not None for p in out.landmarks)},
        "identity": {"source": identity_scores(src.encodings[:frames], identities, target),
                     "swapped": identity_scores(out.encodings, identities, target)},
        "sharpness": {"source": float(np.mean([s for s in src.sharpness[:frames] if s is not None])),
                      "swapped": float(np.mean([s for s in out.sharpness if s is not None] or [np.nan]))},
        "sharpness_kept": sharpness_kept(src.sharpness[:frames], out.sharpness),
        "expression_error": expression_error(src.keyed(), out.keyed()),
        "jitter": {"source": src_jitter, "swapped": out_jitter},
    }


def headline(report: dict) -> dict[str, float]:
    """The swapped video's numbers that matter, flat: the targets' five, sharpness kept and distances."""
    swapped = report["identity"]["swapped"]
    return {"id_retrieval": swapped["id_retrieval"], "recognised": swapped["recognised"],
            "faces_found": report["faces_found"]["swapped"] / report["frames"],
            "expression_error": report["expression_error"],
            "jitter_ratio": report["jitter"]["swapped"] / max(report["jitter"]["source"], 1e-9),
            "sharpness_kept": report["sharpness_kept"], "to_target": swapped["to_target"],
            "nearer_target": swapped["nearer_target"]}


def check_targets(report: dict, targets: dict[str, float] = TARGETS) -> dict[str, bool]:
    """Which of the demo's targets a report meets (ID retrieval, recognised, faces found, expression, jitter)."""
    values = headline(report)
    at_most = ("expression_error", "jitter_ratio")  # lower is better; the others must reach their target
    return {name: bool(values[name] <= goal if name in at_most else values[name] >= goal)
            for name, goal in targets.items()}


def verdict(report: dict) -> str:
    """One plain sentence: is B recognised in the swapped video, and does the swap meet all its targets?"""
    swapped, target = report["identity"]["swapped"], report["target"]
    n, frames = round(swapped["recognised"] * swapped["frames"]), swapped["frames"]
    missed = [name for name, ok in check_targets(report).items() if not ok]
    if swapped["recognised"] >= TARGETS["recognised"] and swapped["id_retrieval"] >= TARGETS["id_retrieval"]:
        said = f"{target} is recognised in {n} of {frames} swapped frames ({swapped['recognised']:.0%})"
        return f"{said}: the swap works." if not missed else f"{said}, but it misses its targets for {missed}."
    return (f"{target} is recognised in only {n} of {frames} swapped frames ({swapped['recognised']:.0%}; "
            f"nearest identity is {target} in {swapped['id_retrieval']:.0%}): not a working swap yet; "
            "train longer (a larger time budget) and convert again.")


def format_table(report: dict) -> str:
    """The report as a small text table: one row for the source video (the baseline), one for the swap."""
    head = (f"{'video':<9}{'faces':>9}{'ID retr.':>10}{'recog. B':>10}{'dist B':>8}{'dist A':>8}"
            f"{'jitter':>8}{'sharp':>8}{'nearer B*':>11}")
    lines = [head]
    for name in ("source", "swapped"):
        ident = report["identity"][name]
        sharp = report["sharpness_kept"] if name == "swapped" else 1.0
        lines.append(f"{name:<9}{report['faces_found'][name]:>5}/{report['frames']:<3}{ident['id_retrieval']:>10.0%}"
                     f"{ident['recognised']:>10.0%}{ident['to_target']:>8.3f}{ident['to_source']:>8.3f}"
                     f"{report['jitter'][name]:>8.4f}{sharp:>8.2f}{ident['nearer_target']:>11.0%}")
    lines.append(f"ID retr.: nearest of {len(report['gallery'])} identities is B ({report['target']}); recog. B: "
                 f"distance to B < {SAME_PERSON} and nearer B than A; frames without a face count as misses.")
    lines.append(f"sharpness kept {report['sharpness_kept']:.2f} (swapped / source, median per frame); expression "
                 f"kept: NME {report['expression_error']:.4f}; * secondary: share of found faces nearer B than A")
    return "\n".join(lines)


def save_report(report: dict, path: str | os.PathLike) -> Path:
    """Write the metrics report as JSON (atomically)."""
    return write_json_atomic(path, report)
