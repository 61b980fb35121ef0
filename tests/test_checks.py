"""The exercise checkers of notebooks 01-08 (deepfake_utils.course.checks): each passes a right answer, says "not done
yet" for a stub, and turns down a typical wrong answer with a message that points at the mistake (printed, returning
False: it never stops a learner's Run All)."""
from __future__ import annotations

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from deepfake_utils import align, model, paste, warp
from deepfake_utils.course import checks


def todo(*args, **kwargs):
    raise NotImplementedError


# --- 01 frame sampler ---------------------------------------------------------------------------
def sample_frames(frames, source_fps, target_fps):
    """The notebook's solution: frame i is the nearest source frame to every output time within half a frame of it."""
    k = 0
    for i, frame in enumerate(frames):
        while k * source_fps / target_fps < i + 0.5:
            yield i / source_fps, frame
            k += 1


def lookahead_sampler(frames, source_fps, target_fps):
    """A right sampler written another way: it holds the previous frame back and compares distances in seconds."""
    k, previous = 0, None
    for i, frame in enumerate(frames):
        t = i / source_fps
        while previous is not None and k / target_fps - previous[0] <= t - k / target_fps:
            yield previous
            k += 1
        previous = (t, frame)
    while previous is not None and k / target_fps < previous[0] + 0.5 / source_fps:
        yield previous
        k += 1


def sampler_with(rate=round, clock=None, until_duration=False):
    """The solution with a typical slip: the source rate rounded to whole fps for choosing frames, the frames' times
    from another clock, or output times up to the video's duration instead of its last frame's half frame."""

    def sample(frames, source_fps, target_fps):
        k, last = 0, None
        for i, frame in enumerate(frames):
            while k * rate(source_fps) / target_fps < i + 0.5:
                yield (clock(i, k, source_fps, target_fps) if clock else i / source_fps), frame
                k += 1
            last = (i, frame)
        while until_duration and last is not None and k / target_fps < (last[0] + 1) / source_fps:
            yield last[0] / source_fps, last[1]
            k += 1

    return sample


def every_nth(frames, source_fps, target_fps):
    """Keep every round(fs / ft)-th frame: right for 25 -> 5 fps, wrong for 25 -> 7.5, never repeats a frame."""
    step = max(1, round(source_fps / target_fps))
    for i, frame in enumerate(frames):
        if i % step == 0:
            yield i / source_fps, frame


def first_at_or_after(frames, source_fps, target_fps):
    """The first frame at or after each output time: up to a whole source frame late, and no frame repeated."""
    k = 0
    for i, frame in enumerate(frames):
        if i / source_fps >= k / target_fps - 1e-9:
            yield i / source_fps, frame
            k += 1


def test_sampler_checker_passes_two_right_samplers_and_fails_typical_slips(wrong):
    assert checks.check_sample_frames(sample_frames)
    assert checks.check_sample_frames(lookahead_sampler)
    assert checks.check_sample_frames(sampler_with(rate=float))  # the slip-free variant is right
    assert checks.check_sample_frames(todo) is False
    wrong(checks.check_sample_frames, sampler_with(rate=round), "drift")  # 29.97 fps taken for 30 when choosing frames
    wrong(checks.check_sample_frames, every_nth, "source frames away")
    wrong(checks.check_sample_frames, first_at_or_after, "source frames away")
    # whole milliseconds a frame: 33 ms at 30 fps
    wrong(checks.check_sample_frames,
          sampler_with(rate=float, clock=lambda i, k, fs, ft: i * round(1000 / fs) / 1000),
          "its own time")
    # the output time instead of the frame's
    wrong(checks.check_sample_frames,
          sampler_with(rate=float, clock=lambda i, k, fs, ft: k / ft),
          "its own time")
    wrong(checks.check_sample_frames, sampler_with(rate=float, until_duration=True), "past the end")
    wrong(checks.check_sample_frames, lambda f, s, t: iter(list(sample_frames(list(f), s, t))), "whole video")
    wrong(checks.check_sample_frames, lambda f, s, t: sample_frames(f[: len(f)], s, t), "no len")
    wrong(checks.check_sample_frames,
          lambda f, s, t: (frame for _, frame in sample_frames(f, s, t)),
          r"\(time, frame\) pairs")


