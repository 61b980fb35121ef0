"""The one-call setup of every course notebook: quick or full mode, seeds, plot style, library versions,
accelerator, the training plan with its ETA, and (on Colab) a Google Drive folder for ``out/``.

The first cell of every notebook is ``SETUP_CELL`` below, character for character
(``tests/test_notebooks.py`` checks it): on Colab it clones the course and installs this package (the
package does not exist yet there, so that part cannot live here), then calls :func:`setup`. Its code is
folded away (``SETUP_METADATA``), so that a page opens with the lesson: Colab shows the cell as a form (its
title and the two switches), JupyterLab as a collapsed cell, the book behind a "show code" toggle; the
outputs (mode, versions, the training plan) stay in view.

Colab's rules (checked on ``COLAB_RULE_CHECKED``): Colab's FAQ lists creating deepfakes among the activities
disallowed on all managed Colab runtimes, paid plans included. So only the notebooks in ``HOSTED_COLAB`` (they
make no face swap) carry an "Open in Colab" badge, and :func:`guard_generative` stops a notebook on a managed
runtime before it trains, converts or otherwise makes a swap. Colab's interface driving a Jupyter server on the
learner's own or institution's machine (a *local runtime*) is not a managed runtime.
"""
from __future__ import annotations

import math
import os
import random
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from .. import configure
from ..config import QUICK_ENV, Settings, cpu_cores, gpu_names, settings, tensorflow_gpus, train_eta_minutes
from ..errors import DeepfakeError

REPO_URL = "https://github.com/deepfake-course/deepfake-course"  # = pyproject's [project.urls] Repository (tested)
COLAB_HOME = "/content/deepfake-course"
QUICK_FROM_ENV = os.environ.get(QUICK_ENV)  # set before the kernel started (CI, `DEEPFAKE_QUICK=1 make lab`): wins

SETUP_CELL = f'''\
#@title Setup: run me first (QUICK: a few frames and a small model, minutes on a CPU; untick it for the full course)
# DRIVE_OUT (Colab only): a Google Drive folder for out/, e.g. /content/drive/MyDrive/deepfake-course,
# so that results survive a disconnect.
QUICK = True  #@param {{type:"boolean"}}
DRIVE_OUT = ""  #@param {{type:"string"}}
import os
import subprocess
import sys

if "google.colab" in sys.modules:  # fetch and install the course once per runtime; stop with a reason on failure
    from importlib.metadata import PackageNotFoundError, version

    HOME, REPO = "{COLAB_HOME}", "{REPO_URL}"
    KEEP = "/tmp/deepfake-course-keep.txt"
    with open(KEEP, "w") as keep:  # Colab's own TensorFlow, Keras and numpy stay: pip may add, never replace them
        for dist in ("tensorflow", "keras", "numpy"):
            try:
                keep.write(f"{{dist}}=={{version(dist)}}\\n")
            except PackageNotFoundError:
                pass
    steps = [] if os.path.isdir(HOME + "/.git") else [["git", "clone", "-q", "--depth", "1", REPO, HOME]]
    if not os.path.exists(HOME + "/.installed"):
        steps += [[sys.executable, "-m", "pip", "install", "-q", "-c", KEEP, "-e", HOME],
                  [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "face_recognition==1.3.0"],
                  ["touch", HOME + "/.installed"]]
    for cmd in steps:
        if subprocess.run(cmd).returncode != 0:
            raise RuntimeError(f"Setup stopped: `{{' '.join(cmd)}}` failed (its message is above). Check the "
                               "runtime's internet connection. If pip reports a conflict, this runtime's "
                               "TensorFlow, Keras or numpy is older than the course needs: the setup does not "
                               "upgrade them in place (README: Colab and GPUs).")
    sys.path.insert(0, HOME)
    os.chdir(HOME + "/notebooks")

from deepfake_utils.course.notebook import setup

cfg = setup(quick=QUICK, drive_out=DRIVE_OUT)  # mode, seeds, plot style, versions, GPU, training plan and ETA
'''

#: The setup cell's metadata in every notebook: Colab's form view, JupyterLab's collapsed source, the book's toggle.
SETUP_METADATA = {"cellView": "form", "jupyter": {"source_hidden": True}, "tags": ["hide-input"]}

