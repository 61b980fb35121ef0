"""Stage 1: video in and out as streams of uint8 RGB frames (ffmpeg via imageio-ffmpeg, or OpenCV)."""
from __future__ import annotations

import copy
import functools
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np
from tqdm.auto import tqdm

from .errors import InvalidArgument, OutputError, VideoError
from .fileio import (
    IMAGE_SUFFIXES,
    atomic_path,
    check_input_file,
    list_images,
    read_image,
    write_image,
)
from .images import ensure_rgb_uint8

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
WRITABLE_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".avi")  # containers that take H.264 + AAC (WebM, MPEG-PS do not)


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
    declared_duration: float | None = None  # what the container's header says (more than decodes: truncated)
    counted: bool = True  # False: n_frames and duration are the header's promise, not counted (probe(count=False))
    stored_size: tuple[int, int] | None = None  # (width, height) as stored, before the turn its metadata asks for

    @property
    def rotated(self) -> bool:
        """True when the file's metadata turns its frames by 90° (a phone video): they decode upright, as ``size``."""
        return self.stored_size is not None and tuple(self.stored_size) != tuple(self.size)

    @property
    def declared_frames(self) -> int | None:
        """The frame count the header promises (duration x fps), or None if it says nothing."""
        return round(self.declared_duration * self.fps) if self.declared_duration else None

    @property
    def truncated(self) -> bool:
        """True when fewer frames decode than the header promises (an incomplete copy or download)."""
        declared = self.declared_frames
        return declared is not None and self.n_frames < declared - max(2, 0.02 * declared)

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


class _SizeNoteFilter(logging.Filter):
    """Drops imageio-ffmpeg's note that a turned (phone) video's frames differ in size from its stream, logged at every
    open of the file (2-4 times an extraction); ``VideoInfo.rotated`` tells it, and the command line says it once."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "is different from the source frame size" not in record.getMessage()


_SIZE_NOTE = _SizeNoteFilter()


def _ffmpeg_reader(path: Path, output_params: list[str] | None = None):
    """Open an imageio-ffmpeg frame generator and return (meta, generator), with clear errors."""
    logging.getLogger("imageio_ffmpeg").addFilter(_SIZE_NOTE)  # once: a logger keeps a filter only once
    gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24", output_params=output_params)
    try:
        meta = next(gen)
    except (OSError, RuntimeError, StopIteration) as exc:
        gen.close()
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else "no video stream"
        hint = ("; the file may be truncated (an incomplete copy or download): copy it again"
                if "moov atom not found" in str(exc) or "Invalid data found" in str(exc) else "")
        raise VideoError(f"{path}: ffmpeg cannot decode this file as a video ({msg}){hint}") from exc
    return meta, gen


PASSTHROUGH = ["-fps_mode", "passthrough"]  # every decoded frame once: no frames repeated to fill a variable rate
FPS_IN_HEADER = re.compile(r"Stream #.*Video:.*?, ([0-9.]+)(k?) (?:fps|tbr)")
FINGERPRINT_FRAMES = 4  # the first decoded frames a video's fingerprint holds
FINGERPRINT_SAMPLES = (0.25, 0.5, 0.75)  # ... and one frame each at these shares of its length (ffmpeg seeks there)
FINGERPRINT_SIZE = 8  # px: each frame as an 8x8 grey thumbnail
FINGERPRINT_TOLERANCE = 6.0  # grey levels: the largest mean difference of a frame's thumbnails in the same video


def _header_fps(path: Path) -> float:
    """The frame rate ffmpeg prints for the video stream ("1k fps" too, which imageio reads as 0), or 0."""
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True, errors="replace")
    match = FPS_IN_HEADER.search(proc.stderr)
    return float(match[1]) * (1000 if match[2] else 1) if match else 0.0


def count_frames(path: str | os.PathLike) -> tuple[int, float]:
    """(frames, seconds) as ``iter_frames`` decodes them: every decoded frame once, none repeated or dropped."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-progress", "pipe:1", "-i", str(path),
           "-map", "0:v:0", *PASSTHROUGH, "-f", "null", "-"]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode:
        lines = proc.stderr.strip().splitlines()
        raise VideoError(f"{path}: ffmpeg cannot decode the frames ({lines[-1] if lines else 'no message'})")
    fields = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)  # the last report wins
    seconds = int(fields.get("out_time_us", "0")) / 1e6 if fields.get("out_time_us", "N/A") != "N/A" else 0.0
    return int(fields.get("frame", 0)), seconds