# --- 02 IoU and non-maximum suppression ---------------------------------------------------------
def box_iou(a, b):
    """The notebook's solution."""
    top, bottom = max(a[0], b[0]), min(a[2], b[2])
    left, right = max(a[3], b[3]), min(a[1], b[1])
    inter = max(0, bottom - top) * max(0, right - left)
    return inter / ((a[2] - a[0]) * (a[1] - a[3]) + (b[2] - b[0]) * (b[1] - b[3]) - inter)


def nms(boxes, scores, threshold=0.3):
    """The notebook's solution."""
    keep = []
    for i in np.argsort(scores)[::-1]:
        if all(box_iou(boxes[i], boxes[j]) <= threshold for j in keep):
            keep.append(int(i))
    return keep


def vectorised_nms(boxes, scores, threshold=0.3):
    """A right NMS written another way: numpy over all boxes at once, removing the covered boxes from a queue."""
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    top, right, bottom, left = boxes.T
    area = (right - left) * (bottom - top)
    order, keep = np.argsort(-np.asarray(scores, float)), []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        h = np.clip(np.minimum(bottom[best], bottom[rest]) - np.maximum(top[best], top[rest]), 0, None)
        w = np.clip(np.minimum(right[best], right[rest]) - np.maximum(left[best], left[rest]), 0, None)
        order = rest[h * w / (area[best] + area[rest] - h * w) <= threshold]
    return keep


def _area(box):
    return (box[2] - box[0]) * (box[1] - box[3])


def _overlap(a, b):
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[1], b[1]) - max(a[3], b[3]))


def test_box_iou_checker(wrong):
    assert checks.check_box_iou(box_iou)
    assert checks.check_box_iou(todo) is False

    def unclipped(a, b):  # two negative overlaps multiply into a positive one for boxes apart in both directions
        inter = (min(a[2], b[2]) - max(a[0], b[0])) * (min(a[1], b[1]) - max(a[3], b[3]))
        return max(0, inter) / (_area(a) + _area(b) - max(0, inter))

    def left_top_right_bottom(a, b):  # the box read as (x1, y1, x2, y2)
        inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    def inclusive(a, b):  # dlib's pixels, right and bottom included: + 1 on each side
        inter = max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1) * max(0, min(a[1], b[1]) - max(a[3], b[3]) + 1)
        area_a, area_b = (a[2] - a[0] + 1) * (a[1] - a[3] + 1), (b[2] - b[0] + 1) * (b[1] - b[3] + 1)
        return inter / (area_a + area_b - inter)

    wrong(checks.check_box_iou, unclipped, "apart in both directions")
    # the intersection counted twice in the union
    wrong(checks.check_box_iou,
          lambda a, b: _overlap(a, b) / (_area(a) + _area(b)),
          "itself")
    # intersection over the smaller box
    wrong(checks.check_box_iou,
          lambda a, b: _overlap(a, b) / min(_area(a), _area(b)),
          "half overlapping")
    wrong(checks.check_box_iou, left_top_right_bottom, "itself")
    wrong(checks.check_box_iou, inclusive, "half overlapping")


def test_nms_reference_is_opencvs():
    rng = np.random.default_rng(5)
    for threshold in (0.2, 0.4, 0.6):
        boxes, scores = checks._box_clusters(rng, 80), rng.uniform(0.01, 1, 80)
        xywh = [(float(left), float(top), float(right - left), float(bottom - top))
                for top, right, bottom, left in boxes]
        opencv = [int(i) for i in cv2.dnn.NMSBoxes(xywh, scores.tolist(), 0.0, threshold)]
        assert checks._nms(boxes, scores, threshold) == opencv
        assert 5 < len(opencv) < 60  # clusters: many boxes go, and more than one stays


def nms_against_the_last_kept(boxes, scores, threshold=0.3):
    """Each box compared with the last box kept only: right while the clusters come one after another."""
    keep = []
    for i in np.argsort(scores)[::-1]:
        if not keep or box_iou(boxes[i], boxes[keep[-1]]) <= threshold:
            keep.append(int(i))
    return keep


