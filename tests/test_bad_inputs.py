"""Bad inputs against the real command line: each gets one clear error line (or a repair), the right exit code,
and no file already on disk is lost (issue 14)."""
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake_utils import cli, extract, video
from deepfake_utils.fileio import read_image, write_image


def _error_line(err: str) -> str:
    """The one ``error:`` line on stderr (progress bars write there too), which must be the last line."""
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    assert sum(line.startswith("error:") for line in lines) == 1, err
    assert lines[-1].startswith("error:"), err
    return lines[-1]


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes (to check that nothing was lost or changed)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _fails(args: list[str], capsys, *expected: str) -> str:
    assert cli.main(args) == 1, args
    line = _error_line(capsys.readouterr().err)
    for text in expected:
        assert text in line, line
    return line


@pytest.fixture(scope="module")
def photos(bush_photos, tmp_path_factory) -> Path:
    """Three photos of one person."""
    folder = tmp_path_factory.mktemp("photos")
    for p in bush_photos[:3]:
        shutil.copy(p, folder)
    return folder


# --- extract ------------------------------------------------------------------------------------
def test_extract_continues_keeps_deletions_and_refuses_another_source(sample_video, photos, tmp_path, capsys):
    out = tmp_path / "faces"
    assert cli.main(["extract", str(sample_video), str(out), "--max-frames", "4"]) == 0
    (out / "000002_0.png").unlink()  # the user excludes a face
    (out / "blurry").mkdir()
    (out / "000003_0.png").rename(out / "blurry" / "000003_0.png")  # and sets one aside
    capsys.readouterr()
    assert cli.main(["extract", str(sample_video), str(out), "--max-frames", "6"]) == 0
    printed = capsys.readouterr().out
    assert "4 frames were already done" in printed and "1 deleted faces marked removed" in printed, printed
    assert not (out / "000002_0.png").exists()  # never written again
    meta = json.loads((out / "alignments.json").read_text())
    assert list(meta["frames"]) == [f"{i:06d}" for i in range(1, 7)] and meta["complete"] is True
    assert meta["frames"]["000002"][0]["removed"] is True
    assert meta["frames"]["000003"][0]["face"] == "blurry/000003_0.png"
    from deepfake_utils.swap import _faces_from_alignments

    faces, removed = _faces_from_alignments(out)  # convert's reading: both are left unswapped
    assert removed == 2 and faces["000002"] is None and faces["000003"] is None and faces["000004"] is not None

    before = _snapshot(out)
    _fails(["extract", str(photos), str(out)], capsys, str(out), "another extraction", "source '2.mp4'",
           "--overwrite")
    assert _snapshot(out) == before
    _fails(["extract", str(sample_video), str(out), "--max-frames", "6", "--size", "128"], capsys,
           "face size 256, not 128", "--overwrite")
    assert _snapshot(out) == before
    assert cli.main(["extract", str(photos), str(out), "--overwrite"]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == sorted(f"{p.stem}_0.png" for p in photos.iterdir())
    assert not list(out.rglob("0000*.png"))  # the other video's faces are gone: they are not trained on


def test_extract_into_a_folder_of_untracked_images_is_refused(photos, tmp_path, capsys):
    out = tmp_path / "faces"
    out.mkdir()
    shutil.copy(next(photos.iterdir()), out / "mine.jpg")
    _fails(["extract", str(photos), str(out)], capsys, str(out), "1 images", "no alignments.json", "move them away")
    assert [p.name for p in out.iterdir()] == ["mine.jpg"]
    (out / "mine.jpg").unlink()
    (out / "alignments.json").write_bytes(os.urandom(200))
    _fails(["extract", str(photos), str(out)], capsys, "alignments.json: damaged", "move it away")


def test_extract_skips_unreadable_images_and_keeps_every_face_of_a_group_photo(bush_photos, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(bush_photos[0], folder / "a.jpg")
    (folder / "b_broken.jpg").write_bytes(b"not a jpeg")
    from deepfake_utils import data

    powell = data.identity_photos("Colin_Powell", 1)[0]
    two = np.concatenate([read_image(bush_photos[1]), read_image(powell)], axis=1)
    write_image(folder / "c_pair.png", two)
    out = tmp_path / "faces"
    assert cli.main(["extract", str(folder), str(out)]) == 0
    captured = capsys.readouterr()
    assert "1 unreadable images skipped" in captured.err and "b_broken.jpg" in captured.err
    assert "1 images with several faces (c_pair): all kept as _0, _1" in captured.out, captured.out
    assert {p.name for p in out.glob("*.png")} == {"a_0.png", "c_pair_0.png", "c_pair_1.png"}
    meta = json.loads((out / "alignments.json").read_text())
    assert "b_broken" in meta["skipped"] and "b_broken" not in meta["frames"]
    # with a reference, the reference person stays, the other face goes into other/
    assert cli.main(["extract", str(folder), str(tmp_path / "ref"), "--reference", str(bush_photos[1])]) == 0
    assert "the reference person's at the top level, the others in other/" in capsys.readouterr().out
    pair = json.loads((tmp_path / "ref" / "alignments.json").read_text())["frames"]["c_pair"]
    assert sorted(face["face"].startswith("other/") for face in pair) == [False, True]
    assert all((tmp_path / "ref" / face["face"]).is_file() for face in pair)


def test_extract_of_a_video_without_a_face_exits_1(tmp_path, capsys):
    clip = video.write_video([np.full((96, 128, 3), 90, np.uint8)] * 3, tmp_path / "wall.mp4", fps=25)
    _fails(["extract", str(clip), str(tmp_path / "out")], capsys, "wall.mp4: no face found in any of its 3 frames")
    assert len(extract.load_alignments(tmp_path / "out")["frames"]) == 3  # recorded: a re-run has nothing to redo


def test_extract_reports_a_truncated_video(sample_video, tmp_path, capsys):
    import imageio_ffmpeg

    whole = tmp_path / "whole.mp4"  # the index at the front: a cut file still plays its first frames
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(sample_video), "-c", "copy",
                    "-movflags", "faststart", str(whole)], check=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[:70_000])
    line = _fails(["extract", str(cut), str(tmp_path / "out")], capsys, "cut.mp4: truncated: only",
                  "of its 125 frames decode", "run extract again to continue")
    n = int(line.split("only ")[1].split()[0])
    assert 0 < n < 125 and len(extract.load_alignments(tmp_path / "out")["frames"]) == n
    # cut where the index is missing (the usual layout keeps it at the end)
    cut.write_bytes(sample_video.read_bytes()[:70_000])
    _fails(["extract", str(cut), str(tmp_path / "out2")], capsys, "cut.mp4", "may be truncated")


