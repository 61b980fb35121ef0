"""Image reading/writing in the house convention (uint8 RGB HxWx3) and crash-safe atomic writes."""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import DeepfakeError, ImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path``; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write bytes so that ``path`` is either the old file or the whole new one, never half."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write an object as indented JSON, atomically."""
    return write_bytes_atomic(path, (json.dumps(obj, indent=1) + "\n").encode())


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
        img = np.round(np.nan_to_num(img) * 255).astype(np.uint8)
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
            "convert it with deepfake_utils.fileio.to_rgb_uint8(image)"
        )
    return image


def check_input_file(path: str | os.PathLike, error: type[DeepfakeError] = DeepfakeError,
                     folder_hint: str = "") -> Path:
    """The path of an existing, non-empty file, or ``error`` naming the file and what is wrong."""
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: no such file")
    if path.is_dir():
        raise error(f"{path}: is a folder, not a file{folder_hint}")
    if path.stat().st_size == 0:
        raise error(f"{path}: the file is empty (0 bytes)")
    return path


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as uint8 RGB HxWx3 (grayscale, RGBA and 16-bit are converted)."""
    path = check_input_file(path, ImageError)
    raw = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ImageError(f"{path}: not a readable image (corrupt, or not an image format OpenCV knows)")
    if raw.ndim == 3 and raw.shape[2] == 4:
        raw = cv2.cvtColor(raw, cv2.COLOR_BGRA2RGBA)
    elif raw.ndim == 3 and raw.shape[2] == 3:
        raw = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    return to_rgb_uint8(raw, name=str(path))


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write a uint8 RGB image atomically; the format follows the suffix (.png, .jpg, ...)."""
    path = Path(path)
    ensure_rgb_uint8(image, name=str(path))
    ok, buf = cv2.imencode(path.suffix or ".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ImageError(f"{path}: OpenCV cannot encode images with suffix {path.suffix!r}")
    return write_bytes_atomic(path, buf.tobytes())


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files of a folder (not recursive), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageError(f"{folder}: no such folder")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
