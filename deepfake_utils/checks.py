"""Checkers for the notebooks' exercises: ``check_x(your_function)`` tests it on known answers.

A checker returns True when the function is right, returns False (and says so) while it still raises
``NotImplementedError``, and raises AssertionError with a hint when an answer is wrong.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import cv2
import numpy as np

from . import align, detect, landmarks, warp


def _checker(func: Callable[[Callable], None]) -> Callable[[Callable], bool]:
    @functools.wraps(func)
    def wrapper(candidate: Callable) -> bool:
        try:
            func(candidate)
        except NotImplementedError:
            print(f"… {func.__name__}: not done yet — fill in the function above, then run this cell again")
            return False
        print(f"✓ {func.__name__}: passed")
        return True

    return wrapper


def _face_points(seed: int = 0) -> np.ndarray:
    """A plausible 68-point face: the mean face (inner points) plus a jaw arc, jittered."""
    rng = np.random.default_rng(seed)
    inner = align.mean_face() * 100 + 50
    t = np.linspace(np.pi * 0.95, np.pi * 0.05, 17)
    jaw = np.stack([100 + 60 * np.cos(t), 100 + 70 * np.sin(t)], axis=1)
    return (np.vstack([jaw, inner]) + rng.normal(0, 1, (68, 2))).astype(np.float32)


# --- 00 index -----------------------------------------------------------------------------------
@_checker
def check_sha256(fn: Callable) -> None:
    """fn(path) -> the file's sha256 hex digest."""
    from . import data

    path = data.fetch(data.SAMPLE_VIDEO)
    got = fn(path)
    assert isinstance(got, str) and got.lower() == data.registry()[data.SAMPLE_VIDEO], (
        "hash the file's bytes with hashlib.sha256 and return .hexdigest()")


# --- 01 frames ----------------------------------------------------------------------------------
@_checker
def check_frame_time(fn: Callable) -> None:
    """fn(index, fps) -> seconds from the start to 1-based frame ``index``."""
    for index, fps, want in [(1, 25, 0.0), (26, 25, 1.0), (31, 30, 1.0), (13, 24, 0.5)]:
        got = fn(index, fps)
        assert abs(got - want) < 1e-9, f"frame {index} at {fps} fps starts at {want} s, you said {got}"


@_checker
def check_bgr_to_rgb(fn: Callable) -> None:
    """fn(bgr) -> the same image in RGB order, without OpenCV."""
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    got = fn(bgr)
    assert np.array_equal(got, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), "reverse the last axis: channels B,G,R -> R,G,B"


@_checker
def check_every_nth(fn: Callable) -> None:
    """fn(frames, n) -> an iterator over frames 0, n, 2n, ... that works on a stream."""
    stream = (np.full((2, 2, 3), i, np.uint8) for i in range(10))
    got = [int(f[0, 0, 0]) for f in fn(stream, 3)]
    assert got == [0, 3, 6, 9], f"expected frames [0, 3, 6, 9], got {got}"


# --- 02 detection -------------------------------------------------------------------------------
@_checker
def check_box_iou(fn: Callable) -> None:
    """fn(a, b) -> intersection over union of two (top, right, bottom, left) boxes."""
    cases = [((0, 10, 10, 0), (0, 10, 10, 0), 1.0), ((0, 10, 10, 0), (0, 20, 10, 10), 0.0),
             ((0, 10, 10, 0), (0, 15, 10, 5), 50 / 150), ((0, 4, 4, 0), (1, 3, 3, 1), 4 / 16)]
    for a, b, want in cases:
        got = fn(a, b)
        assert abs(got - want) < 1e-9, f"iou({a}, {b}) should be {want:.4f}, got {got}"


@_checker
def check_css_to_xywh(fn: Callable) -> None:
    """fn(box) -> (x, y, width, height) of a (top, right, bottom, left) box."""
    assert tuple(fn((10, 50, 80, 20))) == (20, 10, 30, 70), "x = left, y = top, w = right - left, h = bottom - top"


@_checker
def check_largest_face(fn: Callable) -> None:
    """fn(boxes) -> the largest box, or None for no boxes."""
    boxes = [(0, 10, 10, 0), (5, 60, 45, 20), (0, 30, 30, 0)]
    assert fn(boxes) == detect.pick_face(boxes, (100, 100, 3), "largest"), "compare boxes by their size"
    assert fn([]) is None, "no boxes: return None"


