"""Stage 6: the original deepfakes autoencoder. One shared encoder, one decoder per identity (Keras 3).

Encoder: 5x5 stride-2 convolutions (LeakyReLU 0.1) -> Flatten -> Dense(dense) -> Dense(4*4*dense)
-> reshape to 4x4 -> one upscale. Decoder: upscales back to the face size, then a 5x5 convolution to
3 channels with a sigmoid. "Upscale" is a 3x3 convolution to 4x the filters followed by a pixel
shuffle (depth_to_space), as the original; ``upscale="upsample"`` is the Packt book's variant
(UpSampling2D then a 3x3 convolution), which has far fewer parameters.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from .align import ALIGNED_SIZE
from .errors import DeepfakeError

COVERAGE = 160  # px of the 256 px aligned crop that the model sees (the original's framing)


def crop_to_model(size: int = 64, coverage: int = COVERAGE) -> np.ndarray:
    """The 2x3 matrix from the 256 px aligned crop to the model face: its middle ``coverage`` px, resized."""
    scale = size / coverage  # on pixel centres, as the training targets (see warp.random_warp)
    offset = -scale * (ALIGNED_SIZE - coverage) / 2 - 0.5
    return np.array([[scale, 0, offset], [0, scale, offset]])


@dataclass(frozen=True)
class Preset:
    """The sizes of one model: face size, encoder filters, bottleneck width, decoder filters, upscale kind."""

    name: str
    size: int = 64
    encoder_filters: tuple[int, ...] = (128, 256, 512, 1024)
    dense: int = 1024
    encoder_upscale: int = 512
    decoder_filters: tuple[int, ...] = (256, 128, 64)
    upscale: str = "shuffle"  # or "upsample"
    learning_rate: float = 5e-5
    batch_size: int = 64


PRESETS: dict[str, Preset] = {
    # The original 64 px model: 82.1 M parameters with two decoders.
    "original": Preset("original"),
    # Narrower bottleneck and one convolution fewer: fits GPUs with little memory.
    "lowmem": Preset("lowmem", encoder_filters=(128, 256, 512), dense=512, encoder_upscale=256,
                     decoder_filters=(128, 64, 32), batch_size=32),
    # Small enough to train on a laptop CPU in minutes (quick mode, CI); a higher learning rate to match.
    "tiny": Preset("tiny", encoder_filters=(32, 64, 128, 256), dense=128, encoder_upscale=64,
                   decoder_filters=(64, 32, 16), learning_rate=2e-4, batch_size=16),
    # 128 px faces: one more convolution and one more upscale.
    "128": Preset("128", size=128, encoder_filters=(128, 256, 512, 1024, 1024), decoder_filters=(512, 256, 128, 64),
                  batch_size=32),
}


def get_preset(preset: str | Preset, **changes) -> Preset:
    """A preset by name (see ``PRESETS``), optionally with some fields changed."""
    if isinstance(preset, Preset):
        return replace(preset, **changes) if changes else preset
    if preset not in PRESETS:
        raise DeepfakeError(f"unknown model preset {preset!r}; choose one of {sorted(PRESETS)}")
    return replace(PRESETS[preset], **changes) if changes else PRESETS[preset]


@keras.saving.register_keras_serializable(package="deepfake_utils")
class PixelShuffle(layers.Layer):
    """Rearrange 4C channels into a 2x larger image with C channels (depth_to_space)."""

    def call(self, x):
        return tf.nn.depth_to_space(x, 2)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else 2 * h, None if w is None else 2 * w, c // 4)


def upscale(x, filters: int, kind: str = "shuffle", name: str | None = None):
    """Double the image size: conv to 4x filters + pixel shuffle, or upsample + conv (``kind="upsample"``)."""
    if kind == "shuffle":
        x = layers.Conv2D(filters * 4, 3, padding="same", name=f"{name}_conv" if name else None)(x)
        x = layers.LeakyReLU(0.1)(x)
        return PixelShuffle(name=f"{name}_shuffle" if name else None)(x)
    if kind == "upsample":
        x = layers.UpSampling2D(2)(x)
        x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv" if name else None)(x)
        return layers.LeakyReLU(0.1)(x)
    raise DeepfakeError(f"upscale must be 'shuffle' or 'upsample', not {kind!r}")


def _check(preset: Preset) -> None:
    if preset.size // 2 ** len(preset.encoder_filters) < 1:
        raise DeepfakeError(f"preset {preset.name}: {len(preset.encoder_filters)} stride-2 convolutions "
                            f"shrink {preset.size} px to nothing")
    if 8 * 2 ** len(preset.decoder_filters) != preset.size:
        needed = int(math.log2(preset.size / 8))
        raise DeepfakeError(f"preset {preset.name}: the decoder must upscale 8 px to {preset.size} px, "
                            f"which takes {needed} upscales, not {len(preset.decoder_filters)}")


def build_encoder(preset: str | Preset = "original") -> keras.Model:
    """The shared encoder: a face (size x size x 3, 0..1) to an 8x8 code."""
    p = get_preset(preset)
    _check(p)
    face = keras.Input((p.size, p.size, 3), name="face")
    x = face
    for i, filters in enumerate(p.encoder_filters):
        x = layers.Conv2D(filters, 5, strides=2, padding="same", name=f"conv{i + 1}")(x)
        x = layers.LeakyReLU(0.1)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(p.dense, name="bottleneck")(x)
    x = layers.Dense(4 * 4 * p.dense, name="expand")(x)
    x = layers.Reshape((4, 4, p.dense))(x)
    x = upscale(x, p.encoder_upscale, p.upscale, name="up0")
    return keras.Model(face, x, name="encoder")


def build_decoder(preset: str | Preset = "original", name: str = "decoder") -> keras.Model:
    """One identity's decoder: the 8x8 code back to a face (size x size x 3, 0..1)."""
    p = get_preset(preset)
    _check(p)
    code = keras.Input((8, 8, p.encoder_upscale), name="code")
    x = code
    for i, filters in enumerate(p.decoder_filters):
        x = upscale(x, filters, p.upscale, name=f"up{i + 1}")
    x = layers.Conv2D(3, 5, padding="same", activation="sigmoid", dtype="float32", name="to_rgb")(x)
    return keras.Model(code, x, name=name)


