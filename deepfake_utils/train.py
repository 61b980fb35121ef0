"""Stage 7: train both autoencoders. A ``tf.data`` pipeline makes the stage-5 pairs in parallel and
prefetches them, one compiled step updates both sides, checkpoints are atomic and resumable.

Checkpoint layout of a model folder::

    state.json        step, seed, preset, recipe, batch size, colour shift, training seconds, loss history,
                      current and previous checkpoint
    ckpt-000200/      encoder, decoders, both optimizers (a tf.train.Checkpoint)
    ckpt-000100/      the previous one, kept until the next save completes
    preview.png       original / reconstruction / swap for a few faces of each side

A save writes a new checkpoint folder under a temporary name, renames it into place, then replaces
``state.json``; a kill at any moment leaves the last complete checkpoint loadable.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import cv2
import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from . import align, warp
from .errors import DeepfakeError, DeepfakeWarning, OutputError
from .fileio import _output_error, _pid_alive, list_images, read_image, write_image, write_json_atomic
from .model import COVERAGE, Preset, SwapModel, build, crop_to_model, get_preset

STATE_FILE = "state.json"
STATE_VERSION = 1
STATE_KEYS = ("step", "seed", "batch_size", "preset", "checkpoint")  # what a state.json must hold
TMP_CKPT = re.compile(r"\.tmp-ckpt-\d+-(\d+)-\d+")  # a checkpoint being written: .tmp-ckpt-STEP-PID-NS


class TrainingError(DeepfakeError):
    """Training cannot go on (for example, the loss became NaN)."""


class CheckpointError(DeepfakeError):
    """A model folder's checkpoint is missing, corrupt or does not fit the model."""


def onednn_enabled() -> bool | None:
    """Whether TensorFlow runs its oneDNN CPU kernels in this process (None if it cannot say).

    ``import deepfake_utils`` before TensorFlow switches them on for x86 CPUs (see the package docstring).
    """
    try:
        from tensorflow.python.util import _pywrap_util_port  # TensorFlow has no public query for this
        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return None


def load_faces(folder: str | os.PathLike, limit: int | None = None) -> list[np.ndarray]:
    """The aligned faces of an extraction folder (top level only: faces set aside in subfolders are skipped)."""
    paths = list_images(folder)[:limit]
    if not paths:
        raise DeepfakeError(f"{folder}: no face images; run `python -m deepfake_utils extract` into it first")
    faces = []
    for path in paths:
        face = read_image(path)
        height, width = face.shape[:2]
        if height != width:
            raise DeepfakeError(f"{path}: {width}x{height} is not a square aligned face; remove it from {folder} "
                                "(extract writes square crops)")
        if height != align.ALIGNED_SIZE:  # any crop size: the pipeline frames the face in 256 px crops
            face = cv2.resize(face, (align.ALIGNED_SIZE,) * 2,
                              interpolation=cv2.INTER_AREA if height > align.ALIGNED_SIZE else cv2.INTER_CUBIC)
        faces.append(face)
    return faces


def colour_shift(faces: list[np.ndarray], reference: list[np.ndarray]) -> tuple[float, float, float]:
    """The RGB shift (0..255 units) that moves the faces' mean colour onto the reference faces' mean colour."""
    shift = np.mean([f.mean(axis=(0, 1)) for f in reference], 0) - np.mean([f.mean(axis=(0, 1)) for f in faces], 0)
    return tuple(round(float(v), 3) for v in shift)


def shift_colour(faces: np.ndarray | list[np.ndarray], shift: tuple[float, float, float]) -> list[np.ndarray]:
    """Add an RGB shift to uint8 faces (clipped to 0..255)."""
    return [np.clip(f.astype(np.float32) + np.asarray(shift, np.float32), 0, 255).astype(np.uint8) for f in faces]


def match_mean_colour(faces: list[np.ndarray], reference: list[np.ndarray]) -> list[np.ndarray]:
    """Shift every face's colours by the difference of the two sets' mean colours (average-colour adjust)."""
    return shift_colour(faces, colour_shift(faces, reference))