@dataclass(frozen=True)
class DecodeDamage:
    """What decoding a video with damaged bytes gives: ffmpeg's error count and the frames that may be smeared."""

    errors: int  # error lines in ffmpeg's log while decoding the video stream (0: a clean video)
    frames: tuple[int, ...] = ()  # 1-based numbers of the decoded frames (as iter_frames yields them) that differ
    # with and without the decoder's error concealment, or follow a lost frame before the next key frame
    times: tuple[float, ...] = ()  # their times in seconds
    lost: int = 0  # frames whose data is gone (missing from the decoded stream)


def _frame_hashes(path: Path, *decoder: str) -> tuple[list[tuple[float, str]], int]:
    """(seconds, hash) of each decoded frame, and the error lines ffmpeg logged (``decoder``: its input options)."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-v", "error", *decoder, "-i", str(path),
           "-map", "0:v:0", *PASSTHROUGH, "-f", "framemd5", "-"]  # the real ffmpeg (tests replace the writer's)
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    tb = re.search(r"^#tb 0: (\d+)/(\d+)", proc.stdout, re.M)
    unit = int(tb[1]) / int(tb[2]) if tb else 0.0
    frames = [(int(fields[2]) * unit, fields[5].strip()) for fields in
              (line.split(",") for line in proc.stdout.splitlines() if line and not line.startswith("#"))
              if len(fields) == 6]
    return frames, sum(1 for line in proc.stderr.splitlines() if line.strip())


def decode_damage(path: str | os.PathLike) -> DecodeDamage:
    """Decode the video stream once (no pixels to Python) and count ffmpeg's errors; for a damaged video, find the
    frames that may be smeared: those that change when the decoder's error concealment is off (the damage and every
    frame predicted from it), and those after a gap of lost frames up to the next key frame."""
    path = _check_file(path)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostats", "-v", "error", "-i", str(path), "-map",
           "0:v:0", *PASSTHROUGH, "-f", "null", "-"]
    errors = sum(1 for line in subprocess.run(cmd, capture_output=True, text=True, errors="replace"
                                              ).stderr.splitlines() if line.strip())
    if not errors:
        return DecodeDamage(0)
    (concealed, _), (bare, _) = _frame_hashes(path), _frame_hashes(path, "-ec", "0")
    keys = {round(t, 6) for t, _ in _frame_hashes(path, "-skip_frame", "nokey")[0]}
    anchors = {round(t, 6) for t, _ in _frame_hashes(path, "-skip_frame", "bidir")[0]}  # all but the B-frames
    bare_at = {round(t, 6): h for t, h in bare}
    times = [round(t, 6) for t, _ in concealed]
    steps = np.diff(times)
    step = float(np.median(steps)) if len(steps) else 0.0
    smeared, lost, carried = set(), 0, False
    for i, (_, digest) in enumerate(concealed):
        if times[i] in keys:
            carried = False  # a key frame decodes on its own
        if i and step > 0 and steps[i - 1] > 1.5 * step:
            lost += round(steps[i - 1] / step) - 1
            carried = True  # predicted from frames that are gone...
            back = i - 1
            while back >= 0 and times[back] not in anchors and times[back] not in keys:
                smeared.add(back)  # ...as are the B-frames shown just before them (they look ahead)
                back -= 1
        if carried or bare_at.get(times[i]) != digest:
            smeared.add(i)
    order = sorted(smeared)
    return DecodeDamage(errors, tuple(i + 1 for i in order), tuple(round(times[i], 3) for i in order), lost)


def _thumbnail_at(path: Path, seconds: float) -> list[int] | None:
    """The frame shown at ``seconds`` as a small grey thumbnail (ffmpeg seeks there), or None past the last frame."""
    side = FINGERPRINT_SIZE
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-ss", f"{seconds:.4f}", "-i", str(path), "-map", "0:v:0",
           "-frames:v", "1", "-vf", f"format=gray,scale={side}:{side}:flags=area", "-f", "rawvideo", "-"]
    out = subprocess.run(cmd, capture_output=True).stdout
    return list(out) if len(out) == side * side else None


def fingerprint(path: str | os.PathLike, *, at: Iterable[float] | None = None) -> dict:
    """What a video looks like, as small grey thumbnails: its first decoded frames, and one frame at each time of
    ``at`` (seconds; by default a quarter, half and three quarters into it). Compare with ``content_difference``.

    ``{"first": [...], "at": [[seconds, [...] or None past its end], ...]}``: a few ffmpeg seeks, not a whole decode.
    A file fingerprinted before at the same times and not changed since is not read again (as ``probe``).
    """
    path = _check_file(path)
    times = None if at is None else tuple(float(t) for t in at)
    return copy.deepcopy(_fingerprint(path, times, _version(path)))


@functools.lru_cache(maxsize=64)
def _fingerprint(path: Path, at: tuple[float, ...] | None, identity: tuple[int, ...]) -> dict:
    """``fingerprint`` of one version of a file (``identity``: its device, inode, size and times), remembered."""
    meta, gen = _ffmpeg_reader(path, PASSTHROUGH)
    width, height = meta["size"]
    first: list[int] = []
    try:
        for _, buf in zip(range(FINGERPRINT_FRAMES), gen, strict=False):
            grey = cv2.cvtColor(np.frombuffer(buf, np.uint8).reshape(height, width, 3), cv2.COLOR_RGB2GRAY)
            first += cv2.resize(grey, (FINGERPRINT_SIZE,) * 2, interpolation=cv2.INTER_AREA).ravel().tolist()
    finally:
        gen.close()
    if at is None:
        duration, fps = float(meta.get("duration") or 0), float(meta.get("fps") or 0)
        at = [(int(duration * share * fps) + 0.5) / fps if fps else duration * share  # mid-frame: no rounding edge
              for share in FINGERPRINT_SAMPLES] if duration else []
    return {"first": first, "at": [[round(t, 4), _thumbnail_at(path, t)] for t in at]}


def _thumbnails(values: list[int]) -> list[np.ndarray]:
    size = FINGERPRINT_SIZE * FINGERPRINT_SIZE
    return [np.asarray(values[i:i + size], np.float32) for i in range(0, len(values), size)]


def _parts(print_: dict | list) -> tuple[list[np.ndarray], dict[float, list[int] | None]]:
    """(first frames, {seconds: sampled frame}); an older fingerprint is a plain list of the first frames."""
    if isinstance(print_, list):
        return _thumbnails(print_), {}
    return _thumbnails(print_["first"]), {round(float(t), 4): v for t, v in print_.get("at", [])}


def content_difference(a: dict | list | None, b: dict | list | None) -> str | None:
    """Where two fingerprints show different videos ("the first frames differ", "the frame at 2.16 s differs"), or
    None when they show the same one (within a few grey levels: decoders round differently; frames only one of them
    has, past the end of a shorter copy, are not compared)."""
    if a is None or b is None:
        return None  # an older file without a fingerprint: nothing to compare
    (first_a, at_a), (first_b, at_b) = _parts(a), _parts(b)
    if len(first_a) != len(first_b) or any(np.abs(x - y).mean() > FINGERPRINT_TOLERANCE
                                           for x, y in zip(first_a, first_b, strict=True)):
        return "the first frames differ"
    for t in sorted(at_a.keys() & at_b.keys()):
        x, y = at_a[t], at_b[t]
        if x is not None and y is not None and np.abs(np.subtract(x, y, dtype=np.float32)).mean() > \
                FINGERPRINT_TOLERANCE:
            return f"the frame at {t:.2f} s differs"
    return None


def same_content(a: dict | list | None, b: dict | list | None) -> bool:
    """Whether two fingerprints are of the same video (``content_difference`` finds nothing)."""
    return content_difference(a, b) is None


def compare_with(stored: dict | list | None, path: str | os.PathLike) -> str | None:
    """How the video at ``path`` differs from the one ``stored`` (a fingerprint) was made of, sampled at the same
    times; None when it is the same video, or when there is no stored fingerprint."""
    if stored is None:
        return None
    times = [t for t, _ in stored.get("at", [])] if isinstance(stored, dict) else []
    return content_difference(stored, fingerprint(path, at=times))


def probe(path: str | os.PathLike, *, count: bool = True) -> VideoInfo:
    """Read a video's fps, size, frame count, duration and codecs.

    Counting the frames decodes the whole video (seconds for a long one); ``count=False`` takes the
    header's duration x fps instead when the header states one (then ``counted`` is False and
    ``truncated`` cannot tell: compare with the frames that decode). A file probed before and not changed
    since (same inode, size and times) is not read again: one conversion asks about its source several times.
    """
    path = _check_file(path)
    return _probe(path, count, _version(path))


def _version(path: Path) -> tuple[int, ...]:
    """What tells one version of a file from another (its device, inode, size and times): the key under which
    ``probe`` and ``fingerprint`` remember their answers."""
    st = path.stat()
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


@functools.lru_cache(maxsize=64)
def _probe(path: Path, count: bool, identity: tuple[int, ...]) -> VideoInfo:
    """``probe`` of one version of a file (``identity``: its device, inode, size and times), remembered."""
    meta, gen = _ffmpeg_reader(path)
    gen.close()
    declared = float(meta["duration"]) if meta.get("duration") else None
    fps = float(meta["fps"]) or _header_fps(path)
    if not fps > 0:
        raise VideoError(f"{path}: ffmpeg reports no frame rate for this video; re-encode it with one, e.g. "
                         f"ffmpeg -i {path.name} -r 25 {path.stem}_25fps.mp4")
    counted = count or not declared
    if counted:
        n_frames, duration = count_frames(path)
        if n_frames == 0:
            raise VideoError(f"{path}: the video has no frames")
    else:  # the header's promise
        n_frames, duration = round(declared * fps), declared
    return VideoInfo(
        path=path,
        fps=fps,
        size=tuple(meta["size"]),
        n_frames=int(n_frames),
        duration=float(duration),
        codec=str(meta.get("codec")),
        audio_codec=meta.get("audio_codec"),
        declared_duration=declared,
        counted=counted,
        stored_size=tuple(meta.get("source_size") or meta["size"]),
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
        raise InvalidArgument(f"backend must be 'ffmpeg' or 'opencv', not {backend!r}")
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
    meta, gen = _ffmpeg_reader(path, ["-vf", f"fps={fps}"] if fps else PASSTHROUGH)
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


def check_video_output(path: str | os.PathLike) -> Path:
    """Refuse, before any work, a video output we cannot write: unknown container, a folder, a file as folder."""
    path = Path(path)
    if path.suffix.lower() not in WRITABLE_SUFFIXES:
        raise VideoError(f"{path}: cannot write a video with suffix {path.suffix or '(none)'!r}; "
                         f"use one of {', '.join(WRITABLE_SUFFIXES)} (e.g. {path.with_suffix('.mp4').name})")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name for the output video, e.g. {path / 'out.mp4'}")
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"{path}: {parent} is a file, not a folder; choose another output path")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not os.access(existing if existing != path else path.parent, os.W_OK):
        raise OutputError(f"{path}: no permission to write in {existing if existing != path else path.parent}; "
                          "choose another output folder")
    return path


def _ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def _ffmpeg_cause(log: str) -> str:
    """The line of ffmpeg's log that says what went wrong (disk full first, else the last error line)."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in lines:
        if "No space left on device" in line or "Disk quota exceeded" in line:
            return "no space left on the device"
    return lines[-1].split("] ", 1)[-1] if lines else "no message"


