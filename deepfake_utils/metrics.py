"""Swap quality, measured: identity transfer (face_recognition's 128-d encodings), expression kept
(landmark error against the source face, normalised by the inter-ocular distance), and temporal
stability (landmark jitter). Used by notebook 08, ``make demo`` and the conversion benchmark.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import video
from .detect import face_encoding
from .fileio import read_image, write_json_atomic
from .landmarks import inter_ocular_distance, landmark_error

#: face_recognition's rule of thumb: encodings nearer than this are the same person.
SAME_PERSON = 0.6


def mean_encoding(images: Iterable[np.ndarray | str | os.PathLike], *, progress: bool = False) -> np.ndarray:
    """The mean encoding of a person over several images (paths or arrays): their identity's centre."""
    encodings = []
    for image in tqdm(images, desc="encodings", unit="image", disable=not progress):
        image = read_image(image) if isinstance(image, (str, os.PathLike)) else image
        encoding = face_encoding(image)
        if encoding is not None:
            encodings.append(encoding)
    if not encodings:
        raise ValueError("no face found in any of the images")
    return np.mean(encodings, axis=0)


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Euclidean distance of two encodings: about 0 for the same face, above ~0.6 for different people."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def identity_transfer(encodings: list[np.ndarray], source: np.ndarray, target: np.ndarray) -> dict:
    """How far faces moved from the source identity towards the target: share nearer the target, mean distances."""
    if not encodings:
        return {"faces": 0, "nearer_target": float("nan"), "to_target": float("nan"), "to_source": float("nan")}
    to_target = np.array([identity_distance(e, target) for e in encodings])
    to_source = np.array([identity_distance(e, source) for e in encodings])
    return {"faces": len(encodings), "nearer_target": float((to_target < to_source).mean()),
            "to_target": float(to_target.mean()), "to_source": float(to_source.mean())}


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


def evaluate(source: str | os.PathLike, swapped: str | os.PathLike, target_photos: list[str | os.PathLike], *,
             max_frames: int | None = None, progress: bool = True) -> dict:
    """Measure a swapped video against its source and the target identity's photos (a JSON-ready report)."""
    from .extract import FaceFinder

    target = mean_encoding(target_photos, progress=progress)
    tracks: dict[str, list] = {"source": [], "swapped": []}
    encodings: dict[str, list] = {"source": [], "swapped": []}
    finders = {"source": FaceFinder(), "swapped": FaceFinder()}
    frames = zip(video.iter_frames(source, max_frames=max_frames), video.iter_frames(swapped, max_frames=max_frames),
                 strict=False)
    total = min(video.probe(swapped).n_frames, max_frames or 10**9)
    for pair in tqdm(frames, total=total, desc="metrics", unit="frame", disable=not progress):
        for name, frame in zip(("source", "swapped"), pair, strict=True):
            face = finders[name](frame)
            tracks[name].append(None if face is None else face.landmarks)
            if face is not None:
                encodings[name].append(face_encoding(frame, face.box))
    if not encodings["source"]:
        raise ValueError(f"{source}: no face found in the source video")
    source_identity = np.mean(encodings["source"], axis=0)
    keyed = {name: {video.frame_key(i): p for i, p in enumerate(track, 1) if p is not None}
             for name, track in tracks.items()}
    return {
        "frames": len(tracks["source"]),
        "faces_found": {name: len(keyed[name]) for name in keyed},
        "identity": {name: identity_transfer(encodings[name], source_identity, target) for name in encodings},
        "expression_error": expression_error(keyed["source"], keyed["swapped"]),
        "jitter": {name: jitter(track) for name, track in tracks.items()},
        "target_photos": len(target_photos),
    }


def format_table(report: dict) -> str:
    """The report as a small text table: one row for the source video, one for the swapped one."""
    lines = [f"{'video':<9}{'faces':>7}{'nearer B':>10}{'dist to B':>11}{'dist to A':>11}{'jitter':>9}"]
    for name in ("source", "swapped"):
        ident = report["identity"][name]
        lines.append(f"{name:<9}{report['faces_found'][name]:>7}{ident['nearer_target']:>10.0%}"
                     f"{ident['to_target']:>11.3f}{ident['to_source']:>11.3f}{report['jitter'][name]:>9.4f}")
    lines.append(f"expression kept: landmark error swapped vs source {report['expression_error']:.4f} (NME); "
                 f"A = the source video's own face, B = mean of {report['target_photos']} photos")
    return "\n".join(lines)


def save_report(report: dict, path: str | os.PathLike) -> Path:
    """Write the metrics report as JSON (atomically)."""
    return write_json_atomic(path, report)
