"""The notebooks' setup helpers: mode choice, hardware-aware full mode, ETA, version check, Drive folder."""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import tomllib

from deepfake_utils import config, warp
from deepfake_utils.course import notebook
from deepfake_utils.errors import DeepfakeError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def test_full_mode_on_a_cpu_trains_the_tiny_model_for_minutes_not_hours():
    cfg = config.full_settings(gpu=False, cores=2)
    assert (cfg.quick, cfg.train_preset, cfg.batch_size) == (False, "tiny", 16)
    assert 10 <= config.train_eta_minutes(cfg, gpu=False, cores=2) <= 30
    assert config.full_settings(gpu=False, cores=8).train_steps > cfg.train_steps  # more cores, more steps


def test_full_mode_on_a_gpu_trains_the_original_model():
    cfg = config.full_settings(gpu=True, cores=2)
    assert (cfg.train_preset, cfg.train_steps, cfg.batch_size) == ("original", 20000, 64)
    # the old trap, for scale: the original model at batch 64 on 2 CPU cores would take days
    assert config.train_eta_minutes(cfg, gpu=False, cores=2) > 24 * 60


def test_settings_follow_the_hardware_found(monkeypatch):
    monkeypatch.setenv(config.QUICK_ENV, "0")
    monkeypatch.setattr(config, "tensorflow_gpus", lambda: ("/physical_device:GPU:0",))
    assert config.settings().train_preset == "original"
    monkeypatch.setattr(config, "tensorflow_gpus", lambda: ())  # nvidia-smi may list one: TensorFlow cannot use it
    assert config.settings().train_preset == "tiny"
    monkeypatch.setenv(config.QUICK_ENV, "1")
    assert config.settings().train_steps == 100


@pytest.mark.parametrize("quick", [True, False])
def test_the_notebook_switch_chooses_the_mode_unless_the_environment_does(monkeypatch, quick):
    monkeypatch.setattr(notebook, "QUICK_FROM_ENV", None)
    monkeypatch.setenv(config.QUICK_ENV, "")
    assert notebook.choose_mode(quick) is quick and config.settings().quick is quick
    monkeypatch.setattr(notebook, "QUICK_FROM_ENV", "1")  # CI / `DEEPFAKE_QUICK=1 make lab`
    monkeypatch.setenv(config.QUICK_ENV, "1")
    assert notebook.choose_mode(quick) is True


def test_training_plan_names_preset_steps_and_eta(monkeypatch):
    monkeypatch.setattr(notebook, "tensorflow_gpus", lambda: ())
    monkeypatch.setattr(notebook, "cpu_cores", lambda: 2)
    plan = notebook.training_plan(config.full_settings(gpu=False, cores=2))
    assert "preset tiny" in plan and "6,500 steps" in plan and "about 20 min" in plan and "needs a GPU" in plan


def test_version_problems_are_readable_and_name_the_fix():
    floors = {"scikit-image": "0.25", "tensorflow": "2.20"}
    fine = {"scikit-image": "0.25.2", "tensorflow": "2.20.0", "dlib": "19.24.6"}
    assert notebook.version_problems(floors, fine) == []
    problems = notebook.version_problems(floors, {"scikit-image": "0.24.0", "tensorflow": None, "dlib": "19.24.6"})
    assert len(problems) == 2
    assert "scikit-image 0.24.0 is older" in problems[0] and 'pip install -U "scikit-image>=0.25"' in problems[0]
    assert "tensorflow is not installed" in problems[1]
    assert "dlib is not installed" in notebook.version_problems({}, {})[0]


def test_this_environment_passes_the_version_check():
    assert notebook.version_problems() == []


def test_floors_come_from_pyproject():
    floors = notebook._floors()
    assert floors["scikit-image"] == "0.25" and set(floors) <= set(notebook.KEY_LIBRARIES)


def test_drive_folder_takes_the_place_of_out(tmp_path):
    repo, drive = tmp_path / "repo", tmp_path / "drive" / "course"
    repo.mkdir()
    notebook.use_drive_for_out(drive, repo)
    (repo / "out" / "07_training").mkdir()  # written through the link...
    assert (drive / "07_training").is_dir()  # ...lands on the Drive
    notebook.use_drive_for_out(drive, repo)  # again: nothing changes
    assert (repo / "out").resolve() == drive.resolve()
    other = tmp_path / "real"
    (other / "out" / "model").mkdir(parents=True)
    with pytest.raises(DeepfakeError, match="already holds results"):
        notebook.use_drive_for_out(drive, other)


@pytest.fixture
def managed_colab(monkeypatch):
    """A kernel on a managed Colab runtime, as far as the guard can tell: google.colab imported, Colab's image marks."""
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-20261204")
    monkeypatch.setattr(notebook, "COLAB_VM_DIR", Path("/nonexistent/var/colab"))


def test_the_guard_stops_a_face_swap_step_on_managed_colab_with_the_rule(managed_colab):
    assert notebook.on_managed_colab()
    with pytest.raises(notebook.ColabRuleError, match="train the swap") as stopped:
        notebook.guard_generative("train the swap")
    message = str(stopped.value)
    for needed in (notebook.COLAB_FAQ, notebook.COLAB_RULE_CHECKED, "make lab", "local runtime", "JupyterHub"):
        assert needed in message
    assert isinstance(stopped.value, DeepfakeError)