# Libraries whose version matters, by distribution name -> import name (dlib comes from an extra or Colab).
KEY_LIBRARIES = {"numpy": "numpy", "opencv-python-headless": "cv2", "scikit-image": "skimage",
                 "tensorflow": "tensorflow", "matplotlib": "matplotlib", "scikit-learn": "sklearn"}
DLIB_MIN = "19.24"
COLAB_KEEP = ("tensorflow", "keras", "numpy")  # Colab's own copies, never upgraded in place (see SETUP_CELL)


# The one list of notebooks that may carry a hosted-Colab badge (the notebook lint and the README's table read it):
# those that make no face swap. 07-09 train, convert and compare swaps; 10 makes its own swap before its lessons on
# simulated artifacts, which use that swap throughout, so it cannot run on a managed runtime without it (yet).
HOSTED_COLAB = ("00", "01", "02", "03", "04", "05", "06")
COLAB_FAQ = "https://research.google.com/colaboratory/faq.html"
COLAB_RULE_CHECKED = "2026-12-04"  # the day Colab's FAQ was last read for this rule
# How a managed runtime is recognised: the kernel has imported google.colab (Colab's own kernel does so at start; a
# plain Jupyter kernel, including one Colab's interface drives as a local runtime, does not) AND one of the marks of
# Colab's runtime image is present: the environment variables below or the /var/colab folder (colabtools' drive
# module reads files there). Colab's Docker runtime image, run as a local runtime, may carry the same marks, so the
# guard stops there too: the local-runtime route the README gives is a plain Jupyter server in the course's own
# environment. Kaggle's image sets COLAB_RELEASE_TAG too, which is why the marks alone are not enough.
COLAB_ENV_MARKS = ("COLAB_RELEASE_TAG", "COLAB_GPU", "COLAB_BACKEND_VERSION")
COLAB_VM_DIR = Path("/var/colab")
GPU_CHECK = "python -c \"import tensorflow as tf; print(tf.config.list_physical_devices('GPU'))\""


class ColabRuleError(DeepfakeError):
    """A step that would make a face swap was stopped on a managed Colab runtime, where Colab's rules forbid it."""


def hosted_colab_allowed(name: str) -> bool:
    """True for a notebook (``"07_training.ipynb"`` or ``"07"``) that may carry an "Open in Colab" badge."""
    return name[:2] in HOSTED_COLAB


def on_managed_colab() -> bool:
    """True in a kernel on one of Colab's managed runtimes (signals and their limits: ``COLAB_ENV_MARKS``' comment)."""
    if "google.colab" not in sys.modules:
        return False
    return managed_colab_machine()


def managed_colab_machine() -> bool:
    """True on a machine of Colab's managed runtimes, in any process (a ``!python -m deepfake_utils ...`` cell runs
    in a subprocess that never imports ``google.colab``); Kaggle, whose image also sets Colab's release tag, is not."""
    if "KAGGLE_KERNEL_RUN_TYPE" in os.environ or "KAGGLE_URL_BASE" in os.environ:
        return False
    return any(mark in os.environ for mark in COLAB_ENV_MARKS) or COLAB_VM_DIR.is_dir()


def colab_rule(what: str) -> str:
    """The explanation a notebook prints when it stops before ``what`` on a managed Colab runtime."""
    return (f"Stopped before this step would {what}. On Colab's managed runtimes (free and paid plans) Colab's FAQ "
            f"lists creating deepfakes among the disallowed activities ({COLAB_FAQ}, checked {COLAB_RULE_CHECKED}), "
            "and this step makes a face swap. Everything above it ran as usual. To run this notebook: on your own "
            "computer (`make lab`), on a GPU machine you may use (your lab, a university JupyterHub, a cloud VM under "
            "its provider's rules), or with Colab's interface connected to such a machine as a local runtime "
            "(README: Colab and GPUs).")


def guard_generative(what: str) -> None:
    """Stop with :func:`colab_rule`'s explanation on a managed Colab runtime; do nothing anywhere else."""
    if on_managed_colab():
        raise ColabRuleError(colab_rule(what))


CLI_PROGRESS_SECONDS = 20.0  # run_cli shows a command's progress bar at most this often (and when it ends)
PROGRESS_LINE = re.compile(r"^(.*?):\s+(\d+)%\|")  # a tqdm bar: "desc:  42%|████ | 17/40 [...]"