# --- recipes: what the model learns from --------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    """How a model is trained, saved with it: loss terms, the face's framing and colours (convert follows both)."""

    name: str
    ssim: float = 0.0  # weight of DSSIM = (1 - SSIM) / 2 beside L1 (faceswap and DeepFaceLab train with SSIM)
    face_weight: float = 1.0  # L1 weight inside the face (mean-face hull) vs 1 outside (faceswap's mask loss)
    eyes_mouth_weight: float = 1.0  # L1 weight on the eyes and mouth (DeepFaceLab's eyes-and-mouth priority)
    coverage: int = COVERAGE  # px of the 256 px aligned crop the model sees (larger: more of the face swapped)
    colour: str = "shift"  # "shift": A moved to B's mean colour in training and in conversion; "raw": neither
    learning_rate: float | None = None  # None: the preset's
    batch_size: int | None = None  # None: the preset's

    def __post_init__(self) -> None:
        if self.colour not in ("shift", "raw"):
            raise DeepfakeError(f"recipe {self.name}: colour must be 'shift' or 'raw', not {self.colour!r}")
        if not 0 < self.coverage <= align.ALIGNED_SIZE:
            raise DeepfakeError(f"recipe {self.name}: coverage must be in 1..{align.ALIGNED_SIZE} px")


RECIPES: dict[str, Recipe] = {
    # The original deepfakes trainer: plain L1 on the middle 160 px of the crop.
    "original": Recipe("original"),
    # Measured faster to a recognisable swap on a CPU (python -m deepfake_utils.bench recipes):
    "fast": Recipe("fast", ssim=1.0, face_weight=3.0, eyes_mouth_weight=6.0, coverage=192),
}


def get_recipe(recipe: str | Recipe) -> Recipe:
    """A training recipe by name (see ``RECIPES``) or as given."""
    if isinstance(recipe, Recipe):
        return recipe
    if recipe not in RECIPES:
        raise DeepfakeError(f"unknown training recipe {recipe!r}; choose one of {sorted(RECIPES)}")
    return RECIPES[recipe]


def mean_face_points(size: int = 64, coverage: int = COVERAGE) -> np.ndarray:
    """The mean face's 51 points (landmarks 17..67) in the pixels of a ``size`` px model face."""
    return align.transform_points(align.mean_face_target(), crop_to_model(size, coverage))


def loss_weights(recipe: Recipe, size: int = 64) -> np.ndarray:
    """Per-pixel loss weights (size, size, 1), mean 1: the face and its eyes and mouth weighted up, blurred
    to allow for the random transform (the mean face stands in for each face: they are all aligned to it)."""
    weights = np.ones((size, size), np.float32)
    points = np.round(mean_face_points(size, recipe.coverage)).astype(np.int32)
    cv2.fillConvexPoly(weights, cv2.convexHull(points), recipe.face_weight)
    for part in (slice(19, 25), slice(25, 31), slice(31, 51)):  # eyes (36..47) and mouth (48..67)
        cv2.fillConvexPoly(weights, cv2.convexHull(points[part]), recipe.eyes_mouth_weight)
    blur = max(1, size // 16) * 2 + 1
    weights = cv2.GaussianBlur(weights, (blur, blur), 0)
    return (weights / weights.mean())[..., None]


def reconstruction_loss(output: tf.Tensor, target: tf.Tensor, weights: tf.Tensor | None = None,
                        ssim: float = 0.0) -> tf.Tensor:
    """The training loss of faces in 0..1: mean absolute error (weighted per pixel) plus ``ssim`` x DSSIM."""
    error = tf.abs(output - target)
    loss = tf.reduce_mean(error * weights if weights is not None else error)
    if ssim:
        loss += ssim * tf.reduce_mean((1.0 - tf.image.ssim(output, target, max_val=1.0)) / 2.0)
    return loss


def pair_dataset(faces: list[np.ndarray], *, seed: int, side: int, batch_size: int, start_step: int = 0,
                 size: int = 64, coverage: int = COVERAGE) -> tf.data.Dataset:
    """An endless, seeded stream of (warped, target) float batches; batch k is the same whenever it is made."""
    if not faces:
        raise DeepfakeError("pair_dataset needs at least one face")

    def make(index):
        rng = np.random.default_rng([seed, side, int(index)])  # each pair has its own seed: resumable
        return warp.training_pair(faces[rng.integers(len(faces))], rng, coverage=coverage, size=size)

    def load(index):
        warped, target = tf.numpy_function(make, [index], [tf.uint8, tf.uint8], stateful=False)
        warped.set_shape((size, size, 3))
        target.set_shape((size, size, 3))
        return warped, target

    def to_float(warped, target):
        return tf.cast(warped, tf.float32) / 255.0, tf.cast(target, tf.float32) / 255.0

    ds = tf.data.Dataset.range(start_step * batch_size, 2**62)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).map(to_float).prefetch(tf.data.AUTOTUNE)


