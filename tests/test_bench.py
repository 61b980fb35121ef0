"""The benchmarks' own machinery: each loop measures, and the CPU kernel switch reaches TensorFlow."""
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks import bench
from deepfake_utils import choices, pretrain, track, train
from deepfake_utils.choices import Options

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


def test_the_ssim_benchmark_times_both_ways_alternately_and_checks_they_agree():
    r = bench.bench_ssim(batches=((2, 64),), rounds=1, calls=1)
    ways = {"tf.image.ssim", "learn.structural_similarity"}
    assert set(r["median_ms"]) == {"ssim 2x64", "train step 2x64 (tiny, fast)"}
    for what, by in r["runs"].items():
        assert set(by) == ways and all(len(v) == 1 and min(v) > 0 for v in by.values()), what
        median = r["median_ms"][what]
        assert r["ratio"][what] == median["learn.structural_similarity"] / median["tf.image.ssim"]
    assert 0 <= r["largest_difference"]["2x64"] < 3e-5
    from deepfake_utils import learn

    assert learn.structural_similarity.__name__ == "structural_similarity"  # put back after the timed steps


def test_the_trace_benchmark_alternates_fresh_processes_and_times_each_trainers_first_step(sample_faces,
                                                                                            monkeypatch):
    one = bench.trace_once(False, recipes=("original",), trainers=1, faces=(sample_faces / "A", sample_faces / "B"))
    assert one["autograph"] is False and len(one["seconds"]["original"]) == 1 and one["seconds"]["original"][0] > 0
    assert train.AUTOGRAPH is False  # as it was: the benchmark's setting does not stay
    children = []

    def child(args, onednn):  # each setting in a fresh process: here, made-up seconds
        children.append(args[-1])
        ag = args[-1] == "--autograph"
        return {"seconds": {"fast": [4.0 if ag else 3.0, 2.0, 2.2]}}

    monkeypatch.setattr(bench, "_child", child)
    r = bench.bench_trace(rounds=2)
    assert children == ["--autograph", "trace-one", "trace-one", "--autograph"]  # alternated: a b b a
    assert r["median_s"] == {"with": {"fast": {"first": 4.0, "later": 2.1}},
                             "without": {"fast": {"first": 3.0, "later": 2.1}}}
    assert r["ratio"]["fast"] == {"first": 0.75, "later": 1.0} and {"date", "machine", "load"} <= set(r)
    with pytest.raises(ValueError, match="rounds"):
        bench.bench_trace(rounds=0)


def test_the_install_benchmark_runs_the_makefiles_setup_with_each_installer(tmp_path):
    """What `bench install` times is `make setup` itself (dry runs here: the real one installs TensorFlow)."""
    import subprocess

    def dry(installer):
        run = subprocess.run([*bench.setup_command(tmp_path / "venv", installer), "-n"], capture_output=True,
                             text=True)
        assert run.returncode == 0, run.stderr
        return [line for line in run.stdout.splitlines() if " install " in line and "ipykernel" not in line]

    uv, pip = dry("uv"), dry("pip")
    assert len(uv) == len(pip) == 3  # the tools, the package with its extras, face_recognition without its deps
    assert " uv" in uv[0].split("wheel")[1] and " uv" not in pip[0]  # uv itself comes from pip, pinned
    for lines, tool in ((uv, "-m uv pip install"), (pip, "-m pip install")):
        assert all(str(tmp_path / "venv") in line for line in lines)
        assert tool in lines[1] and "-c ci/constraints.txt" in lines[1] and '".[dlib,dev,teach]"' in lines[1]
        assert tool in lines[2] and "--no-deps" in lines[2]
    assert "--compile-bytecode" in uv[1]  # imports then read compiled files, as after pip
    with pytest.raises(ValueError, match="installer"):
        bench.setup_command(tmp_path / "venv", "conda")
    wrong = subprocess.run([*bench.setup_command(tmp_path / "venv", "pip")[:-1], "INSTALLER=conda", "-n"],
                           capture_output=True, text=True)
    assert wrong.returncode != 0 and "INSTALLER must be uv or pip" in wrong.stderr


def test_gpu_busy_averages_the_samples_of_a_time_window_only(fake_nvidia_smi):
    import time

    before = time.perf_counter()
    with bench.GpuBusy(interval_ms=200) as gpu:
        time.sleep(0.5)
        start = time.perf_counter()
        time.sleep(0.3)
        end = time.perf_counter()
    assert gpu.samples and {u for _, u in gpu.samples} == {87.0}  # "[N/A]" is not a reading
    assert gpu.samples[-1][0] > end  # leaving waited for the reading that covers the block's last moments
    assert gpu.mean(start, end) == 87.0
    assert gpu.mean(before - 10, before - 5) is None  # no sample in that window
    # A reading is the busy share over the interval before it: a window counts the readings whose interval
    # overlaps it, so a window shorter than the interval (a few fast steps) still gets the reading after it.
    gpu.samples = [(1.0, 50.0), (1.25, 87.0), (1.5, 20.0)]
    assert gpu.mean(1.10, 1.12) == 87.0
    assert gpu.mean(1.0, 1.26) == 87.0 and gpu.mean(0.99, 1.26) == (50.0 + 87.0) / 2  # 1.5 covers 1.3 on
    assert gpu.mean(1.27, 1.29) is None  # 1.25 is before it, 1.5 covers 1.3 to 1.5 only
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


def test_the_batch_benchmark_times_every_batch_size_in_alternating_rounds(face_dirs, monkeypatch):
    r = bench.bench_batch([2, 4], 2, rounds=1, warmup=1, reference=2, reference_steps=100, faces=face_dirs)  # real
    assert all(len(r["runs"][b]) == 1 and min(r["runs"][b]) > 0 for b in (2, 4))
    t2, t4 = r["seconds_per_step"][2], r["seconds_per_step"][4]
    assert r["equal_time_steps"][2] == 100 and r["equal_time_steps"][4] == round(100 * t2 / t4)
    assert r["images_per_second"][4] == pytest.approx(8 / t4)
    with pytest.raises(ValueError, match="reference"):
        bench.bench_batch([2, 4], 2, reference=16, faces=face_dirs)
    calls = []  # the order and the medians, with known speeds: batch 2 at 8 images/s, batch 4 at 16, then 32

    def fake(loop, a, b, preset, batch_size, *args, **kwargs):
        calls.append(batch_size)
        return {"ips": 8.0 if batch_size == 2 else 16.0 * calls.count(4)}

    monkeypatch.setattr(bench, "train_speed", fake)
    r = bench.bench_batch([2, 4], 2, rounds=3, reference=2, reference_steps=100, faces=face_dirs)
    assert calls == [2, 4, 4, 2, 2, 4]  # alternated
    assert r["runs"][4] == [0.5, 0.25, 8 / 48] and r["seconds_per_step"] == {2: 0.5, 4: 0.25}
    assert r["equal_time_steps"] == {2: 100, 4: 200} and r["steps_per_minute"][4] == 240


def test_the_precision_benchmark_times_both_precisions_alternately_and_gives_their_ratio(face_dirs, monkeypatch):
    from deepfake_utils import train

    r = bench.bench_precision(2, 1, rounds=1, warmup=1, faces=face_dirs)  # one real step in each precision
    assert all(len(r["runs"][p]) == 1 and r["runs"][p][0] > 0 for p in bench.PRECISIONS)
    assert r["bfloat16_speedup"] == pytest.approx(r["runs"]["float32"][0] / r["runs"]["bfloat16"][0])
    assert r["bfloat16_by_default"] == train.bfloat16_by_default() and r["batch_size"] == 2
    assert r["machine"] == train.machine() and r["load"] >= 0 and r["date"].startswith(time.strftime("%Y-"))
    calls = []  # the order and the medians, with known step times: float32 10 images/s, bfloat16 20, then 40

    def fake(*args, mixed_precision, **kwargs):
        calls.append(mixed_precision)
        return {"ips": 10.0 if mixed_precision is False else 20.0 * calls.count("bfloat16")}

    monkeypatch.setattr(bench, "train_speed", fake)
    r = bench.bench_precision(2, 1, rounds=3, faces=face_dirs)
    assert calls == [False, "bfloat16", "bfloat16", False, False, "bfloat16"]  # alternated, as named
    assert r["runs"]["bfloat16"] == [0.2, 0.1, 4 / 60] and r["seconds_per_step"]["bfloat16"] == 0.1
    assert r["seconds_per_step"]["float32"] == 0.4 and r["bfloat16_speedup"] == pytest.approx(4.0)
    with pytest.raises(ValueError, match="at least 1"):
        bench.bench_precision(0, 1, faces=face_dirs)


def test_each_run_is_a_fresh_process_with_the_kernels_it_was_given(face_dirs, capsys, monkeypatch):
    # the switch TensorFlow reads when it is imported (test_configure_first_... checks that TensorFlow takes it)
    says = ["-c", "import json, os; print('a log line'); print(json.dumps(os.environ.get('TF_ENABLE_ONEDNN_OPTS')))"]
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")  # this process's value does not leak into the run
    assert [bench._child(says, bench.KERNELS[k]) for k in ("off", "on")] == ["0", "1"]
    assert bench._child(says, None) is None  # unset: TensorFlow's own choice
    with pytest.raises(RuntimeError, match="failed:\n.*no faces here"):  # a failing run: its error, not a parse
        bench._child(["-c", "import sys; sys.exit('no faces here')"], None)
    # what each run is: `train-one`, whose last line is the JSON the parent parses (here in this process)
    capsys.readouterr()
    assert bench.main(["train-one", "ours", *map(str, face_dirs), "--preset", "tiny", "--batch-size", "4",
                       "--steps", "2", "--warmup", "1"]) == 0
    r = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert r["ips"] > 0 and r["onednn"] is train.onednn_enabled() and 0 <= r["input_wait"] < 1


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
    assert landmark_error(naive["000001"], track.naive_find(video.read_frames(short)[0]).landmarks) == 0


def test_recipe_specs_can_name_the_shared_part():
    from benchmarks.bench_swap import parse_recipe

    recipe, precision, shared = parse_recipe("fast:shared=decoder,ssim=0")
    assert (recipe.name, recipe.ssim, precision, shared) == ("fast:shared=decoder,ssim=0", 0.0, None, "decoder")
    assert parse_recipe("original")[2] == "encoder"  # the classic unless asked
    with pytest.raises(ValueError, match="shared must be one of"):
        parse_recipe("fast:shared=both")


def test_the_recipes_benchmark_trains_the_preset_it_is_given(face_dirs, tmp_path, monkeypatch):
    from benchmarks import bench_swap
    from deepfake_utils import model
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


