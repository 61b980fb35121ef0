import numpy as np
import pytest

from deepfake_utils import video
from deepfake_utils.errors import OutputError, VideoError


def test_probe_sample_video(sample_video):
    info = video.probe(sample_video)
    assert info.fps == 25.0 and info.size == (844, 844) and info.n_frames == 125
    assert info.has_audio and info.codec == "h264"


def test_probe_reads_a_file_once_until_it_changes(sample_video, frames, tmp_path, monkeypatch):
    import shutil

    opened = []
    real = video._ffmpeg_reader
    monkeypatch.setattr(video, "_ffmpeg_reader", lambda *a, **k: opened.append(a[0]) or real(*a, **k))
    path = tmp_path / "clip.mp4"
    shutil.copy(sample_video, path)
    first = video.probe(path)
    assert video.probe(path) == first and video.probe(str(path)) == first and opened == [path]  # asked again
    assert video.probe(path, count=False).counted is False and opened == [path] * 2  # another question
    video.write_video(frames[:3], path, fps=10)  # the same name, another video (write_video probes its part file)
    assert (video.probe(path).n_frames, video.probe(path).fps) == (3, 10.0) and opened.count(path) == 3
    path.unlink()
    with pytest.raises(VideoError):  # gone: an error, not the remembered answer
        video.probe(path)


def test_a_fingerprint_is_taken_once_until_the_file_changes(sample_video, frames, tmp_path, monkeypatch):
    import shutil

    seeks = []
    real = video._thumbnail_at
    monkeypatch.setattr(video, "_thumbnail_at", lambda path, t: seeks.append(t) or real(path, t))
    path = tmp_path / "clip.mp4"
    shutil.copy(sample_video, path)
    first = video.fingerprint(path)
    assert len(seeks) == len(video.FINGERPRINT_SAMPLES)
    again = video.fingerprint(str(path))
    assert again == first and len(seeks) == len(video.FINGERPRINT_SAMPLES)  # remembered: no ffmpeg run
    again["first"][0] += 99  # a copy: changing it changes nothing remembered
    assert video.fingerprint(path) == first
    assert video.fingerprint(path, at=[0.5])["at"][0][0] == 0.5 and seeks[-1] == 0.5  # other times: read
    video.write_video(frames[:3], path, fps=10)  # the same name, another video
    assert video.content_difference(first, video.fingerprint(path)) == "the first frames differ"


def test_frames_are_rgb_uint8_and_streamed(sample_video):
    frames = video.iter_frames(sample_video)
    first = next(frames)
    assert first.shape == (844, 844, 3) and first.dtype == np.uint8
    frames.close()  # a generator: the rest was never decoded


def test_ffmpeg_and_opencv_agree(sample_video):
    a = video.read_frames(sample_video, max_frames=3)
    b = video.read_frames(sample_video, max_frames=3, backend="opencv")
    assert len(a) == len(b) == 3
    # same decoder family, same RGB order: only colour-conversion rounding may differ
    assert np.abs(a[2].astype(int) - b[2].astype(int)).mean() < 3


@pytest.mark.parametrize("backend", ["ffmpeg", "opencv"])
def test_choose_fps(sample_video, backend):
    frames = video.read_frames(sample_video, fps=5, backend=backend)
    assert len(frames) == 25  # 5 s at 5 fps


def test_write_frames_and_read_back_as_folder(tmp_path, frames):
    paths = video.write_frames(frames[:3], tmp_path)
    assert [p.name for p in paths] == ["000001.png", "000002.png", "000003.png"]
    names, images = zip(*video.iter_images(tmp_path), strict=True)
    assert names == ("000001", "000002", "000003")
    assert np.array_equal(images[1], frames[1])


def test_write_video_with_audio(tmp_path, sample_video, frames):
    out = video.write_video(frames, tmp_path / "clip.mp4", fps=25, audio_from=sample_video,
                            metadata={"comment": "SYNTHETIC test clip"})
    info = video.probe(out)
    assert info.n_frames == len(frames) and info.size == (844, 844) and info.has_audio
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


@pytest.mark.parametrize("backend", ["ffmpeg", "opencv"])
def test_bad_videos_get_clear_errors(tmp_path, backend):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"this is not a video" * 100)
    for path, match in [(tmp_path / "missing.mp4", "no such file"), (empty, "empty"), (corrupt, "decode|open")]:
        with pytest.raises(VideoError, match=match) as info:
            list(video.iter_frames(path, backend=backend))
        assert path.name in str(info.value)
    with pytest.raises(VideoError, match="decode"):
        video.probe(corrupt)


