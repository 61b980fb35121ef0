"""Stage 9's trainer (pipeline layer): ``GanTrainer`` trains a ``gan.GanModel`` in a model folder with four Adam
optimisers, on the autoencoder trainer's data stream, checkpoints and resume (``deepfake_utils.checkpoint``).

The GAN itself (its blocks, losses, schedule and ``GanConfig``) is ``gan``'s; this module only runs it.
"""
from __future__ import annotations

import os
from dataclasses import asdict, fields

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from .checkpoint import CheckpointedTrainer, CheckpointError, load, preview_picture, saved_preset
from .config import SEED
from .errors import DeepfakeError
from .gan import (
    GAN_PRESETS,
    GanConfig,
    GanModel,
    GanPreset,
    Phase,
    build_gan,
    eye_mask,
    l1_loss,
    lsgan_loss,
    mask_hinge,
    mask_l1,
    perceptual_features,
    perceptual_loss,
    total_variation,
    warm_start,
)
from .learn import edge_loss
from .model import COVERAGE, SwapModel, get_preset
from .train import onednn_enabled, pair_dataset


def _saved_config(state: dict) -> GanConfig:
    saved = dict(state.get("config") or {})
    if "schedule" in saved:
        saved["schedule"] = tuple(Phase(*phase) for phase in saved["schedule"])
    if "perceptual_weights" in saved:
        saved["perceptual_weights"] = tuple(saved["perceptual_weights"])
    return GanConfig(**{f.name: saved[f.name] for f in fields(GanConfig) if f.name in saved})


def preview_grid(model: GanModel, faces_a: np.ndarray, faces_b: np.ndarray) -> np.ndarray:
    """The GAN trainer's picture: rows of (A, A rebuilt, A as B, its mask | B, B rebuilt, B as A, its mask)."""
    def row_block(x, own, other):
        face, alpha = model.generate(x, other)
        mask = np.repeat(np.asarray(alpha), 3, axis=-1)
        return np.concatenate([x, np.asarray(model.reconstruct(x, own)), np.asarray(face), mask], axis=2)

    return preview_picture(row_block(faces_a, "a", "b"), row_block(faces_b, "b", "a"))


