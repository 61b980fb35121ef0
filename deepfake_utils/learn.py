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


SSIM_WINDOW, SSIM_SIGMA = 11, 1.5  # px and px: the Gaussian window of Wang et al. (2004), as tf.image.ssim's


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """The 1-D Gaussian weights (summing to 1) whose outer product is SSIM's 2-D window."""
    g = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    return (g / g.sum()).astype(np.float32)


def structural_similarity(x: Array, y: Array, max_val: float = 1.0) -> tf.Tensor:
    """The mean structural similarity of each pair of images (N, H, W, C), as ``tf.image.ssim`` computes it.

    SSIM compares the local means, variances and covariance of the two images in an 11 px Gaussian window:
    brightness (``2 mx my / (mx² + my²)``) times contrast and structure (``2 sxy / (sx² + sy²)``), each with a small
    constant against division by zero. A Gaussian window is separable, so the four local sums (of x, y, xy and
    x² + y²) are blurred together, down the columns and then along the rows. With its gradient on a CPU, 0.4-0.6x
    ``tf.image.ssim``'s time with oneDNN's kernels (the course's), 0.12x with Eigen's (``python -m benchmarks.bench
    ssim``); equal to SSIM computed in float64 within 1e-6 (``tf.image.ssim``, float32 throughout, within 3e-5).
    """
    x, y = tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.float32)
    channels = 4 * x.shape[-1]
    g = gaussian_window()
    down = tf.constant(np.tile(g.reshape(-1, 1, 1, 1), (1, 1, channels, 1)))
    along = tf.constant(np.tile(g.reshape(1, -1, 1, 1), (1, 1, channels, 1)))
    sums = tf.concat([x, y, x * y, x * x + y * y], axis=-1)
    for kernel in (down, along):  # a valid window only: no padding at the edges, as tf.image.ssim
        sums = tf.nn.depthwise_conv2d(sums, kernel, strides=[1, 1, 1, 1], padding="VALID")
    mx, my, mxy, msq = tf.split(sums, 4, axis=-1)
    c1, c2 = (0.01 * max_val) ** 2, (0.03 * max_val) ** 2
    brightness = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    structure = (2 * (mxy - mx * my) + c2) / (msq - mx * mx - my * my + c2)
    return tf.reduce_mean(brightness * structure, axis=[-3, -2, -1])


def reconstruction_loss(output: tf.Tensor, target: tf.Tensor, weights: tf.Tensor | None = None,
                        ssim: float = 0.0, edge: float = 0.0) -> tf.Tensor:
    """The training loss of faces in 0..1: mean absolute error (weighted per pixel) plus ``ssim`` x DSSIM plus
    ``edge`` x the edge loss (L1 of the image gradients, weighted alike)."""
    error = tf.abs(output - target)
    loss = tf.reduce_mean(error * weights if weights is not None else error)
    if ssim:
        loss += ssim * tf.reduce_mean((1.0 - structural_similarity(output, target)) / 2.0)
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


def train_b_only(model: SwapModel, opt_a, opt_b, warped_a: tf.Tensor, target_a: tf.Tensor, warped_b: tf.Tensor,
                 target_b: tf.Tensor, weights: tf.Tensor | None = None, ssim: float = 0.0, replicas: int = 1,
                 edge: float = 0.0) -> tuple[tf.Tensor, tf.Tensor]:
    """One step of B's autoencoder alone (a recipe's ``b_first``); A's loss is measured, not trained on."""
    output_a = tf.cast(model.reconstruct(warped_a, "a", training=False), tf.float32)
    loss_a = reconstruction_loss(output_a, target_a, weights, ssim, edge)
    return loss_a, train_step(model, "b", opt_b, warped_b, target_b, weights, ssim, replicas, edge)
