"""The choices and defaults the command line shows, free of heavy imports so that ``--help`` is instant.

The real ones live in ``blend`` (MASKS, COLOUR_METHODS), ``paste`` (MASKS with "learned", LABEL, Options),
``train`` (RECIPES) and ``gan`` (GAN_PRESETS), which import OpenCV and TensorFlow; ``tests/test_cli.py``
checks that these copies match them.
"""
from __future__ import annotations

MASKS = ("rect", "hull", "hull_rect")
CONVERT_MASKS = (*MASKS, "learned")  # paste.MASKS: "learned" is the GAN's own mask
COLOUR_METHODS = ("none", "avg", "hist", "lab")
LABEL = "SYNTHETIC"
CONVERT = {"mask": None, "erode": 0.0, "blur": 0.06, "colour": "avg", "sharpen": 0.0, "side": "b"}
RECIPES = ("fast", "original")
MODELS = ("autoencoder", "gan")
GAN_PRESETS = ("lite", "standard", "tiny")