@dataclass
class SwapModel:
    """The encoder and the two decoders, plus the two autoencoders they make."""

    preset: Preset
    encoder: keras.Model
    decoder_a: keras.Model
    decoder_b: keras.Model
    coverage: int = COVERAGE  # px of the 256 px aligned crop it was trained on (conversion frames faces alike)
    colour_shift: tuple[float, float, float] | None = None  # RGB shift its A faces had in training (0..255)

    def decoder(self, side: str) -> keras.Model:
        """The decoder of one side: 'a' or 'b'."""
        if side not in ("a", "b"):
            raise DeepfakeError(f"side must be 'a' or 'b', not {side!r}")
        return self.decoder_a if side == "a" else self.decoder_b

    def autoencoder(self, side: str) -> keras.Model:
        """Encoder + decoder of one side ('a' or 'b'), as a Keras model."""
        face = keras.Input((self.preset.size, self.preset.size, 3))
        return keras.Model(face, self.decoder(side)(self.encoder(face)), name=f"autoencoder_{side}")

    def count_params(self) -> int:
        """Parameters of the encoder and both decoders."""
        return self.encoder.count_params() + self.decoder_a.count_params() + self.decoder_b.count_params()

    def reconstruct(self, faces, side: str, *, training: bool = False):
        """Encode faces and decode them with one side's decoder (float 0..1 in, float 0..1 out)."""
        return self.decoder(side)(self.encoder(faces, training=training), training=training)

    def swap(self, faces, to: str = "b"):
        """The swap: encode faces of one identity and decode them with the other identity's decoder."""
        return self.reconstruct(faces, to)


def build(preset: str | Preset = "original", **changes) -> SwapModel:
    """A fresh model of a preset (see ``PRESETS``)."""
    p = get_preset(preset, **changes)
    return SwapModel(p, build_encoder(p), build_decoder(p, "decoder_a"), build_decoder(p, "decoder_b"))