def test_extract_refuses_bad_sizes_and_outputs(sample_video, photos, tmp_path, capsys):
    for size in ("0", "-5", "32"):
        _fails(["extract", str(sample_video), str(tmp_path / "out"), "--size", size], capsys,
               f"--size {size}: aligned faces must be at least 64 px")
    _fails(["extract", str(sample_video), str(tmp_path / "out"), "--max-frames", "0"], capsys, "--max-frames 0")
    (tmp_path / "afile").write_text("keep me")
    _fails(["extract", str(sample_video), str(tmp_path / "afile")], capsys, "afile: it is a file, not a folder")
    _fails(["extract", str(sample_video), str(tmp_path / "afile" / "faces")], capsys, "is a file, not a folder")
    before = _snapshot(photos)
    _fails(["extract", str(photos), str(photos)], capsys, "is the input folder")
    assert _snapshot(photos) == before and (tmp_path / "afile").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_a_killed_extraction_resumes_and_matches_an_uninterrupted_one(sample_video, tmp_path):
    frames = 14
    straight = extract.extract(sample_video, tmp_path / "straight", max_frames=frames, progress=False)
    out = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import time
        from deepfake_utils import extract, metrics
        extract.SAVE_SECONDS = 0  # save after every frame, and go slowly, so that the kill lands mid-run
        score = metrics.sharpness
        metrics.sharpness = lambda crop: (time.sleep(0.3), score(crop))[1]
        extract.extract({str(sample_video)!r}, {str(out)!r}, max_frames={frames}, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            done = len(json.loads((out / "alignments.json").read_text())["frames"])
        except (OSError, ValueError):
            done = 0
        if done >= 4:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    killed = json.loads((out / "alignments.json").read_text())
    assert killed["complete"] is False and 4 <= len(killed["frames"]) < frames
    resumed = extract.extract(sample_video, out, max_frames=frames, progress=False)
    assert resumed["run"]["resumed_frames"] == len(killed["frames"]) and resumed["complete"] is True
    saved = lambda m: {k: [{f: v for f, v in face.items()} for face in faces]  # noqa: E731
                       for k, faces in m["frames"].items()}
    assert saved(json.loads((out / "alignments.json").read_text())) == saved(
        json.loads((tmp_path / "straight" / "alignments.json").read_text()))
    assert _snapshot(out).keys() == _snapshot(tmp_path / "straight").keys()  # no temp files left
    for name in straight["frames"]:
        assert (out / f"{name}_0.png").read_bytes() == (tmp_path / "straight" / f"{name}_0.png").read_bytes()


# --- train --------------------------------------------------------------------------------------
def _train(faces: Path, model: Path, *extra: str) -> list[str]:
    return ["train", str(faces / "A"), str(faces / "B"), str(model), *extra]


@pytest.fixture(scope="module")
def trained(sample_faces, tmp_path_factory) -> Path:
    """A model folder trained through the command line: 2 steps of batch 4, a checkpoint after each."""
    model = tmp_path_factory.mktemp("trained") / "m"
    assert cli.main(_train(sample_faces, model, "--steps", "2", "--batch-size", "4", "--save-every", "1")) == 0
    return model


def _copy(model: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model, tmp_path / "m"))


