"""Stage 9: the GAN upgrade. A generator with a learned mask, PatchGAN discriminators and their losses,
after faceswap-GAN v2.2 (shaoanlu/faceswap-GAN: its figures, our own Keras 3 code).

Generator = the autoencoder with residual and self-attention blocks, one shared encoder and one decoder
per identity; each decoder paints a face **and an alpha mask** (1 channel, sigmoid): where the mask is
low the input shows through, so the network learns which pixels it should replace.

- ``standard`` (faceswap-GAN's): a 5x5 convolution to 64 channels, four 3x3 stride-2 blocks to
  128/256/512/1024 channels with self-attention at 16x16 and 8x8, a dense bottleneck of 1024, dense to
  4x4x1024, one pixel-shuffle upscale to 8x8x512; the decoder upscales to 256/128/64 channels with
  self-attention at 32x32, a residual block and self-attention at 64x64, then the two heads.
- ``lite``: every width halved, and upsampling + convolution instead of pixel shuffle.
- ``tiny`` (CPU, quick mode): the course's ``tiny`` autoencoder with self-attention at 16x16 and 8x8 only,
  a residual block and the mask head, so that it can start from a trained ``tiny`` autoencoder
  (``gan_train.GanTrainer(warm_start_from=...)``): attention starts at gamma = 0 and the residual branch at zero, so the
  warm-started generator paints exactly the autoencoder's faces at step 0.

Discriminator (one per identity): PatchGAN conditioned on the warped input (6 channels: a face and the
warped input it came from): 4x4 stride-2 convolutions (64/128/256 in ``standard``) with LeakyReLU 0.2,
self-attention, a 4x4 convolution to one channel: an 8x8 map of real/fake verdicts, one per patch.

Losses (``GanConfig``, faceswap-GAN's defaults): least-squares GAN with mixup on the masked composite and
on the raw face; L1 reconstruction; an edge loss (L1 of the image gradients); both weighted up on the
eyes; L1 or a hinge on the mask and its total variation; optionally a perceptual loss on ImageNet
features. The schedule (switches at fractions of the run's steps) turns the perceptual loss and the mask
hinge on and lowers the learning rate late. Training (``gan_train.GanTrainer``) shares the autoencoder
trainer's model folder, checkpoints and resume (``deepfake_utils.checkpoint``); ``checkpoint.load`` loads either.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import cv2
import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from . import align
from .align import COVERAGE
from .choices import GAN_PRESETS, GanPreset, get_preset
from .errors import DeepfakeError, DeepfakeWarning
from .learn import Array, image_gradients
from .model import SwapModel, upscale

# --- presets ----------------------------------------------------------------------------------------


# --- blocks -----------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="deepfake_utils")
class SelfAttention(layers.Layer):
    """Self-attention over the positions of a feature map (SAGAN): every position takes a weighted mean of
    the values of all positions, weighted by how well its query matches their keys;
    ``out = x + gamma * attended``, with ``gamma`` learned and starting at 0 (the block starts as the identity).
    Queries and keys have C/8 channels (``squeeze``), values C, all from 1x1 projections."""

    def __init__(self, squeeze: int = 8, **kwargs) -> None:
        """``squeeze``: channels of the queries and keys = C // squeeze."""
        super().__init__(**kwargs)
        self.squeeze = squeeze

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Create the projections for ``input_shape`` (N, H, W, C): one kernel and bias for the queries, keys
        and values together (fewer variables: a cheaper optimiser step)."""
        channels = int(input_shape[-1])
        self.inner = max(1, channels // self.squeeze)
        self.kernel = self.add_weight(shape=(channels, 2 * self.inner + channels), initializer="glorot_uniform",
                                      name="kernel")
        self.bias = self.add_weight(shape=(2 * self.inner + channels,), initializer="zeros", name="bias")
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def _project(self, x: Array) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Queries (N, HW, C/8), keys (N, HW, C/8) and values (N, HW, C) of every position."""
        if not self.built:
            self.build(tuple(x.shape))
        shape = ops.shape(x)
        flat = ops.matmul(ops.reshape(x, (-1, shape[1] * shape[2], shape[3])), self.kernel) + self.bias
        return flat[..., :self.inner], flat[..., self.inner:2 * self.inner], flat[..., 2 * self.inner:]

    @staticmethod
    def _map(queries: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
        return ops.softmax(ops.matmul(queries, ops.transpose(keys, (0, 2, 1))), axis=-1)

    def attention(self, x: Array) -> tf.Tensor:
        """The attention map (N, H*W, H*W): row i is where position i looks (sums to 1)."""
        queries, keys, _ = self._project(x)
        return self._map(queries, keys)

    def call(self, x: Array) -> tf.Tensor:
        """x + gamma * (attention @ values), same shape as x."""
        queries, keys, values = self._project(x)
        return x + self.gamma * ops.reshape(ops.matmul(self._map(queries, keys), values), ops.shape(x))

    def get_config(self) -> dict:
        """For Keras serialisation."""
        return {**super().get_config(), "squeeze": self.squeeze}


def residual_block(x: keras.KerasTensor, filters: int, name: str) -> keras.KerasTensor:
    """x + conv(LeakyReLU(conv(x))), 3x3 convolutions; the second starts at zero, so the block starts as the
    identity (faceswap-GAN's block, with its last activation left out so that this holds)."""
    y = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(x)
    y = layers.LeakyReLU(0.2)(y)
    y = layers.Conv2D(filters, 3, padding="same", kernel_initializer="zeros", name=f"{name}_conv2")(y)
    return layers.Add(name=name)([x, y])


def build_encoder(preset: str | GanPreset = "standard") -> keras.Model:
    """The shared encoder: a face (size x size x 3, 0..1) to an 8x8 code (layer names as the autoencoder's)."""
    p = get_preset(preset, GAN_PRESETS)
    face = keras.Input((p.size, p.size, 3), name="face")
    x = face
    if p.stem:
        x = layers.LeakyReLU(0.1)(layers.Conv2D(p.stem, 5, padding="same", name="stem")(x))
    side = p.size
    for i, filters in enumerate(p.encoder_filters):
        x = layers.Conv2D(filters, p.kernel, strides=2, padding="same", name=f"conv{i + 1}")(x)
        x = layers.LeakyReLU(0.1)(x)
        side //= 2
        if side in p.encoder_attention:
            x = SelfAttention(name=f"attn{side}")(x)
    if side < 1:
        raise DeepfakeError(f"GAN preset {p.name}: {len(p.encoder_filters)} stride-2 convolutions shrink "
                            f"{p.size} px to nothing")
    x = layers.Flatten()(x)
    x = layers.Dense(p.dense, name="bottleneck")(x)
    x = layers.Dense(4 * 4 * p.dense, name="expand")(x)
    x = layers.Reshape((4, 4, p.dense))(x)
    x = upscale(x, p.encoder_upscale, p.upscale, name="up0")
    return keras.Model(face, x, name="encoder")


def build_decoder(preset: str | GanPreset = "standard", name: str = "decoder") -> keras.Model:
    """One identity's decoder: the 8x8 code to [face (size x size x 3), alpha mask (size x size x 1)], 0..1."""
    p = get_preset(preset, GAN_PRESETS)
    if 8 * 2 ** len(p.decoder_filters) != p.size:
        raise DeepfakeError(f"GAN preset {p.name}: the decoder must upscale 8 px to {p.size} px")
    code = keras.Input((8, 8, p.encoder_upscale), name="code")
    x = code
    for i, filters in enumerate(p.decoder_filters):
        x = upscale(x, filters, p.upscale, name=f"up{i + 1}")
        side = 8 * 2 ** (i + 1)
        if side == p.size:
            x = residual_block(x, filters, name=f"res{side}")
        if side in p.decoder_attention:
            x = SelfAttention(name=f"attn{side}")(x)
    face = layers.Conv2D(3, 5, padding="same", activation="sigmoid", dtype="float32", name="to_rgb")(x)
    alpha = layers.Conv2D(1, 5, padding="same", activation="sigmoid", dtype="float32", name="to_alpha")(x)
    return keras.Model(code, [face, alpha], name=name)


def build_discriminator(preset: str | GanPreset = "standard", name: str = "discriminator") -> keras.Model:
    """A PatchGAN: (face, warped input) as 6 channels to an (size/8) x (size/8) map of verdicts (linear: LSGAN);
    its convolutions have no bias, as faceswap-GAN's."""
    p = get_preset(preset, GAN_PRESETS)
    pair = keras.Input((p.size, p.size, 6), name="face_and_input")
    x = pair
    for i, filters in enumerate(p.disc_filters):
        x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = layers.LeakyReLU(0.2)(x)
    x = SelfAttention(name="attn")(x)
    verdicts = layers.Conv2D(1, 4, padding="same", use_bias=False, dtype="float32", name="verdicts")(x)
    return keras.Model(pair, verdicts, name=name)


@dataclass
class GanModel:
    """The generator (encoder and two decoders with masks) and the two discriminators (None when loaded for
    conversion). ``swap`` and ``reconstruct`` give faces as ``SwapModel``'s do; ``swap_with_mask`` adds the
    alpha mask."""

    preset: GanPreset
    encoder: keras.Model
    decoder_a: keras.Model
    decoder_b: keras.Model
    disc_a: keras.Model | None = None
    disc_b: keras.Model | None = None
    coverage: int = COVERAGE  # px of the 256 px aligned crop it was trained on (conversion frames faces alike)
    colour_shift: tuple[float, float, float] | None = None  # RGB shift its A faces had in training (0..255)
    learned_mask: ClassVar[bool] = True  # it paints an alpha mask with its faces (``swap_with_mask``)

    def decoder(self, side: str) -> keras.Model:
        """The decoder of one side: 'a' or 'b'."""
        if side not in ("a", "b"):
            raise DeepfakeError(f"side must be 'a' or 'b', not {side!r}")
        return self.decoder_a if side == "a" else self.decoder_b

    def discriminator(self, side: str) -> keras.Model:
        """The discriminator of one side: it judges faces of that identity."""
        if side not in ("a", "b"):
            raise DeepfakeError(f"side must be 'a' or 'b', not {side!r}")
        disc = self.disc_a if side == "a" else self.disc_b
        if disc is None:
            raise DeepfakeError("this GanModel was loaded for conversion, without its discriminators")
        return disc

    def generate(self, faces: Array, side: str, *, training: bool = False) -> tuple[tf.Tensor, tf.Tensor]:
        """Encode faces (float 0..1) and decode them with one side's decoder: (face, alpha), both 0..1."""
        face, alpha = self.decoder(side)(self.encoder(faces, training=training), training=training)
        return face, alpha

    def reconstruct(self, faces: Array, side: str, *, training: bool = False) -> tf.Tensor:
        """The raw face one side's decoder paints (without the mask), as ``SwapModel.reconstruct``."""
        return self.generate(faces, side, training=training)[0]

    def swap(self, faces: Array, to: str = "b") -> tf.Tensor:
        """The swap's raw face: encode faces of one identity and decode them as the other."""
        return self.reconstruct(faces, to)

    def swap_with_mask(self, faces: Array, to: str = "b") -> tuple[tf.Tensor, tf.Tensor]:
        """The swap's face and its alpha mask (N, size, size, 1)."""
        return self.generate(faces, to)

    def composite(self, faces: Array, to: str = "b") -> tf.Tensor:
        """alpha * new face + (1 - alpha) * the input face: what the masked swap shows."""
        face, alpha = self.generate(faces, to)
        return alpha * face + (1 - alpha) * faces

    def generator_params(self) -> int:
        """Parameters of the encoder and both decoders."""
        return self.encoder.count_params() + self.decoder_a.count_params() + self.decoder_b.count_params()

    def count_params(self) -> int:
        """Parameters of the generator and, when present, both discriminators."""
        discs = [d for d in (self.disc_a, self.disc_b) if d is not None]
        return self.generator_params() + sum(d.count_params() for d in discs)

    def attention_map(self, faces: Array, name: str | None = None) -> np.ndarray:
        """The attention map (N, H*W, H*W) of one of the encoder's self-attention layers (default: the
        first, at the highest resolution) for faces (float 0..1)."""
        attention = [layer for layer in self.encoder.layers if isinstance(layer, SelfAttention)]
        if not attention:
            raise DeepfakeError(f"the {self.preset.name} encoder has no self-attention layer")
        layer = attention[0] if name is None else self.encoder.get_layer(name)
        features = keras.Model(self.encoder.input, layer.input)(faces)
        return np.asarray(layer.attention(features))

    def patch_verdicts(self, faces: Array, inputs: Array, side: str) -> np.ndarray:
        """The discriminator's 8x8 verdicts (N, 8, 8) on faces given the inputs they came from (float 0..1)."""
        pair = np.concatenate([np.asarray(faces, np.float32), np.asarray(inputs, np.float32)], axis=-1)
        return np.asarray(self.discriminator(side)(pair))[..., 0]


def build_gan(preset: str | GanPreset = "standard", *, discriminators: bool = True, coverage: int = COVERAGE,
              colour_shift: tuple[float, float, float] | None = None, **changes) -> GanModel:
    """A fresh GAN of a preset (see ``GAN_PRESETS``); ``discriminators=False`` builds the generator only."""
    p = get_preset(preset, GAN_PRESETS, **changes)
    discs = (build_discriminator(p, "disc_a"), build_discriminator(p, "disc_b")) if discriminators else (None, None)
    return GanModel(p, build_encoder(p), build_decoder(p, "decoder_a"), build_decoder(p, "decoder_b"), *discs,
                    coverage=coverage, colour_shift=colour_shift)


def warm_start(model: GanModel, autoencoder: SwapModel) -> dict[str, list[str]]:
    """Copy a trained autoencoder's weights into the generator, layer by layer where the name and the weight
    shapes match (encoder, both decoders); returns the layers copied and those left fresh."""
    if autoencoder.preset.shared != "encoder":
        raise DeepfakeError("the GAN's generator shares one encoder between the identities, as the classic "
                            "autoencoder does; an autoencoder with a shared decoder cannot start it")
    if autoencoder.preset.name != model.preset.autoencoder:
        raise DeepfakeError(f"the {model.preset.name} GAN starts from a {model.preset.autoencoder!r} autoencoder, "
                            f"not a {autoencoder.preset.name!r} one")
    copied, fresh = [], []
    for ours, theirs in ((model.encoder, autoencoder.encoder), (model.decoder_a, autoencoder.decoder_a),
                         (model.decoder_b, autoencoder.decoder_b)):
        source = {layer.name: layer for layer in theirs.layers}
        for layer in ours.layers:
            if not layer.weights:
                continue
            other = source.get(layer.name)
            weights = other.get_weights() if other is not None else None
            if weights is not None and [w.shape for w in weights] == [w.shape for w in layer.get_weights()]:
                layer.set_weights(weights)
                copied.append(f"{ours.name}/{layer.name}")
            else:
                fresh.append(f"{ours.name}/{layer.name}")
    return {"copied": copied, "fresh": fresh}


# --- losses (faces float 0..1, NHWC) ---------------------------------------------------------------
def lsgan_loss(prediction: Array, target: Array | float) -> tf.Tensor:
    """The least-squares GAN loss: the mean of (prediction - target)^2 (target 1: real, 0: fake, or a mix)."""
    return ops.mean(ops.square(prediction - target))


def l1_loss(output: Array, target: Array, weights: Array | None = None) -> tf.Tensor:
    """The mean absolute error, optionally weighted per pixel."""
    error = ops.abs(output - target)
    return ops.mean(error if weights is None else error * weights)


def mask_l1(alpha: Array) -> tf.Tensor:
    """The mean of the mask: a small pull towards showing the input where the new face is not needed."""
    return ops.mean(ops.abs(alpha))


def mask_hinge(alpha: Array, margin: Array | float) -> tf.Tensor:
    """mean(max(0, margin - alpha)): zero once the mask is at least ``margin`` everywhere."""
    return ops.mean(ops.maximum(0.0, margin - alpha))


def total_variation(alpha: Array) -> tf.Tensor:
    """The mean absolute difference of neighbouring mask pixels (y and x): zero for a flat mask."""
    dy, dx = image_gradients(alpha)
    return ops.mean(ops.abs(dy)) + ops.mean(ops.abs(dx))


def instance_norm(features: Array) -> tf.Tensor:
    """Normalise every channel of every image to mean 0 and variance 1 over its positions."""
    mean = ops.mean(features, axis=(1, 2), keepdims=True)
    var = ops.var(features, axis=(1, 2), keepdims=True)
    return (features - mean) / ops.sqrt(var + 1e-5)


def perceptual_loss(features: keras.Model, output: Array, target: Array,
                    weights: tuple[float, ...] = (0.01, 0.1, 0.3, 0.1)) -> tf.Tensor:
    """Weighted mean squared differences of instance-normalised features of output and target (0..1 faces
    resized to 224 px, ImageNet/caffe preprocessing); ``features`` returns one map per weight."""
    def feats(images):
        images = ops.image.resize(images, (224, 224)) * 255.0
        return features(keras.applications.resnet50.preprocess_input(images))

    loss = 0.0
    for weight, got, want in zip(weights, feats(output), feats(target), strict=True):
        loss += weight * ops.mean(ops.square(instance_norm(got) - instance_norm(want)))
    return loss


PERCEPTUAL_LAYERS = ("conv5_block3_out", "conv3_block4_out", "conv2_block3_out", "conv1_relu")  # 7, 28, 56, 112 px


def perceptual_features() -> keras.Model | None:
    """ResNet50's ImageNet features at 7, 28, 56 and 112 px (faceswap-GAN takes VGGFace's ResNet50 at these
    sizes), or None with one ``DeepfakeWarning`` when its pretrained weights cannot be had (offline): the
    perceptual loss is then off. Never random weights. Keras downloads the weights (~95 MB) once into
    ~/.keras/models."""
    try:
        net = keras.applications.ResNet50(include_top=False, weights="imagenet", input_shape=(224, 224, 3))
    except Exception as exc:  # keras.utils.get_file raises a bare Exception when the download fails
        warnings.warn(f"perceptual loss off: the ImageNet weights of ResNet50 could not be loaded "
                      f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]}); training goes on without it "
                      "(connect to the internet once, or copy the weights into ~/.keras/models)",
                      DeepfakeWarning, stacklevel=2)
        return None
    net.trainable = False
    return keras.Model(net.input, [net.get_layer(name).output for name in PERCEPTUAL_LAYERS], name="perceptual")


