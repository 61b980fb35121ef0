"""Stage 7: train both autoencoders. A ``tf.data`` pipeline makes the stage-5 pairs in parallel and
prefetches them, one compiled step updates both sides, checkpoints are atomic and resumable.

The model folder, its checkpoints and the training loop (time budget, NaN stop, Ctrl-C save, preview,
resume) are ``checkpoint.CheckpointedTrainer``'s, shared with the GAN trainer of stage 9; see
``deepfake_utils.checkpoint`` for the folder's layout.
"""
from __future__ import annotations

import os
import platform
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from functools import partial

import cv2
import keras
import numpy as np
import tensorflow as tf

from . import align, warp
from .align import COVERAGE, crop_to_model
from .blend import LabMoments, colour_shift, lab_moments, move_lab_moments, shift_colour
from .checkpoint import CheckpointedTrainer, CheckpointError, preview_picture, saved_preset
from .choices import Recipe, get_recipe
from .config import SEED
from .errors import DeepfakeError, DeepfakeWarning, ImageError
from .fileio import list_images, read_image
from .learn import StepFn, decayed_rate, train_b_only, train_both
from .model import Preset, SwapModel, build, get_preset


def onednn_enabled() -> bool | None:
    """Whether TensorFlow runs its oneDNN CPU kernels in this process (None if it cannot say).

    ``deepfake_utils.configure()`` before TensorFlow switches them on for x86 CPUs (the CLI and notebook setup call it).
    """
    try:
        from tensorflow.python.util import _pywrap_util_port  # TensorFlow has no public query for this
        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return None


def load_faces(folder: str | os.PathLike, limit: int | None = None) -> list[np.ndarray]:
    """The aligned faces of an extraction folder (top level only: faces set aside in subfolders are skipped).

    Unreadable images (corrupt, empty) are skipped with a DeepfakeWarning that counts and names them.
    """
    paths = list_images(folder)[:limit]
    if not paths:
        raise DeepfakeError(f"{folder}: no face images; run `python -m deepfake_utils extract` into it first")
    faces, unreadable = [], []
    for path in paths:
        try:
            face = read_image(path)
        except ImageError as exc:
            unreadable.append(str(exc))
            continue
        height, width = face.shape[:2]
        if height != width:
            raise DeepfakeError(f"{path}: {width}x{height} is not a square aligned face; remove it from {folder} "
                                "(extract writes square crops)")
        if height != align.ALIGNED_SIZE:  # any crop size: the pipeline frames the face in 256 px crops
            face = cv2.resize(face, (align.ALIGNED_SIZE,) * 2,
                              interpolation=cv2.INTER_AREA if height > align.ALIGNED_SIZE else cv2.INTER_CUBIC)
        faces.append(face)
    if unreadable:
        if not faces:
            raise DeepfakeError(f"{folder}: none of its {len(paths)} images can be read ({unreadable[0]}); "
                                "extract the faces again")
        warnings.warn(f"{folder}: {len(unreadable)} of {len(paths)} images unreadable, skipped (fix or remove "
                      f"them): {'; '.join(unreadable[:3])}{'; ...' * (len(unreadable) > 3)}", DeepfakeWarning,
                      stacklevel=2)
    return faces


def match_mean_colour(faces: list[np.ndarray], reference: list[np.ndarray]) -> list[np.ndarray]:
    """Shift every face's colours by the difference of the two sets' mean colours (average-colour adjust)."""
    return shift_colour(faces, colour_shift(faces, reference))


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