def test_train_refuses_bad_arguments_before_loading_anything(sample_faces, tmp_path, capsys):
    model = tmp_path / "m"
    cases = [(["--steps", "0"], "--steps 0: must be positive"), (["--steps", "-3"], "--steps -3: must be positive"),
             (["--steps", "5", "--batch-size", "0"], "--batch-size 0: must be positive"),
             (["--minutes", "0"], "--minutes 0.0: must be positive"),
             (["--steps", "5", "--learning-rate", "-1"], "--learning-rate -1.0: must be positive"),
             ([], "say how long to train")]
    for extra, expected in cases:
        _fails(_train(sample_faces, model, *extra), capsys, expected)
    a = str(sample_faces / "A")
    _fails(["train", a, a + "/", str(model), "--steps", "1"], capsys, "given as both A and B")
    _fails(["train", a, str(sample_faces / "B"), a, "--steps", "1"], capsys, "the model folder is the face folder")
    assert not model.exists()


def test_train_resume_applies_a_new_learning_rate_and_refuses_a_new_seed_or_batch(sample_faces, trained, tmp_path,
                                                                                 capsys):
    from deepfake_utils import train
    from deepfake_utils.model import get_preset

    model = _copy(trained, tmp_path)
    first = get_preset("tiny").learning_rate  # `trained`'s: the preset's (4e-4)
    capsys.readouterr()
    assert cli.main(_train(sample_faces, model, "--steps", "3", "--learning-rate", "1e-4")) == 0
    assert f"changed: learning rate {first:g} -> 0.0001 from step 2" in capsys.readouterr().out
    state = json.loads((model / "state.json").read_text())
    assert state["learning_rate"] == 1e-4 and state["learning_rates"] == [[0, first], [2, 1e-4]] and first != 1e-4
    resumed = train.Trainer(model)
    assert resumed.learning_rate == 1e-4 and float(resumed.opt_a.learning_rate.numpy()) == pytest.approx(1e-4)
    before = _snapshot(model)
    _fails(_train(sample_faces, model, "--steps", "4", "--batch-size", "8"), capsys,
           "trained with --batch-size 4, not 8", "leave --batch-size out to resume")
    _fails(_train(sample_faces, model, "--steps", "4", "--seed", "7"), capsys, "trained with --seed 1234, not 7")
    assert _snapshot(model) == before


def test_train_falls_back_to_the_previous_checkpoint_and_cleans_temp_leftovers(sample_faces, trained, tmp_path,
                                                                                capsys):
    model = _copy(trained, tmp_path)
    data = next((model / "ckpt-000002").glob("ckpt.data-*"))
    data.write_bytes(data.read_bytes()[:100])  # the newest checkpoint is damaged
    leftover = model / ".tmp-ckpt-000003-999999999-1"  # a save killed half-way (its process is gone)
    (leftover / "ckpt").mkdir(parents=True)
    capsys.readouterr()
    assert cli.main(_train(sample_faces, model, "--steps", "3")) == 0
    captured = capsys.readouterr()
    assert "warning: " in captured.err and "fell back to the previous checkpoint, ckpt-000001 (step 1)" in captured.err
    assert "steps 1 -> 3" in captured.out
    assert (model / "damaged-ckpt-000002").is_dir() and not leftover.exists()  # set aside, not deleted
    state = json.loads((model / "state.json").read_text())
    assert state["step"] == 3 and [h[0] for h in state["history"]] == [1, 2, 3]


def test_train_state_json_of_binary_garbage_is_a_clear_error(sample_faces, trained, tmp_path, capsys):
    model = _copy(trained, tmp_path)
    (model / "state.json").write_bytes(bytes(range(256)) * 4)
    before = _snapshot(model)
    _fails(_train(sample_faces, model, "--steps", "2"), capsys, "state.json: unreadable (binary data, not JSON)",
           "checkpoint folders beside it are kept")
    assert _snapshot(model) == before


def test_a_checkpoint_save_on_a_full_disk_fails_clearly_and_keeps_the_last_one(sample_faces, trained, tmp_path,
                                                                               capsys, monkeypatch):
    import tensorflow as tf

    model = _copy(trained, tmp_path)
    before = _snapshot(model)

    def full_disk(self, prefix, options=None):
        Path(prefix).parent.mkdir(parents=True, exist_ok=True)
        Path(prefix + ".index").write_bytes(b"half")
        raise tf.errors.ResourceExhaustedError(None, None, f"{prefix}.data-00000-of-00001; No space left on device")

    monkeypatch.setattr(tf.train.Checkpoint, "write", full_disk)
    capsys.readouterr()
    from deepfake_utils.fileio import mount_point

    line = _fails(_train(sample_faces, model, "--steps", "3"), capsys,
                  f"ckpt-000003: cannot save the checkpoint: no space left on {mount_point(model)} (about",
                  "MB needed", "MB free", "free some space", "the last checkpoint (ckpt-000002, step 2) is kept")
    assert "ResourceExhausted" not in line and "data-00000" not in line  # the disk and the size, not TensorFlow's text
    last = sum(p.stat().st_size for p in (model / "ckpt-000002").rglob("*") if p.is_file())
    assert f"about {last / 1e6:.1f} MB needed" in line  # as much as the last checkpoint took
    after = _snapshot(model)
    assert {k: v for k, v in after.items() if k != "preview.png"} == {k: v for k, v in before.items()
                                                                      if k != "preview.png"}
    monkeypatch.undo()
    from deepfake_utils import train

    assert train.Trainer(model).step == 2