def preview_faces(faces: list[np.ndarray], n: int = 4, size: int = 64, coverage: int = COVERAGE) -> np.ndarray:
    """The first ``n`` faces (repeated if there are fewer) as unwarped training targets, float (n, size, size, 3)."""
    picks = [warp.random_warp(faces[i % len(faces)], np.random.default_rng(0), sigma=0, coverage=coverage,
                              size=size)[1] for i in range(n)]
    return np.stack(picks).astype(np.float32) / 255.0


def preview_grid(model: SwapModel, faces_a: np.ndarray, faces_b: np.ndarray) -> np.ndarray:
    """The trainer's picture: rows of (A, A rebuilt, A as B | B, B rebuilt, B as A), uint8."""
    def row_block(x, own, other):
        return np.concatenate([x, model.reconstruct(x, own).numpy(), model.swap(x, other).numpy()], axis=2)

    grid = np.concatenate([row_block(faces_a, "a", "b"), row_block(faces_b, "b", "a")], axis=2)
    grid = np.concatenate(list(grid), axis=0)
    return (np.clip(grid, 0, 1) * 255).round().astype(np.uint8)


def _saved_preset(state: dict) -> Preset:
    return Preset(**{k: tuple(v) if isinstance(v, list) else v for k, v in state["preset"].items()})


def _saved_recipe(state: dict) -> Recipe:
    """The recipe a model folder was trained with (folders from before recipes: the original)."""
    saved = state.get("recipe") or {"name": "original"}
    return Recipe(**{f.name: saved[f.name] for f in fields(Recipe) if f.name in saved})


def _read_state_file(path: Path) -> dict:
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