def _check_written(tmp: Path, path: Path, sent: int, size: tuple[int, int], audio: bool) -> None:
    """Probe a freshly written video: readable, the right size and (all) the frames sent."""
    try:
        meta, gen = _ffmpeg_reader(tmp)
        gen.close()
        n_frames, _ = count_frames(tmp)
    except (VideoError, OSError, RuntimeError) as exc:
        raise VideoError(f"{path}: the video ffmpeg wrote is unreadable ({str(exc).splitlines()[-1]}); "
                         "nothing was replaced") from exc
    # with audio, -shortest may end the video with a shorter sound track
    if tuple(meta["size"]) != size or n_frames == 0 or n_frames > sent or (not audio and n_frames != sent):
        raise VideoError(f"{path}: ffmpeg wrote {n_frames} frames of {meta['size'][0]}x{meta['size'][1]}, "
                         f"not {sent} of {size[0]}x{size[1]}; nothing was replaced (check the disk and retry)")


def write_video(
    frames: Iterable[np.ndarray],
    path: str | os.PathLike,
    fps: float,
    *,
    audio_from: str | os.PathLike | None = None,
    quality: int = 18,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Encode RGB frames to an H.264 video (audio muxed from ``audio_from``), written atomically.

    The file under ``path`` is replaced only when ffmpeg exits cleanly and the new video reads back
    with every frame; otherwise the temp file is removed, an older file is kept and VideoError says why.
    """
    path = check_video_output(path)
    frames = iter(frames)
    try:
        first = ensure_rgb_uint8(next(frames), name="first frame")
    except StopIteration:
        raise VideoError(f"{path}: no frames to write") from None
    height, width = first.shape[:2]
    if width % 2 or height % 2:
        raise VideoError(f"{path}: H.264 needs even frame sizes, got {width}x{height}; crop or pad the frames")
    if audio_from is not None and not probe(audio_from).has_audio:
        audio_from = None  # the source is silent: write video only
    with atomic_path(path) as tmp:
        cmd = [_ffmpeg_exe(), "-y", "-v", "error", "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{width}x{height}",
               "-pix_fmt", "rgb24", "-r", str(Fraction(fps).limit_denominator()), "-i", "-"]
        cmd += ["-i", str(audio_from), "-map", "0:v:0", "-map", "1:a:0", "-acodec", "aac", "-shortest"] \
            if audio_from is not None else ["-an"]
        cmd += ["-vcodec", "libx264", "-pix_fmt", "yuv420p", "-crf", str(quality)]
        for key, value in (metadata or {}).items():
            cmd += ["-metadata", f"{key}={value}"]
        cmd.append(str(tmp))
        sent = 0
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
            try:
                frame = first
                while True:
                    proc.stdin.write(memoryview(np.ascontiguousarray(frame)).cast("B"))
                    sent += 1
                    frame = next(frames, None)
                    if frame is None:
                        break
                    frame = ensure_rgb_uint8(frame, name=f"frame {sent + 1}")
                    if frame.shape[:2] != (height, width):
                        raise VideoError(f"{path}: frame {sent + 1} is {frame.shape[1]}x{frame.shape[0]}, "
                                         f"not {width}x{height}")
                proc.stdin.close()
                code = proc.wait()
            except BrokenPipeError:  # ffmpeg stopped reading: it failed; its log says why
                code = proc.wait()
            except BaseException:  # the frames failed (or Ctrl-C): stop ffmpeg, the temp file goes
                proc.kill()
                proc.wait()
                raise
            finally:
                if proc.stdin and not proc.stdin.closed:
                    try:
                        proc.stdin.close()
                    except BrokenPipeError:
                        pass
            log.seek(0)
            ffmpeg_log = log.read().decode(errors="replace")
        if code != 0 or "No space left on device" in ffmpeg_log:
            cause = _ffmpeg_cause(ffmpeg_log)
            fix = ("free some space or write to another folder" if cause.startswith("no space")
                   else "check the output path and the ffmpeg message")
            kept = "; the existing file is kept" if path.exists() else ""
            raise VideoError(f"{path}: ffmpeg failed writing the video (exit {code}: {cause}); {fix}{kept}")
        _check_written(tmp, path, sent, (width, height), audio_from is not None)
    return path


def container_tags(path: str | os.PathLike) -> dict[str, str]:
    """The global metadata tags of a video or image file (e.g. ``comment``), as ffmpeg reads them."""
    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
                          capture_output=True, text=True)
    if proc.returncode:
        raise VideoError(f"{path}: ffmpeg cannot read its metadata ({proc.stderr.strip()[-200:]})")
    tags = {}
    for line in proc.stdout.splitlines():
        if line and not line.startswith(";") and "=" in line:
            key, _, value = line.partition("=")
            tags[key] = value
    return tags
