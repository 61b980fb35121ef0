"""Stage 4 pipeline: a video or an image folder in, aligned faces and ``alignments.json`` out.

Faces are found with ``track.FaceFinder`` (the fast way, one face per frame of a video) or
``track.naive_find`` (the original tutorials' way); ``benchmarks/bench.py`` compares the two.

``extract`` overlaps the work: a reader thread decodes the next frames (or reads the next photos), the
calling thread finds the faces, a writer thread aligns them and writes the PNGs; the models load in the
background while ffmpeg probes the video. OpenCV, dlib's detector and predictor and the pipes to ffmpeg
release Python's GIL, so the threads run at the same time on different cores.
"""
from __future__ import annotations

import json
import os
import queue
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import align, detect, landmarks, metrics, video
from .errors import (
    AlignmentsError,
    DeepfakeError,
    DeepfakeWarning,
    ImageError,
    InvalidArgument,
    NoFaceError,
    OutputError,
)
from .fileio import read_image, remove_stale_temp_files, write_bytes_atomic, write_image
from .track import Face, FaceFinder, naive_find

ALIGNMENTS_VERSION = 1
ALIGNMENTS_FILE = "alignments.json"
BLURRY_DIR = "blurry"  # faces below the blur threshold are moved here, not deleted
OTHER_DIR = "other"  # faces that fail the identity filter are moved here
MIN_SIZE = 64  # px: the smallest aligned face extract writes
MAX_SIZE = 1024  # px: the largest (a 100000 px face would allocate tens of GB)
SAVE_SECONDS = 2.0  # alignments.json is saved at least this often while extracting (a kill loses no more)
SAVE_SHARE = 0.05  # ... unless saving takes longer than this share of the time (long videos): then less often
PENDING = 4  # frames found but not yet written that extract holds at most (each holds its image)


def load_models() -> None:
    """Load what finding and aligning faces needs (detector, landmark model, mean face), e.g. in a thread."""
    detect.hog_detector()
    landmarks.shape_predictor()
    align.mean_face_target()


def _in_background(task: Callable[[], object]) -> Future:
    """Run ``task`` in a daemon thread (an early error exit need not wait for it); its result or error in a Future."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(task())
        except BaseException as exc:  # raised where the caller asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, name=f"extract-{getattr(task, '__name__', 'task')}", daemon=True).start()
    return future


def _inputs(source: Path, fps: float | None, max_frames: int | None,
            done: Iterable[str]) -> Iterator[tuple[str, np.ndarray | ImageError | None]]:
    """(frame key, its image) in order; the image is None for a frame done before (not read), or the
    ImageError that reading it raised. A video's frames are decoded in order; photos are read one by one."""
    done = set(done)
    if source.is_dir():
        for path in video.list_images(source)[:max_frames]:
            if path.stem in done:
                yield path.stem, None
                continue
            try:
                yield path.stem, read_image(path)
            except ImageError as exc:
                yield path.stem, exc
    else:
        for i, frame in enumerate(video.iter_frames(source, fps=fps, max_frames=max_frames), 1):
            key = video.frame_key(i)
            yield key, None if key in done else frame


