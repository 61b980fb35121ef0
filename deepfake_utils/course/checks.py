"""Checkers for the notebooks' exercises: ``check_x(your_function)`` tests it on known answers.

A checker never stops a learner's "Run All": it returns True when the function is right, and otherwise returns
False and says what is not yet right: "not done yet" while the stub still raises ``NotImplementedError``, a hint
when an answer is wrong, and the error (with its traceback) when the learner's function raises one. The graded
cells of the appendix, ``assert checks.check_x(x)``, fail for all three. A checker prints only to stdout and keeps
warnings quiet while it runs: nbgrader's autograde scores a graded test cell 0 when the cell writes anything to
stderr, and a right answer must not lose its points to a library's deprecation warning.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import traceback
import warnings
from collections.abc import Callable, Iterator

import cv2
import numpy as np

from .. import align, warp
from ..errors import DataError, DeepfakeError, InvalidArgument, OutputError


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No warnings and no TensorFlow/Keras log lines (both go to stderr) while a checker runs."""
    loggers = [logging.getLogger(name) for name in ("tensorflow", "keras", "absl")]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


class _AnswerRaised(DeepfakeError):
    """The learner's function raised (carries its exception, as ``__cause__``, out of the check to its wrapper)."""


def _guarded(candidate: Callable) -> Callable:
    """``candidate``, with any error it raises (but the stub's NotImplementedError) marked as the learner's."""
    @functools.wraps(candidate)
    def call(*args, **kwargs):
        try:
            return candidate(*args, **kwargs)
        except (NotImplementedError, AssertionError):
            raise
        except Exception as exc:
            raise _AnswerRaised() from exc

    return call


def _checker(func: Callable[[Callable], None]) -> Callable[[Callable], bool]:
    @functools.wraps(func)
    def wrapper(candidate: Callable) -> bool:
        name = func.__name__
        try:
            with _quiet():
                func(_guarded(candidate))
        except NotImplementedError:
            print(f"… {name}: not done yet — fill in the function above, then run this cell again")
            return False
        except AssertionError as exc:
            print(f"✗ {name}: not yet right: {exc}\n  (change the function above, then run this cell again)")
            return False
        except _AnswerRaised as exc:
            error = exc.__cause__
            trace = "".join(traceback.format_exception(type(error), error, error.__traceback__.tb_next))
            print(f"✗ {name}: your function raised {type(error).__name__}: {error}\n{trace}"
                  "  (change the function above, then run this cell again)")
            return False
        except (DataError, OutputError):
            raise  # the course's data or disk, not the answer: say so loudly
        except Exception as exc:  # the check could not use what the function returned (None, a wrong type)
            print(f"✗ {name}: not yet right: what your function returns cannot be used ({type(exc).__name__}: "
                  f"{exc}); return what its docstring says\n  (change the function above, then run this cell again)")
            return False
        print(f"✓ {name}: passed")
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
    from .. import data

    path = data.fetch(data.SAMPLE_VIDEO)
    got = fn(path)
    assert isinstance(got, str) and got.lower() == data.registry()[data.SAMPLE_VIDEO], (
        "hash the file's bytes with hashlib.sha256 and return .hexdigest()")


def _people(seed: int = 0, n: int = 40) -> list[str]:
    """Photos of n made-up people, 1 to 12 photos each, in a shuffled order (as files come from several folders)."""
    rng = np.random.default_rng(seed)
    names = [name for i in range(n) for name in [f"person_{i:02d}"] * int(rng.integers(1, 13))]
    return [names[i] for i in rng.permutation(len(names))]


def _split(fn: Callable, names: list[str], share: float, seed: int) -> tuple[list[int], list[int]]:
    """The split under test as two sorted lists of ints, or an AssertionError saying what it should be."""
    got = fn(list(names), share, seed)
    assert isinstance(got, tuple | list) and len(got) == 2, (
        f"return two lists of photo indices, (train, test); got {type(got).__name__} {got!r:.60}")
    train, test = (sorted(int(i) for i in side) for side in got)
    return train, test


@_checker
def check_split_by_identity(fn: Callable) -> None:
    """fn(identities, test_share, seed) -> (train, test) photo indices: no person on both sides, every photo once,
    about test_share of the photos in test (up to one person's photos), the same split for the same seed."""
    names = _people()
    biggest = max(names.count(name) for name in set(names))
    for share in (0.2, 0.5):
        train, test = _split(fn, names, share, seed=1)
        assert sorted(train + test) == list(range(len(names))), (
            "every photo goes to exactly one side: the two lists together hold each index 0..n-1 once")
        both = {names[i] for i in train} & {names[i] for i in test}
        assert not both, (f"{len(both)} people have photos on both sides (e.g. {sorted(both)[0]}): split the "
                          "people, then take all photos of each person to that person's side")
        want = share * len(names)
        assert abs(len(test) - want) <= biggest, (
            f"test_share {share}: {len(test)} of {len(names)} photos in test, {want:.0f} wanted (whole people "
            f"cannot hit it exactly, but no further off than one person's photos, here {biggest})")
    assert _split(fn, names, 0.3, seed=7) == _split(fn, names, 0.3, seed=7), (
        "the same seed must give the same split: draw from np.random.default_rng(seed)")
    splits = {tuple(_split(fn, names, 0.3, seed=s)[1]) for s in range(5)}
    assert len(splits) > 1, ("five seeds gave one and the same split: choose the test people at random "
                             "(shuffle the distinct names with the seeded generator), not in a fixed order")
    _, test = _split(fn, ["solo"] * 5 + ["pair_a", "pair_b"] * 2, 0.5, seed=0)
    assert test, "with test_share 0.5 at least one person goes to test"


# --- 01 frames ----------------------------------------------------------------------------------
#: The sampler's cases (source fps, target fps, frames): below, equal to and above the source rate, whole and
#: fractional rates (NTSC's 30000/1001), a single frame, and five minutes of 29.97 fps, where a drift shows.
SAMPLER_CASES = [(25.0, 5.0, 125), (25.0, 7.5, 125), (25.0, 25.0, 60), (25.0, 60.0, 50), (30.0, 24.0, 90),
                 (24.0, 30000 / 1001, 96), (25.0, 5.0, 1), (30000 / 1001, 10.0, 9000)]


def _numbered_frames(n: int, read: list[int]) -> Iterator[np.ndarray]:
    """A stream of n tiny RGB frames whose one pixel holds the frame's 0-based number; ``read[0]`` counts them."""
    for i in range(n):
        read[0] = i + 1
        yield np.array([[[i >> 16, (i >> 8) & 255, i & 255]]], np.uint8)


def _sampled(fn: Callable, fps: float, target: float, n: int) -> list[tuple[float, int, int]]:
    """(time given, frame number, frames read by then) for each item the sampler under test yields."""
    read, out = [0], []
    try:
        for item in fn(_numbered_frames(n, read), fps, target):
            frame = item[1] if isinstance(item, tuple | list) and len(item) == 2 else None
            assert isinstance(frame, np.ndarray) and frame.shape == (1, 1, 3), (
                f"yield (time, frame) pairs, the frame as the stream gave it; got {type(item).__name__} {item!r:.60}")
            r, g, b = frame.reshape(3).astype(int)
            out.append((float(item[0]), int(r << 16 | g << 8 | b), read[0]))
    except TypeError as exc:
        raise AssertionError(f"{exc}: frames is a stream (a generator): it has no len() and no [index]; read it "
                             "once, with a for loop") from exc
    return out


