"""The course's two image forms and the step between them: uint8 RGB (0..255) everywhere, float 0..1 only
inside the model and its data pipeline."""
from __future__ import annotations

import numpy as np


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in 0..1 (the model's) as uint8 0..255: clipped to the range, then rounded."""
    images = np.asarray(images)
    images = images.astype(np.result_type(images.dtype, np.float32), copy=False)  # float16 (mixed precision) up
    return (np.clip(images, 0, 1) * 255).round().astype(np.uint8)
