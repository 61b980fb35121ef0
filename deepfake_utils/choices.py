"""The course's named choices, free of heavy imports (the command line's ``--help`` reads them without OpenCV's
models or TensorFlow): the autoencoder's presets (stage 6), the training recipes (7), the compositing options,
masks and colour methods (8), and the GAN's presets (9). The modules of those stages build on them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

from .errors import DeepfakeError, InvalidArgument

# --- the face's framing (stage 4) -------------------------------------------------------------------
ALIGNED_SIZE = 256  # px: side of the aligned crops that extraction writes
COVERAGE = 160  # px of the 256 px aligned crop that the model sees (the original's framing)

MODEL_KINDS = {"autoencoder": "an autoencoder", "gan": "a GAN"}  # the models a folder can hold (state.json
# "model"; older folders: autoencoder), with how a sentence names them
MASKS = ("rect", "hull", "hull_rect", "forehead")  # blend's masks
# the autoencoder's mask when none is named: the hull grown over the brows and lower forehead (measured on four pairs
# against the original converter's hull_rect and the whole square: benchmarks/README.md, "The brows and lower forehead")
DEFAULT_MASK = "forehead"
COLOUR_METHODS = ("none", "avg", "hist", "lab", "local")  # blend's colour transfers
# the autoencoder's conversion when no colour or sharpening is named: histogram matching and an unsharp mask of
# amount 1, together (measured on four pairs and two seeds against the average colour alone: benchmarks/README.md,
# "Histogram matching and sharpening together"); the GAN keeps the average colour, unsharpened (with them its face
# came nearer B on four pairs, its learned-mask swap did not: "The GAN from today's start, with today's conversion")
DEFAULT_COLOUR, DEFAULT_SHARPEN = "hist", 1.0
GAN_COLOUR, GAN_SHARPEN = "avg", 0.0


# --- stage 6: the autoencoder's sizes ---------------------------------------------------------------
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
    shared: str = "encoder"  # "encoder": one encoder, a decoder per identity; "decoder": the mirror image


SHARED = ("encoder", "decoder")  # the two designs: what the two autoencoders have in common

PRESETS: dict[str, Preset] = {
    # The original 64 px model: 82.1 M parameters with two decoders.
    "original": Preset("original"),
    # Narrower bottleneck and one convolution fewer: fits GPUs with little memory.
    "lowmem": Preset("lowmem", encoder_filters=(128, 256, 512), dense=512, encoder_upscale=256,
                     decoder_filters=(128, 64, 32), batch_size=32),
    # Small enough to train on a laptop CPU in minutes (quick mode, CI, the demo); a higher learning rate to match:
    # 4e-4, measured against 2e-4 on the four pairs of `bench pairs` (B recognised sooner on every pair;
    # benchmarks/README.md, "The learning rate"); 2e-4 before 2026-12-04.
    "tiny": Preset("tiny", encoder_filters=(32, 64, 128, 256), dense=128, encoder_upscale=64,
                   decoder_filters=(64, 32, 16), learning_rate=4e-4, batch_size=16),
    # 128 px faces: one more convolution and one more upscale.
    "128": Preset("128", size=128, encoder_filters=(128, 256, 512, 1024, 1024), decoder_filters=(512, 256, 128, 64),
                  batch_size=32),
    # The tiny preset at 128 px, likewise one more convolution and one more upscale: about 2.7x tiny's time a step
    # on a CPU (a CPU-sized try at the eyes' detail; benchmarks/README.md "The swap on several pairs").
    "tiny128": Preset("tiny128", size=128, encoder_filters=(32, 64, 128, 256, 256), dense=128, encoder_upscale=64,
                      decoder_filters=(64, 32, 16, 8), learning_rate=2e-4, batch_size=16),
}


AnyPreset = TypeVar("AnyPreset")  # a Preset, or the GAN's GanPreset


def get_preset(preset: str | AnyPreset, presets: dict[str, AnyPreset] = PRESETS, **changes) -> AnyPreset:
    """A preset by name from ``presets`` (the autoencoder's; ``gan.GAN_PRESETS`` for the GAN), some fields changed."""
    if not isinstance(preset, str):
        return replace(preset, **changes) if changes else preset
    if preset not in presets:
        kind = "GAN" if presets is not PRESETS else "model"
        raise InvalidArgument(f"unknown {kind} preset {preset!r}; choose one of {sorted(presets)}")
    return replace(presets[preset], **changes) if changes else presets[preset]


# --- stage 7: recipes, what the model learns from ------------------------------------------------------
RECIPE_COLOURS = ("shift", "raw", "rct")  # a recipe's colours in training (see Recipe.colour)


@dataclass(frozen=True)
class Recipe:
    """How a model is trained, saved with it: loss terms, the face's framing and colours (convert follows both)."""

    name: str
    ssim: float = 0.0  # weight of DSSIM = (1 - SSIM) / 2 beside L1 (faceswap and DeepFaceLab train with SSIM)
    face_weight: float = 1.0  # L1 weight inside the face (mean-face hull) vs 1 outside (faceswap's mask loss)
    eyes_mouth_weight: float = 1.0  # L1 weight on the eyes and mouth (DeepFaceLab's eyes-and-mouth priority)
    edge: float = 0.0  # weight of the edge loss (L1 of the image gradients, weighted as L1) beside L1
    coverage: int = COVERAGE  # px of the 256 px aligned crop the model sees (larger: more of the face swapped)
    colour: str = "shift"  # "shift": A moved to B's mean colour in training and in conversion; "raw": neither;
    # "rct": each of B's training faces takes a random A face's colours (Reinhard's transfer, DeepFaceLab's ct_mode)
    learning_rate: float | None = None  # None: the preset's
    batch_size: int | None = None  # None: the preset's
    decay: float = 0.0  # the last share of the budget (steps or minutes) over which the rate falls linearly to 0
    b_first: float = 0.0  # the first share of the budget in which only B's autoencoder trains (encoder and decoder
    # B on B's faces; A's side waits): from a generic start, decoder B learns B before A's side pulls the encoder

    def __post_init__(self) -> None:
        if not 0 <= self.decay <= 1:
            raise DeepfakeError(f"recipe {self.name}: decay is a share of the training budget, in 0..1")
        if not 0 <= self.b_first < 1:
            raise DeepfakeError(f"recipe {self.name}: b_first is a share of the training budget, in 0..1 (below 1: "
                                "A's side must train too)")
        if self.colour not in RECIPE_COLOURS:
            raise DeepfakeError(f"recipe {self.name}: colour must be one of {RECIPE_COLOURS}, not {self.colour!r}")
        if not 0 < self.coverage <= ALIGNED_SIZE:
            raise DeepfakeError(f"recipe {self.name}: coverage must be in 1..{ALIGNED_SIZE} px")


RECIPES: dict[str, Recipe] = {
    # The original deepfakes trainer: plain L1 on the middle 160 px of the crop.
    "original": Recipe("original"),
    # Measured faster to a recognisable swap on a CPU (python -m benchmarks.bench recipes):
    "fast": Recipe("fast", ssim=1.0, face_weight=3.0, eyes_mouth_weight=6.0, coverage=192),
}


def get_recipe(recipe: str | Recipe) -> Recipe:
    """A training recipe by name (see ``RECIPES``) or as given."""
    if isinstance(recipe, Recipe):
        return recipe
    if recipe not in RECIPES:
        raise InvalidArgument(f"unknown training recipe {recipe!r}; choose one of {sorted(RECIPES)}")
    return RECIPES[recipe]


# --- stage 8: putting faces back -------------------------------------------------------------------
LABEL = "SYNTHETIC"
CONVERT_MASKS = (*MASKS, "learned")  # conversion's masks: "learned" is the GAN's own alpha mask
MAX_ERODE = 0.2  # erode (and erode + blur): a share of the face size; more erases the mask (and takes minutes)
MAX_BLUR = 0.2
MAX_SHARPEN = 5.0  # an unsharp mask's amount: past a few the face is all halos


@dataclass(frozen=True)
class Options:
    """How faces are put back: mask, its erosion and feather (fractions of the face's size), colour, extras."""

    mask: str | None = None  # rect | hull | hull_rect | forehead | learned; None: the model's own (learned for a
    # GAN, else DEFAULT_MASK)
    erode: float = 0.0  # shrink the mask by this share of the face size (negative: grow it)
    blur: float = 0.06  # feather the mask edge over this share of the face size
    colour: str | None = None  # none | avg | hist | lab | local; None: the model's own (DEFAULT_COLOUR, a GAN's
    # GAN_COLOUR)
    seamless: bool = False  # Poisson blending (OpenCV seamlessClone) instead of alpha blending
    sharpen: float | None = None  # unsharp-mask amount for the new face (0: off); None: the model's own
    # (DEFAULT_SHARPEN, a GAN's GAN_SHARPEN)
    smooth: bool = True  # one-euro filter on the landmarks across frames
    min_cutoff: float = 1.0  # one-euro: cutoff (Hz) when the face is still
    beta: float = 2.0  # one-euro: how fast the cutoff rises with speed (per inter-ocular distance/s)
    label: str | None = LABEL  # the visible mark on every frame; None turns it off (explicitly)
    side: str = "b"  # the decoder that paints the new face

    def __post_init__(self) -> None:
        if self.mask is not None and self.mask not in CONVERT_MASKS:
            raise InvalidArgument(f"unknown mask {self.mask!r}; choose one of {CONVERT_MASKS}")
        if self.colour is not None and self.colour not in COLOUR_METHODS:
            raise InvalidArgument(f"unknown colour method {self.colour!r}; choose one of {COLOUR_METHODS}")
        if self.sharpen is not None and not 0 <= self.sharpen <= MAX_SHARPEN:
            raise InvalidArgument(f"--sharpen {self.sharpen:g}: an unsharp-mask amount between 0 (off) and "
                                  f"{MAX_SHARPEN:g}; leave it out for the model's own ({DEFAULT_SHARPEN:g} for the "
                                  "autoencoder)")
        if self.side not in ("a", "b"):
            raise InvalidArgument(f"side must be 'a' or 'b', not {self.side!r}")
        if not -MAX_ERODE <= self.erode <= MAX_ERODE:
            raise InvalidArgument(f"--erode {self.erode:g}: a share of the face size between {-MAX_ERODE:g} and "
                                  f"{MAX_ERODE:g} (e.g. 0.05 shrinks the mask by 5%); leave it out for 0")
        if not 0 <= self.blur <= MAX_BLUR:
            raise InvalidArgument(f"--blur {self.blur:g}: a share of the face size between 0 and {MAX_BLUR:g} "
                                  f"(0: a hard edge); leave it out for {Options.blur:g}")
        if self.erode + self.blur > MAX_ERODE:
            raise InvalidArgument(f"--erode {self.erode:g} with --blur {self.blur:g}: together they shrink the mask "
                                  f"by more than {MAX_ERODE:g} of the face size, which leaves no face to paste; "
                                  "lower one of them")
        if self.label is not None and not self.label.strip():
            raise InvalidArgument(f"--label {self.label!r}: an empty label removes the visible mark; give a text, or "
                                  "--no-label to turn it off explicitly (only with the consent of the people shown)")

    def for_model(self, gan: bool) -> Options:
        """These options with the colour method and sharpening a model takes when none is named (a GAN's or the
        autoencoder's)."""
        colour, sharpen = (GAN_COLOUR, GAN_SHARPEN) if gan else (DEFAULT_COLOUR, DEFAULT_SHARPEN)
        return replace(self, colour=colour if self.colour is None else self.colour,
                       sharpen=sharpen if self.sharpen is None else self.sharpen)


# --- stage 9: the GAN's sizes ----------------------------------------------------------------------
@dataclass(frozen=True)
class GanPreset:
    """The sizes of one GAN: encoder (stem, kernel, widths, attention), bottleneck, decoder, discriminator."""

    name: str
    size: int = 64
    stem: int | None = 64  # a 5x5 stride-1 convolution to this many channels first (None: no stem)
    kernel: int = 3  # kernel of the stride-2 encoder convolutions
    encoder_filters: tuple[int, ...] = (128, 256, 512, 1024)
    encoder_attention: tuple[int, ...] = (16, 8)  # resolutions (px) with self-attention after the convolution
    dense: int = 1024
    encoder_upscale: int = 512
    decoder_filters: tuple[int, ...] = (256, 128, 64)
    decoder_attention: tuple[int, ...] = (32, 64)  # resolutions with self-attention (at the last: after the res block)
    upscale: str = "shuffle"  # or "upsample"
    disc_filters: tuple[int, ...] = (64, 128, 256)
    learning_rate: float = 1e-4  # the generators'; the discriminators' is GanConfig.discriminator_lr_ratio x it
    batch_size: int = 8
    autoencoder: str = "original"  # the autoencoder preset of the same family (warm start)


GAN_PRESETS: dict[str, GanPreset] = {
    # faceswap-GAN v2.2's 64 px model: 73.2 M parameters with two decoders and two discriminators.
    "standard": GanPreset("standard"),
    # Every width halved and upsampling instead of pixel shuffle: 12.4 M.
    "lite": GanPreset("lite", stem=32, encoder_filters=(64, 128, 256, 512), dense=512, encoder_upscale=256,
                      decoder_filters=(128, 64, 32), upscale="upsample", disc_filters=(32, 64, 128),
                      autoencoder="lowmem"),
    # The course's tiny autoencoder plus attention at 16x16 and 8x8, a residual block and the mask: 3.1 M.
    # A higher learning rate, as the tiny autoencoder's, for short CPU runs.
    "tiny": GanPreset("tiny", stem=None, kernel=5, encoder_filters=(32, 64, 128, 256), dense=128, encoder_upscale=64,
                      decoder_filters=(64, 32, 16), decoder_attention=(), disc_filters=(32, 64, 128),
                      learning_rate=2e-4, autoencoder="tiny"),
}
