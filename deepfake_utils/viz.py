"""Pictures: landmark and box drawing, image grids for notebooks, contact sheets written as PNG."""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from .detect import Box
from .fileio import atomic_path, ensure_rgb_uint8
from .landmarks import REGIONS

#: One colour per landmark region (RGB), for drawings and legends.
REGION_COLOURS: dict[str, tuple[int, int, int]] = {
    "jaw": (255, 255, 255),
    "left_eyebrow": (255, 170, 0),
    "right_eyebrow": (255, 170, 0),
    "nose": (0, 200, 255),
    "left_eye": (0, 255, 120),
    "right_eye": (0, 255, 120),
    "mouth": (255, 60, 120),
}


def draw_landmarks(
    image: np.ndarray, points: np.ndarray, *, radius: int | None = None, lines: bool = True
) -> np.ndarray:
    """A copy of the image with the 68 landmarks drawn, coloured by region."""
    out = ensure_rgb_uint8(image).copy()
    radius = radius or max(1, round(min(out.shape[:2]) / 250))
    for name, idx in REGIONS.items():
        pts = np.round(points[idx]).astype(np.int32)
        colour = REGION_COLOURS[name]
        if lines:
            closed = name in ("left_eye", "right_eye")
            cv2.polylines(out, [pts], closed, colour, max(1, radius // 2), cv2.LINE_AA)
        for x, y in pts:
            cv2.circle(out, (int(x), int(y)), radius, colour, -1, cv2.LINE_AA)
    return out


def draw_boxes(
    image: np.ndarray, boxes: Sequence[Box], *, colour=(0, 255, 0), thickness: int | None = None
) -> np.ndarray:
    """A copy of the image with (top, right, bottom, left) boxes drawn."""
    out = ensure_rgb_uint8(image).copy()
    thickness = thickness or max(1, round(min(out.shape[:2]) / 200))
    for top, right, bottom, left in boxes:
        cv2.rectangle(out, (int(left), int(top)), (int(right), int(bottom)), colour, thickness, cv2.LINE_AA)
    return out


def contact_sheet(images: Sequence[np.ndarray], *, ncols: int = 8, size: int = 128,
                  labels: Sequence[str] | None = None) -> np.ndarray:
    """Tile images (resized to ``size`` px squares) into one uint8 RGB sheet, optionally labelled."""
    if not images:
        raise ValueError("contact_sheet needs at least one image")
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    sheet = np.zeros((nrows * size, ncols * size, 3), np.uint8)
    for i, img in enumerate(images):
        tile = cv2.resize(ensure_rgb_uint8(img, name=f"image {i}"), (size, size), interpolation=cv2.INTER_AREA)
        if labels is not None:
            cv2.putText(tile, str(labels[i]), (3, size - 5), cv2.FONT_HERSHEY_SIMPLEX, size / 400, (255, 255, 0), 1,
                        cv2.LINE_AA)
        r, c = divmod(i, ncols)
        sheet[r * size : (r + 1) * size, c * size : (c + 1) * size] = tile
    return sheet


def show_images(images: Sequence[np.ndarray], titles: Sequence[str] | None = None, *, ncols: int = 4,
                size: float = 3.0, suptitle: str | None = None):
    """A matplotlib figure with the images in a grid (for notebooks); returns the figure."""
    import matplotlib.pyplot as plt

    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, img in enumerate(images):
        ax = axes.ravel()[i]
        ax.imshow(img, cmap="gray" if np.ndim(img) == 2 else None)
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def save_fig(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save a matplotlib figure as an image file, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    return path
