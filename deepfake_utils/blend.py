"""Stage 8, compositing: masks, colour correction and blending of a new face into a frame.

Masks are float32 (H, W) arrays in 0..1 in frame coordinates; faces and frames are uint8 RGB. The
colour functions change only the pixels under the mask and leave the rest of the image as it was.
"""
from __future__ import annotations

import cv2
import numpy as np
from skimage.exposure import match_histograms

from .choices import COLOUR_METHODS, MASKS
from .errors import InvalidArgument
from .images import ensure_rgb_uint8, to_uint8


def rect_mask(shape: tuple[int, ...], matrix: np.ndarray, size: int) -> np.ndarray:
    """The square the ``size`` px model face covers, in frame coordinates (``matrix``: frame -> model face)."""
    square = np.ones((size, size), np.float32)
    return cv2.warpAffine(square, np.asarray(matrix, np.float64), (shape[1], shape[0]),
                          flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def hull_mask(shape: tuple[int, ...], landmarks: np.ndarray) -> np.ndarray:
    """The convex hull of the 68 landmarks, filled: the face from the brows to the chin."""
    mask = np.zeros(shape[:2], np.float32)
    hull = cv2.convexHull(np.round(np.asarray(landmarks)).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 1.0, lineType=cv2.LINE_AA)
    return mask


def forehead_points(landmarks: np.ndarray) -> np.ndarray:
    """The 10 brow points raised as far above the brows as the brows sit above their eye: the lower forehead."""
    points = np.asarray(landmarks, np.float64)
    raised = []
    for brow, eye in ((slice(17, 22), slice(36, 42)), (slice(22, 27), slice(42, 48))):  # right, then left brow
        raised.append(points[brow] + (points[brow].mean(0) - points[eye].mean(0)))
    return np.vstack(raised)


def forehead_mask(shape: tuple[int, ...], landmarks: np.ndarray) -> np.ndarray:
    """The hull of the 68 landmarks and the raised brows: the face with its brows and lower forehead."""
    return hull_mask(shape, np.vstack([np.asarray(landmarks, np.float64), forehead_points(landmarks)]))


def face_mask(kind: str, shape: tuple[int, ...], landmarks: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """A mask by name: 'rect', 'hull', 'hull_rect' (the hull cut to the model face's square, the original
    converter's default) or 'forehead' (the hull grown over the brows and lower forehead, cut to the square)."""
    if kind == "rect":
        return rect_mask(shape, matrix, size)
    if kind == "hull":
        return hull_mask(shape, landmarks)
    if kind == "hull_rect":
        return hull_mask(shape, landmarks) * rect_mask(shape, matrix, size)
    if kind == "forehead":
        return forehead_mask(shape, landmarks) * rect_mask(shape, matrix, size)
    raise InvalidArgument(f"unknown mask {kind!r}; choose one of {MASKS}")


def adjust_mask(mask: np.ndarray, erode: int = 0, blur: int = 0) -> np.ndarray:
    """Shrink (``erode`` > 0 px) or grow (< 0) a mask, then feather its edge inwards over ``blur`` px."""
    out = np.asarray(mask, np.float32)
    erode += blur  # the Gaussian reaches ``blur`` px out: shrink first so the soft edge stays inside the mask
    if erode:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(erode) + 1, 2 * abs(erode) + 1))
        out = cv2.erode(out, kernel) if erode > 0 else cv2.dilate(out, kernel)
    if blur > 0:
        out = cv2.GaussianBlur(out, (2 * blur + 1, 2 * blur + 1), 0)
    return np.clip(out, 0, 1)


def _inside(mask: np.ndarray) -> np.ndarray:
    inside = np.asarray(mask) > 0.5
    if not inside.any():
        raise InvalidArgument("the mask is empty: no pixels to correct")
    return inside


def adjust_average_colour(image: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift the masked pixels of ``image`` so their mean colour is the mean of ``reference`` under the mask."""
    ensure_rgb_uint8(image)
    inside = _inside(mask)
    shift = reference[inside].mean(0) - image[inside].mean(0)
    out = image.copy()
    out[inside] = np.clip(image[inside] + shift, 0, 255).round().astype(np.uint8)
    return out


def match_histogram(image: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Give the masked pixels of ``image`` the per-channel histogram of ``reference``'s masked pixels."""
    ensure_rgb_uint8(image)
    inside = _inside(mask)
    out = image.copy()
    matched = match_histograms(image[inside], reference[inside], channel_axis=-1)
    out[inside] = np.clip(matched, 0, 255).round().astype(np.uint8)
    return out


LabMoments = tuple[np.ndarray, np.ndarray]  # per-channel mean and standard deviation in CIE L*a*b*


def _lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)


def lab_moments(image: np.ndarray, mask: np.ndarray | None = None) -> LabMoments:
    """The mean and spread of each CIE L*a*b* channel of an RGB uint8 image, over the mask (default: all of it)."""
    ensure_rgb_uint8(image)
    lab = _lab(image)
    pixels = lab[_inside(mask)] if mask is not None else lab.reshape(-1, 3)
    return pixels.mean(0), pixels.std(0)