def test_a_first_checkpoint_on_a_full_disk_says_about_how_much_it_needs(tmp_path, monkeypatch):
    """No checkpoint yet (an OSError this time): the size comes from the variables, near what a save then takes."""
    import errno
    import re

    import tensorflow as tf

    from deepfake_utils import train
    from deepfake_utils.errors import OutputError

    trainer = train.Trainer(tmp_path / "m", "tiny", batch_size=2)
    write = tf.train.Checkpoint.write

    def full_disk(self, prefix, options=None):
        raise OSError(errno.ENOSPC, "No space left on device", prefix)

    monkeypatch.setattr(tf.train.Checkpoint, "write", full_disk)
    with pytest.raises(OutputError, match=r"ckpt-000000: cannot save the checkpoint: no space left on /\S* \(about "
                                          r"[\d.]+ MB needed, [\d.]+ MB free\); free some space") as caught:
        trainer.save()
    assert "Errno" not in str(caught.value) and not list((tmp_path / "m").iterdir())
    needed = float(re.search(r"about ([\d.]+) MB needed", str(caught.value))[1])
    monkeypatch.setattr(tf.train.Checkpoint, "write", write)
    saved = trainer.save()
    size = sum(p.stat().st_size for p in saved.rglob("*") if p.is_file()) / 1e6
    assert 0.8 * size <= needed <= 1.2 * size, (needed, size)


def test_train_resizes_faces_of_any_crop_size_and_needs_no_four_faces(sample_faces, tmp_path, capsys):
    from deepfake_utils import train

    small, large = tmp_path / "A128", tmp_path / "B512"
    small.mkdir()
    large.mkdir()
    for path in sorted((sample_faces / "A").glob("*.png"))[:3]:
        write_image(small / path.name, cv2.resize(read_image(path), (128, 128), interpolation=cv2.INTER_AREA))
    for path in sorted((sample_faces / "B").glob("*.png"))[:2]:
        write_image(large / path.name, cv2.resize(read_image(path), (512, 512), interpolation=cv2.INTER_CUBIC))
    assert {f.shape for f in train.load_faces(small) + train.load_faces(large)} == {(256, 256, 3)}
    model = tmp_path / "m"
    assert cli.main(["train", str(small), str(large), str(model), "--steps", "1", "--batch-size", "2"]) == 0
    assert read_image(model / "preview.png").shape[0] == 4 * 64  # four rows, faces repeated
    write_image(small / "zz_wide.png", np.zeros((128, 200, 3), np.uint8))
    _fails(["train", str(small), str(large), str(tmp_path / "m2"), "--steps", "1"], capsys,
           "zz_wide.png: 200x128 is not a square aligned face")


def test_train_skips_unreadable_faces_with_a_count(sample_faces, tmp_path):
    from deepfake_utils import train
    from deepfake_utils.errors import DeepfakeError, DeepfakeWarning

    faces = tmp_path / "A"
    shutil.copytree(sample_faces / "A", faces)
    good = len(list(faces.glob("*.png")))
    (faces / "000002_0.png").write_bytes(b"not a png")  # a face damaged on disk
    (faces / "zz_empty.png").write_bytes(b"")  # and one that was never written
    with pytest.warns(DeepfakeWarning, match=rf"{faces}: 2 of {good + 1} images unreadable, skipped") as caught:
        loaded = train.load_faces(faces)  # what `train` loads: it trains on the others
    assert len(loaded) == good - 1 and "000002_0.png" in str(caught[0].message) and "zz_empty.png" in str(
        caught[0].message)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"junk")
    with pytest.raises(DeepfakeError, match="none of its 1 images can be read"):
        train.load_faces(broken)


