"""Stage 10: spotting face swaps with a detector that never sees a deepfake.

A face swap leaves traces where the new face meets the old frame: a face of lower resolution than its
surroundings, a blending seam, colours that do not quite match. Two published ideas make training data
with those traces from real faces alone:

* **Face-warping artifacts** (Li & Lyu, CVPRW 2019): shrink the face region by a random factor, blur it,
  warp it back with the inverse of its alignment and blend it in through a feathered mask
  (``warping_artifact``). Real faces are the negatives, these the positives.
* **Face X-ray** (Li et al., CVPR 2020): blend one real face into another through a random, deformed
  landmark-hull mask after a colour transfer (``xray_blend``); the target is the blending boundary
  ``B = 4 M (1 - M)`` (``boundary_map``), which is zero in a real image.
* **Self-blended images** (Shiohara & Yamasaki, CVPR 2022): blend a face with a changed copy of *itself*
  (colour, frequency, a small shift and scale) through a deformed, blurred landmark-hull mask and a random
  blend ratio (``self_blend``), so that only the blend is left to learn.

Faces are the detector's *view*: the middle ``VIEW_COVERAGE`` px of the 256 px aligned crop (notebook 04)
resized to ``VIEW_SIZE`` px, with the face's landmarks in the same pixels. The detector is a small Keras
CNN that scores a view from 0 (real) to 1 (fake); ``roc`` and ``occlusion_map`` evaluate and explain it, and
``evaluate_faces`` scores detectors on swaps they did not see, as is and after re-encoding (``treat``), at a
threshold chosen beforehand on simulated data (``threshold_at``). Reading faces from the course's files
(extraction folders, videos placed by alignments.json, pairs of videos) is ``forensics_data``'s.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import keras
import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve
from tqdm.auto import tqdm

from . import align, blend, video
from .config import SEED
from .errors import DeepfakeError, ImageError, VideoError
from .images import ensure_rgb_uint8

VIEW_SIZE = 128  # px: side of the face the detector sees
VIEW_COVERAGE = 224  # px of the 256 px aligned crop in view: the swap's seams (inside its middle 192 px) and a margin
SCALES = (0.2, 0.8)  # the face is shrunk to this share of its resolution (Li & Lyu's range)


# --- faces as the detector sees them ----------------------------------------------------------------
def view_matrix(size: int = VIEW_SIZE, coverage: int = VIEW_COVERAGE) -> np.ndarray:
    """The 2x3 matrix from the 256 px aligned crop to the detector's view: its middle ``coverage`` px, resized."""
    if not 0 < coverage <= align.ALIGNED_SIZE or (align.ALIGNED_SIZE - coverage) % 2:
        raise DeepfakeError(f"coverage must be an even number of px in 2..{align.ALIGNED_SIZE}, got {coverage}")
    scale, offset = size / coverage, (align.ALIGNED_SIZE - coverage) // 2
    shift = scale * (0.5 - offset) - 0.5  # as cv2.resize maps pixel centres
    return np.array([[scale, 0, shift], [0, scale, shift]])


def crop_view(crop: np.ndarray, size: int = VIEW_SIZE, coverage: int = VIEW_COVERAGE) -> np.ndarray:
    """The detector's view of a 256 px aligned crop (as extraction writes them)."""
    ensure_rgb_uint8(crop)
    if crop.shape[:2] != (align.ALIGNED_SIZE, align.ALIGNED_SIZE):
        raise ImageError(f"an aligned crop is {align.ALIGNED_SIZE} px square, got {crop.shape[1]}x{crop.shape[0]}")
    view_matrix(size, coverage)  # checks the coverage
    return cv2.resize(align.face_square(crop, coverage), (size, size), interpolation=cv2.INTER_AREA)


def face_view(image: np.ndarray, landmarks: np.ndarray, size: int = VIEW_SIZE,
              coverage: int = VIEW_COVERAGE) -> tuple[np.ndarray, np.ndarray]:
    """The detector's view of the face in an image (a frame, a photo) and the landmarks in the view's pixels;
    made as extraction makes a crop, so views of frames and of extracted faces match."""
    matrix = align.alignment_matrix(landmarks)
    view = crop_view(align.align_face(image, matrix), size, coverage)
    to_view = view_matrix(size, coverage) @ np.vstack([matrix, [0, 0, 1]])
    return view, align.transform_points(landmarks, to_view).astype(np.float32)


