import errno
import os
import stat
import subprocess

import cv2
import numpy as np
import pytest

from deepfake_utils import fileio
from deepfake_utils.errors import ImageError, OutputError
from deepfake_utils.fileio import atomic_path, read_image, write_bytes_atomic, write_image
from deepfake_utils.images import ensure_rgb_uint8, to_rgb_uint8


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


def test_disk_full_inside_an_atomic_write_is_a_clear_error(tmp_path, photo):
    path = write_image(tmp_path / "face.png", photo)
    before = path.read_bytes()
    with pytest.raises(OutputError, match=r"face.png: cannot write it \(no space left.*free some space.*kept"):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["face.png"]


def test_full_disk_keeps_the_old_file(small_disk, fill_disk):
    path = write_bytes_atomic(small_disk / "state.json", b"{}")
    fill_disk(small_disk, leave=16_000)
    with pytest.raises(OutputError, match="state.json.*no space left"):
        write_bytes_atomic(path, b"x" * 200_000)
    assert path.read_bytes() == b"{}"
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "state.json"]


def test_temp_files_of_dead_writers_are_cleaned_on_the_next_write(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = [tmp_path / ".clip.k2j4_x9a.part.mp4",  # mkstemp's name (older versions)
             tmp_path / f".clip.{dead.pid}-0123abcd.part.mp4"]  # ours, its process is gone
    kept = [tmp_path / f".clip.{os.getpid()}-0123abcd.part.mp4",  # a live writer's: not touched
            tmp_path / ".clip.v2.k2j4_x9a.part.mp4",  # another file's (clip.v2.mp4)
            tmp_path / ".clip.k2j4_x9a.part.png"]  # another file's (clip.png)
    for p in stale + kept:
        p.write_bytes(b"half")
    assert sorted(fileio.stale_temp_files(tmp_path / "clip.mp4")) == sorted(stale)
    write_bytes_atomic(tmp_path / "clip.mp4", b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["clip.mp4"] + [p.name for p in kept])


def test_output_folder_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(OutputError, match="out is a file, not a folder"):
        write_bytes_atomic(tmp_path / "out" / "sub" / "a.json", b"{}")
    assert (tmp_path / "out").read_text() == "x"


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_new_files_get_the_users_umask(tmp_path, photo, frames, umask):
    from deepfake_utils import video

    old = os.umask(umask)
    try:
        written = [write_bytes_atomic(tmp_path / "a.json", b"{}"), write_image(tmp_path / "face.png", photo),
                   video.write_video([f[:64, :64] for f in frames[:2]], tmp_path / "clip.mp4", fps=25)]
    finally:
        os.umask(old)
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, (path.name, oct(path.stat().st_mode))


def test_overwriting_keeps_the_files_mode(tmp_path, photo, frames):
    from deepfake_utils import video

    paths = [write_bytes_atomic(tmp_path / "a.json", b"{}"), write_image(tmp_path / "face.png", photo),
             video.write_video([f[:64, :64] for f in frames[:2]], tmp_path / "clip.mp4", fps=25)]
    for path, mode in zip(paths, (0o600, 0o640, 0o664), strict=True):
        path.chmod(mode)
    write_bytes_atomic(paths[0], b"[]")
    write_image(paths[1], photo[::-1])
    video.write_video([f[:64, :64] for f in frames[:3]], paths[2], fps=25)
    assert [stat.S_IMODE(p.stat().st_mode) for p in paths] == [0o600, 0o640, 0o664]
    assert paths[0].read_bytes() == b"[]" and video.probe(paths[2]).n_frames == 3


def test_writing_through_a_symlink_replaces_its_target(tmp_path):
    target = write_bytes_atomic(tmp_path / "real.json", b"{}")
    (tmp_path / "link.json").symlink_to(target)
    write_bytes_atomic(tmp_path / "link.json", b"[]")
    assert (tmp_path / "link.json").is_symlink() and target.read_bytes() == b"[]"


def test_stale_temp_files_of_a_whole_folder_go_in_one_pass_and_writes_can_skip_the_scan(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = [tmp_path / f".000001_0.{dead.pid}-0123abcd.part.png", tmp_path / ".clip.k2j4_x9a.part.mp4",
             tmp_path / f".alignments.{dead.pid}-89abcdef.part.json"]
    kept = [tmp_path / f".000002_0.{os.getpid()}-0123abcd.part.png",  # a live writer's
            tmp_path / "000003_0.png", tmp_path / ".hidden.png"]
    for p in stale + kept:
        p.write_bytes(b"half")
    assert fileio.remove_stale_temp_files(tmp_path) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in kept)
    (tmp_path / stale[0].name).write_bytes(b"half")
    write_bytes_atomic(tmp_path / "000001_0.png", b"new", clean=False)  # the scan skipped: the leftover stays
    assert (tmp_path / stale[0].name).exists() and (tmp_path / "000001_0.png").read_bytes() == b"new"
    assert fileio.remove_stale_temp_files(tmp_path / "nope") == 0
