import cv2
import numpy as np
import pytest

from deepfake_utils import align, detect, landmarks


def _landmarks(image):
    box = detect.pick_face(detect.detect_faces(image), image.shape)
    return landmarks.predict_landmarks(image, box)


def test_landmarks_shape_and_regions(frame):
    pts = _landmarks(frame)
    assert pts.shape == (68, 2) and pts.dtype == np.float32
    covered = sorted(i for s in landmarks.REGIONS.values() for i in range(68)[s])
    assert covered == list(range(68))  # the regions partition the 68 points
    left_eye, right_eye = landmarks.eye_centers(pts)
    assert left_eye[0] < right_eye[0]  # "left" as seen in the image
    nose, mouth = landmarks.region(pts, "nose")[4], landmarks.region(pts, "mouth").mean(0)
    assert left_eye[1] < nose[1] < mouth[1]  # eyes above nose above mouth


SIMILARITIES = [(8, 0.9, (20, -15)), (-6, 1.1, (-30, 10)), (5, 1.0, (10, 10)), (-10, 0.95, (0, 20))]


@pytest.mark.parametrize("angle,scale,shift", SIMILARITIES)
def test_landmarks_follow_a_known_similarity_within_2px(frames, angle, scale, shift):
    """Move a frame by a known similarity: the landmarks found there are the old ones moved by it.

    The 51 inner points (brows, eyes, nose, mouth: the ones alignment uses) must agree within 2 px
    on every frame; the jaw contour slides along the face edge with the detector's box, so all 68
    points are held to 2.5 px on average over the frames.
    """
    all68 = []
    for frame in frames[::3]:
        small = cv2.resize(frame, (422, 422), interpolation=cv2.INTER_AREA)  # a 160 px face
        matrix = cv2.getRotationMatrix2D((211, 211), angle, scale)
        matrix[:, 2] += shift
        moved = cv2.warpAffine(small, matrix, (422, 422), borderMode=cv2.BORDER_REPLICATE)
        expected = align.transform_points(_landmarks(small), matrix)
        error = np.linalg.norm(_landmarks(moved) - expected, axis=1)
        assert error[17:].mean() < 2.0
        all68.append(error.mean())
    assert np.mean(all68) < 2.5


def test_landmarks_of_a_rotated_search_map_back(photo):
    tilted = detect.rotate_image(photo, 60)
    boxes, angle = detect.detect_with_rotation(tilted)
    pts = landmarks.predict_landmarks(tilted, boxes[0], angle=angle)
    left, right = landmarks.eye_centers(pts)
    tilt = np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0]))
    assert tilt == pytest.approx(-60, abs=8)  # the eye line is tilted like the face


def test_landmark_error_is_normalised():
    pts = np.random.default_rng(0).uniform(0, 100, (68, 2)).astype(np.float32)
    iod = landmarks.inter_ocular_distance(pts)
    assert landmarks.landmark_error(pts, pts) == 0
    assert landmarks.landmark_error(pts, pts + [iod * 0.1, 0]) == pytest.approx(0.1, rel=1e-5)