def eye_mask(size: int = align.ALIGNED_SIZE, dilate: float = 1 / 16, blur: float = 1 / 16) -> np.ndarray:
    """The eye regions of an aligned face (uint8 RGB, 255 inside): the hull of dlib's points 36-47 on the mean
    face every face is aligned to, dilated and blurred by shares of the crop (the trainer moves it with each
    pair's random transform and warp)."""
    mask = np.zeros((size, size), np.uint8)
    eyes = align.mean_face_target(size)[36 - 17:48 - 17]  # the mean face holds landmarks 17..67
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(eyes).astype(np.int32)), 255)
    grow = max(1, round(dilate * size))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    soft = max(1, round(blur * size)) * 2 + 1
    return np.repeat(cv2.GaussianBlur(mask, (soft, soft), 0)[..., None], 3, axis=2)


# --- the loss settings and their schedule ----------------------------------------------------------
class Phase(NamedTuple):
    """What the schedule switches on from a fraction of the run: perceptual loss, mask hinge margin (None:
    the L1 pull on the mask instead), learning-rate factor."""

    start: float
    perceptual: bool
    margin: float | None
    lr_factor: float


# faceswap-GAN v2.2's training notebook, in fractions of its TOTAL_ITERS (it also swaps the two decoders at
# 0.8, a trick left out here).
FACESWAP_GAN_SCHEDULE = (Phase(0.0, False, None, 1.0), Phase(0.2, True, None, 1.0), Phase(0.3, True, 0.5, 1.0),
                         Phase(0.4, True, 0.2, 1.0), Phase(0.5, True, 0.4, 1.0), Phase(2 / 3, True, None, 0.3),
                         Phase(0.8, True, 0.1, 0.3), Phase(0.9, True, None, 0.1))


