"""The package's one checkpoint/resume mechanism and training loop, shared by the autoencoder trainer
(``train.Trainer``, stage 7) and the GAN trainer (``gan_train.GanTrainer``, stage 9), and the one loader of
a trained model of either kind (``load``).

Checkpoint layout of a model folder::

    state.json        kind of model, step, seed, batch size, learning rates, what the trainer needs to rebuild
                      the model (preset, recipe or loss settings, colour shift), training seconds, loss history,
                      current and previous checkpoint
    ckpt-000200/      the networks and all their optimizers (a tf.train.Checkpoint)
    ckpt-000100/      the previous one, kept until the next save completes
    preview.png       original / rebuilt / swapped faces (the GAN adds its masks), the latest
    previews/         every preview kept, step_000100.png, step_000200.png, ... (about 160 kB each at 64 px,
                      far less than a checkpoint): the frames of a time-lapse of training
                      (``kept_previews``, ``viz.timelapse_gif``; ``fit(keep_previews=False)`` keeps none)

A save writes a new checkpoint folder under a temporary name, renames it into place, then replaces
``state.json``; a kill at any moment leaves the last complete checkpoint loadable. A damaged newest
checkpoint falls back to the previous one (set aside as ``damaged-ckpt-*``, with a warning); a NaN loss
stops training and keeps the last good checkpoint; Ctrl-C saves the step reached. Each preview is written
atomically too; a resumed run keeps the earlier ones and drops those of steps after its checkpoint (a crash
lost those weights), so the kept previews always show the training that led to the model.
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from . import warp
from .blend import colour_shift, shift_colour
from .choices import MODEL_KINDS, GanPreset, Preset
from .errors import DeepfakeError, DeepfakeWarning, OutputError
from .fileio import _output_error, _stale_in, no_space, remove_stale_temp_files, write_image, write_json_atomic
from .gan import GanModel, build_gan
from .images import to_uint8
from .model import COVERAGE, SwapModel, build

STATE_FILE = "state.json"
STATE_VERSION = 1
STATE_KEYS = ("step", "seed", "batch_size", "preset", "checkpoint")  # what a state.json must hold
PREVIEWS = "previews"  # the folder of the kept previews, one per preview written
PREVIEW_NAME = re.compile(r"step_(\d+)\.png")
TMP_CKPT = re.compile(r"\.tmp-ckpt-\d+-(\d+)-\d+")  # a checkpoint being written: .tmp-ckpt-STEP-PID-NS


class TrainingError(DeepfakeError):
    """Training cannot go on (for example, the loss became NaN)."""


class CheckpointError(DeepfakeError):
    """A model folder's checkpoint is missing, corrupt or does not fit the model."""


def read_state_file(path: Path) -> dict:
    """A model folder's ``state.json``, checked (a clear ``CheckpointError`` if it is unreadable or not one)."""
    try:
        state = json.loads(path.read_bytes().decode())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        what = "binary data, not JSON" if isinstance(exc, UnicodeDecodeError) else str(exc)
        raise CheckpointError(f"{path}: unreadable ({what}); restore it from a backup or use a new model folder "
                              "(the checkpoint folders beside it are kept)") from exc
    if (not isinstance(state, dict) or state.get("version") != STATE_VERSION
            or any(key not in state for key in STATE_KEYS)):
        raise CheckpointError(f"{path}: not a version-{STATE_VERSION} training state; restore it from a backup or "
                              "use a new model folder")
    return state


def read_state(model_dir: str | os.PathLike) -> dict | None:
    """The state of a model folder, None for a new folder (a folder of checkpoints without one is damaged)."""
    model_dir = Path(model_dir)
    path = model_dir / STATE_FILE
    if not path.exists():
        if model_dir.is_dir() and any(model_dir.glob("ckpt-*")):
            raise CheckpointError(f"{model_dir}: checkpoint folders but no {STATE_FILE}; "
                                  "the folder is damaged (restore state.json or use a new folder)")
        return None
    return read_state_file(path)


