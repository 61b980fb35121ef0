"""Stage 5: the training pairs of the classic deepfake. A random transform (pose jitter), then a random
warp of the face (grid noise) as the network input, and the unwarped face as the target it must rebuild.

Every function takes an ``np.random.Generator``: the same seed gives the same pairs.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .align import umeyama
from .errors import InvalidArgument
from .images import ensure_rgb_uint8

GRID = 5  # control points per side of the warp grid


def random_transform(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    rotation: float = 10.0,
    zoom: float = 0.05,
    shift: float = 0.05,
    flip: float = 0.4,
) -> np.ndarray:
    """Rotate (±``rotation`` degrees), zoom (±``zoom``), shift (±``shift`` of the side) and flip (prob ``flip``)."""
    ensure_rgb_uint8(image)
    height, width = image.shape[:2]
    angle = rng.uniform(-rotation, rotation)
    scale = rng.uniform(1 - zoom, 1 + zoom)
    tx, ty = rng.uniform(-shift, shift, size=2) * (width, height)
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, scale)
    matrix[:, 2] += (tx, ty)
    out = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < flip:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def warp_grid(size: int, coverage: int) -> tuple[np.ndarray, np.ndarray]:
    """The regular 5x5 grid of control points (x and y maps) spanning ``coverage`` px at the crop centre."""
    centre = size / 2
    line = np.linspace(centre - coverage / 2, centre + coverage / 2, GRID)
    return np.meshgrid(line, line)  # mapx varies along columns, mapy along rows


def random_warp(
    image: np.ndarray,
    rng: np.random.Generator,
    *,
    coverage: int = 160,
    sigma: float = 5.0,
    size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """The (warped, target) pair: grid points jittered by N(0, ``sigma``) px, and the same region unwarped."""
    ensure_rgb_uint8(image)
    side = image.shape[0]
    if image.shape[1] != side:
        raise InvalidArgument(f"random_warp needs a square face crop, got {image.shape[1]}x{side}")
    if not 0 < coverage <= side:
        raise InvalidArgument(f"coverage must be in 1..{side} px for a {side} px crop, got {coverage}")
    mapx, mapy = warp_grid(side, coverage)
    noisy_x = mapx + rng.normal(scale=sigma, size=mapx.shape)
    noisy_y = mapy + rng.normal(scale=sigma, size=mapy.shape)
    # Smooth the 5x5 jitter into a dense map; the outer 1/8 of the interpolated map is trimmed so
    # the edge control points act as anchors (as in the original trainer).
    pad = size // 8
    big = size + 2 * pad
    dense_x = cv2.resize(noisy_x, (big, big))[pad : pad + size, pad : pad + size].astype(np.float32)
    dense_y = cv2.resize(noisy_y, (big, big))[pad : pad + size, pad : pad + size].astype(np.float32)
    warped = cv2.remap(image, dense_x, dense_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # The target: the similarity that best maps the jittered points onto a regular size-px grid.
    # The grid sits on pixel centres (-0.5), as the dense map above does, so that with no noise the
    # input and the target are the same image, to within the rounding of the two OpenCV functions (one grey
    # level at most; the original trainer was half a pixel off here).
    src = np.stack([noisy_x.ravel(), noisy_y.ravel()], axis=1)
    step = np.linspace(0, size, GRID) - 0.5
    dst = np.stack(np.meshgrid(step, step), axis=-1).reshape(-1, 2)
    matrix = umeyama(src, dst)[:2]
    target = cv2.warpAffine(image, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)
    return warped, target


def training_pair(
    image: np.ndarray, rng: np.random.Generator, *, coverage: int = 160, sigma: float = 5.0, size: int = 64,
    warp: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One (warped input, target) training pair from an aligned face: random transform, then random warp.

    ``warp(image, rng, coverage=, sigma=, size=)``: the random warp to use (a learner's, notebook 05); default
    ``random_warp``.
    """
    warp = random_warp if warp is None else warp
    return warp(random_transform(image, rng), rng, coverage=coverage, sigma=sigma, size=size)


def training_batch(
    faces: list[np.ndarray], rng: np.random.Generator, batch_size: int, **kwargs
) -> tuple[np.ndarray, np.ndarray]:
    """A batch of (warped, target) pairs as two uint8 arrays (B, size, size, 3), faces drawn with replacement.

    ``kwargs`` go to ``training_pair`` (``coverage``, ``sigma``, ``size``, and ``warp``, the hook for your own).
    """
    if not faces:
        raise InvalidArgument("training_batch needs at least one face")
    picks = rng.integers(0, len(faces), size=batch_size)
    pairs = [training_pair(faces[i], rng, **kwargs) for i in picks]
    return np.stack([w for w, _ in pairs]), np.stack([t for _, t in pairs])
