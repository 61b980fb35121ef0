import numpy as np
import pytest

from deepfake_utils import warp


@pytest.fixture(scope="module")
def face(frame):
    from deepfake_utils import align, detect, landmarks

    pts = landmarks.predict_landmarks(frame, detect.detect_faces(frame)[0])
    return align.align_face(frame, align.alignment_matrix(pts))


def test_pairs_are_64px_and_seeded(face):
    a = warp.training_pair(face, np.random.default_rng(7))
    b = warp.training_pair(face, np.random.default_rng(7))
    c = warp.training_pair(face, np.random.default_rng(8))
    assert a[0].shape == a[1].shape == (64, 64, 3) and a[0].dtype == np.uint8
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_without_noise_the_warp_is_the_target(face):
    warped, target = warp.random_warp(face, np.random.default_rng(0), sigma=0)
    # Input and target are registered to the pixel. They come from two OpenCV functions (remap and
    # warpAffine) whose fixed-point interpolation rounds differently from one OpenCV release to the next
    # (4.12 and 5.x differ), so they agree within one grey level, not bit for bit.
    diff = np.abs(warped.astype(int) - target.astype(int))
    assert diff.max() <= 1 and diff.mean() < 0.05
    # ...and a registration off by one pixel would be far outside that tolerance
    shifted = np.roll(target, 1, axis=1)
    assert np.abs(warped.astype(int) - shifted.astype(int)).max() > 1


def test_noise_makes_input_differ_from_target(face):
    warped, target = warp.random_warp(face, np.random.default_rng(0), sigma=5)
    assert np.abs(warped.astype(int) - target.astype(int)).mean() > 4


def test_target_covers_the_centre_coverage_px(face):
    # with no noise the target is the centre `coverage` px of the crop, resized to 64
    import cv2

    _, target = warp.random_warp(face, np.random.default_rng(0), sigma=0, coverage=160)
    centre = cv2.resize(face[48:208, 48:208], (64, 64), interpolation=cv2.INTER_AREA)
    assert np.abs(target.astype(int) - centre.astype(int)).mean() < 6


def test_random_transform_flips_about_forty_percent(face):
    rng = np.random.default_rng(3)
    flips = 0
    for _ in range(200):
        out = warp.random_transform(face, rng, rotation=0, zoom=0, shift=0)
        flips += not np.array_equal(out, face)
    assert 60 < flips < 100


def test_batch_and_bad_input(face):
    warped, target = warp.training_batch([face, face[:, ::-1].copy()], np.random.default_rng(0), 6)
    assert warped.shape == target.shape == (6, 64, 64, 3)
    with pytest.raises(ValueError, match="square"):
        warp.random_warp(face[:200], np.random.default_rng(0))
    with pytest.raises(ValueError, match="coverage"):
        warp.random_warp(face, np.random.default_rng(0), coverage=300)