class _Prefetch:
    """Run an iterator in a background thread, up to ``depth`` items ahead; its error is raised here, in order."""

    _END = object()

    def __init__(self, items: Iterator, depth: int = 4) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name="extract-reader", daemon=True)
        self._thread.start()

    def _put(self, entry: tuple) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterator) -> None:
        try:
            for item in items:
                if not self._put((item, None)):
                    return
            self._put((self._END, None))
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put((self._END, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a video: stops ffmpeg

    def __iter__(self) -> Iterator:
        while True:
            item, error = self._queue.get()
            if error is not None:
                raise error
            if item is self._END:
                return
            yield item

    def close(self) -> None:
        """Stop reading (the thread ends within a frame)."""
        self._stop.set()
        self._thread.join()


def _reference_encoding(path: str | os.PathLike) -> np.ndarray:
    encoding = detect.face_encoding(read_image(path), how="largest")
    if encoding is None:
        raise NoFaceError(f"{path}: no face found in the identity reference image")
    return encoding


def _check_options(size: int, fps: float | None, max_frames: int | None) -> None:
    if not isinstance(size, int) or size < MIN_SIZE:
        raise InvalidArgument(f"--size {size}: aligned faces must be at least {MIN_SIZE} px (the model reads up to "
                              f"{MIN_SIZE * 2} px from them); leave it out for the usual {align.ALIGNED_SIZE} px")
    if size > MAX_SIZE:
        raise InvalidArgument(f"--size {size}: aligned faces of at most {MAX_SIZE} px (larger ones only fill the "
                              f"disk: the largest model reads 128 px); leave it out for the usual "
                              f"{align.ALIGNED_SIZE} px")
    if fps is not None and not fps > 0:
        raise InvalidArgument(f"--fps {fps}: a frame rate must be positive; leave it out to keep the video's")
    if max_frames is not None and max_frames < 1:
        raise InvalidArgument(f"--max-frames {max_frames}: must be at least 1; leave it out for all frames")


def _check_fps(source: Path, fps: float | None, info: video.VideoInfo) -> None:
    """--fps may only drop frames: a rate above the video's would repeat each frame (the same face many times)."""
    if fps is not None and fps > info.fps * 1.001:
        raise InvalidArgument(f"--fps {fps:g}: above the {info.fps:g} frames/s of {source.name}; --fps only drops "
                              "frames (e.g. --fps 5 for every fifth of a 25 fps video): lower it or leave it out")


def _check_images(source: Path) -> None:
    """An image folder must hold images (a folder of videos, or an empty one, would give 0 faces and exit 0)."""
    if video.list_images(source):
        return
    videos = sorted(p.name for p in source.iterdir() if video.is_video(p))
    if videos:
        raise DeepfakeError(f"{source}: holds videos ({', '.join(videos[:3])}{', ...' * (len(videos) > 3)}) but no "
                            "images; extract each video on its own, e.g. python -m deepfake_utils extract "
                            f"{source / videos[0]} OUT_DIR")
    raise DeepfakeError(f"{source}: no images in this folder ({', '.join(video.IMAGE_SUFFIXES)}); give a video or a "
                        "folder of photos")


def _check_out_dir(source: Path, out_dir: Path) -> None:
    for folder in (out_dir, *out_dir.parents):
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"{out_dir}: {'it' if folder == out_dir else folder} is a file, not a folder; "
                              "choose another output folder")
    if source.is_dir() and out_dir.is_dir() and os.path.samefile(source, out_dir):
        raise OutputError(f"{out_dir}: is the input folder; the faces would be mixed with the photos: "
                          "choose another output folder")


def _make_out_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create the output folder ({exc.strerror}); "
                          "check the path and its permissions") from exc


def _face_files(frames: dict) -> list[str]:
    return [face["face"] for faces in frames.values() for face in faces]