def run_cli(*args: object) -> str:
    """Run ``python -m deepfake_utils ARGS`` in a new process, as a terminal would (notebook 11: the learner's own
    pair): print the command, ready to copy into a terminal, then its output as it comes (a progress bar every
    ``CLI_PROGRESS_SECONDS`` and at its end); return the output. A failing command raises :class:`DeepfakeError`
    with its last lines. On a managed Colab machine the command line itself refuses to train or convert
    (``cli.GENERATIVE_COMMANDS``)."""
    argv = [str(arg) for arg in args]
    print("$ python -m deepfake_utils " + shlex.join(argv), flush=True)
    lines, shown, ended = [], {}, set()
    with subprocess.Popen([sys.executable, "-m", "deepfake_utils", *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout or ():  # text mode: each redraw of a progress bar arrives as a line of its own
            if not line.strip():
                continue
            lines.append(line)
            bar = PROGRESS_LINE.match(line)
            if bar:
                desc, now = bar.group(1), time.monotonic()
                if desc in ended or (bar.group(2) != "100" and now - shown.get(desc, -math.inf) < CLI_PROGRESS_SECONDS):
                    continue
                shown[desc] = now
                if bar.group(2) == "100":
                    ended.add(desc)
            print(line, end="", flush=True)
    if proc.returncode != 0:
        tail = "".join(lines[-5:]).strip() or "(no output)"
        raise DeepfakeError(f"`python -m deepfake_utils {shlex.join(argv)}` failed (exit {proc.returncode}): {tail}")
    return "".join(lines)


def gpu_summary() -> str:
    """One line: the NVIDIA GPU(s) nvidia-smi lists and whether TensorFlow sees them (TensorFlow is imported only
    where nvidia-smi lists a GPU, or where it is already imported), or 'no GPU'."""
    names, usable = gpu_names(), tensorflow_gpus()
    if not names and not usable:
        return "no GPU (CPU only: quick mode is the way to go)"
    listed = "GPU: " + "; ".join(names) + " | " if names else ""
    if usable:
        return f"{listed}GPU seen by TensorFlow: {len(usable)}"
    return (f"{listed}GPU NOT seen by TensorFlow, so it trains on the CPU. Install TensorFlow's CUDA libraries: "
            f'pip install -e ".[gpu]" (README: Colab and GPUs), restart the kernel; check: {GPU_CHECK}')


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


def version_problems(floors: dict[str, str] | None = None, versions: dict[str, str | None] | None = None,
                     colab: bool | None = None) -> list[str]:
    """Readable problems with the key libraries' versions (empty when all is well).

    ``floors`` (default: pyproject's), ``versions`` (default: what this kernel has) and ``colab`` (default: whether
    this kernel is Colab's) are for tests.
    """
    from packaging.version import Version

    floors = _floors() if floors is None else floors
    colab = "google.colab" in sys.modules if colab is None else colab
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
        elif Version(found.split("+")[0]) < Version(floor) and colab and dist in COLAB_KEEP:
            problems.append(f"{dist} {found} (this Colab runtime's own) is older than the course needs (>= {floor}). "
                            "The setup does not upgrade it in place (that breaks the runtime's other packages): "
                            "choose the latest runtime version (Runtime → Change runtime type), or run the course "
                            "locally (README: Colab and GPUs).")
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
    gpu, cores = bool(tensorflow_gpus()), cpu_cores()
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
        where = use_drive_for_out(drive_out, Path(__file__).resolve().parents[2])
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
        if on_managed_colab():
            print("Colab, managed runtime: the stages that make no face swap run here; a step that would train, "
                  f"convert or otherwise make one stops with the reason (Colab's FAQ: {COLAB_FAQ}).")
    return cfg


def yours_or(yours: Callable, ours: Callable, *probe: object) -> tuple[Callable, str]:
    """``yours`` and "yours" if it runs on ``probe``, else ``ours`` and why (a stub, or the error it raised).

    The "your function in the pipeline" cells use it, so that Run All goes on while an exercise is undone.
    """
    try:
        yours(*probe)
    except NotImplementedError:
        print("your function is still the stub: the package's own runs in its place (fill it in, run again)")
        return ours, "the package's (yours is a stub)"
    except Exception as error:  # noqa: BLE001  (the learner's bug, named; Run All goes on)
        print(f"your function raised {type(error).__name__}: {error}; the package's own runs in its place")
        return ours, "the package's (yours raised)"
    return yours, "yours"
