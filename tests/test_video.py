import numpy as np
import pytest

from deepfake_utils import video
from deepfake_utils.errors import VideoError


def test_probe_sample_video(sample_video):
    info = video.probe(sample_video)
    assert info.fps == 25.0 and info.size == (844, 844) and info.n_frames == 125
    assert info.has_audio and info.codec == "h264"


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
