"""Pictures: landmark and box drawing, image grids for notebooks, contact sheets written as PNG, and the
time-lapse of training previews as an animated GIF."""
from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .detect import Box
from .errors import ImageError, InvalidArgument
from .fileio import atomic_path
from .images import ensure_rgb_uint8
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
        raise InvalidArgument("contact_sheet needs at least one image")
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


CAPTION_PX = 18  # height of the caption strip above each frame of a time-lapse


def captioned(image: np.ndarray, caption: str) -> np.ndarray:
    """A uint8 RGB picture with a black strip above it that carries ``caption`` in white."""
    image = ensure_rgb_uint8(image)
    strip = np.zeros((CAPTION_PX, image.shape[1], 3), np.uint8)
    cv2.putText(strip, caption, (4, CAPTION_PX - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([strip, image], axis=0)


def timelapse_gif(previews: Sequence[np.ndarray], steps: Sequence[int], *, frame_ms: int = 400,
                  hold_ms: int = 2000) -> bytes:
    """The training previews as a looping animated GIF, each frame captioned with its step and the last, the
    trained model, held for ``hold_ms``; the GIF file's bytes (256 colours a frame, so close, not exact)."""
    if not previews:
        raise InvalidArgument("timelapse_gif needs at least one preview (a model folder keeps them in previews/)")
    if len(steps) != len(previews):
        raise InvalidArgument(f"timelapse_gif: {len(previews)} previews but {len(steps)} steps; give one step each")
    if frame_ms < 20 or hold_ms < 20:  # browsers show shorter GIF delays as 100 ms
        raise InvalidArgument(f"frame_ms {frame_ms}, hold_ms {hold_ms}: each must be at least 20 ms")
    first = ensure_rgb_uint8(previews[0], name="preview 0").shape
    frames = []
    for i, (preview, step) in enumerate(zip(previews, steps, strict=True)):
        shape = ensure_rgb_uint8(preview, name=f"preview {i}").shape
        if shape != first:
            raise ImageError(f"preview {i} (step {step}) is {shape[1]}x{shape[0]} px, preview 0 is "
                             f"{first[1]}x{first[0]} px: the frames of a time-lapse come from one model's previews")
        frames.append(Image.fromarray(captioned(preview, f"step {step}")))
    durations = [frame_ms] * (len(frames) - 1) + [hold_ms]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], loop=0, duration=durations)
    return buffer.getvalue()


def _region_box(points: np.ndarray, shape: tuple[int, ...], margin: float) -> tuple[int, int, int, int]:
    """The (top, bottom, left, right) pixel box around some landmarks, grown by ``margin`` of its width."""
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    grow = margin * (x1 - x0)
    top, bottom = max(int(y0 - grow), 0), min(int(np.ceil(y1 + grow)), shape[0])
    left, right = max(int(x0 - grow), 0), min(int(np.ceil(x1 + grow)), shape[1])
    return top, bottom, left, right


def closeup(frames: Sequence[tuple[np.ndarray, ...]], *, height: int = 96,
            labels: Sequence[str] = ("source", "swap")) -> np.ndarray:
    """Eyes and mouth, source beside swap, one row per (source frame, swapped frame, source landmarks): the
    regions a person looks at first, cut from both frames at the same place and scaled to ``height`` px.
    With more ``labels`` a row is (source frame, one swapped frame per further label, source landmarks): several
    swaps of the same frame side by side (e.g. source, autoencoder, GAN)."""
    if not frames:
        raise InvalidArgument("closeup needs at least one (source, swapped, landmarks) frame")
    rows = []
    for *images, points in frames:
        if len(images) != len(labels):
            raise InvalidArgument(f"closeup: a row holds {len(images)} images and the landmarks, but {len(labels)} "
                                  f"labels were given ({', '.join(labels)})")
        points = np.asarray(points, np.float64)
        tiles = []
        for part, margin in ((slice(36, 48), 0.25), (slice(48, 68), 0.3)):  # both eyes; the mouth
            top, bottom, left, right = _region_box(points[part], images[0].shape, margin)
            for image, label in zip(images, labels, strict=True):
                crop = ensure_rgb_uint8(image)[top:bottom, left:right]
                width = max(1, round(crop.shape[1] * height / max(crop.shape[0], 1)))
                tile = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA).copy()
                cv2.putText(tile, label, (3, height - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 0), 1,
                            cv2.LINE_AA)
                tiles.append(tile)
            tiles.append(np.zeros((height, 4, 3), np.uint8))  # a gap between the eyes and the mouth
        rows.append(np.concatenate(tiles[:-1], axis=1))
    width = max(r.shape[1] for r in rows)
    return np.concatenate([np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0))) for r in rows], axis=0)


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


def architecture_figure(model, *, title: str | None = None):
    """A strip of blocks, one per layer that changes the tensor's shape: spatial size and channels."""
    import matplotlib.pyplot as plt

    shapes, names = [], []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        shape = tuple(shape.shape) if shape is not None else None
        if shape is None or (shapes and shape == shapes[-1]):
            continue
        shapes.append(shape)
        names.append(layer.name)
    fig, ax = plt.subplots(figsize=(1.1 * len(shapes) + 1, 3.2))
    for i, (shape, name) in enumerate(zip(shapes, names, strict=True)):
        if len(shape) == 4:
            side, label = shape[1], f"{shape[1]}×{shape[2]}\n×{shape[3]}"
        else:
            side, label = 8, f"{shape[-1]}"
        h = 0.4 + 2.2 * side / 128
        ax.add_patch(plt.Rectangle((i, -h / 2), 0.8, h, color="#2a7" if len(shape) == 4 else "#e93", alpha=0.8))
        ax.text(i + 0.4, h / 2 + 0.1, label, ha="center", va="bottom", fontsize=7)
        ax.text(i + 0.4, -h / 2 - 0.1, name, ha="center", va="top", fontsize=6, rotation=40)
    ax.set_xlim(-0.2, len(shapes))
    ax.set_ylim(-2.2, 2.2)
    ax.axis("off")
    ax.set_title(title or model.name)
    return fig


def loss_figure(history, *, title: str = "training loss (MAE)"):
    """The loss curves of both autoencoders from a trainer's history of (step, loss A, loss B) rows."""
    import matplotlib.pyplot as plt

    h = np.asarray(history, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(7, 3))
    for col, label, colour in ((1, "A (video)", "tab:orange"), (2, "B (photos)", "tab:blue")):
        ax.plot(h[:, 0], h[:, col], alpha=0.3, color=colour)
        k = max(1, len(h) // 20)
        smooth = np.convolve(h[:, col], np.ones(k) / k, mode="valid")
        ax.plot(h[k - 1 :, 0], smooth, label=f"{label}, smoothed", lw=2, color=colour)
    ax.set(xlabel="step", ylabel="mean absolute error", title=title)
    ax.legend()
    return fig