def test_the_pairs_benchmark_runs_every_pair_and_takes_the_median(tmp_path, capsys):
    from benchmarks import bench_swap
    from deepfake_utils import data, metrics
    from deepfake_utils.video import read_frames

    with pytest.raises(ValueError, match="SOURCE:IDENTITY"):
        bench_swap.parse_pair("2.mp4:Nobody")
    with pytest.raises(ValueError, match="budget"):
        bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], minutes=None, steps=None)
    with pytest.raises(ValueError, match="every_steps"):
        bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], minutes=5, steps=None, every_steps=10)
    with pytest.raises(ValueError, match="one budget"):  # a schedule decays to its own budget's end
        bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], recipe="fast:decay=0.2", minutes=None, steps=10,
                               every_steps=5)
    with pytest.raises(ValueError, match="one budget"):  # so does B's side first
        bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], recipe="fast:b_first=0.2", minutes=None, steps=10,
                               every_steps=5)
    with pytest.raises(ValueError, match="masks"):  # the GAN's own mask: not for these autoencoders
        bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], minutes=None, steps=10, masks=("learned",))
    with pytest.raises(ValueError, match="colours"):
        bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], minutes=None, steps=10, colours=("sepia",))
    for bad in ("bogus=1", "blur", "blur=wide", "label=x", "", "blur=0.9"):  # conversion options, checked up front
        with pytest.raises(ValueError):
            bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], minutes=None, steps=10, pastes=(bad,))
    assert bench_swap.parse_paste("colour=hist,seamless,blur=0.1") == Options(colour="hist", seamless=True, blur=0.1)
    # a number for a field that may be None (the model's own), and changes to a given conversion
    assert bench_swap.parse_paste("sharpen=0.5", Options(colour="avg")) == Options(colour="avg", sharpen=0.5)
    with pytest.raises(ValueError, match="init too"):  # another generic model: what --init starts from
        bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], minutes=None, steps=10, generic="generic-tiny")
    with pytest.raises(ValueError, match="not a 'original' one"):  # checked before any work
        bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], minutes=None, steps=10, init="all",
                               generic="generic-tiny", preset="original")
    with pytest.raises(ValueError, match="work"):  # reuse: the models of an earlier run's work folder
        bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], minutes=None, steps=10, reuse=True)
    assert bench_swap.parse_pair("KatieHill:Serena_Williams") == ("KatieHill", "Serena_Williams")
    assert {s for s, _ in bench_swap.PAIRS} == set(data.SOURCE_VIDEOS) and len(bench_swap.PAIRS) >= 4
    out = tmp_path / "pairs.json"
    result = bench_swap.bench_pairs([("2.mp4", "George_W_Bush"), ("KatieHill", "Serena_Williams")], minutes=None,
                                    steps=2, work=tmp_path / "work", out=out, gallery="small", max_frames=2,
                                    n_photos=4, gallery_photos=(2, 1), every_steps=1, masks=("rect",))
    assert [(r["source"], r["target"], r["steps"]) for r in result["pairs"]] == [
        ("2.mp4", "George_W_Bush", 2), ("KatieHill", "Serena_Williams", 2)]
    assert result["mask"] == "forehead" and result["masks"] == ["rect"]  # the rows' own mask, recorded
    assert (result["colour"], result["sharpen"]) == ("hist", 1)  # and the conversion's colour method and sharpening
    assert not result["reused"] and result["generic"] is None
    for row in result["pairs"]:  # B is never its own distractor; A and B are in the gallery
        assert row["identities"] == 13 and 0 <= row["detail_kept"] and row["faces"]["A"] == 2
        assert len(row["nearest"]) <= 3 and sum(row["nearest"].values()) <= 2  # who the swap looked like, per frame
        assert list(row["nearest"].values()) == sorted(row["nearest"].values(), reverse=True)
        assert (row["learning_rate"], row["batch_size"]) == (4e-4, 16)  # what trained it, not only the recipe's name
        assert row["precision"] == "float32"  # as the recipe says (no precision=...), whatever the CPU's default
        # measured on the way (--every-steps): one swap per stop, the last the row's own
        assert [p["steps"] for p in row["curve"]] == [1, 2] and row["curve"][-1]["swapped"] == row["swapped"]
        assert Path(row["curve"][0]["swapped"]).is_file() and row["curve"][0]["swapped"] != row["swapped"]
        assert row["curve"][-1]["detail_kept"] == row["detail_kept"]
        for point in row["curve"]:  # each model also pasted through the whole square, and measured
            rect = point["by_mask"]["rect"]
            assert rect["swapped"] != point["swapped"] and 0 <= rect["detail_kept"]
            assert min(point["seam"], rect["seam"]) >= 0  # each swap's seam, measured
        source = read_frames(data.source_video(row["source"]), max_frames=1)[0].astype(int)
        changed = {mask: int((np.abs(read_frames(path, max_frames=1)[0] - source) > 12).any(-1).sum())
                   for mask, path in (("forehead", row["swapped"]), ("rect", row["by_mask"]["rect"]["swapped"]))}
        assert changed["rect"] > changed["forehead"] > 0, changed  # the square reaches past the face's outline
        assert 0.3 < row["detail_ceiling"] < 1.05  # a perfect 64 px face keeps much, not all, of the detail
        assert Path(row["swapped"]).is_file()
        pair = json.loads(Path(row["swapped"]).with_suffix(".pair.json").read_text())  # what notebook 10 reads
        assert (Path(row["swapped"]).parent / pair["alignments"] / "alignments.json").is_file()
        assert pair["conversion"] == "colour hist, sharpen 1"  # how it was converted, which bench_detector groups by
        rect = json.loads(Path(row["by_mask"]["rect"]["swapped"]).with_suffix(".pair.json").read_text())
        assert rect["conversion"] == "colour hist, sharpen 1, mask rect"
    assert result["median"]["id_retrieval"] == np.median([r["id_retrieval"] for r in result["pairs"]])
    assert {"date", "machine", "load"} <= set(result)  # when and where it ran, and how busy the machine was
    assert set(result["targets_met"]) == set(metrics.TARGETS)
    np.testing.assert_equal(json.loads(out.read_text())["median"], result["median"])  # (NaN where no face)
    table = bench_swap.format_pairs(result)
    assert "median" in table and "KatieHill -> Serena_Williams" in table and "targets on every pair" in table
    assert table.count("mask rect") == 2 and "seam" in table and "converted with colour hist, sharpen 1" in table
    assert metrics.sharpened(result["pairs"][0]["swapped"]) == 1  # the default conversion sharpens
    # reuse: the same model converted again, with other colour methods and options, not trained again
    first = result["pairs"][0]
    before = read_frames(first["swapped"], max_frames=1)[0].astype(int)
    stamps = [(m, m.stat().st_mtime_ns) for m in sorted((tmp_path / "work" / "models").rglob("*")) if m.is_file()]
    again = bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], minutes=None, steps=2, work=tmp_path / "work",
                                   gallery="small", max_frames=2, n_photos=4, gallery_photos=(2, 1),
                                   pastes=("seamless",), reuse=True)
    row = again["pairs"][0]
    assert again["reused"] and again["pastes"] == ["seamless"] and row["steps"] == 2
    assert [(m, m.stat().st_mtime_ns) for m, _ in stamps] == stamps  # nothing trained or saved
    assert np.abs(read_frames(row["swapped"], max_frames=1)[0] - before).mean() < 0.5  # the same model's swap
    # another conversion of the rows' own (as every run before 2026-12-06 converted), which the variants change
    classic = bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], minutes=None, steps=2, work=tmp_path / "work",
                                     gallery="small", max_frames=2, n_photos=4, gallery_photos=(2, 1),
                                     colours=("none",), reuse=True, conversion="colour=avg,sharpen=0")
    assert (classic["colour"], classic["sharpen"], classic["conversion"]) == ("avg", 0, "colour=avg,sharpen=0")
    raw, clone = classic["pairs"][0]["by_colour"]["none"], row["by_paste"]["seamless"]
    assert metrics.sharpened(classic["pairs"][0]["swapped"]) == metrics.sharpened(raw["swapped"]) == 0
    assert metrics.sharpened(clone["swapped"]) == 1  # a paste changes the rows' own conversion, sharpened here
    assert len({row["swapped"], raw["swapped"], clone["swapped"]}) == 3 and min(raw["seam"], clone["seam"]) >= 0
    assert bench_swap.format_pairs(again).count("paste seamless") == 1
    assert bench_swap.format_pairs(classic).count("colour none") == 1
    with pytest.raises(ValueError, match="past"):  # a model trained further than asked is not relabelled
        bench_swap.bench_pairs([("2.mp4", "George_W_Bush")], minutes=None, steps=1, work=tmp_path / "work",
                               gallery="small", max_frames=2, n_photos=4, gallery_photos=(2, 1), reuse=True)
    with pytest.raises(ValueError, match="SOURCE:IDENTITY"):  # the command line checks its pairs before any work
        bench.main(["pairs", "--pairs", "2.mp4:George_W_Bush", "2.mp4:Nobody"])


def test_the_detail_of_the_training_faces_is_measured_as_the_swap_is(sample_faces, tmp_path):
    """The same faces give the same detail; a blurred copy of them much less; a folder without faces is an error."""
    import shutil

    import cv2

    from benchmarks import bench_swap
    from deepfake_utils.fileio import read_image, write_image

    work = tmp_path / "work"
    shutil.copytree(sample_faces / "A", work / "faces" / "2.mp4")
    shutil.copytree(sample_faces / "A", work / "faces" / "George_W_Bush-only")  # B: A's own faces, as they are
    shutil.copytree(sample_faces / "A", work / "faces" / "Gerhard_Schroeder-only")  # B: the same, blurred
    for path in (work / "faces" / "Gerhard_Schroeder-only").glob("*.png"):
        write_image(path, cv2.GaussianBlur(read_image(path), (0, 0), 3))
    same = bench_swap.training_detail(work / "faces" / "2.mp4")
    assert same["n"] == len(list((sample_faces / "A").glob("*.png"))) and 0 < same["model"] < same["crop"]
    result = bench_swap.detail_sources([("2.mp4", "George_W_Bush"), ("2.mp4", "Gerhard_Schroeder")], work)
    identical, blurred = result["pairs"]
    assert identical["A"] == identical["B"] == same
    assert identical["b_over_a"] == pytest.approx(same["model"] / same["crop"])  # a 64 px model's own loss
    assert blurred["b_over_a"] < 0.3 * identical["b_over_a"]
    with pytest.raises(ValueError, match="bench pairs"):
        bench_swap.detail_sources([("KatieHill", "Serena_Williams")], work)


def _record(name: str) -> dict:
    from pathlib import Path

    return json.loads((Path(__file__).resolve().parents[1] / "benchmarks" / name).read_text())


def _points(*files: str) -> dict:
    """Every measurement of recorded pair runs, keyed by (source, target, steps): a curve's points, or the row."""
    return {(r["source"], r["target"], p["steps"]): p for f in files for r in _record(f)["pairs"]
            for p in r.get("curve", [r])}


def _most_nearest(point: dict) -> str:
    """The identity most often nearest to a recorded swap."""
    return max(point["nearest"], key=point["nearest"].get)


def _frames_at_most(point: dict, name: str, frames: int = 200) -> int:
    """At most how many frames of a recorded swap had ``name`` nearest: its count among the three recorded, else the
    frames those three leave."""
    return point["nearest"].get(name, frames - sum(point["nearest"].values()))


def test_the_recorded_recipe_runs_say_what_notebook_07_says():
    """Notebook 07 reads these records and its text states what they show: a re-recorded run that says otherwise
    must change the text too."""
    to_90 = {spec: run["minutes_to_90"] for spec, run in _record("recipes.json")["recipes"].items()}
    assert to_90["fast"] is not None and (to_90["original"] is None or to_90["fast"] < to_90["original"])
    arch = _record("architectures.json")
    for recipe in ("fast", "original"):
        classic, mirror = arch["recipes"][recipe], arch["recipes"][f"{recipe}:shared=decoder"]
        assert classic["steps_to_90"] is not None and mirror["steps_to_90"] is None
        assert max(p["id_retrieval"] for p in mirror["curve"]) == 0  # FaceReplace's swap: B nearest in no frame
        assert mirror["curve"][-1]["expression_error"] <= min(0.03, classic["curve"][-1]["expression_error"])
    fast_b = arch["recipes"]["fast:shared=decoder"]["curve"][-1]["through_b_encoder"]
    original_b = arch["recipes"]["original:shared=decoder"]["curve"][-1]["through_b_encoder"]
    assert fast_b["id_retrieval"] >= 0.9 and fast_b["recognised"] >= 0.9
    assert original_b["id_retrieval"] < arch["recipes"]["original"]["curve"][-1]["id_retrieval"] - 0.5


def test_the_recorded_half_budget_learning_rate_coverage_and_photo_runs_say_what_notebook_07_says():
    """Notebook 07 and benchmarks/README.md state what these records show: re-recorded runs that say otherwise must
    change the text too."""
    def by_pair(record: dict) -> dict:
        return {(r["source"], r["target"]): r for r in record["pairs"]}

    half, full = by_pair(_record("pairs-half-713.json")), by_pair(_record("pairs-only-b-1425.json"))
    cov160, photos = by_pair(_record("pairs-coverage160-1425.json")), by_pair(_record("detail-sources.json"))
    bush, schroeder = ("2.mp4", "George_W_Bush"), ("2.mp4", "Gerhard_Schroeder")
    gloria = ("KatieHill", "Gloria_Macapagal_Arroyo")
    assert {r["steps"] for r in half.values()} == {713} and {r["steps"] for r in full.values()} == {1425}
    # half the budget keeps the sample pair and loses its sibling, which the full budget has
    assert half[bush]["id_retrieval"] >= 0.9 > half[schroeder]["id_retrieval"]
    assert full[schroeder]["id_retrieval"] >= 0.9
    # coverage 160: more detail on every pair, but a woman's pair loses its identity, so it is not adopted
    assert set(cov160) == set(full) and all(cov160[p]["detail_kept"] > full[p]["detail_kept"] for p in full)
    assert cov160[gloria]["id_retrieval"] < full[gloria]["id_retrieval"] - 0.2
    assert [p["steps"] for p in cov160[schroeder]["curve"]] == [713, 1425]
    assert cov160[schroeder]["curve"][0]["id_retrieval"] >= 0.9  # sooner to the man's identities
    from deepfake_utils.choices import PRESETS, RECIPES

    assert RECIPES["fast"].coverage == 192
    # twice the learning rate: identity better or equal on every pair at both budgets, so it is the tiny preset's
    for steps in (713, 1425):
        old = half if steps == 713 else full
        new = by_pair(_record(f"pairs-lr4e-4-{steps}.json"))
        assert set(new) == set(old) and all(new[p]["steps"] == steps for p in new)
        assert all(new[p][k] >= old[p][k] for p in old for k in ("id_retrieval", "recognised"))
        assert new[schroeder]["id_retrieval"] >= 0.9 and new[schroeder]["recognised"] >= 0.9
    assert new[gloria]["id_retrieval"] >= 0.9 > full[gloria]["id_retrieval"]
    assert PRESETS["tiny"].learning_rate == 4e-4 and RECIPES["fast"].learning_rate is None
    # B's photos hold a fraction of the woman's video's eye-and-mouth structure, more than the man's
    assert all(r["b_over_a"] < 0.2 for p, r in photos.items() if p[0] == "KatieHill")
    assert all(r["b_over_a"] > 1 for p, r in photos.items() if p[0] == "2.mp4")


