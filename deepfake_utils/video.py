"""Stage 1: video in and out as streams of uint8 RGB frames (ffmpeg via imageio-ffmpeg, or OpenCV)."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from tqdm.auto import tqdm

from .errors import VideoError
from .fileio import (
    IMAGE_SUFFIXES,
    atomic_path,
    check_input_file,
    ensure_rgb_uint8,
    list_images,
    read_image,
    write_image,
)

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


@dataclass(frozen=True)
class VideoInfo:
    """What ffmpeg says about a video file."""

    path: Path
    fps: float
    size: tuple[int, int]  # (width, height), as ffmpeg reports it
    n_frames: int
    duration: float
    codec: str
    audio_codec: str | None

    @property
    def has_audio(self) -> bool:
        """True when the file carries an audio stream."""
        return self.audio_codec is not None


def frame_key(index: int) -> str:
    """The zero-padded, 1-based name of a frame (``frame_key(1) == '000001'``)."""
    return f"{index:06d}"


def is_video(path: str | os.PathLike) -> bool:
    """True for a file whose suffix is a known video container."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def is_image(path: str | os.PathLike) -> bool:
    """True for a file whose suffix is a known image format."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _check_file(path: str | os.PathLike) -> Path:
    return check_input_file(path, VideoError, "; use iter_images() for a folder of images")


def _ffmpeg_reader(path: Path, output_params: list[str] | None = None):
    """Open an imageio-ffmpeg frame generator and return (meta, generator), with clear errors."""
    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24", output_params=output_params)
    try:
        meta = next(gen)
    except (OSError, RuntimeError, StopIteration) as exc:
        gen.close()
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else "no video stream"
        raise VideoError(f"{path}: ffmpeg cannot decode this file as a video ({msg})") from exc
    return meta, gen


def probe(path: str | os.PathLike) -> VideoInfo:
    """Read a video's fps, size, frame count, duration and codecs without decoding it all."""
    path = _check_file(path)
    meta, gen = _ffmpeg_reader(path)
    gen.close()
    try:
        n_frames, duration = imageio_ffmpeg.count_frames_and_secs(str(path))
    except (OSError, RuntimeError) as exc:
        raise VideoError(f"{path}: ffmpeg cannot count the frames ({exc})") from exc
    if n_frames == 0:
        raise VideoError(f"{path}: the video has no frames")
    return VideoInfo(
        path=path,
        fps=float(meta["fps"]),
        size=tuple(meta["size"]),
        n_frames=int(n_frames),
        duration=float(duration),
        codec=str(meta.get("codec")),
        audio_codec=meta.get("audio_codec"),
    )


def iter_frames(
    path: str | os.PathLike,
    *,
    fps: float | None = None,
    max_frames: int | None = None,
    backend: str = "ffmpeg",
    progress: bool = False,
) -> Iterator[np.ndarray]:
    """Stream a video as uint8 RGB frames, optionally resampled to ``fps``, one frame in memory at a time."""
    path = _check_file(path)
    if backend == "ffmpeg":
        frames = _iter_ffmpeg(path, fps)
    elif backend == "opencv":
        frames = _iter_opencv(path, fps)
    else:
        raise ValueError(f"backend must be 'ffmpeg' or 'opencv', not {backend!r}")
    total = None
    if progress:
        info = probe(path)
        total = round(info.duration * fps) if fps else info.n_frames
        total = min(total, max_frames) if max_frames else total
    bar = tqdm(frames, total=total, desc=path.name, unit="frame", disable=not progress, leave=False)
    for i, frame in enumerate(bar):
        if max_frames is not None and i >= max_frames:
            break
        yield frame
    bar.close()


def _iter_ffmpeg(path: Path, fps: float | None) -> Iterator[np.ndarray]:
    meta, gen = _ffmpeg_reader(path, ["-vf", f"fps={fps}"] if fps else None)
    width, height = meta["size"]
    try:
        count = 0
        for buf in gen:
            count += 1
            yield np.frombuffer(buf, dtype=np.uint8).reshape(height, width, 3)
        if count == 0:
            raise VideoError(f"{path}: the video has no frames")
    finally:
        gen.close()


def _iter_opencv(path: Path, fps: float | None) -> Iterator[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{path}: OpenCV cannot open this file as a video")
    src_fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    step = src_fps / fps if fps else 1.0
    try:
        index, next_keep, count = 0, 0.0, 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            if index + 1e-6 >= next_keep:  # keep the frames nearest the new frame times
                next_keep += step
                count += 1
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            index += 1
        if count == 0:
            raise VideoError(f"{path}: OpenCV decoded no frames (corrupt file or unsupported codec)")
    finally:
        cap.release()


def read_frames(path: str | os.PathLike, **kwargs) -> list[np.ndarray]:
    """Read a whole (short) video into a list of RGB frames; prefer ``iter_frames`` for long ones."""
    return list(iter_frames(path, **kwargs))


def iter_images(folder: str | os.PathLike, *, max_images: int | None = None) -> Iterator[tuple[str, np.ndarray]]:
    """Stream an image folder as (file stem, uint8 RGB image) pairs, sorted by name."""
    for path in list_images(folder)[:max_images]:
        yield path.stem, read_image(path)


def write_frames(
    frames: Iterable[np.ndarray], out_dir: str | os.PathLike, *, start: int = 1, suffix: str = ".png"
) -> list[Path]:
    """Write frames as ``000001.png``, ``000002.png`` ... (each file written atomically)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_image(out_dir / f"{frame_key(i)}{suffix}", f) for i, f in enumerate(frames, start)]


def write_video(
    frames: Iterable[np.ndarray],
    path: str | os.PathLike,
    fps: float,
    *,
    audio_from: str | os.PathLike | None = None,
    quality: int = 18,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Encode RGB frames to an H.264 video (audio muxed from ``audio_from``), written atomically."""
    path = Path(path)
    frames = iter(frames)
    try:
        first = ensure_rgb_uint8(next(frames), name="first frame")
    except StopIteration:
        raise VideoError(f"{path}: no frames to write") from None
    height, width = first.shape[:2]
    if width % 2 or height % 2:
        raise VideoError(f"{path}: H.264 needs even frame sizes, got {width}x{height}; crop or pad the frames")
    output_params = ["-crf", str(quality)]
    for key, value in (metadata or {}).items():
        output_params += ["-metadata", f"{key}={value}"]
    if audio_from is not None and not probe(audio_from).has_audio:
        audio_from = None  # the source is silent: write video only
    if audio_from is not None:
        output_params += ["-shortest"]
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp),
            (width, height),
            fps=fps,
            codec="libx264",
            quality=None,
            macro_block_size=1,
            output_params=output_params,
            audio_path=str(audio_from) if audio_from else None,
            audio_codec="aac" if audio_from else None,
        )
        writer.send(None)
        try:
            writer.send(first)
            for i, frame in enumerate(frames, 2):
                frame = ensure_rgb_uint8(frame, name=f"frame {i}")
                if frame.shape[:2] != (height, width):
                    raise VideoError(f"{path}: frame {i} is {frame.shape[1]}x{frame.shape[0]}, not {width}x{height}")
                writer.send(frame)
        finally:
            writer.close()
    return path