def pair_dataset(faces: list[np.ndarray], *, seed: int, side: int, batch_size: int, start_step: int = 0,
                 size: int = 64, coverage: int = COVERAGE, mask: np.ndarray | None = None,
                 warp_fn: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
                 recolour: list[np.ndarray] | None = None) -> tf.data.Dataset:
    """An endless, seeded stream of (warped, target) float batches; batch k is the same whenever it is made.

    With ``mask`` (a uint8 image the size of the aligned faces, e.g. the eye regions), every pair also
    carries the mask moved by the pair's own random transform and warp, as a (size, size, 1) float in 0..1:
    the stream yields (warped, target, mask), and its pairs are the same as without it. ``warp_fn``: the random
    warp to make the pairs with (``warp.training_pair``'s ``warp``: a learner's own); default ``warp.random_warp``.
    With ``recolour`` (the other side's faces), each pair then takes the colours of one of them drawn at random:
    both images moved by Reinhard's transfer from its face's L*a*b* moments to that face's, each measured over
    the square the model sees (DeepFaceLab's colour transfer mode ``rct``); the warps are the same as without it.
    """
    if not faces:
        raise DeepfakeError("pair_dataset needs at least one face")
    if recolour is not None and not recolour:
        raise DeepfakeError("pair_dataset: recolour needs at least one face to take colours from")

    def colours(of: list[np.ndarray]) -> list[LabMoments]:
        return [lab_moments(align.face_square(f, coverage)) for f in of]

    moments, targets = (colours(faces), colours(recolour)) if recolour else (None, None)

    def make(index):
        rng = np.random.default_rng([seed, side, int(index)])  # each pair has its own seed: resumable
        pick = rng.integers(len(faces))
        face = faces[pick]
        if mask is None:
            pair = warp.training_pair(face, rng, coverage=coverage, size=size, warp=warp_fn)
        else:
            drawn = rng.bit_generator.state
            warped, target = warp.training_pair(face, rng, coverage=coverage, size=size, warp=warp_fn)
            rng.bit_generator.state = drawn  # the same random numbers: the mask moves exactly as the face did
            pair = warped, target, warp.training_pair(mask, rng, coverage=coverage, size=size, warp=warp_fn)[1]
        if moments is None:
            return pair
        other = targets[rng.integers(len(targets))]
        return (*(move_lab_moments(image, moments[pick], other) for image in pair[:2]), *pair[2:])

    def load(index):
        images = tf.numpy_function(make, [index], [tf.uint8] * (2 if mask is None else 3), stateful=False)
        for image in images:
            image.set_shape((size, size, 3))
        return tuple(images)

    def to_float(warped, target, *moved):
        pair = tf.cast(warped, tf.float32) / 255.0, tf.cast(target, tf.float32) / 255.0
        return pair + tuple(tf.cast(m[..., :1], tf.float32) / 255.0 for m in moved)

    ds = tf.data.Dataset.range(start_step * batch_size, 2**62)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).map(to_float).prefetch(tf.data.AUTOTUNE)


def preview_grid(model: SwapModel, faces_a: np.ndarray, faces_b: np.ndarray) -> np.ndarray:
    """The trainer's picture: rows of (A, A rebuilt, A as B | B, B rebuilt, B as A), uint8."""
    def row_block(x, own, other):
        return np.concatenate([x, model.reconstruct(x, own).numpy(), model.swap(x, other).numpy()], axis=2)

    return preview_picture(row_block(faces_a, "a", "b"), row_block(faces_b, "b", "a"))


def _saved_recipe(state: dict) -> Recipe:
    """The recipe a model folder was trained with (folders from before recipes: the original)."""
    saved = state.get("recipe") or {"name": "original"}
    return Recipe(**{f.name: saved[f.name] for f in fields(Recipe) if f.name in saved})


def cpu_flags() -> set[str]:
    """The feature flags of this machine's CPU (Linux /proc/cpuinfo; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set())
    except OSError:
        return set()


def machine() -> str:
    """A one-line description of this CPU (model, cores, bf16 support), recorded beside measurements."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    bf16 = [f for f in ("avx512_bf16", "amx_bf16") if f in cpu_flags()]
    return f"{model}, {os.cpu_count()} cores" + (f", {'/'.join(bf16)}" if bf16 else "")


def bfloat16_by_default() -> bool:
    """Whether training on this CPU computes in bfloat16 by default: on CPUs with AMX tiles, where bfloat16
    trained 1.2-1.6x faster; not on AVX512-BF16 alone, where it measured slower (``bench precision``)."""
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