# --- training ----------------------------------------------------------------------------------------
class GanTrainer(CheckpointedTrainer):
    """Trains a ``GanModel`` in a model folder with four Adam optimisers (generator and discriminator of each
    side), resuming from its last checkpoint if there is one (the checkpoint mechanism of ``checkpoint``)."""

    kind = "gan"
    history_columns = ("G A", "G B", "D A", "D B", "L1 A", "L1 B")

    def __init__(self, model_dir: str | os.PathLike, preset: str | GanPreset | None = None, *,
                 config: GanConfig | None = None, seed: int | None = None, batch_size: int | None = None,
                 learning_rate: float | None = None, total_steps: int | None = None,
                 warm_start_from: str | os.PathLike | SwapModel | None = None, coverage: int | None = None,
                 colour: str | None = None, jit: bool | None = None) -> None:
        """Open (or start) a GAN model folder; ``preset`` and ``config`` default to the saved ones, else
        ``tiny`` and ``GanConfig()``.

        ``total_steps`` is the length of the run the schedule is spread over (default: the saved one, else the
        steps of the first ``fit``). ``warm_start_from`` (a new folder only): an autoencoder model folder (or
        ``SwapModel``) of the preset's family whose weights the generator starts from; its framing
        (coverage) and colours (its colour shift, or none) are taken over. Otherwise ``coverage`` (px of the
        256 px aligned crop, default 160) and ``colour`` ("shift": A moved to B's mean colour in training and
        conversion, the default; "raw": neither) frame a new model. ``learning_rate`` is the generators' (the
        discriminators' is ``config.discriminator_lr_ratio`` times it); on resume, ``seed`` and
        ``batch_size`` must be left out or equal the saved ones, as for the autoencoder.
        """
        state = self._open(model_dir, batch_size, learning_rate)
        self.warm_start_report: dict | None = None
        if state is not None:
            saved = saved_preset(state)
            given = get_preset(preset, GAN_PRESETS) if preset is not None else saved
            if given.name != saved.name:
                raise CheckpointError(f"{self.model_dir}: holds a {saved.name!r} GAN, not {given.name!r}; use another "
                                      "folder to start a new model")
            saved_config = _saved_config(state)
            if config is not None and config != saved_config:
                raise CheckpointError(f"{self.model_dir}: was trained with other GAN loss settings; leave the config "
                                      "out to resume, or use another folder to start a new model")
            if warm_start_from is not None:
                raise CheckpointError(f"{self.model_dir}: already holds a trained GAN (step {state['step']}); a warm "
                                      "start only starts a new model: use another folder")
            self._check_stream(state, seed, batch_size)
            for name, given in (("coverage", coverage), ("colour", colour)):
                if given is not None and given != state.get(name):
                    raise CheckpointError(f"{self.model_dir}: was trained with {name} {state.get(name)}, not "
                                          f"{given}; leave it out to resume, or use another folder")
            preset, config, seed, batch_size = saved, saved_config, state["seed"], state["batch_size"]
            coverage, colour = state.get("coverage", COVERAGE), state.get("colour", "shift")
            if total_steps and state.get("total_steps") and total_steps != state["total_steps"]:
                self.changes.append(f"loss schedule spread over {total_steps} steps, not {state['total_steps']} "
                                    f"(from step {state['step']}; recorded in state.json)")
            total_steps = total_steps or state.get("total_steps")
            self.warm_start_report = state.get("warm_start")
        self.preset = get_preset(preset or "tiny", GAN_PRESETS)
        self.config = config or GanConfig()
        autoencoder = None
        if warm_start_from is not None:
            autoencoder = (warm_start_from if isinstance(warm_start_from, SwapModel)
                           else load(warm_start_from))
            coverage, colour = autoencoder.coverage, "shift" if autoencoder.colour_shift else "raw"
        self.coverage = coverage or COVERAGE
        self.colour = colour or "shift"
        if self.colour not in ("shift", "raw"):
            raise DeepfakeError(f"colour must be 'shift' or 'raw', not {self.colour!r}")
        self.seed = SEED if seed is None else seed
        self.batch_size = batch_size or self.preset.batch_size
        self.total_steps = total_steps
        self.colour_shift = tuple(state["colour_shift"]) if state and state.get("colour_shift") else None
        if autoencoder is not None and autoencoder.colour_shift:
            self.colour_shift = tuple(autoencoder.colour_shift)
        self.train_seconds = float(state.get("train_seconds", 0.0)) if state else 0.0
        self.gpus = len(tf.config.list_physical_devices("GPU"))
        self.jit = bool(self.gpus) if jit is None else jit
        keras.utils.set_random_seed(self.seed)  # the same seed gives the same initial weights
        self.model = build_gan(self.preset, coverage=self.coverage, colour_shift=self.colour_shift)
        if autoencoder is not None:
            report = warm_start(self.model, autoencoder)
            source = warm_start_from if not isinstance(warm_start_from, SwapModel) else "a SwapModel"
            self.warm_start_report = {"from": str(source), "copied": len(report["copied"]), "fresh": report["fresh"]}
        self.learning_rate = float(learning_rate or self.preset.learning_rate)
        self.opt_g = {side: self._adam() for side in "ab"}
        self.opt_d = {side: self._adam() for side in "ab"}
        for side in "ab":
            self.opt_g[side].build(self._g_vars(side))
            self.opt_d[side].build(self.model.discriminator(side).trainable_variables)
        self._step_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self._ckpt = tf.train.Checkpoint(encoder=self.model.encoder, decoder_a=self.model.decoder_a,
                                         decoder_b=self.model.decoder_b, disc_a=self.model.disc_a,
                                         disc_b=self.model.disc_b, step=self._step_var,
                                         opt_g_a=self.opt_g["a"], opt_g_b=self.opt_g["b"],
                                         opt_d_a=self.opt_d["a"], opt_d_b=self.opt_d["b"])
        self._features = perceptual_features() if self.config.perceptual else None
        self._eyes = eye_mask()
        self._start(state, learning_rate)
        self._train_step = tf.function(self._step, jit_compile=self.jit, autograph=False)

    # --- pieces -------------------------------------------------------------------------------
    def _adam(self) -> keras.optimizers.Optimizer:
        return keras.optimizers.Adam(self.learning_rate, beta_1=self.config.beta_1, beta_2=self.config.beta_2)

    def _g_vars(self, side: str) -> list:
        return self.model.encoder.trainable_variables + self.model.decoder(side).trainable_variables

    @property
    def perceptual_on(self) -> bool:
        """Whether the perceptual loss is part of training (asked for, and its pretrained weights loaded)."""
        return self._features is not None

    def phase(self, step: int | None = None) -> Phase:
        """The schedule's phase at ``step`` (default: the next step to train)."""
        return self.config.phase(self.step if step is None else step, self.total_steps or 1)

    def summary(self) -> str:
        """One line: the GAN, the batch, the device, the warm start and the perceptual loss."""
        kernels = {True: "oneDNN", False: "Eigen", None: "TensorFlow's"}[onednn_enabled()]
        parts = [f"{self.preset.name} GAN preset", f"batch {self.batch_size}",
                 f"{self.gpus} GPU{'s' if self.gpus > 1 else ''}" if self.gpus else f"CPU ({kernels} kernels)"]
        parts += ["XLA"] * self.jit
        if self.warm_start_report:
            parts.append(f"warm start from {self.warm_start_report['from']} "
                         f"({self.warm_start_report['copied']} layers copied)")
        parts.append("perceptual loss on" if self.perceptual_on else "perceptual loss off")
        return ", ".join(parts)

    def _side_losses(self, side: str, warped, target, eyes, lam, margin, use_hinge, use_pl):
        """The generator's and the discriminator's losses of one side, and the plain L1 (for the history)."""
        cfg, disc = self.config, self.model.discriminator(side)
        face, alpha = self.model.generate(warped, side, training=True)
        composite = alpha * face + (1 - alpha) * warped
        real = ops.concatenate([target, warped], axis=-1)
        fakes = [ops.concatenate([fake, warped], axis=-1) for fake in (composite, face)]
        mixed = [lam * real + (1 - lam) * ops.stop_gradient(fake) for fake in fakes]  # mixup LSGAN
        # one pass of the discriminator over the four batches: the two mixes (it must say how real each
        # mix is: lambda) and the two fakes (the generator wants them called real: 1)
        verdicts = ops.split(disc(ops.concatenate(mixed + fakes, axis=0), training=True), 4, axis=0)
        loss_d = lsgan_loss(verdicts[0], lam) + lsgan_loss(verdicts[1], lam)
        adversarial = lsgan_loss(verdicts[2], 1.0) + lsgan_loss(verdicts[3], 1.0)
        plain = l1_loss(face, target)
        loss_g = (cfg.adversarial * adversarial + cfg.reconstruction * plain + cfg.eyes * l1_loss(face, target, eyes)
                  + cfg.edge * edge_loss(face, target) + cfg.eyes * edge_loss(face, target, eyes)
                  + use_hinge * cfg.mask_hinge * mask_hinge(alpha, margin)
                  + (1 - use_hinge) * cfg.mask_l1 * mask_l1(alpha) + cfg.mask_tv * total_variation(alpha))
        if use_pl:
            mixed_face = lam * face + (1 - lam) * composite  # faceswap-GAN: one pass for both faces
            loss_g += perceptual_loss(self._features, mixed_face, target, cfg.perceptual_weights)
        return loss_g, loss_d, plain

    def _step(self, batch_a, batch_b, lams, margin, use_hinge, use_pl: bool):
        # As the autoencoder: side A learns, then side B (whose forward pass sees the encoder A just updated);
        # on each side the generator and the discriminator update together from one forward pass.
        losses = {}
        for i, (side, (warped, target, eyes)) in enumerate((("a", batch_a), ("b", batch_b))):
            g_vars, d_vars = self._g_vars(side), self.model.discriminator(side).trainable_variables
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                loss_g, loss_d, plain = self._side_losses(side, warped, target, eyes, lams[i], margin, use_hinge,
                                                          use_pl)
            self.opt_g[side].apply_gradients(zip(g_tape.gradient(loss_g, g_vars), g_vars, strict=True))
            self.opt_d[side].apply_gradients(zip(d_tape.gradient(loss_d, d_vars), d_vars, strict=True))
            losses[side] = (loss_g, loss_d, plain)
        return (losses["a"][0], losses["b"][0], losses["a"][1], losses["b"][1], losses["a"][2], losses["b"][2])

    def _set_rates(self, factor: float) -> None:
        for side in "ab":
            self.opt_g[side].learning_rate = self.learning_rate * factor
            self.opt_d[side].learning_rate = self.learning_rate * self.config.discriminator_lr_ratio * factor

    # --- the pieces of the shared training loop (checkpoint.CheckpointedTrainer) -----------------------
    def fit(self, faces_a: list[np.ndarray], faces_b: list[np.ndarray], steps: int | None = None, **kwargs):
        """As ``CheckpointedTrainer.fit``; the first run's ``steps`` sets ``total_steps`` (the schedule's length)
        unless it was given."""
        if self.total_steps is None:
            if steps is None:
                raise DeepfakeError("the GAN's loss schedule is spread over the run's steps: give total_steps to "
                                    "GanTrainer, or steps to fit")
            self.total_steps = steps
        try:
            return super().fit(faces_a, faces_b, steps, **kwargs)
        finally:
            self.model.colour_shift = self.colour_shift  # set by the first fit: the model converts as it trained

    @property
    def label(self) -> str:
        """What the progress bar calls this training."""
        return f"GAN {self.preset.name}"

    @property
    def colour_mode(self) -> str:
        """'shift' (A moved to B's mean colour, as the autoencoder it may start from) or 'raw'."""
        return self.colour

    def datasets(self, faces_a: list[np.ndarray], faces_b: list[np.ndarray]) -> tf.data.Dataset:
        """The zipped A and B streams of (warped, target, eye mask), positioned at the current step; the pairs
        are the autoencoder trainer's for the same seed."""
        kw = dict(seed=self.seed, batch_size=self.batch_size, start_step=self.step, size=self.preset.size,
                  coverage=self.coverage, mask=self._eyes)
        return tf.data.Dataset.zip(pair_dataset(faces_a, side=0, **kw), pair_dataset(faces_b, side=1, **kw))

    def _train_one(self, batch) -> tuple[float, ...]:
        step = self.step
        phase = self.phase(step)
        self._set_rates(phase.lr_factor)
        # mixup's lambda of each side, drawn from the seed and the step: a resumed run draws the same
        lams = tf.constant([np.random.default_rng([self.seed, 2 + i, step]).beta(self.config.mixup, self.config.mixup)
                            for i in range(2)], tf.float32)
        use_hinge = phase.margin is not None
        out = self._train_step(*batch, lams, tf.constant(phase.margin or 0.0, tf.float32),
                               tf.constant(float(use_hinge), tf.float32), phase.perceptual and self.perceptual_on)
        return tuple(float(v) for v in out)

    def _preview(self, inputs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        return preview_grid(self.model, *inputs)

    def _apply_learning_rate(self) -> None:
        self._set_rates(self.phase().lr_factor)

    def _restored_learning_rate(self) -> float:
        return float(self.opt_g["a"].learning_rate.numpy()) / self.phase().lr_factor

    def _state_fields(self) -> dict:
        return {"preset": asdict(self.preset), "config": asdict(self.config), "total_steps": self.total_steps,
                "coverage": self.coverage, "colour": self.colour, "warm_start": self.warm_start_report}