def model_kind(state: dict) -> str:
    """The kind of model a state describes: 'autoencoder' (also folders from before the GAN) or 'gan'."""
    return state.get("model", "autoencoder")


def read_model_state(model_dir: str | os.PathLike, kind: str) -> dict:
    """The state.json of a trained model folder that must hold a model of ``kind`` ('autoencoder' or 'gan')."""
    path = Path(model_dir) / STATE_FILE
    if not path.exists():
        flag = " --model gan" if kind == "gan" else ""
        raise CheckpointError(f"{model_dir}: no trained model here (no {STATE_FILE}); train one first with "
                              f"`python -m deepfake_utils train A_DIR B_DIR MODEL_DIR{flag} --steps N`")
    state = read_state_file(path)
    if model_kind(state) != kind:
        raise CheckpointError(f"{model_dir}: holds {MODEL_KINDS[model_kind(state)]}, not {MODEL_KINDS[kind]}; "
                              "load it with checkpoint.load (either kind)")
    return state


def saved_kind(model_dir: str | os.PathLike) -> str | None:
    """The kind of model a folder holds ('autoencoder' or 'gan'), None if it holds none yet (no TensorFlow needed)."""
    state = read_state(model_dir)
    return None if state is None else model_kind(state)


def checkpoint_step(name: str) -> int:
    """The step a checkpoint folder's name records (``ckpt-000200`` -> 200)."""
    return int(name.rsplit("-", 1)[1])


def load_one(ckpt: tf.train.Checkpoint, folder: Path, partial: bool) -> None:
    """Load one checkpoint folder into ``ckpt`` (``partial``: the folder may hold more, e.g. optimizers)."""
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: checkpoint missing")
    try:
        status = ckpt.read(str(folder / "ckpt"))
        if partial:
            status.expect_partial().assert_existing_objects_matched()
        else:
            status.assert_consumed()
    except (tf.errors.OpError, ValueError, AssertionError, IndexError, KeyError) as exc:
        raise CheckpointError(f"{folder}: cannot load this checkpoint ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0][:200]}); it is corrupt or from another model") from exc


def read_checkpoint(ckpt: tf.train.Checkpoint, model_dir: Path, state: dict, *, partial: bool = False) -> Path:
    """Load the model folder's current checkpoint into ``ckpt`` (``partial``: it may hold more, e.g. optimizers);
    if it is missing or damaged, the previous one, with a ``DeepfakeWarning``. Returns the folder loaded."""
    folder = model_dir / state["checkpoint"]
    try:
        load_one(ckpt, folder, partial)
        return folder
    except CheckpointError as exc:
        if not state.get("previous"):
            raise
        first = exc
    previous = model_dir / state["previous"]
    try:
        load_one(ckpt, previous, partial)
    except CheckpointError as exc:
        raise CheckpointError(f"{first}; the previous one cannot be loaded either ({exc}); restore the folder from "
                              "a backup or use a new model folder") from exc
    warnings.warn(f"{first}; fell back to the previous checkpoint, {previous.name} (step "
                  f"{checkpoint_step(previous.name)}): the steps since then are trained again", DeepfakeWarning,
                  stacklevel=3)
    return previous


def clean_temp_checkpoints(model_dir: Path) -> None:
    """Remove the half-written checkpoints of runs that died while saving (their process is gone)."""
    for entry in _stale_in(model_dir, TMP_CKPT):
        shutil.rmtree(entry, ignore_errors=True)


def kept_previews(model_dir: str | os.PathLike) -> list[tuple[int, Path]]:
    """The previews a model folder kept over its training, as (step, picture file) in step order."""
    folder = Path(model_dir) / PREVIEWS
    if not folder.is_dir():
        return []
    found = ((PREVIEW_NAME.fullmatch(p.name), p) for p in folder.iterdir())
    return sorted((int(match.group(1)), p) for match, p in found if match)


def preview_file(model_dir: str | os.PathLike, step: int) -> Path:
    """Where a model folder keeps the preview of ``step`` (``previews/step_000150.png``)."""
    return Path(model_dir) / PREVIEWS / f"step_{step:06d}.png"


