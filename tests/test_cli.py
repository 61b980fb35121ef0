import subprocess
import sys

from deepfake_utils import cli, extract


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


def test_demo_writes_a_contact_sheet(tmp_path):
    assert cli.main(["demo", "--out-dir", str(tmp_path), "--max-frames", "4"]) == 0
    assert (tmp_path / "contact_sheet.png").is_file()
    assert len(list((tmp_path / "faces_A").glob("*.png"))) == 4
