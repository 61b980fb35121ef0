"""Stage 6: the original deepfakes autoencoder. One shared encoder, one decoder per identity (Keras 3).

``shared="decoder"`` builds the mirror image from the same blocks, as the FaceReplace tutorial did: one
encoder per identity and one shared decoder. Both are one ``SwapModel``; a swap is always "encode with
the source's encoder, decode with the target's decoder", which for the mirror image is the source's own
autoencoder (see ``SwapModel.swap``); ``via_encoder("b")`` reads the faces with B's encoder instead
(benchmarks/README.md measures both paths).

Encoder: 5x5 stride-2 convolutions (LeakyReLU 0.1) -> Flatten -> Dense(dense) -> Dense(4*4*dense)
-> reshape to 4x4 -> one upscale. Decoder: upscales back to the face size, then a 5x5 convolution to
3 channels with a sigmoid. "Upscale" is a 3x3 convolution to 4x the filters followed by a pixel
shuffle (depth_to_space), as the original; ``upscale="upsample"`` is the Packt book's variant
(UpSampling2D then a 3x3 convolution), which has far fewer parameters.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol

import keras
from keras import layers

from .align import COVERAGE
from .choices import SHARED, Preset, get_preset
from .errors import DeepfakeError, InvalidArgument


@keras.saving.register_keras_serializable(package="deepfake_utils")
class PixelShuffle(layers.Layer):
    """Rearrange 4C channels into a 2x larger image with C channels (depth_to_space).

    Channel group k = 2i + j of each pixel becomes the pixel at row i, column j of its 2x2 block, as
    ``tf.nn.depth_to_space(x, 2)``; written with Keras ops, so the model runs on any Keras backend.
    """

    def call(self, x):
        _, height, width, channels = x.shape  # all but the batch are known when the model is built
        x = keras.ops.reshape(x, (-1, height, width, 2, 2, channels // 4))  # (.., row in block, column, C)
        x = keras.ops.transpose(x, (0, 1, 3, 2, 4, 5))  # rows of blocks, then the rows inside them
        return keras.ops.reshape(x, (-1, 2 * height, 2 * width, channels // 4))

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
    raise InvalidArgument(f"upscale must be 'shuffle' or 'upsample', not {kind!r}")


def _check(preset: Preset) -> None:
    if preset.shared not in SHARED:
        raise DeepfakeError(f"preset {preset.name}: shared must be 'encoder' (one encoder, two decoders: the classic) "
                            f"or 'decoder' (two encoders, one decoder), not {preset.shared!r}")
    if preset.size // 2 ** len(preset.encoder_filters) < 1:
        raise DeepfakeError(f"preset {preset.name}: {len(preset.encoder_filters)} stride-2 convolutions "
                            f"shrink {preset.size} px to nothing")
    if 8 * 2 ** len(preset.decoder_filters) != preset.size:
        needed = int(math.log2(preset.size / 8))
        raise DeepfakeError(f"preset {preset.name}: the decoder must upscale 8 px to {preset.size} px, "
                            f"which takes {needed} upscales, not {len(preset.decoder_filters)}")


def build_encoder(preset: str | Preset = "original", name: str = "encoder") -> keras.Model:
    """An encoder (the shared one, or one identity's): a face (size x size x 3, 0..1) to an 8x8 code."""
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
    return keras.Model(face, x, name=name)


def build_decoder(preset: str | Preset = "original", name: str = "decoder") -> keras.Model:
    """A decoder (one identity's, or the shared one): the 8x8 code back to a face (size x size x 3, 0..1)."""
    p = get_preset(preset)
    _check(p)
    code = keras.Input((8, 8, p.encoder_upscale), name="code")
    x = code
    for i, filters in enumerate(p.decoder_filters):
        x = upscale(x, filters, p.upscale, name=f"up{i + 1}")
    x = layers.Conv2D(3, 5, padding="same", activation="sigmoid", dtype="float32", name="to_rgb")(x)
    return keras.Model(code, x, name=name)


def _side(side: str) -> str:
    if side not in ("a", "b"):
        raise InvalidArgument(f"side must be 'a' or 'b', not {side!r}")
    return side


class FaceModel(Protocol):
    """What conversion needs of a trained model, the autoencoder's ``SwapModel`` or the GAN's ``GanModel``."""

    preset: Any  # its size: preset.size
    coverage: int  # px of the 256 px aligned crop it was trained on
    colour_shift: tuple[float, float, float] | None  # RGB shift its A faces had in training
    learned_mask: ClassVar[bool]  # whether it paints an alpha mask with its faces (``swap_with_mask``)

    def swap(self, faces: Any, to: str = "b") -> Any:
        """Faces of the other identity (float 0..1) painted as ``to``."""
        ...


@dataclass
class SwapModel:
    """The two autoencoders, A (encoder_a + decoder_a) and B (encoder_b + decoder_b), sharing one part.

    Classic (``preset.shared == "encoder"``): ``encoder_a`` and ``encoder_b`` are one network, the
    decoders two. Mirror image (``"decoder"``): two encoders, and ``decoder_a`` is ``decoder_b``.
    """

    preset: Preset
    encoder_a: keras.Model
    decoder_a: keras.Model
    encoder_b: keras.Model
    decoder_b: keras.Model
    coverage: int = COVERAGE  # px of the 256 px aligned crop it was trained on (conversion frames faces alike)
    colour_shift: tuple[float, float, float] | None = None  # RGB shift its A faces had in training (0..255)
    learned_mask: ClassVar[bool] = False  # it paints faces only (conversion chooses a mask for them)

    @property
    def encoder(self) -> keras.Model:
        """The shared encoder of the classic design (the mirror image has one per side: ``encoder_of``)."""
        if self.encoder_a is not self.encoder_b:
            raise DeepfakeError("this model has one encoder per identity (shared='decoder'); use "
                                "encoder_of('a') or encoder_of('b')")
        return self.encoder_a

    def parts(self) -> dict[str, keras.Model]:
        """The distinct networks by name, as checkpoints store them: encoder, decoder_a, decoder_b (classic),
        or encoder_a, encoder_b, decoder (shared decoder)."""
        if self.preset.shared == "decoder":
            return {"encoder_a": self.encoder_a, "encoder_b": self.encoder_b, "decoder": self.decoder_a}
        return {"encoder": self.encoder_a, "decoder_a": self.decoder_a, "decoder_b": self.decoder_b}

    def encoder_of(self, side: str) -> keras.Model:
        """The encoder of one side: 'a' or 'b' (the same network for both in the classic design)."""
        return self.encoder_a if _side(side) == "a" else self.encoder_b

    def decoder(self, side: str) -> keras.Model:
        """The decoder of one side: 'a' or 'b' (the same network for both with a shared decoder)."""
        return self.decoder_a if _side(side) == "a" else self.decoder_b

    def autoencoder(self, side: str) -> keras.Model:
        """Encoder + decoder of one side ('a' or 'b'), as a Keras model."""
        face = keras.Input((self.preset.size, self.preset.size, 3))
        return keras.Model(face, self.decoder(side)(self.encoder_of(side)(face)), name=f"autoencoder_{side}")

    def trainable_variables(self, side: str) -> list:
        """The weights one side's autoencoder trains: its encoder's and its decoder's."""
        return self.encoder_of(side).trainable_variables + self.decoder(side).trainable_variables

    def count_params(self) -> int:
        """Parameters of all its networks, each shared one counted once."""
        return sum(part.count_params() for part in self.parts().values())

    def reconstruct(self, faces, side: str, *, training: bool = False):
        """Encode faces and decode them with one side's autoencoder (float 0..1 in, float 0..1 out)."""
        return self.decoder(side)(self.encoder_of(side)(faces, training=training), training=training)

    def swap(self, faces, to: str = "b"):
        """The swap: encode faces of the other identity with its encoder, decode them with ``to``'s decoder.

        Classic: the one encoder, then B's decoder. Shared decoder (FaceReplace): A's encoder, then the
        one decoder, which is exactly autoencoder A: nothing in the path is B's.
        """
        source = "a" if _side(to) == "b" else "b"
        return self.decoder(to)(self.encoder_of(source)(faces))

    def via_encoder(self, side: str) -> SwapModel:
        """The same model with one side's encoder reading every face: ``via_encoder("b").swap(faces_of_a)`` is
        autoencoder B fed A's faces (for the classic design, the same swap; for the mirror, B's encoder
        reading faces it never saw instead of A's encoder)."""
        encoder = self.encoder_of(side)
        return replace(self, encoder_a=encoder, encoder_b=encoder)


def build(preset: str | Preset = "original", **changes) -> SwapModel:
    """A fresh model of a preset (see ``PRESETS``); ``shared="decoder"`` gives the two-encoder design."""
    p = get_preset(preset, **changes)
    _check(p)
    if p.shared == "decoder":
        encoder_a, encoder_b, decoder = build_encoder(p, "encoder_a"), build_encoder(p, "encoder_b"), build_decoder(p)
        return SwapModel(p, encoder_a, decoder, encoder_b, decoder)
    encoder = build_encoder(p)
    return SwapModel(p, encoder, build_decoder(p, "decoder_a"), encoder, build_decoder(p, "decoder_b"))