DATA_SAMPLE = 64  # faces per side whose thumbnails' hashes state.json keeps (what the model was trained on)


def _face_hashes(faces: list[np.ndarray]) -> list[str]:
    """Short hashes of up to DATA_SAMPLE faces' 16x16 grey thumbnails, spread over the list."""
    import hashlib

    import cv2

    picked = np.linspace(0, len(faces) - 1, min(len(faces), DATA_SAMPLE)).round().astype(int) if faces else []
    return [hashlib.sha1(cv2.resize(cv2.cvtColor(faces[i], cv2.COLOR_RGB2GRAY), (16, 16),
                                    interpolation=cv2.INTER_AREA).tobytes()).hexdigest()[:10] for i in picked]


def data_fingerprint(faces_a: list[np.ndarray], faces_b: list[np.ndarray]) -> dict:
    """What identifies the faces a model is trained on (state.json's "data"): per side, its count and hashes."""
    return {"a": {"faces": len(faces_a), "hashes": _face_hashes(faces_a)},
            "b": {"faces": len(faces_b), "hashes": _face_hashes(faces_b)}}


def _overlap(saved: dict, now: dict) -> float:
    """The share of the saved faces' hashes found among the new ones (1: the same faces, maybe with more)."""
    hashes = saved.get("hashes") or []
    return len(set(hashes) & set(now.get("hashes") or [])) / len(hashes) if hashes else 1.0


def data_change(saved: dict | None, now: dict) -> str | None:
    """How the faces behind a model changed (A and B swapped, another person), or None when they are the same."""
    if not saved:
        return None  # a model saved before the data was recorded
    if _overlap(saved["a"], now["b"]) >= 0.5 and _overlap(saved["b"], now["a"]) >= 0.5:
        return "A and B are swapped (its A faces are given as B and its B faces as A)"
    changed = [side.upper() for side in ("a", "b") if _overlap(saved[side], now[side]) < 0.5]
    if changed:
        return (f"the faces of {' and '.join(changed)} are not those it was trained on (fewer than half of them are "
                "in the folder)")
    return None


def preview_faces(faces: list[np.ndarray], n: int = 4, size: int = 64, coverage: int = COVERAGE) -> np.ndarray:
    """The first ``n`` faces (repeated if there are fewer) as unwarped training targets, float (n, size, size, 3)."""
    picks = [warp.random_warp(faces[i % len(faces)], np.random.default_rng(0), sigma=0, coverage=coverage,
                              size=size)[1] for i in range(n)]
    return np.stack(picks).astype(np.float32) / 255.0


def from_saved(cls: type, saved: dict) -> Any:
    """A preset (a frozen dataclass) rebuilt from its state.json record (JSON lists back to tuples)."""
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()})


def saved_preset(state: dict) -> Preset | GanPreset:
    """The preset a model folder's state.json records (the autoencoder's or the GAN's)."""
    return from_saved(GanPreset if model_kind(state) == "gan" else Preset, state["preset"])


def load(model_dir: str | os.PathLike) -> SwapModel | GanModel:
    """The trained model of a model folder, either kind (state.json says which), with its last checkpoint's
    weights, framing (coverage) and colour shift: what conversion and the notebooks use."""
    model_dir = Path(model_dir)
    state = read_state(model_dir)
    if state is None:
        read_model_state(model_dir, "autoencoder")  # the clear error for a folder with no model
    shift = tuple(state["colour_shift"]) if state.get("colour_shift") else None
    if model_kind(state) == "gan":
        gan = build_gan(saved_preset(state), discriminators=False, coverage=state.get("coverage", COVERAGE),
                        colour_shift=shift)
        read_checkpoint(tf.train.Checkpoint(encoder=gan.encoder, decoder_a=gan.decoder_a, decoder_b=gan.decoder_b),
                        model_dir, state, partial=True)
        return gan
    model = build(saved_preset(state))
    read_checkpoint(tf.train.Checkpoint(**model.parts()), model_dir, state, partial=True)
    recipe = state.get("recipe") or {}  # folders from before recipes: the original's framing
    return replace(model, coverage=recipe.get("coverage", COVERAGE), colour_shift=shift)


