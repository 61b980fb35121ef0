import numpy as np
import pytest

from deepfake_utils import align, detect, landmarks


def _random_similarity(rng):
    angle, scale = rng.uniform(-np.pi, np.pi), rng.uniform(0.2, 5)
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, rng.uniform(-100, 100)], [s, c, rng.uniform(-100, 100)], [0, 0, 1]])


def test_umeyama_recovers_a_known_transform_to_1e6():
    rng = np.random.default_rng(0)
    for _ in range(20):
        truth = _random_similarity(rng)
        src = rng.uniform(0, 256, (51, 2))
        dst = align.transform_points(src, truth[:2])
        assert np.abs(align.umeyama(src, dst) - truth).max() < 1e-6


def test_mean_face_is_51_points_in_the_unit_square():
    mean = align.mean_face()
    assert mean.shape == (51, 2) and mean.min() >= 0 and mean.max() <= 1
    brows, mouth = mean[0:10, 1].mean(), mean[31:51, 1].mean()  # rows 17..26 and 48..67
    assert brows < mouth


def test_mean_shape_of_moved_copies_is_the_shape():
    rng = np.random.default_rng(1)
    shape = align.mean_face()
    copies = np.stack([align.transform_points(shape, _random_similarity(rng)[:2]) for _ in range(5)])
    mean = align.mean_shape(copies)
    fit = align.transform_points(mean, align.umeyama(mean, shape)[:2])  # equal up to a similarity
    assert np.abs(fit - shape).max() < 1e-6


def test_aligned_crop_puts_the_face_on_the_mean_face(frame):
    box = detect.detect_faces(frame)[0]
    pts = landmarks.predict_landmarks(frame, box)
    matrix = align.alignment_matrix(pts)
    assert matrix.shape == (2, 3)
    crop = align.align_face(frame, matrix)
    assert crop.shape == (256, 256, 3)
    assert align.alignment_residual(pts, matrix) < 0.03
    # landmarks predicted on the aligned crop land where the matrix says they should
    on_crop = landmarks.predict_landmarks(crop, detect.pick_face(detect.detect_faces(crop), crop.shape))
    assert np.linalg.norm(on_crop - align.transform_points(pts, matrix), axis=1).mean() < 3


def test_inverse_matrix_round_trips(frame):
    pts = landmarks.predict_landmarks(frame, detect.detect_faces(frame)[0])
    matrix = align.alignment_matrix(pts)
    back = align.transform_points(align.transform_points(pts, matrix), align.invert(matrix))
    assert np.abs(back - pts).max() < 1e-6
    crop = align.align_face(frame, matrix)
    restored = align.unalign_face(crop, matrix, frame.shape)
    top, right, bottom, left = detect.detect_faces(frame)[0]
    inner = (slice(top + 60, bottom - 60), slice(left + 60, right - 60))
    assert np.abs(restored[inner].astype(int) - frame[inner].astype(int)).mean() < 6


def test_umeyama_rejects_mismatched_points():
    with pytest.raises(ValueError):
        align.umeyama(np.zeros((5, 2)), np.zeros((4, 2)))


def _umeyama_np(src, dst, scale=True):
    """A second numpy Umeyama fit: what the stand-ins for the two scikit-image APIs return."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    u, d, vt = np.linalg.svd((dst - mu_d).T @ (src - mu_s) / len(src))
    s = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt))])
    c = np.trace(np.diag(d) @ s) / (src - mu_s).var(0).sum() if scale else 1.0
    out = np.eye(3)
    out[:2, :2] = c * u @ s @ vt
    out[:2, 2] = mu_d - out[:2, :2] @ mu_s
    return out


class _Fitted:
    def __init__(self, params):
        self.params = params

    def __bool__(self):
        return self.params is not None


def _fake_transforms(api, calls, fail=False):
    """Stand-ins for SimilarityTransform / EuclideanTransform offering only the 0.26 or only the 0.25 API."""

    def make(scale):
        if api == "0.26":
            class New:
                @classmethod
                def from_estimate(cls, src, dst):
                    calls.append("from_estimate")
                    return _Fitted(None if fail else _umeyama_np(src, dst, scale))

            return New

        class Old:
            params = None

            def estimate(self, src, dst):
                calls.append("estimate")
                self.params = None if fail else _umeyama_np(src, dst, scale)
                return not fail

        return Old

    return make(True), make(False)


@pytest.mark.parametrize("api", ["0.26", "0.25"])
def test_the_checkers_scikit_image_fit_works_with_both_apis(monkeypatch, api):
    from skimage import transform

    from deepfake_utils.course import checks

    calls = []
    similarity, euclidean = _fake_transforms(api, calls)
    monkeypatch.setattr(transform, "SimilarityTransform", similarity)
    monkeypatch.setattr(transform, "EuclideanTransform", euclidean)
    rng = np.random.default_rng(1)
    truth = _random_similarity(rng)
    src = rng.uniform(0, 256, (51, 2))
    assert np.abs(checks._scikit_image_fit(src, align.transform_points(src, truth[:2])) - truth).max() < 1e-6
    rigid = checks._scikit_image_fit(src, align.transform_points(src, truth[:2]), scale=False)
    assert np.allclose(np.linalg.det(rigid[:2, :2]), 1)  # no scale in the rigid fit
    assert calls == ["from_estimate" if api == "0.26" else "estimate"] * 2


@pytest.mark.parametrize("api", ["0.26", "0.25"])
def test_the_checkers_scikit_image_fit_reports_a_failure_with_both_apis(monkeypatch, api):
    from skimage import transform

    from deepfake_utils.course import checks

    similarity, _ = _fake_transforms(api, [], fail=True)
    monkeypatch.setattr(transform, "SimilarityTransform", similarity)
    with pytest.raises(ValueError, match="fit failed"):
        checks._scikit_image_fit(np.eye(3, 2), np.eye(3, 2))


@pytest.mark.parametrize("scale", [True, False])
def test_umeyama_in_numpy_matches_scikit_image(scale):
    from deepfake_utils.course import checks

    rng = np.random.default_rng(2)
    for _ in range(10):
        src = rng.uniform(0, 256, (51, 2))
        noisy = align.transform_points(src, _random_similarity(rng)[:2]) + rng.normal(0, 3, src.shape)
        mirrored = src * [-1, 1] + rng.normal(0, 3, src.shape)  # the best rotation, not the reflection
        for dst in (noisy, mirrored):
            want = checks._scikit_image_fit(src, dst, scale)
            assert np.abs(align.umeyama(src, dst, estimate_scale=scale) - want).max() < 1e-6


def test_umeyama_rejects_degenerate_points_with_the_installed_scikit_image():
    with pytest.raises(ValueError, match="fit failed"):
        align.umeyama(np.zeros((5, 2)), np.zeros((5, 2)))