def test_the_detector_benchmark_groups_swaps_by_their_pair_json_and_reads_old_gpu_names(tmp_path):
    from benchmarks import bench_detector, bench_swap

    work, other = tmp_path / "work", tmp_path / "gan"
    faces = work / "faces" / "2.mp4"
    faces.mkdir(parents=True)
    (work / "swapped").mkdir()
    (work / "gpu-swapped").mkdir()
    source = tmp_path / "source.mp4"
    bench_swap.write_pair_json(work / "swapped" / "a.mp4", source, faces, "George_W_Bush", 1425, init=None)
    for name, options in (("c", Options()), ("d", Options(colour="avg", sharpen=0)), ("e", Options(mask="rect"))):
        bench_swap.write_pair_json(work / "swapped" / f"{name}.mp4", source, faces, "George_W_Bush", 1425, init=None,
                                   conversion=bench_swap.conversion_label(options))  # grouped by their conversion
    bench_swap.write_pair_json(work / "gpu-swapped" / "b-tiny-7000.mp4", source, faces, "George_W_Bush", 7000,
                               group="GPU tiny")
    (work / "gpu-swapped" / "b-tiny-7000.mp4").touch()  # has its pair.json: read once, from it
    (work / "gpu-swapped" / "2_mp4-George_W_Bush-only-b-tiny-1425.mp4").touch()  # measured before pair.json
    (other / "swapped").mkdir(parents=True)
    for steps in (900, 880):
        bench_swap.write_pair_json(other / "swapped" / f"g{steps}.mp4", source, faces, "George_W_Bush", steps,
                                   group="CPU GAN tiny, learned mask")
    spec = json.loads((other / "swapped" / "g900.pair.json").read_text())
    assert spec["swapped"] == "g900.mp4" and (other / "swapped" / spec["alignments"]).resolve() == faces.resolve()
    groups = bench_detector.swap_groups(work, other)
    assert {k: len(v) for k, v in groups.items()} == {
        "CPU tiny, 1425 steps": 1, "CPU tiny, 1425 steps, converted with colour hist, sharpen 1": 1,
        "CPU tiny, 1425 steps, converted with colour avg, sharpen 0": 1,
        "CPU tiny, 1425 steps, converted with colour hist, sharpen 1, mask rect": 1,
        "GPU tiny, 1 425–7 000 steps": 2, "CPU GAN tiny, learned mask, 880–900 steps": 2}
    swapped, src, alignments = groups["CPU tiny, 1425 steps"][0]
    assert swapped == work / "swapped" / "a.mp4" and src == source and alignments.resolve() == faces.resolve()


def test_the_gan_pairs_table_shows_every_swap_of_every_pair():
    from benchmarks import bench_gan

    swap = {"id_retrieval": 1.0, "recognised": 0.5, "faces_found": 1.0, "expression_error": 0.04,
            "jitter_ratio": 0.9, "to_target": 0.55, "detail": {"eyes_mouth": 0.4, "eyes": 0.5, "mouth": 0.3,
                                                                "fine": 0.2}}
    row = {"source": "2.mp4", "target": "George_W_Bush", "detail_ceiling": 0.6,
           "gan": {"steps": 900, "train_minutes": 4.0, "mask_mean": 0.45},
           "autoencoder": {"steps": 2800, "train_minutes": 4.0},
           "swaps": {key: swap for key, *_ in bench_gan.SWAPS}}
    rows = bench_gan.gan_rows({"pairs": [row]})
    assert [r["swap"] for r in rows] == [label for _, label, *_ in bench_gan.SWAPS]
    assert [r["steps"] for r in rows] == [2800, 900, 900] and [r["mask_mean"] for r in rows] == [None, 0.45, 0.45]
    table = bench_gan.format_gan_pairs({"pairs": [row]})
    assert table.count("2.mp4 → George_W_Bush") == 3 and "**0.40** (0.60)" in table
    # another conversion of every swap (--conversions): a row of its own after each swap's own, named by its spec
    other = {**swap, "detail": {**swap["detail"], "eyes_mouth": 0.55}}
    row["swaps"] = {key: {**swap, "by_conversion": {"colour=hist,sharpen=1": other}} for key, *_ in bench_gan.SWAPS}
    rows = bench_gan.gan_rows({"pairs": [row]})
    assert [r["conversion"] for r in rows] == ["", "colour=hist,sharpen=1"] * 3
    assert [r["detail"] for r in rows] == [0.4, 0.55] * 3 and [r["steps"] for r in rows] == [2800] * 2 + [900] * 4
    assert rows[1]["swap"] == bench_gan.SWAPS[0][1] + ", colour=hist,sharpen=1"
    assert bench_gan.conversion_slug("colour=hist,sharpen=0.5") == "colour-hist-sharpen-0_5"
    with pytest.raises(ValueError, match="steps"):
        bench_gan.bench_gan_pairs([("2.mp4", "George_W_Bush")], Path("nowhere"), Path("nowhere"), steps=0)
    with pytest.raises(ValueError, match="paste"):  # a conversion is checked before any work
        bench_gan.bench_gan_pairs([("2.mp4", "George_W_Bush")], Path("nowhere"), Path("nowhere"),
                                  conversions=("sharpen=1", "bogus=1"))
    with pytest.raises(ValueError, match="no trained autoencoder"):
        bench_gan.bench_gan_pairs([("2.mp4", "George_W_Bush")], Path("nowhere"), Path("nowhere"))


def test_the_recorded_gan_pairs_run_says_what_notebook_09_and_the_readme_say():
    """Notebook 09 and benchmarks/README.md state what this record shows: a re-recorded run that says otherwise must
    change the text too."""
    run = _record("gan-pairs.json")
    assert len(run["pairs"]) == 4 and {"date", "machine"} <= set(run)
    for r in run["pairs"]:
        ae, learned, face = (r["swaps"][k] for k in ("autoencoder", "gan_learned", "gan_ae_mask"))
        assert 0.3 < r["gan"]["mask_mean"] < 0.7 and learned["id_retrieval"] == 0  # half A's face: B in no frame
        assert r["gan"]["train_minutes"] == pytest.approx(r["autoencoder"]["train_minutes"], abs=0.05)  # fair control
        assert face["detail"]["eyes_mouth"] < ae["detail"]["eyes_mouth"]  # no payoff in detail on any pair
        assert face["id_retrieval"] <= ae["id_retrieval"]


def test_the_recorded_gan_conversions_say_what_the_readmes_notebook_09_and_the_gans_default_say():
    """benchmarks/README.md, README.md, notebook 09 and ``choices.GAN_COLOUR``'s comment say: today's conversion brings
    the GAN's face nearer B on every pair, not its learned-mask swap (the mask still near 0.5), so a GAN's default
    conversion stays; the autoencoder trained on as long beats the GAN on every pair with either conversion."""
    from deepfake_utils.choices import GAN_COLOUR, GAN_SHARPEN, Options

    run = _record("gan-pairs-conversions.json")
    today = run["conversions"] == ["colour=hist,sharpen=1"] and run["conversion"] == {"colour": "avg", "sharpen": 0}
    assert today and run["only_b"] and len(run["pairs"]) == 4 and {"date", "machine"} <= set(run)
    assert Options().for_model(gan=True) == Options(colour=GAN_COLOUR, sharpen=GAN_SHARPEN) and GAN_SHARPEN == 0
    learned_lost = []
    for r in run["pairs"]:
        ae, learned, face = (r["swaps"][k] for k in ("autoencoder", "gan_learned", "gan_ae_mask"))
        ae2, learned2, face2 = (s["by_conversion"]["colour=hist,sharpen=1"] for s in (ae, learned, face))
        assert 0.45 < r["gan"]["mask_mean"] < 0.55 and r["start_steps"] == 1425
        assert r["gan"]["train_minutes"] == pytest.approx(r["autoencoder"]["train_minutes"], abs=0.05)  # fair control
        assert face2["id_retrieval"] >= face["id_retrieval"] and face2["recognised"] >= face["recognised"]
        assert abs(face2["expression_error"] - face["expression_error"]) <= 0.005 and face2["jitter_ratio"] < 1.0
        assert max(learned["id_retrieval"], learned2["id_retrieval"]) < 0.4  # half of A's face shows either way
        learned_lost.append(learned2["id_retrieval"] < learned["id_retrieval"])
        for a, g in ((ae, face), (ae2, face2)):  # the autoencoder trained on as long ahead, either conversion
            assert a["id_retrieval"] >= g["id_retrieval"] and a["recognised"] >= g["recognised"]
        assert ae["detail"]["eyes_mouth"] > face["detail"]["eyes_mouth"]  # its own (unsharpened) detail
        assert min(s["faces_found"] for s in (ae, learned, face, ae2, learned2, face2)) >= 0.99
    assert any(learned_lost)  # today's conversion does not win the GAN's own swap on every pair: the default stays
    woman = {r["target"]: r["swaps"]["autoencoder"]["by_conversion"]["colour=hist,sharpen=1"]["recognised"]
             for r in run["pairs"] if r["source"] == "KatieHill"}
    assert woman["Serena_Williams"] >= 0.9 > woman["Gloria_Macapagal_Arroyo"]  # Gloria short of 90 % even so
    root = Path(__file__).resolve().parents[1]
    assert "**a GAN's default conversion stays the average colour, unsharpened**" in " ".join(
        (root / "benchmarks" / "README.md").read_text().split())
    assert "gan-pairs-conversions.json" in (root / "README.md").read_text()


def test_the_recorded_rate_decay_and_batch_runs_say_why_the_default_stays():
    """benchmarks/README.md and notebook 07 say: 8e-4, 8e-4 decaying and batch 8 or 32 at equal CPU time each lose a
    pair or a target that the default (4e-4, batch 16) keeps, so the default stays."""
    def at(*files, half_of=None):
        out = {}
        for file in files:
            for row in _record(file)["pairs"]:
                for point in row.get("curve", [row]):
                    budget = "half" if point["steps"] <= (half_of or 713) else "full"
                    out[(row["target"], budget)] = point
        return out

    default = at("pairs-lr4e-4-713.json", "pairs-lr4e-4-1425.json")
    fast = at("pairs-lr8e-4-1425.json")
    decay = at("pairs-lr8e-4-decay-713.json", "pairs-lr8e-4-decay-1425.json")
    speed = _record("batch-speed.json")
    batch8, batch32 = at("pairs-batch8-2603.json", half_of=1302), at("pairs-batch32-803.json", half_of=402)
    assert speed["equal_time_steps"] == {"8": 2603, "16": 1425, "32": 803}  # the runs' budgets: equal CPU time
    assert speed["images_per_second"]["32"] > speed["images_per_second"]["8"]
    assert set(fast) == set(decay) == set(batch8) == set(batch32) == set(default) and len(default) == 8
    bush, serena, gloria = "George_W_Bush", "Serena_Williams", "Gloria_Macapagal_Arroyo"
    # 8e-4: identity better or equal everywhere, but the sample pair's expression misses 0.06
    assert all(fast[k][m] >= default[k][m] for k in default for m in ("id_retrieval", "recognised"))
    assert fast[bush, "full"]["expression_error"] > 0.06 >= default[bush, "full"]["expression_error"]
    # decaying: more detail on every pair at half the budget, and still the sample pair's expression at half
    assert all(decay[k]["detail_kept"] > default[k]["detail_kept"] for k in default if k[1] == "half")
    assert decay[bush, "half"]["expression_error"] > 0.06 and decay[serena, "half"]["recognised"] < 0.9
    # batch 8 loses Gloria, batch 32 both of the woman's pairs
    assert batch8[gloria, "full"]["id_retrieval"] < 0.9 <= default[gloria, "full"]["id_retrieval"]
    assert all(batch32[t, "full"]["id_retrieval"] < default[t, "full"]["id_retrieval"] for t in (serena, gloria))
    from deepfake_utils.choices import PRESETS, RECIPES

    assert (PRESETS["tiny"].learning_rate, PRESETS["tiny"].batch_size, RECIPES["fast"].decay) == (4e-4, 16, 0.0)


