"""Stage 2: find faces. Boxes are face_recognition's (top, right, bottom, left) tuples in pixels.

The naive way (the original tutorials) runs dlib's HOG detector on the full frame upsampled 2x. That
scans an image pyramid: the frame at scales 2, 2*(5/6), 2*(5/6)^2, ... and a 300 px face only fires on
the small levels, while almost all the time goes into the big ones. ``detect_from_level(image, k)``
builds level k as dlib does (its 2x ``pyramid_up``, then its 5/6 ``pyramid_down`` k times), runs the
detector there and maps the boxes back with dlib's own rounding: it scans exactly the naive detector's
levels k, k+1, ... and returns exactly its boxes for every face that fires at level k or deeper.
"""
from __future__ import annotations

import importlib
import logging
import math
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from types import ModuleType

import cv2
import dlib
import numpy as np

from .errors import InvalidArgument, OutputError
from .fileio import atomic_path
from .images import ensure_rgb_uint8

Box = tuple[int, int, int, int]  # (top, right, bottom, left)

_log = logging.getLogger(__name__)

PYRAMID_RATE = 5 / 6  # dlib's pyramid_down<6>: each level is 5/6 the size of the one above
HOG_WINDOW = 80  # px: the frontal HOG detector sees faces of about this size at the level that fires
HOG_CELL = 8  # px: its HOG cell at that level; its boxes move in steps of a cell
HOG_BOX = 73  # px: the side of its box at that level (the 80 px window less one 8 px HOG cell, plus one)
_PYRAMID_UP = dlib.pyramid_down(2)  # the 2x upsampling of detector(image, 1) is pyramid_up with this pyramid
_PYRAMID_DOWN = dlib.pyramid_down(6)  # each level of the detector's pyramid is 5/6 the size of the one above


def import_quietly(name: str) -> ModuleType:
    """Import face_recognition(_models) without the models package's pkg_resources deprecation warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        return importlib.import_module(name)


def face_recognition_api() -> ModuleType:
    """The face_recognition module (HOG/CNN detectors, 128-d encodings)."""
    return import_quietly("face_recognition")


def detector_cache_path() -> Path:
    """Where ``hog_detector`` keeps its copy of dlib's frontal-face detector (one file per dlib version)."""
    import platformdirs

    folder = Path(platformdirs.user_cache_dir("deepfake-course")) / "models"
    return folder / f"frontal_face_detector-dlib-{dlib.__version__}.svm"


@lru_cache(maxsize=1)
def hog_detector() -> dlib.fhog_object_detector:
    """dlib's frontal-face HOG + linear SVM detector (the one face_recognition uses), loaded once.

    dlib unpacks it from a compressed copy inside its library, which takes 0.3 s or more; the first
    process saves it to the user cache (``detector_cache_path``), and later ones load that file in a
    few milliseconds. Both are the same detector (same boxes, same scores).
    """
    path = detector_cache_path()
    try:
        if path.is_file():
            return dlib.fhog_object_detector(str(path))
    except RuntimeError as exc:  # a damaged copy: unpacked again below, and saved anew
        _log.debug("%s: cannot load (%s); using dlib's own copy", path, exc)
    detector = dlib.get_frontal_face_detector()
    try:
        with atomic_path(path) as tmp:
            detector.save(str(tmp))
    except (OSError, OutputError) as exc:  # no writable cache: each process unpacks dlib's copy, as before
        _log.debug("%s: cannot save the detector (%s)", path, exc)
    return detector


def rect_to_css(rect: dlib.rectangle, shape: tuple[int, ...] | None = None) -> Box:
    """A dlib rectangle as a (top, right, bottom, left) box, clipped to the image if ``shape`` is given."""
    box = (rect.top(), rect.right(), rect.bottom(), rect.left())
    return clip_box(box, shape) if shape is not None else box


def css_to_rect(box: Box) -> dlib.rectangle:
    """A (top, right, bottom, left) box as a dlib rectangle."""
    top, right, bottom, left = (int(round(v)) for v in box)
    return dlib.rectangle(left, top, right, bottom)


def clip_box(box: Box, shape: tuple[int, ...]) -> Box:
    """Clip a box to an image of the given shape (H, W, ...)."""
    top, right, bottom, left = box
    height, width = shape[:2]
    return (max(int(top), 0), min(int(right), width - 1), min(int(bottom), height - 1), max(int(left), 0))