@_checker
def check_sample_frames(fn: Callable) -> None:
    """fn(frames, source_fps, target_fps) -> iterator of (time, frame): for each output time k / target_fps, the
    source frame nearest to it, with that frame's own time, read from the stream one frame at a time."""
    for fps, target, n in SAMPLER_CASES:
        case = f"{n} frame{'s' * (n > 1)} at {fps:g} fps -> {target:g} fps"
        got = _sampled(fn, fps, target, n)
        for k, (t, i, read) in enumerate(got):
            assert 0 <= i < n and read <= i + 2, (
                f"{case}: you had read {read} frames when you handed out frame {i}: hand each frame on as soon as "
                "you know it is the nearest (one frame of look-ahead at most), not after reading the whole video")
            assert abs(t - i / fps) <= 1e-6, (
                f"{case}: frame {i} came with time {t:.6f} s, but it was shown at {i} / {fps:g} = {i / fps:.6f} s: "
                "give each frame its own time, computed from its number (not a running sum of rounded steps, "
                "not the output time)")
            if k and i < got[k - 1][1]:
                raise AssertionError(f"{case}: frame {i} came after frame {got[k - 1][1]}: keep the video's order")
            ideal, nearest = k / target, min(round(k * fps / target), n - 1)
            assert abs(i / fps - ideal) <= 0.5 / fps + 1e-9, (
                f"{case}: output frame {k} stands for time {k} / {target:g} = {ideal:.4f} s; the nearest source "
                f"frame is {nearest} ({nearest / fps:.4f} s), you gave frame {i}, "
                f"{abs(i - ideal * fps):.3f} source frames away (at most 0.5)"
                + (": past the end of the video (its last frame covers up to half a frame after it)"
                   if k * fps / target >= n - 0.5 else
                   ": an error that grows along the video is a drift: compute each output time from k, do not "
                   "step by a rounded interval" if k > 10 else ""))
        positions = np.arange(int(n * target / fps) + 3) * fps / target  # output times, in source frames
        low, high = int((positions < n - 0.5 - 1e-9).sum()), int((positions <= n - 0.5 + 1e-9).sum())
        assert low <= len(got) <= high, (
            f"{case}: {len(got)} frames out, expected {low}: the video lasts {n / fps:.3f} s, so about duration x "
            f"target fps = {n * target / fps:.1f}: every output time k / target_fps that has a source frame within "
            "half a frame of it, no more (repeat a frame when the target rate is higher)")


# --- 02 detection -------------------------------------------------------------------------------
def _box_area(box: tuple[float, float, float, float]) -> float:
    """The area of a (top, right, bottom, left) box, 0 for an empty one."""
    top, right, bottom, left = box
    return max(0.0, right - left) * max(0.0, bottom - top)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two (top, right, bottom, left) boxes: the checkers' reference."""
    inter = _box_area((max(a[0], b[0]), min(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])))
    union = _box_area(a) + _box_area(b) - inter
    return inter / union if union > 0 else 0.0


def _nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Greedy non-maximum suppression: the checkers' reference (tests compare it with OpenCV's)."""
    keep: list[int] = []
    for i in sorted(range(len(scores)), key=lambda j: -scores[j]):
        if all(_iou(boxes[i], boxes[j]) <= threshold for j in keep):
            keep.append(i)
    return keep


def _box_clusters(rng: np.random.Generator, n: int, centres: int = 8) -> np.ndarray:
    """n float (top, right, bottom, left) boxes, jittered around a few faces: what a sliding window fires on."""
    face = rng.integers(0, centres, n)  # the face each box fires on
    centre = rng.uniform(0, 400, (centres, 2))[face] + rng.normal(0, 6, (n, 2))
    side = rng.uniform(30, 80, centres)[face, None] * rng.uniform(0.8, 1.25, (n, 2))
    top, left = centre[:, 0] - side[:, 0] / 2, centre[:, 1] - side[:, 1] / 2
    return np.column_stack([top, left + side[:, 1], top + side[:, 0], left])


@_checker
def check_box_iou(fn: Callable) -> None:
    """fn(a, b) -> intersection over union of two (top, right, bottom, left) boxes: known overlaps, then
    properties on random boxes (symmetric, between 0 and 1, unchanged when both boxes move or scale together)."""
    known = [((0, 10, 10, 0), (0, 10, 10, 0), 1.0, "a box with itself"),
             ((0, 10, 10, 0), (0, 15, 10, 5), 50 / 150, "two 10x10 boxes, half overlapping side by side"),
             ((0, 4, 4, 0), (1, 3, 3, 1), 4 / 16, "a 2x2 box inside a 4x4 box"),
             ((10, 40, 30, 0), (0, 50, 20, 30), 100 / 1100, "a 40 wide, 20 tall box and a 20x20 one sharing a corner"),
             ((0, 10, 10, 0), (0, 20, 10, 10), 0.0, "boxes that only touch"),
             ((0, 10, 10, 0), (0, 30, 10, 20), 0.0, "boxes apart side by side"),
             ((0, 10, 10, 0), (20, 40, 40, 20), 0.0, "boxes apart in both directions")]
    for a, b, want, what in known:
        got = float(fn(a, b))
        hint = (" (an overlap can't be negative: clip each side's overlap at 0 before multiplying)" if want == 0 else
                " (area = (bottom - top) * (right - left); union = both areas less the intersection)")
        assert abs(got - want) < 1e-9, f"{what}: iou({a}, {b}) is {want:.4f}, you said {got:.4f}{hint}"
    rng = np.random.default_rng(0)
    boxes = _box_clusters(rng, 120, centres=12)
    for a, b in zip(boxes[::2], boxes[1::2], strict=True):
        got = float(fn(a, b))
        assert 0 <= got <= 1 and abs(got - float(fn(b, a))) < 1e-9, (
            f"iou({a.round(1)}, {b.round(1)}) = {got:.4f} but iou(b, a) = {float(fn(b, a)):.4f}: IoU is symmetric and "
            "between 0 and 1")
        scale, shift = rng.uniform(0.2, 5), rng.uniform(-100, 100, 2)
        moved = [box * scale + np.tile(shift, 2) for box in (a, b)]  # (top, right, bottom, left): y, x, y, x
        assert abs(float(fn(*moved)) - got) < 1e-6, (
            f"moving and scaling both boxes together changed their IoU from {got:.4f} to {float(fn(*moved)):.4f}")
        assert abs(got - _iou(a, b)) < 1e-6, f"iou({a.round(1)}, {b.round(1)}) is {_iou(a, b):.4f}, you said {got:.4f}"


def _kept(fn: Callable, boxes: object, scores: object, threshold: float) -> list[int]:
    """The indices fn keeps, checked to be indices."""
    got = np.asarray(fn(boxes, scores, threshold=threshold))
    assert got.ndim == 1 and (got.size == 0 or np.issubdtype(got.dtype, np.integer)), (
        f"return the indices of the boxes kept (a list of ints), not the boxes; got {got!r:.80}")
    kept = [int(i) for i in got]
    assert len(set(kept)) == len(kept) and all(0 <= i < len(scores) for i in kept), (
        f"indices out of range or repeated: {kept}")
    return kept


def _nms_mistake(boxes: np.ndarray, scores: np.ndarray, threshold: float, got: list[int], want: list[int]) -> str:
    """What is wrong with a kept set that differs from greedy NMS's (``want``), said with the rule it breaks."""
    for x, i in enumerate(got):
        for j in got[:x]:
            if _iou(boxes[i], boxes[j]) > threshold:
                return (f"random boxes: you kept boxes {j} and {i}, which overlap by IoU "
                        f"{_iou(boxes[i], boxes[j]):.2f} > {threshold}: the one with the lower score "
                        f"({min(scores[i], scores[j]):.3f}) should go")
    for i in sorted(set(range(len(boxes))) - set(got)):
        if not any(scores[j] > scores[i] and _iou(boxes[i], boxes[j]) > threshold for j in got):
            return (f"random boxes: you removed box {i} (score {scores[i]:.3f}), but no kept box with a higher score "
                    f"overlaps it by more than {threshold}: a box goes only when a better box that is kept covers it")
    return f"random boxes, threshold {threshold}: greedy NMS keeps {sorted(want)}, you kept {sorted(got)}"