# --- the table of bad inputs (issue 24): a new case is one row ------------------------------------------
class Inputs:
    """Input files the rows build on, made once per session (small: 256 px frames of the sample video)."""

    def __init__(self, root: Path, sample_video: Path, tiny_model: Path, sample_faces: Path) -> None:
        self.root, self.sample_video, self.model, self.sample_faces = root, sample_video, tiny_model, sample_faces
        self._made: dict[str, Path] = {}

    def _once(self, name: str, make) -> Path:
        if name not in self._made:
            self._made[name] = make(self.root / name)
        return self._made[name]

    def _frames(self, start: int, n: int, shift: int = 0) -> list[np.ndarray]:
        frames = [f for i, f in enumerate(video.iter_frames(self.sample_video, max_frames=start + n)) if i >= start]
        return [cv2.resize(np.roll(f, shift, axis=1), (256, 256), interpolation=cv2.INTER_AREA) for f in frames]

    def clip(self) -> Path:
        """8 frames, 25 fps, 256x256, called clip.mp4."""
        return self._once("clip/clip.mp4", lambda p: video.write_video(self._frames(0, 8), p, fps=25))

    def other_clip(self) -> Path:
        """Another video, also called clip.mp4, of the same size, length and fps (the face 200 px to the side)."""
        return self._once("other/clip.mp4", lambda p: video.write_video(self._frames(0, 8, 200), p, fps=25))

    def spliced_clip(self) -> Path:
        """Another clip.mp4 of the same size, length and fps that starts as the clip does: its first four frames are
        the clip's, the last four have the face 200 px to the side."""
        return self._once("spliced/clip.mp4", lambda p: video.write_video(
            self._frames(0, 8)[:4] + self._frames(0, 8, 200)[4:], p, fps=25))

    def fast_clip(self) -> Path:
        """The clip's frames in a container that says 1000 fps (ffmpeg prints "1k fps", imageio reads 0)."""
        return self._once("fast/clip.mp4", lambda p: video.write_video(self._frames(0, 4), p, fps=1000))

    def vfr_clip(self) -> Path:
        """6 frames with a variable frame rate (the last three held 0.2 s each): constant-rate decoding repeats them."""
        def make(path: Path) -> Path:
            import imageio_ffmpeg

            path.parent.mkdir(parents=True)
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(self.clip()), "-frames:v", "6",
                            "-vf", "setpts='if(lt(N,3),N*0.04,0.12+(N-3)*0.2)/TB'", "-fps_mode", "vfr",
                            "-pix_fmt", "yuv420p", str(path)], check=True)
            return path
        return self._once("vfr/clip.mp4", make)

    def truncated_clip(self) -> Path:
        """A 20-frame clip cut after 60% of its bytes (index at the front: the first frames still decode)."""
        def make(path: Path) -> Path:
            import imageio_ffmpeg

            whole = video.write_video(self._frames(0, 20), path.with_name("whole.mp4"), fps=25)
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(whole), "-c", "copy",
                            "-movflags", "faststart", str(path.with_name("fast.mp4"))], check=True)
            data = path.with_name("fast.mp4").read_bytes()
            path.write_bytes(data[:len(data) * 6 // 10])
            return path
        return self._once("cut/clip.mp4", make)

    def damaged_clip(self) -> Path:
        """24 frames with 1000 bytes overwritten 70% of the way into the file (ffmpeg decodes it with errors)."""
        def make(path: Path) -> Path:
            data = bytearray(video.write_video(self._frames(0, 24), path.with_name("whole.mp4"), fps=25).read_bytes())
            at = len(data) * 7 // 10
            data[at:at + 1000] = np.random.default_rng(0).integers(0, 256, 1000, dtype=np.uint8).tobytes()
            path.write_bytes(bytes(data))
            return path
        return self._once("damaged/clip.mp4", make)

    def upside_down_clip(self, upright: int = 2) -> Path:
        """The clip with all but its first ``upright`` frames upside down in the picture."""
        return self._once(f"upside{upright}/clip.mp4", lambda p: video.write_video(
            [f if i < upright else np.ascontiguousarray(np.rot90(f, 2)) for i, f in enumerate(self._frames(0, 8))],
            p, fps=25))

    def sideways_clip(self) -> Path:
        """The clip with every frame turned 90° clockwise (the face lies on its side)."""
        return self._once("sideways/clip.mp4", lambda p: video.write_video(
            [np.ascontiguousarray(np.rot90(f, -1)) for f in self._frames(0, 8)], p, fps=25))

    def phone_clip(self) -> Path:
        """A phone video: frames stored sideways (192x256, the face turned), and metadata that turns them upright."""
        def make(path: Path) -> Path:
            import imageio_ffmpeg

            stored = video.write_video([np.ascontiguousarray(np.rot90(f[32:224], -1)) for f in self._frames(0, 8)],
                                       path.with_name("stored.mp4"), fps=25)
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-display_rotation", "90", "-i",
                            str(stored), "-c", "copy", str(path)], check=True)
            return path
        return self._once("phone/clip.mp4", make)

    def faces(self) -> Path:
        """The clip's aligned faces and alignments.json."""
        return self._once("faces", lambda p: (extract.extract(self.clip(), p, progress=False), p)[1])


@pytest.fixture(scope="session")
def inputs(tmp_path_factory, sample_video, tiny_model, sample_faces) -> Inputs:
    return Inputs(tmp_path_factory.mktemp("bad-inputs"), sample_video, tiny_model, sample_faces)


def _copy_in(source: Path, to: Path) -> str:
    (shutil.copytree if source.is_dir() else shutil.copy)(source, to)
    return str(to)


def _clip(i: Inputs, d: Path) -> dict[str, str]:
    return {"video": _copy_in(i.clip(), d / "clip.mp4"), "model": str(i.model)}