def _previous_run(out_dir: Path, meta: dict, overwrite: bool, source: Path) -> dict | None:
    """The alignments of an earlier run into ``out_dir`` to continue, or None to start afresh (checked first)."""
    path = out_dir / ALIGNMENTS_FILE
    if not path.exists():
        images = [p for sub in ("", BLURRY_DIR, OTHER_DIR) if (out_dir / sub).is_dir()
                  for p in video.list_images(out_dir / sub)]
        if images:
            raise DeepfakeError(f"{out_dir}: holds {len(images)} images ({images[0].name}, ...) but no "
                                f"{ALIGNMENTS_FILE}; new faces would be mixed with them (and trained on): move them "
                                "away or choose an empty folder")
        return None
    try:
        old = json.loads(path.read_bytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AlignmentsError(f"{path}: damaged ({type(exc).__name__}); move it away or restore it (the faces "
                              "beside it are kept) and run extract again") from exc
    if not isinstance(old, dict) or old.get("version") != ALIGNMENTS_VERSION or not isinstance(old.get("frames"), dict):
        raise AlignmentsError(f"{path}: not a version-{ALIGNMENTS_VERSION} alignments file; move it away and run "
                              "extract again")
    old.setdefault("crop_size", align.ALIGNED_SIZE)  # files from before the size was recorded
    differs = [f"{what} {old.get(key)!r}, not {meta[key]!r}" for key, what in
               (("source", "source"), ("size", "frame size"), ("fps", "frame rate"), ("crop_size", "face size"))
               if old.get(key) != meta[key]]
    change = video.compare_with(old.get("fingerprint"), source) if not differs and not source.is_dir() else None
    if change:
        differs.append(f"another video with the same name {meta['source']!r}: {change}")
    if not differs:
        return old
    if not overwrite:
        raise DeepfakeError(f"{out_dir}: holds faces of another extraction ({'; '.join(differs)}); choose another "
                            "folder, or pass --overwrite to delete those faces and start afresh")
    for rel in _face_files(old["frames"]):
        (out_dir / rel).unlink(missing_ok=True)
    return None


def _curate(frames: dict, out_dir: Path) -> tuple[int, int]:
    """Follow the user's edits of a used folder: faces moved between the top level, blurry/ and other/ are
    found again; deleted faces are marked ``"removed": true`` (never written again). Returns (removed, moved)."""
    removed = moved = 0
    for faces in frames.values():
        for face in faces:
            if (out_dir / face["face"]).is_file():
                face.pop("removed", None)  # put back by the user
                continue
            name = Path(face["face"]).name
            found = next((f"{sub}/{name}" if sub else name for sub in ("", BLURRY_DIR, OTHER_DIR)
                          if (out_dir / sub / name).is_file()), None)
            if found is not None:
                face["face"] = found
                face.pop("removed", None)
                moved += 1
            else:
                removed += not face.get("removed")
                face["removed"] = True
    return removed, moved


def _all_faces(image: np.ndarray) -> list[Face]:
    """Every face of a photo: the one nearest the centre first (``naive_find``'s), then the others by size."""
    angle = 0.0
    boxes = detect.detect_from_level(image, 0)
    if not boxes:
        boxes, angle = detect.detect_with_rotation(image, FaceFinder().angles)
    if not boxes:
        return []
    shape = detect.rotate_image(image, angle).shape if angle else image.shape
    first = detect.pick_face(boxes, shape)
    ordered = [first] + sorted((b for b in boxes if b != first), key=detect.box_size, reverse=True)
    faces = []
    for box in ordered:
        points = landmarks.predict_landmarks(image, box, angle=angle)
        if angle:
            box = detect.unrotate_box(box, angle, image.shape)
        faces.append(Face(box, points, align.alignment_matrix(points)))
    return faces


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
    overwrite: bool = False,
    fit: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> dict:
    """Write the aligned faces of ``source`` (video: one per frame; photos: all) and ``alignments.json``.

    The alignments are saved as the run goes (atomically, every ``SAVE_SECONDS``), so a run that is killed
    continues where it stopped when started again with the same source. Faces deleted from the folder are
    marked removed and not written again; faces moved between the top level, blurry/ and other/ are followed.
    Another source (or frame rate, or face size) in a used folder is refused unless ``overwrite`` (which
    deletes the old faces). Unreadable images are skipped and listed under ``"skipped"``.

    ``fit``: the similarity fit that aligns each face (``align.alignment_matrix``'s hook: a learner's Umeyama,
    notebook 04); default ``align.umeyama``. It is not recorded: extract with a fit of your own into a folder
    of its own.
    """
    source, out_dir = Path(source), Path(out_dir)
    _check_options(size, fps, max_frames)
    if not source.exists():
        raise DeepfakeError(f"{source}: no such video or folder")
    if not source.is_dir() and not video.is_video(source):
        raise DeepfakeError(f"{source}: not a video ({', '.join(video.VIDEO_SUFFIXES)}) or an image folder")
    _check_out_dir(source, out_dir)
    meta = {"version": ALIGNMENTS_VERSION, "source": source.name, "fps": None, "size": None, "crop_size": size,
            "fingerprint": None, "frames": {}}
    truncated = None
    loading = _in_background(load_models)  # while ffmpeg probes the video (waiting for it releases the GIL)
    if not source.is_dir():
        # the header's frame count (counting them all would decode the whole video once more): a video
        # that ends early is found when its frames run out (resampled with --fps, they are counted first)
        info = video.probe(source, count=fps is not None)
        _check_fps(source, fps, info)
        meta["fps"], meta["size"] = float(fps or info.fps), list(info.size)
        fingerprinting = _in_background(lambda: video.fingerprint(source))  # ffmpeg seeks, while the models load
        damage = _in_background(lambda: video.decode_damage(source))  # ffmpeg decodes once more, alongside
        total = min(info.n_frames, max_frames or info.n_frames)
        if info.truncated and (max_frames is None or max_frames > info.n_frames):
            truncated = {"frames": info.n_frames, "declared_frames": info.declared_frames}
    else:
        _check_images(source)
        total = min(len(video.list_images(source)), max_frames or 10**9)
    ref = _reference_encoding(reference) if reference is not None else None
    _make_out_dir(out_dir)
    old = _previous_run(out_dir, meta, overwrite, source)
    removed = moved = 0
    if old is not None:
        meta.update(old)
        removed, moved = _curate(meta["frames"], out_dir)
    if not source.is_dir():
        meta["fingerprint"] = fingerprinting.result()  # this video's (an older file's kind is replaced)
    meta.pop("truncated", None)
    meta.pop("damaged", None)
    meta["skipped"] = {}  # unreadable images of this run (a re-run tries them again)
    meta["complete"] = False
    frames = meta["frames"]
    done = len(frames)
    meta["run"] = {"resumed_frames": done, "removed": removed, "moved": moved}
    tracker = meta.pop("tracker", None)
    finder = FaceFinder() if fast else None
    for folder in (out_dir, out_dir / BLURRY_DIR, out_dir / OTHER_DIR):  # once, not at every face written
        remove_stale_temp_files(folder)
    alignments = _AlignmentsWriter(out_dir / ALIGNMENTS_FILE)
    alignments.save(meta)  # before the first face: a folder never has faces without it
    bar = tqdm(total=total, initial=min(done, total), desc=f"extract {source.name}", unit="frame",
               disable=not progress)
    reader = _Prefetch(_inputs(source, fps, max_frames, set(frames)))
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract-writer")
    stop = threading.Event()  # set when a write failed: the faces after it are not written
    pending: deque[tuple[str, Future | None, dict | None, str | None]] = deque()  # found, in frame order
    last_save = time.monotonic()
    decoded = 0  # frames the reader gave (done before or not)
    damaged: str | None = None  # the warning about frames a damaged video may have smeared

    def write(image: np.ndarray, found: list[Face], key: str) -> list[dict] | None:
        if stop.is_set():
            return None
        try:
            return [_save_face(image, face, key, i, out_dir, size, blur_threshold, ref, tolerance, fit)
                    for i, face in enumerate(found)]
        except BaseException:
            stop.set()
            raise

    def record(wait_beyond: int) -> None:
        """Record the written frames in frame order; wait for the oldest while more than ``wait_beyond`` wait."""
        nonlocal tracker
        while pending:
            key, job, state, skipped = pending[0]
            if job is not None and not job.done() and len(pending) <= wait_beyond:
                return
            if job is None:
                meta["skipped"][key] = skipped
            else:
                faces = job.result()  # the writer's error, if any, is raised here
                if faces is None:
                    return
                frames[key], tracker = faces, state
            pending.popleft()
            bar.update(1)

    try:
        loading.result()
        for key, image in reader:
            decoded += 1
            if image is None:  # done in an earlier run
                if finder is not None and not source.is_dir():
                    finder.restore(tracker)  # as it was after the last frame done
                continue
            if isinstance(image, ImageError):
                pending.append((key, None, None, str(image)))
            else:
                if source.is_dir():
                    found = _all_faces(image)
                else:
                    face = (finder or naive_find)(image)
                    found = [] if face is None else [face]
                state = finder.state() if finder is not None and not source.is_dir() else None
                pending.append((key, writer.submit(write, image, found, key), state, None))
            record(PENDING)
            if time.monotonic() - last_save >= max(SAVE_SECONDS, alignments.seconds / SAVE_SHARE):
                meta["tracker"] = tracker
                alignments.save(meta)
                last_save = time.monotonic()
        record(0)
        meta["complete"] = True
        damaged = _record_damage(source, out_dir, meta, damage.result(), fps) if not source.is_dir() else None
        if not source.is_dir() and not info.counted and (max_frames is None or decoded < max_frames):
            counted = replace(info, n_frames=decoded, counted=True)  # all its frames decoded
            if counted.truncated:
                truncated = {"frames": decoded, "declared_frames": info.declared_frames}
    finally:  # even on a crash or Ctrl-C, keep the alignments of the faces already written
        writer.shutdown(wait=True)  # the faces found are written (after a failed write: none of the later ones)
        reader.close()
        if not meta["complete"]:  # record the frames written before the first that was not
            for key, job, state, skipped in pending:
                if job is None:
                    meta["skipped"][key] = skipped
                elif job.cancelled() or job.exception() is not None or job.result() is None:
                    break
                else:
                    frames[key], tracker = job.result(), state
        meta["tracker"] = tracker
        if truncated:
            meta["truncated"] = truncated
        alignments.save(meta)
        bar.close()
    if damaged:
        warnings.warn(damaged, DeepfakeWarning, stacklevel=2)  # after the progress bar, on a line of its own
    return meta


def _spans(numbers: list[int]) -> str:
    """'3, 7-9, 12': runs of consecutive numbers."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)


def _record_damage(source: Path, out_dir: Path, meta: dict, damage: video.DecodeDamage,
                   fps: float | None) -> str | None:
    """Record in ``meta["damaged"]`` the extracted frames a damaged video may have smeared; the warning to give."""
    frames = meta["frames"]
    numbers = sorted({round(t * fps) + 1 for t in damage.times} if fps else set(damage.frames))  # as extracted
    hit = [n for n in numbers if video.frame_key(n) in frames]
    if not damage.errors or not hit:
        return None
    meta["damaged"] = {"errors": damage.errors, "lost": damage.lost, "frames": [video.frame_key(n) for n in hit]}
    faces = sum(len(frames[video.frame_key(n)]) for n in hit)
    lost = f", and {damage.lost} frame{'s are' if damage.lost > 1 else ' is'} lost" if damage.lost else ""
    return (f"{source}: damaged: ffmpeg reported {damage.errors} decode errors{lost}; frames {_spans(hit)} "
            f"({len(hit)} of the {len(frames)} extracted) may be smeared, with {faces} faces found in them: look at "
            f"those in {out_dir} and delete the smeared ones (extract does not write them again), or copy the video "
            "again")


def _save_face(image, found: Face, key, index, out_dir: Path, size, blur_threshold, ref, tolerance, fit=None) -> dict:
    if size == align.ALIGNED_SIZE and fit is None:
        matrix = found.matrix
    else:
        matrix = align.alignment_matrix(found.landmarks, size, fit=fit)
    crop = align.align_face(image, matrix, size)
    blur = metrics.sharpness(crop)
    name = f"{key}_{index}.png"
    folder = ""
    if blur_threshold is not None and blur < blur_threshold:
        folder = BLURRY_DIR
    elif ref is not None:
        if float(np.linalg.norm(detect.face_encoding(image, found.box) - ref)) > tolerance:
            folder = OTHER_DIR
    rel = f"{folder}/{name}" if folder else name
    write_image(out_dir / rel, crop, clean=False)  # extract removed dead writers' temp files when it started
    return {
        "box": [int(v) for v in found.box],
        "landmarks": np.round(found.landmarks, 2).tolist(),
        "matrix": np.asarray(matrix).tolist(),
        "face": rel,
        "blur": round(blur, 2),
    }


def extract_sample_faces(out_dir: str | os.PathLike, *, max_frames: int | None = None, n_photos: int | None = None,
                         identity: str = "George_W_Bush", progress: bool = True) -> tuple[Path, Path]:
    """The course's two identities as aligned faces: ``out_dir/A`` (the sample video), ``out_dir/B`` (photos, B's
    own faces only: see ``extract_identity_faces``); extracted here, or resumed."""
    dir_a, dir_b = sample_faces(out_dir, max_frames=max_frames, n_photos=n_photos, identity=identity, progress=progress)
    return dir_a, dir_b


def extract_identity_faces(identity: str, out_dir: str | os.PathLike, n_photos: int | None = None, *,
                           only_b: bool = True, progress: bool = True) -> Path:
    """An LFW identity's training photos (never those held out for the metrics) as aligned faces in ``out_dir``
    (resumes); ``only_b`` sets other people in the news photos aside in ``other/``, with the identity's first
    photo as the reference (measured on every pair of `bench pairs`: training on the others' faces too cost
    identity and detail)."""
    from . import data

    photos = data.training_photos(identity, n_photos)
    # the cache folder holds these photos first in name order (and maybe held-out ones, fetched for the gallery)
    extract(photos[0].parent, out_dir, max_frames=len(photos), progress=progress,
            reference=photos[0] if only_b else None)
    return Path(out_dir)


def is_finished(folder: str | os.PathLike, source: str | os.PathLike, max_frames: int | None = None) -> bool:
    """True when ``folder`` holds a finished extraction (``"complete"`` in its alignments.json) of exactly the first
    ``max_frames`` frames of the video ``source``, or images of the image folder ``source`` (None: all), at the usual
    face size and frame rate: a folder another notebook may read, never a half-written one. Reads, never writes."""
    folder, source = Path(folder), Path(source)
    try:
        meta = json.loads((folder / ALIGNMENTS_FILE).read_bytes().decode())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    if (not isinstance(meta, dict) or meta.get("version") != ALIGNMENTS_VERSION or meta.get("complete") is not True
            or not isinstance(meta.get("frames"), dict) or meta.get("source") != source.name
            or meta.get("crop_size", align.ALIGNED_SIZE) != align.ALIGNED_SIZE):
        return False
    done = set(meta["frames"]) | set(meta.get("skipped") or {})
    if source.is_dir():
        return done == {path.stem for path in video.list_images(source)[:max_frames]}
    info = video.probe(source, count=False)
    if meta.get("size") != list(info.size) or not meta.get("fps") or abs(meta["fps"] - info.fps) > 0.001 * info.fps:
        return False  # another video of that name, or frames dropped with --fps
    wanted = min(max_frames or info.n_frames, info.n_frames)
    return (done == {video.frame_key(i) for i in range(1, wanted + 1)}
            and video.compare_with(meta.get("fingerprint"), source) is None)


def sample_faces(out_dir: str | os.PathLike, *, reuse: Iterable[str | os.PathLike] = (), max_frames: int | None = None,
                 n_photos: int | None = None, identity: str = "George_W_Bush", sides: str = "AB",
                 progress: bool = True) -> tuple[Path, ...]:
    """``extract_sample_faces``'s folders (``A``: the sample video, ``B``: the identity's photos), one per letter of
    ``sides``: each from the first folder of ``reuse`` whose ``A/`` or ``B/`` holds a finished extraction of the same
    frames or photos (``is_finished``), else extracted into ``out_dir``. Prints which folder each side comes from."""
    from . import data

    if not sides or set(sides) - {"A", "B"}:
        raise InvalidArgument(f"sides={sides!r}: give 'A' (the sample video), 'B' (the identity's photos) or 'AB'")
    out_dir, reuse = Path(out_dir), [Path(folder) for folder in reuse]
    folders = []
    for side in sides:
        if side == "A":
            source, count = data.sample_video(), max_frames
        else:
            photos = data.training_photos(identity, n_photos)
            source, count = photos[0].parent, len(photos)
        folder = next((f / side for f in reuse if is_finished(f / side, source, count)), None)
        reused = folder is not None
        if folder is None:
            folder = out_dir / side
            if side == "A":
                extract(source, folder, max_frames=max_frames, progress=progress)
            else:
                extract_identity_faces(identity, folder, n_photos, progress=progress)
        if progress:
            print(f"faces of {side}: {folder} ({'a finished extraction, reused' if reused else 'extracted here'})")
        folders.append(folder)
    return tuple(folders)


def _encode_alignments(alignments: dict, encoded: dict[str, str] | None = None) -> bytes:
    """The alignments as JSON text with one line per frame; ``encoded`` caches the frames' lines by key."""
    lines = []
    for field, value in alignments.items():
        if field != "frames":
            lines.append(f" {json.dumps(field)}: {json.dumps(value)}")
            continue
        rows = []
        for key, faces in value.items():
            row = encoded.get(key) if encoded is not None else None
            if row is None:
                row = f"  {json.dumps(key)}: {json.dumps(faces)}"
                if encoded is not None:
                    encoded[key] = row
            rows.append(row)
        lines.append(' "frames": {' + ("\n" + ",\n".join(rows) + "\n }" if rows else "}"))
    return ("{\n" + ",\n".join(lines) + "\n}\n").encode()