def box_size(box: Box) -> float:
    """The side of a box (mean of its width and height), in pixels."""
    top, right, bottom, left = box
    return ((right - left) + (bottom - top)) / 2


def box_center(box: Box) -> tuple[float, float]:
    """The (x, y) centre of a box."""
    top, right, bottom, left = box
    return ((left + right) / 2, (top + bottom) / 2)


def detect_faces(image: np.ndarray, *, model: str = "hog", upsample: int = 1) -> list[Box]:
    """All faces in an image with face_recognition's HOG or CNN detector (the naive, full-frame way)."""
    ensure_rgb_uint8(image)
    if model not in ("hog", "cnn"):
        raise InvalidArgument(f"model must be 'hog' or 'cnn', not {model!r}")
    return face_recognition_api().face_locations(image, number_of_times_to_upsample=upsample, model=model)


def level_scale(level: int) -> float:
    """The scale of pyramid level ``level`` of the naive detector (level 0 is the 2x upsampled frame)."""
    return 2 * PYRAMID_RATE**level


def pyramid_level(image: np.ndarray, level: int) -> np.ndarray:
    """Level ``level`` of the naive detector's image pyramid, resampled by dlib exactly as the detector does."""
    ensure_rgb_uint8(image)
    height, width = image.shape[:2]
    up = _PYRAMID_UP.rect_up(dlib.rectangle(0, 0, width - 1, height - 1))  # dlib's pyramid_up: its size, bilinear
    out = dlib.resize_image(image, up.bottom() + 1, up.right() + 1)
    for _ in range(level):
        if min(out.shape[:2]) < HOG_WINDOW:  # no face fits any more: the detector would stop here too
            break
        out = _PYRAMID_DOWN(out)
    return out


def _lround(rect: dlib.drectangle) -> tuple[int, int, int, int]:
    """A dlib drectangle rounded as dlib rounds it (std::lround: halves away from zero), as (l, t, r, b)."""
    def lround(v: float) -> int:
        return int(math.copysign(math.floor(abs(v) + 0.5), v))

    return lround(rect.left()), lround(rect.top()), lround(rect.right()), lround(rect.bottom())


def _level_rect_to_frame(rect: dlib.rectangle, level: int) -> dlib.rectangle:
    """Map a box found on pyramid level ``level`` back to the frame exactly as the naive detector maps its boxes.

    dlib rounds a box once, from the level ``l`` where it fired to level 0; a box found from level ``level``
    was rounded at ``level`` instead. At ``l`` every box is ``HOG_BOX`` px wide, which gives ``l`` back, and
    with it the box dlib had there; then it takes the naive way to the frame (up ``l`` levels, rounded, then
    down the 2x upsampling, rounded).
    """
    found = dlib.drectangle(rect)
    fired = None
    for extra in range(64):
        at = _lround(_PYRAMID_DOWN.rect_down(found, extra))
        if at[2] - at[0] + 1 < HOG_BOX:
            break
        if at[2] - at[0] + 1 == HOG_BOX == at[3] - at[1] + 1:
            fired = extra, dlib.drectangle(*at)
            break
    if fired is None:  # not a box of this detector's size: map it back as it is (off by a pixel at most)
        fired = 0, found
    extra, box = fired
    top_level = dlib.drectangle(*_lround(_PYRAMID_DOWN.rect_up(box, level + extra)))
    return dlib.rectangle(*_lround(_PYRAMID_UP.rect_down(top_level)))


def detect_from_level(image: np.ndarray, level: int) -> list[Box]:
    """HOG faces scanned from pyramid level ``level`` down; level 0 is the naive 2x-upsampled search.

    The boxes are exactly the naive detector's for faces that fire at level ``level`` or deeper (faces
    about ``HOG_WINDOW / level_scale(level)`` px and bigger); smaller faces are not searched for.
    """
    ensure_rgb_uint8(image)
    if level <= 0:
        return [rect_to_css(r, image.shape) for r in hog_detector()(image, 1)]
    small = pyramid_level(image, level)
    if min(small.shape[:2]) < HOG_WINDOW:
        return []
    return [rect_to_css(_level_rect_to_frame(r, level), image.shape) for r in hog_detector()(small, 0)]


def level_for_face(face_size: float, margin: int = 5) -> int:
    """The pyramid level to start from so a face of ``face_size`` px is found with ``margin`` levels to spare."""
    fires_at = math.log(HOG_WINDOW / (2 * max(face_size, 1.0))) / math.log(PYRAMID_RATE)
    return max(0, int(math.floor(fires_at)) - margin)


