"""Following one face through a video's frames (stage 2 over time): detect, then keep the box while the face
barely moves, as ``extract``, conversion and the metrics do; ``naive_find`` is the original tutorials' way.

Pure functions and one small object over arrays (its state: the tracked box and landmarks, ``detections``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import align, detect, landmarks
from .images import ensure_rgb_uint8

# FaceFinder keeps the last box while the face moved less than this (benchmarks/README.md: with these the
# landmarks agree with the naive detector's within a mean NME of 0.005, detecting in about one frame of five)
REUSE_CELLS = 0.2  # of a HOG cell, the centre of the inner landmarks
REUSE_SCALE = 0.04  # relative change of the inter-ocular distance
REUSE_BELOW = 0.08  # landmark motion (NME), e.g. the mouth opening


@dataclass
class Face:
    """One found face: its box, its 68 landmarks and its alignment matrix."""

    box: detect.Box
    landmarks: np.ndarray
    matrix: np.ndarray


def naive_find(image: np.ndarray) -> Face | None:
    """The original tutorials' way: HOG on the full frame upsampled 2x, the face nearest the centre."""
    box = detect.pick_face(detect.detect_from_level(image, 0), image.shape)
    if box is None:
        return None
    points = landmarks.predict_landmarks(image, box)
    return Face(box, points, align.alignment_matrix(points))


class FaceFinder:
    """Find one face per frame of a video, fast: skip pyramid levels and skip re-detection while tracking.

    The naive detector's box moves in steps of one HOG cell (a ninth of the box), so it stays the same
    for several frames while the face moves a little. The last box is kept as long as the landmarks it
    gives moved less than ``reuse_cells`` of a cell (their centre), ``reuse_scale`` in size and
    ``reuse_below`` in NME since that box was found. Otherwise the detector runs from ``margin`` levels
    above the one where the tracked face fired, which finds exactly the naive box
    (``detect.detect_from_level``). ``reuse_below=0`` detects in every frame.
    """

    def __init__(self, *, how: str = "center", margin: int = 2, reuse_below: float = REUSE_BELOW,
                 reuse_cells: float = REUSE_CELLS, reuse_scale: float = REUSE_SCALE,
                 angles: tuple[float, ...] = (-25, 25, -50, 50)) -> None:
        """``margin``: pyramid levels kept above the tracked face's; ``reuse_*``: the motion that keeps a box."""
        self.how, self.margin, self.angles = how, margin, angles
        self.reuse_below, self.reuse_cells, self.reuse_scale = reuse_below, reuse_cells, reuse_scale
        self.reset()

    def reset(self) -> None:
        """Forget the tracked face (call between unrelated images)."""
        self._box: detect.Box | None = None
        self._points: np.ndarray | None = None
        self.detections = 0

    def state(self) -> dict | None:
        """The tracked face as JSON-ready data (its box and landmarks), or None: what a resumed run restores."""
        if self._box is None:
            return None
        return {"box": [int(v) for v in self._box], "landmarks": np.asarray(self._points, np.float32).tolist()}

    def restore(self, state: dict | None) -> None:
        """Track the face ``state()`` described (nothing if None)."""
        if state:
            self._box = tuple(state["box"])
            self._points = np.asarray(state["landmarks"], np.float32)

    def _still(self, points: np.ndarray) -> bool:
        """True while ``points`` (from the last box) moved too little since that box was found to move the box."""
        cell = detect.box_size(self._box) * detect.HOG_CELL / detect.HOG_BOX
        shift = np.abs(points[align.FIT_POINTS].mean(axis=0) - self._points[align.FIT_POINTS].mean(axis=0)).max()
        scale = landmarks.inter_ocular_distance(points) / landmarks.inter_ocular_distance(self._points)
        return (shift < self.reuse_cells * cell and abs(scale - 1) < self.reuse_scale
                and landmarks.landmark_error(self._points, points) < self.reuse_below)

    def __call__(self, image: np.ndarray, size: float | None = None) -> Face | None:
        """The face in this frame (the tracked one, else the one chosen by ``how``), or None. ``size``: the px
        width of the face expected where none is tracked (e.g. its source's, when a swap is measured): the search
        starts ``margin`` levels above where such a face fires, and goes down to level 0 only if none is found."""
        ensure_rgb_uint8(image)
        tracked = None  # the landmarks the last box gives in this frame
        if self._box is not None and self.reuse_below > 0:
            tracked = landmarks.predict_landmarks(image, self._box)
            if self._still(tracked):
                return Face(self._box, tracked, align.alignment_matrix(tracked))
        expected = detect.box_size(self._box) if self._box else size
        level = detect.level_for_face(expected, self.margin) if expected else 0
        boxes = detect.detect_from_level(image, level)
        if not boxes and level > 0:
            boxes = detect.detect_from_level(image, 0)
        self.detections += 1
        angle = 0.0
        if not boxes:
            boxes, angle = detect.detect_with_rotation(image, self.angles)
        box = detect.pick_face(boxes, detect.rotate_image(image, angle).shape if angle else image.shape, self.how)
        if box is None:
            self.reset()
            return None
        if tracked is not None and not angle and box == self._box:
            points = tracked  # the detector found the same box: its landmarks are those already predicted
        else:
            points = landmarks.predict_landmarks(image, box, angle=angle)
        if angle:
            box = detect.unrotate_box(box, angle, image.shape)
            self._box = None  # a rotated face is found afresh each frame
        else:
            self._box, self._points = box, points
        return Face(box, points, align.alignment_matrix(points))