def _other_with_faces(i: Inputs, d: Path) -> dict[str, str]:
    """Another video with the same name, size and fps as the clip, and the clip's faces."""
    (d / "new").mkdir()
    return {"video": _copy_in(i.other_clip(), d / "new" / "clip.mp4"), "faces": _copy_in(i.faces(), d / "faces"),
            "model": str(i.model)}


def _spliced_with_faces(i: Inputs, d: Path) -> dict[str, str]:
    """A video with the clip's name, size, fps and first frames (not the later ones), and the clip's faces."""
    (d / "new").mkdir()
    return {"video": _copy_in(i.spliced_clip(), d / "new" / "clip.mp4"), "faces": _copy_in(i.faces(), d / "faces"),
            "model": str(i.model)}


def _folder(*names: str):
    def build(i: Inputs, d: Path) -> dict[str, str]:
        (d / "in").mkdir()
        for name in names:
            _copy_in(i.clip(), d / "in" / name)
        return {"folder": str(d / "in")}
    return build


def _one(name: str, d_name: str = "clip.mp4"):
    return lambda i, d: {"video": _copy_in(getattr(i, name)(), d / d_name), "model": str(i.model)}


def _raw_photos(i: Inputs, d: Path) -> dict[str, str]:
    from deepfake_utils import data

    (d / "photos").mkdir()
    for p in data.identity_photos("George_W_Bush", 3):  # 250x250: square, but not aligned faces
        shutil.copy(p, d / "photos")
    return {"faces": _copy_in(i.faces(), d / "faces"), "photos": str(d / "photos")}


def _model_and_faces(i: Inputs, d: Path) -> dict[str, str]:
    """A copy of the tiny model (trained on the sample faces A and B) and those faces."""
    return {"model": _copy_in(i.model, d / "m"), "A": str(i.sample_faces / "A"), "B": str(i.sample_faces / "B")}


@dataclass(frozen=True)
class Case:
    """One bad input: its builder (writes the inputs into an empty folder, returns their paths by name), the
    command ({name} filled in), the exit code, fragments of the error line (exit 1) or of the output (exit 0),
    and the files the run may create or rewrite there (prefixes, each must exist afterwards); every other file in
    the folder must stay as it was (none added, changed or removed)."""

    id: str
    build: Callable[[Inputs, Path], dict[str, str]]
    args: str
    code: int = 1
    says: tuple[str, ...] = ()
    creates: tuple[str, ...] = ()


