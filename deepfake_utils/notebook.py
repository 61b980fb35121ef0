"""The one-call setup of every course notebook: seeds, plot style, accelerator check, quick mode."""
from __future__ import annotations

import random
import shutil
import subprocess

import numpy as np

from .config import Settings, settings


def gpu_summary() -> str:
    """A one-line description of the NVIDIA GPU(s) visible to this machine, or 'no GPU'."""
    if shutil.which("nvidia-smi") is None:
        return "no GPU (CPU only: quick mode is the way to go)"
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True).stdout.strip()
    except (subprocess.SubprocessError, OSError):
        return "nvidia-smi is present but did not answer"
    return "GPU: " + "; ".join(out.splitlines()) if out else "no GPU"


def setup(seed: int | None = None, *, verbose: bool = True) -> Settings:
    """Seed numpy/random, set the plot style, report the GPU and quick mode; returns the settings."""
    import matplotlib.pyplot as plt

    cfg = settings()
    seed = cfg.seed if seed is None else seed
    random.seed(seed)
    np.random.seed(seed)  # only for third-party code: the course itself passes Generators around
    plt.rcParams.update({"figure.dpi": 90, "axes.grid": False, "image.interpolation": "antialiased",
                         "font.size": 10})
    if verbose:
        mode = "QUICK (few frames, small sizes)" if cfg.quick else "FULL"
        print(f"deepfake-course | mode: {mode} | seed {seed} | {gpu_summary()}")
    return cfg
