"""Stage 10: simulated swap artifacts, the boundary map, the small detector and its evaluation."""
from __future__ import annotations

import json

import cv2
import keras
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from deepfake_utils import align, data, extract, forensics, forensics_data, video
from deepfake_utils.course import checks
from deepfake_utils.errors import DeepfakeError, ImageError


def _view_face(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic textured 'face' view and plausible landmarks in its pixels (no data needed)."""
    rng = np.random.default_rng(seed)
    view = rng.integers(0, 256, (forensics.VIEW_SIZE, forensics.VIEW_SIZE, 3), dtype=np.uint8)
    inner = align.mean_face() * 80 + 24
    t = np.linspace(np.pi * 0.95, np.pi * 0.05, 17)
    jaw = np.stack([64 + 46 * np.cos(t), 60 + 56 * np.sin(t)], axis=1)
    return view, np.vstack([jaw, inner]).astype(np.float32)


@pytest.fixture(scope="module")
def identity_views(tmp_path_factory) -> dict[str, tuple[list[np.ndarray], list[np.ndarray]]]:
    """Views and landmarks of a few photos of seven LFW identities (extracted once for this module)."""
    root = tmp_path_factory.mktemp("identities")
    out = {}
    for name in ("Colin_Powell", *data.GALLERY[:6]):
        photos = data.identity_photos(name, 8)
        extract.extract(photos[0].parent, root / name, max_frames=len(photos), progress=False)
        out[name] = forensics_data.views_from_folder(root / name)
    return out


# --- artifacts ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_warping_artifact_changes_only_the_masked_face(seed):
    view, points = _view_face(seed)
    fake, mask = forensics.warping_artifact(view, points, np.random.default_rng(seed))
    assert fake.shape == view.shape and fake.dtype == np.uint8 and mask.shape == view.shape[:2]
    assert np.array_equal(fake[mask == 0], view[mask == 0]), "a pixel outside the mask changed"
    assert (mask > 0.5).sum() > 0.1 * mask.size, "the mask should cover a good part of the face"
    changed = np.abs(fake.astype(int) - view).max(axis=2) > 0
    assert changed[mask > 0.5].mean() > 0.5, "inside the mask the face is resampled: most pixels change"
    assert changed.sum() == changed[mask > 0].sum()


def test_warping_artifact_is_seeded_and_random():
    view, points = _view_face(1)
    a = forensics.warping_artifact(view, points, np.random.default_rng(7))
    b = forensics.warping_artifact(view, points, np.random.default_rng(7))
    c = forensics.warping_artifact(view, points, np.random.default_rng(8))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]), "same seed, same artifact"
    assert not np.array_equal(a[0], c[0]), "another seed, another artifact"


def test_warping_artifact_keeps_a_given_mask_and_checks_its_scale():
    view, points = _view_face(2)
    mask = np.zeros(view.shape[:2], np.float32)
    mask[40:90, 40:90] = 1
    fake, used = forensics.warping_artifact(view, points, np.random.default_rng(0), mask=mask, scale=(0.3, 0.3))
    assert np.array_equal(used, mask) and np.array_equal(fake[mask == 0], view[mask == 0])
    with pytest.raises(DeepfakeError, match="scale"):
        forensics.warping_artifact(view, points, np.random.default_rng(0), scale=(0.5, 1.5))


def test_smaller_scale_removes_more_detail():
    view, points = _view_face(3)
    mask = np.zeros(view.shape[:2], np.float32)
    mask[30:100, 30:100] = 1
    error = [np.abs(forensics.warping_artifact(view, points, np.random.default_rng(0), mask=mask, scale=(s, s))[0]
                    .astype(int) - view)[30:100, 30:100].mean() for s in (0.8, 0.2)]
    assert error[1] > error[0] > 0


def test_boundary_map_is_zero_off_the_edge_and_peaks_on_it():
    mask = np.zeros((100, 100), np.float32)
    mask[25:75, 25:75] = 1
    soft = forensics.random_mask((100, 100, 3), np.array([[25, 25], [75, 25], [75, 75], [25, 75]], np.float32),
                                 np.random.default_rng(0), deform=0)
    for m in (mask, soft, mask * 0.5 + 0.25 * (mask == 0)):
        b = forensics.boundary_map(m)
        assert b.shape == m.shape and b.min() >= 0 and b.max() <= 1 + 1e-6
        assert np.allclose(b[(m == 0) | (m == 1)], 0), "B is 0 where one image is kept whole"
    b = forensics.boundary_map(soft)
    edge = (soft > 0.01) & (soft < 0.99)
    assert edge.any() and b.max() > 0.9, "a feathered edge passes M = 0.5, where B = 1"
    assert abs(soft.flat[np.argmax(b)] - 0.5) < 0.1, "B peaks where the two images mix half and half"
    assert ((b > 0) == ((soft > 0) & (soft < 1))).all(), "B > 0 only on the blend's edge"
    assert b[50, 50] == 0 and b[2, 2] == 0, "inside the face and far outside, B is 0"
    assert forensics.boundary_map(np.full((4, 4), 0.5)).min() == pytest.approx(1.0)
    with pytest.raises(ImageError):
        forensics.boundary_map(np.full((4, 4), 2.0))


def test_xray_blend_keeps_the_target_outside_the_mask():
    target, points = _view_face(4)
    source, _ = _view_face(5)
    blended, mask = forensics.xray_blend(target, source, points, np.random.default_rng(0))
    assert np.array_equal(blended[mask == 0], target[mask == 0])
    assert not np.array_equal(blended[mask > 0.5], target[mask > 0.5])
    with pytest.raises(ImageError):
        forensics.xray_blend(target, source[:64], points, np.random.default_rng(0))


# --- self-blended images ------------------------------------------------------------------------------
def test_sbi_blend_is_the_target_at_ratio_0_and_the_source_inside_the_mask_at_1():
    target, _ = _view_face(6)
    source, _ = _view_face(7)
    mask = np.zeros(target.shape[:2], np.float32)
    mask[30:90, 40:100] = 1
    mask[60, 60] = 0.5
    assert np.array_equal(forensics.sbi_blend(target, source, mask, 0.0), target), "ratio 0: nothing is blended"
    full = forensics.sbi_blend(target, source, mask, 1.0)
    assert np.array_equal(full[mask == 1], source[mask == 1]) and np.array_equal(full[mask == 0], target[mask == 0])
    half = forensics.sbi_blend(target, source, mask, 0.5).astype(int)
    low, high = np.minimum(target, source).astype(int), np.maximum(target, source).astype(int)
    assert ((half >= low) & (half <= high)).all(), "a blend lies between its two images"
    want = np.round((target[60, 60].astype(float) + source[60, 60].astype(float) * 1 / 3) * 3 / 4)  # r * M = 1/4
    assert np.abs(half[60, 60] - want).max() <= 1
    with pytest.raises(DeepfakeError, match="ratio"):
        forensics.sbi_blend(target, source, mask, 1.5)
    with pytest.raises(ImageError):
        forensics.sbi_blend(target, source, mask[:50], 0.5)


@pytest.mark.parametrize("seed", range(4))
def test_sbi_mask_is_a_soft_hull_of_the_landmarks(seed):
    view, points = _view_face(seed)
    mask = forensics.sbi_mask(view.shape, points, np.random.default_rng(seed))
    assert mask.shape == view.shape[:2] and mask.dtype == np.float32 and mask.min() >= 0 and mask.max() == 1
    hull = forensics.blend.hull_mask(view.shape, points) > 0.5
    side = float(np.ptp(points, axis=0).max())
    far = forensics.blend.adjust_mask(hull.astype(np.float32), erode=-round(0.3 * side)) < 0.5  # well outside
    assert mask[far].max() < 0.05, "the mask fades out near the face's outline"
    core = forensics.blend.adjust_mask(hull.astype(np.float32), erode=round(0.25 * side)) > 0.5  # well inside
    assert mask[core].mean() > 0.9, "the middle of the face is blended in (nearly) whole"
    edge = (mask > 0.05) & (mask < 0.95)
    assert edge.any() and forensics.boundary_map(mask).max() > 0.9, "a soft boundary, passing M = 0.5"


def test_self_blend_changes_only_the_masked_face_of_its_real_twin():
    view, points = _view_face(3)
    for seed in range(6):
        fake, mask, real = forensics.self_blend(view, points, np.random.default_rng(seed))
        assert fake.shape == real.shape == view.shape and fake.dtype == np.uint8 and mask.shape == view.shape[:2]
        assert np.array_equal(fake[mask == 0], real[mask == 0]), "outside the mask the fake is its real twin"
        inside = mask > 0.5 * mask.max()  # the mask is r * M: its top is the blend ratio
        assert np.abs(fake.astype(int) - real)[inside].mean() > 1, "inside it, the changed copy shows"
        assert not np.array_equal(real, view) or not np.array_equal(fake, view)
    fake, mask, real = forensics.self_blend(view, points, np.random.default_rng(0), ratio=0.0)
    assert np.array_equal(fake, real) and mask.max() == 0, "ratio 0: the fake is its real twin"


def test_self_blend_is_seeded_and_random():
    view, points = _view_face(2)
    a = forensics.self_blend(view, points, np.random.default_rng(11))
    b = forensics.self_blend(view, points, np.random.default_rng(11))
    c = forensics.self_blend(view, points, np.random.default_rng(12))
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True)), "same seed, same self-blend"
    assert not np.array_equal(a[0], c[0]) or not np.array_equal(a[1], c[1]), "another seed, another self-blend"


def test_simulated_set_labels_every_kind():
    pairs = [_view_face(s) for s in range(4)]
    views, points = [v for v, _ in pairs], [p for _, p in pairs]
    for kinds in (("fwa",), ("xray",), ("sbi",), forensics.KINDS):
        faces, labels = forensics.simulated_set(views, points, np.random.default_rng(0), kinds=kinds)
        assert faces.shape == (8, *views[0].shape) and labels.tolist() == [0] * 4 + [1] * 4
        assert not any(np.array_equal(faces[i], faces[i + 4]) for i in range(4)), "each fake differs from its real"
    fwa, _ = forensics.simulated_set(views, points, np.random.default_rng(0))
    assert all(np.array_equal(fwa[i], views[i]) for i in range(4)), "warping artifacts: the real faces as they are"
    with pytest.raises(DeepfakeError, match="kinds"):
        forensics.simulated_set(views, points, np.random.default_rng(0), kinds=("gan",))
    with pytest.raises(DeepfakeError, match="two faces"):
        forensics.simulated_set(views[:1], points[:1], np.random.default_rng(0), kinds=("xray",))


# --- views --------------------------------------------------------------------------------------------
def test_views_of_frames_and_of_extracted_faces_match(sample_video, tmp_path):
    extract.extract(sample_video, tmp_path / "A", max_frames=2, progress=False)
    views, points = forensics_data.views_from_folder(tmp_path / "A")
    keys, frame_views, frame_points = forensics_data.views_from_video(sample_video, tmp_path / "A", max_frames=2)
    assert keys == ["000001", "000002"] and len(views) == 2
    assert np.array_equal(views[0], frame_views[0]), "the same face, made the same way, must give the same view"
    assert np.allclose(frame_points[1], points[1], atol=1e-3)
    landmarks = extract.load_alignments(tmp_path / "A")["frames"]["000001"][0]["landmarks"]
    view, view_points = forensics.face_view(next(video.iter_frames(sample_video)), landmarks)
    assert np.array_equal(view, views[0]) and np.allclose(view_points, points[0], atol=1e-3)
    assert view.shape == (forensics.VIEW_SIZE, forensics.VIEW_SIZE, 3)
    assert (view_points[17:] > 0).all() and (view_points[17:] < forensics.VIEW_SIZE).all(), "the face is in view"


def test_crop_view_checks_its_input():
    with pytest.raises(ImageError):
        forensics.crop_view(np.zeros((100, 100, 3), np.uint8))
    with pytest.raises(DeepfakeError, match="coverage"):
        forensics.view_matrix(128, 223)


# --- the detector -------------------------------------------------------------------------------------
def test_detector_trains_and_beats_chance_on_held_out_identities(identity_views):
    names = list(identity_views)
    train_names, test_names = names[:5], names[5:]
    assert not set(train_names) & set(test_names)
    views = [v for n in train_names for v in identity_views[n][0]]
    points = [p for n in train_names for p in identity_views[n][1]]
    model = forensics.build_detector()
    history = forensics.train_detector(model, views, points, np.random.default_rng(0), epochs=10, progress=False)
    assert len(history) == 10 and history[-1][1] < history[0][1], "the training loss falls"
    test_views = [v for n in test_names for v in identity_views[n][0]]
    test_points = [p for n in test_names for p in identity_views[n][1]]
    faces, labels = forensics.simulated_set(test_views, test_points, np.random.default_rng(99))
    scores = forensics.fake_scores(model, faces)
    assert scores.shape == labels.shape and ((scores >= 0) & (scores <= 1)).all()
    auc = forensics.roc(labels, scores)[3]
    assert auc > 0.7, f"held-out simulated faces: AUC {auc:.2f}, not better than chance"
    saliency = forensics.occlusion_map(model, faces[-1], patch=32, stride=16)
    assert saliency.shape == faces[-1].shape[:2] and np.isfinite(saliency).all()


def test_fake_scores_wants_a_uint8_batch():
    model = forensics.build_detector(size=32, width=4)
    assert forensics.fake_scores(model, np.zeros((2, 32, 32, 3), np.uint8)).shape == (2,)
    with pytest.raises(ImageError):
        forensics.fake_scores(model, np.zeros((32, 32, 3), np.uint8))


# --- evaluation ---------------------------------------------------------------------------------------
def test_roc_and_auc_on_known_scores():
    labels = [0, 0, 1, 1]
    scores = [0.1, 0.4, 0.35, 0.8]  # of the 4 (fake, real) pairs, 3 are ordered right: AUC 3/4
    fpr, tpr, thresholds, auc = forensics.roc(labels, scores)
    assert auc == pytest.approx(0.75)
    assert fpr[0] == 0 and tpr[-1] == 1 and fpr[-1] == 1 and (np.diff(fpr) >= 0).all()
    assert forensics.roc([0, 1, 0, 1], [0.2, 0.9, 0.3, 0.7])[3] == 1.0
    assert forensics.roc([0, 1], [0.5, 0.5])[3] == 0.5, "a tie counts half"
    rng = np.random.default_rng(0)
    labels, scores = rng.integers(0, 2, 200), rng.integers(0, 10, 200) / 10  # with many ties
    assert forensics.roc(labels, scores)[3] == pytest.approx(roc_auc_score(labels, scores))
    assert forensics.accuracy_at([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.5) == 0.75
    with pytest.raises(DeepfakeError):
        forensics.roc([1, 1], [0.2, 0.3])
    with pytest.raises(DeepfakeError):
        forensics.roc([0, 1, 2], [0.2, 0.3, 0.4])


def test_threshold_at_separates_the_validation_set():
    assert forensics.threshold_at([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9]) == pytest.approx(0.6)
    labels, scores = [0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.7, 0.4, 0.8, 0.9]
    threshold = forensics.threshold_at(labels, scores)
    tpr, fpr = forensics.detector_report(labels, scores, threshold)["hits"], \
        forensics.detector_report(labels, scores, threshold)["false_alarms"]
    best = max(np.mean(np.array(scores)[3:] >= t) - np.mean(np.array(scores)[:3] >= t) for t in scores)
    assert tpr - fpr == pytest.approx(best), "no other threshold has a larger TPR - FPR"


def test_detector_report_on_known_scores():
    report = forensics.detector_report([0, 0, 0, 0, 1, 1], [0.1, 0.2, 0.6, 0.3, 0.7, 0.5], 0.55)
    assert report["auc"] == pytest.approx(7 / 8) and report["accuracy"] == pytest.approx(4 / 6)
    assert report["hits"] == 0.5 and report["false_alarms"] == 0.25
    assert (report["n_real"], report["n_fake"]) == (4, 2)


def test_treatments_keep_the_frames_and_lose_detail():
    rng = np.random.default_rng(0)
    frames = [cv2.GaussianBlur(rng.integers(0, 256, (63, 80, 3), dtype=np.uint8), (3, 3), 0) for _ in range(3)]
    error = {}
    for treatment in forensics.TREATMENTS:
        out = forensics.treat(frames, treatment)
        assert len(out) == 3
        assert all(o.shape == f.shape and o.dtype == np.uint8 for o, f in zip(out, frames, strict=True))
        error[treatment] = np.mean([np.abs(o.astype(int) - f).mean() for o, f in zip(out, frames, strict=True)])
    assert error["as is"] == 0
    assert 0 < error["H.264 CRF 23"] < error["H.264 CRF 40"], "a higher CRF loses more"
    assert error["2x downscale"] > 0
    with pytest.raises(DeepfakeError, match="treatment"):
        forensics.treat(frames, "JPEG 10")


def test_evaluate_faces_and_pairs_on_a_detector_that_reads_brightness(tmp_path):
    inputs = keras.Input((forensics.VIEW_SIZE, forensics.VIEW_SIZE, 3))
    mean = keras.layers.GlobalAveragePooling2D()(keras.layers.Rescaling(1 / 255)(inputs))
    bright = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)(mean) / 3)
    size = forensics.VIEW_SIZE
    views = [np.full((size, size, 3), v, np.uint8) for v in (40, 60, 200, 220)]  # "fakes" are bright
    result = forensics.evaluate_faces({"bright": bright}, views, [0, 0, 1, 1], {"bright": 0.5},
                                      treatments=("as is", "2x downscale"))
    for treatment in ("as is", "2x downscale"):
        report = result["bright", treatment]
        assert report["auc"] == 1.0 and report["accuracy"] == 1.0 and report["false_alarms"] == 0
    with pytest.raises(DeepfakeError):
        forensics.evaluate_faces({"bright": bright}, views, [0, 1], {"bright": 0.5})

    # a "swap" that brightens a face: its source frames, the swapped frames and an extraction's landmarks
    _, points = _view_face(0)
    points = points * 2 + 40
    frames = [np.full((336, 336, 3), 50 + 10 * i, np.uint8) for i in range(3)]
    swapped = [np.clip(f.astype(int) + 120, 0, 255).astype(np.uint8) for f in frames]
    source = video.write_video(frames, tmp_path / "source.mp4", 25)
    fake = video.write_video(swapped, tmp_path / "swapped.mp4", 25)
    face = {"box": [0, 1, 1, 0], "landmarks": points.tolist(), "matrix": [[1, 0, 0], [0, 1, 0]], "face": "x.png"}
    (tmp_path / "alignments.json").write_text(json.dumps(
        {"version": 1, "source": "source.mp4", "fps": 25.0, "size": [336, 336],
         "frames": {"000001": [face], "000002": [], "000003": [face]}}))
    result = forensics_data.evaluate_pairs({"bright": bright}, [(fake, source, tmp_path / "alignments.json")],
                                      {"bright": 0.5}, treatments=("as is", "H.264 CRF 40"))
    for treatment in ("as is", "H.264 CRF 40"):
        report = result["bright", treatment]
        assert (report["n_real"], report["n_fake"]) == (2, 2), "frames without a face are left out"
        assert report["auc"] == 1.0 and report["hits"] == 1.0 and report["false_alarms"] == 0.0
    with pytest.raises(DeepfakeError):
        forensics_data.evaluate_pairs({"bright": bright}, [], {"bright": 0.5})


# --- provenance ---------------------------------------------------------------------------------------
def test_container_tags_read_the_synthetic_label(tmp_path):
    frames = [np.full((32, 32, 3), i * 20, np.uint8) for i in range(3)]
    tagged = video.write_video(frames, tmp_path / "tagged.mp4", 25, metadata={"comment": "SYNTHETIC: test"})
    plain = video.write_video(frames, tmp_path / "plain.mp4", 25)
    assert forensics.container_tags(tagged)["comment"] == "SYNTHETIC: test"
    assert "comment" not in forensics.container_tags(plain)
    with pytest.raises(DeepfakeError):
        forensics.container_tags(tmp_path / "missing.mp4")


# --- checkers -----------------------------------------------------------------------------------------
def test_checkers_accept_right_and_reject_wrong_answers(wrong):
    def auc(labels, scores):
        labels, scores = np.asarray(labels), np.asarray(scores, float)
        pos, neg = scores[labels == 1], scores[labels == 0]
        return float(((pos[:, None] > neg) + 0.5 * (pos[:, None] == neg)).mean())

    def rates(labels, scores, threshold):
        labels, flagged = np.asarray(labels), np.asarray(scores) >= threshold
        return flagged[labels == 1].mean(), flagged[labels == 0].mean()

    assert checks.check_boundary_map(lambda m: 4 * m * (1 - m))
    assert checks.check_auc(auc)
    assert checks.check_rates_at(rates)
    wrong(checks.check_boundary_map, lambda m: m * (1 - m))
    wrong(checks.check_auc, lambda labels, scores: float(np.mean((np.asarray(scores) > 0.5) == np.asarray(labels))))
    wrong(checks.check_rates_at, lambda labels, scores, threshold: rates(labels, scores, threshold)[::-1])
    assert checks.check_sbi_blend(lambda t, s, m, r: forensics.sbi_blend(t, s, m, r))
    wrong(checks.check_sbi_blend, lambda t, s, m, r: forensics.sbi_blend(t, s, m, 1.0))  # the mask without the ratio
    wrong(checks.check_sbi_blend, lambda t, s, m, r: forensics.sbi_blend(s, t, m, r))  # source and target swapped

    def todo(*args):
        raise NotImplementedError

    assert checks.check_auc(todo) is False