def pick_face(boxes: list[Box], shape: tuple[int, ...], how: str = "center") -> Box | None:
    """Choose one face: the one nearest the image centre (``"center"``) or the biggest (``"largest"``)."""
    if not boxes:
        return None
    if how == "largest":
        return max(boxes, key=box_size)
    if how == "center":
        cx, cy = shape[1] / 2, shape[0] / 2
        return min(boxes, key=lambda b: (box_center(b)[0] - cx) ** 2 + (box_center(b)[1] - cy) ** 2)
    raise InvalidArgument(f"how must be 'center' or 'largest', not {how!r}")


def crop_face(image: np.ndarray, box: Box, padding: float = 0.25) -> np.ndarray:
    """The face box grown by ``padding`` (fraction of its size) on each side, cut out of the image."""
    ensure_rgb_uint8(image)
    top, right, bottom, left = box
    pad = padding * box_size(box)
    top, right, bottom, left = clip_box((top - pad, right + pad, bottom + pad, left - pad), image.shape)
    return image[top : bottom + 1, left : right + 1].copy()


def rotation_matrix(shape: tuple[int, ...], angle: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The 2x3 matrix rotating an image by ``angle`` degrees (counter-clockwise) onto a canvas that holds it all."""
    height, width = shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(math.ceil(height * sin + width * cos)), int(math.ceil(height * cos + width * sin))
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    return matrix, (new_w, new_h)


def rotate_image(image: np.ndarray, angle: float) -> np.ndarray:
    """The image rotated by ``angle`` degrees counter-clockwise, canvas grown so nothing is cut off."""
    matrix, size = rotation_matrix(image.shape, angle)
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def unrotate_box(box: Box, angle: float, shape: tuple[int, ...]) -> Box:
    """The axis-aligned box, in the original image, around a box found in the image rotated by ``angle``."""
    matrix, _ = rotation_matrix(shape, angle)
    inverse = cv2.invertAffineTransform(matrix)
    top, right, bottom, left = box
    corners = np.array([[left, top], [right, top], [right, bottom], [left, bottom]], np.float64)
    back = corners @ inverse[:, :2].T + inverse[:, 2]
    (x0, y0), (x1, y1) = back.min(0), back.max(0)
    return clip_box((int(round(y0)), int(round(x1)), int(round(y1)), int(round(x0))), shape)


def detect_with_rotation(
    image: np.ndarray, angles: tuple[float, ...] = (0, -25, 25, -50, 50), *, upsample: int = 1
) -> tuple[list[Box], float]:
    """Try each rotation in turn until HOG finds a face; returns the boxes (in the rotated image) and the angle."""
    ensure_rgb_uint8(image)
    for angle in angles:
        rotated = rotate_image(image, angle) if angle else image
        boxes = [rect_to_css(r, rotated.shape) for r in hog_detector()(rotated, upsample)]
        if boxes:
            return boxes, float(angle)
    return [], 0.0


def face_encoding(image: np.ndarray, box: Box | None = None, how: str = "center") -> np.ndarray | None:
    """The 128-d face_recognition encoding of the face in ``box`` (else of the face ``how`` picks), or None."""
    ensure_rgb_uint8(image)
    if box is None:
        box = pick_face(detect_faces(image), image.shape, how)
        if box is None:
            return None
    return face_recognition_api().face_encodings(image, known_face_locations=[box])[0]


def footage_report(boxes_per_frame: Sequence[Sequence[Box]], fps: float) -> dict[str, float]:
    """How usable a video is for a face swap, from each frame's face boxes: the shares of frames with one, several
    and no face, the median height of each frame's tallest face (px), and the longest stretch without a face (s)."""
    if not len(boxes_per_frame):
        raise InvalidArgument("no frames: a report needs the boxes of at least one frame")
    if not fps > 0:
        raise InvalidArgument(f"fps must be positive, not {fps!r}")
    counts = np.array([len(boxes) for boxes in boxes_per_frame])
    heights = [max(bottom - top for top, _, bottom, _ in boxes) for boxes in boxes_per_frame if len(boxes)]
    longest = run = 0
    for n in counts:
        run = run + 1 if n == 0 else 0
        longest = max(longest, run)
    return {"frames": float(len(counts)), "one_face": float(np.mean(counts == 1)),
            "several": float(np.mean(counts > 1)), "none": float(np.mean(counts == 0)),
            "median_height": float(np.median(heights)) if heights else float("nan"),
            "longest_gap_s": longest / fps}