def test_the_recorded_precision_runs_say_what_the_readmes_and_the_default_say():
    """README and benchmarks/README: on the AMX CPU bfloat16 trained 1.2-1.3x faster for `tiny`, 1.6x for `original`;
    that CPU is one where the trainer defaults to bfloat16."""
    runs = {(r["preset"], r["recipe"]): r for r in map(_record, ("precision-amx-tiny-fast.json",
                                                               "precision-amx-tiny-original.json",
                                                               "precision-amx-original-fast.json"))}
    for r in runs.values():
        assert {"amx_tile", "amx_bf16"} <= set(r["flags"]) and r["bfloat16_by_default"] and r["rounds"] == 3
        assert max(r["runs"]["bfloat16"]) < min(r["runs"]["float32"])  # faster in every round, not only the median
    speedup = {key: round(r["bfloat16_speedup"], 2) for key, r in runs.items()}
    assert speedup == {("tiny", "fast"): 1.22, ("tiny", "original"): 1.33, ("original", "fast"): 1.62}
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "1.2–1.3× the\nsteps per second of float32 for the `tiny` model and 1.6× for `original`" in readme


def test_the_recorded_bfloat16_pair_runs_say_what_benchmarks_readme_and_notebook_07_say():
    """bfloat16 meets the same targets as float32 on every pair at both budgets, in less training time (the first
    pair's run shared the cores); the same float32 configuration on another CPU moved Serena_Williams 20 -> 68 %."""
    from deepfake_utils import metrics

    runs = {p: _points(f"pairs-amx-{p}-1425.json") for p in ("float32", "bfloat16")}
    assert set(runs["float32"]) == set(runs["bfloat16"]) and len(runs["float32"]) == 8  # 4 pairs x 713 and 1425
    for key, point in runs["float32"].items():
        assert metrics.check_targets_values(point) == metrics.check_targets_values(runs["bfloat16"][key]), key
    minutes = {p: {r["target"]: r["train_minutes"] for r in _record(f"pairs-amx-{p}-1425.json")["pairs"]}
               for p in runs}
    assert all(minutes["bfloat16"][t] < 0.8 * minutes["float32"][t] for t in minutes["float32"] if t != "George_W_Bush")
    serena, elsewhere = ("KatieHill", "Serena_Williams", 1425), _points("pairs-forehead-1425.json")  # the AMD EPYC
    here = runs["float32"][serena]
    assert round(elsewhere[serena]["id_retrieval"], 2) == 0.2 and round(here["id_retrieval"], 2) == 0.68
    record = _record("pairs-amx-float32-1425.json")
    assert (record["recipe"], record["mask"]) == (_record("pairs-forehead-1425.json")["recipe"], "forehead")
    nb07 = json.loads((Path(__file__).resolve().parents[1] / "notebooks" / "07_training.ipynb").read_text())
    assert any("pairs-amx-bfloat16-1425.json" in "".join(c["source"]) for c in nb07["cells"])


def test_the_recorded_30_minute_run_says_what_the_readmes_and_notebook_07_say():
    """benchmarks/README.md, the README and notebook 07 say: six times the demo's steps on a CPU raises the woman's
    identity but not the eyes' and mouth's detail, which stays far below issue 19's 0.85 and below a perfect 64 px
    face; its first point is the default run again."""
    run = _record("pairs-30min.json")
    rows = {r["target"]: r for r in run["pairs"]}
    assert set(rows) == {"George_W_Bush", "Serena_Williams"} and {"date", "machine", "command"} <= set(run)
    default = {r["target"]: r for r in _record("pairs-lr4e-4-1425.json")["pairs"]}
    for target, row in rows.items():
        assert (row["learning_rate"], row["batch_size"], row["steps"]) == (4e-4, 16, 8550)
        assert row["train_minutes"] <= 30 and [p["steps"] for p in row["curve"]] == list(range(1425, 8551, 1425))
        first = row["curve"][0]
        for key in ("id_retrieval", "recognised", "detail_kept", "expression_error"):
            assert first[key] == pytest.approx(default[target][key], abs=0.01)  # the default run, reproduced
        details = [p["detail_kept"] for p in row["curve"]]
        assert max(details) < min(0.7, row["detail_ceiling"]) and max(details) - min(details) < 0.1
        assert all(p["expression_error"] <= 0.06 and p["jitter_ratio"] <= 1.2 for p in row["curve"])
    bush, serena = rows["George_W_Bush"]["curve"], rows["Serena_Williams"]["curve"]
    assert all(p["id_retrieval"] == 1 and p["recognised"] == 1 for p in bush)
    assert serena[-1]["recognised"] == 1 > serena[0]["recognised"]
    assert 0.9 > serena[-1]["id_retrieval"] >= serena[0]["id_retrieval"] + 0.3


def _one_pair_30_minutes(name: str, target: str) -> tuple[dict, list[dict]]:
    """A recorded 30-minute run of one pair (the default recipe, measured every 2 850 steps): its row, and its curve
    from the default run's 1 425-step point on."""
    run = _record(name)
    (row,) = run["pairs"]
    assert row["target"] == target and {"date", "machine", "command"} <= set(run)
    assert (row["learning_rate"], row["batch_size"], row["steps"], row["seed"]) == (4e-4, 16, 8550, None)
    assert row["train_minutes"] <= 30 and [p["steps"] for p in row["curve"]] == [2850, 5700, 8550]
    return row, [_points("pairs-lr4e-4-1425.json")[row["source"], row["target"], 1425], *row["curve"]]


def test_the_recorded_30_minute_run_on_gloria_says_what_the_readmes_and_notebook_07_say():
    """benchmarks/README.md, the README and notebook 07 say: on the woman's other pair, six times the demo's steps
    raise recognition (43 -> 76 %) and keep her the nearest identity, short of 90 % recognised, with the detail
    where it was, far below a perfect 64 px face and below B's photos' ceiling."""
    row, curve = _one_pair_30_minutes("pairs-30min-gloria.json", "Gloria_Macapagal_Arroyo")
    recognised = [p["recognised"] for p in curve]
    assert recognised == sorted(recognised) and recognised[-1] - recognised[0] > 0.3 and recognised[-1] < 0.9
    assert all(p["id_retrieval"] >= 0.9 for p in curve)
    details = [p["detail_kept"] for p in curve]
    photos = {(r["source"], r["target"]): r["b_over_a"] for r in _record("detail-sources.json")["pairs"]}[
        row["source"], row["target"]]
    assert max(details) < min(photos, row["detail_ceiling"]) and max(details) - min(details) < 0.05
    assert all(p["expression_error"] <= 0.06 and p["jitter_ratio"] <= 1.2 for p in curve)


def test_the_recorded_30_minute_run_on_gerhard_says_what_the_readmes_and_notebook_07_say():
    """benchmarks/README.md, the README and notebook 07 say: on the man's other pair, six times the demo's steps keep
    B in every frame and do not raise the detail (0.57 at the demo's budget, 0.45 at 6x), below a perfect 64 px
    face's."""
    row, curve = _one_pair_30_minutes("pairs-30min-gerhard.json", "Gerhard_Schroeder")
    assert all(p["id_retrieval"] == 1 and p["recognised"] == 1 for p in curve)
    details = [p["detail_kept"] for p in curve]
    assert max(details) == details[0] < row["detail_ceiling"] and details[-1] < details[0] - 0.1
    assert all(p["expression_error"] <= 0.06 and p["jitter_ratio"] <= 1.2 for p in curve)


def test_the_recorded_mask_run_says_what_the_readmes_and_notebook_08_say():
    """benchmarks/README.md, the README and notebook 08 say: pasting the model's whole square instead of the hull
    brings B nearer on every pair at both budgets (Serena_Williams nearest 20 -> 61 %, Gloria_Macapagal_Arroyo
    recognised 43 -> 88 % at the demo's budget), for a little more expression error everywhere and less of the
    woman's detail; its default rows are the default run again. A second seed on the woman's pairs: the same."""
    runs = {"pairs-masks-1425.json": ("pairs-lr4e-4-713.json", "pairs-lr4e-4-1425.json"),
            "pairs-masks-seed1-1425.json": ("pairs-seed1-lr4e-4-1425.json",)}
    for name, defaults in runs.items():
        run = _record(name)
        assert {"date", "machine", "command"} <= set(run) and run["masks"] == ["rect"]
        default, points = _points(*defaults), _points(name)
        assert len(points) == 2 * len(run["pairs"]) and len(run["pairs"]) in (2, 4)
        for key, point in points.items():
            for metric in ("id_retrieval", "recognised", "detail_kept", "expression_error"):
                if key in default:  # the default run, reproduced
                    assert point[metric] == pytest.approx(default[key][metric], abs=0.01), (name, key)
            rect = point["by_mask"]["rect"]
            assert rect["to_target"] < point["to_target"], (name, key)
            assert rect["id_retrieval"] >= point["id_retrieval"] and rect["recognised"] >= point["recognised"], key
            assert 0 < rect["expression_error"] - point["expression_error"] <= 0.008, (name, key)
            assert rect["jitter_ratio"] <= 1.2 and (rect["detail_kept"] < point["detail_kept"] or key[0] != "KatieHill")
        assert sum(key in default for key in points) >= len(run["pairs"])  # each pair's default row is recorded
    points = _points("pairs-masks-1425.json")
    serena, gloria = (points["KatieHill", b, 1425] for b in ("Serena_Williams", "Gloria_Macapagal_Arroyo"))
    assert serena["id_retrieval"] < 0.25 < 0.6 < serena["by_mask"]["rect"]["id_retrieval"]
    assert serena["by_mask"]["rect"]["recognised"] == 1
    assert gloria["recognised"] < 0.5 < 0.85 < gloria["by_mask"]["rect"]["recognised"] < 0.9


def test_the_recorded_forehead_mask_run_says_what_the_readmes_and_notebook_08_say():
    """benchmarks/README.md, the README and notebook 08 say: the hull grown over the brows and lower forehead brings
    B nearer on every pair at both budgets, about as near as the whole square, and meets every target the old
    default (hull x rect) met, the sample pair's expression at half the budget too; with no more expression error
    than the square (less on Serena_Williams). Its default and rect rows are the earlier runs again; a second seed
    on the woman's pairs says the same."""
    from deepfake_utils import metrics

    run = _record("pairs-forehead-1425.json")
    assert {"date", "machine", "command"} <= set(run) and run["masks"] == ["rect", "forehead"]
    default, before, points = (_points("pairs-lr4e-4-713.json", "pairs-lr4e-4-1425.json"),
                               _points("pairs-masks-1425.json"), _points("pairs-forehead-1425.json"))
    assert set(points) == set(before) and len(points) == 8
    for key, point in points.items():
        for metric in ("id_retrieval", "recognised", "detail_kept", "expression_error"):  # the same models again
            assert point[metric] == pytest.approx(default[key][metric], abs=0.01), key
            assert point["by_mask"]["rect"][metric] == pytest.approx(before[key]["by_mask"]["rect"][metric], abs=0.01)
        forehead, rect = point["by_mask"]["forehead"], point["by_mask"]["rect"]
        assert forehead["to_target"] < point["to_target"] and forehead["to_target"] < rect["to_target"] + 0.01, key
        assert forehead["id_retrieval"] >= point["id_retrieval"] and forehead["recognised"] >= point["recognised"]
        held, now = metrics.check_targets_values(point), metrics.check_targets_values(forehead)
        assert all(now[k] for k, ok in held.items() if ok), key  # no target lost
        assert forehead["expression_error"] - point["expression_error"] <= 0.007 and forehead["jitter_ratio"] <= 1.2
        assert forehead["expression_error"] <= rect["expression_error"] + 0.0015, key  # the square's, or less
        if key[1] == "Serena_Williams":
            assert forehead["expression_error"] < rect["expression_error"] - 0.002, key
    sample = points["2.mp4", "George_W_Bush", 713]
    assert sample["by_mask"]["forehead"]["expression_error"] <= 0.06 < sample["expression_error"]
    serena, gloria = (points["KatieHill", b, 1425]["by_mask"]["forehead"]
                      for b in ("Serena_Williams", "Gloria_Macapagal_Arroyo"))
    assert 0.6 < serena["id_retrieval"] < 0.9 <= serena["recognised"]
    assert gloria["id_retrieval"] >= 0.9 and 0.8 < gloria["recognised"] < 0.9
    # a second seed on the woman's pairs: its hull x rect and rect rows are pairs-masks-seed1-1425.json's again
    run, before = _record("pairs-forehead-seed1-1425.json"), _points("pairs-masks-seed1-1425.json")
    points = _points("pairs-forehead-seed1-1425.json")
    assert run["seed"] == 1 and run["masks"] == ["rect", "forehead"] and set(points) == set(before) and len(points) == 4
    for key, point in points.items():
        for metric in ("id_retrieval", "recognised", "detail_kept", "expression_error"):
            assert point[metric] == pytest.approx(before[key][metric], abs=0.01), key
            assert point["by_mask"]["rect"][metric] == pytest.approx(before[key]["by_mask"]["rect"][metric], abs=0.01)
        forehead = point["by_mask"]["forehead"]
        assert forehead["to_target"] < point["to_target"] - 0.015, key
        assert forehead["recognised"] > point["recognised"] + 0.25, key
        held, now = metrics.check_targets_values(point), metrics.check_targets_values(forehead)
        assert all(now[k] for k, ok in held.items() if ok), key
    woman = [p["by_mask"] for f in ("pairs-forehead-1425.json", "pairs-forehead-seed1-1425.json")
             for (source, _, _), p in _points(f).items() if source == "KatieHill"]
    assert len(woman) == 8 and sum(m["rect"]["recognised"] > m["forehead"]["recognised"] for m in woman) == 6  # README


