"""Stage 8: the swap. Align each frame's face, run encoder -> the other identity's decoder, warp the new
face back with the inverse transform, mask, colour-correct and blend it, label the frame as synthetic,
and stream the frames back into a video with the source's fps and audio.

``convert`` reuses the landmarks of an extraction (``alignments.json``) when it is given one, or finds
the faces as it goes; it predicts the faces of many frames in one batch and never holds the video in
memory. Masks and colour live in ``blend``; the swap-quality numbers in ``metrics``. A GAN model folder
(stage 9) converts too: its decoders paint a face and an alpha mask, and ``mask="learned"`` (its default)
blends by that mask.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from tqdm.auto import tqdm

from . import align, blend, video
from .checkpoint import saved_kind, shift_colour
from .errors import DeepfakeError, DeepfakeWarning, InvalidArgument, OutputError
from .fileio import atomic_path, ensure_rgb_uint8
from .images import to_uint8
from .landmarks import inter_ocular_distance
from .model import COVERAGE, SwapModel, crop_to_model
from .train import load_model

if TYPE_CHECKING:
    from .gan import GanModel

LABEL = "SYNTHETIC"
MASKS = (*blend.MASKS, "learned")  # "learned": the GAN's own alpha mask
MAX_ERODE = 0.2  # erode (and erode + blur): a share of the face size; more erases the mask (and takes minutes)
MAX_BLUR = 0.2
METADATA = {"comment": "SYNTHETIC: face-swapped video made with deepfake-course (deepfake_utils.swap)"}


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


def _model_input(model: SwapModel | GanModel, faces: np.ndarray) -> np.ndarray:
    """uint8 faces of the model's size as its float input in 0..1 (a clear error for any other shape)."""
    faces = np.asarray(faces)
    if faces.ndim != 4 or faces.shape[1:] != (model.preset.size, model.preset.size, 3):
        raise DeepfakeError(f"predict needs (N, {model.preset.size}, {model.preset.size}, 3) faces, got {faces.shape}")
    return faces.astype(np.float32) / 255


def predict(model: SwapModel, faces: np.ndarray, side: str = "b") -> np.ndarray:
    """Encode a batch of uint8 faces and decode them as ``side`` ('a' or 'b'): the swapped faces, uint8."""
    return to_uint8(model.swap(_model_input(model, faces), side))


def predict_with_mask(model: GanModel, faces: np.ndarray, side: str = "b") -> tuple[np.ndarray, np.ndarray]:
    """As ``predict`` for a GAN: the swapped faces (uint8) and their learned alpha masks (float32 (N, size, size))."""
    face, alpha = model.swap_with_mask(_model_input(model, faces), side)
    return to_uint8(face), np.clip(np.asarray(alpha, np.float32)[..., 0], 0, 1)


def load(model_dir: str | os.PathLike) -> SwapModel | GanModel:
    """The trained model of a model folder for converting: an autoencoder, or a GAN (state.json says which)."""
    if saved_kind(model_dir) == "gan":
        from .gan import load_gan  # stage 9 builds on this stage; it is imported only for a GAN folder

        return load_gan(model_dir)
    return load_model(model_dir)


def has_learned_mask(model) -> bool:
    """Whether a model paints an alpha mask with its faces (a GAN) or only faces (the autoencoder)."""
    return hasattr(model, "swap_with_mask")