def test_nms_checker(wrong):
    assert checks.check_nms(nms)
    assert checks.check_nms(vectorised_nms)
    assert checks.check_nms(todo) is False
    # suppressed boxes still suppress
    wrong(checks.check_nms, lambda boxes, scores, threshold=0.3: [
        int(i) for i in np.argsort(scores)[::-1]
        if not any(box_iou(boxes[i], boxes[j]) > threshold for j in range(len(boxes)) if scores[j] > scores[i])],
        "only a box that is kept")
    # in the order given, not by score
    wrong(checks.check_nms,
          lambda boxes, scores, threshold=0.3: nms(boxes, np.arange(len(scores))[::-1], threshold),
          "three boxes on one face")
    # the right boxes, in the input's order
    wrong(checks.check_nms,
          lambda boxes, scores, threshold=0.3: sorted(nms(boxes, scores, threshold)),
          r"expected \[1, 0\]")
    wrong(checks.check_nms,
          lambda boxes, scores, threshold=0.3: [tuple(boxes[i]) for i in nms(boxes, scores, threshold)],
          "not the boxes")
    # the lowest score of each cluster kept
    wrong(checks.check_nms,
          lambda boxes, scores, threshold=0.3: nms(boxes, -np.asarray(scores, float), threshold),
          "three boxes on one face")
    wrong(checks.check_nms, nms_against_the_last_kept, "random boxes: you kept boxes")


# --- 03 eye aspect ratio and blinks ---------------------------------------------------------------
def eye_aspect_ratio(points):
    """The notebook's solution."""

    def one(eye):
        height = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
        return height / (2 * np.linalg.norm(eye[0] - eye[3]))

    points = np.asarray(points, float)
    return (one(points[36:42]) + one(points[42:48])) / 2


def find_blinks(ear, threshold=0.2, min_frames=2):
    """The notebook's solution."""
    blinks, start = [], None
    for i, value in enumerate(list(ear) + [np.inf]):
        if value < threshold and start is None:
            start = i
        elif value >= threshold and start is not None:
            if i - start >= min_frames:
                blinks.append((start, i))
            start = None
    return blinks


def ear_of(eye, pairs=((1, 5), (2, 4))):
    """One eye's ratio with the lids' points paired as given."""
    return sum(np.linalg.norm(eye[a] - eye[b]) for a, b in pairs) / (2 * np.linalg.norm(eye[0] - eye[3]))


def test_eye_aspect_ratio_checker(wrong):
    assert checks.check_eye_aspect_ratio(eye_aspect_ratio)
    assert checks.check_eye_aspect_ratio(todo) is False

    def upright(eye):  # heights as y differences, the width as an x difference: right only for a level face
        return (abs(eye[1, 1] - eye[5, 1]) + abs(eye[2, 1] - eye[4, 1])) / (2 * abs(eye[0, 0] - eye[3, 0]))

    # 1-based numbering: 37-42 and 43-48
    wrong(checks.check_eye_aspect_ratio,
          lambda p: (ear_of(p[37:43]) + ear_of(p[43:49])) / 2,
          "0-based")
    wrong(checks.check_eye_aspect_ratio, lambda p: ear_of(p[36:42]), "expected their mean")  # one eye only
    # the lids paired crosswise, p2-p5 and p3-p6
    wrong(checks.check_eye_aspect_ratio, lambda p: (ear_of(p[36:42], ((1, 4), (2, 5)))
                                                 + ear_of(p[42:48], ((1, 4), (2, 5)))) / 2, "0-based")
    wrong(checks.check_eye_aspect_ratio, lambda p: np.array([ear_of(p[36:42]), ear_of(p[42:48])]), "one number")
    wrong(checks.check_eye_aspect_ratio,
          lambda p: (upright(p[36:42]) + upright(p[42:48])) / 2,
          "differences of x or of y")


def blink_runs(ear, threshold=0.2, min_frames=2, last_inclusive=False, flush=True, minimum=True):
    """Blinks found with numpy (the edges of the below-threshold mask), with switches for three typical slips."""
    below = np.asarray(ear, float) < threshold
    padded = np.r_[False, below, False]
    edges = np.flatnonzero(padded[1:] != padded[:-1]).tolist()
    pairs = list(zip(edges[::2], edges[1::2], strict=True))
    if not flush:
        pairs = [(a, b) for a, b in pairs if b < len(below)]
    pairs = [(a, b) for a, b in pairs if b - a >= (min_frames if minimum else 1)]
    return [(a, b - 1) for a, b in pairs] if last_inclusive else pairs


def test_find_blinks_checker(wrong):
    assert checks.check_find_blinks(find_blinks)
    assert checks.check_find_blinks(blink_runs)  # numpy's way is right too
    assert checks.check_find_blinks(todo) is False
    wrong(checks.check_find_blinks, lambda e, **k: blink_runs(e, **k, last_inclusive=True), "as in a slice")
    wrong(checks.check_find_blinks, lambda e, **k: blink_runs(e, **k, flush=False), "runs to the series' end")
    wrong(checks.check_find_blinks, lambda e, **k: blink_runs(e, **k, minimum=False), "shorter than min_frames")
    wrong(checks.check_find_blinks, lambda e, **k: [a for a, _ in blink_runs(e, **k)], "pairs")  # the starts only


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
    assert checks.check_paste_face(paste.paste_face)
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
        filt = paste.OneEuroFilter(fps, min_cutoff, beta, d_cutoff)
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