# --- 03 landmarks -------------------------------------------------------------------------------
@_checker
def check_mouth_open(fn: Callable) -> None:
    """fn(points) -> inner-mouth height (62-66) divided by inner-mouth width (60-64)."""
    pts = _face_points()
    want = np.linalg.norm(pts[62] - pts[66]) / np.linalg.norm(pts[60] - pts[64])
    got = fn(pts)
    assert abs(got - want) < 1e-5, f"expected {want:.4f}, got {got}"


@_checker
def check_region_centroid(fn: Callable) -> None:
    """fn(points, name) -> the mean (x, y) of a named region."""
    pts = _face_points(1)
    for name in landmarks.REGIONS:
        want = landmarks.region(pts, name).mean(axis=0)
        got = np.asarray(fn(pts, name))
        assert np.allclose(got, want, atol=1e-4), f"{name}: expected {want}, got {got}"


@_checker
def check_landmark_error(fn: Callable) -> None:
    """fn(reference, other) -> mean point distance / inter-ocular distance of the reference."""
    a, b = _face_points(2), _face_points(3)
    want = landmarks.landmark_error(a, b)
    got = fn(a, b)
    assert abs(got - want) < 1e-5, f"expected {want:.5f}, got {got} (eye centres: means of 36-41 and 42-47)"


# --- 04 alignment -------------------------------------------------------------------------------
def _random_similarity(rng: np.random.Generator, scale: bool = True) -> np.ndarray:
    angle, s = rng.uniform(-np.pi, np.pi), (rng.uniform(0.3, 3) if scale else 1.0)
    return np.array([[s * np.cos(angle), -s * np.sin(angle), rng.uniform(-50, 50)],
                     [s * np.sin(angle), s * np.cos(angle), rng.uniform(-50, 50)], [0, 0, 1]])