CONVERT = "convert {video} {model} {tmp}/out.mp4"
CASES = [
    # extract
    Case("extract --size huge", _clip, "extract {video} {tmp}/out --size 100000", says=("--size 100000", "at most")),
    Case("extract --fps above the video's", _clip, "extract {video} {tmp}/out --fps 1000",
         says=("--fps 1000: above the 25 frames/s of clip.mp4", "only drops frames")),
    Case("extract --fps 1e9", _clip, "extract {video} {tmp}/out --fps 1e9", says=("--fps 1e+09: above",)),
    Case("extract --max-frames 0", _clip, "extract {video} {tmp}/out --max-frames 0", says=("--max-frames 0",)),
    Case("extract an empty folder", _folder(), "extract {folder} {tmp}/out", says=("no images in this folder",)),
    Case("extract a folder of videos", _folder("a.mp4", "b.mp4"), "extract {folder} {tmp}/out",
         says=("holds videos (a.mp4, b.mp4) but no images", "extract each video on its own")),
    Case("extract resumes only the same video", _other_with_faces, "extract {video} {faces}",
         says=("another video with the same name 'clip.mp4'", "--overwrite")),
    Case("extract resumes only the same video, not one that only starts alike", _spliced_with_faces,
         "extract {video} {faces}", says=("another video with the same name 'clip.mp4': the frame at 0.18 s differs",
                                          "--overwrite")),
    Case("extract a video with damaged bytes warns, naming the frames", _one("damaged_clip"),
         "extract {video} {tmp}/out", code=0, says=("warning: ", "clip.mp4: damaged: ffmpeg reported", "decode errors",
                                                    "may be smeared", "delete the smeared ones"), creates=("out/",)),
    Case("extract a video turned in most frames hints how to turn it", _one("upside_down_clip"),
         "extract {video} {tmp}/out", code=0, says=("2/8 frames with a face", "warning: ",
                                                    "faces found in only 2 of its 8 frames",
                                                    "show a face when turned upside down (180°)",
                                                    "ffmpeg -i clip.mp4 -vf hflip,vflip -c:a copy clip_upright.mp4"),
         creates=("out/",)),
    Case("extract a video turned in every frame: the error says how to turn it",
         lambda i, d: {"video": _copy_in(i.upside_down_clip(0), d / "clip.mp4")}, "extract {video} {tmp}/out",
         says=("no face found in any of its 8 frames", "when turned upside down (180°)", "-vf hflip,vflip"),
         creates=("out/",)),
    Case("extract a phone video turned by its metadata", _one("phone_clip"), "extract {video} {tmp}/out", code=0,
         says=("clip.mp4: its metadata turns it by 90° (a phone video): its frames are read upright, 256x192",
               "8/8 frames with a face"), creates=("out/",)),
    Case("extract a 1000 fps video", _one("fast_clip"), "extract {video} {tmp}/out", code=0,
         says=("4/4 frames with a face",), creates=("out/",)),
    Case("extract a variable-frame-rate video: each frame once", _one("vfr_clip"), "extract {video} {tmp}/out",
         code=0, says=("6/6 frames with a face",), creates=("out/",)),
    # convert
    Case("convert --erode 5", _clip, CONVERT + " --erode 5", says=("--erode 5: a share of the face size",)),
    Case("convert --erode 0.5", _clip, CONVERT + " --erode 0.5", says=("--erode 0.5",)),
    Case("convert --erode with --blur", _clip, CONVERT + " --erode 0.15 --blur 0.15",
         says=("--erode 0.15 with --blur 0.15", "lower one")),
    Case("convert --blur -1", _clip, CONVERT + " --blur -1", says=("--blur -1: a share of the face size",)),
    Case("convert --sharpen -1", _clip, CONVERT + " --sharpen -1", says=("--sharpen -1: an unsharp-mask amount",)),
    Case("convert --label ''", _clip, CONVERT + " --label=", says=("--label ''", "--no-label")),
    Case("convert --max-frames 0", _clip, CONVERT + " --max-frames 0", says=("--max-frames 0: must be at least 1",)),
    Case("convert --batch-size 0", _clip, CONVERT + " --batch-size 0", says=("--batch-size 0",)),
    Case("convert --frames beyond the video", _clip, CONVERT + " --frames 900-999",
         says=("--frames 900-999: clip.mp4 has frames 1-8", "none of them")),
    Case("convert --alignments of another video of the same name", _other_with_faces,
         CONVERT + " --alignments {faces}", says=("extracted from another video also called 'clip.mp4'",)),
    Case("convert --alignments of another video that only starts alike", _spliced_with_faces,
         CONVERT + " --alignments {faces}", says=("extracted from another video also called 'clip.mp4' (the frame at "
                                                  "0.18 s differs in {video})",)),
    Case("convert a 1000 fps video", _one("fast_clip"), CONVERT + " --max-frames 2", code=0,
         says=("2/2 frames swapped",), creates=("out.mp4",)),
    Case("convert a truncated video warns", _one("truncated_clip"), CONVERT, code=0,
         says=("warning: ", "truncated: only", "frames swapped"), creates=("out.mp4",)),
    # train
    Case("train on raw photos warns", _raw_photos, "train {faces} {photos} {tmp}/m --steps 1 --batch-size 2",
         code=0, says=("warning: ", "photos: no alignments.json", "extract"), creates=("m/",)),
    Case("train resumes with A and B swapped", _model_and_faces, "train {B} {A} {model} --steps 21",
         says=("A and B are swapped", "--new-data")),
    Case("train --new-data keeps the old checkpoints", _model_and_faces, "train {B} {A} {model} --steps 21 --new-data",
         code=0, says=("changed: faces: A and B are swapped", "old-data-ckpt"),
         creates=("m/old-data-ckpt-000020/", "m/ckpt-000021/", "m/state.json", "m/preview.png",
                  "m/previews/step_000021.png")),
]


def _snapshot_with_folders(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, inputs, tmp_path, capsys):
    paths = {"tmp": str(tmp_path), **case.build(inputs, tmp_path)}
    before = _snapshot_with_folders(tmp_path)
    capsys.readouterr()
    code = cli.main([arg.format(**paths) for arg in shlex.split(case.args)])
    captured = capsys.readouterr()
    assert code == case.code, captured.err[-3000:]
    said = _error_line(captured.err) if case.code == 1 else captured.out + captured.err
    for fragment in case.says:
        assert fragment.format(**paths) in said, said
    after = _snapshot_with_folders(tmp_path)
    made = {k for k in after.keys() | before.keys() if any(k == c.rstrip("/") or k.startswith(c)
                                                           for c in case.creates)}  # written or rewritten
    assert {k: v for k, v in after.items() if k not in made} == {k: v for k, v in before.items() if k not in made}
    assert all(any(k == c.rstrip("/") or k.startswith(c) for k in after) for c in case.creates), sorted(made)


def test_one_frame_count_from_decoding(inputs):
    """probe counts the frames iter_frames yields (a variable rate is not filled up with repeats), and a 1000 fps
    header is read as 1000."""
    vfr = inputs.vfr_clip()
    assert video.probe(vfr).n_frames == len(video.read_frames(vfr)) == 6
    assert video.probe(inputs.fast_clip()).fps == 1000


