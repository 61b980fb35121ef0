"""Quick mode and the few sizes it changes, read from one environment variable in one place."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache

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
    gallery: str = "large"  # the metrics' distractors: "large" (100+ identities) or "small" (11; quick mode)
    seed: int = SEED
    gan_preset: str = "tiny"  # GAN preset of notebook 09 (warm-started from the autoencoder of its family)
    gan_steps: int = 0  # GAN steps of notebook 09 (its loss schedule is spread over them)


# Full mode on a CPU trains the tiny preset for about this long (the original model on a CPU takes days).
CPU_TRAIN_MINUTES = 20
# Training speed, steps per second, for the ETA printed before training. CPU: tiny at batch 16 per side
# made 172.7 images/s on 2 cores (benchmarks/README.md, 2026-11-22), i.e. 5.4 steps/s, 2.7 per core;
# more cores are assumed to help linearly, which overestimates big machines. GPU: the original at
# batch 64 per side is NOT measured yet (benchmarks/README.md); 7 steps/s is an assumption for a
# Colab T4 with mixed precision, so the GPU ETA is a rough guess.
CPU_TINY_STEPS_PER_S_PER_CORE = 2.7
# The tiny GAN at batch 8 (notebook 09's full mode on a CPU) made 0.85x the steps/s of the tiny autoencoder at
# batch 16, measured side by side on 2 busy cores (benchmarks/README.md, 2026-11-23); scaled to the figure above:
# an estimate, not an idle measurement.
CPU_GAN_TINY_STEPS_PER_S_PER_CORE = 2.3
GPU_ORIGINAL_STEPS_PER_S = 7.0


@lru_cache(maxsize=1)
def gpu_names() -> tuple[str, ...]:
    """The NVIDIA GPUs ``nvidia-smi`` lists (empty without one); cheap, and no TensorFlow import."""
    if shutil.which("nvidia-smi") is None:
        return ()
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20, check=True).stdout
    except (subprocess.SubprocessError, OSError):
        return ()
    return tuple(line.strip() for line in out.splitlines() if line.strip())


def tensorflow_gpus() -> tuple[str, ...]:
    """The GPUs TensorFlow can use (empty without one). TensorFlow is imported only where ``nvidia-smi`` lists a GPU
    (or where it is imported already), so a CPU machine never pays for the import here."""
    if "tensorflow" not in sys.modules and not gpu_names():
        return ()
    import tensorflow as tf

    return tuple(device.name for device in tf.config.list_physical_devices("GPU"))


def cpu_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def full_settings(gpu: bool, cores: int) -> Settings:
    """Full mode for the hardware found: the original model on a GPU; the tiny one for a fixed time on a CPU."""
    if gpu:  # the GAN: faceswap-GAN's notebook trains its standard model for 40 000 steps of batch 8; half here
        return Settings(quick=False, max_frames=None, n_stills=None, train_preset="original", train_steps=20000,
                        batch_size=64, gan_preset="standard", gan_steps=20000)
    steps = CPU_TRAIN_MINUTES * 60 * CPU_TINY_STEPS_PER_S_PER_CORE * max(1, cores)
    gan_steps = CPU_TRAIN_MINUTES * 60 * CPU_GAN_TINY_STEPS_PER_S_PER_CORE * max(1, cores)
    return Settings(quick=False, max_frames=None, n_stills=None, train_preset="tiny",
                    train_steps=int(min(20000, round(steps, -2))), batch_size=16, gan_preset="tiny",
                    gan_steps=int(min(20000, round(gan_steps, -2))))


def train_eta_minutes(cfg: Settings, gpu: bool, cores: int) -> float:
    """Estimated minutes of the training notebooks' main run (see the rates above: GPU figures are guesses)."""
    if cfg.train_preset == "tiny":
        rate = CPU_TINY_STEPS_PER_S_PER_CORE * max(1, cores) * 16 / cfg.batch_size
        if gpu:
            rate *= 4  # assumed: a GPU runs the tiny model a few times faster than 2 CPU cores
    elif gpu:
        rate = GPU_ORIGINAL_STEPS_PER_S * 64 / cfg.batch_size
    else:
        rate = 0.28 * max(1, cores) / 2 * 16 / cfg.batch_size  # original, 2 cores: 9.0 images/s = 0.28 steps/s at 16
    return cfg.train_steps / rate / 60


def settings() -> Settings:
    """The settings for the current mode: quick when ``DEEPFAKE_QUICK=1``, else full mode for this hardware (a GPU
    counts when TensorFlow sees it)."""
    if is_quick():
        return Settings(quick=True, max_frames=12, n_stills=16, train_preset="tiny", train_steps=100, batch_size=8,
                        gallery_photos=(8, 2), gallery="small", gan_preset="tiny", gan_steps=16)
    return full_settings(bool(tensorflow_gpus()), cpu_cores())  # a GPU TensorFlow cannot use trains nothing