def test_the_recorded_cross_gender_mask_run_says_what_benchmarks_readme_and_notebook_07_say():
    """benchmarks/README.md and notebook 07 say: at 4e-4 both cross-gender pairs come nearer B than at 2e-4, and the
    whole square brings B in nearly every frame at both budgets, for more expression error and less detail."""
    run = _record("pairs-cross-masks-1425.json")
    assert {"date", "machine", "command"} <= set(run) and run["masks"] == ["rect"]
    assert all((r["learning_rate"], r["batch_size"], r["seed"]) == (4e-4, 16, None) for r in run["pairs"])
    before, points = _points("pairs-cross-1425.json"), _points("pairs-cross-masks-1425.json")
    assert {(s, t) for s, t, _ in points} == {("2.mp4", "Serena_Williams"), ("KatieHill", "George_W_Bush")}
    assert len(points) == 4 and sum(key in before for key in points) == 2
    for key, point in points.items():
        if key in before:  # the old rate's run: 1 425 steps only
            assert point["id_retrieval"] > before[key]["id_retrieval"] + 0.2, key
        rect = point["by_mask"]["rect"]
        assert rect["to_target"] < point["to_target"] and min(rect["id_retrieval"], rect["recognised"]) > 0.9, key
        assert rect["expression_error"] > point["expression_error"] and rect["detail_kept"] < point["detail_kept"]


def test_the_recorded_cross_gender_forehead_run_says_what_benchmarks_readme_and_notebook_07_say():
    """benchmarks/README.md and notebook 07 say: across genders too, forehead brings B about as near as the whole
    square (nearest in 92 % of frames or more), loses no target, and the man's video -> Serena_Williams stays over the
    expression line with every mask."""
    from deepfake_utils import metrics

    run, before = _record("pairs-cross-forehead-1425.json"), _points("pairs-cross-masks-1425.json")
    points = _points("pairs-cross-forehead-1425.json")
    assert run["masks"] == ["rect", "forehead"] and set(points) == set(before) and len(points) == 4
    for key, point in points.items():
        for metric in ("id_retrieval", "recognised", "expression_error"):  # the same models again
            assert point[metric] == pytest.approx(before[key][metric], abs=0.01), key
            assert point["by_mask"]["rect"][metric] == pytest.approx(before[key]["by_mask"]["rect"][metric], abs=0.01)
        forehead, rect = point["by_mask"]["forehead"], point["by_mask"]["rect"]
        assert forehead["to_target"] < point["to_target"] and forehead["to_target"] < rect["to_target"] + 0.01, key
        assert forehead["id_retrieval"] >= 0.92 and forehead["recognised"] >= 0.95, key
        held, now = metrics.check_targets_values(point), metrics.check_targets_values(forehead)
        assert all(now[k] for k, ok in held.items() if ok), key
        if key[0] == "2.mp4":
            assert min(point["expression_error"], rect["expression_error"], forehead["expression_error"]) > 0.06



    """benchmarks/README.md, the README and notebook 07 say: with a second seed, 8e-4 again beat the default on
    Serena_Williams (whom the default leaves unrecognised) and lost on Gloria_Macapagal_Arroyo; NME grew on both."""
    def by_target(*files):
        return {(r["target"], r["seed"] or 1234): r for f in files for r in _record(f)["pairs"]
                if r["source"] == "KatieHill"}

    default = by_target("pairs-lr4e-4-1425.json", "pairs-seed1-lr4e-4-1425.json")
    fast = by_target("pairs-lr8e-4-1425.json", "pairs-seed1-lr8e-4-1425.json")
    assert set(default) == set(fast) == {(t, s) for t in ("Serena_Williams", "Gloria_Macapagal_Arroyo")
                                          for s in (1234, 1)}
    assert all(r["steps"] == 1425 for r in (*default.values(), *fast.values()))
    assert all(r["learning_rate"] == 4e-4 for k, r in default.items() if k[1] == 1)
    assert all(r["learning_rate"] == 8e-4 for k, r in fast.items() if k[1] == 1)
    # both faster runs recognise Serena more often than either default run: more than the seeds' own spread
    assert min(fast["Serena_Williams", s]["recognised"] for s in (1234, 1)) >= 0.9 > max(
        default["Serena_Williams", s]["recognised"] for s in (1234, 1))
    for seed in (1234, 1):
        assert all(fast[t, seed]["expression_error"] > default[t, seed]["expression_error"]
                   for t in ("Serena_Williams", "Gloria_Macapagal_Arroyo"))
    gloria = [fast["Gloria_Macapagal_Arroyo", s]["recognised"] - default["Gloria_Macapagal_Arroyo", s]["recognised"]
              for s in (1234, 1)]
    assert gloria[0] > 0 > gloria[1]  # won with one seed, lost with the other


def test_the_recorded_loss_weight_runs_say_the_defaults_weights_stay():
    """benchmarks/README.md, the README and notebook 07 say: twice the eyes' and mouth's weight keeps no more of the
    man's detail and costs both of the woman's pairs identity; no weights keeps more of the man's detail at half the
    budget and loses Serena_Williams; so `fast` keeps its weights."""
    default = _points("pairs-lr4e-4-713.json", "pairs-lr4e-4-1425.json")
    eyes12, none = _points("pairs-eyes12-1425.json"), _points("pairs-noweights-1425.json")
    assert set(eyes12) == set(none) == set(default) and {k[2] for k in default} == {713, 1425}
    assert _record("pairs-eyes12-1425.json")["recipe"] == "fast:eyes_mouth_weight=12"
    assert _record("pairs-noweights-1425.json")["recipe"] == "fast:face_weight=1,eyes_mouth_weight=1"
    assert all(r["learning_rate"] == 4e-4 for f in ("pairs-eyes12-1425.json", "pairs-noweights-1425.json")
               for r in _record(f)["pairs"])
    man = [k for k in default if k[0] == "2.mp4"]
    woman = [k for k in default if k[0] == "KatieHill"]
    assert all(eyes12[k]["detail_kept"] <= default[k]["detail_kept"] + 0.005 for k in man)
    assert all(eyes12[k]["recognised"] < default[k]["recognised"] and eyes12[k]["id_retrieval"] < default[k][
        "id_retrieval"] for k in woman)
    assert all(none[k]["detail_kept"] > default[k]["detail_kept"] + 0.03 for k in man if k[2] == 713)
    serena = [k for k in woman if k[1] == "Serena_Williams"]
    assert all(none[k]["recognised"] < default[k]["recognised"] - 0.1 for k in serena)
    assert none["KatieHill", "Gloria_Macapagal_Arroyo", 1425]["recognised"] > default[
        "KatieHill", "Gloria_Macapagal_Arroyo", 1425]["recognised"]  # the one place it wins on identity


def test_the_recorded_init_all_run_at_todays_rate_says_what_the_readmes_and_notebook_07_say():
    """benchmarks/README.md, the README and notebook 07 say: started from the generic model at 4e-4, the man's pairs
    escape the trap by 1 425 steps and the woman's do not; the expression error is lower than from scratch on every
    pair at both budgets, the man's detail lower; so the default stays training from scratch."""
    run = _record("pairs-init-all-lr4e-4-1425.json")
    assert run["init"] == "all" and all(r["learning_rate"] == 4e-4 and r["only_b"] for r in run["pairs"])
    init = _points("pairs-init-all-lr4e-4-1425.json")
    default = _points("pairs-lr4e-4-713.json", "pairs-lr4e-4-1425.json")
    assert set(init) == set(default) and {k[2] for k in init} == {713, 1425}
    assert all(init[k]["expression_error"] < default[k]["expression_error"] for k in init)
    man = [k for k in init if k[0] == "2.mp4"]
    woman = [k for k in init if k[0] == "KatieHill"]
    assert all(init[k]["id_retrieval"] == init[k]["recognised"] == 1 for k in man if k[2] == 1425)
    assert init["2.mp4", "Gerhard_Schroeder", 713]["id_retrieval"] < 0.1  # the trap, at half the budget
    assert all(init[k]["detail_kept"] < default[k]["detail_kept"] - 0.05 for k in man)
    assert all(init[k]["recognised"] < default[k]["recognised"] - 0.2 and init[k]["id_retrieval"] < default[k][
        "id_retrieval"] for k in woman)
    assert all(init[k]["detail_kept"] > default[k]["detail_kept"] for k in woman)
    encoder = _points("pairs-init-encoder-lr4e-4-1425.json")
    assert set(encoder) == set(init) and _record("pairs-init-encoder-lr4e-4-1425.json")["init"] == "encoder"
    assert all(encoder[k]["id_retrieval"] <= init[k]["id_retrieval"] and encoder[k]["expression_error"] < default[k][
        "expression_error"] and encoder[k]["detail_kept"] <= init[k]["detail_kept"] + 0.01 for k in init)
    assert encoder["2.mp4", "Gerhard_Schroeder", 1425]["id_retrieval"] < 0.5  # worse still: fresh decoders


def test_the_recorded_longer_generic_model_run_says_what_the_readmes_and_notebook_07_say():
    """benchmarks/README.md, the README and notebook 07 say: a generic model pretrained twice the steps at 4e-4 starts
    pairs that escape the trap sooner than the shipped one, keep B on the man's video and Gloria_Macapagal_Arroyo (both
    identity targets at the full budget), with a lower expression error and seam on every pair, but lose
    Serena_Williams's nearest and the man's detail against training from scratch (same CPU, code and precision): not
    adopted."""
    run = _record("pairs-init-all-long-1425.json")
    shipped = pretrain.load_weights("generic-tiny")[1]
    assert run["init"] == "all" and run["generic"]["learning_rate"] == 4e-4 > shipped["learning_rate"]
    assert run["generic"]["steps"] >= 2 * shipped["steps"] and run["generic"]["train_minutes"] == shipped[
        "train_minutes"]  # the same 30 minutes, on a faster CPU, at twice the rate
    assert all(r["learning_rate"] == 4e-4 and r["precision"] == "float32" and r["only_b"] for r in run["pairs"])
    scratch_run = _record("pairs-amx-float32-1425.json")
    assert scratch_run["machine"] == run["machine"] and scratch_run["recipe"] == run["recipe"] == "fast"
    init, scratch = _points("pairs-init-all-long-1425.json"), _points("pairs-amx-float32-1425.json")
    assert set(init) == set(scratch) and {k[2] for k in init} == {713, 1425}
    assert all(init[k]["expression_error"] < scratch[k]["expression_error"] and init[k]["seam"] < scratch[k]["seam"]
               for k in init)
    man = [k for k in init if k[0] == "2.mp4"]
    woman = [k for k in init if k[0] == "KatieHill"]
    assert all(init[k]["id_retrieval"] == init[k]["recognised"] == 1 for k in man)  # no trap, even at half the budget
    assert all(init[k]["detail_kept"] < scratch[k]["detail_kept"] - 0.03 for k in man)
    assert all(init[k]["detail_kept"] > 1.5 * scratch[k]["detail_kept"] for k in woman)
    gloria = init["KatieHill", "Gloria_Macapagal_Arroyo", 1425]
    assert min(gloria["id_retrieval"], gloria["recognised"]) >= 0.9 > scratch[
        "KatieHill", "Gloria_Macapagal_Arroyo", 1425]["recognised"]
    serena = [k for k in woman if k[1] == "Serena_Williams"]
    assert all(init[k]["id_retrieval"] < 0.15 < 0.6 < scratch[k]["id_retrieval"] for k in serena)  # lost on her,
    assert all(_most_nearest(init[k]) == "Laila_Ali" and _frames_at_most(init[k], "A") <= 9 for k in serena)  # not to A
    assert not run["targets_met"]["id_retrieval"]
    shipped_run = _record("pairs-init-all-shipped-amx-1425.json")  # the shipped model, the same CPU and settings
    assert shipped_run["generic"]["sha256"] == shipped["sha256"] and shipped_run["machine"] == run["machine"]
    before = _points("pairs-init-all-shipped-amx-1425.json")
    assert set(before) < set(init) and len(before) == 6
    assert all(init[k]["recognised"] > before[k]["recognised"] for k in before if before[k]["recognised"] < 1)
    assert all(init[k]["id_retrieval"] >= before[k]["id_retrieval"] for k in before)  # sooner out of the trap
    assert before["2.mp4", "Gerhard_Schroeder", 713]["id_retrieval"] < 1 and all(
        before[k]["recognised"] < 0.7 for k in before if k[0] == "KatieHill")


