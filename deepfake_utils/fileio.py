"""Image reading/writing in the house convention (uint8 RGB HxWx3) and crash-safe atomic writes."""
from __future__ import annotations

import errno
import json
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import DeepfakeError, ImageError, OutputError
from .images import ensure_rgb_uint8, to_rgb_uint8

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


# errors of the writing itself (not of reading some input inside an atomic block): they become OutputError
_WRITE_ERRNOS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                 errno.EFBIG: "file too large for this file system", errno.EROFS: "read-only file system"}
_TEMP_TOKEN = 8  # hex characters of randomness in a temp name


def _temp_pattern(path: Path) -> re.Pattern[str]:
    """Temp names of ``path``: ``.STEM.PID-TOKEN.partSUFFIX`` (ours) or ``.STEM.XXXXXXXX.partSUFFIX`` (mkstemp's)."""
    return re.compile(rf"\.{re.escape(path.stem)}\.(?:(\d+)-)?[a-z0-9_]{{{_TEMP_TOKEN}}}\.part{re.escape(path.suffix)}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def _stale_in(folder: Path, pattern: re.Pattern[str]) -> list[Path]:
    """The entries of ``folder`` named as ``pattern``'s temp files whose writer's process is gone."""
    if not folder.is_dir():
        return []
    return [entry for entry in folder.iterdir() if (match := pattern.fullmatch(entry.name))
            and (match.group(1) is None or not _pid_alive(int(match.group(1))))]


def stale_temp_files(path: str | os.PathLike) -> list[Path]:
    """Temp files of ``path`` left by writers that died (crash, kill): their process is gone."""
    path = Path(path)
    return _stale_in(path.parent, _temp_pattern(path))


_ANY_TEMP = re.compile(rf"\..+\.(?:(\d+)-)?[a-z0-9_]{{{_TEMP_TOKEN}}}\.part(?:\.[^.]+)?")  # any file's temp name


def remove_stale_temp_files(folder: str | os.PathLike) -> int:
    """Remove the temp files that dead writers left in ``folder`` (any file's), in one pass; returns how many."""
    stale = [entry for entry in _stale_in(Path(folder), _ANY_TEMP) if entry.is_file()]
    for entry in stale:
        entry.unlink(missing_ok=True)
    return len(stale)


def mount_point(path: str | os.PathLike) -> Path:
    """The mount point of the file system that holds ``path`` (or would hold it: its first existing folder)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def no_space(folder: str | os.PathLike, needed: int | None) -> str:
    """'no space left on <mount point> (about N MB needed, M MB free)': what a full disk message says."""
    mount = mount_point(folder)
    try:
        free = f"{shutil.disk_usage(mount).free / 1e6:.1f} MB free"
    except OSError:
        free = "free space unknown"
    need = f"about {max(needed / 1e6, 0.1):.1f} MB needed, " if needed else ""
    return f"no space left on {mount} ({need}{free})"


def _output_error(path: Path, exc: OSError, doing: str = "cannot write it") -> OutputError:
    cause = _WRITE_ERRNOS.get(exc.errno) or exc.strerror or str(exc)
    fix = ("free some space there or choose another output folder" if exc.errno in (errno.ENOSPC, errno.EDQUOT)
           else "check the output path and its permissions")
    kept = "; the existing file is kept" if path.exists() else ""
    return OutputError(f"{path}: {doing} ({cause}); {fix}{kept}")


def _prepare_folder(path: Path) -> None:
    for parent in reversed(path.parents):  # the first ancestor that exists must be a folder
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"{path}: {parent} is a file, not a folder; choose another output path")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name for the output")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(path, exc, "cannot create its folder") from exc


@contextmanager
def atomic_path(path: str | os.PathLike, *, clean: bool = True) -> Iterator[Path]:
    """Yield a temp path beside ``path``; rename it into place only if the block succeeds.

    A new file gets the usual mode (0o666 less the umask); a replaced file keeps its mode. Temp files of
    the same path left by dead writers are removed first (that reads the whole folder: ``clean=False``
    skips it for a caller that writes many files into one folder and calls ``remove_stale_temp_files``
    once). Disk-full and similar errors become OutputError.
    """
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))  # replace the file the link points to, keep the link
    _prepare_folder(path)
    if clean:
        for leftover in stale_temp_files(path):
            leftover.unlink(missing_ok=True)
    tmp_path = path.parent / f".{path.stem}.{os.getpid()}-{secrets.token_hex(_TEMP_TOKEN // 2)}.part{path.suffix}"
    try:
        fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the kernel applies the umask
    except OSError as exc:
        raise _output_error(path, exc) from exc
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if path.exists():
            mode = stat.S_IMODE(path.stat().st_mode)
    finally:
        os.close(fd)
    try:
        try:
            yield tmp_path
        except OSError as exc:
            if exc.errno in _WRITE_ERRNOS:
                raise _output_error(path, exc) from exc
            raise
        try:
            os.chmod(tmp_path, mode)
            os.replace(tmp_path, path)
        except OSError as exc:
            raise _output_error(path, exc) from exc
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, clean: bool = True) -> Path:
    """Write bytes so that ``path`` is either the old file or the whole new one, never half."""
    with atomic_path(path, clean=clean) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write an object as indented JSON, atomically."""
    return write_bytes_atomic(path, (json.dumps(obj, indent=1) + "\n").encode())


def check_input_file(path: str | os.PathLike, error: type[DeepfakeError] = DeepfakeError,
                     folder_hint: str = "") -> Path:
    """The path of an existing, non-empty file, or ``error`` naming the file and what is wrong."""
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: no such file")
    if path.is_dir():
        raise error(f"{path}: is a folder, not a file{folder_hint}")
    if path.stat().st_size == 0:
        raise error(f"{path}: the file is empty (0 bytes)")
    return path


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as uint8 RGB HxWx3 (grayscale, RGBA and 16-bit are converted)."""
    path = check_input_file(path, ImageError)
    raw = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise ImageError(f"{path}: not a readable image (corrupt, or not an image format OpenCV knows)")
    if raw.ndim == 3 and raw.shape[2] == 4:
        raw = cv2.cvtColor(raw, cv2.COLOR_BGRA2RGBA)
    elif raw.ndim == 3 and raw.shape[2] == 3:
        raw = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    return to_rgb_uint8(raw, name=str(path))


def write_image(path: str | os.PathLike, image: np.ndarray, *, clean: bool = True) -> Path:
    """Write a uint8 RGB image atomically; the format follows the suffix (.png, .jpg, ...)."""
    path = Path(path)
    ensure_rgb_uint8(image, name=str(path))
    ok, buf = cv2.imencode(path.suffix or ".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ImageError(f"{path}: OpenCV cannot encode images with suffix {path.suffix!r}")
    return write_bytes_atomic(path, buf.tobytes(), clean=clean)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files of a folder (not recursive), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageError(f"{folder}: no such folder")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
