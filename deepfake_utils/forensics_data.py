"""Stage 10's faces from files (pipeline layer): an extraction folder's faces, a video's faces placed by an
extraction's alignments.json, and detectors scored on swapped videos against their sources.

The lesson's algorithms (views, simulated fakes, the detector, ROC, treatments) are in ``forensics``; this
module only reads the course's files for them.
"""
from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from . import align, video
from .errors import DeepfakeError
from .extract import load_alignments
from .fileio import read_image
from .forensics import (
    TREATMENTS,
    VIEW_COVERAGE,
    VIEW_SIZE,
    crop_view,
    detector_report,
    face_view,
    fake_scores,
    treat,
    view_matrix,
    views_from_frames,
)


def views_from_folder(folder: str | os.PathLike, size: int = VIEW_SIZE, coverage: int = VIEW_COVERAGE,
                      limit: int | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The views and view landmarks of the faces of an extraction folder (its faces and alignments.json)."""

    folder = Path(folder)
    views, points = [], []
    for faces in load_alignments(folder)["frames"].values():
        if not faces or "/" in faces[0]["face"] or not (folder / faces[0]["face"]).is_file():
            continue  # no face, or a face set aside (blurry/, other/) or deleted
        to_view = view_matrix(size, coverage) @ np.vstack([faces[0]["matrix"], [0, 0, 1]])
        views.append(crop_view(read_image(folder / faces[0]["face"]), size, coverage))
        points.append(align.transform_points(faces[0]["landmarks"], to_view).astype(np.float32))
        if limit is not None and len(views) >= limit:
            break
    if not views:
        raise DeepfakeError(f"{folder}: no aligned faces; run `python -m deepfake_utils extract` into it first")
    return views, points


def views_from_video(path: str | os.PathLike, alignments: str | os.PathLike, *, max_frames: int | None = None,
                     size: int = VIEW_SIZE, coverage: int = VIEW_COVERAGE
                     ) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    """The frame keys, views and view landmarks of a video's faces, placed by an extraction's landmarks (so a
    swap of a video and the video itself are seen through the same landmarks)."""

    frames = load_alignments(alignments)["frames"]
    keys, views, points = [], [], []
    for index, frame in enumerate(video.iter_frames(path, max_frames=max_frames), 1):
        faces = frames.get(video.frame_key(index))
        if faces:
            view, view_points = face_view(frame, faces[0]["landmarks"], size, coverage)
            keys.append(video.frame_key(index))
            views.append(view)
            points.append(view_points)
    if not views:
        raise DeepfakeError(f"{path}: no frame has a face in {alignments}; extract the faces of this video first")
    return keys, views, points



def evaluate_pairs(models: dict[str, keras.Model], pairs: list[tuple], thresholds: dict[str, float], *,
                   treatments: tuple[str, ...] = TREATMENTS, max_frames: int | None = None
                   ) -> dict[tuple[str, str], dict]:
    """Each detector on swapped videos against their source videos, each seen through the source's extraction
    (``pairs``: (swapped video, source video, alignments file or folder)), after each treatment of both;
    the faces of all pairs pooled: {(detector, treatment): its ``detector_report``, labels and scores}."""
    if not pairs:
        raise DeepfakeError("no (swapped video, source video, alignments) pairs to evaluate")
    per_treatment: dict[str, tuple[list, list]] = {t: ([], []) for t in treatments}
    for swapped, source, alignments in pairs:
        frames = load_alignments(alignments)["frames"]
        fps = video.probe(source, count=False).fps
        real = video.read_frames(source, max_frames=max_frames)
        fake = video.read_frames(swapped, max_frames=max_frames)
        n = min(len(real), len(fake))
        for treatment in treatments:
            real_keys, real_views = views_from_frames(treat(real[:n], treatment, fps), frames)
            fake_keys, fake_views = views_from_frames(treat(fake[:n], treatment, fps), frames)
            if real_keys != fake_keys or not real_keys:
                raise DeepfakeError(f"{swapped}: no frames with a face in {alignments}, or the frames do not match")
            per_treatment[treatment][0].extend(real_views + fake_views)
            per_treatment[treatment][1].extend([0] * len(real_views) + [1] * len(fake_views))
    out = {}
    for treatment, (views, labels) in per_treatment.items():
        for name, model in models.items():
            scores = fake_scores(model, views)
            out[name, treatment] = {**detector_report(labels, scores, thresholds[name]),
                                    "labels": np.asarray(labels), "scores": scores}
    return out