class _AlignmentsWriter:
    """alignments.json saved again and again during one run: each frame is encoded to JSON only once.

    A frame's entry must not change once saved (extract adds frames; it edits old ones before the first save).
    """

    def __init__(self, path: Path) -> None:
        self.path, self.seconds = path, 0.0  # how long the last save took
        self._encoded: dict[str, str] = {}

    def save(self, alignments: dict) -> None:
        start = time.perf_counter()
        write_bytes_atomic(self.path, _encode_alignments(alignments, self._encoded))
        self.seconds = time.perf_counter() - start


def save_alignments(path: str | os.PathLike, alignments: dict) -> Path:
    """Write an alignments dict as JSON (one line per frame), atomically."""
    return write_bytes_atomic(path, _encode_alignments(alignments))


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
    change = video.compare_with(alignments.get("fingerprint"), info.path)
    if change:
        raise AlignmentsError(f"{path}: extracted from another video also called {name!r} ({change} in "
                              f"{info.path}); {fix}")
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


TURNS = {1: "90° counter-clockwise", 3: "90° clockwise", 2: "upside down (180°)"}  # by np.rot90's quarter turns k
TURN_FILTERS = {1: "transpose=2", 3: "transpose=1", 2: "hflip,vflip"}  # ffmpeg's -vf for the same turn


