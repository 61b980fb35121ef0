import numpy as np
import pytest

from deepfake_utils import detect
from deepfake_utils.errors import ImageError


def test_hog_finds_the_speaker_in_every_sampled_frame(frames):
    for f in frames:
        boxes = detect.detect_faces(f)
        assert len(boxes) == 1
        top, right, bottom, left = boxes[0]
        assert 250 < right - left < 400 and left < 844 / 2 < right  # one big, central face


def test_cnn_detector_agrees_with_hog(photo):
    hog = detect.pick_face(detect.detect_faces(photo), photo.shape)
    cnn = detect.pick_face(detect.detect_faces(photo, model="cnn", upsample=0), photo.shape)
    (hx, hy), (cx, cy) = detect.box_center(hog), detect.box_center(cnn)
    assert abs(hx - cx) < 0.25 * detect.box_size(hog) and abs(hy - cy) < 0.3 * detect.box_size(hog)


def test_level_zero_is_exactly_the_naive_detector(frame):
    assert detect.detect_from_level(frame, 0) == detect.detect_faces(frame, upsample=1)


def test_starting_at_a_deeper_pyramid_level_finds_exactly_the_naive_box(frames):
    for f in frames[::3]:
        naive = detect.detect_faces(f, upsample=1)[0]
        level = detect.level_for_face(detect.box_size(naive))
        assert level >= 5
        fast = detect.detect_from_level(f, level)[0]
        assert np.abs(np.subtract(fast, naive)).max() < 0.15 * detect.box_size(naive)
        assert fast == naive  # the same pyramid levels, the same pixels, the same rounding
        assert detect.detect_from_level(f, detect.level_for_face(detect.box_size(naive), 2)) == [naive]
    small = frames[0][::4, ::4].copy()  # a 211 px frame: its face is too small for the levels asked for
    assert detect.detect_from_level(small, 12) == []


def test_the_detector_is_kept_in_the_cache_and_loads_from_there(tmp_path, monkeypatch, frame):
    frame = frame[::2, ::2].copy()  # 422 px: quicker, the face still found
    path = tmp_path / "models" / "frontal.svm"
    monkeypatch.setattr(detect, "detector_cache_path", lambda: path)
    detect.hog_detector.cache_clear()
    try:
        built = detect.hog_detector()  # unpacked from dlib and saved
        assert path.is_file()
        detect.hog_detector.cache_clear()
        loaded = detect.hog_detector()  # from the file
        found = built.run(frame, 1)  # (boxes, scores, sub-detectors) of dlib's own detector
        assert found[0] and loaded.run(frame, 1) == found
        path.write_bytes(b"damaged")
        detect.hog_detector.cache_clear()
        assert detect.hog_detector().run(frame, 1) == found and path.stat().st_size > 1000  # saved anew
    finally:
        detect.hog_detector.cache_clear()


def test_css_and_dlib_rectangles_round_trip():
    box = (10, 120, 130, 5)
    assert detect.rect_to_css(detect.css_to_rect(box)) == box


def test_pick_face_center_and_largest():
    small_central, big_corner = (90, 110, 110, 90), (0, 80, 80, 0)
    shape = (200, 200, 3)
    assert detect.pick_face([big_corner, small_central], shape, "center") == small_central
    assert detect.pick_face([big_corner, small_central], shape, "largest") == big_corner
    assert detect.pick_face([], shape) is None


def test_crop_with_padding_stays_inside(frame):
    box = detect.detect_faces(frame)[0]
    crop = detect.crop_face(frame, box, padding=0.25)
    side = detect.box_size(box)
    assert crop.shape[0] == pytest.approx(1.5 * side, abs=3)
    huge = detect.crop_face(frame, box, padding=5)
    assert huge.shape == frame.shape  # clipped to the frame


def test_rotate_and_retry_finds_a_tilted_face(photo):
    tilted = detect.rotate_image(photo, 60)
    assert detect.detect_faces(tilted) == []  # HOG alone misses a face tilted by 60 degrees
    boxes, angle = detect.detect_with_rotation(tilted)
    assert boxes and angle < 0  # found once the image is turned back
    box = detect.unrotate_box(boxes[0], angle, tilted.shape)
    cx, cy = detect.box_center(box)
    assert abs(cx - tilted.shape[1] / 2) < 40 and abs(cy - tilted.shape[0] / 2) < 40


def test_no_face_gives_empty_list_and_bad_arrays_a_clear_error(photo):
    assert detect.detect_faces(np.full((200, 200, 3), 127, np.uint8)) == []
    with pytest.raises(ImageError):
        detect.detect_faces(photo[..., 0])


def test_footage_report_on_known_detections():
    from deepfake_utils.errors import InvalidArgument

    face, tall = (10, 90, 110, 10), (0, 300, 250, 100)  # 100 and 250 px high
    report = detect.footage_report([[face], [], [], [face, tall], [], [face]], fps=2)
    assert report == {"frames": 6, "one_face": 2 / 6, "several": 1 / 6, "none": 3 / 6,
                      "median_height": 100, "longest_gap_s": 1.0}
    assert np.isnan(detect.footage_report([[], []], 25)["median_height"])
    assert detect.footage_report([[], []], 25)["longest_gap_s"] == 2 / 25
    with pytest.raises(InvalidArgument, match="no frames"):
        detect.footage_report([], 25)
    with pytest.raises(InvalidArgument, match="fps"):
        detect.footage_report([[face]], 0)
