"""Stage 4 pipeline: a video or an image folder in, aligned faces and ``alignments.json`` out.

``FaceFinder`` is the fast way to find one face per frame of a video: it scans only the detector
pyramid levels where the tracked face can be (``detect.detect_from_level``), and it skips
detection altogether while the previous frame's box still yields landmarks that barely moved.
``naive_find`` is the original tutorials' way (full-frame HOG, upsampled 2x, on every frame);
``deepfake_utils.bench`` compares the two.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import align, detect, landmarks, video
from .errors import AlignmentsError, DeepfakeError, NoFaceError
from .fileio import ensure_rgb_uint8, read_image, write_image, write_json_atomic

ALIGNMENTS_VERSION = 1
ALIGNMENTS_FILE = "alignments.json"
BLURRY_DIR = "blurry"  # faces below the blur threshold are moved here, not deleted
OTHER_DIR = "other"  # faces that fail the identity filter are moved here


@dataclass
class Face:
    """One found face: its box, its 68 landmarks and its alignment matrix."""

    box: detect.Box
    landmarks: np.ndarray
    matrix: np.ndarray


def naive_find(image: np.ndarray) -> Face | None:
    """The original tutorials' way: HOG on the full frame upsampled 2x, the face nearest the centre."""
    box = detect.pick_face(detect.detect_from_level(image, 0), image.shape)
    if box is None:
        return None
    points = landmarks.predict_landmarks(image, box)
    return Face(box, points, align.alignment_matrix(points))


class FaceFinder:
    """Find one face per frame of a video, fast: skip pyramid levels and skip re-detection while tracking."""

    def __init__(self, *, how: str = "center", margin: int = 5, reuse_below: float = 0.01,
                 angles: tuple[float, ...] = (-25, 25, -50, 50)) -> None:
        """``margin``: pyramid levels kept above the tracked face's; ``reuse_below``: landmark motion to reuse a box."""
        self.how, self.margin, self.reuse_below, self.angles = how, margin, reuse_below, angles
        self.reset()

    def reset(self) -> None:
        """Forget the tracked face (call between unrelated images)."""
        self._box: detect.Box | None = None
        self._points: np.ndarray | None = None
        self.detections = 0

    def __call__(self, image: np.ndarray) -> Face | None:
        """The face in this frame (the tracked one, else the one chosen by ``how``), or None."""
        ensure_rgb_uint8(image)
        if self._box is not None and self.reuse_below > 0:
            points = landmarks.predict_landmarks(image, self._box)
            if landmarks.landmark_error(self._points, points) < self.reuse_below:
                return Face(self._box, points, align.alignment_matrix(points))
        level = detect.level_for_face(detect.box_size(self._box), self.margin) if self._box else 0
        boxes = detect.detect_from_level(image, level)
        if not boxes and level > 0:
            boxes = detect.detect_from_level(image, 0)
        self.detections += 1
        angle = 0.0
        if not boxes:
            boxes, angle = detect.detect_with_rotation(image, self.angles)
        box = detect.pick_face(boxes, detect.rotate_image(image, angle).shape if angle else image.shape, self.how)
        if box is None:
            self.reset()
            return None
        points = landmarks.predict_landmarks(image, box, angle=angle)
        if angle:
            box = detect.unrotate_box(box, angle, image.shape)
            self._box = None  # a rotated face is found afresh each frame
        else:
            self._box, self._points = box, points
        return Face(box, points, align.alignment_matrix(points))


def _frames(source: Path, fps: float | None, max_frames: int | None) -> Iterator[tuple[str, np.ndarray]]:
    if source.is_dir():
        yield from video.iter_images(source, max_images=max_frames)
    else:
        for i, frame in enumerate(video.iter_frames(source, fps=fps, max_frames=max_frames), 1):
            yield video.frame_key(i), frame


def _reference_encoding(path: str | os.PathLike) -> np.ndarray:
    encoding = detect.face_encoding(read_image(path), how="largest")
    if encoding is None:
        raise NoFaceError(f"{path}: no face found in the identity reference image")
    return encoding


def extract(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    size: int = align.ALIGNED_SIZE,
    fps: float | None = None,
    max_frames: int | None = None,
    blur_threshold: float | None = None,
    reference: str | os.PathLike | None = None,
    tolerance: float = 0.6,
    fast: bool = True,
    progress: bool = True,
) -> dict:
    """Write one aligned face per frame of ``source`` (video or image folder) and ``alignments.json``."""
    source, out_dir = Path(source), Path(out_dir)
    if not source.exists():
        raise DeepfakeError(f"{source}: no such video or folder")
    if not source.is_dir() and not video.is_video(source):
        raise DeepfakeError(f"{source}: not a video ({', '.join(video.VIDEO_SUFFIXES)}) or an image folder")
    meta = {"version": ALIGNMENTS_VERSION, "source": source.name, "fps": None, "size": None, "frames": {}}
    if not source.is_dir():
        info = video.probe(source)
        meta["fps"], meta["size"] = float(fps or info.fps), list(info.size)
        total = min(info.n_frames, max_frames or info.n_frames)
    else:
        total = min(len(video.list_images(source)), max_frames or 10**9)
    out_dir.mkdir(parents=True, exist_ok=True)
    ref = _reference_encoding(reference) if reference is not None else None
    finder = FaceFinder() if fast else None
    frames = meta["frames"]
    bar = tqdm(_frames(source, fps, max_frames), total=total, desc=f"extract {source.name}", unit="frame",
               disable=not progress)
    try:
        for key, image in bar:
            if source.is_dir() and finder is not None:
                finder.reset()  # photos are unrelated: nothing to track
            found = (finder or naive_find)(image)
            frames[key] = []
            if found is None:
                continue
            frames[key].append(_save_face(image, found, key, out_dir, size, blur_threshold, ref, tolerance))
        meta["complete"] = True
    finally:  # even on a crash or Ctrl-C, keep the alignments of the faces already written
        meta.setdefault("complete", False)
        save_alignments(out_dir / ALIGNMENTS_FILE, meta)
        bar.close()
    return meta