def test_on_managed_colab_the_stages_that_make_no_swap_run(managed_colab, monkeypatch, capsys):
    monkeypatch.setattr(notebook, "QUICK_FROM_ENV", "1")
    monkeypatch.setenv(config.QUICK_ENV, "1")
    cfg = notebook.setup(check_versions=False)  # the setup cell's call, as on Colab (no Drive folder asked for)
    assert cfg.quick and "managed runtime" in capsys.readouterr().out
    faces = warp.training_batch([np.zeros((256, 256, 3), np.uint8)], np.random.default_rng(0), 2)
    assert faces[0].shape[0] == 2  # a stage that makes no fake (05's training pairs) runs as anywhere


@pytest.mark.parametrize("notebook_name", ["07_training", "08_swap_and_masking", "09_gan_upgrade",
                                           "11_capstone"])
def test_the_notebooks_own_guard_lines_stop_there(managed_colab, notebook_name):
    cells = json.loads((NOTEBOOKS / f"{notebook_name}.ipynb").read_text())["cells"]
    line = next(line for c in cells if c["cell_type"] == "code" for line in "".join(c["source"]).splitlines()
                if line.startswith("guard_generative("))
    with pytest.raises(notebook.ColabRuleError):
        exec(line, {"guard_generative": notebook.guard_generative})


@pytest.mark.parametrize("case", ["no google.colab", "no marks", "local runtime"])
def test_the_guard_lets_everything_run_off_managed_colab(monkeypatch, tmp_path, case):
    monkeypatch.setattr(notebook, "COLAB_VM_DIR", tmp_path / "no-var-colab")
    for mark in notebook.COLAB_ENV_MARKS:
        monkeypatch.delenv(mark, raising=False)
    if case == "no google.colab":  # a plain Jupyter kernel: locally, a JupyterHub, a VM, or Colab's local runtime
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
        monkeypatch.setenv("COLAB_RELEASE_TAG", "x")  # Kaggle's image sets it too: not enough alone
    else:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert not notebook.on_managed_colab()
    assert notebook.guard_generative("train the swap") is None
    (tmp_path / "no-var-colab").mkdir()
    if case != "no google.colab":
        assert notebook.on_managed_colab()  # /var/colab is a mark of Colab's VM


def test_on_colab_an_old_tensorflow_is_not_upgraded_in_place():
    floors, old = {"tensorflow": "2.20"}, {"tensorflow": "2.19.0", "dlib": "19.24.6"}
    (problem,) = notebook.version_problems(floors, old, colab=True)
    assert "does not upgrade it in place" in problem and "pip install -U" not in problem
    (problem,) = notebook.version_problems(floors, old, colab=False)
    assert 'pip install -U "tensorflow>=2.20"' in problem


def test_the_setup_cell_installs_with_colabs_own_libraries_as_constraints():
    cell = notebook.SETUP_CELL
    assert '"-c", KEEP, "-e", HOME' in cell and '("tensorflow", "keras", "numpy")' in cell
    assert "--upgrade" not in cell and '"-U"' not in cell


def test_the_gpu_report_says_whether_tensorflow_sees_the_gpu(monkeypatch):
    monkeypatch.setattr(notebook, "gpu_names", lambda: ("NVIDIA H200",))
    monkeypatch.setattr(notebook, "tensorflow_gpus", lambda: ("/physical_device:GPU:0",))
    assert notebook.gpu_summary() == "GPU: NVIDIA H200 | GPU seen by TensorFlow: 1"
    monkeypatch.setattr(notebook, "tensorflow_gpus", lambda: ())
    assert "NOT seen by TensorFlow" in notebook.gpu_summary() and ".[gpu]" in notebook.gpu_summary()
    monkeypatch.setattr(notebook, "gpu_names", lambda: ())
    assert notebook.gpu_summary().startswith("no GPU")


def test_a_cpu_machine_does_not_import_tensorflow_for_the_gpu_report(monkeypatch):
    monkeypatch.setattr(config, "gpu_names", lambda: ())
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    assert config.tensorflow_gpus() == () and "tensorflow" not in sys.modules


def test_the_gpu_extra_installs_tensorflow_with_cuda():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(line.startswith("tensorflow[and-cuda]>=") for line in extras["gpu"])


def test_the_command_line_refuses_to_make_a_swap_on_a_managed_colab_machine(monkeypatch, capsys, tmp_path):
    from deepfake_utils import cli
    from deepfake_utils.course import notebook

    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab-20261201")
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    monkeypatch.delenv("KAGGLE_URL_BASE", raising=False)
    assert notebook.managed_colab_machine()
    for argv in (["train", "a", "b", "m", "--steps", "1"], ["convert", "v.mp4", "m", "o.mp4"], ["demo"]):
        assert cli.main(argv) == 1
        assert "Colab's FAQ" in capsys.readouterr().err  # stopped before anything ran, with the reason
    assert cli.main(["data"]) == 0  # what makes no fake runs as usual
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Interactive")  # Kaggle's image carries Colab's tag too
    assert not notebook.managed_colab_machine()


def test_run_cli_shows_the_command_and_its_output_and_stops_on_failure(capsys, tmp_path):
    out = notebook.run_cli("data", "--help")
    assert "usage: python -m deepfake_utils data" in out
    assert capsys.readouterr().out.startswith("$ python -m deepfake_utils data --help\n")
    faces = tmp_path / "faces dir"  # a space: the printed command is quoted, ready for a terminal
    with pytest.raises(DeepfakeError, match="given as both A and B") as failed:
        notebook.run_cli("train", faces, faces, tmp_path / "model", "--steps", "1")
    assert "exit 1" in str(failed.value) and f"'{faces}'" in capsys.readouterr().out