# --- 00 split by identity -----------------------------------------------------------------------
def split_by_identity(identities, test_share, seed):
    """The notebook's solution: the distinct people in a seeded random order, taken into test until it holds enough."""
    people = sorted(set(identities))
    np.random.default_rng(seed).shuffle(people)
    test, want = [], test_share * len(identities)
    for person in people:
        if len(test) >= want:
            break
        test += [i for i, name in enumerate(identities) if name == person]
    chosen = set(test)
    return [i for i in range(len(identities)) if i not in chosen], test


def split_skipping_who_overflows(identities, test_share, seed):
    """Right, written another way: each person (in a seeded order) joins test only if test stays within its target."""
    rng = np.random.default_rng(seed)
    index = {name: [i for i, n in enumerate(identities) if n == name] for name in sorted(set(identities))}
    test = []
    for name in rng.permutation(sorted(index)):
        if len(test) + len(index[name]) <= round(test_share * len(identities)):
            test += index[name]
    return sorted(set(range(len(identities))) - set(test)), test


def split_photos(identities, test_share, seed):
    """The classic slip: photos split at random, so a person's photos land on both sides."""
    order = np.random.default_rng(seed).permutation(len(identities))
    cut = round(test_share * len(identities))
    return list(order[cut:]), list(order[:cut])


def split_in_name_order(identities, test_share, seed):
    """A slip: the people taken in name order, so every seed gives the same split."""
    test = []
    for person in sorted(set(identities)):
        if len(test) >= test_share * len(identities):
            break
        test += [i for i, name in enumerate(identities) if name == person]
    return [i for i in range(len(identities)) if i not in test], test


@pytest.mark.parametrize("wrong", [split_photos, split_in_name_order, todo])
def test_split_by_identity_checker(wrong):
    assert checks.check_split_by_identity(split_by_identity)
    assert checks.check_split_by_identity(split_skipping_who_overflows)
    assert not checks.check_split_by_identity(wrong)


# --- 11 footage report --------------------------------------------------------------------------
def footage_report_loop(boxes_per_frame, fps):
    """Right, written as one loop over the frames."""
    counts, heights, longest, run = [], [], 0, 0
    for boxes in boxes_per_frame:
        counts.append(len(boxes))
        if len(boxes):
            heights.append(max(b[2] - b[0] for b in boxes))
        run = 0 if len(boxes) else run + 1
        longest = max(longest, run)
    n = len(counts)
    return {"one_face": counts.count(1) / n, "several": sum(c > 1 for c in counts) / n,
            "none": counts.count(0) / n, "median_height": float(np.median(heights)), "longest_gap_s": longest / fps}


def footage_with(height=lambda b: b[2] - b[0], pick=max, open_end=True, seconds=True):
    """The loop with a typical slip: the width for the height, the first face for the tallest, a gap still open at
    the end forgotten, or the gap in frames."""
    def report(boxes_per_frame, fps):
        counts, heights, longest, run = [], [], 0, 0
        for boxes in boxes_per_frame:
            counts.append(len(boxes))
            if len(boxes):
                heights.append(pick([height(b) for b in boxes]))
                longest, run = max(longest, run), 0
            else:
                run += 1
        if open_end:
            longest = max(longest, run)
        n = len(counts)
        return {"one_face": counts.count(1) / n, "several": sum(c > 1 for c in counts) / n,
                "none": counts.count(0) / n, "median_height": float(np.median(heights)),
                "longest_gap_s": longest / fps if seconds else longest}
    return report


@pytest.mark.parametrize("wrong", [footage_with(height=lambda b: b[1] - b[3]), footage_with(pick=lambda h: h[0]),
                                   footage_with(open_end=False), footage_with(seconds=False), todo])
def test_footage_report_checker(wrong):
    from deepfake_utils import detect

    assert checks.check_footage_report(detect.footage_report)
    assert checks.check_footage_report(footage_report_loop)
    assert checks.check_footage_report(footage_with())
    assert not checks.check_footage_report(wrong)