def test_write_video_refuses_odd_sizes(tmp_path, frame):
    with pytest.raises(VideoError, match="even"):
        video.write_video([frame[:-1]], tmp_path / "odd.mp4", fps=25)
    assert not any(tmp_path.iterdir())


def _small(frames, n):
    """n frames cropped to 128x128 (a tiny, quick video)."""
    return [f[:128, :128] for f in frames[:n]]


def test_full_disk_keeps_the_old_video(small_disk, fill_disk, frames):
    old = video.write_video(_small(frames, 2), small_disk / "clip.mp4", fps=25)
    before = old.read_bytes()
    fill_disk(small_disk, leave=32_000)
    with pytest.raises(VideoError, match="no space left") as info:
        video.write_video(frames, old, fps=25)  # 13 frames of 844x844 need far more than 32 kB
    message = str(info.value)
    assert "clip.mp4" in message and "free some space" in message and "kept" in message
    assert "\n" not in message
    assert old.read_bytes() == before and video.probe(old).n_frames == 2
    assert sorted(p.name for p in small_disk.iterdir()) == ["clip.mp4", "filler"]  # no temp file left


@pytest.mark.parametrize("script,match", [
    # what ffmpeg does on a full disk: complain, leave a broken file, exit non-zero
    ('cat > /dev/null; head -c 1000 /dev/urandom > "$OUT"; '
     'echo "[out#0/mp4 @ 0x1] Error writing trailer: No space left on device" >&2; exit 228',
     r"exit 228: no space left.*free some space"),
    # any other failure: its last line is the cause
    ('cat > /dev/null; echo "[libx264 @ 0x1] broken encoder" >&2; exit 1', "exit 1: broken encoder"),
    # exit 0 but a truncated file: the probe refuses it
    ('"$REAL" "$@" && truncate -s 2000 "$OUT"', "unreadable"),
    # exit 0 but frames missing: the frame count refuses it
    ('"$REAL" "${@:1:$#-1}" -frames:v 2 "$OUT"', "wrote 2 frames"),
])
def test_failed_video_writes_never_replace_the_old_file(tmp_path, frames, fake_ffmpeg, script, match):
    old = video.write_video(_small(frames, 3), tmp_path / "clip.mp4", fps=25)
    before = old.read_bytes()
    fake_ffmpeg(script)
    with pytest.raises(VideoError, match=match) as info:
        video.write_video(_small(frames, 6), old, fps=25)
    assert "clip.mp4" in str(info.value) and "\n" not in str(info.value)
    assert old.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "fake-ffmpeg"]


def test_reading_uses_the_real_ffmpeg_while_the_writers_is_replaced(tmp_path, frames, fake_ffmpeg, monkeypatch):
    """Fingerprints and the damage check read with the real ffmpeg: a test's fake writer (which writes its last
    argument, "-" for a pipe) is not run, and no file named "-" appears."""
    clip = video.write_video(_small(frames, 6), tmp_path / "clip.mp4", fps=25)
    fake_ffmpeg('head -c 5000 /dev/urandom > "$OUT"; exit 0')
    monkeypatch.chdir(tmp_path)
    printed = video.fingerprint(clip)
    assert len(printed["first"]) == 4 * 64 and all(v is not None for _, v in printed["at"])
    assert video.compare_with(printed, clip) is None and video.decode_damage(clip) == video.DecodeDamage(0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "fake-ffmpeg"]


def test_a_failing_frame_source_stops_ffmpeg_and_keeps_the_old_file(tmp_path, frames):
    old = video.write_video(_small(frames, 3), tmp_path / "clip.mp4", fps=25)
    before = old.read_bytes()

    def crashing():
        yield from _small(frames, 2)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        video.write_video(crashing(), old, fps=25)
    assert old.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


@pytest.mark.parametrize("name,match", [("out.txt", "suffix '.txt'.*out.mp4"), ("out.webm", "suffix '.webm'"),
                                        ("out", "suffix '\\(none\\)'")])
def test_write_video_refuses_containers_it_cannot_write(tmp_path, frames, name, match):
    with pytest.raises(VideoError, match=match):
        video.write_video(_small(frames, 2), tmp_path / name, fps=25)
    assert not any(tmp_path.iterdir())


def test_write_video_output_folder_errors(tmp_path, frames):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="afile is a file, not a folder"):
        video.write_video(_small(frames, 2), tmp_path / "afile" / "out.mp4", fps=25)
    (tmp_path / "out.mp4").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        video.write_video(_small(frames, 2), tmp_path / "out.mp4", fps=25)
