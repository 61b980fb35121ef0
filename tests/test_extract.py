import json
import shutil

import numpy as np
import pytest

from deepfake_utils import extract, track, video
from deepfake_utils.errors import AlignmentsError, DeepfakeError, NoFaceError, VideoError
from deepfake_utils.landmarks import landmark_error


@pytest.fixture(scope="module")
def extracted(sample_video, tmp_path_factory):
    out = tmp_path_factory.mktemp("faces")
    return out, extract.extract(sample_video, out, progress=False)


def test_whole_sample_video_finds_a_face_in_95_percent_of_frames(extracted):
    out, result = extracted
    assert len(result["frames"]) == 125
    assert extract.faces_found(result) >= 0.95
    assert result["complete"] is True and result["fps"] == 25.0 and result["size"] == [844, 844]
    faces = sorted(out.glob("*.png"))
    assert len(faces) == sum(bool(f) for f in result["frames"].values())


def test_alignments_file_follows_the_schema(extracted):
    out, _ = extracted
    raw = json.loads((out / "alignments.json").read_text())
    assert raw["version"] == 1 and raw["source"] == "2.mp4"
    entry = raw["frames"]["000001"][0]
    assert set(entry) == {"box", "landmarks", "matrix", "face", "blur"}
    assert len(entry["landmarks"]) == 68 and np.shape(entry["matrix"]) == (2, 3)
    loaded = extract.load_alignments(out)
    assert loaded["frames"]["000001"][0]["landmarks"].shape == (68, 2)
    assert (out / entry["face"]).is_file()


def test_fast_path_agrees_with_naive_on_landmarks(sample_video, extracted):
    _, result = extracted
    errors = []
    for i, frame in enumerate(video.iter_frames(sample_video, max_frames=40), 1):
        if i % 8:
            continue
        naive = track.naive_find(frame)
        errors.append(landmark_error(naive.landmarks, result["frames"][video.frame_key(i)][0]["landmarks"]))
    assert np.mean(errors) <= 0.01  # issue 14's bar for the fast path (mean NME against the naive pipeline)


def test_face_finder_detects_in_a_few_frames_and_exactly_where_it_does(frames):
    finder = track.FaceFinder()
    for i, frame in enumerate(frames[:3]):  # every 10th frame of the sample: the face moves between them
        before = finder.detections
        face = finder(frame)
        naive = track.naive_find(frame)
        if finder.detections > before:  # detected here: exactly the naive box and landmarks
            assert face.box == naive.box and np.array_equal(face.landmarks, naive.landmarks), i
        else:  # kept the last box: the landmarks barely moved from the naive ones
            assert landmark_error(naive.landmarks, face.landmarks) < 0.05, i
    assert finder.detections >= 2  # found again from a deeper pyramid level at least once: exact there too
    detections = finder.detections
    again = [finder(frames[2]) for _ in range(2)]  # the same frame again: the box is kept, no detection
    assert finder.detections == detections and again[1].box == face.box


def test_a_face_finder_told_the_faces_size_searches_from_its_level_and_finds_the_naive_box(frame, monkeypatch):
    naive = track.naive_find(frame)
    width = float(np.ptp(naive.landmarks[:, 0]))  # the landmarks' width: what the metrics pass (the source's face)
    levels = []
    detect_from_level = track.detect.detect_from_level
    monkeypatch.setattr(track.detect, "detect_from_level", lambda image, level: levels.append(level) or
                        detect_from_level(image, level))
    for size, searched in ((width, [track.detect.level_for_face(width, 2)]),  # one search, deep in the pyramid
                           (3 * width, [track.detect.level_for_face(3 * width, 2), 0])):  # too big: none, then all
        levels.clear()
        face = track.FaceFinder(reuse_below=0)(frame, size=size)
        assert levels == searched and searched[0] > 4, (size, levels)
        assert face.box == naive.box and np.array_equal(face.landmarks, naive.landmarks)  # exactly the naive face
    levels.clear()
    assert track.FaceFinder()(frame).box == naive.box and levels == [0]  # told nothing: the whole pyramid


def test_image_folder_with_a_faceless_image_and_blur_filter(tmp_path, bush_photos):
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in bush_photos[:4]:
        shutil.copy(p, folder)
    from deepfake_utils.fileio import write_image

    write_image(folder / "zz_wall.png", np.full((250, 250, 3), 90, np.uint8))
    result = extract.extract(folder, tmp_path / "out", blur_threshold=1e9, progress=False)
    assert result["frames"]["zz_wall"] == []  # no face: recorded as an empty list
    entries = [f[0] for k, f in result["frames"].items() if f]
    assert len(entries) == 4
    assert all(e["face"].startswith("blurry/") for e in entries)  # set aside, not deleted
    assert all((tmp_path / "out" / e["face"]).is_file() for e in entries)