@dataclass(frozen=True)
class GanConfig:
    """The GAN's losses, optimiser and schedule. Defaults: faceswap-GAN v2.2's (its train notebook's
    ``loss_weights`` and ``loss_config``, and its model's Adam settings)."""

    adversarial: float = 0.1  # w_D: LSGAN with mixup, on the masked composite and on the raw face
    mixup: float = 0.2  # lambda ~ Beta(0.2, 0.2) mixes real and fake pairs for the discriminator
    reconstruction: float = 1.0  # w_recon: L1 of the raw face against the target
    edge: float = 0.1  # w_edge: L1 of the x and y image gradients
    eyes: float = 30.0  # w_eyes: L1 + edge again inside the eye regions
    mask_l1: float = 1e-2  # the mask's mean, while no hinge margin is set
    mask_hinge: float = 0.1  # weight of max(0, m - alpha) while the schedule sets a margin m
    mask_tv: float = 0.1  # total variation of the mask
    perceptual: bool = False  # perceptual loss (needs ResNet50's ImageNet weights: a download); off by default
    perceptual_weights: tuple[float, ...] = (0.01, 0.1, 0.3, 0.1)  # w_pl: features at 7, 28, 56, 112 px
    discriminator_lr_ratio: float = 2.0  # lrD 2e-4 for lrG 1e-4
    beta_1: float = 0.5  # Adam
    beta_2: float = 0.999
    schedule: tuple[Phase, ...] = FACESWAP_GAN_SCHEDULE  # in fractions of the run's steps

    def __post_init__(self) -> None:
        starts = [phase.start for phase in self.schedule]
        if not starts or starts[0] != 0 or starts != sorted(starts):
            raise DeepfakeError("GAN config: the schedule's phases must start at 0 and be in order")

    def phase(self, step: int, total: int) -> Phase:
        """The schedule's phase at ``step`` of a ``total``-step run (the last phase after the end)."""
        done = step / max(total, 1)
        return [phase for phase in self.schedule if phase.start <= done][-1]