@_checker
def check_nms(fn: Callable) -> None:
    """fn(boxes, scores, threshold=) -> the indices of the boxes greedy non-maximum suppression keeps, highest score
    first: hand-made clusters, then properties and OpenCV-equivalent results on random clusters of boxes."""
    cases = [  # boxes, scores, threshold, kept, what
        ([(10, 60, 60, 10), (12, 62, 62, 12), (8, 58, 58, 8), (100, 150, 150, 100)], [0.7, 0.9, 0.8, 0.5], 0.3,
         [1, 3], "three boxes on one face and one on another: the best of the three and the lone box"),
        ([(0, 20, 10, 10), (0, 10, 10, 0), (0, 15, 10, 5)], [0.7, 0.9, 0.8], 0.3, [1, 0],
         "a chain: box 1 overlaps box 2, box 2 overlaps box 0, boxes 1 and 0 only touch. Box 2 goes (box 1 beats "
         "it); box 0 stays, since only a box that is kept suppresses others"),
        ([(0, 10, 10, 0), (0, 15, 10, 5)], [0.4, 0.6], 0.5, [1, 0], "two boxes with IoU 0.33 < 0.5: both kept"),
        ([(0, 10, 10, 0), (0, 15, 10, 5)], [0.4, 0.6], 0.3, [1], "the same two with threshold 0.3: only the better"),
        ([], [], 0.3, [], "no boxes at all"),
    ]
    for boxes, scores, threshold, want, what in cases:
        got = _kept(fn, boxes, scores, threshold)
        order = " (the right boxes: list them highest score first)" if sorted(got) == sorted(want) else ""
        assert got == want, f"{what}: expected {want}, you kept {got}{order}"
    rng = np.random.default_rng(1)
    for threshold in (0.3, 0.5, 0.7):
        boxes, scores = _box_clusters(rng, 60), rng.uniform(0, 1, 60)
        got = _kept(fn, boxes, scores, threshold)
        assert all(scores[i] > scores[j] for i, j in zip(got, got[1:], strict=False)), (
            f"random boxes: return the kept indices highest score first; their scores: {scores[got].round(3)}")
        want = _nms(boxes, scores, threshold)
        assert set(got) == set(want), _nms_mistake(boxes, scores, threshold, got, want)


# --- 03 landmarks -------------------------------------------------------------------------------
#: Where ``_with_eyes`` puts an eye's six points along its corners' line (fractions of the width): the lids' points
#: not quite above one another, as on a real eye.
_ALONG = (0.0, 0.30, 0.64, 1.0, 0.70, 0.36)


def _with_eyes(points: np.ndarray, left: tuple[float, ...], right: tuple[float, ...]) -> np.ndarray:
    """The face with each eye (36-41, 42-47) remade with a known shape: corners p1 and p4 where they were, the upper
    lid's p2, p3 and the lower lid's p5, p6 at _ALONG and at (up2, up3, down5, down6) eye widths off the line."""
    out = points.astype(np.float64).copy()
    for eye, (up2, up3, down5, down6) in ((slice(36, 42), left), (slice(42, 48), right)):
        corner1, corner4 = out[eye][0], out[eye][3]
        along = corner4 - corner1
        width = float(np.linalg.norm(along))
        across = np.array([along[1], -along[0]]) / width  # perpendicular, pointing up (image y grows downwards)
        heights = (0.0, up2, up3, 0.0, -down5, -down6)
        out[eye] = [corner1 + a * along + h * width * across for a, h in zip(_ALONG, heights, strict=True)]
    return out


def _eye_ratio(up2: float, up3: float, down5: float, down6: float) -> float:
    """The EAR of an eye made by ``_with_eyes``, from its construction: (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|)."""
    return (np.hypot(_ALONG[1] - _ALONG[5], up2 + down6) + np.hypot(_ALONG[2] - _ALONG[4], up3 + down5)) / 2


@_checker
def check_eye_aspect_ratio(fn: Callable) -> None:
    """fn(points) -> the eye aspect ratio of a (68, 2) face: the mean over both eyes of (|p2 - p6| + |p3 - p5|) /
    (2 |p1 - p4|). Checked by its properties (one number; unchanged by moving, turning and scaling the face; lower
    for a closed eye; blind to the points outside the eyes) and on eyes of known shape."""
    left, right, closed = (0.18, 0.16, 0.12, 0.14), (0.12, 0.10, 0.08, 0.10), (0.0,) * 4
    face = _with_eyes(_face_points(3), left, right)
    base = fn(face)
    assert np.ndim(base) == 0, f"return one number, the mean of the two eyes; got shape {np.shape(base)}"
    base = float(base)
    rng = np.random.default_rng(3)
    for angle in (90.0, 180.0, -35.0, 12.0):
        matrix = _random_similarity(rng)
        turn = np.radians(angle) - np.arctan2(matrix[1, 0], matrix[0, 0])  # this angle exactly, the drawn scale
        rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        moved = face @ (rot @ matrix[:2, :2]).T + matrix[:2, 2]
        scale = np.sqrt(abs(np.linalg.det(matrix[:2, :2])))
        got = float(fn(moved.astype(np.float32)))
        assert abs(got - base) < 1e-4 * abs(base), (
            f"the same face turned by {angle:g}°, scaled by {scale:.2f} and moved: EAR {got:.4f} instead of "
            f"{base:.4f}. It must depend on the eye's shape only: use distances between points (np.linalg.norm), "
            "not differences of x or of y")
    for seed in range(3):
        got = float(fn(_with_eyes(_face_points(seed), left, right)))
        want = (_eye_ratio(*left) + _eye_ratio(*right)) / 2
        assert abs(got - want) < 1e-6, (
            f"eyes with ratios {_eye_ratio(*left):.3f} and {_eye_ratio(*right):.3f}: expected their mean {want:.4f}, "
            f"you said {got:.4f}. Per eye p1..p6 are points 36-41 (and 42-47), 0-based: corners p1 and p4, "
            "upper lid p2 p3, lower lid p5 p6")
    noisy = face.copy()
    outside = np.r_[0:36, 48:68]
    noisy[outside] += rng.normal(0, 10, (len(outside), 2))
    assert abs(float(fn(noisy)) - base) < 1e-6, (
        "moving the jaw, brows, nose and mouth changed the EAR: use the eyes' points 36-47 only")
    half = float(fn(_with_eyes(_face_points(3), closed, right)))
    shut = float(fn(_with_eyes(_face_points(3), closed, closed)))
    want = (_eye_ratio(*closed) + _eye_ratio(*right)) / 2
    assert shut < half < base and abs(half - want) < 1e-6, (
        f"EAR with both eyes open {base:.3f}, the left one shut {half:.3f} (expected {want:.3f}), both shut "
        f"{shut:.3f}: a shut eye's lids lie on the line between its corners, and the two eyes count equally")