def _save_face(image, found: Face, key, out_dir: Path, size, blur_threshold, ref, tolerance) -> dict:
    matrix = found.matrix if size == align.ALIGNED_SIZE else align.alignment_matrix(found.landmarks, size)
    crop = align.align_face(image, matrix, size)
    blur = align.blur_score(crop)
    name = f"{key}_0.png"
    folder = ""
    if blur_threshold is not None and blur < blur_threshold:
        folder = BLURRY_DIR
    elif ref is not None:
        if float(np.linalg.norm(detect.face_encoding(image, found.box) - ref)) > tolerance:
            folder = OTHER_DIR
    rel = f"{folder}/{name}" if folder else name
    write_image(out_dir / rel, crop)
    return {
        "box": [int(v) for v in found.box],
        "landmarks": np.round(found.landmarks, 2).tolist(),
        "matrix": np.asarray(matrix).tolist(),
        "face": rel,
        "blur": round(blur, 2),
    }


def extract_sample_faces(out_dir: str | os.PathLike, *, max_frames: int | None = None, n_photos: int | None = None,
                         identity: str = "George_W_Bush", progress: bool = True) -> tuple[Path, Path]:
    """The course's two identities as aligned faces: ``out_dir/A`` (the sample video), ``out_dir/B`` (photos)."""
    from . import data

    out_dir = Path(out_dir)
    extract(data.sample_video(), out_dir / "A", max_frames=max_frames, progress=progress)
    photos = data.identity_photos(identity, n_photos)
    # the cache folder holds these photos first in name order (and maybe more fetched earlier)
    extract(photos[0].parent, out_dir / "B", max_frames=len(photos), progress=progress)
    return out_dir / "A", out_dir / "B"


def save_alignments(path: str | os.PathLike, alignments: dict) -> Path:
    """Write an alignments dict as JSON, atomically."""
    return write_json_atomic(path, alignments)


def load_alignments(path: str | os.PathLike) -> dict:
    """Read and check an alignments file; landmarks and matrices come back as numpy arrays."""
    path = Path(path)
    if path.is_dir():
        path = path / ALIGNMENTS_FILE
    if not path.is_file():
        raise AlignmentsError(f"{path}: no alignments file; run `python -m deepfake_utils extract` first")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise AlignmentsError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("version") != ALIGNMENTS_VERSION or "frames" not in data:
        raise AlignmentsError(f"{path}: not a version-{ALIGNMENTS_VERSION} alignments file")
    for key, faces in data["frames"].items():
        for face in faces:
            try:
                face["landmarks"] = np.asarray(face["landmarks"], np.float32).reshape(68, 2)
                face["matrix"] = np.asarray(face["matrix"], np.float64).reshape(2, 3)
            except (KeyError, ValueError) as exc:
                raise AlignmentsError(f"{path}: frame {key}: bad face entry ({exc})") from exc
    return data


def check_alignments_match(alignments: dict, info: video.VideoInfo, path: str | os.PathLike = ALIGNMENTS_FILE) -> None:
    """Refuse alignments extracted from another video: source name, frame size, fps, frame count and faces must fit."""
    name, (width, height) = info.path.name, info.size
    fix = f"pass the video they were extracted from, or extract this one (python -m deepfake_utils extract {name} DIR)"
    source = alignments.get("source")
    if source is not None and source != name:
        raise AlignmentsError(f"{path}: extracted from {source!r}, not from {name!r}; {fix} (if you renamed the "
                              f"video, set \"source\" in {ALIGNMENTS_FILE} to its new name)")
    size = alignments.get("size")
    if size is None:
        raise AlignmentsError(f"{path}: extracted from an image folder (no frame size), not from {name}; {fix}")
    if list(size) != [width, height]:
        raise AlignmentsError(f"{path}: extracted from a {size[0]}x{size[1]} video, but {name} is {width}x{height}; "
                              f"{fix}")
    fps = alignments.get("fps")
    if fps and abs(fps - info.fps) > 0.001 * info.fps:
        raise AlignmentsError(f"{path}: extracted at {fps:g} frames/s (extract --fps), but convert swaps all "
                              f"{info.fps:g} frames/s of {name}; extract again without --fps")
    for key, faces in alignments["frames"].items():
        if not key.isdigit():
            raise AlignmentsError(f"{path}: frame {key!r} is not a frame number (extracted from images?); {fix}")
        if int(key) > info.n_frames:
            raise AlignmentsError(f"{path}: has frame {int(key)}, but {name} has only {info.n_frames} frames; {fix}")
        for face in faces:
            x, y = np.asarray(face["landmarks"], np.float64).reshape(-1, 2).mean(axis=0)
            if not (0 <= x < width and 0 <= y < height):
                raise AlignmentsError(f"{path}: frame {key}: the face at ({x:.0f}, {y:.0f}) lies outside the "
                                      f"{width}x{height} frames of {name}; {fix}")


def faces_found(alignments: dict) -> float:
    """The share of frames in which a face was found."""
    frames = alignments["frames"]
    return sum(1 for faces in frames.values() if faces) / max(len(frames), 1)
