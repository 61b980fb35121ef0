"""Stage 3: dlib's 68-point landmarks as float32 (68, 2) arrays of (x, y) image pixels.

The model file comes with the ``face_recognition_models`` package; nothing is downloaded.
Region names follow face_recognition: "left"/"right" as seen in the image.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import cv2
import dlib
import numpy as np

from .detect import Box, css_to_rect, import_quietly, rotate_image, rotation_matrix
from .errors import InvalidArgument
from .images import ensure_rgb_uint8

N_LANDMARKS = 68

#: The named regions of the 68-point (iBUG 300-W) scheme, as index slices that partition 0..67.
REGIONS: dict[str, slice] = {
    "jaw": slice(0, 17),
    "left_eyebrow": slice(17, 22),
    "right_eyebrow": slice(22, 27),
    "nose": slice(27, 36),
    "left_eye": slice(36, 42),
    "right_eye": slice(42, 48),
    "mouth": slice(48, 68),
}


MODEL_PACKAGE = "face_recognition_models"  # the package that ships dlib's model files
MODEL_FILE = "models/shape_predictor_68_face_landmarks.dat"


def model_path() -> Path:
    """Where the 68-point model file is, found without importing its package (whose pkg_resources is slow)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / MODEL_FILE
        if path.is_file():
            return path
    return Path(import_quietly(MODEL_PACKAGE).pose_predictor_model_location())  # its own answer, or its error


@lru_cache(maxsize=1)
def shape_predictor() -> dlib.shape_predictor:
    """dlib's 68-point shape predictor, loaded once from the face_recognition_models package."""
    return dlib.shape_predictor(str(model_path()))


def predict_landmarks(image: np.ndarray, box: Box, *, angle: float = 0.0) -> np.ndarray:
    """The 68 landmarks of the face in ``box``; with ``angle``, the box is in the image rotated by that angle."""
    ensure_rgb_uint8(image)
    work = rotate_image(image, angle) if angle else image
    shape = shape_predictor()(work, css_to_rect(box))
    points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
    if angle:
        matrix, _ = rotation_matrix(image.shape, angle)
        inverse = cv2.invertAffineTransform(matrix)
        points = (points @ inverse[:, :2].T + inverse[:, 2]).astype(np.float32)
    return points


def region(landmarks: np.ndarray, name: str) -> np.ndarray:
    """The points of one named region (see ``REGIONS``)."""
    if name not in REGIONS:
        raise InvalidArgument(f"unknown region {name!r}; choose from {list(REGIONS)}")
    return landmarks[REGIONS[name]]


def eye_centers(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The centres of the image-left and image-right eyes."""
    return landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)


def roll(landmarks: np.ndarray) -> float:
    """The head's roll: the angle of the line from the image-left to the image-right eye, in degrees (0: level)."""
    left, right = eye_centers(landmarks)
    return float(np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0])))


def inter_ocular_distance(landmarks: np.ndarray) -> float:
    """The distance between the eye centres, the usual yardstick for landmark errors."""
    left, right = eye_centers(landmarks)
    return float(np.linalg.norm(left - right))


def landmark_error(reference: np.ndarray, other: np.ndarray) -> float:
    """Mean point distance between two landmark sets, divided by the reference's inter-ocular distance."""
    reference, other = np.asarray(reference, np.float64), np.asarray(other, np.float64)
    if reference.shape != other.shape:
        raise InvalidArgument(f"landmark shapes differ: {reference.shape} vs {other.shape}")
    return float(np.linalg.norm(reference - other, axis=1).mean() / inter_ocular_distance(reference))