def test_the_recorded_b_first_run_brings_the_woman_no_nearer_b():
    """benchmarks/README.md, the README and notebook 07 say: B's side alone for the first quarter of the budget, from
    the shipped generic model, moves nothing that matters against both sides every step (same CPU, settings and
    steps): the woman's pairs stay far from B, expression and the seam the same; not adopted."""
    from deepfake_utils.choices import RECIPES

    run, plain = _record("pairs-init-all-bfirst-1425.json"), _record("pairs-init-all-shipped-amx-1425.json")
    assert run["recipe"] == "fast:b_first=0.25" and RECIPES["fast"].b_first == 0  # off in the shipped recipe
    assert run["machine"] == plain["machine"] and run["init"] == plain["init"] == "all"
    assert run["generic"] is None and plain["generic"]["sha256"] == pretrain.load_weights("generic-tiny")[1]["sha256"]
    assert all(r["precision"] == "float32" and r["learning_rate"] == 4e-4 and r["only_b"] for r in run["pairs"])
    first, both = _points("pairs-init-all-bfirst-1425.json"), _points("pairs-init-all-shipped-amx-1425.json")
    assert set(first) == {k for k in both if k[2] == 1425} and len(first) == 3
    for k, row in first.items():
        assert abs(row["expression_error"] - both[k]["expression_error"]) < 0.005
        assert abs(row["seam"] - both[k]["seam"]) < 0.5 and abs(row["detail_kept"] - both[k]["detail_kept"]) < 0.03
        if k[0] == "KatieHill":  # still far from B, a look-alike in the gallery nearest
            assert max(row["id_retrieval"], both[k]["id_retrieval"]) < 0.6 and row["recognised"] < 0.6
            assert _most_nearest(row) in ("Laila_Ali", k[1]) and row["nearest"].get(k[1], 0) < 100
        else:
            assert row["id_retrieval"] == row["recognised"] == 1
    assert not run["targets_met"]["id_retrieval"]


def test_the_recorded_longer_fine_tuning_from_the_generic_model_says_what_the_readmes_say():
    """benchmarks/README.md, the README and notebook 07 say: fine-tuned from the shipped generic model for 2x and 4x the
    demo's steps, the woman's pairs come nearer B (Gloria recognised in 97 %, nearest in 89.5 % at 2x), Serena under the
    target and under this CPU's scratch run at 1x, and the generic starts' misses are a look-alike in the gallery, not
    A; not adopted."""
    run = _record("pairs-init-all-5700.json")
    assert run["init"] == "all" and run["generic"] is None and run["recipe"] == "fast"
    assert run["machine"] == _record("pairs-init-all-shipped-amx-1425.json")["machine"] == _record(
        "pairs-amx-float32-1425.json")["machine"]
    assert all(r["precision"] == "float32" and r["only_b"] for r in run["pairs"])
    files = ("pairs-init-all-shipped-amx-1425.json", "pairs-init-all-long-1425.json", "pairs-init-all-bfirst-1425.json",
             "pairs-init-all-5700.json")
    generic = {**_points(files[0]), **_points(files[3])}
    scratch = _points("pairs-amx-float32-1425.json")
    serena = [generic["KatieHill", "Serena_Williams", n] for n in (1425, 2850, 5700)]
    assert [p["id_retrieval"] for p in serena] == sorted(p["id_retrieval"] for p in serena)  # nearer with the steps
    assert serena[-1]["id_retrieval"] < 0.5 < 0.6 < scratch["KatieHill", "Serena_Williams", 1425]["id_retrieval"]
    gloria = generic["KatieHill", "Gloria_Macapagal_Arroyo", 2850]
    assert gloria["recognised"] >= 0.9 > gloria["id_retrieval"] >= 0.89 and not run["targets_met"]["id_retrieval"]
    for (source, target, steps), point in {k: p for f in files for k, p in _points(f).items()}.items():
        if source == "KatieHill":  # B or a look-alike nearest, A at most a few frames from 1 425 steps on
            assert _most_nearest(point) in (target, "Laila_Ali", "Sarah_Hughes")
            assert _frames_at_most(point, "A") <= (31 if steps < 1425 else 11)
    assert all(_most_nearest(p) == "Laila_Ali" for k, p in _points(*files).items() if k[1] == "Serena_Williams")
    again = _points("pairs-scratch-nearest-1425.json")  # scratch trained again: the same numbers, and who is missed
    for k, point in again.items():
        assert {m: point[m] for m in ("id_retrieval", "recognised", "detail_kept")} == {
            m: scratch[k][m] for m in ("id_retrieval", "recognised", "detail_kept")}
        assert _most_nearest(point) == k[1] and "A" not in point["nearest"]
    assert set(again["KatieHill", "Serena_Williams", 1425]["nearest"]) == {"Serena_Williams", "Laila_Ali"}


def test_the_recorded_second_scratch_seed_spreads_the_womans_identity_and_leaves_the_conclusions():
    """benchmarks/README.md and the README say: on the Intel Xeon a second seed from scratch moves the woman's identity
    by 25-42 points, neither seed meets both identity targets on either of her pairs, the misses are the same
    look-alikes, and the generic starts' Serena stays below both seeds."""
    run = _record("pairs-scratch-seed1-amx-1425.json")
    assert run["machine"] == _record("pairs-amx-float32-1425.json")["machine"] and run["init"] is None
    assert all(r["seed"] == 1 and r["precision"] == "float32" and r["only_b"] for r in run["pairs"])
    one, default = _points("pairs-scratch-seed1-amx-1425.json"), _points("pairs-amx-float32-1425.json")
    assert set(one) == {k for k in default if k[0] == "KatieHill"}
    for k, point in one.items():
        other = default[k]
        both = [min(p["id_retrieval"], p["recognised"]) for p in (point, other)]
        assert max(both) < 0.9  # neither seed meets both identity targets
        assert _most_nearest(point) in (k[1], "Laila_Ali", "Sarah_Hughes") and _frames_at_most(point, "A") <= 8
    serena = [p[("KatieHill", "Serena_Williams", 1425)]["id_retrieval"] for p in (one, default)]
    assert 0.2 <= max(serena) - min(serena) <= 0.4 and (round(min(serena), 2), round(max(serena), 2)) == (0.43, 0.68)
    gloria = [p[("KatieHill", "Gloria_Macapagal_Arroyo", 1425)]["recognised"] for p in (one, default)]
    assert 0.2 <= max(gloria) - min(gloria) <= 0.4
    generic = _points("pairs-init-all-shipped-amx-1425.json", "pairs-init-all-long-1425.json",
                      "pairs-init-all-bfirst-1425.json")
    assert max(p["id_retrieval"] for k, p in generic.items() if k[1:] == ("Serena_Williams", 1425)) < min(serena)


def test_the_recorded_sharpening_runs_lift_the_detail_figure_past_a_perfect_model_and_the_woman_nearer_b():
    """benchmarks/README.md, the README and notebook 08 say: sharpening at conversion lifts the man's detail figure
    past the ceiling of a perfect 64 px face (so it counts amplified contrast, and the default does not sharpen), holds
    his identity, and brings both of the woman's B's nearer; every unsharpened row is its earlier record's."""
    man, woman = _record("pairs-sharpen-man-1425.json"), _record("pairs-sharpen-woman-1425.json")
    assert man["pastes"] == woman["pastes"] == ["sharpen=0.5", "sharpen=1"] and woman["reused"] and not man["reused"]
    assert man["machine"] == woman["machine"] == _record("pairs-amx-float32-1425.json")["machine"]
    recorded = _points("pairs-amx-float32-1425.json")
    for (source, target, steps), point in {**_points("pairs-sharpen-man-1425.json"),
                                           **_points("pairs-sharpen-woman-1425.json")}.items():
        before = recorded[source, target, steps]
        assert {m: point[m] for m in ("id_retrieval", "recognised", "detail_kept")} == {
            m: before[m] for m in ("id_retrieval", "recognised", "detail_kept")}  # the same model and conversion
        half, full = (point["by_paste"][f"sharpen={a}"] for a in ("0.5", "1"))
        assert point["detail_kept"] < half["detail_kept"] < full["detail_kept"]
        if source == "2.mp4":
            (row,) = [r for r in man["pairs"] if r["target"] == target]
            assert point["detail_kept"] < row["detail_ceiling"] < full["detail_kept"]  # past what a model can paint
            assert min(half["id_retrieval"], full["id_retrieval"], full["recognised"]) == 1
            if steps == 1425:
                assert full["detail_kept"] > 1  # more band-pass energy than the source itself
        else:
            assert point["id_retrieval"] < half["id_retrieval"] < full["id_retrieval"]
            assert full["detail_kept"] < 0.15  # far under its ceiling
    assert man["mask"] == "forehead"  # the default mask; sharpening alone is not the default (with hist it is)
    assert choices.Options().for_model(gan=False).sharpen == choices.DEFAULT_SHARPEN == 1
    again = _record("pairs-sharpen-woman-seed1-1425.json")  # the second seed's models: the woman's B's nearer too
    seed1 = _points("pairs-scratch-seed1-amx-1425.json")
    assert again["reused"] and all(r["seed"] == 1 for r in again["pairs"])
    for key, point in _points("pairs-sharpen-woman-seed1-1425.json").items():
        assert point["id_retrieval"] == seed1[key]["id_retrieval"]  # the same model and conversion
        ids = [point["id_retrieval"], *(point["by_paste"][f"sharpen={a}"]["id_retrieval"] for a in ("0.5", "1"))]
        assert ids == sorted(ids) and ids[0] < ids[-1]
    serena = _points("pairs-sharpen-woman-seed1-1425.json")["KatieHill", "Serena_Williams", 1425]
    assert serena["by_paste"]["sharpen=1"]["id_retrieval"] - serena["id_retrieval"] > 0.25


def test_the_recorded_hist_and_sharpen_conversions_meet_both_identity_targets_on_the_womans_pairs(small_report):
    """benchmarks/README.md, the README, notebook 08 and the verdict say: histogram matching and sharpening together
    meet both identity targets on the woman's two pairs with both seeds, where the default conversion and each lever
    alone miss one; on the man's pairs every target the default met holds; the seam is smaller on every model."""
    from deepfake_utils import metrics

    files = {"pairs-hist-sharpen-woman-1425.json": "pairs-amx-float32-1425.json",
             "pairs-hist-sharpen-woman-seed1-1425.json": "pairs-scratch-seed1-amx-1425.json",
             "pairs-hist-sharpen-man-1425.json": "pairs-amx-float32-1425.json"}
    both = "colour=hist,sharpen=1"
    for file, earlier in files.items():
        record, before = _record(file), _points(earlier)
        assert record["reused"] and record["pastes"] == ["colour=hist", "colour=hist,sharpen=0.5", both]
        assert record["machine"] == _record(earlier)["machine"] and record["colour"] == "avg"
        for key, point in _points(file).items():
            assert {m: point[m] for m in ("id_retrieval", "recognised", "detail_kept")} == {
                m: before[key][m] for m in ("id_retrieval", "recognised", "detail_kept")}  # the same model, converted
            default, hist, together = point, point["by_paste"]["colour=hist"], point["by_paste"][both]
            assert together["sharpened"] == 1 and not metrics.check_targets_values(together)["detail_kept"]
            assert together["seam"] < default["seam"]  # smaller on every model
            met = {name for name, ok in metrics.check_targets_values(together).items() if ok}
            met_before = {name for name, ok in metrics.check_targets_values(default).items() if ok}
            assert met >= met_before - {"detail_kept"}
            assert {"id_retrieval", "recognised"} <= met  # both identity targets, on every pair and seed
            if key[0] == "KatieHill":
                assert not {"id_retrieval", "recognised"} <= met_before  # the default conversion misses one of them
                assert together["detail_kept"] < 0.2  # sharpened, still far under the woman's ceilings
            if key[1] == "Serena_Williams":  # hist alone misses her nearest; together it is met
                assert hist["id_retrieval"] < 0.9 <= together["id_retrieval"]
    woman = [p["by_paste"][both] for f in ("pairs-hist-sharpen-woman-1425.json",
                                           "pairs-hist-sharpen-woman-seed1-1425.json") for p in _points(f).values()]
    assert len(woman) == 4  # two pairs, two seeds; the ranges metrics.verdict quotes:
    assert (min(p["id_retrieval"] for p in woman), max(p["id_retrieval"] for p in woman)) == (0.945, 1.0)
    assert (min(p["recognised"] for p in woman), max(p["recognised"] for p in woman)) == (0.925, 1.0)
    assert "94.5-100% of frames and recognised in 92.5-100%" in metrics.verdict(small_report(0.5, 0.05), colour="avg")
    seed1 = _record("pairs-sharpen-man-seed1-1425.json")  # the man's second seed, trained, at 713 and 1 425 steps
    assert seed1["seed"] == 1 and not seed1["reused"]
    assert seed1["machine"] == _record("pairs-amx-float32-1425.json")["machine"]
    for row in seed1["pairs"]:
        for point in row["curve"]:
            default, together = point, point["by_paste"][both]
            swaps = [default, *point["by_paste"].values()]
            assert len(swaps) == 6 and all(p["id_retrieval"] == p["recognised"] == 1 for p in swaps)
            assert together["seam"] < default["seam"] and together["jitter_ratio"] < 1.2
            assert together["expression_error"] <= default["expression_error"] + 0.0015  # at most 0.001 worse
            assert default["detail_kept"] < row["detail_ceiling"] < point["by_paste"]["sharpen=1"]["detail_kept"]
    half = _points("pairs-hist-sharpen-woman-713-1425.json")  # the woman's first seed trained again, stopped at 713
    reused = _points("pairs-hist-sharpen-woman-1425.json")
    for key, point in half.items():
        if key[2] == 1425:  # deterministic: the same model as the reused one, the same figures
            assert point["by_paste"][both]["id_retrieval"] == reused[key]["by_paste"][both]["id_retrieval"]
    serena, gloria = (half["KatieHill", b, 713]["by_paste"][both]
                      for b in ("Serena_Williams", "Gloria_Macapagal_Arroyo"))
    assert half["KatieHill", "Serena_Williams", 713]["id_retrieval"] < serena["id_retrieval"] < 0.9  # nearer, short
    assert gloria["id_retrieval"] >= 0.9 and gloria["recognised"] >= 0.9  # met at half the budget
    for point in _points("pairs-hist-sharpen-cross-1425.json").values():  # the cross-gender pairs, seed 0
        together = point["by_paste"][both]
        assert min(point["id_retrieval"], point["recognised"], together["id_retrieval"], together["recognised"]) == 1
        assert together["seam"] < point["seam"] and together["jitter_ratio"] < 1.2
        assert together["expression_error"] <= point["expression_error"] + 0.004
    # adopted: the autoencoder's conversion by default; a GAN's keeps the average colour, unsharpened (not measured)
    autoencoder, gan = choices.Options().for_model(gan=False), choices.Options().for_model(gan=True)
    assert (autoencoder.colour, autoencoder.sharpen, gan.colour, gan.sharpen) == ("hist", 1, "avg", 0)
    assert both == f"colour={autoencoder.colour},sharpen={autoencoder.sharpen:g}"  # what the records measured


