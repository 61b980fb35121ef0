import json

import cv2
import numpy as np
import pytest

from deepfake_utils import data, metrics
from deepfake_utils.fileio import read_image


@pytest.fixture(scope="module")
def encodings(bush_photos):
    bush = [metrics.face_encoding(read_image(p)) for p in bush_photos[:3]]
    powell = metrics.face_encoding(read_image(data.identity_photos("Colin_Powell", 1)[0]))
    assert all(e is not None and e.shape == (128,) for e in bush + [powell])
    return bush, powell


def test_identity_distance_is_zero_for_the_same_face_and_large_for_another_person(encodings):
    bush, powell = encodings
    assert metrics.identity_distance(bush[0], bush[0]) < 1e-9
    same_person = metrics.identity_distance(bush[0], bush[1])
    other_person = metrics.identity_distance(bush[0], powell)
    assert same_person < metrics.SAME_PERSON < other_person


def test_jitter_and_expression_error():
    rng = np.random.default_rng(0)
    face = rng.uniform(0, 100, (68, 2))
    face[36:42], face[42:48] = (30, 40), (70, 40)  # eyes 40 px apart
    still = [face] * 10
    moving = [face + (3 * t, 0) for t in range(10)]  # steady motion is not jitter
    shaky = [face + rng.normal(0, 2, (68, 2)) for _ in range(10)]
    assert metrics.jitter(still) == 0 and metrics.jitter(moving) < 1e-12 and metrics.jitter(shaky) > 0.05
    assert np.isnan(metrics.jitter([face, None, face]))
    keyed = {f"{i:06d}": p for i, p in enumerate(moving, 1)}
    assert metrics.expression_error(keyed, keyed) == 0
    assert metrics.expression_error(keyed, {k: p + (4, 0) for k, p in keyed.items()}) == pytest.approx(0.1)


@pytest.fixture(scope="module")
def gallery():
    """A small gallery: B (George_W_Bush) from 4 held-out photos, every other identity from 2."""
    g = metrics.sample_gallery("George_W_Bush", n_target=4, n_other=2, progress=False)
    assert len(g) == 12 and "George_W_Bush" in g and "Colin_Powell" in g
    return g


def test_a_photo_of_b_is_retrieved_as_b_and_a_blur_is_not(gallery, photo):
    # the fixture's photo is one of B's first photos (training photos), not among the gallery's held-out ones
    encoding = metrics.face_encoding(photo)
    scores = metrics.identity_scores([encoding], {"A": gallery["Colin_Powell"], **gallery}, "George_W_Bush")
    assert scores["id_retrieval"] == 1.0 and scores["recognised"] == 1.0 and scores["nearest"] == {"George_W_Bush": 1}
    blurred = cv2.GaussianBlur(photo, (0, 0), 12)  # the autoencoder's failure, overdone
    assert metrics.sharpness(blurred) < 0.02 * metrics.sharpness(photo)  # the blur measure sees it
    blur_encoding = metrics.face_encoding(blurred)
    blur_scores = metrics.identity_scores([blur_encoding], {"A": gallery["Colin_Powell"], **gallery}, "George_W_Bush")
    assert blur_scores["recognised"] == 0.0 and blur_scores["id_retrieval"] == 0.0  # a blur is nobody (here: a miss)


def test_an_average_face_is_found_but_is_nobody(gallery):
    # what an undertrained autoencoder paints: the blurry mean of many faces; the detector finds it, and
    # retrieval must not call it B (the old "nearer B than A" could)
    people = [data.identity_photos(name, 1)[0] for name in data.GALLERY]
    average = np.mean([read_image(p).astype(np.float64) for p in people], axis=0).round().astype(np.uint8)
    encoding = metrics.face_encoding(average)
    assert encoding is not None  # a face, not a miss
    scores = metrics.identity_scores([encoding], {"A": gallery["Colin_Powell"], **gallery}, "George_W_Bush")
    assert scores["id_retrieval"] == 0.0 and scores["recognised"] == 0.0


def test_a_frame_without_a_face_counts_as_a_miss(gallery, photo):
    encoding = metrics.face_encoding(photo)
    identities = {"A": gallery["Colin_Powell"], **gallery}
    scores = metrics.identity_scores([encoding, None, None, encoding], identities, "George_W_Bush")
    assert scores["frames"] == 4 and scores["faces"] == 2
    assert scores["id_retrieval"] == 0.5 and scores["recognised"] == 0.5  # misses count against
    assert scores["nearer_target"] == 1.0  # the secondary column only looks at faces found
    assert scores["nearest"] == {"George_W_Bush": 2, "(no face)": 2}
    with pytest.raises(ValueError, match="no frames"):
        metrics.identity_scores([], identities, "George_W_Bush")


def test_sharpness_inside_the_face_hull(frame):
    from deepfake_utils.extract import naive_find

    points = naive_find(frame).landmarks
    region = metrics.hull_region(frame.shape, points)
    assert region.sum() > 0.5 * metrics.hull_region(frame.shape, points, erode=0).sum()
    blurred = frame.copy()
    blurred[region] = cv2.GaussianBlur(frame, (0, 0), 4)[region]
    assert metrics.sharpness(blurred, region) < 0.3 * metrics.sharpness(frame, region)
    assert metrics.sharpness_kept([10.0, 20.0, None], [5.0, 10.0, 3.0]) == pytest.approx(0.5)


def test_evaluate_a_video_against_itself(sample_video, gallery, tmp_path):
    report = metrics.evaluate(sample_video, sample_video, gallery, max_frames=5, progress=False)
    assert report["frames"] == 5 and report["faces_found"] == {"source": 5, "swapped": 5}
    assert report["expression_error"] == 0 and report["sharpness_kept"] == pytest.approx(1.0)
    source, swapped = report["identity"]["source"], report["identity"]["swapped"]
    assert source == swapped and source["nearest"] == {"A": 5}  # the real video is A, not B
    assert source["id_retrieval"] == 0 and source["recognised"] == 0 and source["to_source"] < source["to_target"]
    assert not metrics.check_targets(report)["id_retrieval"] and "not a working swap" in metrics.verdict(report)
    table = metrics.format_table(report)
    assert "swapped" in table and "ID retr." in table and "recog. B" in table
    path = metrics.save_report(report, tmp_path / "m.json")
    assert json.loads(path.read_text())["frames"] == 5
    with pytest.raises(ValueError, match="not in the gallery"):
        metrics.evaluate(sample_video, sample_video, gallery, "Nobody", max_frames=2, progress=False)


def test_crop_encodings_tell_aligned_faces_apart(sample_faces):
    from deepfake_utils.train import load_faces

    a, b = load_faces(sample_faces / "A")[:1], load_faces(sample_faces / "B")[:2]
    crops = [face[48:208, 48:208] for face in a + b]  # the middle 160 px, as a model frames them
    (enc_a, b0, b1), (b0_float,) = metrics.crop_encodings(crops), metrics.crop_encodings([crops[1] / 255.0])
    assert metrics.identity_distance(b0, b0_float) < 0.01  # float 0..1 crops read as their uint8 selves
    assert metrics.identity_distance(b0, b1) < metrics.SAME_PERSON < metrics.identity_distance(b0, enc_a)
    only_b = metrics.sample_gallery("George_W_Bush", n_target=2, n_other=0, progress=False)
    assert list(only_b) == ["George_W_Bush"]
