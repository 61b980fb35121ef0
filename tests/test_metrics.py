import json

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


def test_identity_transfer_on_known_cases(encodings):
    bush, powell = encodings
    moved = metrics.identity_transfer(bush, source=powell, target=np.mean(bush, 0))
    assert moved["faces"] == 3 and moved["nearer_target"] == 1.0 and moved["to_target"] < moved["to_source"]
    stayed = metrics.identity_transfer([powell], source=powell, target=np.mean(bush, 0))
    assert stayed["nearer_target"] == 0.0 and stayed["to_source"] < 1e-9
    assert np.isnan(metrics.identity_transfer([], powell, powell)["nearer_target"])


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


def test_evaluate_a_video_against_itself(sample_video, bush_photos, tmp_path):
    report = metrics.evaluate(sample_video, sample_video, bush_photos[:4], max_frames=5, progress=False)
    assert report["frames"] == 5 and report["faces_found"] == {"source": 5, "swapped": 5}
    assert report["expression_error"] == 0
    source, swapped = report["identity"]["source"], report["identity"]["swapped"]
    assert source == swapped and source["nearer_target"] == 0 and source["to_source"] < source["to_target"]
    table = metrics.format_table(report)
    assert "swapped" in table and "source" in table
    path = metrics.save_report(report, tmp_path / "m.json")
    assert json.loads(path.read_text())["frames"] == 5