def paste_face(frame: np.ndarray, face: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Warp a model face back into the frame (inverse map, transparent border): the frame outside it is kept."""
    out = frame.copy()
    cv2.warpAffine(face, np.asarray(matrix, np.float64), (frame.shape[1], frame.shape[0]), dst=out,
                   flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT)
    return out


# --- compositing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    """How faces are put back: mask, its erosion and feather (fractions of the face's size), colour, extras."""

    mask: str | None = None  # rect | hull | hull_rect | learned; None: the model's own (learned for a GAN, else
    # hull_rect, the original converter's default)
    erode: float = 0.0  # shrink the mask by this share of the face size (negative: grow it)
    blur: float = 0.06  # feather the mask edge over this share of the face size
    colour: str = "avg"  # none | avg | hist | lab
    seamless: bool = False  # Poisson blending (OpenCV seamlessClone) instead of alpha blending
    sharpen: float = 0.0  # unsharp-mask amount for the new face (0: off)
    smooth: bool = True  # one-euro filter on the landmarks across frames
    min_cutoff: float = 1.0  # one-euro: cutoff (Hz) when the face is still
    beta: float = 2.0  # one-euro: how fast the cutoff rises with speed (per inter-ocular distance/s)
    label: str | None = LABEL  # the visible mark on every frame; None turns it off (explicitly)
    side: str = "b"  # the decoder that paints the new face

    def __post_init__(self) -> None:
        if self.mask is not None and self.mask not in MASKS:
            raise InvalidArgument(f"unknown mask {self.mask!r}; choose one of {MASKS}")
        if self.colour not in blend.COLOUR_METHODS:
            raise InvalidArgument(f"unknown colour method {self.colour!r}; choose one of {blend.COLOUR_METHODS}")
        if self.side not in ("a", "b"):
            raise InvalidArgument(f"side must be 'a' or 'b', not {self.side!r}")
        if not -MAX_ERODE <= self.erode <= MAX_ERODE:
            raise InvalidArgument(f"--erode {self.erode:g}: a share of the face size between {-MAX_ERODE:g} and "
                                  f"{MAX_ERODE:g} (e.g. 0.05 shrinks the mask by 5%); leave it out for 0")
        if not 0 <= self.blur <= MAX_BLUR:
            raise InvalidArgument(f"--blur {self.blur:g}: a share of the face size between 0 and {MAX_BLUR:g} "
                                  f"(0: a hard edge); leave it out for {Options.blur:g}")
        if self.erode + self.blur > MAX_ERODE:
            raise InvalidArgument(f"--erode {self.erode:g} with --blur {self.blur:g}: together they shrink the mask "
                                  f"by more than {MAX_ERODE:g} of the face size, which leaves no face to paste; "
                                  "lower one of them")
        if self.label is not None and not self.label.strip():
            raise InvalidArgument(f"--label {self.label!r}: an empty label removes the visible mark; give a text, or "
                                  "--no-label to turn it off explicitly (only with the consent of the people shown)")


def composite(frame: np.ndarray, landmarks: np.ndarray, new_face: np.ndarray, options: Options = Options(),
              coverage: int = COVERAGE, alpha: np.ndarray | None = None) -> np.ndarray:
    """Put one predicted face into its frame: warp back, colour-correct, mask and blend.

    With ``alpha`` (the GAN's mask, (size, size) in 0..1) and ``options.mask`` "learned" (or None), the face
    is mixed as alpha x face + (1 - alpha) x frame inside the model's square, whose edge is feathered as the
    other masks are; colour correction then compares the pixels where alpha > 0.5.
    """
    ensure_rgb_uint8(frame)
    size = new_face.shape[0]
    kind = options.mask or ("learned" if alpha is not None else "hull_rect")
    if kind == "learned" and alpha is None:
        raise DeepfakeError("the learned mask is the GAN's: this model paints no mask; choose rect, hull or "
                            "hull_rect, or convert with a GAN model (train --model gan)")
    matrix = model_matrix(landmarks, size, coverage)
    if options.sharpen > 0:
        new_face = blend.sharpen(new_face, options.sharpen)
    layer = paste_face(frame, new_face, matrix)
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


# --- frames to convert ------------------------------------------------------------------------------
def parse_ranges(spec: str | None) -> Callable[[int], bool]:
    """'1-50,80,100-' -> a test of 1-based frame numbers (None: every frame)."""
    if not spec:
        return lambda index: True
    parts = _ranges(spec)
    return lambda index: any(first <= index <= last for first, last in parts)


def _ranges(spec: str) -> list[tuple[int, float]]:
    """'1-50,80,100-' -> [(1, 50), (80, 80), (100, inf)]."""
    parts = []
    try:
        for part in spec.split(","):
            low, sep, high = part.strip().partition("-")
            first = int(low) if low else 1
            last = (int(high) if high else math.inf) if sep else first
            if first < 1 or last < first:
                raise InvalidArgument(part)
            parts.append((first, last))
    except ValueError:
        raise InvalidArgument(f"--frames {spec}: bad frame range; use 1-based frame numbers like '1-50,80,100-'"
                              ) from None
    return parts


def _check_convert_args(source: str | os.PathLike, frames: str | None, max_frames: int | None, batch_size: int,
                        n_frames: int) -> None:
    """Refuse --max-frames, --batch-size and --frames that would convert nothing (or not what was asked)."""
    if max_frames is not None and max_frames < 1:
        raise InvalidArgument(f"--max-frames {max_frames}: must be at least 1; leave it out for all frames")
    if not batch_size >= 1:
        raise InvalidArgument(f"--batch-size {batch_size}: must be at least 1 (faces predicted at once, e.g. 32)")
    if frames:
        last = min(n_frames, max_frames or n_frames)
        if not any(first <= last for first, _ in _ranges(frames)):
            cut = f" (--max-frames {max_frames})" if max_frames and max_frames < n_frames else ""
            raise InvalidArgument(f"--frames {frames}: {Path(source).name} has frames 1-{last}{cut}, none of them in "
                                  "the range; give frame numbers in it")


def _faces_from_alignments(alignments_path: str | os.PathLike) -> tuple[dict[str, np.ndarray | None], int]:
    """Per frame key, the landmarks to convert (None when no face, or when its file was removed)."""
    from .extract import load_alignments

    path = Path(alignments_path)
    meta = load_alignments(path)
    folder = path if path.is_dir() else path.parent
    faces: dict[str, np.ndarray | None] = {}
    removed = 0
    for key, entries in meta["frames"].items():
        faces[key] = None
        if entries:
            entry = entries[0]
            # as the original converter: a face the user deleted from (or moved out of) the aligned folder
            # is not converted
            if "/" in entry["face"] or not (folder / entry["face"]).is_file():
                removed += 1
            else:
                faces[key] = entry["landmarks"]
    return faces, removed


@dataclass
class ConvertResult:
    """What ``convert`` did: counts, time, and the landmarks it used per frame (for the metrics)."""

    output: Path
    frames: int = 0
    swapped: int = 0
    no_face: int = 0
    removed: int = 0
    seconds: float = 0.0
    landmarks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def fps(self) -> float:
        """Frames converted per second of wall time."""
        return self.frames / self.seconds if self.seconds else float("nan")


def _check_convert_paths(source: str | os.PathLike, out_path: str | os.PathLike,
                         alignments: str | os.PathLike | None) -> None:
    """Refuse, before anything is read or written, an output that is the input video or cannot be written,
    and alignments extracted from another video."""
    source, out = Path(source), Path(out_path)
    if os.path.realpath(out) == os.path.realpath(source) or (
            out.exists() and source.exists() and os.path.samefile(out, source)):
        raise OutputError(f"{out}: this is the input video {source}; writing the output there would destroy it; "
                          f"choose another output name, e.g. {out.with_name(out.stem + '_swapped.mp4')}")
    video.check_video_output(out)
    if alignments is not None:
        from .extract import check_alignments_match, load_alignments

        check_alignments_match(load_alignments(alignments), video.probe(source), alignments)


def convert(
    source: str | os.PathLike,
    model: str | os.PathLike | SwapModel | GanModel,
    out_path: str | os.PathLike,
    *,
    alignments: str | os.PathLike | None = None,
    options: Options = Options(),
    frames: str | None = None,
    max_frames: int | None = None,
    batch_size: int = 32,
    progress: bool = True,
) -> ConvertResult:
    """Swap the face in every frame of a video and write the result with the source's fps and audio.

    ``model``: a model folder (autoencoder or GAN) or a loaded model; a GAN blends by its learned mask
    unless ``options.mask`` names another."""
    if max_frames is not None and max_frames < 1:  # before the video is decoded to count its frames
        raise InvalidArgument(f"--max-frames {max_frames}: must be at least 1; leave it out for all frames")
    _check_convert_paths(source, out_path, alignments)
    from .extract import FaceFinder

    wanted = parse_ranges(frames)
    info = video.probe(source)
    _check_convert_args(source, frames, max_frames, batch_size, info.n_frames)
    if info.truncated and (max_frames is None or max_frames > info.n_frames):
        warnings.warn(f"{source}: truncated: only {info.n_frames} of its {info.declared_frames} frames decode (an "
                      "incomplete copy or download?); the output has those frames only", DeepfakeWarning,
                      stacklevel=2)
    swap_model = load(model) if isinstance(model, (str, os.PathLike)) else model
    learned = has_learned_mask(swap_model) and options.mask in (None, "learned")
    if options.mask == "learned" and not has_learned_mask(swap_model):
        raise DeepfakeError(f"--mask learned needs a GAN model (train --model gan); {model} paints no mask: "
                            "choose rect, hull or hull_rect")
    known, removed = _faces_from_alignments(alignments) if alignments is not None else (None, 0)
    finder = FaceFinder() if known is None else None
    total = min(info.n_frames, max_frames or info.n_frames)
    result = ConvertResult(Path(out_path), removed=removed)
    smoother = OneEuroFilter(info.fps, options.min_cutoff, options.beta)
    size = swap_model.preset.size

    def landmarks_of(index: int, frame: np.ndarray) -> np.ndarray | None:
        key = video.frame_key(index)
        if known is not None:
            points = known.get(key)
        else:
            found = finder(frame)
            points = None if found is None else found.landmarks
        if points is None:
            smoother.reset()
            return None
        return smoother(points, inter_ocular_distance(points)).astype(np.float32) if options.smooth else points

    def chunks() -> Iterator[list[tuple[int, np.ndarray]]]:
        chunk = []
        for index, frame in enumerate(video.iter_frames(source, max_frames=max_frames), 1):
            chunk.append((index, frame))
            if len(chunk) == batch_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def output_frames() -> Iterator[np.ndarray]:
        bar = tqdm(total=total, desc=f"convert {Path(source).name}", unit="frame", disable=not progress)
        try:
            for chunk in chunks():
                todo = []  # (index, frame, landmarks) of the faces to swap in this chunk
                for index, frame in chunk:
                    if not wanted(index):
                        continue
                    points = landmarks_of(index, frame)
                    if points is None:
                        result.no_face += 1
                    else:
                        todo.append((index, frame, points))
                        result.landmarks[video.frame_key(index)] = points
                faces = [model_input(f, p, size, swap_model.coverage, swap_model.colour_shift) for _, f, p in todo]
                if not todo:
                    new_faces, alphas = [], []
                elif learned:
                    new_faces, alphas = predict_with_mask(swap_model, np.stack(faces), options.side)
                else:
                    new_faces, alphas = predict(swap_model, np.stack(faces), options.side), [None] * len(todo)
                swapped = {i: (p, face, a) for (i, _, p), face, a in zip(todo, new_faces, alphas, strict=True)}
                for index, frame in chunk:
                    out = frame
                    if index in swapped:
                        points, face, alpha = swapped[index]
                        out = composite(frame, points, face, options, swap_model.coverage, alpha)
                        result.swapped += 1
                    if options.label:
                        out = label_frame(out, options.label)
                    result.frames += 1
                    bar.update(1)
                    yield out
        finally:
            bar.close()

    start = time.perf_counter()
    video.write_video(output_frames(), out_path, info.fps, audio_from=source, metadata=METADATA)
    result.seconds = time.perf_counter() - start
    return result


# --- comparison -------------------------------------------------------------------------------------
def side_by_side(left: np.ndarray, right: np.ndarray, titles: tuple[str, str] = ("original", "swapped")) -> np.ndarray:
    """Two frames next to each other, each with a small caption at the bottom."""
    out = np.concatenate([left, right], axis=1)
    scale = max(left.shape[0] / 900, 0.35)
    for x0, title in zip((0, left.shape[1]), titles, strict=True):
        cv2.putText(out, title, (x0 + round(12 * scale), left.shape[0] - round(14 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (255, 255, 255), max(1, round(2 * scale)), cv2.LINE_AA)
    return out


def write_comparison(source: str | os.PathLike, swapped: str | os.PathLike, out_path: str | os.PathLike, *,
                     gif_path: str | os.PathLike | None = None, gif_width: int = 480, gif_every: int = 2,
                     progress: bool = True) -> Path:
    """The original and the swapped video side by side (MP4 with the audio), and optionally a small GIF."""
    from PIL import Image

    info = video.probe(swapped)
    gif_frames: list[np.ndarray] = []

    def pairs() -> Iterator[np.ndarray]:
        both_videos = zip(video.iter_frames(source), video.iter_frames(swapped), strict=False)
        bar = tqdm(both_videos, total=info.n_frames, desc="comparison", unit="frame", disable=not progress)
        for i, (a, b) in enumerate(bar):
            both = side_by_side(a, b)
            if gif_path is not None and i % gif_every == 0:
                height = round(both.shape[0] * gif_width / both.shape[1])
                gif_frames.append(cv2.resize(both, (gif_width, height), interpolation=cv2.INTER_AREA))
            yield both

    out = video.write_video(pairs(), out_path, info.fps, audio_from=source, metadata=METADATA)
    if gif_path is not None:
        images = [Image.fromarray(f) for f in gif_frames]
        with atomic_path(gif_path) as tmp:
            images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], loop=0,
                           duration=round(1000 * gif_every / info.fps))
    return out
