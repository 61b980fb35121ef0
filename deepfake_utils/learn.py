"""Stage 7's core: how the autoencoder learns. The loss of a rebuilt face against its target, and one training
step of one side: forward, loss, gradients, update. ``train.Trainer`` runs it for A, then B, every step, inside
its data pipeline, compiled function, device policy and checkpoints.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf
from keras import ops

from .errors import InvalidArgument
from .model import SwapModel

Array = tf.Tensor | np.ndarray  # images (N, H, W, C) in 0..1, masks, verdicts: a tensor or a numpy array
# one step of both sides: (model, opt_a, opt_b, warped_a, target_a, warped_b, target_b) -> (loss_a, loss_b)
StepFn = Callable[..., tuple[tf.Tensor, tf.Tensor]]


def image_gradients(images: Array) -> tuple[tf.Tensor, tf.Tensor]:
    """The first differences of images along y and x (faceswap-GAN's ``first_order``), both (N, H-1, W-1, C)."""
    dy = images[:, 1:, :-1, :] - images[:, :-1, :-1, :]
    dx = images[:, :-1, 1:, :] - images[:, :-1, :-1, :]
    return dy, dx


def edge_loss(output: Array, target: Array, weights: Array | None = None) -> tf.Tensor:
    """L1 between the image gradients (x and y) of output and target: sharp edges in the right places.
    ``weights`` (N, H, W, 1) or (H, W, 1) weighs the pixels (e.g. the eye regions)."""
    loss = 0.0
    for got, want in zip(image_gradients(output), image_gradients(target), strict=True):
        error = ops.abs(got - want)
        loss += ops.mean(error if weights is None else error * weights[..., :-1, :-1, :])
    return loss


def reconstruction_loss(output: tf.Tensor, target: tf.Tensor, weights: tf.Tensor | None = None,
                        ssim: float = 0.0, edge: float = 0.0) -> tf.Tensor:
    """The training loss of faces in 0..1: mean absolute error (weighted per pixel) plus ``ssim`` x DSSIM plus
    ``edge`` x the edge loss (L1 of the image gradients, weighted alike)."""
    error = tf.abs(output - target)
    loss = tf.reduce_mean(error * weights if weights is not None else error)
    if ssim:
        loss += ssim * tf.reduce_mean((1.0 - tf.image.ssim(output, target, max_val=1.0)) / 2.0)
    if edge:
        loss += edge * edge_loss(output, target, weights)
    return loss


def decayed_rate(rate: float, progress: float, decay: float) -> float:
    """The learning rate at ``progress`` (0..1) of the budget: ``rate``, then falling linearly to 0 over the last
    ``decay`` of it (warm, stable, decay: the big steps find B's face, the small ones settle its detail)."""
    if not 0 <= decay <= 1:
        raise InvalidArgument(f"decay is a share of the budget, in 0..1 (got {decay})")
    if decay == 0:
        return rate
    return rate * float(np.clip((1 - progress) / decay, 0.0, 1.0))


def train_step(model: SwapModel, side: str, optimizer, warped: tf.Tensor, target: tf.Tensor,
               weights: tf.Tensor | None = None, ssim: float = 0.0, replicas: int = 1, edge: float = 0.0) -> tf.Tensor:
    """One step of one side's autoencoder on a batch of (warped, target) faces; returns the batch's loss.

    ``replicas``: the number of devices the batch is split over (each replica's gradients are summed).
    """
    variables = model.trainable_variables(side)  # that side's encoder and decoder
    with tf.GradientTape() as tape:
        output = tf.cast(model.reconstruct(warped, side, training=True), tf.float32)  # float16 under mixed precision
        loss = reconstruction_loss(output, target, weights, ssim, edge)
        scaled = optimizer.scale_loss(loss / replicas)  # a loss-scale optimizer's scaling (mixed precision), else as is
    gradients = tape.gradient(scaled, variables)
    optimizer.apply_gradients(zip(gradients, variables, strict=True))
    return loss


def train_both(model: SwapModel, opt_a, opt_b, warped_a: tf.Tensor, target_a: tf.Tensor, warped_b: tf.Tensor,
               target_b: tf.Tensor, **terms) -> tuple[tf.Tensor, tf.Tensor]:
    """One step of both autoencoders, A then B (``terms`` as ``train_step``'s): ``train.Trainer``'s ``step``."""
    return (train_step(model, "a", opt_a, warped_a, target_a, **terms),
            train_step(model, "b", opt_b, warped_b, target_b, **terms))
