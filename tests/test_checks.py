"""The exercise checkers of notebooks 04-08 (deepfake_utils.checks): each passes a right answer, says "not done yet"
for a stub, and turns down a typical wrong answer with a message that points at the mistake (printed, returning
False: it never stops a learner's Run All)."""
from __future__ import annotations

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from deepfake_utils import align, checks, model, swap, warp


def todo(*args, **kwargs):
    raise NotImplementedError


# --- 04 Umeyama ---------------------------------------------------------------------------------
def naive_umeyama(src, dst, scale=True):
    """Umeyama without the reflection fix (S = identity): right for most point sets, a mirror for some."""
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    u, d, vt = np.linalg.svd((dst - mu_d).T @ (src - mu_s) / len(src))
    rotation = u @ vt
    c = d.sum() / (src - mu_s).var(0).sum() if scale else 1.0
    out = np.eye(3)
    out[:2, :2] = c * rotation
    out[:2, 2] = mu_d - c * rotation @ mu_s
    return out


def test_umeyama_checker_passes_scikit_image_and_fails_the_mirror(wrong):
    assert checks.check_umeyama(align.umeyama)
    assert checks.check_umeyama(todo) is False
    wrong(checks.check_umeyama, naive_umeyama, "mirror")
    wrong(checks.check_umeyama, lambda s, d: align.umeyama(s, d)[:2], "3x3")
    wrong(checks.check_umeyama, lambda s, d: align.umeyama(s, d) @ np.diag([1.01, 1.01, 1]),
          "identity")  # a scale slightly off
    wrong(checks.check_umeyama, lambda s, d: align.umeyama(s, d) + np.array([[0, 0, 1], [0, 0, 0], [0, 0, 0]])
          * (np.abs(s - d).max() > 0), "known similarity")  # the shift of the mean not scaled and rotated


def test_umeyama_rigid_checker(wrong):
    assert checks.check_umeyama_rigid(lambda s, d: align.umeyama(s, d, estimate_scale=False))
    wrong(checks.check_umeyama_rigid, align.umeyama)  # scales
    wrong(checks.check_umeyama_rigid, lambda s, d: naive_umeyama(s, d, scale=False), "mirror")