def test_the_readmes_table_of_todays_defaults_on_the_pairs_is_the_recorded_one():
    """README.md's "On other pairs of people" table: the default conversion (hist, sharpen 1) of the recorded models,
    at half the budget and at the demo's, with the same models' unsharpened detail beside it."""
    both = "colour=hist,sharpen=1"
    at_full = _points("pairs-hist-sharpen-man-1425.json", "pairs-hist-sharpen-woman-1425.json")
    at_half = _points("pairs-sharpen-man-seed1-1425.json", "pairs-hist-sharpen-woman-713-1425.json")
    # (B nearest, recognised, NME, seam, sharpened band-pass, the model's own detail) at 713 and at 1 425 steps
    table = {"George_W_Bush": ((1, 1, 0.049, 3.6, 0.59, 0.38), (1, 1, 0.048, 3.4, 0.75, 0.46)),
             "Gerhard_Schroeder": ((1, 1, 0.038, 3.8, 0.81, 0.55), (1, 1, 0.038, 3.4, 0.90, 0.55)),
             "Serena_Williams": ((0.815, 1, 0.044, 8.9, 0.16, 0.04), (0.955, 1, 0.047, 8.3, 0.18, 0.05)),
             "Gloria_Macapagal_Arroyo": ((0.985, 0.965, 0.045, 7.4, 0.11, 0.06), (0.98, 0.945, 0.048, 7.2, 0.13, 0.06))}
    for target, rows in table.items():
        source = "2.mp4" if target in ("George_W_Bush", "Gerhard_Schroeder") else "KatieHill"
        for (steps, points), quoted in zip(((713, at_half), (1425, at_full)), rows, strict=True):
            point = points[source, target, steps]
            paste = point["by_paste"][both]
            got = (paste["id_retrieval"], paste["recognised"], round(paste["expression_error"], 3),
                   round(paste["seam"], 1), round(paste["detail_kept"], 2), round(point["detail_kept"], 2))
            assert got == pytest.approx(quoted, abs=1e-9), (target, steps, got)
            assert paste["sharpened"] == 1 and point.get("sharpened", 0) == 0  # bracketed, and the model's own
            assert 0.81 <= round(paste["jitter_ratio"], 2) <= 0.91  # the text's 0.81-0.91x
    assert at_half["KatieHill", "Serena_Williams", 713]["by_paste"][both]["id_retrieval"] < 0.9  # the one miss


def test_the_recorded_whole_square_with_todays_conversion_helps_the_woman_and_does_not_rescue_serena_at_half():
    """benchmarks/README.md and the README say: with hist and sharpening, the whole square brings the woman's B's a
    little nearer at both budgets and changes nothing on the man's; Serena_Williams stays short at half the budget."""
    full = _points("pairs-rect-hist-sharpen-1425.json")
    half = _points("pairs-rect-hist-sharpen-woman-713.json")
    recorded = {**_points("pairs-hist-sharpen-man-1425.json", "pairs-hist-sharpen-woman-1425.json"),
                **{k: v for k, v in _points("pairs-hist-sharpen-woman-713-1425.json").items() if k[2] == 713}}
    assert len(full) == 4 and len(half) == 2
    for name in ("pairs-rect-hist-sharpen-1425.json", "pairs-rect-hist-sharpen-woman-713.json"):
        record = _record(name)
        assert (record["colour"], record["sharpen"], record["mask"]) == ("hist", 1, "forehead")
    for key, point in {**full, **half}.items():
        before = recorded[key]["by_paste"]["colour=hist,sharpen=1"]  # today's default, recorded as a paste
        for m in ("id_retrieval", "recognised", "expression_error", "seam", "detail_kept"):
            assert point[m] == before[m], (key, m)  # the same model and conversion, to the digit
        rect = point["by_paste"]["mask=rect"]
        assert rect["id_retrieval"] >= point["id_retrieval"] and rect["recognised"] >= point["recognised"], key
        assert rect["expression_error"] <= point["expression_error"] + 0.0045, key
        if key[0] == "2.mp4":
            assert rect["id_retrieval"] == rect["recognised"] == 1
    serena = half["KatieHill", "Serena_Williams", 713]
    assert (serena["id_retrieval"], serena["by_paste"]["mask=rect"]["id_retrieval"]) == (0.815, 0.845)
    gloria = {steps: half_or_full["KatieHill", "Gloria_Macapagal_Arroyo", steps]
              for steps, half_or_full in ((713, half), (1425, full))}
    assert [(g["recognised"], g["by_paste"]["mask=rect"]["recognised"]) for g in gloria.values()] == [
        (0.965, 0.995), (0.945, 0.975)]


def test_the_recorded_coverage_160_runs_lose_gloria_with_both_seeds_at_todays_rate():
    """benchmarks/README.md and notebook 07 say: at 4e-4, coverage 160 costs Gloria_Macapagal_Arroyo her identity
    with both seeds (for a little more detail), so `fast` keeps coverage 192."""
    def gloria(file):
        (row,) = [r for r in _record(file)["pairs"] if r["target"] == "Gloria_Macapagal_Arroyo"]
        return row

    for seed_file, cov_file in (("pairs-lr4e-4-1425.json", "pairs-gloria-cov160-lr4e-4-1425.json"),
                                ("pairs-seed1-lr4e-4-1425.json", "pairs-gloria-cov160-lr4e-4-seed1-1425.json")):
        default, cov = gloria(seed_file), gloria(cov_file)
        assert default["steps"] == cov["steps"] == 1425 and cov["learning_rate"] == 4e-4
        assert cov["seed"] == default["seed"] and _record(cov_file)["recipe"] == "fast:coverage=160"
        assert cov["recognised"] < default["recognised"] - 0.2 and cov["id_retrieval"] < default["id_retrieval"]
        assert cov["detail_kept"] > default["detail_kept"]
    from deepfake_utils.choices import RECIPES

    assert RECIPES["fast"].coverage == 192


def test_the_recorded_coverage_224_run_loses_the_sample_pairs_expression():
    """benchmarks/README.md says: coverage 224 was stopped after the sample pair, where it misses the expression target
    at both budgets that the default (the same mask) meets, and keeps less detail."""
    record = _record("pairs-coverage224-1425.json")
    assert record["recipe"] == "fast:coverage=224" and record["mask"] == "forehead" and len(record["pairs"]) == 1
    wide = _points("pairs-coverage224-1425.json")
    default = {k: p["by_mask"]["forehead"] for k, p in _points("pairs-forehead-1425.json").items()}
    for steps in (713, 1425):
        key = ("2.mp4", "George_W_Bush", steps)
        assert wide[key]["id_retrieval"] == wide[key]["recognised"] == 1  # as recognisable...
        assert wide[key]["expression_error"] > 0.06 >= default[key]["expression_error"]  # ...but the NME target lost
        assert wide[key]["detail_kept"] < default[key]["detail_kept"]
    assert record["pairs"][0]["detail_ceiling"] < 0.6  # the face smaller in the model's square


def test_the_recorded_seam_run_says_what_the_readmes_and_notebook_08_say():
    """benchmarks/README.md, the README and notebook 08 say: the mask does not decide the seam (the three within 1 ΔE
    of each other on every pair, forehead within 0.6 of hull_rect), the pair does (the woman's video about twice the
    man's); no colour correction makes it 1.4-4.7x as large and costs the sample pair's NME; lab keeps it within 1.1
    and costs the man's detail; forehead again nearer B than hull_rect; the sample pair's NME 0.054 -> 0.060 on
    this CPU."""
    from deepfake_utils.metrics import JUST_NOTICEABLE

    record = _record("pairs-seams-1425.json")
    assert (record["mask"], record["colour"]) == ("forehead", "avg")
    assert record["masks"] == ["hull_rect", "rect"] and record["colours"] == ["none", "lab"]
    rows = {(r["source"], r["target"]): r for r in record["pairs"]}
    assert len(rows) == 4 and all(r["steps"] == 1425 for r in rows.values())
    for (source, _), row in rows.items():
        seams = [row["seam"], row["by_mask"]["hull_rect"]["seam"], row["by_mask"]["rect"]["seam"]]
        assert max(seams) - min(seams) < 1.0 and abs(row["seam"] - row["by_mask"]["hull_rect"]["seam"]) < 0.6
        assert row["seam"] > JUST_NOTICEABLE  # visible on every pair, with every mask
        assert row["to_target"] < row["by_mask"]["hull_rect"]["to_target"]  # forehead: B nearer
        none, lab = row["by_colour"]["none"], row["by_colour"]["lab"]
        assert 1.4 < none["seam"] / row["seam"] < 4.7 and abs(lab["seam"] - row["seam"]) <= 1.11
        if source == "2.mp4":  # the man's video: about 4.4 ΔE; Reinhard's costs detail
            assert row["seam"] < 5 and lab["detail_kept"] < row["detail_kept"] - 0.05
        else:  # the woman's: about twice
            assert row["seam"] > 7.5
    sample = rows["2.mp4", "George_W_Bush"]
    assert sample["by_colour"]["none"]["expression_error"] > 0.06 >= sample["expression_error"]
    before = _points("pairs-forehead-1425.json")["2.mp4", "George_W_Bush", 1425]["by_mask"]["forehead"]
    assert round(before["expression_error"], 3) == 0.054 and round(sample["expression_error"], 3) == 0.060
    gloria = rows["KatieHill", "Gloria_Macapagal_Arroyo"]
    assert round(gloria["recognised"], 2) == 0.66 and round(gloria["by_colour"]["none"]["recognised"], 2) == 0.82


def test_the_readmes_pairs_table_and_its_spread():
    """The README's table of the four pairs with today's defaults (pairs-ssim-1425.json), its jitter range, how far a
    second seed moves the woman's identity (up to 27 points), and what the same command gave on an AMD EPYC."""
    record = _record("pairs-ssim-1425.json")
    assert (record["recipe"], record["mask"], record["colour"], record["steps"]) == ("fast", "forehead", "avg", 1425)
    today = _points("pairs-ssim-1425.json")
    assert len(today) == 8 and all(p["faces_found"] == 1 for p in today.values())
    assert round(min(p["jitter_ratio"] for p in today.values()), 2) == 0.80
    assert round(max(p["jitter_ratio"] for p in today.values()), 2) == 0.95

    def printed(points, target, metric):
        return [f"{points['KatieHill', target, n][metric]:.0%}" for n in (713, 1425)]

    assert printed(today, "Serena_Williams", "id_retrieval") == ["66%", "68%"]
    assert printed(today, "Gloria_Macapagal_Arroyo", "id_retrieval") == ["90%", "90%"]
    assert printed(today, "Gloria_Macapagal_Arroyo", "recognised") == ["82%", "46%"]
    first = {k: p["by_mask"]["forehead"] for k, p in _points("pairs-forehead-1425.json").items()}
    assert printed(first, "Serena_Williams", "id_retrieval") == ["52%", "62%"]
    assert printed(first, "Gloria_Macapagal_Arroyo", "recognised") == ["82%", "82%"]
    second = {k: p["by_mask"]["forehead"] for k, p in _points("pairs-forehead-seed1-1425.json").items()}
    moved = max(abs(first[k][m] - second[k][m]) for k in second for m in ("id_retrieval", "recognised"))
    assert round(moved, 2) == 0.27