def preview_picture(side_a: np.ndarray, side_b: np.ndarray) -> np.ndarray:
    """The trainers' preview: side A's columns beside side B's, one face per row, float 0..1 to uint8."""
    grid = np.concatenate([side_a, side_b], axis=2)
    return to_uint8(np.concatenate(list(grid), axis=0))


class CheckpointedTrainer:
    """What every trainer of the package shares: the model folder, atomic checkpoints, exact resume (step,
    optimizers, data stream, learning rates, training clock), the training loop with its time budget, NaN
    stop, Ctrl-C save, progress bar, preview picture and loss history.

    A subclass builds its networks and optimizers, sets ``_ckpt`` (a ``tf.train.Checkpoint`` holding them
    and ``_step_var``), and supplies the pieces marked "subclass" below.
    """

    kind = "autoencoder"  # subclass: the model kind recorded in state.json
    history_columns: tuple[str, ...] = ("loss A", "loss B")  # subclass: the losses of one step, in order

    model_dir: Path
    preset: Any  # subclass: the model's preset (its ``size`` is the face size in px)
    coverage: int  # px of the 256 px aligned crop the model sees
    seed: int
    batch_size: int
    learning_rate: float
    colour_shift: tuple[float, float, float] | None
    train_seconds: float
    _ckpt: tf.train.Checkpoint
    _step_var: tf.Variable

    # --- opening a folder -----------------------------------------------------------------------
    def _open(self, model_dir: str | os.PathLike, batch_size: int | None,
              learning_rate: float | None) -> dict | None:
        """Check the arguments every trainer takes, clean up after dead runs and read the folder's state."""
        self.model_dir = Path(model_dir)
        if batch_size is not None and batch_size < 1:
            raise DeepfakeError(f"batch size {batch_size}: must be at least 1")
        if learning_rate is not None and not learning_rate > 0:
            raise DeepfakeError(f"learning rate {learning_rate}: must be positive (e.g. 5e-5)")
        self.changes: list[str] = []  # what this run changed of the saved training (for the log)
        clean_temp_checkpoints(self.model_dir)
        state = read_state(self.model_dir)
        if state is not None and model_kind(state) != self.kind:
            saved = model_kind(state)
            raise CheckpointError(f"{self.model_dir}: holds {MODEL_KINDS.get(saved, saved)}, "
                                  f"not {MODEL_KINDS[self.kind]}; "
                                  f"train it with --model {saved}, or use another folder to start a new model")
        return state

    def _check_stream(self, state: dict, seed: int | None, batch_size: int | None) -> None:
        """Refuse a resumed run that changes what defines the data stream (the seed, the batch size)."""
        for name, given, kept, why in (
                ("seed", seed, state["seed"], "the seed chooses the training pairs and their warps"),
                ("batch-size", batch_size, state["batch_size"], "the data stream is indexed by step x batch")):
            if given is not None and given != kept:
                raise CheckpointError(f"{self.model_dir}: was trained with --{name} {kept}, not {given} ({why}, "
                                      f"so a resumed run must keep it); leave --{name} out to resume, or use "
                                      "another folder to start a new model")

    def _start(self, state: dict | None, learning_rate: float | None) -> None:
        """After the networks and ``_ckpt`` exist: the history and clocks of a new run, or a resume."""
        self.history: list[list[float]] = []
        self.input_waits: list[float] = []  # seconds each step of the last ``fit`` waited for its batch
        self._state = state
        self._rates = [[0, self.learning_rate]]  # [first step, learning rate] of each rate used (state.json)
        if state is not None:
            self._restore(state, learning_rate)

    # --- subclass -------------------------------------------------------------------------------
    def _apply_learning_rate(self) -> None:
        """Set ``self.learning_rate`` on the optimizers."""
        raise NotImplementedError

    def _restored_learning_rate(self) -> float:
        """The learning rate the restored optimizers hold (for folders whose state.json does not record it)."""
        raise NotImplementedError

    def _before_step(self, progress: float) -> None:
        """Called before every step with the share of this run's budget done (0..1): a schedule's place."""

    def _state_fields(self) -> dict:
        """What state.json records beside the common fields: what rebuilds the model (preset, recipe, ...)."""
        raise NotImplementedError

    @property
    def colour_mode(self) -> str:
        """'shift' (A's faces moved to B's mean colour in training and conversion), 'raw', or 'rct' (B's training
        faces in A's colours, ``train.pair_dataset``'s ``recolour``; A's as they are, in conversion too)."""
        raise NotImplementedError

    @property
    def label(self) -> str:
        """What the progress bar calls this training."""
        raise NotImplementedError

    def datasets(self, faces_a: list[np.ndarray], faces_b: list[np.ndarray]) -> tf.data.Dataset:
        """The training batches of both sides, positioned at the current step."""
        raise NotImplementedError

    def _train_one(self, batch) -> tuple[float, ...]:
        """One training step on one batch of ``datasets``; the losses of ``history_columns``."""
        raise NotImplementedError

    def _preview_inputs(self, faces_a: list[np.ndarray], faces_b: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The fixed faces the preview shows (made once per ``fit``), framed as the model sees them."""
        return (preview_faces(faces_a, size=self.preset.size, coverage=self.coverage),
                preview_faces(faces_b, size=self.preset.size, coverage=self.coverage))

    def _preview(self, inputs) -> np.ndarray:
        """The preview picture of the current weights, uint8."""
        raise NotImplementedError

    # --- common ---------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        """The number of training steps done so far (both sides update once per step)."""
        return int(self._step_var.numpy())

    def _restore(self, state: dict, learning_rate: float | None) -> None:
        folder = read_checkpoint(self._ckpt, self.model_dir, state)
        expected = checkpoint_step(folder.name)
        if self.step != expected:
            raise CheckpointError(f"{folder}: holds step {self.step}, but its name says {expected}; the folder is "
                                  "damaged: restore it from a backup or use a new model folder")
        self.history = [h for h in state.get("history", []) if h[0] <= self.step]
        if folder.name != state["checkpoint"]:  # fell back: the damaged newest is set aside, not deleted
            damaged = self.model_dir / state["checkpoint"]
            if damaged.exists():
                os.replace(damaged, self.model_dir / f"damaged-{damaged.name}")
            self.train_seconds = float(state.get("previous_train_seconds") or self.train_seconds)
            state = {**state, "step": self.step, "checkpoint": folder.name, "previous": None}
            self._state = state
        # Adam restores the learning rate it was saved with: a new one is set again and recorded
        saved_rate = float(state.get("learning_rate") or self._restored_learning_rate())
        self._rates = [r for r in state.get("learning_rates") or [[0, saved_rate]] if r[0] <= self.step]
        if learning_rate is None:
            self.learning_rate = saved_rate
        elif not np.isclose(learning_rate, saved_rate, rtol=1e-6, atol=0):
            self.changes.append(f"learning rate {saved_rate:g} -> {learning_rate:g} from step {self.step} "
                                "(recorded in state.json)")
            self._rates.append([self.step, self.learning_rate])
        self._apply_learning_rate()

    def _keep_old_data(self, change: str) -> None:
        """Copy the checkpoints of the old faces to ``old-data-<name>`` (rotation never deletes them)."""
        for folder in sorted(self.model_dir.glob("ckpt-*")):
            kept = self.model_dir / f"old-data-{folder.name}"
            if not kept.exists():
                shutil.copytree(folder, kept)
        self.changes.append(f"faces: {change}; the checkpoints of the old faces are kept as old-data-ckpt-*")

    def _checkpoint_bytes(self) -> int:
        """About how many bytes a checkpoint takes: the last one's files, else the variables it holds."""
        last = self.model_dir / self._state["checkpoint"] if self._state else None
        if last is not None and last.is_dir():
            return sum(p.stat().st_size for p in last.rglob("*") if p.is_file())
        variables = [v for v in tf.train.TrackableView(self._ckpt).descendants()
                     if isinstance(v, (tf.Variable, keras.Variable))]
        return sum(int(np.prod(v.shape)) * tf.as_dtype(v.dtype).size for v in variables)

    def _full_disk(self, final: Path, kept: str) -> OutputError:
        """The error of a checkpoint that did not fit: where, about how much it needs, what is kept."""
        return OutputError(f"{final}: cannot save the checkpoint: {no_space(self.model_dir, self._checkpoint_bytes())}"
                           f"; free some space there or choose another model folder{kept}")

    def save(self) -> Path:
        """Write a checkpoint of the current step atomically and keep the previous one; returns its folder.

        A failed write (disk full, read-only) raises ``OutputError`` and leaves the last checkpoint as it was.
        """
        name = f"ckpt-{self.step:06d}"
        final = self.model_dir / name
        tmp = self.model_dir / f".tmp-{name}-{os.getpid()}-{time.monotonic_ns()}"
        kept = (f"; the last checkpoint ({self._state['checkpoint']}, step {self._state['step']}) is kept"
                if self._state else "")
        try:
            self.model_dir.mkdir(parents=True, exist_ok=True)
            self._ckpt.write(str(tmp / "ckpt"))
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise self._full_disk(final, kept) from exc
            raise OutputError(f"{_output_error(final, exc, 'cannot save the checkpoint')}{kept}") from exc
        except tf.errors.OpError as exc:  # TensorFlow's own file writes: ENOSPC and EROFS come back as OpError
            shutil.rmtree(tmp, ignore_errors=True)
            text = str(exc)
            if "No space left on device" in text or "Disk quota exceeded" in text:
                raise self._full_disk(final, kept) from exc  # not TensorFlow's text: the folder and the size
            cause = text.strip().splitlines()[0][:200]
            raise OutputError(f"{final}: cannot save the checkpoint ({cause}); check the model folder and its "
                              f"permissions{kept}") from exc
        if self._state and self._state["checkpoint"] == name:  # the same step saved again: keep its previous
            previous, previous_seconds = self._state.get("previous"), self._state.get("previous_train_seconds")
        else:
            previous = self._state["checkpoint"] if self._state else None
            previous_seconds = self._state.get("train_seconds") if self._state else None
        state = {"version": STATE_VERSION, "model": self.kind, "step": self.step, "seed": self.seed,
                 "batch_size": self.batch_size, "learning_rate": self.learning_rate, **self._state_fields(),
                 "colour_shift": self.colour_shift, "train_seconds": round(self.train_seconds, 3),
                 "previous_train_seconds": previous_seconds,
                 "learning_rates": self._rates, "checkpoint": name, "previous": previous,
                 "data": getattr(self, "_data", None) or (self._state or {}).get("data"), "history": self.history}
        write_json_atomic(self.model_dir / STATE_FILE, state)
        self._state = state
        for old in self.model_dir.glob("ckpt-*"):
            if old.name not in (name, previous):
                shutil.rmtree(old, ignore_errors=True)
        return final

    def _drop_lost_previews(self) -> None:
        """Before training on: remove the kept previews of steps after the current one (of weights a crash lost,
        or of a run before the folder fell back to its previous checkpoint) and dead writers' temp files."""
        folder = self.model_dir / PREVIEWS
        remove_stale_temp_files(folder)
        for step, path in kept_previews(self.model_dir):
            if step > self.step:
                path.unlink(missing_ok=True)

    def fit(self, faces_a: list[np.ndarray], faces_b: list[np.ndarray], steps: int | None = None, *,
            minutes: float | None = None, save_every: int = 100, preview_every: int | None = None,
            progress: bool = True, on_step: Callable[..., None] | None = None,
            new_data: bool = False, keep_previews: bool = True) -> list[list[float]]:
        """Train until ``steps`` steps are done in total, or until ``minutes`` of training in total (a resumed
        run continues both counts), whichever comes first; returns the history of (step, *losses) rows
        (``history_columns`` names the losses: loss A and B for the autoencoder).

        The minutes are the wall time of the training loop, checkpoint and preview writes included.
        Faces are given as extracted: with ``colour_mode`` "shift" the trainer moves A's faces to B's mean
        colour and records the shift, so that ``convert`` feeds the model the same colours.
        ``save_every=0`` turns checkpoints and previews off (for benchmarks). Each preview (every ``preview_every``
        steps, by default with each checkpoint) replaces ``preview.png`` and is kept as
        ``previews/step_NNNNNN.png`` unless ``keep_previews`` is False. ``on_step(step, *losses)`` is
        called after every step (for live plots, logs or timing). ``input_waits`` then holds how long each
        step waited for its batch: near zero when the input pipeline keeps up.
        A resumed model refuses other faces than those it was trained on (A and B swapped, another person)
        unless ``new_data``; its checkpoints of the old faces are then kept as ``old-data-ckpt-*``.
        """
        if steps is None and minutes is None:
            raise DeepfakeError("fit needs a number of steps or a time budget in minutes")
        if (steps is not None and steps < 0) or (minutes is not None and minutes < 0):
            raise DeepfakeError(f"steps and minutes must not be negative (got steps={steps}, minutes={minutes})")
        budget = minutes * 60 if minutes is not None else float("inf")

        def done() -> bool:
            return (steps is not None and self.step >= steps) or self.train_seconds >= budget

        self._data = data_fingerprint(faces_a, faces_b)
        change = data_change(self._state.get("data") if self._state else None, self._data)
        if change and not new_data:
            raise CheckpointError(f"{self.model_dir}: {change}; pass the folders in the order it was trained on, "
                                  "or --new-data to train it on these faces (its checkpoints are kept aside)")
        if change:
            self._keep_old_data(change)
        if done():
            return self.history
        if self.colour_mode == "shift":
            self.colour_shift = self.colour_shift or colour_shift(faces_a, faces_b)
            faces_a = shift_colour(faces_a, self.colour_shift)
        preview = self._preview_inputs(faces_a, faces_b)
        preview_every = preview_every or save_every
        if save_every:
            self._drop_lost_previews()
        bar = (tqdm(total=steps, initial=self.step, desc=f"train {self.label}", unit="step", disable=not progress)
               if minutes is None else
               tqdm(total=round(budget), initial=min(round(self.train_seconds), round(budget)), unit="s",
                    desc=f"train {self.label} {minutes:g} min", disable=not progress,
                    bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s{postfix}"))
        batches: Iterator = iter(self.datasets(faces_a, faces_b))
        self.input_waits = []
        clock = time.perf_counter()
        try:
            while not done():
                self._before_step(max(self.step / steps if steps else 0.0, self.train_seconds / budget))
                start = time.perf_counter()
                batch = next(batches)
                self.input_waits.append(time.perf_counter() - start)
                losses = self._train_one(batch)
                bad = next((v for v in losses if not np.isfinite(v)), None)
                if bad is not None:
                    kept = self._state["step"] if self._state else 0
                    raise TrainingError(f"the loss became {bad} at step {self.step + 1}; training stopped and the "
                                        f"last good checkpoint (step {kept}) in {self.model_dir} is kept. Try a "
                                        "lower learning rate.")
                self._step_var.assign_add(1)
                self.history.append([self.step, *losses])
                now = time.perf_counter()
                self.train_seconds += now - clock
                clock = now
                if on_step is not None:
                    on_step(self.step, *losses)
                if minutes is None:
                    bar.update(1)
                else:
                    bar.update(min(round(self.train_seconds), round(budget)) - bar.n)
                bar.set_postfix_str(f"step {self.step}, " + ", ".join(
                    f"{name} {value:.4f}" for name, value in zip(self.history_columns, losses, strict=True)))
                last = done()
                if save_every and (self.step % save_every == 0 or last):
                    self.save()
                if save_every and (self.step % preview_every == 0 or last):
                    picture = self._preview(preview)
                    if keep_previews:
                        write_image(preview_file(self.model_dir, self.step), picture, clean=False)
                    write_image(self.model_dir / "preview.png", picture)
        except KeyboardInterrupt:
            if save_every:
                self.save()  # the weights are whole between steps: keep them
            raise
        finally:
            bar.close()
        return self.history