def test_identity_filter_moves_other_people_aside(tmp_path, bush_photos):
    from deepfake_utils import data

    folder = tmp_path / "mixed"
    folder.mkdir()
    for p in bush_photos[1:3] + data.identity_photos("Colin_Powell", 2):
        shutil.copy(p, folder)
    result = extract.extract(folder, tmp_path / "out", reference=bush_photos[0], progress=False)
    where = {k: f[0]["face"] for k, f in result["frames"].items()}
    assert all(not v.startswith("other/") for k, v in where.items() if "Bush" in k)
    assert all(v.startswith("other/") for k, v in where.items() if "Powell" in k)


def test_crash_mid_run_keeps_what_was_written(tmp_path, bush_photos, monkeypatch):
    folder = tmp_path / "photos"
    folder.mkdir()
    for p in bush_photos[:4]:
        shutil.copy(p, folder)
    (folder / "0_broken.jpg").write_bytes(b"not a jpeg")  # reported and skipped, no longer a crash
    save = extract._save_face
    calls = []

    def crash_on_the_fourth(*args):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return save(*args)

    monkeypatch.setattr(extract, "_save_face", crash_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        extract.extract(folder, tmp_path / "out", progress=False)
    kept = extract.load_alignments(tmp_path / "out")
    assert kept["complete"] is False and len(kept["frames"]) == 3
    assert "0_broken" in kept["skipped"] and "0_broken.jpg" in kept["skipped"]["0_broken"]
    assert len(list((tmp_path / "out").glob("*.png"))) == 3
    monkeypatch.undo()
    again = extract.extract(folder, tmp_path / "out", progress=False)  # continues with the fourth photo
    assert again["run"]["resumed_frames"] == 3 and again["complete"] is True and len(again["frames"]) == 4


def test_bad_inputs(tmp_path, bush_photos):
    with pytest.raises(DeepfakeError, match="no such"):
        extract.extract(tmp_path / "nope.mp4", tmp_path / "out")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DeepfakeError, match="not a video"):
        extract.extract(tmp_path / "notes.txt", tmp_path / "out")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="empty"):
        extract.extract(tmp_path / "empty.mp4", tmp_path / "out")
    from deepfake_utils.fileio import write_image

    write_image(tmp_path / "wall.png", np.full((100, 100, 3), 50, np.uint8))
    with pytest.raises(NoFaceError, match="wall.png"):
        extract.extract(bush_photos[0].parent, tmp_path / "out", reference=tmp_path / "wall.png", max_frames=1)
    (tmp_path / "alignments.json").write_text("{not json")
    with pytest.raises(AlignmentsError, match="JSON"):
        extract.load_alignments(tmp_path)


def test_is_finished_accepts_only_a_complete_extraction_of_the_same_frames(sample_faces, sample_video, tmp_path):
    from deepfake_utils import data

    photos = data.training_photos("George_W_Bush", 8)
    assert extract.is_finished(sample_faces / "A", sample_video, 24)
    assert extract.is_finished(sample_faces / "B", photos[0].parent, 8)
    assert not extract.is_finished(sample_faces / "A", sample_video, 12)  # other sizes: not these faces
    assert not extract.is_finished(sample_faces / "A", sample_video)  # all 125 frames were asked for
    assert len(data.training_photos("George_W_Bush", 9)) == 9  # a ninth photo in the folder, not extracted
    assert not extract.is_finished(sample_faces / "B", photos[0].parent, 9)
    assert not extract.is_finished(sample_faces / "B", sample_video, 8)  # another source
    assert not extract.is_finished(tmp_path / "nothing", sample_video, 24)
    half = tmp_path / "half" / "A"
    shutil.copytree(sample_faces / "A", half)
    meta = json.loads((half / "alignments.json").read_text())
    meta["complete"] = False  # as while extract runs, or after a crash
    (half / "alignments.json").write_text(json.dumps(meta))
    assert not extract.is_finished(half, sample_video, 24)
    (half / "alignments.json").write_text('{"version": 1, "frames": {')  # damaged: never read as finished
    assert not extract.is_finished(half, sample_video, 24)


def test_sample_faces_reuses_a_finished_folder_and_else_extracts_its_own(sample_faces, sample_video, tmp_path,
                                                                         capsys):
    from deepfake_utils.errors import InvalidArgument

    reused = extract.sample_faces(tmp_path / "own", reuse=[tmp_path / "missing", sample_faces], max_frames=24,
                                  n_photos=8)
    assert reused == (sample_faces / "A", sample_faces / "B") and not (tmp_path / "own").exists()
    assert capsys.readouterr().out.count("a finished extraction, reused") == 2
    (own,) = extract.sample_faces(tmp_path / "own", reuse=[sample_faces], max_frames=3, sides="A", progress=False)
    assert own == tmp_path / "own" / "A" and extract.is_finished(own, sample_video, 3)
    assert sorted(extract.load_alignments(own)["frames"]) == ["000001", "000002", "000003"]
    with pytest.raises(InvalidArgument, match="sides"):
        extract.sample_faces(tmp_path / "own", sides="C")
