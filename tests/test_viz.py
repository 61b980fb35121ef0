import io

import numpy as np
import pytest
from PIL import Image, ImageSequence

from deepfake_utils import viz
from deepfake_utils.errors import DeepfakeError, ImageError, InvalidArgument


def gif_frames(data: bytes) -> list[tuple[np.ndarray, int]]:
    """The frames of a GIF file's bytes, each as (RGB array, duration in ms)."""
    with Image.open(io.BytesIO(data)) as gif:
        assert gif.format == "GIF"
        return [(np.asarray(f.convert("RGB")), f.info["duration"]) for f in ImageSequence.Iterator(gif)]


def previews(n: int, shape=(48, 72, 3)) -> list[np.ndarray]:
    """``n`` pictures that differ from one another: smooth gradients at different brightnesses."""
    ramp = np.linspace(0, 1, shape[1])[None, :, None] * np.linspace(0.5, 1, shape[0])[:, None, None]
    return [np.broadcast_to(np.clip(ramp * (60 + 40 * i) + 10 * i, 0, 255), shape).astype(np.uint8)
            for i in range(n)]


def test_timelapse_gif_has_one_captioned_frame_per_preview_and_holds_the_last():
    pictures = previews(4)
    frames = gif_frames(viz.timelapse_gif(pictures, [50, 100, 150, 200], frame_ms=300, hold_ms=1500))
    assert len(frames) == 4
    assert [ms for _, ms in frames] == [300, 300, 300, 1500]
    for (frame, _), picture in zip(frames, pictures, strict=True):
        assert frame.shape == (viz.CAPTION_PX + 48, 72, 3)
        body = frame[viz.CAPTION_PX :].astype(int)
        assert np.abs(body - picture).mean() < 2  # the picture itself, up to the GIF's 256-colour palette
        assert frame[: viz.CAPTION_PX].max() > 200  # the caption: white text on the black strip
    captions = [frame[: viz.CAPTION_PX] for frame, _ in frames]
    assert not np.array_equal(captions[0], captions[1])  # each frame names its own step
    assert np.array_equal(viz.captioned(pictures[2], "step 150")[viz.CAPTION_PX :], pictures[2])  # left as it was


def test_a_single_preview_makes_a_one_frame_gif():
    frames = gif_frames(viz.timelapse_gif(previews(1), [7]))
    assert len(frames) == 1 and frames[0][1] == 2000  # the default hold


def test_timelapse_gif_refuses_bad_input():
    with pytest.raises(InvalidArgument, match="at least one preview"):
        viz.timelapse_gif([], [])
    with pytest.raises(InvalidArgument, match="2 previews but 1 steps"):
        viz.timelapse_gif(previews(2), [1])
    with pytest.raises(ImageError, match=r"preview 1 \(step 20\) is 80x48 px, preview 0 is 72x48 px"):
        viz.timelapse_gif([previews(1)[0], previews(1, (48, 80, 3))[0]], [10, 20])
    with pytest.raises(ImageError, match="preview 0: expected a uint8 RGB image"):
        viz.timelapse_gif([np.zeros((8, 8), np.float32)], [1])
    with pytest.raises(DeepfakeError, match="at least 20 ms"):
        viz.timelapse_gif(previews(2), [1, 2], frame_ms=0)


def test_closeup_puts_several_swaps_of_a_frame_side_by_side_at_the_same_place():
    rng = np.random.default_rng(0)
    points = np.zeros((68, 2))
    points[36:42], points[42:48] = rng.uniform(30, 40, (6, 2)), rng.uniform(30, 40, (6, 2)) + (40, 0)  # two eyes
    points[48:68] = rng.uniform(0, 30, (20, 2)) + (40, 80)  # the mouth below them
    frames = [np.full((160, 160, 3), value, np.uint8) for value in (10, 120, 240)]  # source, two swaps
    picture = viz.closeup([(*frames, points)], height=32, labels=("source", "autoencoder", "GAN"))
    assert picture.shape[0] == 32 + 2 and picture.shape[2] == 3
    two = viz.closeup([(*frames[:2], points)], height=32)  # the demo's two columns
    assert two.shape[0] == 34 and picture.shape[1] > two.shape[1]
    # each tile is cut from its own image, in the labels' order: the eyes' three tiles, a black gap, the mouth's three
    row = picture[2, :, 0].tolist()  # above the labels: the tiles' own grey
    assert [v for i, v in enumerate(row) if i == 0 or v != row[i - 1]] == [10, 120, 240, 0, 10, 120, 240]
    with pytest.raises(ValueError, match="labels"):
        viz.closeup([(*frames, points)], labels=("source", "swap"))
