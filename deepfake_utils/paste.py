"""Stage 8's core: the swapped face back into the frame. The model's framing of a frame's face
(``model_matrix``, ``model_input``), the prediction, the paste through the inverse transform, the mask, colour
and blend of ``composite`` (masks and colour methods are ``blend``'s), the visible label, and the one-euro
filter that smooths the landmarks over frames. Pure functions over arrays; ``swap.convert`` runs them over a
video.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import cv2
import numpy as np

from . import align, blend
from .align import COVERAGE, crop_to_model
from .blend import shift_colour
from .choices import DEFAULT_MASK, LABEL, Options
from .errors import DeepfakeError, InvalidArgument
from .images import ensure_rgb_uint8, to_uint8
from .landmarks import inter_ocular_distance

if TYPE_CHECKING:  # type hints only: the paste needs no Keras
    from .model import FaceModel, SwapModel


# --- geometry ---------------------------------------------------------------------------------------
def model_matrix(landmarks: np.ndarray, size: int = 64, coverage: int = COVERAGE) -> np.ndarray:
    """The 2x3 matrix from frame pixels to the ``size`` px model face (the training targets' framing)."""
    aligned = np.vstack([align.alignment_matrix(landmarks), [0, 0, 1]])
    return crop_to_model(size, coverage) @ aligned


def face_size(matrix: np.ndarray, size: int = 64) -> float:
    """The side, in frame pixels, of the square the model face covers."""
    return size / math.sqrt(abs(np.linalg.det(np.asarray(matrix)[:, :2])))


def model_input(frame: np.ndarray, landmarks: np.ndarray, size: int = 64, coverage: int = COVERAGE,
                colour_shift: tuple[float, float, float] | None = None) -> np.ndarray:
    """The face as the model saw faces in training: the aligned 256 px crop, its middle resized, and the
    colour shift its A faces had in training (``SwapModel.colour_shift``), if any."""
    crop = align.align_face(frame, align.alignment_matrix(landmarks))
    face = cv2.warpAffine(crop, crop_to_model(size, coverage), (size, size), borderMode=cv2.BORDER_REPLICATE)
    return shift_colour([face], colour_shift)[0] if colour_shift is not None else face


def _model_input(model: FaceModel, faces: np.ndarray) -> np.ndarray:
    """uint8 faces of the model's size as its float input in 0..1 (a clear error for any other shape)."""
    faces = np.asarray(faces)
    if faces.ndim != 4 or faces.shape[1:] != (model.preset.size, model.preset.size, 3):
        raise DeepfakeError(f"predict needs (N, {model.preset.size}, {model.preset.size}, 3) faces, got {faces.shape}")
    return faces.astype(np.float32) / 255


def predict(model: SwapModel, faces: np.ndarray, side: str = "b") -> np.ndarray:
    """Encode a batch of uint8 faces and decode them as ``side`` ('a' or 'b'): the swapped faces, uint8."""
    return to_uint8(model.swap(_model_input(model, faces), side))


def predict_with_mask(model: FaceModel, faces: np.ndarray, side: str = "b") -> tuple[np.ndarray, np.ndarray]:
    """As ``predict`` for a GAN: the swapped faces (uint8) and their learned alpha masks (float32 (N, size, size))."""
    face, alpha = model.swap_with_mask(_model_input(model, faces), side)
    return to_uint8(face), np.clip(np.asarray(alpha, np.float32)[..., 0], 0, 1)


def paste_face(frame: np.ndarray, face: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Warp a model face back into the frame (inverse map, transparent border): the frame outside it is kept."""
    out = frame.copy()
    cv2.warpAffine(face, np.asarray(matrix, np.float64), (frame.shape[1], frame.shape[0]), dst=out,
                   flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT)
    return out


# --- compositing ------------------------------------------------------------------------------------
PasteFn = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (frame, face, matrix) -> frame


def composite(frame: np.ndarray, landmarks: np.ndarray, new_face: np.ndarray, options: Options = Options(),
              coverage: int = COVERAGE, alpha: np.ndarray | None = None, *,
              paste: PasteFn | None = None) -> np.ndarray:
    """Put one predicted face into its frame: warp back, colour-correct, mask and blend.

    ``paste(frame, face, matrix)``: how the face is warped back (a learner's own, notebook 08); default
    ``paste_face``.

    With ``alpha`` (the GAN's mask, (size, size) in 0..1) and ``options.mask`` "learned" (or None), the face
    is mixed as alpha x face + (1 - alpha) x frame inside the model's square, whose edge is feathered as the
    other masks are; colour correction then compares the pixels where alpha > 0.5. A colour method or sharpening
    left as None is the model's own (``Options.for_model``: a GAN's when ``alpha`` is given).
    """
    ensure_rgb_uint8(frame)
    size = new_face.shape[0]
    options = options.for_model(gan=alpha is not None)  # a colour method and sharpening left to the model: its own
    kind = options.mask or ("learned" if alpha is not None else DEFAULT_MASK)
    if kind == "learned" and alpha is None:
        raise DeepfakeError("the learned mask is the GAN's: this model paints no mask; choose "
                            f"one of {', '.join(blend.MASKS)}, or convert with a GAN model (train --model gan)")
    matrix = model_matrix(landmarks, size, coverage)
    if options.sharpen > 0:
        new_face = blend.sharpen(new_face, options.sharpen)
    layer = (paste_face if paste is None else paste)(frame, new_face, matrix)
    px = face_size(matrix, size)
    if kind == "learned":
        square = blend.rect_mask(frame.shape, matrix, size)
        if not (square > 0.5).any():
            return frame.copy()  # the face lies outside the frame
        learned = cv2.warpAffine(np.asarray(alpha, np.float32), np.asarray(matrix, np.float64),
                                 (frame.shape[1], frame.shape[0]), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT) * square
        if options.colour != "none" and (learned > 0.5).any():
            layer = blend.correct_colour(options.colour, layer, frame, learned)
        mask = learned * blend.adjust_mask(square, round(options.erode * px), round(options.blur * px))
    else:
        mask = blend.face_mask(kind, frame.shape, landmarks, matrix, size)
        if not (mask > 0.5).any():
            return frame.copy()  # the face lies outside the frame
        layer = blend.correct_colour(options.colour, layer, frame, mask)
        mask = blend.adjust_mask(mask, round(options.erode * px), round(options.blur * px))
    if options.seamless:
        return blend.seamless_clone(frame, layer, mask)
    return blend.alpha_blend(frame, layer, mask)


def paste_edge(shape: tuple[int, ...], landmarks: np.ndarray, options: Options = Options(), size: int = 64,
               coverage: int = COVERAGE) -> tuple[np.ndarray, int]:
    """Where ``composite`` puts a face's edge: its mask (eroded or grown as ``options`` say) before the feather,
    and how many px inside that edge the feather ends (the face is whole from there on)."""
    kind = options.mask or DEFAULT_MASK
    if kind == "learned":
        raise InvalidArgument("a learned mask's edge is painted by the GAN for each face; name one of "
                              f"{', '.join(blend.MASKS)}")
    matrix = model_matrix(landmarks, size, coverage)
    px = face_size(matrix, size)
    mask = blend.face_mask(kind, shape, landmarks, matrix, size)
    return blend.adjust_mask(mask, round(options.erode * px)), 2 * round(options.blur * px)


def label_frame(frame: np.ndarray, text: str = LABEL) -> np.ndarray:
    """Stamp a visible label (white on a dark box) into the frame's top-left corner."""
    out = frame.copy()
    height = frame.shape[0]
    scale = max(height / 720, 0.35)
    thickness = max(1, round(2 * scale))
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = round(8 * scale)
    cv2.rectangle(out, (0, 0), (w + 2 * pad, h + base + 2 * pad), (0, 0, 0), thickness=-1)
    cv2.putText(out, text, (pad, pad + h), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return out


# --- temporal smoothing -----------------------------------------------------------------------------
class OneEuroFilter:
    """The one-euro filter (Casiez et al. 2012): a low-pass whose cutoff rises with speed (still: smooth,
    moving: responsive). Works on arrays of points; speeds are divided by ``scale``, so ``beta`` is in Hz per
    ``scale`` per second: ``smooth_track`` passes the inter-ocular distance (``beta`` per inter-ocular distance
    per second, the same for a small and a big face); with ``scale`` = 1 it is per pixel per second, and the
    same smoothing of a face takes ``beta`` / its inter-ocular distance in px."""

    def __init__(self, fps: float, min_cutoff: float = 1.0, beta: float = 2.0, d_cutoff: float = 1.0) -> None:
        """``min_cutoff`` Hz when still; ``beta`` Hz more per ``scale`` per second of speed; ``d_cutoff`` smooths it."""
        if not fps > 0:
            raise InvalidArgument(f"the one-euro filter needs a positive frame rate, not {fps!r}")
        self.dt, self.min_cutoff, self.beta, self.d_cutoff = 1.0 / fps, min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        """Forget the past (call when the face is lost)."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    def _alpha(self, cutoff):
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / self.dt)

    def __call__(self, x: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """The filtered value of the next sample (an array of (x, y) points)."""
        x = np.asarray(x, np.float64)
        if self._x is None:
            self._x, self._dx = x, np.zeros_like(x)
            return x.copy()
        dx = (x - self._x) / self.dt
        a_d = self._alpha(self.d_cutoff)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        speed = np.linalg.norm(self._dx, axis=-1, keepdims=True) / scale
        a = self._alpha(self.min_cutoff + self.beta * speed)
        self._x = a * x + (1 - a) * self._x
        return self._x.copy()


def smooth_track(track: list[np.ndarray | None], fps: float, min_cutoff: float = 1.0,
                 beta: float = 2.0) -> list[np.ndarray | None]:
    """One-euro smoothing of a face's landmarks frame by frame; None (no face) restarts the filter."""
    filt = OneEuroFilter(fps, min_cutoff, beta)
    out: list[np.ndarray | None] = []
    for points in track:
        if points is None:
            filt.reset()
            out.append(None)
        else:
            out.append(filt(points, inter_ocular_distance(points)).astype(np.float32))
    return out


# --- comparison -------------------------------------------------------------------------------------
def side_by_side(left: np.ndarray, right: np.ndarray, titles: tuple[str, str] = ("original", "swapped")) -> np.ndarray:
    """Two frames next to each other, each with a small caption at the bottom."""
    out = np.concatenate([left, right], axis=1)
    scale = max(left.shape[0] / 900, 0.35)
    for x0, title in zip((0, left.shape[1]), titles, strict=True):
        cv2.putText(out, title, (x0 + round(12 * scale), left.shape[0] - round(14 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (255, 255, 255), max(1, round(2 * scale)), cv2.LINE_AA)
    return out
