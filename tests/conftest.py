"""Shared fixtures: the real sample data (from the mirror when DEEPFAKE_DATA_MIRROR is set), decoded once."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from deepfake_utils import data, video
from deepfake_utils.fileio import read_image

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


@pytest.fixture(scope="session")
def sample_faces(tmp_path_factory) -> Path:
    """Real aligned faces: A from the first 24 frames of the sample video (with alignments.json), B from 8 photos."""
    from deepfake_utils import extract

    root = tmp_path_factory.mktemp("faces")
    extract.extract_sample_faces(root, max_frames=24, n_photos=8, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_model(sample_faces, tmp_path_factory) -> Path:
    """A model folder with the tiny preset trained for a few steps on the sample faces."""
    from deepfake_utils import train

    model_dir = tmp_path_factory.mktemp("model")
    trainer = train.Trainer(model_dir, "tiny", batch_size=8)
    trainer.fit(train.load_faces(sample_faces / "A"), train.load_faces(sample_faces / "B"), 20, save_every=20,
                progress=False)
    return model_dir
