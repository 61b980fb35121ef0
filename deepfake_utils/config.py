"""Quick mode and the few sizes it changes, read from one environment variable in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass

QUICK_ENV = "DEEPFAKE_QUICK"
SEED = 1234


def is_quick() -> bool:
    """True when ``DEEPFAKE_QUICK`` asks for the small, fast CI/CPU-classroom run."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Sizes that quick mode shrinks; the code paths are the same in both modes."""

    quick: bool
    max_frames: int | None  # frames of the sample video a notebook processes (None: all)
    n_stills: int | None  # photos per identity a notebook processes (None: all)
    train_preset: str  # model preset the training notebooks use
    train_steps: int  # training steps of the training notebooks
    batch_size: int  # faces per side per training step
    gallery_photos: tuple[int, int] = (64, 20)  # photos of B and of every other identity in the metrics' gallery
    seed: int = SEED


def settings() -> Settings:
    """The settings for the current mode (quick when ``DEEPFAKE_QUICK=1``)."""
    if is_quick():
        return Settings(quick=True, max_frames=12, n_stills=16, train_preset="tiny", train_steps=150, batch_size=8,
                        gallery_photos=(8, 2))
    return Settings(quick=False, max_frames=None, n_stills=None, train_preset="original", train_steps=20000,
                    batch_size=64)
