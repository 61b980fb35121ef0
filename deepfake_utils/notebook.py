"""The one-call setup of every course notebook: quick or full mode, seeds, plot style, library versions,
accelerator, the training plan with its ETA, and (on Colab) a Google Drive folder for ``out/``.

The first cell of every notebook is ``SETUP_CELL`` below, character for character
(``tests/test_notebooks.py`` checks it): on Colab it clones the course and installs this package (the
package does not exist yet there, so that part cannot live here), then calls :func:`setup`.
"""
from __future__ import annotations

import os
import random
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from . import configure
from .config import QUICK_ENV, Settings, cpu_cores, gpu_names, settings, train_eta_minutes
from .errors import DeepfakeError

REPO_URL = "https://github.com/deepfake-course/deepfake-course"  # = pyproject's [project.urls] Repository (tested)
COLAB_HOME = "/content/deepfake-course"
QUICK_FROM_ENV = os.environ.get(QUICK_ENV)  # set before the kernel started (CI, `DEEPFAKE_QUICK=1 make lab`): wins

SETUP_CELL = f'''\
# Setup: run me first. QUICK: a few frames and a small model, minutes on a CPU; untick it for the full course.
# DRIVE_OUT (Colab only): a Google Drive folder for out/, e.g. /content/drive/MyDrive/deepfake-course,
# so that training resumes after a disconnect.
QUICK = True  #@param {{type:"boolean"}}
DRIVE_OUT = ""  #@param {{type:"string"}}
import os
import subprocess
import sys

if "google.colab" in sys.modules:  # fetch and install the course once per runtime; stop with a reason on failure
    HOME, REPO = "{COLAB_HOME}", "{REPO_URL}"
    steps = [] if os.path.isdir(HOME + "/.git") else [["git", "clone", "-q", "--depth", "1", REPO, HOME]]
    if not os.path.exists(HOME + "/.installed"):
        steps += [[sys.executable, "-m", "pip", "install", "-q", "-e", HOME],
                  [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "face_recognition==1.3.0"],
                  ["touch", HOME + "/.installed"]]
    for cmd in steps:
        if subprocess.run(cmd).returncode != 0:
            raise RuntimeError(f"Setup stopped: `{{' '.join(cmd)}}` failed (its message is above). Check the "
                               "runtime's internet connection, then run this cell again.")
    sys.path.insert(0, HOME)
    os.chdir(HOME + "/notebooks")

from deepfake_utils.notebook import setup

cfg = setup(quick=QUICK, drive_out=DRIVE_OUT)  # mode, seeds, plot style, versions, GPU, training plan and ETA
'''

# Libraries whose version matters, by distribution name -> import name (dlib comes from an extra or Colab).
KEY_LIBRARIES = {"numpy": "numpy", "opencv-python-headless": "cv2", "scikit-image": "skimage",
                 "tensorflow": "tensorflow", "matplotlib": "matplotlib", "scikit-learn": "sklearn"}
DLIB_MIN = "19.24"


def gpu_summary() -> str:
    """A one-line description of the NVIDIA GPU(s) visible to this machine, or 'no GPU'."""
    names = gpu_names()
    return "GPU: " + "; ".join(names) if names else "no GPU (CPU only: quick mode is the way to go)"


def _floors() -> dict[str, str]:
    """The lower bounds pyproject.toml declares for the key libraries, read from the installed package."""
    from packaging.requirements import Requirement

    floors = {}
    for line in metadata.requires("deepfake-utils") or []:
        req = Requirement(line)
        if req.name in KEY_LIBRARIES and not req.marker:
            for spec in req.specifier:
                if spec.operator == ">=":
                    floors[req.name] = spec.version
    return floors