def test_the_recorded_run_on_todays_code_says_what_benchmarks_readme_says():
    """benchmarks/README.md says, of the four pairs on today's code (pairs-ssim-1425.json): the man's video meets every
    target but detail at both budgets, the woman's misses identity; hist brings both her B's nearer and keeps the
    man's NME within its line though higher on every point; local cuts the seam by 31-46 % on every point and costs
    Serena her identity at both budgets."""
    from deepfake_utils import metrics

    record = _record("pairs-ssim-1425.json")
    assert record["colours"] == ["hist", "local"] and not record["reused"]
    points = _points("pairs-ssim-1425.json")
    for key, p in points.items():
        met = metrics.check_targets_values(p)
        hist, local = p["by_colour"]["hist"], p["by_colour"]["local"]
        if key[0] == "2.mp4":
            assert [name for name, ok in met.items() if not ok] == ["detail_kept"]
            assert p["expression_error"] < hist["expression_error"] <= 0.06
        else:
            assert not (met["id_retrieval"] and met["recognised"]) and not met["detail_kept"]
            assert hist["id_retrieval"] > p["id_retrieval"] and hist["recognised"] >= p["recognised"] - 0.01
        assert 0.31 <= round(1 - local["seam"] / p["seam"], 2) <= 0.46
    for n in (713, 1425):
        serena = points["KatieHill", "Serena_Williams", n]
        assert serena["by_colour"]["local"]["id_retrieval"] < serena["id_retrieval"] - 0.1
        gloria = points["KatieHill", "Gloria_Macapagal_Arroyo", n]
        assert gloria["by_colour"]["hist"]["recognised"] > gloria["recognised"] + 0.1
    assert points["2.mp4", "George_W_Bush", 713]["by_colour"]["hist"]["detail_kept"] < points[
        "2.mp4", "George_W_Bush", 713]["detail_kept"]


def test_the_recorded_colour_transfer_run_says_what_the_readmes_and_notebook_07_say():
    """benchmarks/README.md, the README and notebook 07 say: B's faces in A's colours (rct), stopped after the woman's
    pairs, loses Serena_Williams's nearest at both budgets (66-68 % -> 33-34 %) and Gloria's at the full budget
    (90 -> 70 %), gains her at half the budget, and makes the seam larger on all four points."""
    record = _record("pairs-rct-1425.json")
    assert record["recipe"] == "fast:colour=rct" and [r["source"] for r in record["pairs"]] == ["KatieHill"] * 2
    rct, default = _points("pairs-rct-1425.json"), _points("pairs-ssim-1425.json")
    assert len(rct) == 4 and all(p["steps"] in (713, 1425) for p in rct.values())
    for key, p in rct.items():
        assert p["seam"] > default[key]["seam"]
        if key[1] == "Serena_Williams":
            assert p["id_retrieval"] < 0.35 < 0.65 < default[key]["id_retrieval"]
    gloria = ("KatieHill", "Gloria_Macapagal_Arroyo")
    assert rct[(*gloria, 713)]["recognised"] > default[(*gloria, 713)]["recognised"]
    assert rct[(*gloria, 1425)]["id_retrieval"] < default[(*gloria, 1425)]["id_retrieval"] - 0.15
    from deepfake_utils.choices import RECIPES

    assert RECIPES["fast"].colour == "shift"  # not adopted


def test_the_recorded_colour_and_paste_runs_say_what_the_readmes_and_notebook_08_say():
    """benchmarks/README.md, the README and notebook 08 say, of the seam run's models converted again: `local` cuts
    the seam by 40-45 % on every pair, keeps every target avg met and the sample pair's NME falls (0.060 -> 0.050),
    but Serena is nearest in 55 % of frames, not 62 %; seamless cuts less and loses the woman's identity; a wider
    feather loses it too; hist raises it on both her pairs and costs the man's NME; hist + seamless between."""
    from deepfake_utils import metrics

    seams = {(r["source"], r["target"]): r for r in _record("pairs-seams-1425.json")["pairs"]}
    local, pastes = (_record(f) for f in ("pairs-local-1425.json", "pairs-pastes-1425.json"))
    assert local["reused"] and pastes["reused"] and local["local_sigma"] == 0.1
    assert local["colours"] == ["local"] and local["pastes"] == ["colour=hist,seamless"]
    assert pastes["pastes"] == ["seamless", "blur=0.12", "colour=hist"]
    rows = {(r["source"], r["target"]): r for r in local["pairs"]}
    pasted = {(r["source"], r["target"]): r for r in pastes["pairs"]}
    other = {k: r["by_paste"] for k, r in pasted.items()}
    assert set(rows) == set(seams) == set(other) and len(rows) == 4
    pct = {}
    for key, row in rows.items():
        for run in (row, pasted[key]):
            # the same models, re-measured: the default rows are the seam run's again
            assert (round(run["seam"], 2), run["expression_error"]) == (round(seams[key]["seam"], 2),
                                                                        seams[key]["expression_error"])
        new = row["by_colour"]["local"]
        assert 0.40 <= round(1 - new["seam"] / row["seam"], 2) <= 0.45  # as printed, in per cent
        met, kept = metrics.check_targets_values(row), metrics.check_targets_values(new)
        assert all(kept[k] for k in met if met[k])  # every target avg met
        assert new["expression_error"] <= row["expression_error"] + 0.001
        for by in (other[key]["seamless"], other[key]["colour=hist"]):
            assert by["seam"] < row["seam"]  # both lower it on every pair
        assert other[key]["seamless"]["seam"] > new["seam"]  # by less than local
        assert 0.14 <= round(1 - other[key]["colour=hist"]["seam"] / row["seam"], 2) <= 0.24
        pct[key] = {name: (f"{by['id_retrieval']:.0%}", f"{by['recognised']:.0%}")
                    for name, by in (("avg", row), ("local", new), ("both", row["by_paste"]["colour=hist,seamless"]),
                                     *other[key].items())}
    man = [k for k in rows if k[0] == "2.mp4"]
    sample, serena, gloria = ("2.mp4", "George_W_Bush"), ("KatieHill", "Serena_Williams"), (
        "KatieHill", "Gloria_Macapagal_Arroyo")
    assert [f"{rows[k]['by_colour']['local']['seam']:.1f}" for k in (*man, serena, gloria)] == ["2.6", "2.6", "5.9",
                                                                                               "4.9"]
    assert [f"{rows[k]['expression_error']:.3f}" for k in (sample,)] == ["0.060"]
    assert f"{rows[sample]['by_colour']['local']['expression_error']:.3f}" == "0.050"
    assert pct[serena]["avg"][0] == "62%" and pct[serena]["local"][0] == "55%"
    assert sum(rows[k]["by_colour"]["local"]["to_target"] > rows[k]["to_target"] for k in rows) == 3
    # seamless: Serena 62 -> 56 % nearest, Gloria 66 -> 57 % recognised; the wide feather 35 %, 8 %
    assert (pct[serena]["seamless"][0], pct[gloria]["avg"][1], pct[gloria]["seamless"][1]) == ("56%", "66%", "57%")
    assert (pct[serena]["blur=0.12"][0], pct[gloria]["blur=0.12"][1]) == ("35%", "8%")
    for k in rows:  # the wide feather: larger on the man's video, about 1 smaller on the woman's
        change = other[k]["blur=0.12"]["seam"] - rows[k]["seam"]
        assert change > 0 if k[0] == "2.mp4" else -1.4 < change < -0.8
    # hist: Serena 84 % nearest, Gloria 88 % recognised; the man's NME 0.063 and 0.044, jitter 0.93 -> 0.99
    assert (pct[serena]["colour=hist"][0], pct[gloria]["colour=hist"][1]) == ("84%", "88%")
    hist = {k: other[k]["colour=hist"] for k in rows}
    assert [f"{hist[k]['expression_error']:.3f}" for k in man] == ["0.063", "0.044"]
    assert (f"{rows[sample]['jitter_ratio']:.2f}", f"{hist[sample]['jitter_ratio']:.2f}") == ("0.93", "0.99")
    both = {k: rows[k]["by_paste"]["colour=hist,seamless"] for k in rows}
    assert [f"{both[k]['seam']:.1f}" for k in (*man, gloria, serena)] == ["2.9", "2.9", "6.0", "7.2"]
    assert (pct[serena]["both"][0], pct[gloria]["both"][1]) == ("77%", "78%")


def test_the_recorded_conversions_on_a_third_cpu_beat_the_classic_one_and_miss_gloria_recognised():
    """benchmarks/README.md's "Today's conversion on a third CPU" table and the README's sentence about it: today's
    conversion nearer B than the classic one on every pair, with a smaller seam; Gloria recognised in 87 %."""
    record = _record("pairs-conversions-1425.json")
    assert (record["colour"], record["sharpen"], record["pastes"], record["steps"]) == (
        "hist", 1, ["colour=avg,sharpen=0"], 1425)
    points = _points("pairs-conversions-1425.json")
    # (B nearest, recognised, NME, jitter, seam) for today's conversion, then the classic one
    table = {"George_W_Bush": ((1, 1, 0.051, 0.89, 3.5), (1, 1, 0.055, 0.90, 4.1)),
             "Gerhard_Schroeder": ((1, 1, 0.043, 0.89, 3.7), (1, 1, 0.042, 0.90, 4.1)),
             "Serena_Williams": ((0.925, 0.995, 0.043, 0.92, 8.6), (0.605, 0.995, 0.043, 0.89, 11.0)),
             "Gloria_Macapagal_Arroyo": ((1, 0.87, 0.044, 0.81, 7.2), (0.855, 0.745, 0.043, 0.80, 8.1))}
    for target, quoted in table.items():
        source = "2.mp4" if target in ("George_W_Bush", "Gerhard_Schroeder") else "KatieHill"
        today, classic = points[source, target, 1425], points[source, target, 1425]["by_paste"]["colour=avg,sharpen=0"]
        got = tuple((p["id_retrieval"], p["recognised"], round(p["expression_error"], 3), round(p["jitter_ratio"], 2),
                     round(p["seam"], 1)) for p in (today, classic))
        assert [list(g) for g in got] == [pytest.approx(q, abs=1e-9) for q in quoted], (target, got)
        assert today["id_retrieval"] >= classic["id_retrieval"] and today["seam"] < classic["seam"], target
        assert today["expression_error"] <= classic["expression_error"] + 0.002, target
        assert abs(today["jitter_ratio"] - classic["jitter_ratio"]) < 0.03, target
        assert classic["sharpened"] == 0 and today["detail_kept"] > classic["detail_kept"]  # reported, not counted
    gloria = points["KatieHill", "Gloria_Macapagal_Arroyo", 1425]
    assert gloria["recognised"] < 0.9 <= gloria["id_retrieval"]  # the one target missed here


def test_the_recorded_detectors_on_todays_conversion_meet_issue_23s_targets_as_on_the_classic_one():
    """benchmarks/README.md's "The same detectors on today's conversion": the mixed detector meets its targets on the
    eight swaps of pairs-conversions-1425.json, converted both ways; no detector moves more than 0.04 between them."""
    from deepfake_utils import forensics

    record = _record("detector-cross-conversions.json")
    classic, today = (record["groups"][f"CPU tiny, 1425 steps, converted with colour {c}"]["rows"]
                      for c in ("avg, sharpen 0", "hist, sharpen 1"))
    swaps = {g: len(v["swaps"]) for g, v in record["groups"].items()}
    assert list(swaps.values()) == [4, 4] and (record["epochs"], record["train_faces"]) == (30, 497)
    for rows in (classic, today):
        mixed = {t: rows[f"mixed | {t}"] for t in forensics.TREATMENTS}
        assert mixed["as is"]["auc"] >= 0.95 and mixed["H.264 CRF 40"]["auc"] >= 0.85  # issue 23's targets
        assert max(m["false_alarms"] for m in mixed.values()) <= 0.10
    crf40 = (classic["mixed | H.264 CRF 40"]["auc"], today["mixed | H.264 CRF 40"]["auc"])
    assert [round(v, 2) for v in crf40] == [1, 0.97]
    assert max(abs(classic[k]["auc"] - today[k]["auc"]) for k in classic) < 0.045  # "at most 0.04"
    fwa = (record["in_distribution"]["FWA"]["auc"], classic["FWA | as is"]["auc"],
           classic["FWA | as is"]["false_alarms"])
    assert [round(v, 2) for v in fwa] == [0.96, 0.58, 0.69]  # a single kind's figure: one training's
