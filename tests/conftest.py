"""Shared fixtures: the real sample data (from the mirror when DEEPFAKE_DATA_MIRROR is set), decoded once."""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from deepfake_utils import data, video
from deepfake_utils.fileio import read_image

try:
    import fcntl  # POSIX: the workers of `make test` share the slow session fixtures under a file lock
except ImportError:  # Windows: each process makes its own
    fcntl = None

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not os.environ.get(data.MIRROR_ENV) and SHARED.is_dir():
    os.environ[data.MIRROR_ENV] = str(SHARED)  # same as .ci/run: use the local mirror when it is there


@pytest.fixture(scope="session")
def sample_video() -> Path:
    return data.sample_video()


@pytest.fixture(scope="session")
def frames(sample_video) -> list[np.ndarray]:
    """Every 10th frame of the sample video (13 frames, 844x844)."""
    return [f for i, f in enumerate(video.iter_frames(sample_video)) if i % 10 == 0]


@pytest.fixture(scope="session")
def frame(frames) -> np.ndarray:
    return frames[0]


@pytest.fixture(scope="session")
def bush_photos() -> list[Path]:
    return data.identity_photos("George_W_Bush", 8)


@pytest.fixture(scope="session")
def photo(bush_photos) -> np.ndarray:
    return read_image(bush_photos[0])


def _made_once(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """A folder ``make`` fills, made once per test run: under pytest-xdist the workers share it (the first makes
    it under a file lock, the others wait and reuse it); tests only read it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None or fcntl is None:
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent  # this run's folder, above each worker's own
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a worker that failed half-way
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def sample_faces(tmp_path_factory) -> Path:
    """Real aligned faces: A from the first 24 frames of the sample video (with alignments.json), B from 8 photos."""
    from deepfake_utils import extract

    return _made_once(tmp_path_factory, "faces",
                      lambda root: extract.extract_sample_faces(root, max_frames=24, n_photos=8, progress=False))


@pytest.fixture(scope="session")
def tiny_model(sample_faces, tmp_path_factory) -> Path:
    """A model folder with the tiny preset trained for a few steps on the sample faces."""
    from deepfake_utils import train

    def make(model_dir: Path) -> None:
        trainer = train.Trainer(model_dir, "tiny", batch_size=8)
        trainer.fit(train.load_faces(sample_faces / "A"), train.load_faces(sample_faces / "B"), 20, save_every=20,
                    progress=False)

    return _made_once(tmp_path_factory, "model", make)


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A real 1 MiB file system (tmpfs) to fill up; skipped where this process may not mount one."""
    import shutil
    import subprocess
    import sys

    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs Linux and root (the forced-failure tests cover the check)")
    mount = tmp_path / "small_disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}); the forced-failure tests cover the check")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.fixture
def fill_disk():
    """fill_disk(folder, leave): fill the file system of ``folder`` with one file, leaving about ``leave`` bytes."""
    import shutil

    def fill(folder: Path, leave: int) -> Path:
        filler = folder / "filler"
        filler.write_bytes(b"\0" * max(shutil.disk_usage(folder).free - leave, 0))
        return filler

    return fill


@pytest.fixture
def fake_ffmpeg(tmp_path, monkeypatch):
    """fake_ffmpeg(script): make video.write_video run a bash script instead of ffmpeg ($REAL: the real one,
    $OUT: the output file), to force the failures a full disk causes without filling one."""
    import imageio_ffmpeg

    def install(script: str) -> Path:
        path = tmp_path / "fake-ffmpeg"
        path.write_text(f"#!/bin/bash\nREAL={imageio_ffmpeg.get_ffmpeg_exe()}\nOUT=\"${{@: -1}}\"\n{script}\n")
        path.chmod(0o755)
        monkeypatch.setattr(video, "_ffmpeg_exe", lambda: str(path))
        return path

    return install


@pytest.fixture
def wrong():
    """wrong(checker, answer, hint=""): the exercise checker turns the answer down without raising (a learner's Run
    All goes on): it returns False and prints "✗ check_x: not yet right: ..." (or "✗ check_x: your function raised
    ...", with the learner's traceback) with a hint matching ``hint``."""
    import contextlib
    import io
    import re

    def check(checker, answer, hint: str = "") -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert checker(answer) is False
        said = out.getvalue()
        turned_down = (f"✗ {checker.__name__}: not yet right: ", f"✗ {checker.__name__}: your function raised ")
        assert said.startswith(turned_down) and re.search(hint, said), said
        return said

    return check


@pytest.fixture
def small_report():
    """small_report(recognised, detail): a minimal ``metrics.evaluate`` report of a 10-frame swap of B, every face
    found, B the nearest and recognised in the share ``recognised``, the eyes and mouth keeping ``detail``."""
    def report(recognised: float, detail: float) -> dict:
        ident = {"frames": 10, "faces": 10, "id_retrieval": recognised, "recognised": recognised,
                 "nearer_target": 1.0, "to_target": 0.5, "to_source": 0.7}
        return {"frames": 10, "target": "B", "faces_found": {"swapped": 10}, "identity": {"swapped": ident},
                "expression_error": 0.04, "jitter": {"source": 0.01, "swapped": 0.01}, "sharpness_kept": 0.9,
                "detail_kept": {"eyes_mouth": detail, "eyes": detail, "mouth": detail, "fine": detail / 2}}

    return report
