"""The course's two image forms and the step between them: uint8 RGB (0..255) everywhere, float 0..1 only
inside the model and its data pipeline."""
from __future__ import annotations

import numpy as np

from .errors import ImageError


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in 0..1 (the model's) as uint8 0..255: clipped to the range, then rounded."""
    images = np.asarray(images)
    images = images.astype(np.result_type(images.dtype, np.float32), copy=False)  # float16 (mixed precision) up
    return (np.clip(images, 0, 1) * 255).round().astype(np.uint8)


def to_rgb_uint8(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """Convert a grayscale, RGBA, 16-bit or 0..1 float image to uint8 RGB HxWx3."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"{name}: expected a numpy array, got {type(image).__name__}")
    img = image
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)) or min(img.shape[:2]) == 0:
        raise ImageError(f"{name}: shape {image.shape} is not an image (need HxW, HxWx3 or HxWx4)")
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif np.issubdtype(img.dtype, np.floating):
        if np.nanmin(img) < 0 or np.nanmax(img) > 1:
            raise ImageError(f"{name}: float images must be in 0..1, got {np.nanmin(img):.3g}..{np.nanmax(img):.3g}")
        img = to_uint8(np.nan_to_num(img))
    elif img.dtype == bool:
        img = img.astype(np.uint8) * 255
    elif img.dtype != np.uint8:
        raise ImageError(f"{name}: dtype {img.dtype} is not supported (use uint8, uint16 or float 0..1)")
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.shape[2] == 4:
        img = img[:, :, :3]
    return np.ascontiguousarray(img)


def ensure_rgb_uint8(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """Check that an array is uint8 RGB HxWx3, or raise ImageError saying how to convert it."""
    if (
        not isinstance(image, np.ndarray)
        or image.dtype != np.uint8
        or image.ndim != 3
        or image.shape[2] != 3
        or min(image.shape[:2]) == 0
    ):
        what = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ImageError(
            f"{name}: expected a uint8 RGB image of shape (H, W, 3), got a {what}; "
            "convert it with deepfake_utils.images.to_rgb_uint8(image)"
        )
    return image