def test_damaged_bytes_are_found_frame_by_frame_and_recorded(inputs, tmp_path):
    """decode_damage names the frames a damaged video smears (not those before the damage); extract warns, and
    alignments.json records them."""
    from deepfake_utils.errors import DeepfakeWarning

    assert video.decode_damage(inputs.clip()) == video.DecodeDamage(0)
    damaged, whole = inputs.damaged_clip(), inputs.damaged_clip().with_name("whole.mp4")
    damage = video.decode_damage(damaged)
    first = damage.frames[0]
    assert damage.errors > 0 and 1 < first and len(damage.frames) == len(damage.times), damage
    original, decoded = video.read_frames(whole), video.read_frames(damaged)
    assert all(np.array_equal(a, b) for a, b in zip(original[:first - 1], decoded[:first - 1], strict=True))
    t = damage.times[0]
    assert np.abs(decoded[first - 1].astype(int) - original[round(t * 25)]).mean() > 1  # smeared indeed
    with pytest.warns(DeepfakeWarning, match=rf"clip.mp4: damaged: ffmpeg reported {damage.errors} decode errors.*"
                                             rf"frames {first}-{damage.frames[-1]} \({len(damage.frames)} of the"):
        meta = extract.extract(damaged, tmp_path / "out", progress=False)
    assert meta["damaged"]["frames"] == [video.frame_key(n) for n in damage.frames]
    assert extract.load_alignments(tmp_path / "out")["damaged"] == meta["damaged"]


def test_a_phone_video_is_said_to_be_turned_once_not_at_every_open(inputs, tmp_path, capsys, caplog):
    """imageio-ffmpeg logs "The frame size for reading ... is different from the source frame size" each time the
    file is opened (2-4 times an extraction): that is dropped, and the command line says it once, in its own words."""
    import logging

    clip = inputs.phone_clip()
    info = video.probe(clip)
    assert info.rotated and info.size == (256, 192) and info.stored_size == (192, 256)
    assert not video.probe(inputs.clip()).rotated
    capsys.readouterr()
    with caplog.at_level(logging.INFO):
        assert cli.main(["extract", str(clip), str(tmp_path / "out")]) == 0
        assert cli.main(["extract", str(clip), str(tmp_path / "out")]) == 0  # resumed: the file is opened again
    said = capsys.readouterr()
    assert (said.out + said.err).count("turns it by 90°") == 2 and "source frame size" not in said.err
    assert not [r for r in caplog.records if "source frame size" in r.getMessage()]


def test_the_turn_that_shows_the_faces_and_the_ffmpeg_command_that_makes_it(inputs, tmp_path):
    """upright_turn finds the quarter turn that shows faces in frames without one, and the hint's ffmpeg filter
    turns the video that way (checked on the frames it writes)."""
    import imageio_ffmpeg

    none_found = {"frames": {video.frame_key(n): [] for n in range(1, 9)}}  # as if no face were found in any frame
    assert extract.upright_turn(inputs.clip(), none_found) is None  # upright already: no turn helps
    for clip, k in ((inputs.sideways_clip(), 1), (inputs.upside_down_clip(0), 2)):
        turn = extract.upright_turn(clip, none_found)
        assert turn is not None and turn[0] == k and turn[2] == 3 and turn[1] >= 2, turn
        out = tmp_path / f"upright{k}.mp4"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(clip), "-vf",
                        extract.TURN_FILTERS[k], str(out)], check=True)
        for turned, frame in zip(video.read_frames(out), video.read_frames(clip), strict=True):
            assert np.abs(turned.astype(int) - np.rot90(frame, k)).mean() < 3


def test_the_one_euro_filter_refuses_a_frame_rate_of_zero():
    from deepfake_utils.errors import InvalidArgument
    from deepfake_utils.swap import OneEuroFilter

    with pytest.raises(InvalidArgument, match="positive frame rate"):
        OneEuroFilter(0)


def test_fingerprints_tell_videos_apart_and_not_decoders(inputs):
    clip, other = video.fingerprint(inputs.clip()), video.fingerprint(inputs.other_clip())
    assert video.same_content(clip, video.fingerprint(inputs.fast_clip()))  # the same frames in another file
    assert not video.same_content(clip, other)
    assert video.compare_with(clip, inputs.clip()) is None and video.compare_with(clip, inputs.fast_clip()) is None


def test_fingerprints_sample_decoded_frames_beyond_the_first(inputs):
    """A video that starts as another does is told apart by the frames sampled later (the first four alone agree);
    an older fingerprint (the first frames only) is still read."""
    clip, spliced = video.fingerprint(inputs.clip()), video.fingerprint(inputs.spliced_clip())
    assert [t for t, _ in clip["at"]] == [0.1, 0.18, 0.26]  # mid-frame times: a quarter, half, three quarters in
    assert video.content_difference({"first": clip["first"], "at": []}, spliced) is None  # the first frames agree
    assert video.compare_with(clip, inputs.spliced_clip()) == "the frame at 0.18 s differs"
    assert video.compare_with(clip["first"], inputs.spliced_clip()) is None  # an older file: what it can compare
    assert video.compare_with(clip["first"], inputs.other_clip()) == "the first frames differ"
    assert video.compare_with(None, inputs.other_clip()) is None
