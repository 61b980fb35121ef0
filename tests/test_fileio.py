import cv2
import numpy as np
import pytest

from deepfake_utils.errors import ImageError
from deepfake_utils.fileio import atomic_path, ensure_rgb_uint8, read_image, to_rgb_uint8, write_image


def test_read_converts_grayscale_rgba_and_16bit(tmp_path, photo):
    grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    cv2.imwrite(str(tmp_path / "rgba.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    cv2.imwrite(str(tmp_path / "deep.png"), cv2.cvtColor(photo.astype(np.uint16) * 257, cv2.COLOR_RGB2BGR))
    for name in ("grey", "rgba", "deep"):
        img = read_image(tmp_path / f"{name}.png")
        assert img.dtype == np.uint8 and img.shape == photo.shape, name
    assert np.array_equal(read_image(tmp_path / "grey.png")[..., 0], grey)
    assert np.array_equal(read_image(tmp_path / "rgba.png"), photo)  # RGB order kept, alpha dropped
    assert np.array_equal(read_image(tmp_path / "deep.png"), photo)  # 16-bit scaled back to 8-bit


@pytest.mark.parametrize(
    "content,match", [(None, "no such file"), (b"", "empty"), (b"\x89PNG garbage", "not a readable")]
)
def test_bad_image_files_name_the_file(tmp_path, content, match):
    path = tmp_path / "bad.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageError, match=match) as info:
        read_image(path)
    assert "bad.png" in str(info.value)


def test_arrays_of_the_wrong_kind_get_a_clear_error(photo):
    with pytest.raises(ImageError, match="to_rgb_uint8"):
        ensure_rgb_uint8(photo[..., 0])
    with pytest.raises(ImageError, match="uint8 RGB"):
        ensure_rgb_uint8(photo.astype(np.float32))
    with pytest.raises(ImageError, match="0..1"):
        to_rgb_uint8(photo.astype(np.float32))  # 0..255 floats are ambiguous: refused
    assert to_rgb_uint8(photo.astype(np.float32) / 255).dtype == np.uint8


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, photo):
    path = write_image(tmp_path / "face.png", photo)
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash while writing")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["face.png"]