def upright_turn(source: str | os.PathLike, alignments: dict, *, fps: float | None = None,
                 samples: int = 3) -> tuple[int, int, int] | None:
    """For a video where few faces were found: (k, hits, tried) when turning its frames by k quarter turns
    counter-clockwise (``np.rot90``) shows a face in ``hits`` of ``tried`` frames without one (at least half of
    them; the best turn), else None. ``fps``: as extracted. Decodes up to the first hundred frames without a face."""
    missing = sorted(int(key) for key, faces in alignments["frames"].items() if not faces and key.isdigit())[:100]
    if not missing:
        return None
    picks = set(missing[::max(1, len(missing) // samples)][:samples])
    frames = [frame for n, frame in enumerate(video.iter_frames(source, fps=fps, max_frames=max(picks)), 1)
              if n in picks]
    hits = {k: sum(bool(detect.hog_detector()(np.ascontiguousarray(np.rot90(frame, k)),
                                              1 if max(frame.shape[:2]) <= 1000 else 0)) for frame in frames)
            for k in TURNS}
    best = max(hits, key=hits.get)
    return (best, hits[best], len(frames)) if frames and 2 * hits[best] >= len(frames) else None


def faces_found(alignments: dict) -> float:
    """The share of frames in which a face was found."""
    frames = alignments["frames"]
    return sum(1 for faces in frames.values() if faces) / max(len(frames), 1)
