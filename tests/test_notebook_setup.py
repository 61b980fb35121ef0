"""The notebooks' setup helpers: mode choice, hardware-aware full mode, ETA, version check, Drive folder."""
from __future__ import annotations

import pytest

from deepfake_utils import config, notebook
from deepfake_utils.errors import DeepfakeError


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
    monkeypatch.setattr(config, "gpu_names", lambda: ("Tesla T4",))
    assert config.settings().train_preset == "original"
    monkeypatch.setattr(config, "gpu_names", lambda: ())
    assert config.settings().train_preset == "tiny"
    monkeypatch.setenv(config.QUICK_ENV, "1")
    assert config.settings().train_steps == 150


@pytest.mark.parametrize("quick", [True, False])
def test_the_notebook_switch_chooses_the_mode_unless_the_environment_does(monkeypatch, quick):
    monkeypatch.setattr(notebook, "QUICK_FROM_ENV", None)
    monkeypatch.setenv(config.QUICK_ENV, "")
    assert notebook.choose_mode(quick) is quick and config.settings().quick is quick
    monkeypatch.setattr(notebook, "QUICK_FROM_ENV", "1")  # CI / `DEEPFAKE_QUICK=1 make lab`
    monkeypatch.setenv(config.QUICK_ENV, "1")
    assert notebook.choose_mode(quick) is True


def test_training_plan_names_preset_steps_and_eta(monkeypatch):
    monkeypatch.setattr(notebook, "gpu_names", lambda: ())
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