#: The blink checker's made-up EAR series: open eyes near 0.3, and runs below 0.2 put in by hand.
_DIPS = {0: [0.12, 0.06, 0.15], 20: [0.17], 40: [0.18, 0.09, 0.05, 0.08, 0.16], 60: [0.15, 0.07, 0.12, 0.26],
         64: [0.11, 0.05, 0.17], 80: list(np.linspace(0.04, 0.09, 12)), 117: [0.14, 0.05, 0.08]}
_BLINK_CASES = [  # threshold, min_frames, blinks as (start, stop): ear[start:stop] below the threshold
    (0.2, 2, [(0, 3), (40, 45), (60, 63), (64, 67), (80, 92), (117, 120)]),
    (0.2, 1, [(0, 3), (20, 21), (40, 45), (60, 63), (64, 67), (80, 92), (117, 120)]),
    (0.2, 4, [(40, 45), (80, 92)]),
    (0.1, 2, [(41, 44), (80, 92), (118, 120)]),
]


def _blink_series(seed: int = 0) -> np.ndarray:
    """120 frames of a made-up EAR: open eyes 0.27-0.33, the dips of ``_DIPS``."""
    ear = 0.3 + np.random.default_rng(seed).uniform(-0.03, 0.03, 120)
    for start, values in _DIPS.items():
        ear[start:start + len(values)] = values
    return ear


def _pairs(found: object) -> list[tuple[int, int]]:
    """A blink finder's answer as a list of (start, stop) int pairs, or an AssertionError saying what it should be."""
    try:
        pairs = [tuple(int(v) for v in pair) for pair in found]
    except TypeError as exc:
        raise AssertionError(f"return a list of (start, stop) pairs, one per blink; got {found!r:.80}") from exc
    assert all(len(pair) == 2 for pair in pairs), f"each blink is one (start, stop) pair; got {pairs}"
    return pairs


@_checker
def check_find_blinks(fn: Callable) -> None:
    """fn(ear, threshold=, min_frames=) -> the blinks of an EAR series as (start, stop) pairs, ear[start:stop] one
    run of at least min_frames frames below the threshold: made-up series with known blinks."""
    ear = _blink_series()
    for threshold, min_frames, want in _BLINK_CASES:
        got = _pairs(fn(ear.copy(), threshold=threshold, min_frames=min_frames))
        setting = f"threshold {threshold}, min_frames {min_frames}"
        hint = ""
        if got == [(a, b - 1) for a, b in want]:
            hint = ": stop is one past a blink's last frame, as in a slice (ear[start:stop] is the blink)"
        elif got == want[:-1]:
            hint = ": the last blink runs to the series' end; a run still open at the end is a blink too"
        elif len(got) > len(want):
            hint = ": a run shorter than min_frames is not a blink (one frame below is landmark noise)"
        assert got == want, f"{setting}: expected blinks {want}, you found {got}{hint}"
    got = _pairs(fn(list(ear), threshold=0.2, min_frames=2))
    assert got == _BLINK_CASES[0][2], f"the same series as a Python list: expected {_BLINK_CASES[0][2]}, got {got}"
    assert _pairs(fn(np.full(50, 0.3), threshold=0.2, min_frames=2)) == [], "eyes open all along: expected no blinks"


# --- 04 alignment -------------------------------------------------------------------------------
def _random_similarity(rng: np.random.Generator, scale: bool = True) -> np.ndarray:
    angle, s = rng.uniform(-np.pi, np.pi), (rng.uniform(0.3, 3) if scale else 1.0)
    return np.array([[s * np.cos(angle), -s * np.sin(angle), rng.uniform(-50, 50)],
                     [s * np.sin(angle), s * np.cos(angle), rng.uniform(-50, 50)], [0, 0, 1]])


def _scikit_image_fit(src: np.ndarray, dst: np.ndarray, scale: bool = True) -> np.ndarray:
    """scikit-image's own estimator, the checkers' independent reference for ``align.umeyama``.

    scikit-image 0.26 added the class method ``from_estimate`` (a falsy result on failure) and deprecated the
    in-place ``estimate``; Colab still ships 0.25, which has only ``estimate``. Both run the same Umeyama fit.
    """
    from skimage import transform

    fit_class = transform.SimilarityTransform if scale else transform.EuclideanTransform
    if hasattr(fit_class, "from_estimate"):
        fitted = fit_class.from_estimate(src, dst)
        if not fitted:
            raise InvalidArgument(f"{fit_class.__name__} fit failed: {getattr(fitted, 'message', fitted)}")
        return np.asarray(fitted.params)
    fitted = fit_class()
    if not fitted.estimate(src, dst):
        raise InvalidArgument(f"{fit_class.__name__} fit failed (degenerate points?)")
    return np.asarray(fitted.params)


def _check_point_fit(fn: Callable, scale: bool) -> None:
    """The shared checks of the two Umeyama exercises: exact, noisy and mirrored point sets."""
    rng = np.random.default_rng(0 if scale else 1)
    src = rng.uniform(0, 200, (51, 2))
    got = np.asarray(fn(src.copy(), src.copy()), float)
    assert got.shape == (3, 3), f"return a 3x3 matrix (the 2x3 affine plus the row [0, 0, 1]), got shape {got.shape}"
    assert np.allclose(got, np.eye(3), atol=1e-6), f"points onto themselves must give the identity, got\n{got.round(4)}"
    for _ in range(4):
        truth = _random_similarity(rng, scale=scale)
        got = np.asarray(fn(src, align.transform_points(src, truth[:2])), float)
        assert np.abs(got - truth).max() < 1e-6, (
            f"points moved by a known {'similarity' if scale else 'rotation and shift'} must give it back "
            f"(to 1e-6):\nwant\n{truth.round(4)}\ngot\n{got.round(4)}")
    noisy = align.transform_points(src, _random_similarity(rng, scale=scale)[:2]) + rng.normal(0, 3, src.shape)
    got, want = np.asarray(fn(src, noisy), float), align.umeyama(src, noisy, estimate_scale=scale)
    assert np.abs(want - _scikit_image_fit(src, noisy, scale)).max() < 1e-9  # the reference is scikit-image's
    assert np.abs(got - want).max() < 1e-6, (
        "noisy points: not the least-squares fit (scikit-image's answer differs by "
        f"{np.abs(got - want).max():.2g}); centre both sets on their means before the SVD"
        + (", and divide the trace by the variance of src summed over x and y" if scale else ""))
    mirrored = src * [-1, 1] + rng.normal(0, 3, src.shape)  # the best fit here would be a reflection
    got = np.asarray(fn(src, mirrored), float)
    assert np.linalg.det(got[:2, :2]) > 0, (
        "dst is a mirror image of src, and your matrix mirrors too (its 2x2 part has a negative determinant): "
        "a similarity only rotates; flip the sign of the last singular direction when det(U) det(V) < 0")
    want = align.umeyama(src, mirrored, estimate_scale=scale)
    assert np.abs(got - want).max() < 1e-6, "mirrored points: the best rotation differs from scikit-image's"


@_checker
def check_umeyama(fn: Callable) -> None:
    """fn(src, dst) -> the 3x3 least-squares similarity taking src points onto dst (vs scikit-image's)."""
    _check_point_fit(fn, scale=True)


