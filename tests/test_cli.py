import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deepfake_utils import cli, extract, metrics, video
from deepfake_utils.fileio import read_image


def test_cli_extract_writes_faces_and_alignments(tmp_path, sample_video):
    out = tmp_path / "faces"
    proc = subprocess.run([sys.executable, "-m", "deepfake_utils", "extract", str(sample_video), str(out),
                           "--max-frames", "6"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "6/6 frames with a face" in proc.stdout
    assert len(extract.load_alignments(out)["frames"]) == 6


def test_cli_errors_are_one_clear_line(tmp_path, capsys):
    assert cli.main(["extract", str(tmp_path / "missing.mp4"), str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "missing.mp4" in err


def test_cli_data_fetches_and_refuses_unknown_identities(capsys):
    assert cli.main(["data"]) == 0
    assert "1 files verified" in capsys.readouterr().out
    assert cli.main(["data", "--identity", "Nobody"]) == 1
    assert "unknown identity" in capsys.readouterr().err


def test_cli_convert(sample_video, sample_faces, tiny_model, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    assert cli.main(["convert", str(sample_video), str(tiny_model), str(out), "--alignments",
                     str(sample_faces / "A"), "--max-frames", "5", "--colour", "lab", "--seamless"]) == 0
    assert "5/5 frames swapped" in capsys.readouterr().out
    assert video.probe(out).n_frames == 5
    assert cli.main(["convert", str(sample_video), str(tmp_path), str(out)]) == 1
    assert "no trained model" in capsys.readouterr().err
    assert cli.main(["convert", str(sample_video), str(tiny_model), str(out), "--frames", "x"]) == 1
    assert "bad frame range" in capsys.readouterr().err


def test_demo_runs_the_whole_pipeline(tmp_path, capsys):
    assert cli.main(["demo", "--out-dir", str(tmp_path), "--max-frames", "4", "--photos", "4", "--steps", "2"]) == 0
    out = capsys.readouterr().out
    assert "ID retr." in out and "recognised in" in out  # the metrics table and the verdict
    assert len(list((tmp_path / "faces" / "A").glob("*.png"))) == 4
    # the verdict says how much of the eyes' and mouth's band-pass energy is left, and that the default conversion's
    # unsharp mask makes it contrast, not detail
    assert "of the source's detail as the model painted them (unsharpened" in out and "--sharpen 1" in out
    for name in ("contact_sheet.png", "closeup.png", "swapped.mp4", "comparison.mp4", "comparison.gif",
                 "model/preview.png"):
        assert (tmp_path / name).is_file(), name
    closeup = read_image(tmp_path / "closeup.png")
    assert closeup.shape[0] == 4 * (96 + 2) and closeup.shape[1] > 4 * 96  # 4 frames: eyes and mouth, source | swap
    report = json.loads((tmp_path / "swapped.metrics.json").read_text())
    assert report["convert"]["swapped"] == 4 and report["frames"] == 4 and report["training"]["steps"] == 2
    assert report["identity"]["swapped"]["frames"] == 4 and len(report["gallery"]) == 13
    assert report["seam"] >= 0 and "seam: the paste adds a colour step of" in out  # what the mask's edge shows
    assert report["sharpened"] == 1 and not metrics.check_targets(report)["detail_kept"]  # reported, not counted
    assert set(report["unsharpened_detail"]) == set(report["detail_kept"])  # and the model's own, unsharpened
    assert "unsharpened (the model's own): eyes and mouth" in out  # the table says it too


def _error_line(err: str) -> str:
    """The last line on stderr (the progress bar writes there too), checked to be the only error line."""
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    assert sum(line.startswith("error:") for line in lines) == 1, err
    assert lines[-1].startswith("error:"), err
    return lines[-1]


def _convert_args(sample_video, tiny_model, sample_faces, out, *extra) -> list[str]:
    return ["convert", str(sample_video), str(tiny_model), str(out), "--alignments", str(sample_faces / "A"),
            "--max-frames", "5", *extra]


def _small_video(path):
    return video.write_video([np.full((64, 64, 3), 90, np.uint8)] * 2, path, fps=25)


def test_cli_convert_on_a_full_disk_fails_and_keeps_the_old_output(sample_video, sample_faces, tiny_model,
                                                                   small_disk, fill_disk, capsys):
    out = _small_video(small_disk / "swapped.mp4")
    before = out.read_bytes()
    fill_disk(small_disk, leave=32_000)  # 5 frames of 844x844 with sound need more
    assert cli.main(_convert_args(sample_video, tiny_model, sample_faces, out)) == 1
    line = _error_line(capsys.readouterr().err)
    assert "swapped.mp4" in line and "no space left" in line and "kept" in line
    assert out.read_bytes() == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "swapped.mp4"]


def test_cli_convert_when_ffmpeg_fails_keeps_the_old_output(sample_video, sample_faces, tiny_model, tmp_path,
                                                            fake_ffmpeg, capsys):
    out = _small_video(tmp_path / "swapped.mp4")
    before = out.read_bytes()
    fake_ffmpeg('cat > /dev/null; head -c 5000 /dev/urandom > "$OUT"; '
                'echo "[out#0/mp4 @ 0x1] Error writing trailer: No space left on device" >&2; exit 228')
    assert cli.main(_convert_args(sample_video, tiny_model, sample_faces, out)) == 1
    line = _error_line(capsys.readouterr().err)
    assert "swapped.mp4" in line and "no space left" in line and "free some space" in line
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fake-ffmpeg", "swapped.mp4"]


def _same_file_ways(tmp_path, sample_video):
    source = tmp_path / "in.mp4"
    shutil.copyfile(sample_video, source)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.mp4").symlink_to(source)
    os.link(source, tmp_path / "hard.mp4")
    return source, [source, tmp_path / "sub" / ".." / "in.mp4", tmp_path / "link.mp4", tmp_path / "hard.mp4"]


def test_cli_convert_refuses_to_write_over_its_input(tmp_path, sample_video, tiny_model, capsys):
    source, same = _same_file_ways(tmp_path, sample_video)
    before = source.read_bytes()
    for out in same:
        assert cli.main(["convert", str(source), str(tiny_model), str(out)]) == 1, out
        line = _error_line(capsys.readouterr().err)
        assert "input video" in line and "would destroy it" in line and "_swapped.mp4" in line, line
        assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.mp4", "in.mp4", "link.mp4", "sub"]


def test_cli_convert_refuses_outputs_it_cannot_write_before_any_work(tmp_path, sample_video, capsys):
    model = tmp_path / "no_model_here"  # the checks come first: no "no trained model" error
    (tmp_path / "afile").write_text("keep me")
    (tmp_path / "folder.mp4").mkdir()
    cases = [(tmp_path / "out.txt", "cannot write a video with suffix '.txt'; use one of .mp4"),
             (tmp_path / "afile" / "out.mp4", "afile is a file, not a folder"),
             (tmp_path / "folder.mp4", "is a folder; give a file name")]
    for out, expected in cases:
        assert cli.main(["convert", str(sample_video), str(model), str(out)]) == 1
        line = _error_line(capsys.readouterr().err)
        assert expected in line and str(out) in line, line
        assert "Broken pipe" not in line and "ffmpeg" not in line
    assert (tmp_path / "afile").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "folder.mp4"]
    assert not any((tmp_path / "folder.mp4").iterdir())


def _edited_alignments(sample_faces, tmp_path, edit) -> Path:
    """A copy of the sample video's extraction with alignments.json changed by ``edit(dict)``."""
    folder = tmp_path / "A"
    shutil.copytree(sample_faces / "A", folder)
    meta = json.loads((folder / "alignments.json").read_text())
    edit(meta)
    (folder / "alignments.json").write_text(json.dumps(meta))
    return folder


def _shift_faces(meta, dx):
    for faces in meta["frames"].values():
        for face in faces:
            face["landmarks"] = [[x + dx, y] for x, y in face["landmarks"]]


@pytest.mark.parametrize("edit,expected", [
    (lambda m: m.update(source="other.mp4"), "extracted from 'other.mp4', not from '2.mp4'"),
    (lambda m: m.update(size=[640, 480]), "extracted from a 640x480 video, but 2.mp4 is 844x844"),
    (lambda m: m.update(fps=5.0), "extracted at 5 frames/s (extract --fps), but convert swaps all 25 frames/s"),
    (lambda m: m["frames"].update({"000200": []}), "has frame 200, but 2.mp4 has only 125 frames"),
    (lambda m: _shift_faces(m, 2000), "lies outside the 844x844 frames of 2.mp4"),
    (lambda m: m.update(size=None, fps=None), "extracted from an image folder"),
])
def test_cli_convert_refuses_alignments_of_another_video(sample_video, sample_faces, tiny_model, tmp_path, capsys,
                                                          edit, expected):
    folder = _edited_alignments(sample_faces, tmp_path, edit)
    out = tmp_path / "out.mp4"
    assert cli.main(_convert_args(sample_video, tiny_model, folder.parent, out)) == 1
    line = _error_line(capsys.readouterr().err)
    assert expected in line, line
    assert str(folder) in line and "extract" in line, line
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["A"]


def test_cli_convert_refuses_the_alignments_of_a_different_video_file(sample_faces, tiny_model, tmp_path, capsys):
    other = tmp_path / "other" / "2.mp4"  # same name as the sample video, another video
    video.write_video([np.full((96, 128, 3), 50, np.uint8)] * 4, other, fps=25)
    out = tmp_path / "out.mp4"
    assert cli.main(["convert", str(other), str(tiny_model), str(out), "--alignments",
                     str(sample_faces / "A" / "alignments.json")]) == 1
    line = _error_line(capsys.readouterr().err)
    assert "extracted from a 844x844 video, but 2.mp4 is 128x96" in line, line
    assert not out.exists()


TF_LINE = re.compile(r"tensorflow|absl|^[IWE]\d{4} ", re.IGNORECASE | re.MULTILINE)


@pytest.mark.parametrize("command", [[], ["extract"], ["train"], ["convert"], ["data"], ["demo"]])
def test_help_is_quick_and_quiet(command):
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "deepfake_utils", *command, "--help"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0 and proc.stdout.startswith("usage: python -m deepfake_utils"), proc.stderr
    assert seconds < 1.5, f"--help took {seconds:.2f} s"
    assert proc.stderr == "" and not TF_LINE.search(proc.stdout)


def test_building_the_parser_imports_nothing_heavy():
    code = ("import sys; from deepfake_utils import cli; cli.build_parser(); "
            "print([m for m in ('tensorflow', 'keras', 'cv2', 'numpy', 'dlib', 'skimage') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_the_parser_offers_the_real_choices_and_defaults():
    from deepfake_utils import blend, checkpoint, choices, gan, paste

    # one home for each choice: the stages' modules use the same objects the parser shows
    assert blend.MASKS is choices.MASKS and paste.Options is choices.Options and gan.GAN_PRESETS is choices.GAN_PRESETS
    assert choices.RECIPES is choices.RECIPES and checkpoint.MODEL_KINDS is choices.MODEL_KINDS
    real = choices.Options()
    args = cli.build_parser().parse_args(["convert", "v.mp4", "model", "out.mp4"])
    assert cli._options(args) == real


def test_commands_that_load_tensorflow_print_no_tensorflow_lines(sample_video, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != cli.TF_LOG_ENV}
    proc = subprocess.run([sys.executable, "-m", "deepfake_utils", "convert", str(sample_video), str(tmp_path),
                           str(tmp_path / "out.mp4")], capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error:") and "no trained model" in proc.stderr  # TensorFlow was loaded for this
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert not TF_LINE.search(proc.stdout + proc.stderr)


def test_tensorflow_start_up_filter_keeps_other_lines_and_the_users_level(monkeypatch, capfd):
    with cli._stderr_filtered(cli.TF_STARTUP_NOISE.match):
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
                    b"I0000 00:00:1795396163.091630    3179 port.cc:153] oneDNN custom operations are on.\n"
                    b"a real problem\n")
    assert capfd.readouterr().err == "a real problem\n"
    monkeypatch.setenv(cli.TF_LOG_ENV, "0")
    cli.quiet_tensorflow()
    assert os.environ[cli.TF_LOG_ENV] == "0"  # the user's own level is kept


@pytest.mark.slow
def test_the_demo_reaches_its_targets(tmp_path, capsys):
    """make demo's promise on 2 CPU cores: B recognised within the default training budget (make test-slow)."""
    assert cli.main(["demo", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "swapped.metrics.json").read_text())
    # the gallery the targets were set on: 100+ distractors besides A and B
    assert report["gallery_photos"]["target"] == 64 and report["gallery_photos"]["identities"] >= 102
    if "GPU" not in report["training"]["summary"]:  # a CPU run trains for its budget, no more
        assert report["training"]["minutes"] == pytest.approx(cli.DEMO_MINUTES_CPU, abs=0.5)
    assert metrics.check_targets(report) == dict.fromkeys(metrics.TARGETS, True), metrics.format_table(report)
    assert "the swap meets all its targets" in out


def test_train_init_starts_a_new_model_from_the_generic_one(sample_faces, tmp_path, monkeypatch, capsys):
    from deepfake_utils import model as model_module
    from deepfake_utils import pretrain

    monkeypatch.setattr(pretrain, "WEIGHTS_DIR", tmp_path / "weights")
    pretrain.save_weights(model_module.build("tiny"), tmp_path / "weights" / "generic-tiny.npz",
                          {"steps": 7, "faces": 9, "identities": 8})
    a, b, m = str(sample_faces / "A"), str(sample_faces / "B"), str(tmp_path / "m")
    assert cli.main(["train", a, b, m, "--steps", "1", "--init", "all", "--batch-size", "2"]) == 0
    assert "started from the generic tiny face model (all: generic-tiny.npz, 7 steps on 9 faces of 8 people)" in \
        capsys.readouterr().out
    assert cli.main(["train", a, b, m, "--steps", "2", "--init", "all"]) == 1  # a trained model keeps its weights
    assert "starts new models only" in capsys.readouterr().err
    assert cli.main(["train", a, b, str(tmp_path / "g"), "--model", "gan", "--steps", "1", "--init", "all"]) == 1
    assert "--init is an option of the autoencoder" in capsys.readouterr().err
    assert cli.main(["pretrain", str(tmp_path / "p")]) == 1
    assert "how long to pretrain" in capsys.readouterr().err