# The course's own training steps (learn.train_both, learn.train_b_only) hold no Python `if` or loop on a tensor, so
# they are traced as plain Python: AutoGraph's rewriting of every function they call cost the first trainer of a
# process about 1.2 s more to its first step on 2 cores, later trainers nothing (`python -m benchmarks.bench trace`,
# benchmarks/README.md). A learner's own ``step`` keeps AutoGraph (an `if` on a tensor works there).
AUTOGRAPH = False


class Trainer(CheckpointedTrainer):
    """Trains a ``SwapModel`` in a model folder, resuming from its last checkpoint if there is one."""

    kind = "autoencoder"
    history_columns = ("loss A", "loss B")

    def __init__(self, model_dir: str | os.PathLike, preset: str | Preset | None = None, *,
                 recipe: str | Recipe | None = None, seed: int | None = None, batch_size: int | None = None,
                 learning_rate: float | None = None, jit: bool | None = None,
                 mixed_precision: bool | str | None = None, strategy: tf.distribute.Strategy | None = None,
                 step: StepFn | None = None) -> None:
        """Open (or start) a model folder; ``preset`` and ``recipe`` default to the saved ones, else ``tiny``
        and ``fast``.

        On a GPU, ``jit`` (XLA) and ``mixed_precision`` (float16 compute, float32 weights) default to on,
        and ``strategy`` to a ``MirroredStrategy`` over all GPUs when there are several (the batch size is
        then the global one, split between them). On a CPU, ``mixed_precision`` defaults to bfloat16 where
        ``bfloat16_by_default()`` says it wins, float32 elsewhere; ``"bfloat16"`` or ``False`` choose.

        On resume, ``seed`` and ``batch_size`` (default SEED and the preset's for a new model) must be left out
        or equal the saved ones: they define the data stream. A new ``learning_rate`` is applied, recorded in
        state.json and listed in ``changes``.

        ``step(model, opt_a, opt_b, warped_a, target_a, warped_b, target_b) -> (loss_a, loss_b)``: the training
        step to run (a learner's own, notebook 07; one device only); default ``learn.train_both`` with the
        recipe's loss weights, SSIM and edge terms (a ``step`` of your own applies whatever loss it likes).
        """
        state = self._open(model_dir, batch_size, learning_rate)
        if state is not None:
            saved = saved_preset(state)
            given = get_preset(preset) if preset is not None else saved
            if (given.name, given.shared) != (saved.name, saved.shared):
                raise CheckpointError(f"{self.model_dir}: holds a {saved.name!r} model with a shared {saved.shared}, "
                                      f"not {given.name!r} with a shared {given.shared}; use another folder to start "
                                      "a new model")
            saved_recipe = _saved_recipe(state)
            if recipe is not None and get_recipe(recipe) != saved_recipe:
                raise CheckpointError(f"{self.model_dir}: was trained with the {saved_recipe.name!r} recipe, not "
                                      f"{get_recipe(recipe).name!r}; use another folder to start a new model")
            self._check_stream(state, seed, batch_size)
            preset, recipe, seed, batch_size = saved, saved_recipe, state["seed"], state["batch_size"]
        self.preset = get_preset(preset or "tiny")
        self.recipe = get_recipe(recipe or "fast")
        self.seed, self.coverage = (SEED if seed is None else seed), self.recipe.coverage
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
            several = self.gpus > 1 and step is None  # a step of your own runs on one device
            strategy = tf.distribute.MirroredStrategy() if several else tf.distribute.get_strategy()
        self.strategy = strategy
        if step is not None and strategy.num_replicas_in_sync > 1:
            raise DeepfakeError("a step of your own runs on one device: leave strategy out")
        if step is not None and self.recipe.b_first:
            raise DeepfakeError(f"recipe {self.recipe.name}: b_first schedules the trainer's own step; a step of "
                                "your own trains both sides at every step (use a recipe with b_first=0)")
        self._step_fn = step
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
        self.learning_rate = float(learning_rate or self.recipe.learning_rate or self.preset.learning_rate)
        self._start(state, learning_rate)
        self._b_only = False  # the recipe's b_first: B's side alone at the start of the budget
        self._train_step, self._train_b_step = map(self._compiled, (self._replica_step, self._replica_b_step))

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

    def _replica_step(self, warped_a, target_a, warped_b, target_b):
        # As the original trainer: autoencoder A learns from its batch, then B from its batch, so B's
        # forward pass already sees the encoder that A just updated. One compiled function does both.
        if self._step_fn is not None:
            return tuple(self._step_fn(self.model, self.opt_a, self.opt_b, warped_a, target_a, warped_b, target_b))
        return train_both(self.model, self.opt_a, self.opt_b, warped_a, target_a, warped_b, target_b,
                          **self._loss_terms())

    def _replica_b_step(self, warped_a, target_a, warped_b, target_b):
        return train_b_only(self.model, self.opt_a, self.opt_b, warped_a, target_a, warped_b, target_b,
                            **self._loss_terms())

    def _loss_terms(self) -> dict:
        """The recipe's loss terms and the replica count, as ``learn.train_step`` takes them."""
        return dict(weights=self._weights, ssim=self.recipe.ssim, replicas=self.strategy.num_replicas_in_sync,
                    edge=self.recipe.edge)

    def _distributed(self, step, warped_a, target_a, warped_b, target_b):
        losses = self.strategy.run(step, args=(warped_a, target_a, warped_b, target_b))
        return tuple(self.strategy.reduce(tf.distribute.ReduceOp.MEAN, loss, axis=None) for loss in losses)

    def _compiled(self, replica_step):
        """One replica's step as one compiled function, run on every replica when there are several."""
        several = self.strategy.num_replicas_in_sync > 1
        return tf.function(partial(self._distributed, replica_step) if several else replica_step,
                           jit_compile=self.jit, autograph=AUTOGRAPH or self._step_fn is not None)

    # --- data -----------------------------------------------------------------------------------
    def datasets(self, faces_a: list[np.ndarray], faces_b: list[np.ndarray]) -> tf.data.Dataset:
        """The zipped A and B pair streams, positioned at the current step."""
        kw = dict(seed=self.seed, batch_size=self.batch_size, start_step=self.step, size=self.preset.size,
                  coverage=self.coverage)
        recolour = faces_a if self.colour_mode == "rct" else None  # B's faces in A's colours
        ds = tf.data.Dataset.zip(pair_dataset(faces_a, side=0, **kw),
                                 pair_dataset(faces_b, side=1, recolour=recolour, **kw))
        return self.strategy.experimental_distribute_dataset(ds) if self.strategy.num_replicas_in_sync > 1 else ds

    # --- the pieces of the shared training loop (checkpoint.CheckpointedTrainer) -----------------------
    @property
    def label(self) -> str:
        """What the progress bar calls this training."""
        return self.preset.name

    @property
    def precision(self) -> str:
        """The precision the steps compute in: 'float32', or mixed 'float16' or 'bfloat16' (weights in float32)."""
        return self.mixed_precision or "float32"

    @property
    def colour_mode(self) -> str:
        """The recipe's colours: 'shift' (A moved to B's mean colour), 'raw' or 'rct' (B's faces in A's colours)."""
        return self.recipe.colour

    def _train_one(self, batch) -> tuple[float, ...]:
        (warped_a, target_a), (warped_b, target_b) = batch
        step = self._train_b_step if self._b_only else self._train_step
        return tuple(float(v) for v in step(warped_a, target_a, warped_b, target_b))

    def _preview(self, inputs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return preview_grid(self.model, *inputs)

    def _apply_learning_rate(self) -> None:
        for opt in (self.opt_a, self.opt_b):
            opt.learning_rate = self.learning_rate

    def _restored_learning_rate(self) -> float:
        return float(self.opt_a.learning_rate.numpy())

    def _before_step(self, progress: float) -> None:
        self._b_only = progress < self.recipe.b_first  # the recipe's schedule: B's side alone first
        if self.recipe.decay:  # the recipe's schedule; the recorded rate stays the one it starts from
            rate = decayed_rate(self.learning_rate, progress, self.recipe.decay)
            for opt in (self.opt_a, self.opt_b):
                opt.learning_rate = rate

    def _state_fields(self) -> dict:
        return {"preset": asdict(self.preset), "recipe": asdict(self.recipe)}
