"""The benchmarks' own machinery: each loop measures, and the CPU kernel switch reaches TensorFlow."""
import dataclasses
import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from deepfake_utils import bench, extract, train

X86 = platform.machine().lower() in {"x86_64", "amd64"}


def test_configure_first_switches_on_onednn_on_x86_unless_told_otherwise():
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    code = "import os, deepfake_utils; print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["None"]  # importing the package changes nothing
    code = ("import os, deepfake_utils; deepfake_utils.configure(); print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'));"
            "from deepfake_utils.train import onednn_enabled; print(onednn_enabled())")
    lines = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                           check=True).stdout.split()
    if X86:
        assert lines == ["1", "True"]
    else:
        assert lines[0] == "None"
    code = "import os, deepfake_utils; deepfake_utils.configure(); print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))"
    out = subprocess.run([sys.executable, "-c", code], env={**env, "TF_ENABLE_ONEDNN_OPTS": "0"},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0"]  # a value the user set wins


@pytest.fixture(scope="module")
def face_dirs(sample_faces):
    return sample_faces / "A", sample_faces / "B"


@pytest.fixture
def fake_nvidia_smi(tmp_path, monkeypatch):
    """An ``nvidia-smi`` on PATH that reports 87 % busy every 5 ms, with a non-reading between."""
    tool = tmp_path / "bin" / "nvidia-smi"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\ncase \"$*\" in *utilization.gpu*) ;; *) exit 9 ;; esac  # no other query\n"
                    "while true; do echo 87; echo '[N/A]'; sleep 0.005; done\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tool.parent}{os.pathsep}{os.environ['PATH']}")
    return tool


def test_gpu_busy_averages_the_samples_of_a_time_window_only(fake_nvidia_smi):
    import time

    before = time.perf_counter()
    with bench.GpuBusy(interval_ms=20) as gpu:
        time.sleep(0.5)
        start = time.perf_counter()
        time.sleep(0.3)
        end = time.perf_counter()
    assert gpu.samples and {u for _, u in gpu.samples} == {87.0}  # "[N/A]" is not a reading
    assert gpu.mean(start, end) == 87.0
    assert gpu.mean(before - 10, before - 5) is None  # no sample in that window
    with bench.GpuBusy(command="no-such-nvidia-smi") as none:  # no tool: nothing sampled, no failure
        pass
    assert none.samples == [] and none.mean(0, time.perf_counter()) is None


def test_the_naive_loop_measures_images_per_second_and_its_input_share(face_dirs, fake_nvidia_smi):
    a, b = (train.load_faces(d) for d in face_dirs)
    r = bench.train_speed("naive", a, b, "tiny", batch_size=4, steps=3, warmup=1)
    assert r["ips"] > 0 and 0 < r["input_share"] < 1
    assert r["gpu_busy"] == 87.0  # sampled while the timed steps ran
    with pytest.raises(ValueError, match="naive"):
        bench.train_speed("fast", a, b, "tiny", batch_size=4, steps=2)
    with pytest.raises(ValueError, match="warmup"):
        bench.train_speed("naive", a, b, "tiny", batch_size=4, steps=2, warmup=0)


def test_each_run_is_a_fresh_process_with_the_kernels_it_was_given(face_dirs):
    args = ["-m", "deepfake_utils.bench", "train-one", "ours", *map(str, face_dirs), "--preset", "tiny",
            "--batch-size", "4", "--steps", "2", "--warmup", "1"]
    r = bench._child(args, bench.KERNELS["off"])
    assert r["ips"] > 0 and r["onednn"] is False and 0 <= r["input_wait"] < 1
    with pytest.raises(RuntimeError, match="failed:\n.*no faces here"):  # a failing run: its error, not a parse
        bench._child(["-c", "import sys; sys.exit('no faces here')"], None)


def test_the_cli_extraction_benchmark_cuts_its_clip_and_runs_the_naive_script(tmp_path):
    from deepfake_utils import video
    from deepfake_utils.landmarks import landmark_error

    clip = bench.make_clip(tmp_path / "clip.mp4", frames=130, size=96)  # past the sample's 125: into the cut
    info = video.probe(clip)
    assert info.size == (96, 96) and info.n_frames == 130
    frames = video.read_frames(clip)
    for i, source in ((125, 75), (129, 71)):  # after frame 125 the clip plays back from frame 75: the nearest
        diff = [np.abs(frames[i].astype(np.int16) - frames[j]).mean() for j in range(125)]  # (lossy) is that one
        assert int(np.argmin(diff)) == source - 1
    short = video.write_video(frames[:3], tmp_path / "short.mp4", fps=25)
    bench.naive_extract(short, tmp_path / "naive")
    naive = bench._landmarks_by_frame(tmp_path / "naive")
    assert sorted(naive) == ["000001", "000002", "000003"] and (tmp_path / "naive" / "000001_0.png").is_file()
    assert landmark_error(naive["000001"], extract.naive_find(video.read_frames(short)[0]).landmarks) == 0


def test_recipe_specs_can_name_the_shared_part():
    from deepfake_utils.bench_swap import parse_recipe

    recipe, precision, shared = parse_recipe("fast:shared=decoder,ssim=0")
    assert (recipe.name, recipe.ssim, precision, shared) == ("fast:shared=decoder,ssim=0", 0.0, None, "decoder")
    assert parse_recipe("original")[2] == "encoder"  # the classic unless asked
    with pytest.raises(ValueError, match="shared must be one of"):
        parse_recipe("fast:shared=both")


def test_the_recipes_benchmark_trains_the_preset_it_is_given(face_dirs, tmp_path, monkeypatch):
    from deepfake_utils import bench_swap, model
    from deepfake_utils.errors import DeepfakeError

    with pytest.raises(DeepfakeError, match="unknown model preset"):  # before any extraction
        bench_swap.bench_recipes(["fast"], 1, 1, preset="huge")
    with pytest.raises((DeepfakeError, ValueError), match="nosuch"):
        bench_swap.bench_recipes(["nosuch"], 1, 1)
    # conversion and the metrics are tested on their own: here only the model each recipe trains
    monkeypatch.setattr(bench_swap, "convert", lambda *args, **kwargs: None)
    monkeypatch.setattr(bench_swap.metrics, "evaluate", lambda *args, **kwargs: {})
    scores = ("id_retrieval", "recognised", "faces_found", "sharpness_kept", "expression_error", "jitter_ratio",
              "to_target")
    monkeypatch.setattr(bench_swap, "point", lambda report, minutes, steps: {
        "minutes": minutes, "steps": steps, **dict.fromkeys(scores, 0.0)})
    a, b = (train.load_faces(d) for d in face_dirs)
    narrow = model.get_preset("tiny", dense=64)  # not the default: a bottleneck half the tiny preset's
    r = bench_swap.run_recipe("original:batch_size=2", a, b, face_dirs[0], {}, None, tmp_path, minutes=0, every=0,
                              stop_at=None, progress=False, steps=1, every_steps=1, preset=narrow)
    saved = json.loads((tmp_path / "model" / "state.json").read_text())["preset"]
    assert saved == json.loads(json.dumps(dataclasses.asdict(narrow)))  # the model trained and measured
    assert r["batch"] == 2 and r["curve"][-1]["steps"] == 1