# --- 05 random warp -----------------------------------------------------------------------------
def my_warp(image, rng, coverage=160, sigma=5.0, size=64, order="xy", centres=True):
    """A random warp written from the notebook's description, with two switches for typical slips."""
    mapx, mapy = warp.warp_grid(image.shape[0], coverage)
    first, second = rng.normal(0, sigma, (5, 5)), rng.normal(0, sigma, (5, 5))
    noise_x, noise_y = (first, second) if order == "xy" else (second, first)
    nx, ny = mapx + noise_x, mapy + noise_y
    pad = size // 8
    dense = [cv2.resize(m, (size + 2 * pad,) * 2)[pad:pad + size, pad:pad + size].astype(np.float32) for m in (nx, ny)]
    warped = cv2.remap(image, dense[0], dense[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    line = np.linspace(0, size, 5) - (0.5 if centres else 0)
    grid = np.stack(np.meshgrid(line, line), -1).reshape(-1, 2)
    matrix = align.umeyama(np.stack([nx.ravel(), ny.ravel()], 1), grid)[:2]
    return warped, cv2.warpAffine(image, matrix, (size, size), borderMode=cv2.BORDER_REPLICATE)


def other_warp(image, rng, coverage=160, sigma=5.0, size=64):
    """A correct random warp written another way: its own draw order and shapes, its own bilinear interpolation,
    scipy's sampling and its own least-squares similarity. Not the package's pixels, the same properties."""
    from scipy import ndimage

    half = image.shape[0] / 2
    line = np.linspace(half - coverage / 2, half + coverage / 2, 5)
    points = np.stack(np.meshgrid(line, line), -1) + sigma * rng.standard_normal((5, 5, 2))  # (x, y) together
    pad = size // 8
    where = (np.arange(size) + pad + 0.5) * 5 / (size + 2 * pad) - 0.5  # resize's sampling positions, 5 -> big
    where = np.clip(where, 0, 4)
    dense = ndimage.map_coordinates(points[..., 0], np.meshgrid(where, where, indexing="ij"), order=1), \
        ndimage.map_coordinates(points[..., 1], np.meshgrid(where, where, indexing="ij"), order=1)

    def sample(x, y):
        return np.stack([ndimage.map_coordinates(image[..., c].astype(float), [y, x], order=1, mode="nearest")
                         for c in range(3)], -1).round().clip(0, 255).astype(np.uint8)

    step = np.linspace(0, size, 5) - 0.5
    grid = np.stack(np.meshgrid(step, step), -1).reshape(-1, 2)
    src = points.reshape(-1, 2)  # the least-squares similarity src -> grid, linear in (a, b, tx, ty)
    design = np.zeros((50, 4))
    design[0::2] = np.column_stack([src[:, 0], -src[:, 1], np.ones(25), np.zeros(25)])
    design[1::2] = np.column_stack([src[:, 1], src[:, 0], np.zeros(25), np.ones(25)])
    a, b, tx, ty = np.linalg.lstsq(design, grid.ravel(), rcond=None)[0]
    inverse = np.linalg.inv(np.array([[a, -b, tx], [b, a, ty], [0, 0, 1]]))  # output pixels -> source pixels
    i, j = np.mgrid[0:size, 0:size].astype(float)
    target = sample(inverse[0, 0] * j + inverse[0, 1] * i + inverse[0, 2], inverse[1, 0] * j + inverse[1, 1] * i
                    + inverse[1, 2])
    return sample(*dense), target


def test_random_warp_checker_checks_properties(wrong):
    assert checks.check_random_warp(warp.random_warp)
    assert checks.check_random_warp(my_warp)
    assert checks.check_random_warp(lambda *a, **k: my_warp(*a, **k, order="yx"))  # y drawn first: right too
    assert checks.check_random_warp(other_warp)
    assert checks.check_random_warp(todo) is False
    wrong(checks.check_random_warp, lambda *a, **k: my_warp(*a, **k, centres=False), "pixel centres")
    fresh = np.random.default_rng(99)
    wrong(checks.check_random_warp, lambda image, rng, **k: my_warp(image, fresh, **k),
          "same seed")  # randomness not from the rng it was given

    def plain_target(image, rng, coverage=160, sigma=5.0, size=64):  # the target ignores the jitter
        return my_warp(image, rng, coverage, sigma, size)[0], warp.random_warp(image, rng, coverage=coverage,
                                                                                sigma=0.0, size=size)[1]

    wrong(checks.check_random_warp, plain_target, "own warped input")

    def other_points(image, rng, coverage=160, sigma=5.0, size=64):  # the target fitted to a second draw
        warped = my_warp(image, rng, coverage, sigma, size)[0]
        return warped, my_warp(image, rng, coverage, sigma, size)[1]

    wrong(checks.check_random_warp, other_points, "own warped input")
    wrong(checks.check_random_warp, lambda image, rng, coverage=160, sigma=5.0, size=64:
          my_warp(image, rng, coverage, sigma / 10, size), "about")  # the jitter ten times too small
    wrong(checks.check_random_warp, lambda *a, **k: tuple(x.astype(np.float32) for x in my_warp(*a, **k)), "uint8")


# --- 06 encoder and decoder ---------------------------------------------------------------------
def relu_encoder(preset):
    """The encoder with ReLU instead of LeakyReLU(0.1): the same weights, a different network."""
    face = keras.Input((preset.size, preset.size, 3))
    x = face
    for filters in preset.encoder_filters:
        x = keras.layers.Conv2D(filters, 5, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Dense(4 * 4 * preset.dense)(keras.layers.Dense(preset.dense)(keras.layers.Flatten()(x)))
    x = keras.layers.Reshape((4, 4, preset.dense))(x)
    x = keras.layers.Conv2D(preset.encoder_upscale * 4, 3, padding="same", activation="relu")(x)
    return keras.Model(face, model.PixelShuffle()(x))


def test_encoder_and_decoder_checkers(wrong):
    assert checks.check_encoder(model.build_encoder)
    assert checks.check_decoder(model.build_decoder)
    assert checks.check_encoder(todo) is False and checks.check_decoder(todo) is False
    wrong(checks.check_encoder, relu_encoder, "wiring")
    wrong(checks.check_decoder, lambda p: model.build_decoder(model.get_preset(p, upscale="upsample")),
          "should be a 3x3 convolution kernel")  # upsample instead of shuffle
    wrong(checks.check_decoder,
          lambda p: keras.Model(*(lambda m: (m.input, m.layers[-2].output))(model.build_decoder(p))),
          "the next one expected is a 5x5 convolution kernel")  # no to_rgb
    wrong(checks.check_encoder, lambda p: None, "keras.Model")
    wrong(checks.check_decoder, lambda p: keras.Model(*(lambda m: (m.input, keras.layers.Conv2D(3, 5, padding="same")(
        m.layers[-2].output)))(model.build_decoder(p))), "sigmoid")  # a linear last layer: the learner's own network


# --- 07 train step ------------------------------------------------------------------------------
def make_step(together=False, reduce=tf.reduce_mean):
    def step(swap_model, opt_a, opt_b, warped_a, target_a, warped_b, target_b):
        results = []
        for side, opt, warped, target in (("a", opt_a, warped_a, target_a), ("b", opt_b, warped_b, target_b)):
            variables = swap_model.encoder.trainable_variables + swap_model.decoder(side).trainable_variables
            with tf.GradientTape() as tape:
                loss = reduce(tf.abs(swap_model.reconstruct(warped, side, training=True) - target))
            results.append((opt, tape.gradient(loss, variables), variables, loss))
            if not together:
                opt.apply_gradients(zip(results[-1][1], variables, strict=True))
        if together:  # both gradients from the weights before the step: not the original's order
            for opt, grads, variables, _ in results:
                opt.apply_gradients(zip(grads, variables, strict=True))
        return results[0][3], results[1][3]

    return step


def test_train_step_checker_compares_with_the_packages_step(wrong):
    assert checks.check_train_step(make_step())
    assert checks.check_train_step(todo) is False
    wrong(checks.check_train_step, make_step(together=True), "encoder that side A has just updated")
    wrong(checks.check_train_step, make_step(reduce=tf.reduce_sum), "mean absolute error")


# --- 08 paste and one-euro ----------------------------------------------------------------------
def test_paste_face_checker(wrong):
    assert checks.check_paste_face(swap.paste_face)
    assert checks.check_paste_face(todo) is False

    def forward(frame, face, matrix):  # the matrix not inverted: the face lands elsewhere
        out = frame.copy()
        cv2.warpAffine(face, np.asarray(matrix), frame.shape[1::-1], dst=out, borderMode=cv2.BORDER_TRANSPARENT)
        return out

    def black_border(frame, face, matrix):  # the frame outside the face lost
        return cv2.warpAffine(face, cv2.invertAffineTransform(np.asarray(matrix)), frame.shape[1::-1])

    def in_place(frame, face, matrix):
        cv2.warpAffine(face, cv2.invertAffineTransform(np.asarray(matrix)), frame.shape[1::-1], dst=frame,
                       borderMode=cv2.BORDER_TRANSPARENT)
        return frame

    for answer, message in [(forward, "inverse"), (black_border, "stay as it was"), (in_place, "into a copy")]:
        wrong(checks.check_paste_face, answer, message)


def one_euro_with(derivative_from_raw=False):
    def one_euro(signal, fps, min_cutoff=1.0, beta=2.0, d_cutoff=1.0):
        def alpha(cutoff):
            return 1 / (1 + fps / (2 * np.pi * cutoff))

        out, raw_prev, speed = [signal[0]], signal[0], 0.0
        for x in signal[1:]:
            prev = raw_prev if derivative_from_raw else out[-1]
            speed = alpha(d_cutoff) * (x - prev) * fps + (1 - alpha(d_cutoff)) * speed
            a = alpha(min_cutoff + beta * abs(speed))
            out.append(a * x + (1 - a) * out[-1])
            raw_prev = x
        return np.array(out)

    return one_euro


def test_one_euro_checker(wrong):
    def package(signal, fps, min_cutoff=1.0, beta=2.0, d_cutoff=1.0):
        filt = swap.OneEuroFilter(fps, min_cutoff, beta, d_cutoff)
        return np.array([filt(np.array([[x]]))[0, 0] for x in signal])

    assert checks.check_one_euro(package)
    assert checks.check_one_euro(one_euro_with())
    assert checks.check_one_euro(todo) is False
    wrong(checks.check_one_euro, one_euro_with(derivative_from_raw=True), "previous filtered value")
    wrong(checks.check_one_euro, lambda s, fps, **k: one_euro_with()(s, 1 / fps, **k),
          "exponential smoothing")  # tau and the period confused


def test_a_right_answer_that_warns_still_passes_and_nothing_reaches_stderr(capsys):
    """nbgrader's autograde scores a test cell 0 when it writes to stderr: a checker keeps warnings quiet."""
    import warnings

    def noisy(src, dst):
        warnings.warn("estimate is deprecated", FutureWarning, stacklevel=2)
        return align.umeyama(src, dst)

    assert checks.check_umeyama(noisy)
    captured = capsys.readouterr()
    assert captured.err == "" and "passed" in captured.out


def test_a_missing_data_file_is_not_blamed_on_the_answer(monkeypatch):
    """The checkers turn down wrong answers without raising, but the course's own data or disk failing still raises."""
    from deepfake_utils import data
    from deepfake_utils.errors import DataError

    def offline(*args, **kwargs):
        raise DataError("2.mp4: not in the cache, and the download failed")

    monkeypatch.setattr(data, "fetch", offline)
    with pytest.raises(DataError, match="download failed"):
        checks.check_sha256(lambda path: "0" * 64)