@_checker
def check_umeyama(fn: Callable) -> None:
    """fn(src, dst) -> the 3x3 similarity taking src points onto dst (least squares)."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        truth = _random_similarity(rng)
        src = rng.uniform(0, 200, (51, 2))
        got = np.asarray(fn(src, align.transform_points(src, truth[:2])))
        assert got.shape == (3, 3), f"return a 3x3 matrix, got shape {got.shape}"
        assert np.abs(got - truth).max() < 1e-6, "exact correspondences must give back the transform to 1e-6"
    src = rng.uniform(0, 200, (51, 2))
    noisy = align.transform_points(src, _random_similarity(rng)[:2]) + rng.normal(0, 2, src.shape)
    got = np.asarray(fn(src, noisy))
    assert np.abs(got - align.umeyama(src, noisy)).max() < 1e-6, "noisy points: not the least-squares fit"


@_checker
def check_umeyama_rigid(fn: Callable) -> None:
    """fn(src, dst) -> the 3x3 rotation + shift (no scaling) taking src points onto dst."""
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 200, (30, 2))
    truth = _random_similarity(rng, scale=False)
    got = np.asarray(fn(src, align.transform_points(src, truth[:2])))
    assert np.abs(got - truth).max() < 1e-6, "rigid: same as Umeyama with the scale fixed to 1"
    scaled = align.transform_points(src, (truth @ np.diag([2.0, 2.0, 1.0]))[:2])
    got = np.asarray(fn(src, scaled))
    assert abs(np.linalg.det(got[:2, :2]) - 1) < 1e-6, "the 2x2 part must be a pure rotation (determinant 1)"


@_checker
def check_invert_affine(fn: Callable) -> None:
    """fn(matrix) -> the inverse of a 2x3 affine matrix, as 2x3."""
    rng = np.random.default_rng(2)
    matrix = _random_similarity(rng)[:2]
    got = np.asarray(fn(matrix))
    assert got.shape == (2, 3), f"return a 2x3 matrix, got {got.shape}"
    assert np.allclose(got, cv2.invertAffineTransform(matrix), atol=1e-9), "invert the 2x2 part A, then shift -A⁻¹ t"


# --- 05 warping ---------------------------------------------------------------------------------
@_checker
def check_warp_grid(fn: Callable) -> None:
    """fn(size, coverage) -> (mapx, mapy): the 5x5 control grid spanning the centre ``coverage`` px."""
    for size, coverage in [(256, 160), (256, 200), (128, 100)]:
        want_x, want_y = warp.warp_grid(size, coverage)
        got_x, got_y = fn(size, coverage)
        assert np.allclose(got_x, want_x) and np.allclose(got_y, want_y), (
            f"size {size}, coverage {coverage}: 5 evenly spaced points from {size / 2 - coverage / 2} "
            f"to {size / 2 + coverage / 2}; x varies along columns, y along rows")


@_checker
def check_random_flip(fn: Callable) -> None:
    """fn(image, rng, p) -> the image mirrored left-right with probability p, seeded by rng."""
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    a = [fn(image, np.random.default_rng(s), 0.4) for s in range(300)]
    b = [fn(image, np.random.default_rng(s), 0.4) for s in range(300)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True)), "same seed must give the same result"
    flipped = [np.array_equal(x, image[:, ::-1]) for x in a]
    assert all(f or np.array_equal(x, image) for f, x in zip(flipped, a, strict=True)), "flip along axis 1 only"
    assert 0.3 < np.mean(flipped) < 0.5, f"flipped {np.mean(flipped):.0%} of the time, want about 40%"


@_checker
def check_coverage_crop(fn: Callable) -> None:
    """fn(face, coverage, size) -> the centre ``coverage`` px of the face, resized to ``size``."""
    rng = np.random.default_rng(3)
    face = cv2.GaussianBlur(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8), (15, 15), 5)
    got = fn(face, 160, 64)
    _, target = warp.random_warp(face, np.random.default_rng(0), sigma=0, coverage=160, size=64)
    assert got.shape == (64, 64, 3), f"expected a 64x64x3 crop, got {got.shape}"
    assert np.abs(got.astype(int) - target.astype(int)).mean() < 3, "crop [48:208, 48:208], then resize to 64"


@_checker
def check_video_duration(fn: Callable) -> None:
    """fn(path) -> the duration of a video in seconds."""
    from . import data

    got = fn(data.fetch(data.SAMPLE_VIDEO))
    assert abs(float(got) - 5.0) < 0.05, f"the sample video lasts 5.0 s (125 frames at 25 fps), you said {got}"


# --- 06 encoder/decoder -------------------------------------------------------------------------
@_checker
def check_conv_params(fn: Callable) -> None:
    """fn(kernel, c_in, c_out) -> weights + biases of a square Conv2D layer."""
    for k, c_in, c_out in [(5, 3, 128), (3, 1024, 2048), (5, 64, 3)]:
        want = k * k * c_in * c_out + c_out
        got = fn(k, c_in, c_out)
        assert got == want, f"Conv2D({c_out}, {k}) on {c_in} channels has {want} parameters, you said {got}"


@_checker
def check_dense_params(fn: Callable) -> None:
    """fn(n_in, n_out) -> weights + biases of a Dense layer."""
    for n_in, n_out in [(16384, 1024), (1024, 16384), (3, 1)]:
        assert fn(n_in, n_out) == n_in * n_out + n_out, f"Dense({n_out}) on {n_in} inputs: weights plus one bias each"


@_checker
def check_pixel_shuffle(fn: Callable) -> None:
    """fn(x) -> numpy depth_to_space with block 2: (N, H, W, 4C) -> (N, 2H, 2W, C)."""
    import tensorflow as tf

    x = np.random.default_rng(0).random((2, 3, 5, 8)).astype(np.float32)
    got = np.asarray(fn(x))
    want = tf.nn.depth_to_space(x, 2).numpy()
    assert got.shape == want.shape, f"expected shape {want.shape}, got {got.shape}"
    assert np.allclose(got, want), "the 4 channel groups fill each 2x2 block row by row (as tf.nn.depth_to_space)"


# --- 07 training --------------------------------------------------------------------------------
@_checker
def check_mae(fn: Callable) -> None:
    """fn(target, output) -> the mean absolute error over every pixel and channel."""
    rng = np.random.default_rng(0)
    a, b = rng.random((4, 8, 8, 3)), rng.random((4, 8, 8, 3))
    got = float(fn(a, b))
    assert abs(got - np.abs(a - b).mean()) < 1e-6, "average |target - output| over all elements"


@_checker
def check_colour_shift(fn: Callable) -> None:
    """fn(face, reference_mean) -> the face with its per-channel mean moved to reference_mean (uint8)."""
    rng = np.random.default_rng(1)
    face = rng.integers(60, 190, (32, 32, 3)).astype(np.uint8)
    target = np.array([150.0, 110.0, 90.0])
    got = fn(face, target)
    assert got.dtype == np.uint8 and got.shape == face.shape, "return a uint8 image of the same shape"
    assert np.abs(got.reshape(-1, 3).mean(0) - target).max() < 1.0, "shift each channel by (reference - face mean)"


# --- 08 swap and masking ------------------------------------------------------------------------
@_checker
def check_hull_mask(fn: Callable) -> None:
    """fn(shape, landmarks) -> float (H, W) mask: 1 inside the convex hull of the landmarks, 0 outside."""
    from . import blend

    points = _face_points(2)
    got = np.asarray(fn((220, 200, 3), points), np.float32)
    want = blend.hull_mask((220, 200, 3), points)
    assert got.shape == (220, 200), "one value per pixel: shape (H, W), not (H, W, 3)"
    assert got.max() <= 1 and got.min() >= 0, "mask values go from 0 to 1"
    overlap = ((got > 0.5) & (want > 0.5)).sum() / max(((got > 0.5) | (want > 0.5)).sum(), 1)
    assert overlap > 0.97, f"your mask overlaps the hull by {overlap:.0%}: cv2.convexHull, then cv2.fillConvexPoly"


@_checker
def check_feather(fn: Callable) -> None:
    """fn(mask, px) -> the mask with a soft edge px wide that stays inside the original mask."""
    mask = np.zeros((120, 120), np.float32)
    mask[20:100, 30:90] = 1
    got = np.asarray(fn(mask, 8), np.float32)
    assert got.shape == mask.shape, "a float mask of the same shape"
    assert got.min() >= 0 and got.max() <= 1 + 1e-5, "mask values go from 0 to 1"
    assert got[mask == 0].max() < 1e-6, "the soft edge must stay inside the mask: erode by px before blurring"
    assert got[60, 60] > 0.99, "the middle of the mask stays 1"
    soft = ((got > 0.05) & (got < 0.95)).sum()
    assert soft > 500, "the edge should fade over several pixels: blur with a Gaussian about 2*px+1 wide"


@_checker
def check_exponential_smoothing(fn: Callable) -> None:
    """fn(track, alpha) -> [s_0 = x_0, s_t = alpha * x_t + (1 - alpha) * s_(t-1)] for a list of (68, 2) arrays."""
    rng = np.random.default_rng(3)
    base = _face_points(3)
    track = [base + rng.normal(0, 2, base.shape) for _ in range(12)]
    got = fn(track, 0.3)
    assert len(got) == len(track), "one smoothed array per frame"
    want = [track[0]]
    for x in track[1:]:
        want.append(0.3 * x + 0.7 * want[-1])
    assert np.allclose(got[0], track[0]), "the first frame is the filter's starting value"
    assert all(np.allclose(g, w, atol=1e-4) for g, w in zip(got, want, strict=True)), (
        "s_t = alpha * x_t + (1 - alpha) * s_(t-1)")


# --- 09 GAN upgrade -----------------------------------------------------------------------------
@_checker
def check_lsgan_loss(fn: Callable) -> None:
    """fn(prediction, target) -> the least-squares GAN loss: mean of (prediction - target)^2."""
    rng = np.random.default_rng(9)
    verdicts = rng.normal(0.5, 0.4, (4, 8, 8, 1))
    for target, meaning in [(1.0, "real"), (0.0, "fake"), (0.3, "a mix: 30 % real")]:
        got = float(fn(verdicts, target))
        want = float(np.mean((verdicts - target) ** 2))
        assert abs(got - want) < 1e-6, (f"verdicts against {meaning} (target {target}): {want:.5f}, you said "
                                        f"{got:.5f}; average the squared differences over every patch")
    assert abs(float(fn(np.ones((2, 8, 8, 1)), 1.0))) < 1e-9, "a discriminator that is exactly right costs 0"


@_checker
def check_edge_loss(fn: Callable) -> None:
    """fn(output, target) -> mean |dy(output) - dy(target)| + mean |dx(output) - dx(target)| for (N, H, W, C)
    images, with dy[i, j] = x[i + 1, j] - x[i, j] and dx[i, j] = x[i, j + 1] - x[i, j] (on the (H-1) x (W-1)
    pixels that have both neighbours)."""
    from . import gan

    rng = np.random.default_rng(10)
    target = rng.random((2, 16, 16, 3)).astype(np.float32)
    output = rng.random((2, 16, 16, 3)).astype(np.float32)
    want = float(gan.edge_loss(output, target))
    got = float(fn(output, target))
    assert abs(got - want) < 1e-5, (f"edge loss {want:.5f}, you said {got:.5f}: differences of neighbouring pixels "
                                    "along y and along x, on the (H-1) x (W-1) pixels with both neighbours")
    assert abs(float(fn(target + 0.2, target))) < 1e-6, (
        "brightening the whole image keeps every edge: the edge loss of target + 0.2 against target is 0")


@_checker
def check_attention_shapes(fn: Callable) -> None:
    """fn(height, width, channels, squeeze) -> the shapes (one image, no batch axis) of the queries, keys, values,
    attention map and output of a self-attention block: queries and keys have channels // squeeze channels."""
    from . import gan

    for h, w, c, sq in [(16, 16, 64, 8), (8, 8, 128, 8), (32, 16, 40, 4)]:
        want = {"queries": (h * w, c // sq), "keys": (h * w, c // sq), "values": (h * w, c),
                "attention": (h * w, h * w), "output": (h, w, c)}
        got = {k: tuple(v) for k, v in dict(fn(h, w, c, sq)).items()}
        for name, shape in want.items():
            assert got.get(name) == shape, (f"{h}x{w}x{c}, squeeze {sq}: {name} {shape}, you said {got.get(name)} "
                                            "(every one of the h*w positions is one row)")
    layer = gan.SelfAttention(squeeze=8)  # the package's block gives the same shapes
    x = np.zeros((1, 8, 8, 128), np.float32)
    assert tuple(layer.attention(x).shape[1:]) == (64, 64) and tuple(layer(x).shape[1:]) == (8, 8, 128)


# --- 10 detecting face swaps --------------------------------------------------------------------
@_checker
def check_boundary_map(fn: Callable) -> None:
    """fn(mask) -> Face X-ray's boundary map 4 * M * (1 - M) of a float (H, W) blending mask."""
    mask = np.zeros((64, 64), np.float32)
    mask[16:48, 16:48] = 1
    mask = cv2.GaussianBlur(mask, (15, 15), 0)
    got = np.asarray(fn(mask), np.float64)
    assert got.shape == mask.shape, f"one value per pixel: shape {mask.shape}, got {got.shape}"
    assert np.allclose(got, 4 * mask * (1 - mask), atol=1e-5), (
        "B = 4 * M * (1 - M): 0 where M is 0 or 1, 1 where M = 0.5")
    assert got[32, 32] < 1e-6 and got[0, 0] < 1e-6, "B is 0 inside the face and far outside it"


@_checker
def check_auc(fn: Callable) -> None:
    """fn(labels, scores) -> the area under the ROC curve (label 1: fake), by hand: the chance that a random fake
    scores higher than a random real face, ties counting half."""
    from sklearn.metrics import roc_auc_score

    cases = [([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.75), ([0, 1, 0, 1], [0.2, 0.9, 0.3, 0.7], 1.0),
             ([1, 0, 1, 0], [0.2, 0.9, 0.3, 0.7], 0.0), ([0, 1], [0.5, 0.5], 0.5)]
    for labels, scores, want in cases:
        got = float(fn(np.array(labels), np.array(scores)))
        assert abs(got - want) < 1e-9, (f"labels {labels}, scores {scores}: AUC {want}, you said {got} (count the "
                                        "(fake, real) pairs where the fake scores higher; a tie counts 1/2)")
    rng = np.random.default_rng(0)
    labels, scores = rng.integers(0, 2, 300), rng.integers(0, 20, 300) / 20  # many ties
    got, want = float(fn(labels, scores)), roc_auc_score(labels, scores)
    assert abs(got - want) < 1e-9, f"300 scores with ties: scikit-learn says {want:.6f}, you said {got:.6f}"


@_checker
def check_rates_at(fn: Callable) -> None:
    """fn(labels, scores, threshold) -> (true positive rate, false positive rate) when score >= threshold means fake."""
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.3, 0.6, 0.2, 0.9, 0.6, 0.4])
    for threshold, want in [(0.5, (2 / 3, 1 / 4)), (0.6, (2 / 3, 1 / 4)), (0.05, (1.0, 1.0)), (0.95, (0.0, 0.0))]:
        tpr, fpr = (float(v) for v in fn(labels, scores, threshold))
        assert abs(tpr - want[0]) < 1e-9 and abs(fpr - want[1]) < 1e-9, (
            f"threshold {threshold}: (TPR, FPR) = ({want[0]:.3f}, {want[1]:.3f}), you said ({tpr:.3f}, {fpr:.3f}); "
            "TPR = fakes flagged / fakes, FPR = real faces flagged / real faces, flagged when score >= threshold")