def _loaded_version(dist: str, module: str) -> str | None:
    """The version in use: the imported module's if already imported (a pip upgrade needs a restart), else pip's."""
    if module in sys.modules:
        return getattr(sys.modules[module], "__version__", None)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def version_problems(floors: dict[str, str] | None = None, versions: dict[str, str | None] | None = None) -> list[str]:
    """Readable problems with the key libraries' versions (empty when all is well).

    ``floors`` (default: pyproject's) and ``versions`` (default: what this kernel has) are for tests.
    """
    from packaging.version import Version

    floors = _floors() if floors is None else floors
    if versions is None:
        versions = {dist: _loaded_version(dist, module) for dist, module in KEY_LIBRARIES.items()}
        try:
            import dlib

            versions["dlib"] = dlib.__version__
        except ImportError:
            versions["dlib"] = None
    floors = {**floors, "dlib": floors.get("dlib", DLIB_MIN)}
    problems = []
    for dist, floor in floors.items():
        found = versions.get(dist, "missing")
        if found is None or found == "missing":
            fix = ('pip install "dlib-bin>=19.24" (or conda-forge\'s dlib)' if dist == "dlib"
                   else f'pip install "{dist}>={floor}"')
            problems.append(f"{dist} is not installed; the course needs >= {floor}. Fix: {fix}.")
        elif Version(found.split("+")[0]) < Version(floor):
            problems.append(f"{dist} {found} is older than the course needs (>= {floor}). Fix: "
                            f'pip install -U "{dist}>={floor}", then restart the kernel (Colab: Runtime → '
                            "Restart session) and run this cell again.")
    return problems


def use_drive_for_out(folder: str | os.PathLike, repo_root: str | os.PathLike) -> Path:
    """Make ``repo_root/out`` a link to ``folder`` (a Google Drive folder on Colab), so models survive a disconnect."""
    target, out = Path(folder).expanduser(), Path(repo_root) / "out"
    target.mkdir(parents=True, exist_ok=True)
    if out.is_symlink():
        if out.resolve() == target.resolve():
            return target
        out.unlink()
    elif out.exists():
        if any(out.iterdir()):
            raise DeepfakeError(f"{out} already holds results; move them into {target} and run the setup cell again")
        out.rmdir()
    out.symlink_to(target, target_is_directory=True)
    return target


def choose_mode(quick: bool | None) -> bool:
    """Quick or full mode: ``DEEPFAKE_QUICK`` from the environment wins, else the notebook's QUICK switch."""
    if QUICK_FROM_ENV is not None or quick is None:
        return settings().quick
    os.environ[QUICK_ENV] = "1" if quick else "0"  # read by config.settings(), the one place that decides
    return bool(quick)


def training_plan(cfg: Settings) -> str:
    """One line: what the training notebooks (07, 08) will train on this machine, and about how long it takes."""
    gpu, cores = bool(gpu_names()), cpu_cores()
    eta = train_eta_minutes(cfg, gpu, cores)
    where = "the GPU" if gpu else f"{cores} CPU core{'s' if cores != 1 else ''}"
    text = (f"training plan (notebook 07): preset {cfg.train_preset}, {cfg.train_steps:,} steps at batch "
            f"{cfg.batch_size} per side on {where}: about {eta:.0f} min" if eta >= 1 else
            f"training plan (notebook 07): preset {cfg.train_preset}, {cfg.train_steps:,} steps at batch "
            f"{cfg.batch_size} per side on {where}: under a minute")
    if not cfg.quick and not gpu:
        text += " (full mode on a CPU trains the tiny model; the original model needs a GPU)"
    return text + " (estimate: benchmarks/README.md)"


def setup(seed: int | None = None, *, quick: bool | None = None, drive_out: str = "", verbose: bool = True,
          check_versions: bool = True) -> Settings:
    """Choose the mode, seed numpy/random, set the plot style, check versions, report the GPU and the training
    plan; on Colab, optionally keep ``out/`` on Google Drive. Returns the settings."""
    configure()
    import matplotlib.pyplot as plt

    if check_versions:
        problems = version_problems()
        if problems:
            raise DeepfakeError("the installed libraries do not fit the course:\n  " + "\n  ".join(problems))
    if drive_out:
        if "google.colab" in sys.modules:
            from google.colab import drive  # type: ignore[import-not-found]

            drive.mount("/content/drive")
        where = use_drive_for_out(drive_out, Path(__file__).resolve().parents[1])
        if verbose:
            print(f"out/ is kept in {where}: training resumes from there after a disconnect")
    choose_mode(quick)
    cfg = settings()
    seed = cfg.seed if seed is None else seed
    random.seed(seed)
    np.random.seed(seed)  # only for third-party code: the course itself passes Generators around
    plt.rcParams.update({"figure.dpi": 90, "axes.grid": False, "image.interpolation": "antialiased",
                         "font.size": 10})
    if verbose:
        mode = "QUICK (few frames, small sizes)" if cfg.quick else "FULL"
        source = f" (from {QUICK_ENV}={QUICK_FROM_ENV})" if QUICK_FROM_ENV is not None else ""
        print(f"deepfake-course | mode: {mode}{source} | seed {seed} | {gpu_summary()}")
        print(training_plan(cfg))
    return cfg