# --- simulated artifacts ------------------------------------------------------------------------------
def deform_mask(mask: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """A mask pushed about by a smooth random displacement field (a 4x4 grid of offsets of ``amount`` px, s.d.)."""
    if amount <= 0:
        return np.asarray(mask, np.float32)
    height, width = mask.shape[:2]
    grid = rng.normal(0, amount, (2, 4, 4)).astype(np.float32)
    dx, dy = (cv2.resize(g, (width, height), interpolation=cv2.INTER_CUBIC) for g in grid)
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return cv2.remap(np.asarray(mask, np.float32), xs + dx, ys + dy, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT)


def random_mask(shape: tuple[int, ...], landmarks: np.ndarray, rng: np.random.Generator, *, deform: float = 0.04,
                feather: tuple[float, float] = (0.02, 0.1)) -> np.ndarray:
    """A random blending mask: the landmark hull (or its inner part), deformed, grown or shrunk, feathered inwards."""
    points = np.asarray(landmarks, np.float64)
    side = float(np.ptp(points, axis=0).max())  # the face's size in pixels
    kind = rng.integers(3)
    if kind == 0:
        mask = blend.hull_mask(shape, points)
    elif kind == 1:
        mask = blend.hull_mask(shape, points[17:])  # brows to mouth: no jaw
    else:
        left, top = points.min(0)
        right, bottom = points.max(0)
        mask = np.zeros(shape[:2], np.float32)
        cv2.rectangle(mask, (round(left), round(top)), (round(right), round(bottom)), 1.0, -1)
    mask = deform_mask(mask, rng, deform * side)
    grow = round(rng.uniform(-0.03, 0.06) * side)  # shrink (> 0) or grow (< 0) by a few % of the face, in px
    out = blend.adjust_mask(mask, erode=grow, blur=max(1, round(rng.uniform(*feather) * side)))
    return out if (out > 0.5).any() else blend.adjust_mask(blend.hull_mask(shape, points), blur=1)


def warping_artifact(image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator, *,
                     scale: tuple[float, float] = SCALES, mask: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Li & Lyu's negative: the aligned face shrunk (x ``scale``), blurred, warped back and blended in;
    returns (image, mask). Pixels where the mask is 0 are unchanged."""
    ensure_rgb_uint8(image)
    if not 0 < scale[0] <= scale[1] <= 1:
        raise DeepfakeError(f"scale must be a range inside (0, 1], got {scale}")
    full = align.alignment_matrix(landmarks)  # to the 256 px aligned crop
    resolution = np.sqrt(abs(np.linalg.det(full[:, :2])))  # crop pixels per image pixel
    side = max(8, round(align.ALIGNED_SIZE / resolution * rng.uniform(*scale)))
    matrix = align.alignment_matrix(landmarks, side)  # the face at the shrunk resolution
    small = cv2.warpAffine(image, matrix, (side, side), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    kernel = int(rng.choice([1, 3, 5]))
    if kernel > 1:
        small = cv2.GaussianBlur(small, (kernel, kernel), 0)
    back = align.unalign_face(small, matrix, image.shape)
    if mask is None:
        mask = random_mask(image.shape, landmarks, rng)
    inside = blend.adjust_mask(blend.rect_mask(image.shape, matrix, side), erode=1) > 0.99
    mask = np.where(inside, np.asarray(mask, np.float32), 0).astype(np.float32)  # never past the warped-back face
    return blend.alpha_blend(image, back, mask), mask


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """Face X-ray's target B = 4 M (1 - M): 1 where the blend is half and half, 0 where one image is kept whole."""
    mask = np.asarray(mask, np.float32)
    if mask.ndim != 2 or mask.min() < 0 or mask.max() > 1:
        raise ImageError(f"a blending mask is an (H, W) array of values in 0..1, got shape {mask.shape}")
    return 4 * mask * (1 - mask)


def xray_blend(target: np.ndarray, source: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    """Face X-ray's training image: ``source`` blended into ``target`` (aligned faces of the same size) through a
    random deformed hull mask of ``target``'s landmarks, after a colour transfer; returns (image, mask)."""
    ensure_rgb_uint8(target)
    ensure_rgb_uint8(source, name="source")
    if source.shape != target.shape:
        raise ImageError(f"the two faces must be aligned crops of one size, got {source.shape} and {target.shape}")
    mask = random_mask(target.shape, landmarks, rng)
    method = ("avg", "lab")[int(rng.integers(2))]  # over the whole crop: a step at the mask would be a seam of our own
    source = blend.correct_colour(method, source, target, np.ones(target.shape[:2], np.float32))
    return blend.alpha_blend(target, source, mask), mask


# --- self-blended images (Shiohara & Yamasaki, CVPR 2022) ----------------------------------------------
SBI_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)  # the blend ratio is drawn from these (as the authors' code does)


def sbi_transform(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The source-target generator's change of one copy: a colour shift (RGB, brightness, contrast), then a
    change of frequency content (a 2x or 4x downscale and back, or a sharpening)."""
    ensure_rgb_uint8(image)
    out = image.astype(np.float32)
    if rng.random() < 0.3:
        out += rng.uniform(-20, 20, 3).astype(np.float32)  # per-channel shift
    contrast, brightness = rng.uniform(-0.1, 0.1, 2)
    out = (out - out.mean()) * (1 + contrast) + out.mean() + 255 * brightness
    out = np.clip(out, 0, 255).astype(np.uint8)
    height, width = out.shape[:2]
    if rng.random() < 0.5:
        factor = int(rng.choice([2, 4]))
        small = cv2.resize(out, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    blurred = cv2.GaussianBlur(out, (0, 0), 1.0)
    amount = rng.uniform(0.2, 0.5)
    return cv2.addWeighted(out, 1 + amount, blurred, -amount, 0)  # unsharp masking


def sbi_mask(shape: tuple[int, ...], landmarks: np.ndarray, rng: np.random.Generator, *,
             deform: float = 0.03) -> np.ndarray:
    """SBI's blending mask: the landmark hull, deformed, then blurred twice (the first blur's core kept, which
    shrinks it; the second one feathers it) with random kernels; values in 0..1, 1 inside the face's core."""
    points = np.asarray(landmarks, np.float64)
    side = float(np.ptp(points, axis=0).max())
    mask = deform_mask(blend.hull_mask(shape, points), rng, deform * side)
    scale = max(side, 8.0) / 200  # the authors' kernels (5..25 px) are for faces about 200 px wide
    first, second = (max(3, 2 * round(rng.uniform(2, 12.5) * scale) + 1) for _ in range(2))
    core = cv2.GaussianBlur(mask, (first, first), 0)
    core = (core >= core.max() - 1e-6).astype(np.float32) if core.max() > 0 else core
    soft = cv2.GaussianBlur(core, (second, second), rng.uniform(5, 45) * scale)
    if soft.max() <= 0:
        raise DeepfakeError(f"the landmarks span {side:.0f} px: no face to blend; check the landmarks")
    return np.clip(soft / soft.max(), 0, 1).astype(np.float32)


def sbi_blend(target: np.ndarray, source: np.ndarray, mask: np.ndarray, ratio: float) -> np.ndarray:
    """The self-blend ``ratio * M * source + (1 - ratio * M) * target`` of two uint8 images through a 0..1 mask."""
    ensure_rgb_uint8(target)
    ensure_rgb_uint8(source, name="source")
    if source.shape != target.shape or np.shape(mask) != target.shape[:2]:
        raise ImageError(f"source {source.shape}, target {target.shape} and mask {np.shape(mask)} must be one size")
    if not 0 <= ratio <= 1:
        raise DeepfakeError(f"a blend ratio is in 0..1, got {ratio}")
    return blend.alpha_blend(target, source, ratio * np.asarray(mask, np.float32))


def self_blend(image: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator, *,
               ratio: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A self-blended image: one real face blended with a changed copy of itself (colour, frequency, a small
    shift and scale) through a deformed, blurred landmark-hull mask; returns (fake, mask used, real twin).

    Either copy may be the changed one (the source, the face pasted in, or the target, the frame around it):
    the real twin is the target, so that a detector shown (real twin, fake) can only tell them apart by the
    blend. ``ratio``: the blend ratio (default: drawn from ``SBI_RATIOS``); 0 returns the target unchanged."""
    ensure_rgb_uint8(image)
    source, target = image.copy(), image.copy()
    if rng.random() < 0.5:
        source = sbi_transform(source, rng)
    else:
        target = sbi_transform(target, rng)
    mask = sbi_mask(image.shape, landmarks, rng)
    height, width = image.shape[:2]
    scale = rng.uniform(0.95, 1 / 0.95)
    centre = np.asarray(landmarks, np.float64).mean(0)
    shift = rng.uniform(-1, 1, 2) * (0.03 * width, 0.015 * height)
    matrix = np.hstack([np.eye(2) * scale, ((1 - scale) * centre + shift)[:, None]])
    source = cv2.warpAffine(source, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    mask = cv2.warpAffine(mask, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    ratio = float(rng.choice(SBI_RATIOS)) if ratio is None else ratio
    return sbi_blend(target, source, mask, ratio), (ratio * mask).astype(np.float32), target


# --- the detector -------------------------------------------------------------------------------------
class LogEnergy(keras.layers.Layer):
    """The log of the mean square of each channel over ``cell`` x ``cell`` px cells: how much detail is there."""

    def __init__(self, cell: int = 8, **kwargs) -> None:
        """``cell``: the side of the square cells, in px."""
        super().__init__(**kwargs)
        self.cell = cell

    def call(self, x):
        """(N, H, W, C) filter responses -> (N, H / cell, W / cell, C) log energies."""
        pooled = keras.ops.average_pool(keras.ops.square(x), self.cell, self.cell, padding="valid")
        return keras.ops.log(pooled + 1e-6)

    def get_config(self) -> dict:
        """The layer's settings, for saving."""
        return {**super().get_config(), "cell": self.cell}


def build_detector(size: int = VIEW_SIZE, width: int = 16, *, seed: int = SEED,
                   learning_rate: float = 3e-3, colour: bool = False) -> keras.Model:
    """A small CNN: uint8 (size, size, 3) faces in, the probability that the face is fake out; ``colour`` adds
    each cell's mean colour beside its detail energies (blends of changed colour show there)."""
    keras.utils.set_random_seed(seed)
    layers = keras.layers
    inputs = keras.Input((size, size, 3))
    x = pixels = layers.Rescaling(1 / 255)(inputs)
    x = layers.Subtract(name="residual")([x, layers.AveragePooling2D(3, 1, "same")(x)])  # the image minus its blur
    x = layers.Conv2D(width, 3, padding="same", name="detail")(x)  # learned filters of the fine detail
    x = LogEnergy(8, name="energy")(x)  # their log energy per 8x8 px cell: a ratio (face/frame) is a difference
    if colour:
        x = layers.Concatenate(name="with_colour")([x, layers.AveragePooling2D(8, name="colour")(pixels)])
    x = layers.BatchNormalization(momentum=0.9, name="norm")(x)
    x = layers.Conv2D(2 * width, 3, padding="same", activation="relu", name="compare")(x)
    x = layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu", name="down")(x)
    x = layers.Conv2D(8, 1, activation="relu", name="squeeze")(x)  # keep where things are: the face is in the middle
    outputs = layers.Dense(1, activation="sigmoid", name="fake")(layers.Dropout(0.3)(layers.Flatten()(x)))
    model = keras.Model(inputs, outputs, name="fwa_detector")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=["accuracy"])
    return model


KINDS = ("fwa", "xray", "sbi")  # the simulated fakes: warping artifacts, blends of two faces, self-blended images


def simulated_set(views: list[np.ndarray], landmarks: list[np.ndarray], rng: np.random.Generator,
                  scale: tuple[float, float] = SCALES, kinds: tuple[str, ...] = ("fwa",)
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Every real view (label 0) and a simulated fake of it (label 1), each of a kind drawn from ``kinds``
    (``KINDS``): (faces (2N, H, W, 3), labels). For a self-blended fake the real one is its real twin."""
    if len(views) != len(landmarks) or not views:
        raise DeepfakeError(f"need one landmark array per face (and a face at least), got {len(views)} faces "
                            f"and {len(landmarks)} landmark arrays")
    if not kinds or set(kinds) - set(KINDS):
        raise DeepfakeError(f"kinds of simulated fakes are some of {KINDS}, got {kinds}")
    if "xray" in kinds and len(views) < 2:
        raise DeepfakeError("a Face X-ray blend needs two faces at least")
    reals, fakes = [], []
    for i, (view, points) in enumerate(zip(views, landmarks, strict=True)):
        kind = kinds[int(rng.integers(len(kinds)))]
        real = view
        if kind == "fwa":
            fake = warping_artifact(view, points, rng, scale=scale)[0]
        elif kind == "xray":
            other = views[(i + int(rng.integers(1, len(views)))) % len(views)]  # any other face
            fake = xray_blend(view, other, points, rng)[0]
        else:
            fake, _, real = self_blend(view, points, rng)
        reals.append(real)
        fakes.append(fake)
    return np.stack(reals + fakes), np.repeat(np.array([0, 1], np.float32), len(views))


def train_detector(model: keras.Model, views: list[np.ndarray], landmarks: list[np.ndarray],
                   rng: np.random.Generator, *, epochs: int = 10, batch_size: int = 32,
                   kinds: tuple[str, ...] = ("fwa",), progress: bool = True) -> list[tuple[int, float, float]]:
    """Train on real views and fresh simulated fakes of them (of ``kinds``) every epoch, flipped at random;
    returns (epoch, loss, accuracy) per epoch."""
    history = []
    bar = tqdm(range(1, epochs + 1), desc="train detector", unit="epoch", disable=not progress)
    for epoch in bar:
        faces, labels = simulated_set(views, landmarks, rng, kinds=kinds)
        flip = rng.random(len(faces)) < 0.5
        faces[flip] = faces[flip, :, ::-1]
        order = rng.permutation(len(faces))
        fit = model.fit(faces[order], labels[order], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
        loss, accuracy = fit.history["loss"][-1], fit.history["accuracy"][-1]
        history.append((epoch, float(loss), float(accuracy)))
        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.2f}")
    return history


def fake_scores(model: keras.Model, views: np.ndarray | list[np.ndarray], batch_size: int = 64) -> np.ndarray:
    """The detector's score (probability of fake, 0..1) for each view."""
    views = np.asarray(views)
    if views.ndim != 4 or views.dtype != np.uint8:
        raise ImageError(f"fake_scores needs a uint8 (N, H, W, 3) batch of views, got {views.dtype} {views.shape}")
    return np.asarray(model.predict(views, batch_size=batch_size, verbose=0), np.float64).ravel()


# --- evaluation ---------------------------------------------------------------------------------------
def _check_scores(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    labels, scores = np.asarray(labels).ravel(), np.asarray(scores, np.float64).ravel()
    if labels.shape != scores.shape or not set(np.unique(labels)) <= {0, 1}:
        raise DeepfakeError(f"need one 0/1 label per score, got {labels.shape} labels and {scores.shape} scores")
    if len(np.unique(labels)) < 2:
        raise DeepfakeError("a ROC curve needs both real (0) and fake (1) examples")
    return labels.astype(int), scores


def roc(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The ROC curve of fake-vs-real scores (label 1: fake): (false positive rates, true positive rates,
    thresholds, area under the curve)."""
    labels, scores = _check_scores(labels, scores)
    fpr, tpr, thresholds = roc_curve(labels, scores)
    return fpr, tpr, thresholds, float(roc_auc_score(labels, scores))


def accuracy_at(labels, scores, threshold: float) -> float:
    """The share of faces classified right when a score >= ``threshold`` means fake."""
    labels, scores = _check_scores(labels, scores)
    return float(((scores >= threshold) == (labels == 1)).mean())


def threshold_at(labels, scores) -> float:
    """The threshold chosen on a validation set: the score that best separates its fakes from its real faces
    (the largest true minus false positive rate, Youden's J); use it unchanged on every test set."""
    fpr, tpr, thresholds, _ = roc(labels, scores)
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))  # roc_curve's first threshold is inf: flag nothing


TREATMENTS = ("as is", "H.264 CRF 23", "H.264 CRF 40", "2x downscale")  # what happens to a video on its way


def treat(frames: list[np.ndarray], treatment: str, fps: float = 25.0) -> list[np.ndarray]:
    """Frames after a treatment of ``TREATMENTS``: re-encoded with H.264 at a CRF (ffmpeg's libx264), or halved
    in size and scaled back (so landmarks still fit); the same treatment for real and swapped frames."""
    import tempfile

    from . import video

    if treatment not in TREATMENTS:
        raise DeepfakeError(f"a treatment is one of {TREATMENTS}, got {treatment!r}")
    if treatment == "as is":
        return list(frames)
    if treatment == "2x downscale":
        return [cv2.resize(cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), interpolation=cv2.INTER_AREA),
                           f.shape[1::-1], interpolation=cv2.INTER_LINEAR) for f in frames]
    crf = int(treatment.rsplit(" ", 1)[1])
    height, width = frames[0].shape[:2]
    padded = [np.pad(f, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge") for f in frames]  # H.264: even
    with tempfile.TemporaryDirectory() as tmp:
        path = video.write_video(padded, Path(tmp) / "treated.mp4", fps, quality=crf)
        out = video.read_frames(path)
    if len(out) != len(frames):
        raise VideoError(f"re-encoding at CRF {crf} gave {len(out)} frames back for {len(frames)}")
    return [f[:height, :width] for f in out]


def views_from_frames(frames: list[np.ndarray], alignments: dict, *, size: int = VIEW_SIZE,
                      coverage: int = VIEW_COVERAGE) -> tuple[list[str], list[np.ndarray]]:
    """The frame keys and views of frames (1-based, in order) placed by an extraction's ``frames`` landmarks."""
    from . import video

    keys, views = [], []
    for index, frame in enumerate(frames, 1):
        faces = alignments.get(video.frame_key(index))
        if faces:
            keys.append(video.frame_key(index))
            views.append(face_view(frame, faces[0]["landmarks"], size, coverage)[0])
    return keys, views


def detector_report(labels, scores, threshold: float) -> dict[str, float]:
    """AUC, accuracy, hit rate (fakes flagged) and false-alarm rate (real faces flagged) at a fixed threshold."""
    labels, scores = _check_scores(labels, scores)
    flagged = scores >= threshold
    return {"auc": roc(labels, scores)[3], "accuracy": accuracy_at(labels, scores, threshold),
            "hits": float(flagged[labels == 1].mean()), "false_alarms": float(flagged[labels == 0].mean()),
            "n_real": int((labels == 0).sum()), "n_fake": int((labels == 1).sum())}


def evaluate_faces(models: dict[str, keras.Model], views: list[np.ndarray], labels, thresholds: dict[str, float],
                   treatments: tuple[str, ...] = TREATMENTS) -> dict[tuple[str, str], dict]:
    """Each detector on labelled views (1: swapped) after each treatment (the views re-encoded as the frames of
    one video): {(detector, treatment): its ``detector_report`` plus its labels and scores}."""
    labels = np.asarray(labels)
    if len(labels) != len(views):
        raise DeepfakeError(f"need one label per view, got {len(labels)} labels for {len(views)} views")
    out = {}
    for treatment in treatments:
        treated = np.stack(treat(list(views), treatment))
        for name, model in models.items():
            scores = fake_scores(model, treated)
            out[name, treatment] = {**detector_report(labels, scores, thresholds[name]),
                                    "labels": labels, "scores": scores}
    return out


def occlusion_map(model: keras.Model, view: np.ndarray, patch: int = 16, stride: int = 8,
                  fill: int = 128) -> np.ndarray:
    """Where the detector looks: how much its fake score (as log-odds, which do not saturate near 0 and 1) drops
    when a grey ``patch`` px square covers each place, averaged over the patches covering a pixel; an (H, W)
    float array, > 0 where the image holds evidence of a fake, < 0 where it holds evidence of a real face."""
    ensure_rgb_uint8(view)
    height, width = view.shape[:2]
    corners = [(y, x) for y in range(0, height - patch + 1, stride) for x in range(0, width - patch + 1, stride)]
    batch = np.repeat(view[None], len(corners) + 1, axis=0)  # the first one stays whole
    for i, (y, x) in enumerate(corners, 1):
        batch[i, y:y + patch, x:x + patch] = fill
    p = np.clip(fake_scores(model, batch), 1e-7, 1 - 1e-7)
    logits = np.log(p / (1 - p))
    total, count = np.zeros((height, width)), np.zeros((height, width))
    for drop, (y, x) in zip(logits[0] - logits[1:], corners, strict=True):
        total[y:y + patch, x:x + patch] += drop
        count[y:y + patch, x:x + patch] += 1
    return total / np.maximum(count, 1)


# --- labels and provenance ----------------------------------------------------------------------------
container_tags = video.container_tags  # the labels' reader lives with the other ffmpeg readers
