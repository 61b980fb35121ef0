"""Stage 4: align faces to the mean face with a similarity transform (Umeyama) and cut aligned crops.

Matrices are 2x3 float64 affines from image pixels to aligned-crop pixels; the inverse is computed
when needed (``invert``), never stored twice. As in the original deepfakes code, the 17 jaw points
are left out of the fit: the jaw line moves with the mouth and with the head's turn.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import resources

import cv2
import numpy as np

from .choices import ALIGNED_SIZE, COVERAGE
from .errors import InvalidArgument
from .images import ensure_rgb_uint8

PADDING = 48  # px of context kept around the 51 inner points at 256 px (scaled with the size)
FIT_POINTS = slice(17, 68)  # brows, nose, eyes and mouth: the points used for the alignment fit


@lru_cache(maxsize=1)
def mean_face() -> np.ndarray:
    """The mean face: 51 (x, y) points (landmarks 17..67) in the unit square (see scripts/make_mean_face.py)."""
    text = resources.files("deepfake_utils").joinpath("mean_face.txt").read_text()
    points = np.loadtxt(text.splitlines(), dtype=np.float64)
    points.setflags(write=False)
    return points


def umeyama(src: np.ndarray, dst: np.ndarray, estimate_scale: bool = True) -> np.ndarray:
    """The 3x3 least-squares similarity (rotation, uniform scale, shift) mapping ``src`` points onto ``dst``.

    Umeyama (1991): centre both point sets, take the SVD of their covariance, and read the rotation off it
    (flipping the last direction if it would mirror), the scale off the singular values, then the shift.
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise InvalidArgument(f"need two matching (N, 2) point sets with N >= 2, got {src.shape} and {dst.shape}")
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_centred, dst_centred = src - src_mean, dst - dst_mean
    covariance = dst_centred.T @ src_centred / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    if np.linalg.matrix_rank(covariance) == 0:
        raise InvalidArgument("Umeyama fit failed: the points do not spread out (degenerate points?)")
    signs = np.array([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])  # -1: the best fit would mirror
    rotation = u @ np.diag(signs) @ vt
    scale = singular @ signs / src_centred.var(axis=0).sum() if estimate_scale else 1.0
    matrix = np.eye(3)
    matrix[:2, :2] = scale * rotation
    matrix[:2, 2] = dst_mean - matrix[:2, :2] @ src_mean
    return matrix


def mean_face_target(size: int = ALIGNED_SIZE, padding: int | None = None) -> np.ndarray:
    """Where the mean face's 51 points sit in a ``size`` px aligned crop (``padding`` px of context kept)."""
    if padding is None:
        padding = round(PADDING * size / ALIGNED_SIZE)
    return mean_face() * (size - 2 * padding) + padding


def alignment_matrix(landmarks: np.ndarray, size: int = ALIGNED_SIZE, padding: int | None = None, *,
                     fit: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """The 2x3 matrix taking image pixels to a ``size`` px crop where the face sits on the mean face.

    ``fit(src, dst)``: the 3x3 similarity fit to use (a learner's Umeyama, notebook 04); default ``umeyama``.
    """
    fit = umeyama if fit is None else fit
    return np.asarray(fit(np.asarray(landmarks, float)[FIT_POINTS], mean_face_target(size, padding)), float)[:2]


def align_face(image: np.ndarray, matrix: np.ndarray, size: int = ALIGNED_SIZE) -> np.ndarray:
    """The aligned ``size`` x ``size`` crop of a face, given its alignment matrix."""
    ensure_rgb_uint8(image)
    return cv2.warpAffine(image, np.asarray(matrix, np.float64), (size, size), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_REPLICATE)


def invert(matrix: np.ndarray) -> np.ndarray:
    """The inverse 2x3 matrix: from aligned-crop pixels back to image pixels."""
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 matrix to (N, 2) points."""
    points = np.asarray(points, np.float64)
    matrix = np.asarray(matrix, np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def unalign_face(face: np.ndarray, matrix: np.ndarray, frame_shape: tuple[int, ...]) -> np.ndarray:
    """Warp an aligned crop back into frame coordinates (black where the crop does not reach)."""
    height, width = frame_shape[:2]
    return cv2.warpAffine(face, np.asarray(matrix, np.float64), (width, height),
                          flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def alignment_residual(landmarks: np.ndarray, matrix: np.ndarray, size: int = ALIGNED_SIZE) -> float:
    """How far the aligned inner points sit from the mean face, as a fraction of the crop: low is a clean fit."""
    aligned = transform_points(np.asarray(landmarks)[FIT_POINTS], matrix)
    return float(np.linalg.norm(aligned - mean_face_target(size), axis=1).mean() / size)


def mean_shape(shapes: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Generalised Procrustes mean of (N, P, 2) shapes, scaled and centred into the unit square."""
    shapes = np.asarray(shapes, np.float64)
    if shapes.ndim != 3 or shapes.shape[2] != 2 or len(shapes) < 2:
        raise InvalidArgument(f"need an (N, P, 2) stack of at least two shapes, got {shapes.shape}")
    mean = shapes.mean(0) - shapes.mean(0).mean(0)  # start from the plain average: keeps it upright
    mean /= np.linalg.norm(mean)
    for _ in range(iterations):
        fitted = np.stack([transform_points(s, umeyama(s, mean)[:2]) for s in shapes])
        new = fitted.mean(0)
        new -= new.mean(0)
        new /= np.linalg.norm(new)
        new = transform_points(new, umeyama(new, mean, estimate_scale=False)[:2])  # keep the orientation fixed
        if np.abs(new - mean).max() < 1e-10:
            break
        mean = new
    low, high = mean.min(0), mean.max(0)
    scale = (high - low).max()
    return (mean - low) / scale + (1 - (high - low) / scale) / 2




def face_square(face: np.ndarray, coverage: int = COVERAGE) -> np.ndarray:
    """The middle ``coverage`` px (of 256) of an aligned crop of any size: the part of it a model sees."""
    side = face.shape[0]
    start = max(0, (side - round(coverage * side / ALIGNED_SIZE)) // 2)
    return face[start:side - start, start:side - start]


def crop_to_model(size: int = 64, coverage: int = COVERAGE) -> np.ndarray:
    """The 2x3 matrix from the 256 px aligned crop to the model face: its middle ``coverage`` px, resized."""
    scale = size / coverage  # on pixel centres, as the training targets (see warp.random_warp)
    offset = -scale * (ALIGNED_SIZE - coverage) / 2 - 0.5
    return np.array([[scale, 0, offset], [0, scale, offset]])