def move_lab_moments(image: np.ndarray, source: LabMoments, target: LabMoments,
                     mask: np.ndarray | None = None) -> np.ndarray:
    """Reinhard's transfer: the image's L*a*b* channels moved from the ``source`` moments to the ``target`` ones
    (only under the mask, if one is given)."""
    ensure_rgb_uint8(image)
    lab = _lab(image)
    moved = cv2.cvtColor((lab - source[0]) / (source[1] + 1e-6) * target[1] + target[0], cv2.COLOR_LAB2RGB)
    if mask is None:
        return to_uint8(moved)
    inside = _inside(mask)
    out = image.copy()
    out[inside] = to_uint8(moved[inside])
    return out


def transfer_lab(image: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Reinhard's colour transfer in CIE L*a*b* (OpenCV's), not his lαβ: each channel's mean and spread matched."""
    return move_lab_moments(image, lab_moments(image, mask), lab_moments(reference, mask), mask)


LOCAL_SIGMA = 0.1  # 'local' colour: the Gaussian's sigma as a share of the mask's size (the root of its area)


def match_local_colour(image: np.ndarray, reference: np.ndarray, mask: np.ndarray,
                       sigma: float | None = None) -> np.ndarray:
    """Shift each masked pixel of ``image`` by the difference of the two images' local mean colours there: means
    over the mask only, weighted by a Gaussian of ``sigma`` px (default ``LOCAL_SIGMA`` of the mask's size), so the
    new face takes the frame's light and shading at that scale and keeps its own finer structure."""
    ensure_rgb_uint8(image)
    inside = _inside(mask)
    if sigma is None:
        sigma = LOCAL_SIGMA * float(np.sqrt(inside.sum()))
    if not sigma > 0:
        raise InvalidArgument(f"sigma must be positive, not {sigma!r}")
    weight = inside.astype(np.float32)
    spread = cv2.GaussianBlur(weight, (0, 0), sigma) + 1e-6

    def local_mean(img: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(img.astype(np.float32) * weight[..., None], (0, 0), sigma) / spread[..., None]

    shift = local_mean(reference) - local_mean(image)
    out = image.copy()
    out[inside] = np.clip(image[inside] + shift[inside], 0, 255).round().astype(np.uint8)
    return out


def correct_colour(method: str, image: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Colour correction by name: 'none', 'avg' (average colour), 'hist' (histograms), 'lab' (Reinhard) or
    'local' (local mean colour, ``match_local_colour``)."""
    if method == "none":
        return image
    if method == "avg":
        return adjust_average_colour(image, reference, mask)
    if method == "hist":
        return match_histogram(image, reference, mask)
    if method == "lab":
        return transfer_lab(image, reference, mask)
    if method == "local":
        return match_local_colour(image, reference, mask)
    raise InvalidArgument(f"unknown colour method {method!r}; choose one of {COLOUR_METHODS}")


def sharpen(image: np.ndarray, amount: float = 0.5, sigma: float = 1.5) -> np.ndarray:
    """Unsharp masking: add ``amount`` of the detail that a ``sigma`` px Gaussian blur removes."""
    ensure_rgb_uint8(image)
    if amount <= 0:
        return image
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    return cv2.addWeighted(image, 1 + amount, blurred, -amount, 0)


def alpha_blend(frame: np.ndarray, face: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``face`` where the mask is 1, ``frame`` where it is 0, mixed in between."""
    alpha = np.asarray(mask, np.float32)[..., None]
    return (face * alpha + frame * (1 - alpha)).round().astype(np.uint8)


def seamless_clone(frame: np.ndarray, face: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """OpenCV's Poisson (seamless) clone of the masked face into the frame, in place of alpha blending."""
    binary = (np.asarray(mask) > 0.5).astype(np.uint8) * 255
    binary[[0, -1], :] = 0  # the clone region must not touch the frame's edge
    binary[:, [0, -1]] = 0
    if not binary.any():
        return frame.copy()
    x, y, w, h = cv2.boundingRect(binary)
    outside = binary == 0
    out = cv2.seamlessClone(face, frame, binary.copy(), (x + w // 2, y + h // 2), cv2.NORMAL_CLONE)  # (it writes
    out[outside] = frame[outside]  # into the mask) and nudges its whole box by a few grey levels: keep the rest
    return out


def colour_shift(faces: list[np.ndarray], reference: list[np.ndarray]) -> tuple[float, float, float]:
    """The RGB shift (0..255 units) that moves the faces' mean colour onto the reference faces' mean colour."""
    shift = np.mean([f.mean(axis=(0, 1)) for f in reference], 0) - np.mean([f.mean(axis=(0, 1)) for f in faces], 0)
    return tuple(round(float(v), 3) for v in shift)


def shift_colour(faces: np.ndarray | list[np.ndarray], shift: tuple[float, float, float]) -> list[np.ndarray]:
    """Add an RGB shift to uint8 faces (clipped to 0..255)."""
    return [np.clip(f.astype(np.float32) + np.asarray(shift, np.float32), 0, 255).astype(np.uint8) for f in faces]
