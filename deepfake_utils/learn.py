"""Stage 7's core: how the autoencoder learns. The loss of a rebuilt face against its target, and one training
step of one side: forward, loss, gradients, update. ``train.Trainer`` runs it for A, then B, every step, inside
its data pipeline, compiled function, device policy and checkpoints.
"""
from __future__ import annotations

import tensorflow as tf

from .model import SwapModel


def reconstruction_loss(output: tf.Tensor, target: tf.Tensor, weights: tf.Tensor | None = None,
                        ssim: float = 0.0) -> tf.Tensor:
    """The training loss of faces in 0..1: mean absolute error (weighted per pixel) plus ``ssim`` x DSSIM."""
    error = tf.abs(output - target)
    loss = tf.reduce_mean(error * weights if weights is not None else error)
    if ssim:
        loss += ssim * tf.reduce_mean((1.0 - tf.image.ssim(output, target, max_val=1.0)) / 2.0)
    return loss


def train_step(model: SwapModel, side: str, optimizer, warped: tf.Tensor, target: tf.Tensor,
               weights: tf.Tensor | None = None, ssim: float = 0.0, replicas: int = 1) -> tf.Tensor:
    """One step of one side's autoencoder on a batch of (warped, target) faces; returns the batch's loss.

    ``replicas``: the number of devices the batch is split over (each replica's gradients are summed).
    """
    variables = model.trainable_variables(side)  # that side's encoder and decoder
    with tf.GradientTape() as tape:
        output = tf.cast(model.reconstruct(warped, side, training=True), tf.float32)  # float16 under mixed precision
        loss = reconstruction_loss(output, target, weights, ssim)
        scaled = optimizer.scale_loss(loss / replicas)  # a loss-scale optimizer's scaling (mixed precision), else as is
    gradients = tape.gradient(scaled, variables)
    optimizer.apply_gradients(zip(gradients, variables, strict=True))
    return loss