def _checkpoint_step(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


def _load_one(ckpt: tf.train.Checkpoint, folder: Path, partial: bool) -> None:
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


def _read_checkpoint(ckpt: tf.train.Checkpoint, model_dir: Path, state: dict, *, partial: bool = False) -> Path:
    """Load the model folder's current checkpoint into ``ckpt`` (``partial``: it may hold more, e.g. optimizers);
    if it is missing or damaged, the previous one, with a ``DeepfakeWarning``. Returns the folder loaded."""
    folder = model_dir / state["checkpoint"]
    try:
        _load_one(ckpt, folder, partial)
        return folder
    except CheckpointError as exc:
        if not state.get("previous"):
            raise
        first = exc
    previous = model_dir / state["previous"]
    try:
        _load_one(ckpt, previous, partial)
    except CheckpointError as exc:
        raise CheckpointError(f"{first}; the previous one cannot be loaded either ({exc}); restore the folder from "
                              "a backup or use a new model folder") from exc
    warnings.warn(f"{first}; fell back to the previous checkpoint, {previous.name} (step "
                  f"{_checkpoint_step(previous.name)}): the steps since then are trained again", DeepfakeWarning,
                  stacklevel=3)
    return previous


def load_model(model_dir: str | os.PathLike) -> SwapModel:
    """The trained model of a model folder (the weights of its last checkpoint), for converting."""
    model_dir = Path(model_dir)
    path = model_dir / STATE_FILE
    if not path.exists():
        raise CheckpointError(f"{model_dir}: no trained model here (no {STATE_FILE}); train one first with "
                              "`python -m deepfake_utils train A_DIR B_DIR MODEL_DIR --steps N`")
    state = _read_state_file(path)
    model = build(_saved_preset(state))
    ckpt = tf.train.Checkpoint(**model.parts())
    _read_checkpoint(ckpt, model_dir, state, partial=True)
    shift = state.get("colour_shift")
    return replace(model, coverage=_saved_recipe(state).coverage, colour_shift=tuple(shift) if shift else None)


def cpu_flags() -> set[str]:
    """The feature flags of this machine's CPU (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set())
    except OSError:
        return set()


def bfloat16_by_default() -> bool:
    """Whether training on this CPU computes in bfloat16 by default: on CPUs with AMX tiles, where bfloat16
    trained about 1.6x faster; not on AVX512-BF16 alone, where it measured slower (benchmarks/README.md)."""
    return "amx_bf16" in cpu_flags()


@contextmanager
def _dtype_policy(name: str) -> Iterator[None]:
    """Build layers under a Keras dtype policy without leaving it set for the rest of the process."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


class Trainer:
    """Trains a ``SwapModel`` in a model folder, resuming from its last checkpoint if there is one."""

    def __init__(self, model_dir: str | os.PathLike, preset: str | Preset | None = None, *,
                 recipe: str | Recipe | None = None, seed: int | None = None, batch_size: int | None = None,
                 learning_rate: float | None = None, jit: bool | None = None,
                 mixed_precision: bool | str | None = None, strategy: tf.distribute.Strategy | None = None) -> None:
        """Open (or start) a model folder; ``preset`` and ``recipe`` default to the saved ones, else ``tiny``
        and ``fast``.

        On a GPU, ``jit`` (XLA) and ``mixed_precision`` (float16 compute, float32 weights) default to on,
        and ``strategy`` to a ``MirroredStrategy`` over all GPUs when there are several (the batch size is
        then the global one, split between them). On a CPU, ``mixed_precision`` defaults to bfloat16 where
        ``bfloat16_by_default()`` says it wins, float32 elsewhere; ``"bfloat16"`` or ``False`` choose.

        On resume, ``seed`` and ``batch_size`` (default 1234 and the preset's for a new model) must be left out
        or equal the saved ones: they define the data stream. A new ``learning_rate`` is applied, recorded in
        state.json and listed in ``changes``.
        """
        self.model_dir = Path(model_dir)
        if batch_size is not None and batch_size < 1:
            raise DeepfakeError(f"batch size {batch_size}: must be at least 1")
        if learning_rate is not None and not learning_rate > 0:
            raise DeepfakeError(f"learning rate {learning_rate}: must be positive (e.g. 5e-5)")
        self.changes: list[str] = []  # what this run changed of the saved training (for the log)
        self._clean_temp_checkpoints()
        state = self._read_state()
        if state is not None:
            saved = _saved_preset(state)
            given = get_preset(preset) if preset is not None else saved
            if (given.name, given.shared) != (saved.name, saved.shared):
                raise CheckpointError(f"{self.model_dir}: holds a {saved.name!r} model with a shared {saved.shared}, "
                                      f"not {given.name!r} with a shared {given.shared}; use another folder to start "
                                      "a new model")
            saved_recipe = _saved_recipe(state)
            if recipe is not None and get_recipe(recipe) != saved_recipe:
                raise CheckpointError(f"{self.model_dir}: was trained with the {saved_recipe.name!r} recipe, not "
                                      f"{get_recipe(recipe).name!r}; use another folder to start a new model")
            for name, given, kept, why in (
                    ("seed", seed, state["seed"], "the seed chooses the training pairs and their warps"),
                    ("batch-size", batch_size, state["batch_size"], "the data stream is indexed by step x batch")):
                if given is not None and given != kept:
                    raise CheckpointError(f"{self.model_dir}: was trained with --{name} {kept}, not {given} ({why}, "
                                          f"so a resumed run must keep it); leave --{name} out to resume, or use "
                                          "another folder to start a new model")
            preset, recipe, seed, batch_size = saved, saved_recipe, state["seed"], state["batch_size"]
        self.preset = get_preset(preset or "tiny")
        self.recipe = get_recipe(recipe or "fast")
        self.seed, self.coverage = (1234 if seed is None else seed), self.recipe.coverage
        self.batch_size = batch_size or self.recipe.batch_size or self.preset.batch_size
        self.colour_shift = tuple(state["colour_shift"]) if state and state.get("colour_shift") else None
        self.train_seconds = float(state.get("train_seconds", 0.0)) if state else 0.0  # training time so far
        self.gpus = len(tf.config.list_physical_devices("GPU"))
        self.jit = bool(self.gpus) if jit is None else jit
        if mixed_precision is None:  # float16 on a GPU; bfloat16 on CPUs where it wins; else float32
            mixed_precision = "float16" if self.gpus else ("bfloat16" if bfloat16_by_default() else False)
        self.mixed_precision = {True: "float16", False: None}.get(mixed_precision, mixed_precision)
        if self.mixed_precision not in (None, "float16", "bfloat16"):
            raise DeepfakeError(f"mixed_precision must be True/False, 'float16' or 'bfloat16', not {mixed_precision!r}")
        if strategy is None:
            strategy = tf.distribute.MirroredStrategy() if self.gpus > 1 else tf.distribute.get_strategy()
        self.strategy = strategy
        weights = loss_weights(self.recipe, self.preset.size)
        self._weights = None if np.allclose(weights, 1) else tf.constant(weights)
        keras.utils.set_random_seed(self.seed)  # the same seed gives the same initial weights
        with self.strategy.scope():
            with _dtype_policy(f"mixed_{self.mixed_precision}" if self.mixed_precision else "float32"):
                self.model = build(self.preset)
            self.opt_a, self.opt_b = (self._optimizer(learning_rate or self.recipe.learning_rate) for _ in "ab")
            self.opt_a.build(self._vars("a"))
            self.opt_b.build(self._vars("b"))
            self._step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # the checkpoint holds the plain Adam state (not the loss scale), so a model trained with mixed
        # precision on a GPU resumes on a CPU, and the other way round
        self._ckpt = tf.train.Checkpoint(**self.model.parts(), step=self._step_var,
                                         opt_a=getattr(self.opt_a, "inner_optimizer", self.opt_a),
                                         opt_b=getattr(self.opt_b, "inner_optimizer", self.opt_b))
        self.history: list[list[float]] = []
        self.input_waits: list[float] = []  # seconds each step of the last ``fit`` waited for its batch
        self._state = state
        self.learning_rate = float(learning_rate or self.recipe.learning_rate or self.preset.learning_rate)
        self._rates = [[0, self.learning_rate]]  # [first step, learning rate] of each rate used (state.json)
        if state is not None:
            self._restore(state, learning_rate)
        self._train_step = tf.function(self._replica_step if self.strategy.num_replicas_in_sync == 1
                                       else self._distributed_step, jit_compile=self.jit)

    # --- model pieces ---------------------------------------------------------------------------
    def _optimizer(self, learning_rate):
        opt = keras.optimizers.Adam(learning_rate or self.preset.learning_rate, beta_1=0.5, beta_2=0.999)
        if self.mixed_precision == "float16":  # bfloat16 has float32's range: no loss scaling needed
            opt = keras.optimizers.LossScaleOptimizer(opt)
        return opt

    def _vars(self, side: str) -> list:
        return self.model.trainable_variables(side)

    def summary(self) -> str:
        """One line: the model, the batch and what it trains on (device, replicas, XLA, mixed precision)."""
        kernels = {True: "oneDNN", False: "Eigen", None: "TensorFlow's"}[onednn_enabled()]
        parts = [f"{self.preset.name} preset", f"{self.recipe.name} recipe", f"batch {self.batch_size}",
                 *["two encoders, one shared decoder"] * (self.preset.shared == "decoder"),
                 f"{self.gpus} GPU{'s' if self.gpus > 1 else ''}" if self.gpus else f"CPU ({kernels} kernels)"]
        parts += [f"{self.strategy.num_replicas_in_sync} replicas"] * (self.strategy.num_replicas_in_sync > 1)
        parts += ["XLA"] * self.jit + [f"mixed precision ({self.mixed_precision})"] * bool(self.mixed_precision)
        return ", ".join(parts)

    @property
    def step(self) -> int:
        """The number of training steps done so far (both sides update once per step)."""
        return int(self._step_var.numpy())

    def _replica_step(self, warped_a, target_a, warped_b, target_b):
        # As the original trainer: autoencoder A learns from its batch, then B from its batch, so B's
        # forward pass already sees the encoder that A just updated. One compiled function does both.
        replicas = self.strategy.num_replicas_in_sync
        losses = []
        for side, opt, warped, target in (("a", self.opt_a, warped_a, target_a), ("b", self.opt_b, warped_b, target_b)):
            variables = self._vars(side)
            with tf.GradientTape() as tape:
                output = tf.cast(self.model.reconstruct(warped, side, training=True), tf.float32)
                loss = reconstruction_loss(output, target, self._weights, self.recipe.ssim)
                scaled = loss / replicas
                if hasattr(opt, "scale_loss"):
                    scaled = opt.scale_loss(scaled)
            opt.apply_gradients(zip(tape.gradient(scaled, variables), variables, strict=True))
            losses.append(loss)
        return tuple(losses)

    def _distributed_step(self, warped_a, target_a, warped_b, target_b):
        losses = self.strategy.run(self._replica_step, args=(warped_a, target_a, warped_b, target_b))
        return tuple(self.strategy.reduce(tf.distribute.ReduceOp.MEAN, loss, axis=None) for loss in losses)

    # --- data -----------------------------------------------------------------------------------
    def datasets(self, faces_a: list[np.ndarray], faces_b: list[np.ndarray]) -> tf.data.Dataset:
        """The zipped A and B pair streams, positioned at the current step."""
        kw = dict(seed=self.seed, batch_size=self.batch_size, start_step=self.step, size=self.preset.size,
                  coverage=self.coverage)
        ds = tf.data.Dataset.zip(pair_dataset(faces_a, side=0, **kw), pair_dataset(faces_b, side=1, **kw))
        return self.strategy.experimental_distribute_dataset(ds) if self.strategy.num_replicas_in_sync > 1 else ds

    # --- training -------------------------------------------------------------------------------
    def fit(self, faces_a: list[np.ndarray], faces_b: list[np.ndarray], steps: int | None = None, *,
            minutes: float | None = None, save_every: int = 100, preview_every: int | None = None,
            progress: bool = True, on_step: Callable[[int, float, float], None] | None = None) -> list[list[float]]:
        """Train until ``steps`` steps are done in total, or until ``minutes`` of training in total (a resumed
        run continues both counts), whichever comes first; returns the history of (step, loss A, loss B).

        The minutes are the wall time of the training loop, checkpoint and preview writes included.
        Faces are given as extracted: with the recipe's ``colour="shift"`` the trainer moves A's faces to
        B's mean colour and records the shift, so that ``convert`` feeds the model the same colours.
        ``save_every=0`` turns checkpoints and previews off (for benchmarks); ``on_step(step, loss_a,
        loss_b)`` is called after every step (for live plots, logs or timing). ``input_waits`` then holds
        how long each step waited for its batch: near zero when the input pipeline keeps up.
        """
        if steps is None and minutes is None:
            raise DeepfakeError("fit needs a number of steps or a time budget in minutes")
        if (steps is not None and steps < 0) or (minutes is not None and minutes < 0):
            raise DeepfakeError(f"steps and minutes must not be negative (got steps={steps}, minutes={minutes})")
        budget = minutes * 60 if minutes is not None else float("inf")

        def done() -> bool:
            return (steps is not None and self.step >= steps) or self.train_seconds >= budget

        if done():
            return self.history
        if self.recipe.colour == "shift":
            self.colour_shift = self.colour_shift or colour_shift(faces_a, faces_b)
            faces_a = shift_colour(faces_a, self.colour_shift)
        preview = (preview_faces(faces_a, size=self.preset.size, coverage=self.coverage),
                   preview_faces(faces_b, size=self.preset.size, coverage=self.coverage))
        preview_every = preview_every or save_every
        bar = (tqdm(total=steps, initial=self.step, desc=f"train {self.preset.name}", unit="step", disable=not progress)
               if minutes is None else
               tqdm(total=round(budget), initial=min(round(self.train_seconds), round(budget)), unit="s",
                    desc=f"train {self.preset.name} {minutes:g} min", disable=not progress,
                    bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} s{postfix}"))
        batches = iter(self.datasets(faces_a, faces_b))
        self.input_waits = []
        clock = time.perf_counter()
        try:
            while not done():
                start = time.perf_counter()
                (warped_a, target_a), (warped_b, target_b) = next(batches)
                self.input_waits.append(time.perf_counter() - start)
                loss_a, loss_b = (float(v) for v in self._train_step(warped_a, target_a, warped_b, target_b))
                if not (np.isfinite(loss_a) and np.isfinite(loss_b)):
                    kept = self._state["step"] if self._state else 0
                    raise TrainingError(f"the loss became {loss_a if not np.isfinite(loss_a) else loss_b} at step "
                                        f"{self.step + 1}; training stopped and the last good checkpoint "
                                        f"(step {kept}) in {self.model_dir} is kept. Try a lower learning rate.")
                self._step_var.assign_add(1)
                self.history.append([self.step, loss_a, loss_b])
                now = time.perf_counter()
                self.train_seconds += now - clock
                clock = now
                if on_step is not None:
                    on_step(self.step, loss_a, loss_b)
                if minutes is None:
                    bar.update(1)
                else:
                    bar.update(min(round(self.train_seconds), round(budget)) - bar.n)
                bar.set_postfix_str(f"step {self.step}, loss A {loss_a:.4f}, B {loss_b:.4f}")
                last = done()
                if save_every and (self.step % save_every == 0 or last):
                    self.save()
                if save_every and (self.step % preview_every == 0 or last):
                    write_image(self.model_dir / "preview.png", preview_grid(self.model, *preview))
        except KeyboardInterrupt:
            if save_every:
                self.save()  # the weights are whole between steps: keep them
            raise
        finally:
            bar.close()
        return self.history

    # --- checkpoints ----------------------------------------------------------------------------
    def _read_state(self) -> dict | None:
        path = self.model_dir / STATE_FILE
        if not path.exists():
            if self.model_dir.is_dir() and any(self.model_dir.glob("ckpt-*")):
                raise CheckpointError(f"{self.model_dir}: checkpoint folders but no {STATE_FILE}; "
                                      "the folder is damaged (restore state.json or use a new folder)")
            return None
        return _read_state_file(path)

    def _restore(self, state: dict, learning_rate: float | None) -> None:
        folder = _read_checkpoint(self._ckpt, self.model_dir, state)
        expected = _checkpoint_step(folder.name)
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
        saved_rate = float(state.get("learning_rate") or self.opt_a.learning_rate.numpy())
        self._rates = [r for r in state.get("learning_rates") or [[0, saved_rate]] if r[0] <= self.step]
        if learning_rate is None:
            self.learning_rate = saved_rate
        elif not np.isclose(learning_rate, saved_rate, rtol=1e-6, atol=0):
            self.changes.append(f"learning rate {saved_rate:g} -> {learning_rate:g} from step {self.step} "
                                "(recorded in state.json)")
            self._rates.append([self.step, self.learning_rate])
        for opt in (self.opt_a, self.opt_b):
            opt.learning_rate = self.learning_rate

    def _clean_temp_checkpoints(self) -> None:
        """Remove the half-written checkpoints of runs that died while saving (their process is gone)."""
        if not self.model_dir.is_dir():
            return
        for entry in self.model_dir.iterdir():
            match = TMP_CKPT.fullmatch(entry.name)
            if match and not _pid_alive(int(match.group(1))):
                shutil.rmtree(entry, ignore_errors=True)

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
            raise OutputError(f"{_output_error(final, exc, 'cannot save the checkpoint')}{kept}") from exc
        except tf.errors.OpError as exc:  # TensorFlow's own file writes: ENOSPC and EROFS come back as OpError
            shutil.rmtree(tmp, ignore_errors=True)
            cause = str(exc).strip().splitlines()[0][:200]
            fix = ("free some space there or choose another model folder" if "space" in cause.lower()
                   else "check the model folder and its permissions")
            raise OutputError(f"{final}: cannot save the checkpoint ({cause}); {fix}{kept}") from exc
        if self._state and self._state["checkpoint"] == name:  # the same step saved again: keep its previous
            previous, previous_seconds = self._state.get("previous"), self._state.get("previous_train_seconds")
        else:
            previous = self._state["checkpoint"] if self._state else None
            previous_seconds = self._state.get("train_seconds") if self._state else None
        state = {"version": STATE_VERSION, "step": self.step, "seed": self.seed, "batch_size": self.batch_size,
                 "learning_rate": self.learning_rate, "preset": asdict(self.preset), "recipe": asdict(self.recipe),
                 "colour_shift": self.colour_shift, "train_seconds": round(self.train_seconds, 3),
                 "previous_train_seconds": previous_seconds,
                 "learning_rates": self._rates, "checkpoint": name, "previous": previous, "history": self.history}
        write_json_atomic(self.model_dir / STATE_FILE, state)
        self._state = state
        for old in self.model_dir.glob("ckpt-*"):
            if old.name not in (name, previous):
                shutil.rmtree(old, ignore_errors=True)
        return final