@_checker
def check_umeyama_rigid(fn: Callable) -> None:
    """fn(src, dst) -> the 3x3 least-squares rotation + shift (no scaling) taking src points onto dst."""
    _check_point_fit(fn, scale=False)
    src = np.random.default_rng(2).uniform(0, 200, (30, 2))
    got = np.asarray(fn(src, src * 2.0), float)
    assert abs(np.linalg.det(got[:2, :2]) - 1) < 1e-6, "no scaling: the 2x2 part must be a pure rotation (det 1)"


# --- 05 warping ---------------------------------------------------------------------------------
def _texture(shape: tuple[int, ...], seed: int, blur: float = 3.0) -> np.ndarray:
    """A smooth random uint8 picture: structure at every position, so a misplaced pixel shows."""
    noise = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8).reshape(-1, *shape[-3:])
    picture = np.stack([cv2.GaussianBlur(n, (0, 0), blur) for n in noise]).reshape(shape).astype(np.float32)
    picture = (picture - picture.min()) / max(float(np.ptp(picture)), 1e-6) * 255
    return picture.round().astype(np.uint8)


def _grey_levels(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).mean())


def _coordinate_face(side: int = 256) -> np.ndarray:
    """A face whose pixels hold their own position (red x, green y): a warp of it shows where each pixel came from."""
    y, x = np.mgrid[0:side, 0:side]
    return np.stack([x, y, (x + y) // 2], axis=-1).astype(np.uint8)


def _grid_weights(size: int) -> np.ndarray:
    """(size * size, 25): how the bilinear resize of a 5x5 map, trimmed by size // 8, mixes the control points."""
    pad = size // 8
    big = size + 2 * pad
    columns = [cv2.resize(np.eye(25)[k].reshape(5, 5), (big, big))[pad:pad + size, pad:pad + size].ravel()
               for k in range(25)]
    return np.stack(columns, axis=1)


def _sampled_from(image: np.ndarray) -> np.ndarray:
    """(size * size, 2): the source position (x, y) each pixel of a warp of ``_coordinate_face`` was read from."""
    return np.asarray(image, np.float64)[..., :2].reshape(-1, 2)


def _affine_from(image: np.ndarray) -> np.ndarray:
    """The 2x3 affine from output pixels to source pixels that best explains a picture of ``_coordinate_face``."""
    size = image.shape[0]
    i, j = np.mgrid[0:size, 0:size]
    pixels = np.stack([j.ravel(), i.ravel(), np.ones(size * size)], axis=1)
    return np.linalg.lstsq(pixels, _sampled_from(image), rcond=None)[0].T


def _corner_gap(a: np.ndarray, b: np.ndarray, size: int) -> float:
    """The largest distance (source px) between where two 2x3 maps send the corners of the output square."""
    corners = np.array([[-0.5, -0.5, 1], [size - 0.5, -0.5, 1], [-0.5, size - 0.5, 1], [size - 0.5, size - 0.5, 1]])
    return float(np.linalg.norm(corners @ a.T - corners @ b.T, axis=1).max())


@_checker
def check_random_warp(fn: Callable) -> None:
    """fn(image, rng, coverage=, sigma=, size=) -> (warped, target): checked by its properties, not against one
    implementation. Fed a face whose pixels hold their own coordinates, the warped input shows the jittered
    control points the function used; the target must be the similarity fit of *those* points."""
    coords, face = _coordinate_face(), _texture((256, 256, 3), 5)
    got = fn(face, np.random.default_rng(0), coverage=160, sigma=0.0, size=64)
    assert isinstance(got, tuple) and len(got) == 2, "return a pair: (warped input, target)"
    for name, image in zip(("warped", "target"), got, strict=True):
        image = np.asarray(image)
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8, (
            f"{name}: want a uint8 image of shape (64, 64, 3), got {image.dtype} {image.shape}")
    for coverage, size in [(160, 64), (200, 128)]:
        target = np.asarray(fn(coords, np.random.default_rng(0), coverage=coverage, sigma=0.0, size=size)[1])
        scale = coverage / size  # source px per output px; pixel centres: output -0.5 is source 128 - coverage / 2
        start = 128 - coverage / 2 + 0.5 * scale
        identity = np.array([[scale, 0, start], [0, scale, start]])
        off = _corner_gap(_affine_from(target), identity, size) / scale
        assert off < 0.1, (
            f"coverage {coverage}, size {size}, sigma = 0: your target is {off:.2f} output px from the middle "
            f"{coverage} px scaled to {size} (want < 0.1): the target grid spans the output's pixel centres, "
            "from -0.5 to size - 0.5")
    assert _grey_levels(got[0], got[1]) < 1, (
        f"with sigma = 0 the warped input should be the target, but they differ by {_grey_levels(*got):.1f} "
        "grey levels: resize each 5x5 map to size + 2 * (size // 8) px and keep its middle size x size")
    for coverage, sigma, size, seed in [(160, 5.0, 64, 1), (192, 8.0, 64, 2), (200, 5.0, 128, 3)]:
        kw = dict(coverage=coverage, sigma=sigma, size=size)
        where = f"coverage {coverage}, sigma {sigma}, size {size}"
        warped, target = (np.asarray(x) for x in fn(coords, np.random.default_rng(seed), **kw))
        again = fn(coords, np.random.default_rng(seed), **kw)
        assert np.array_equal(warped, again[0]) and np.array_equal(target, again[1]), (
            "the same seed must give the same pair: take every random number from rng")
        other = np.asarray(fn(coords, np.random.default_rng(seed + 100), **kw)[0])
        assert not np.array_equal(warped, other), "another seed must give another warp: draw the jitter from rng"
        # the control points this very call used, read back from its warped input
        weights, sampled = _grid_weights(size), _sampled_from(warped)
        points = np.linalg.lstsq(weights, sampled, rcond=None)[0]  # (25, 2), row by row
        misfit = float(np.sqrt(((weights @ points - sampled) ** 2).sum(1).mean()))
        assert misfit < 1.0, (
            f"{where}: your warped input is not a 5x5 grid of points smoothed bilinearly (off by {misfit:.1f} px "
            "on average): resize each jittered 5x5 map to size + 2 * (size // 8) px (bilinear), keep its middle "
            "size x size, and sample the image there with cv2.remap")
        grid = np.stack(warp.warp_grid(256, coverage), axis=-1).reshape(-1, 2)
        spread = float(np.sqrt(((points - grid) ** 2).mean()))
        assert 0.6 * sigma < spread < 1.5 * sigma, (
            f"{where}: your control points lie {spread:.1f} px from the regular grid on average; with "
            f"rng.normal(0, {sigma}, ...) added to each coordinate of a grid over the middle {coverage} px it "
            f"should be about {sigma}")
        step = np.linspace(0, size, 5) - 0.5
        fit = align.umeyama(points, np.stack(np.meshgrid(step, step), axis=-1).reshape(-1, 2))
        off = _corner_gap(_affine_from(target), np.linalg.inv(fit)[:2], size) * size / coverage
        assert off < 0.1, (
            f"{where}, seed {seed}: your target is {off:.2f} output px from the similarity that takes the jittered "
            "points of your own warped input onto the regular grid (want < 0.1): fit it (align.umeyama) from the "
            "same jittered points the warp used, onto a 5x5 grid on the output's pixel centres")


# --- 06 encoder/decoder -------------------------------------------------------------------------
def _small_presets() -> list:
    """Presets that build in a blink: a narrow 64 px one and a 128 px one (one convolution and one upscale more)."""
    from .. import model

    return [model.get_preset("tiny", name="narrow", encoder_filters=(8, 16, 32, 64), dense=32, encoder_upscale=24,
                             decoder_filters=(32, 16, 8)),
            model.get_preset("128", name="small-128", encoder_filters=(8, 16, 32, 64, 64), dense=32,
                             encoder_upscale=16, decoder_filters=(32, 16, 8, 8))]


def _describe(shape: tuple[int, ...]) -> str:
    if len(shape) == 4:
        return f"a {shape[0]}x{shape[1]} convolution kernel, {shape[2]} -> {shape[3]} channels"
    if len(shape) == 2:
        return f"a Dense kernel, {shape[0]} -> {shape[1]}"
    return f"a bias of {shape[0]}" if len(shape) == 1 else f"a weight of shape {shape}"


_references: dict = {}  # (part, preset name) -> the package's network, built once per kernel


def _reference(part: str, preset):
    from .. import model

    key = (part, preset.name)
    if key not in _references:
        _references[key] = (model.build_encoder if part == "encoder" else model.build_decoder)(preset)
    return _references[key]


def _compare_networks(built, reference, preset, x: np.ndarray, what: str) -> None:
    """Same weights (shapes, in order), same output shape, and the same output once given the same weights."""
    import keras

    assert isinstance(built, keras.Model), f"{what}: return a keras.Model, got {type(built).__name__}"
    got_shapes = [tuple(w.shape) for w in built.weights]
    want_shapes = [tuple(w.shape) for w in reference.weights]
    for i, (g, w) in enumerate(zip(got_shapes, want_shapes, strict=False)):  # lengths next
        assert g == w, (f"{what}, preset {preset.name}: weight {i} should be {_describe(w)} {w}, yours is "
                        f"{_describe(g)} {g}")
    assert len(got_shapes) == len(want_shapes), (
        f"{what}, preset {preset.name}: {len(want_shapes)} weight arrays expected, yours has {len(got_shapes)}"
        + (f"; the next one expected is {_describe(want_shapes[len(got_shapes)])}"
           if len(got_shapes) < len(want_shapes) else ""))
    built.set_weights(reference.get_weights())
    got, want = np.asarray(built(x)), np.asarray(reference(x))
    assert got.shape == want.shape, f"{what}, preset {preset.name}: output shape {got.shape}, expected {want.shape}"
    off = float(np.abs(got - want).max())
    assert off < 1e-4, (
        f"{what}, preset {preset.name}: with the package's weights your output differs by up to {off:.3g}. The "
        "layers are right, their wiring is not: LeakyReLU(0.1) after every convolution (none after the Dense "
        "layers), the pixel shuffle as tf.nn.depth_to_space(x, 2), the reshape to 4x4, a sigmoid at the end")


@_checker
def check_encoder(fn: Callable) -> None:
    """fn(preset) -> the shared encoder (Keras), layer for layer as ``model.build_encoder`` for several presets."""

    presets = _small_presets()
    built = fn(presets[0])  # first: a stub raises before anything is built
    for i, preset in enumerate(presets):
        x = np.random.default_rng(i).random((2, preset.size, preset.size, 3)).astype(np.float32)
        _compare_networks(built if i == 0 else fn(preset), _reference("encoder", preset), preset, x, "encoder")


@_checker
def check_decoder(fn: Callable) -> None:
    """fn(preset) -> one decoder (Keras), layer for layer as ``model.build_decoder`` for several presets."""

    presets = _small_presets()
    built = fn(presets[0])
    for i, preset in enumerate(presets):
        network = built if i == 0 else fn(preset)
        # your network, with its own fresh weights, on codes far larger than any it will see: pixels stay in 0..1
        loud = np.random.default_rng(10 + i).normal(0, 100, (2, 8, 8, preset.encoder_upscale)).astype(np.float32)
        out = np.asarray(network(loud))
        x = np.random.default_rng(i).normal(0, 1, (2, 8, 8, preset.encoder_upscale)).astype(np.float32)
        _compare_networks(network, _reference("decoder", preset), preset, x, "decoder")
        assert out.min() >= 0 and out.max() <= 1, (
            f"decoder, preset {preset.name}: on large codes your decoder paints values from {out.min():.3g} to "
            f"{out.max():.3g}; a face's pixels lie in 0..1: end with a sigmoid")


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
def _step_weights(swap_model) -> list[np.ndarray]:
    return [v.numpy() for v in swap_model.encoder.weights + swap_model.decoder_a.weights + swap_model.decoder_b.weights]


def _set_step_weights(swap_model, weights: list[np.ndarray]) -> None:
    for variable, value in zip(swap_model.encoder.weights + swap_model.decoder_a.weights
                               + swap_model.decoder_b.weights, weights, strict=True):
        variable.assign(value)


_STEP_RATE = 300.0  # plain SGD with a big step: the new weights show the gradients and the order of the updates
_step_case: dict = {}  # built once per kernel: a small model, its starting weights, a batch, the package's answer


def _train_step_case() -> dict:
    """The train-step exercise's fixed case, and what ``train.Trainer`` makes of it (``learn.train_step``, A then B)."""
    if _step_case:
        return _step_case
    import tempfile

    import keras
    import tensorflow as tf

    from .. import model, train

    preset = _small_presets()[0]
    keras.utils.set_random_seed(0)
    learner = model.build(preset)
    target_a, target_b = (tf.constant(_texture((4, 64, 64, 3), s, blur=2).astype(np.float32) / 255) for s in (1, 2))
    batch = (tf.roll(target_a, 3, axis=1), target_a, tf.roll(target_b, 3, axis=2), target_b)
    with tempfile.TemporaryDirectory() as folder:  # nothing is written there: no fit, no save
        trainer = train.Trainer(folder, preset, recipe="original", seed=0, batch_size=4, jit=False,
                                mixed_precision=False)
    start = _step_weights(learner)
    _set_step_weights(trainer.model, start)
    trainer.opt_a, trainer.opt_b = keras.optimizers.SGD(_STEP_RATE), keras.optimizers.SGD(_STEP_RATE)
    want_losses = [float(loss) for loss in trainer._replica_step(*batch)]
    _step_case.update(model=learner, start=start, batch=batch, want_losses=want_losses,
                      want_weights=_step_weights(trainer.model))
    return _step_case


@_checker
def check_train_step(fn: Callable) -> None:
    """fn(model, opt_a, opt_b, warped_a, target_a, warped_b, target_b) -> (loss_a, loss_b): one step of both sides,
    as ``train.Trainer._replica_step`` with the original recipe (plain MAE): the same losses, and the same weights
    after one plain SGD step (a step big enough that the order of the two sides' updates shows)."""
    import keras

    case = _train_step_case()
    learner, start, batch = case["model"], case["start"], case["batch"]
    want_losses, want_weights = case["want_losses"], case["want_weights"]
    _set_step_weights(learner, start)
    got = fn(learner, keras.optimizers.SGD(_STEP_RATE), keras.optimizers.SGD(_STEP_RATE), *batch)
    assert isinstance(got, tuple | list) and len(got) == 2, "return the two losses: (loss_a, loss_b)"
    got_losses = [float(loss) for loss in got]
    got_weights = _step_weights(learner)
    assert abs(got_losses[0] - want_losses[0]) < 1e-6, (
        f"loss A is {got_losses[0]:.5f}, the package's {want_losses[0]:.5f}: the loss is the mean absolute error "
        "between decoder A's output (from the warped A faces) and the A targets")
    assert abs(got_losses[1] - want_losses[1]) < 1e-6, (
        f"loss B is {got_losses[1]:.5f}, the package's {want_losses[1]:.5f}: side B's forward pass must see the "
        "encoder that side A has just updated (update A first, then compute B's loss)")
    parts = [("encoder", len(learner.encoder.weights)), ("decoder A", len(learner.decoder_a.weights)),
             ("decoder B", len(learner.decoder_b.weights))]
    index = 0
    for part, count in parts:
        off = max(float(np.abs(g - w).max()) for g, w in
                  zip(got_weights[index:index + count], want_weights[index:index + count], strict=True))
        moved = max(float(np.abs(w - s).max()) for w, s in
                    zip(want_weights[index:index + count], start[index:index + count], strict=True))
        assert off < 1e-4 * moved + 1e-6, (
            f"after one step the {part}'s weights differ from the package's by up to {off:.3g} (the step moved "
            f"them by up to {moved:.3g}): side A's optimiser updates the encoder and decoder A from A's loss, "
            "then side B's updates the encoder and decoder B from B's loss")
        index += count
    print(f"  the package's step on the same batch: loss A {want_losses[0]:.5f}, loss B {want_losses[1]:.5f}; "
          f"yours: {got_losses[0]:.5f}, {got_losses[1]:.5f}, and the same weights after it")


# --- 08 swap and masking ------------------------------------------------------------------------
@_checker
def check_paste_face(fn: Callable) -> None:
    """fn(frame, face, matrix) -> the frame with the face warped back into it, as ``paste.paste_face``."""
    from .. import blend, paste

    frame = _texture((220, 260, 3), 7)
    face = _texture((64, 64, 3), 8, blur=2)
    untouched = frame.copy()
    cases = [(20.0, 0.45, (130, 110)), (-35.0, 0.3, (120, 100)), (0.0, 0.6, (60, 50))]  # the last one half out
    for angle, scale, (x, y) in cases:
        matrix = cv2.getRotationMatrix2D((x, y), angle, scale)
        matrix[:, 2] += (32 - x, 32 - y)  # frame pixels -> face pixels: (x, y) lands in the face's middle
        got = np.asarray(fn(frame, face, matrix))
        assert np.array_equal(frame, untouched), "leave the frame you are given as it was: paste into a copy"
        assert got.shape == frame.shape and got.dtype == np.uint8, (
            f"return a uint8 frame of shape {frame.shape}, got {got.dtype} {got.shape}")
        want = paste.paste_face(frame, face, matrix)
        square = blend.rect_mask(frame.shape, matrix, face.shape[0])
        inside = blend.adjust_mask(square, erode=2) > 0.99
        outside = cv2.dilate(square, np.ones((5, 5), np.uint8)) < 0.01
        assert inside.sum() > 500, "(the checker's face square is too small)"
        off = _grey_levels(got[inside], want[inside])
        assert off < 2, (
            f"inside the face's square your paste is {off:.1f} grey levels from the package's (rotation {angle}°): "
            "the matrix takes frame pixels to face pixels, cv2.warpAffine wants the map from the face to the "
            "frame, so give it the inverse")
        assert np.array_equal(got[outside], frame[outside]), (
            "outside the face's square the frame must stay as it was: a transparent border (or a mask of the "
            "square) keeps its pixels")


@_checker
def check_one_euro(fn: Callable) -> None:
    """fn(signal, fps, min_cutoff=, beta=, d_cutoff=) -> the one-euro filtered 1-D signal (paste.OneEuroFilter)."""
    from .. import paste

    rng = np.random.default_rng(4)
    t = np.arange(90) / 30
    clean = np.where(t < 1, 0.0, np.where(t < 2, 40 * (t - 1), 40 + 10 * np.sin(2 * np.pi * 2 * (t - 2))))
    signal = clean + rng.normal(0, 1.5, t.shape)  # still, then a steady move, then a fast wobble
    cases = [(25.0, 0.5, 0.0, 1.0), (30.0, 1.0, 2.0, 1.0), (60.0, 2.0, 0.3, 2.0)]  # beta 0 first: the plain low-pass
    for fps, min_cutoff, beta, d_cutoff in cases:
        got = np.asarray(fn(signal.copy(), fps, min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff), float)
        assert got.shape == signal.shape, f"one filtered value per sample: shape {signal.shape}, got {got.shape}"
        reference = paste.OneEuroFilter(fps, min_cutoff, beta, d_cutoff)
        want = np.array([reference(np.array([[x]]))[0, 0] for x in signal])
        assert abs(got[0] - signal[0]) < 1e-9, "the first sample passes through unchanged (it starts the filter)"
        bad = np.flatnonzero(np.abs(got - want) > 1e-6)
        if not bad.size:
            continue
        first = f"first differs at sample {bad[0]} ({got[bad[0]]:.4f}, the package {want[bad[0]]:.4f})"
        assert beta != 0, (f"with beta = 0 the filter is exponential smoothing with alpha = 1 / (1 + tau * fps), "
                           f"tau = 1 / (2 pi min_cutoff); yours {first}")
        raise AssertionError(
            f"fps {fps}, min_cutoff {min_cutoff}, beta {beta}, d_cutoff {d_cutoff}: yours {first}. The speed is the "
            "derivative (x - previous filtered value) * fps, itself smoothed with alpha(d_cutoff); the cutoff is "
            "min_cutoff + beta * |smoothed speed|")


# --- 09 GAN upgrade -----------------------------------------------------------------------------
@_checker
def check_mixup_lsgan(fn: Callable) -> None:
    """fn(on_mix, on_fake, lam, weight=0.1) -> (discriminator loss, generator's adversarial loss) of the
    least-squares GAN with mixup: the discriminator must answer lam on the mix lam*real + (1-lam)*fake,
    the generator wants its fake called real (1); both losses are mean squared errors, the generator's times
    ``weight``."""
    rng = np.random.default_rng(9)
    on_mix, on_fake = rng.normal(0.5, 0.4, (4, 8, 8, 1)), rng.normal(0.3, 0.3, (4, 8, 8, 1))
    for lam, weight in [(0.3, 0.1), (0.9, 1.0), (0.0, 0.1)]:
        got = tuple(float(v) for v in fn(on_mix, on_fake, lam, weight))
        want = (float(np.mean((on_mix - lam) ** 2)), weight * float(np.mean((on_fake - 1.0) ** 2)))
        assert len(got) == 2, "return two numbers: (discriminator loss, generator loss)"
        assert abs(got[0] - want[0]) < 1e-6, (
            f"lambda {lam}: the discriminator's loss is {want[0]:.5f}, you said {got[0]:.5f}; on the mix its "
            "target is lambda itself (how real the mix is), not 1 or 0")
        assert abs(got[1] - want[1]) < 1e-6, (
            f"lambda {lam}, weight {weight}: the generator's loss is {want[1]:.5f}, you said {got[1]:.5f}; it wants "
            "the verdicts on its fakes to be 1 (real), times the weight")


@_checker
def check_edge_loss(fn: Callable) -> None:
    """fn(output, target) -> mean |dy(output) - dy(target)| + mean |dx(output) - dx(target)| for (N, H, W, C)
    images, with dy[i, j] = x[i + 1, j] - x[i, j] and dx[i, j] = x[i, j + 1] - x[i, j] (on the (H-1) x (W-1)
    pixels that have both neighbours)."""
    from .. import learn

    rng = np.random.default_rng(10)
    target = rng.random((2, 16, 16, 3)).astype(np.float32)
    output = rng.random((2, 16, 16, 3)).astype(np.float32)
    assert abs(float(fn(target + 0.2, target))) < 1e-6, (
        "brightening the whole image keeps every edge: the edge loss of target + 0.2 against target must be 0; "
        "compare the differences of neighbouring pixels, not the pixels")
    want = float(learn.edge_loss(output, target))
    got = float(fn(output, target))
    assert abs(got - want) < 1e-5, (f"edge loss {want:.5f}, you said {got:.5f}: differences of neighbouring pixels "
                                    "along y and along x, each averaged on the (H-1) x (W-1) pixels with both "
                                    "neighbours, then the two means added")


@_checker
def check_self_attention(fn: Callable) -> None:
    """fn(x, kernel, bias, gamma, squeeze=8) -> the output of a self-attention block for features x (N, H, W, C):
    one 1x1 projection ``x @ kernel + bias`` gives each position a query (its first C/squeeze channels), a key
    (the next C/squeeze) and a value (the last C); attention = softmax over positions of queries @ keys^T;
    output = x + gamma * (attention @ values), back in (N, H, W, C)."""
    from .. import gan

    rng = np.random.default_rng(11)
    for shape, squeeze in [((2, 4, 4, 16), 8), ((1, 3, 5, 12), 4)]:
        x = rng.normal(size=shape).astype(np.float32)
        layer = gan.SelfAttention(squeeze=squeeze)
        layer.build(shape)
        kernel = rng.normal(0, 0.5, tuple(layer.kernel.shape)).astype(np.float32)
        bias = rng.normal(0, 0.1, tuple(layer.bias.shape)).astype(np.float32)
        layer.set_weights([kernel, bias, np.float32(0.7)])
        want = np.asarray(layer(x))
        got = np.asarray(fn(x, kernel, bias, 0.7, squeeze), np.float32)
        assert got.shape == want.shape, f"features {shape}: the output has the input's shape, not {got.shape}"
        assert np.abs(np.asarray(fn(x, kernel, bias, 0.0, squeeze)) - x).max() < 1e-5, (
            "with gamma = 0 the block is the identity: add gamma * attended to x")
        error = float(np.abs(got - want).max())
        assert error < 1e-4, (f"features {shape}, squeeze {squeeze}: off by up to {error:.2e}; one row of the "
                              "attention map per position, softmax along the last axis (each row sums to 1), "
                              "then attention @ values")


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


@_checker
def check_sbi_blend(fn: Callable) -> None:
    """fn(target, source, mask, ratio) -> the uint8 self-blend ratio * M * source + (1 - ratio * M) * target."""
    rng = np.random.default_rng(0)
    for ratio in (0.0, 0.25, 0.5, 0.75, 1.0, 1.0):
        height, width = (int(n) for n in rng.integers(8, 40, 2))
        target, source = rng.integers(0, 256, (2, height, width, 3), dtype=np.uint8)
        mask = rng.random((height, width)).astype(np.float32)
        mask[rng.random((height, width)) < 0.3], mask[rng.random((height, width)) < 0.3] = 0, 1
        got = np.asarray(fn(target.copy(), source.copy(), mask.copy(), ratio))
        assert got.shape == target.shape and got.dtype == np.uint8, (
            f"a uint8 image of the target's shape {target.shape}, got {got.dtype} {got.shape}")
        if ratio == 0:
            assert np.array_equal(got, target), "ratio 0: nothing is blended, the target comes back unchanged"
        assert np.array_equal(got[mask == 0], target[mask == 0]), "where the mask is 0 the target is kept"
        if ratio == 1:
            assert np.array_equal(got[mask == 1], source[mask == 1]), "where ratio * mask is 1 the source is pasted"
        low, high = np.minimum(target, source).astype(int), np.maximum(target, source).astype(int)
        assert ((got >= low) & (got <= high)).all(), "a blend lies between its two images, pixel by pixel"
        alpha = ratio * mask[..., None]
        error = np.abs(got - (alpha * source + (1 - alpha) * target)).max()
        assert error <= 1, (f"ratio {ratio}: off by up to {error:.1f} grey levels; weight the source by ratio * mask "
                            "and the target by 1 - ratio * mask, then round")


# --- 11 capstone --------------------------------------------------------------------------------
def _box(height: int, width: int | None = None, top: int = 100, left: int = 200) -> tuple[int, int, int, int]:
    """A (top, right, bottom, left) box of the given height (and width: 0.8 of it by default)."""
    width = width or int(height * 0.8)
    return (top, left + width, top + height, left)


@_checker
def check_footage_report(fn: Callable) -> None:
    """fn(boxes_per_frame, fps) -> {"one_face", "several", "none", "median_height", "longest_gap_s"}: made-up
    detections with known answers (gaps at the start, middle and end; several faces; boxes taller than wide)."""
    def report(frames: list, fps: float) -> dict:
        got = fn(frames, fps)
        missing = {"one_face", "several", "none", "median_height", "longest_gap_s"} - set(got)
        assert not missing, f"the report lacks {sorted(missing)}"
        return {k: float(got[k]) for k in ("one_face", "several", "none", "median_height", "longest_gap_s")}

    steady = report([[_box(240)] for _ in range(50)], 25.0)
    assert steady["one_face"] == 1 and steady["several"] == 0 and steady["none"] == 0, (
        f"50 frames of one face each: one_face 1, several 0, none 0; got {steady}")
    assert steady["median_height"] == 240, (
        f"every face is 240 px high (and 192 px wide): median_height 240, got {steady['median_height']:g}"
        + ("; a box is (top, right, bottom, left): its height is bottom - top" if steady["median_height"] == 192
           else ""))
    assert steady["longest_gap_s"] == 0, "a face in every frame: longest_gap_s 0"
    # 3 empty frames, 20 with one face, 7 empty, 25 with two faces (the second taller), 15 empty at the end
    frames = [[]] * 3 + [[_box(200)]] * 20 + [[]] * 7 + [[_box(100), _box(300, left=500)]] * 25 + [[]] * 15
    got = report(frames, 25.0)
    n = len(frames)
    want = {"one_face": 20 / n, "several": 25 / n, "none": 25 / n}
    for key, value in want.items():
        assert abs(got[key] - value) < 1e-6, (
            f"{key}: {value:.4f} ({round(value * n)} of {n} frames), got {got[key]:.4f}")
    assert abs(sum(got[k] for k in want) - 1) < 1e-6, "one_face, several and none are shares of all frames: sum 1"
    assert got["median_height"] == 300, (
        f"the tallest face of each frame (20 frames at 200 px, 25 at 300 px): median 300, got "
        f"{got['median_height']:g}" + ("; take each frame's tallest face, not its first" if got["median_height"] == 100
                                        else ""))
    assert abs(got["longest_gap_s"] - 15 / 25) < 1e-6, (
        f"the longest stretch without a face is the last 15 frames at 25 fps: 0.6 s, got {got['longest_gap_s']:g}"
        + ("; a stretch still open at the last frame counts too" if abs(got["longest_gap_s"] - 7 / 25) < 1e-6 else "")
        + ("; divide frames by fps to get seconds" if got["longest_gap_s"] == 15 else ""))
    shuffled = report([list(reversed(boxes)) for boxes in frames], 30.0)
    assert shuffled["median_height"] == 300 and abs(shuffled["longest_gap_s"] - 0.5) < 1e-6, (
        "the same frames with each frame's boxes in another order, at 30 fps: median_height 300, longest gap 0.5 s")
    as_arrays = report([np.asarray(boxes) for boxes in frames], 25.0)
    assert as_arrays == got, "boxes as numpy arrays (as detectors return them) must give the same report"
