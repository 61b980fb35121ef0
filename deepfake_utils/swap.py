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
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from . import video
from .checkpoint import load
from .choices import COVERAGE, MASKS, Options
from .errors import DeepfakeError, DeepfakeWarning, InvalidArgument, OutputError
from .fileio import atomic_path
from .landmarks import inter_ocular_distance
from .metrics import SEAM_SIGMA, SHARPENED, FaceTrack, face_track, regions_kept, seam_step
from .model import FaceModel
from .paste import (
    OneEuroFilter,
    PasteFn,
    composite,
    label_frame,
    model_input,
    paste_edge,
    predict,
    predict_with_mask,
    side_by_side,
)

METADATA = {"comment": "SYNTHETIC: face-swapped video made with deepfake-course (deepfake_utils.swap)"}


def conversion_metadata(options: Options) -> dict[str, str]:
    """The swapped video's tags: the SYNTHETIC comment, and the unsharp mask's amount where the faces were sharpened
    (``metrics.sharpened`` reads it back: a sharpened swap's detail is reported, not credited)."""
    sharpen = f"{SHARPENED}{options.sharpen:g}" if options.sharpen > 0 else ""
    return {"comment": METADATA["comment"] + sharpen}


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
    options: Options = field(default_factory=Options, repr=False)  # how the faces were put back
    size: int = 64  # the model face's side, px
    coverage: int = COVERAGE  # px of the aligned crop the model face covers
    learned: bool = False  # True when a GAN's learned mask blended the faces

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
    model: str | os.PathLike | FaceModel,
    out_path: str | os.PathLike,
    *,
    alignments: str | os.PathLike | None = None,
    options: Options = Options(),
    frames: str | None = None,
    max_frames: int | None = None,
    batch_size: int = 32,
    progress: bool = True,
    paste: PasteFn | None = None,
) -> ConvertResult:
    """Swap the face in every frame of a video and write the result with the source's fps and audio.

    ``model``: a model folder (autoencoder or GAN) or a loaded model; a GAN blends by its learned mask
    unless ``options.mask`` names another. ``paste``: ``composite``'s hook (your own ``paste_face``)."""
    if max_frames is not None and max_frames < 1:  # before the video is decoded to count its frames
        raise InvalidArgument(f"--max-frames {max_frames}: must be at least 1; leave it out for all frames")
    _check_convert_paths(source, out_path, alignments)
    from .track import FaceFinder

    wanted = parse_ranges(frames)
    info = video.probe(source)
    _check_convert_args(source, frames, max_frames, batch_size, info.n_frames)
    if info.truncated and (max_frames is None or max_frames > info.n_frames):
        warnings.warn(f"{source}: truncated: only {info.n_frames} of its {info.declared_frames} frames decode (an "
                      "incomplete copy or download?); the output has those frames only", DeepfakeWarning,
                      stacklevel=2)
    swap_model = load(model) if isinstance(model, (str, os.PathLike)) else model
    options = options.for_model(gan=swap_model.learned_mask)  # the colour and sharpening the model takes by default
    learned = swap_model.learned_mask and options.mask in (None, "learned")
    if options.mask == "learned" and not swap_model.learned_mask:
        raise DeepfakeError(f"--mask learned needs a GAN model (train --model gan); {model} paints no mask: "
                            f"choose one of {', '.join(MASKS)}")
    known, removed = _faces_from_alignments(alignments) if alignments is not None else (None, 0)
    finder = FaceFinder() if known is None else None
    total = min(info.n_frames, max_frames or info.n_frames)
    size = swap_model.preset.size
    result = ConvertResult(Path(out_path), removed=removed, options=options, size=size,
                           coverage=swap_model.coverage, learned=learned)
    smoother = OneEuroFilter(info.fps, options.min_cutoff, options.beta)

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
                        out = composite(frame, points, face, options, swap_model.coverage, alpha, paste=paste)
                        result.swapped += 1
                    if options.label:
                        out = label_frame(out, options.label)
                    result.frames += 1
                    bar.update(1)
                    yield out
        finally:
            bar.close()

    start = time.perf_counter()
    video.write_video(output_frames(), out_path, info.fps, audio_from=source, metadata=conversion_metadata(options))
    result.seconds = time.perf_counter() - start
    return result


def measure_seam(source: str | os.PathLike, result: ConvertResult, *, progress: bool = False) -> float:
    """The colour step a conversion's paste added across its mask's edge (``metrics.seam_step``, CIE ΔE; about 2.3
    is just noticeable), median over the swapped frames; NaN for a GAN's learned mask, whose edge is not known."""
    if result.learned:
        return float("nan")
    steps = []
    frames = zip(video.iter_frames(source, max_frames=result.frames), video.iter_frames(result.output), strict=False)
    for index, (before, after) in enumerate(tqdm(frames, total=result.frames, desc=f"seam {result.output.name}",
                                                 unit="frame", disable=not progress), 1):
        points = result.landmarks.get(video.frame_key(index))
        if points is None:
            continue
        edge, feather = paste_edge(before.shape, points, result.options, result.size, result.coverage)
        steps.append(seam_step(before, after, edge, feather + 3 * SEAM_SIGMA))
    steps = [s for s in steps if not np.isnan(s)]
    return float(np.median(steps)) if steps else float("nan")


def unsharpened_detail(source: str | os.PathLike, model: str | os.PathLike | FaceModel, result: ConvertResult, *,
                       alignments: str | os.PathLike | None = None, max_frames: int | None = None,
                       source_track: FaceTrack | None = None, progress: bool = True) -> dict[str, float]:
    """The eyes' and mouth's detail of a conversion's faces as the model painted them: the same faces converted again
    with ``result``'s options but unsharpened (into a temporary file) and measured as ``metrics.evaluate`` measures
    detail (its ``detail_kept``; no identity encodings): what a sharpened swap's own figure, amplified contrast, cannot
    say."""
    src = source_track or face_track(source, max_frames=max_frames, track=False, encode=False, progress=progress)
    with tempfile.TemporaryDirectory() as tmp:
        plain = convert(source, model, Path(tmp) / "unsharpened.mp4", alignments=alignments, max_frames=max_frames,
                        options=replace(result.options, sharpen=0), progress=progress)
        out = face_track(plain.output, max_frames=max_frames, track=False, regions=src.landmarks, encode=False,
                         progress=progress)
    return regions_kept(src.detail[:max_frames], out.detail)


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
