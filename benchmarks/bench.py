"""Benchmarks that print our pipeline against the naive way of the original tutorials, side by side.

    python -m benchmarks.bench extract [--video PATH] [--frames N]
    python -m benchmarks.bench extract-cli [--frames 200] [--size 512] [--rounds 3]   (whole processes)
    python -m benchmarks.bench train [--preset original] [--batch-size 16] [--steps 6]
    python -m benchmarks.bench train-one naive|ours A_DIR B_DIR [...]   (one run of `train`)
    python -m benchmarks.bench batch [--batch-sizes 8 16 32] [--steps 40]   (steps a CPU minute buys per batch size)
    python -m benchmarks.bench precision [--preset tiny] [--recipe fast] [--batch-size 16]   (float32 vs bfloat16)
    python -m benchmarks.bench convert [--preset tiny] [--frames N]
    python -m benchmarks.bench recipes [--minutes 10] [--recipes original fast] [--preset tiny]   (swap quality)
    python -m benchmarks.bench pairs [--minutes 5] [--steps N [--every-steps K]] [--recipe fast] [--cross]
        [--masks rect]   (also converted through other masks)
        [--colours lab]  (also converted with other colour methods)
    python -m benchmarks.bench gan-pairs --start W/models --work W2 [--steps 900] [--conversions SPEC...]   (the GAN)
    python -m benchmarks.bench detail-sources --work W   (the eyes' and mouth's detail the pairs' faces hold)
    python -m benchmarks.bench ssim [--rounds 3]   (tf.image.ssim against learn.structural_similarity, both kernels)
    python -m benchmarks.bench install [--rounds 1] [--warm]   (`make setup` with pip and with uv, alternated)
    python -m benchmarks.bench trace [--rounds 3]   (a trainer's first step, traced with and without AutoGraph)

Both runs extract the same frames of the same video into temporary folders (decode, detect,
landmarks, align, write PNG, alignments.json); the landmark agreement is the mean error of ours
against the naive landmarks, normalised by the inter-ocular distance.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks import record_header
from deepfake_utils import ONEDNN_BY_DEFAULT, data
from deepfake_utils.extract import extract, load_alignments
from deepfake_utils.landmarks import landmark_error


def bench_extract(video_path: Path, frames: int | None) -> dict:
    """Time naive and fast extraction of the same frames and compare their landmarks."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, fast in (("naive", False), ("ours", True)):
            start = time.perf_counter()
            extract(video_path, Path(tmp) / name, max_frames=frames, fast=fast, progress=False)
            results[name] = {"seconds": time.perf_counter() - start}
            results[name]["alignments"] = load_alignments(Path(tmp) / name)
    naive, ours = results["naive"]["alignments"]["frames"], results["ours"]["alignments"]["frames"]
    errors = [landmark_error(naive[k][0]["landmarks"], ours[k][0]["landmarks"])
              for k in naive if naive[k] and ours.get(k)]
    n = len(naive)
    return {
        "frames": n,
        "naive_fps": n / results["naive"]["seconds"],
        "ours_fps": n / results["ours"]["seconds"],
        "found_naive": sum(bool(v) for v in naive.values()),
        "found_ours": sum(bool(v) for v in ours.values()),
        "nme_mean": float(np.mean(errors)) if errors else float("nan"),
        "nme_p95": float(np.percentile(errors, 95)) if errors else float("nan"),
    }


CLIP_FRAMES, CLIP_SIZE = 200, 512  # the whole-CLI extraction benchmark's clip (issue 14)


def make_clip(out_path: Path, frames: int = CLIP_FRAMES, size: int = CLIP_SIZE) -> Path:
    """A ``size`` px square clip of ``frames`` frames cut from the sample video: its 125 frames scaled, then
    played back from frame 75 to frame 1 (and again), so that the clip is longer than the video and holds a cut."""
    import imageio_ffmpeg

    source = data.sample_video()
    scale = f"scale={size}:{size}:flags=area"
    graph = (f"[0:v]{scale},split[f][b];[b]reverse,trim=start_frame=50,setpts=PTS-STARTPTS,split[r1][r2];"
             f"[f][r1][r2]concat=n=3:v=1:a=0,trim=end_frame={frames},setpts=PTS-STARTPTS[v]")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-filter_complex", graph,
                    "-map", "[v]", "-an", "-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p", str(out_path)],
                   check=True)
    return out_path


def naive_extract(video_path: Path, out_dir: Path) -> int:
    """The seed's way, as the original tutorials' scripts: per frame, read it, face_recognition's detector
    (full frame, upsampled 2x), the 68 landmarks, align, ``cv2.imwrite``; one frame after another."""
    import cv2
    import face_recognition

    from deepfake_utils import align, detect, landmarks, video

    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {}
    for i, frame in enumerate(video.iter_frames(video_path), 1):
        key = video.frame_key(i)
        boxes = face_recognition.face_locations(frame)
        frames[key] = []
        if not boxes:
            continue
        box = detect.pick_face(boxes, frame.shape)  # the face nearest the centre
        points = landmarks.predict_landmarks(frame, box)
        matrix = align.alignment_matrix(points)
        cv2.imwrite(str(out_dir / f"{key}_0.png"), cv2.cvtColor(align.align_face(frame, matrix), cv2.COLOR_RGB2BGR))
        frames[key] = [{"box": [int(v) for v in box], "landmarks": points.tolist(), "matrix": matrix.tolist(),
                        "face": f"{key}_0.png"}]
    (out_dir / "alignments.json").write_text(json.dumps({"source": video_path.name, "frames": frames}))
    return len(frames)


def _landmarks_by_frame(folder: Path) -> dict[str, np.ndarray]:
    frames = json.loads((folder / "alignments.json").read_text())["frames"]
    return {key: np.asarray(faces[0]["landmarks"], np.float64) for key, faces in frames.items() if faces}


def bench_extract_cli(frames: int = CLIP_FRAMES, size: int = CLIP_SIZE, rounds: int = 3,
                      clip: Path | None = None) -> dict:
    """Whole-process extraction: ``python -m deepfake_utils extract`` against the naive script, each a fresh
    process (start-up included), alternated ``rounds`` times on the same clip; medians and landmark NME.
    The CPU time (user + system, ffmpeg included) says the same less dependent on the machine's other load."""
    import resource  # POSIX, as the course's machines (Linux, Colab, macOS)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = clip or make_clip(tmp / f"clip{size}.mp4", frames, size)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
        commands = {"naive": [sys.executable, "-m", "benchmarks.bench", "extract-naive", str(clip)],
                    "ours": [sys.executable, "-m", "deepfake_utils", "extract", str(clip)]}
        seconds: dict[str, list[float]] = {"naive": [], "ours": []}
        cpu: dict[str, list[float]] = {"naive": [], "ours": []}  # user + system, with the ffmpeg children
        for r in range(rounds):
            for name, command in commands.items():  # alternated, so both see the same load
                out = tmp / f"{name}{r}"
                used = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                done = subprocess.run([*command, str(out)], env=env, capture_output=True, text=True)
                seconds[name].append(time.perf_counter() - start)
                now = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append(now.ru_utime - used.ru_utime + now.ru_stime - used.ru_stime)
                if done.returncode:
                    raise RuntimeError(f"{name} extraction failed:\n{done.stderr[-3000:]}")
        naive, ours = _landmarks_by_frame(tmp / "naive0"), _landmarks_by_frame(tmp / "ours0")
        n = len(json.loads((tmp / "naive0" / "alignments.json").read_text())["frames"])
        same = [landmark_error(naive[k], ours[k]) for k in naive if k in ours]
        again = [_landmarks_by_frame(tmp / f"ours{r}") for r in range(1, rounds)]  # each file read once
        repeat = [landmark_error(run[k], ours[k]) for run in again for k in ours]
    median = {name: float(np.median(v)) for name, v in seconds.items()}
    cpu_median = {name: float(np.median(v)) for name, v in cpu.items()}
    return {"frames": n, "size": size, "rounds": rounds, "seconds": seconds, "median": median, "cpu": cpu,
            "cpu_median": cpu_median, "cpu_ratio": cpu_median["naive"] / cpu_median["ours"],
            "load": os.getloadavg()[0],
            "naive_fps": n / median["naive"], "ours_fps": n / median["ours"], "ratio": median["naive"] / median["ours"],
            "found_naive": len(naive), "found_ours": len(ours),
            "nme_mean": float(np.mean(same)) if same else float("nan"),
            "nme_p95": float(np.percentile(same, 95)) if same else float("nan"),
            "runs_identical": not repeat or max(repeat) == 0.0}


KERNELS = {"off": "0", "on": "1"}  # TF_ENABLE_ONEDNN_OPTS for TensorFlow's Eigen (off) or oneDNN (on) CPU kernels
# what TensorFlow picks on its own: the same query as train.onednn_enabled, but in a process that does
# not import deepfake_utils (whose import would switch the kernels on first)
_PROBE = ("import json\ntry:\n    from tensorflow.python.util import _pywrap_util_port as p\n"
          "    print(json.dumps(bool(p.IsMklEnabled())))\nexcept Exception:\n    print('null')")


class GpuBusy:
    """The GPUs' utilisation (%) sampled by ``nvidia-smi`` every ``interval_ms`` while in a ``with`` block.

    A reading is the GPU's busy share over the ``interval_ms`` before it, so ``mean(start, end)`` averages the
    readings whose interval overlaps the window between two ``time.perf_counter()`` readings (over all GPUs),
    and leaving the block waits (up to two intervals) for the reading that covers its last moments. None where
    there is no ``nvidia-smi``, no GPU, or no reading for the window.
    """

    def __init__(self, interval_ms: int = 200, command: str = "nvidia-smi") -> None:
        self.interval_ms, self.command = interval_ms, command
        self.samples: list[tuple[float, float]] = []  # (perf_counter when read, utilisation %)
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> GpuBusy:
        path = shutil.which(self.command)
        if path:
            self._proc = subprocess.Popen([path, "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                                           f"-lms={self.interval_ms}"], stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, text=True)
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        return self

    def _read(self) -> None:
        for line in self._proc.stdout:
            try:
                self.samples.append((time.perf_counter(), float(line.strip())))
            except ValueError:  # "[N/A]" or an error message: not a reading
                continue

    def __exit__(self, *exc) -> None:
        if self._proc is not None:
            left = time.perf_counter()
            deadline = left + 2 * self.interval_ms / 1000
            while time.perf_counter() < deadline and self._proc.poll() is None and not (
                    self.samples and self.samples[-1][0] > left):
                time.sleep(min(0.01, self.interval_ms / 4000))
            self._proc.terminate()
            self._proc.wait()
            self._reader.join(timeout=5)

    def mean(self, start: float, end: float) -> float | None:
        """The mean utilisation (%) of the readings whose interval overlaps ``start`` to ``end``."""
        window = [u for t, u in self.samples if start < t < end + self.interval_ms / 1000]
        return float(np.mean(window)) if window else None


def train_speed(loop: str, faces_a: list[np.ndarray], faces_b: list[np.ndarray], preset: str, batch_size: int,
                steps: int, warmup: int = 3, *, recipe: str | None = None, mixed_precision: bool | None = None) -> dict:
    """Steady-state training images/s (both sides) of one loop in this process: ``naive``, ``ours`` or ``ours-xla``.

    Both loops run ``warmup + steps`` steps; the clock covers the last ``steps`` (the first compile
    their step and, for ours, start the input threads). ``recipe`` and ``mixed_precision`` go to our trainer
    (None: its defaults).
    """
    from deepfake_utils.train import onednn_enabled

    if warmup < 1 or steps < 1:
        raise ValueError(f"need warmup >= 1 and steps >= 1, got {warmup} and {steps}")
    stamps: list[float] = []  # the end of every step
    input_seconds: dict[str, float] = {}
    if loop not in ("naive", "ours", "ours-xla"):
        raise ValueError(f"loop must be 'naive', 'ours' or 'ours-xla', not {loop!r}")
    with GpuBusy() as gpu:  # sampled throughout; averaged over the timed steps only
        _run_loop(loop, faces_a, faces_b, preset, batch_size, steps, warmup, stamps, input_seconds,
                  recipe=recipe, mixed_precision=mixed_precision)
    seconds = stamps[-1] - stamps[warmup - 1]
    busy = gpu.mean(stamps[warmup - 1], stamps[-1])
    return {"ips": 2 * batch_size * steps / seconds, "onednn": onednn_enabled(),
            **({"gpu_busy": busy} if busy is not None else {}),
            **{name: value / seconds for name, value in input_seconds.items()}}


def _run_loop(loop: str, faces_a: list[np.ndarray], faces_b: list[np.ndarray], preset: str, batch_size: int,
              steps: int, warmup: int, stamps: list[float], input_seconds: dict[str, float], *,
              recipe: str | None = None, mixed_precision: bool | None = None) -> None:
    """Run ``warmup + steps`` steps of one loop, appending each step's end to ``stamps``."""
    import keras

    from deepfake_utils import model as model_mod
    from deepfake_utils import warp
    from deepfake_utils.train import Trainer

    if loop in ("ours", "ours-xla"):  # tf.data pairs made in parallel and prefetched, one compiled step
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(Path(tmp) / "model", preset, batch_size=batch_size, jit=loop == "ours-xla",
                              recipe=recipe, mixed_precision=mixed_precision)
            trainer.fit(faces_a, faces_b, warmup + steps, save_every=0, progress=False,  # no checkpoints: as naive
                        on_step=lambda *_: stamps.append(time.perf_counter()))
            input_seconds["input_wait"] = sum(trainer.input_waits[warmup:])  # ours, waiting for its batches
    elif loop == "naive":
        # the original trainer's loop: a batch of warped pairs made with numpy on the main thread, then
        # train_on_batch for A, then the same for B
        keras.utils.set_random_seed(0)
        m = model_mod.build(preset)
        autoencoders = []
        for side in "ab":
            ae = m.autoencoder(side)
            ae.compile(optimizer=keras.optimizers.Adam(5e-5, beta_1=0.5, beta_2=0.999), loss="mean_absolute_error")
            autoencoders.append(ae)
        rng = np.random.default_rng(0)
        size = m.preset.size
        for _ in range(warmup + steps):
            for ae, faces in zip(autoencoders, (faces_a, faces_b), strict=True):
                warped, target = warp.training_batch(faces, rng, batch_size, size=size)
                ae.train_on_batch(warped.astype(np.float32) / 255, target.astype(np.float32) / 255)
            stamps.append(time.perf_counter())
        start = time.perf_counter()
        for _ in range(steps):
            for faces in (faces_a, faces_b):
                warp.training_batch(faces, rng, batch_size, size=size)
        # the input work that an input pipeline can move off the critical path
        input_seconds["input_share"] = time.perf_counter() - start


def _child(args: list[str], onednn: str | None) -> object:
    """Run ``args`` in a fresh Python whose TF_ENABLE_ONEDNN_OPTS is ``onednn`` (None: unset); its last line, parsed."""
    env = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"benchmark run {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_train(preset: str, batch_size: int, steps: int, warmup: int = 3, xla: bool = False) -> dict:
    """Training images/s of the original loop and ours, each with TensorFlow's Eigen and oneDNN CPU kernels.

    The kernel library is chosen when TensorFlow is imported, so every run gets a fresh process; the
    faces are extracted once and shared. ``tf_default`` is what TensorFlow picks here on its own (the
    original tutorials' setting); ``ours_default`` is what ``import deepfake_utils`` picks. ``xla`` adds
    a run of ours with an XLA-compiled step (on by default only on a GPU).
    """
    from deepfake_utils.extract import extract_sample_faces

    probed = _child(["-c", _PROBE], None)
    tf_default = "on" if probed else "off"
    ours_default = "on" if ONEDNN_BY_DEFAULT else tf_default
    cells = [(loop, kernels) for loop in ("naive", "ours") for kernels in KERNELS] + [("ours-xla", ours_default)] * xla
    with tempfile.TemporaryDirectory() as tmp:
        dir_a, dir_b = extract_sample_faces(tmp, n_photos=64, progress=False)
        runs = {(loop, kernels): _child(["-m", "benchmarks.bench", "train-one", loop, str(dir_a), str(dir_b),
                                         "--preset", preset, "--batch-size", str(batch_size), "--steps", str(steps),
                                         "--warmup", str(warmup)], KERNELS[kernels])
                for loop, kernels in cells}
    return {"runs": runs, "tf_default": tf_default, "tf_default_known": probed is not None,
            "ours_default": ours_default, "steps": steps,
            "speedup": runs["ours", ours_default]["ips"] / runs["naive", tf_default]["ips"],
            "input_share": runs["naive", tf_default]["input_share"]}


def _alternated(keys: list, rounds: int, seconds_per_step) -> dict[object, list[float]]:
    """``seconds_per_step(key)`` for every key, ``rounds`` times, the order reversed every other round (a b c c b a
    ...), so that a machine that slows down or speeds up during the run weighs on every key alike."""
    seconds: dict[object, list[float]] = {k: [] for k in keys}
    for r in range(rounds):
        for key in keys if r % 2 == 0 else keys[::-1]:
            seconds[key].append(seconds_per_step(key))
    return seconds


def bench_batch(batch_sizes: list[int], steps: int, *, preset: str = "tiny", recipe: str = "fast",
                rounds: int = 2, warmup: int = 3, reference: int = 16, reference_steps: int = 1425,
                faces: tuple[Path, Path] | None = None) -> dict:
    """Training steps per second at each batch size, as `bench pairs` trains (float32, the recipe's loss): what a
    CPU minute buys. Every batch size is timed ``rounds`` times, in alternating order (8 16 32 32 16 8 ...), one
    process, the same faces; the median step time of each, and the steps that take as long as ``reference_steps``
    at batch ``reference``. ``faces``: A's and B's face folders (default: the sample pair's, extracted here)."""
    from deepfake_utils.extract import sample_faces
    from deepfake_utils.train import load_faces

    if reference not in batch_sizes:
        raise ValueError(f"the reference batch size {reference} must be among {batch_sizes}")
    if rounds < 1 or steps < 1 or warmup < 1:  # before any extraction
        raise ValueError("rounds, steps and warmup must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        dir_a, dir_b = faces or sample_faces(Path(tmp) / "faces", n_photos=64, progress=False)
        faces_a, faces_b = load_faces(dir_a), load_faces(dir_b)
        seconds = _alternated(batch_sizes, rounds, lambda b: 2 * b / train_speed(  # as `bench train` times it
            "ours", faces_a, faces_b, preset, b, steps, warmup, recipe=recipe, mixed_precision=False)["ips"])
    per_step = {b: float(np.median(s)) for b, s in seconds.items()}
    return {**record_header(), "preset": preset,
            "recipe": recipe, "steps": steps, "rounds": rounds, "seconds_per_step": per_step, "runs": seconds,
            "steps_per_minute": {b: 60 / t for b, t in per_step.items()},
            "images_per_second": {b: 2 * b / t for b, t in per_step.items()},
            "equal_time_steps": {b: round(reference_steps * per_step[reference] / t) for b, t in per_step.items()},
            "reference": [reference, reference_steps]}


PRECISIONS = ("float32", "bfloat16")  # what `bench precision` compares: the CPU's two training precisions


def bench_precision(batch_size: int = 16, steps: int = 40, *, preset: str = "tiny", recipe: str = "fast",
                    rounds: int = 3, warmup: int = 3, faces: tuple[Path, Path] | None = None) -> dict:
    """Training steps per second in float32 and in bfloat16 mixed precision (``Trainer(mixed_precision=...)``), each
    timed ``rounds`` times in alternating order in one process on the same faces: whether this CPU should train in
    bfloat16 (``train.bfloat16_by_default``). The median step time of each and their ratio (> 1: bfloat16 faster)."""
    from deepfake_utils.extract import sample_faces
    from deepfake_utils.train import bfloat16_by_default, cpu_flags, load_faces

    if rounds < 1 or steps < 1 or warmup < 1 or batch_size < 1:  # before any extraction
        raise ValueError("batch_size, rounds, steps and warmup must be at least 1")
    with tempfile.TemporaryDirectory() as tmp:
        dir_a, dir_b = faces or sample_faces(Path(tmp) / "faces", n_photos=64, progress=False)
        faces_a, faces_b = load_faces(dir_a), load_faces(dir_b)
        seconds = _alternated(list(PRECISIONS), rounds, lambda p: 2 * batch_size / train_speed(
            "ours", faces_a, faces_b, preset, batch_size, steps, warmup, recipe=recipe,
            mixed_precision=False if p == "float32" else p)["ips"])
    per_step = {p: float(np.median(s)) for p, s in seconds.items()}
    return {**record_header(),
            "flags": sorted(f for f in ("avx512f", "avx512_bf16", "amx_tile", "amx_bf16") if f in cpu_flags()),
            "bfloat16_by_default": bfloat16_by_default(), "preset": preset, "recipe": recipe,
            "batch_size": batch_size, "steps": steps, "rounds": rounds, "seconds_per_step": per_step, "runs": seconds,
            "bfloat16_speedup": per_step["float32"] / per_step["bfloat16"]}


def bench_convert(preset: str, frames: int | None) -> dict:
    """Conversion frames/s: the naive per-frame path vs ``swap.convert`` (same model, same compositing)."""
    from deepfake_utils import paste, swap
    from deepfake_utils.checkpoint import load
    from deepfake_utils.fileio import read_image, write_image
    from deepfake_utils.track import naive_find
    from deepfake_utils.train import Trainer
    from deepfake_utils.video import probe, read_frames, write_video

    video_path = data.sample_video()
    fps = probe(video_path).fps
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        Trainer(tmp / "model", preset).save()  # speed does not depend on training: fresh weights will do
        model = load(tmp / "model")
        autoencoder = model.autoencoder("b")
        # the compositing the records were measured with (benchmarks/README.md), the same for both pipelines
        options = paste.Options(mask="hull_rect", colour="avg", sharpen=0, smooth=False)
        # naive, as the original tutorials: read the video, then per frame detect on the full frame,
        # predict one face, paste it, write a PNG; finally encode the PNGs
        start = time.perf_counter()
        for i, frame in enumerate(read_frames(video_path, max_frames=frames), 1):
            face = naive_find(frame)
            out = frame
            if face is not None:
                face_in = paste.model_input(frame, face.landmarks, model.preset.size, model.coverage,
                                            model.colour_shift)
                new = autoencoder.predict(face_in[None] / 255,
                                          verbose=0)[0]
                out = paste.composite(frame, face.landmarks, (new * 255).round().astype(np.uint8), options,
                                     model.coverage)
            write_image(tmp / "naive" / f"{i:06d}.png", paste.label_frame(out))
        pngs = sorted((tmp / "naive").glob("*.png"))
        write_video((read_image(p) for p in pngs), tmp / "naive.mp4", fps, audio_from=video_path)
        naive_s = time.perf_counter() - start
        # ours: alignments from the fast extraction (timed on its own), batched prediction, streamed I/O
        start = time.perf_counter()
        extract(video_path, tmp / "faces", max_frames=frames, progress=False)
        extract_s = time.perf_counter() - start
        result = swap.convert(video_path, model, tmp / "ours.mp4", alignments=tmp / "faces", options=options,
                              max_frames=frames, progress=False)
    n = result.frames
    return {"frames": n, "naive_fps": n / naive_s, "ours_fps": n / result.seconds,
            "ours_with_extract_fps": n / (result.seconds + extract_s), "swapped": result.swapped}


def bench_ssim(batches: tuple[tuple[int, int], ...] = ((8, 64), (16, 128)), rounds: int = 3, calls: int = 20,
               preset: str = "tiny", seed: int = 0) -> dict:
    """Milliseconds of SSIM with its gradient, ``tf.image.ssim`` against ``learn.structural_similarity``, for each
    (batch, size) in ``batches``, and of one training step of both sides of ``preset`` with the ``fast`` recipe's
    loss terms computed each way (batch and size: the first of ``batches``); alternated ``rounds`` times, medians,
    with the CPU kernels TensorFlow was imported with in this process (``onednn``; the command line runs both).
    Also the largest difference of the two SSIMs on those batches (random images and a noisy copy)."""
    import keras
    import tensorflow as tf

    from deepfake_utils import learn
    from deepfake_utils.choices import get_recipe
    from deepfake_utils.model import build
    from deepfake_utils.train import loss_weights, onednn_enabled

    ways = {"tf.image.ssim": lambda x, y: tf.image.ssim(x, y, max_val=1.0),
            "learn.structural_similarity": learn.structural_similarity}
    rng = np.random.default_rng(seed)
    load = os.getloadavg()[0]

    def clock(fn) -> float:
        fn()  # traced and warmed up first
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return 1000 * (time.perf_counter() - start) / calls

    def with_gradient(ssim, x, y):
        @tf.function
        def fn():
            with tf.GradientTape() as tape:
                tape.watch(x)
                value = tf.reduce_mean(ssim(x, y))
            return value, tape.gradient(value, x)
        return fn

    inputs, largest = {}, {}
    for n, size in batches:
        x = tf.constant(rng.random((n, size, size, 3), dtype=np.float32))
        y = tf.clip_by_value(x + tf.constant(rng.normal(0, 0.1, x.shape).astype(np.float32)), 0, 1)
        inputs[(n, size)] = x, y
        largest[f"{n}x{size}"] = float(tf.reduce_max(tf.abs(ways["tf.image.ssim"](x, y)
                                                             - ways["learn.structural_similarity"](x, y))))
    recipe = get_recipe("fast")
    (n, size) = batches[0]
    x, y = inputs[(n, size)]
    terms = dict(weights=tf.constant(loss_weights(recipe, size)), ssim=recipe.ssim, edge=recipe.edge)
    runs: dict[str, dict[str, list[float]]] = {}
    original = learn.structural_similarity
    try:
        for _ in range(rounds):
            for name, way in ways.items():
                for n_size, (a, b) in inputs.items():
                    runs.setdefault(f"ssim {n_size[0]}x{n_size[1]}", {}).setdefault(name, []).append(
                        clock(with_gradient(way, a, b)))
                learn.structural_similarity = way  # what reconstruction_loss calls when the step is traced
                model = build(preset)
                opt_a, opt_b = keras.optimizers.Adam(), keras.optimizers.Adam()
                step = tf.function(lambda: learn.train_both(model, opt_a, opt_b, x, y, x, y, **terms))  # noqa: B023
                runs.setdefault(f"train step {n}x{size} ({preset}, fast)", {}).setdefault(name, []).append(clock(step))
    finally:
        learn.structural_similarity = original
    median = {what: {name: float(np.median(v)) for name, v in by.items()} for what, by in runs.items()}
    return {**record_header(load),
            "load_after": os.getloadavg()[0], "onednn": onednn_enabled(), "rounds": rounds, "calls": calls,
            "runs": runs, "median_ms": median,
            "ratio": {what: m["learn.structural_similarity"] / m["tf.image.ssim"] for what, m in median.items()},
            "largest_difference": largest}


def trace_once(autograph: bool, recipes: tuple[str, ...] = ("fast", "original"), trainers: int = 4,
               preset: str = "tiny", batch_size: int = 4, faces: tuple[Path, Path] | None = None) -> dict:
    """Seconds to a trainer's first step (its model built, its step traced and run once), ``trainers`` trainers one
    after another for each recipe, in this process, with the step traced with AutoGraph or as plain Python
    (``train.AUTOGRAPH``). The first trainer of a recipe pays for AutoGraph's rewriting of the functions its step
    calls; later ones find it cached, as the tests and a notebook's later cells do. ``faces``: A's and B's face
    folders (default: a few of the sample pair's, extracted here)."""
    import deepfake_utils
    from deepfake_utils import train
    from deepfake_utils.extract import sample_faces

    deepfake_utils.configure()
    seconds: dict[str, list[float]] = {}
    before = train.AUTOGRAPH
    train.AUTOGRAPH = autograph
    try:
        with tempfile.TemporaryDirectory() as tmp:
            dir_a, dir_b = faces or sample_faces(Path(tmp) / "faces", max_frames=16, n_photos=8, progress=False)
            faces_a, faces_b = train.load_faces(dir_a), train.load_faces(dir_b)
            for recipe in recipes:
                for i in range(trainers):
                    start = time.perf_counter()
                    trainer = train.Trainer(Path(tmp) / f"{recipe}-{i}", preset, recipe=recipe, batch_size=batch_size)
                    trainer.fit(faces_a, faces_b, 1, save_every=0, progress=False)
                    seconds.setdefault(recipe, []).append(time.perf_counter() - start)
    finally:
        train.AUTOGRAPH = before
    return {"autograph": autograph, "seconds": seconds}


def bench_trace(rounds: int = 3) -> dict:
    """A trainer's first step with its training step traced with AutoGraph and without (``train.AUTOGRAPH``), each in
    a fresh process (``trace-one``), ``rounds`` times in alternating order: medians per recipe for the first trainer
    of a process and for a later one, and their ratios (without / with)."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    load = os.getloadavg()[0]
    runs = _alternated(["with", "without"], rounds, lambda way: _child(
        ["-m", "benchmarks.bench", "trace-one", *(["--autograph"] if way == "with" else [])], None)["seconds"])

    def medians(rs: list[dict[str, list[float]]], recipe: str) -> dict[str, float]:
        return {"first": float(np.median([r[recipe][0] for r in rs])),
                "later": float(np.median([x for r in rs for x in r[recipe][1:]]))}

    median = {way: {recipe: medians(rs, recipe) for recipe in rs[0]} for way, rs in runs.items()}
    ratio = {recipe: {k: median["without"][recipe][k] / median["with"][recipe][k] for k in ("first", "later")}
             for recipe in median["with"]}
    return {**record_header(load), "load_after": os.getloadavg()[0], "rounds": rounds, "runs": runs,
            "median_s": median, "ratio": ratio}


INSTALLERS = ("pip", "uv")  # what `make setup INSTALLER=...` fills the venv with


def setup_command(venv: Path, installer: str) -> list[str]:
    """The `make setup` that builds the course's venv at ``venv`` with ``installer`` (pip or uv)."""
    if installer not in INSTALLERS:
        raise ValueError(f"installer must be one of {INSTALLERS}, not {installer!r}")
    return ["make", "-C", str(Path(__file__).resolve().parents[1]), "setup", f"VENV={venv}", f"INSTALLER={installer}"]


def bench_install(rounds: int = 1, cold: bool = True) -> dict:
    """Wall seconds of `make setup` into a fresh venv with pip and with uv, alternated ``rounds`` times (``cold``:
    each run downloads into an empty cache of its own, as on a fresh machine), and whether both installed the same
    versions (``pip freeze``, uv itself left out)."""
    seconds: dict[str, list[float]] = {name: [] for name in INSTALLERS}
    frozen: dict[str, set[str]] = {}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for name in INSTALLERS:
                venv = Path(tmp) / f"venv-{name}"
                env = dict(os.environ)
                if cold:
                    env.update(PIP_NO_CACHE_DIR="1", UV_CACHE_DIR=str(Path(tmp) / f"uv-cache-{r}"))
                start = time.perf_counter()
                subprocess.run(setup_command(venv, name), env=env, check=True, stdout=subprocess.DEVNULL)
                seconds[name].append(time.perf_counter() - start)
                freeze = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "freeze", "--exclude-editable"],
                                        capture_output=True, text=True, check=True).stdout.split()
                frozen[name] = {line for line in freeze if not line.startswith("uv==")}
                shutil.rmtree(venv)
                shutil.rmtree(Path(tmp) / f"uv-cache-{r}", ignore_errors=True)

    median = {name: float(np.median(v)) for name, v in seconds.items()}
    return {**record_header(load),
            "load_after": os.getloadavg()[0], "rounds": rounds, "cold": cold, "seconds": seconds, "median": median,
            "ratio": median["uv"] / median["pip"], "same_versions": frozen["pip"] == frozen["uv"],
            "packages": len(frozen["pip"])}


def main(argv: list[str] | None = None) -> int:
    """Run a benchmark from the command line and print its table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench")
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("ssim", help="SSIM with its gradient and the fast recipe's training step: tf.image.ssim "
                                    "against learn.structural_similarity, alternated, with oneDNN's and Eigen's "
                                    "CPU kernels (a fresh process each)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    p = sub.add_parser("ssim-one", help="one kernel setting of `ssim`, in this process, as JSON")
    p.add_argument("--rounds", type=int, default=3)
    p = sub.add_parser("trace", help="seconds to a trainer's first step, its step traced with AutoGraph and "
                                     "without, alternated (a fresh process each)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    p = sub.add_parser("trace-one", help="one setting of `trace`, in this process, as JSON")
    p.add_argument("--autograph", action="store_true")
    p = sub.add_parser("install", help="`make setup` into a fresh venv with pip and with uv, alternated: seconds")
    p.add_argument("--rounds", type=int, default=1, help="each installer this many times (default 1)")
    p.add_argument("--warm", action="store_true", help="use the download caches as they are (default: empty ones)")
    p.add_argument("--out", type=Path, default=None, help="also write the result as JSON here")
    p = sub.add_parser("extract", help="extraction frames/s: naive full-frame HOG vs our pipeline")
    p.add_argument("--video", type=Path, default=None, help="default: the course's sample video")
    p.add_argument("--frames", type=int, default=None, help="only the first N frames")
    p = sub.add_parser("extract-cli", help="whole `python -m deepfake_utils extract` runs vs the naive script, "
                                          "process start included (a 200-frame 512 px clip cut from the sample)")
    p.add_argument("--frames", type=int, default=CLIP_FRAMES)
    p.add_argument("--size", type=int, default=CLIP_SIZE)
    p.add_argument("--rounds", type=int, default=3, help="naive and ours alternated this many times (default 3)")
    p.add_argument("--clip", type=Path, default=None, help="time this video instead of the generated clip")
    p = sub.add_parser("extract-naive", help="the naive extraction script alone (what extract-cli times)")
    p.add_argument("video", type=Path)
    p.add_argument("out_dir", type=Path)
    p = sub.add_parser("train", help="training images/s: the original loop vs our tf.data pipeline")
    p.add_argument("--preset", default="original")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--xla", action="store_true", help="also time our step compiled with XLA")
    p = sub.add_parser("train-one", help="one training loop in this process, as JSON (what `train` runs)")
    p.add_argument("loop", choices=["naive", "ours", "ours-xla"])
    p.add_argument("faces_a", type=Path)
    p.add_argument("faces_b", type=Path)
    p.add_argument("--preset", default="original")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=3)
    p = sub.add_parser("batch", help="training steps per second at several batch sizes (ours, as `pairs` trains): "
                       "the steps a CPU minute buys")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 16, 32])
    p.add_argument("--steps", type=int, default=40, help="timed steps per batch size and round (default 40)")
    p.add_argument("--rounds", type=int, default=2, help="times each batch size is timed, order alternated")
    p.add_argument("--preset", default="tiny")
    p.add_argument("--recipe", default="fast")
    p.add_argument("--out", type=Path, default=None, help="also write the timings as JSON here")
    p = sub.add_parser("precision", help="training steps per second in float32 and bfloat16, alternated in one "
                       "process: whether this CPU should train in bfloat16")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--steps", type=int, default=40, help="timed steps per precision and round (default 40)")
    p.add_argument("--rounds", type=int, default=3, help="times each precision is timed, order alternated")
    p.add_argument("--preset", default="tiny")
    p.add_argument("--recipe", default="fast")
    p.add_argument("--out", type=Path, default=None, help="also write the timings as JSON here")
    p = sub.add_parser("convert", help="conversion frames/s: the naive per-frame path vs swap.convert")
    p.add_argument("--preset", default="tiny")
    p.add_argument("--frames", type=int, default=None, help="only the first N frames")
    p = sub.add_parser("recipes", help="swap quality per training minute: recipes side by side (the metrics)")
    p.add_argument("--recipes", nargs="+", default=["original", "fast"],
                   help="names or name:field=value,... (e.g. fast:ssim=0, fast:precision=bfloat16, "
                        "fast:shared=decoder for two encoders and one shared decoder)")
    p.add_argument("--preset", default="tiny",
                   help="the model preset every recipe trains (default tiny; original on a GPU)")
    p.add_argument("--minutes", type=float, default=10, help="training minutes per recipe (default 10)")
    p.add_argument("--every", type=float, default=1, help="measure after every N training minutes (default 1)")
    p.add_argument("--steps", type=int, default=None,
                   help="train every recipe for this many steps instead of --minutes (the same steps for all)")
    p.add_argument("--every-steps", type=int, default=None, help="with --steps: measure after every N steps")
    p.add_argument("--stop-at", type=float, default=None,
                   help="stop a recipe once ID retrieval and recognised reach this share (e.g. 0.95)")
    p.add_argument("--faces", type=Path, default=None,
                   help="aligned faces A/ and B/ extracted before (e.g. out/demo/faces)")
    p.add_argument("--out", type=Path, default=None, help="also write the curves as JSON here")
    p = sub.add_parser("pairs", help="the swap on several pairs of people: extract, train, convert, measure each")
    p.add_argument("--pairs", nargs="+", default=None, metavar="VIDEO:IDENTITY",
                   help="pairs to run (default: the four same-gender pairs, e.g. 2.mp4:George_W_Bush "
                        "KatieHill:Serena_Williams)")
    p.add_argument("--cross", action="store_true", help="add the cross-gender pairs (2.mp4:Serena_Williams, "
                                                        "KatieHill:George_W_Bush)")
    p.add_argument("--recipe", default="fast", help="the recipe every pair trains with (name or name:field=value)")
    p.add_argument("--preset", default="tiny")
    p.add_argument("--minutes", type=float, default=5.0, help="training minutes per pair (default 5, as make demo)")
    p.add_argument("--steps", type=int, default=None,
                   help="at most this many steps per pair (whichever of --minutes and --steps comes first); "
                        "--minutes 0 trains by steps alone, the same for every pair whatever the machine's load")
    p.add_argument("--every-steps", type=int, default=None,
                   help="also convert and measure every N steps on the way (a curve per pair; needs --steps)")
    p.add_argument("--seed", type=int, default=None, help="the trainers' seed (default: theirs): a repeat run")
    p.add_argument("--masks", nargs="+", default=[], metavar="MASK",
                   help="also convert and measure every model through these masks (e.g. rect hull_rect; the rows' "
                        "own is --conversion's, by default forehead)")
    p.add_argument("--colours", nargs="+", default=[], metavar="COLOUR",
                   help="also convert and measure every model with these colour methods (none avg lab local; the "
                        "rows' own is --conversion's, by default hist)")
    p.add_argument("--pastes", nargs="+", default=[], metavar="OPTIONS",
                   help="also convert and measure every model with these conversion options, each FIELD=VALUE[,...] "
                        "or a flag (e.g. seamless blur=0.12 colour=local,blur=0.1), changes to --conversion")
    p.add_argument("--conversion", default=None, metavar="OPTIONS",
                   help="the rows' own conversion options, FIELD=VALUE[,...] (default: the defaults; colour=avg,"
                        "sharpen=0 converts as every run before 2026-12-06 did)")
    p.add_argument("--reuse", action="store_true",
                   help="with --work: convert and measure the models an earlier run left there (with the same "
                        "settings) instead of training afresh, e.g. to try more --pastes on them")
    p.add_argument("--init", choices=("encoder", "all"), default=None,
                   help="start every model from the generic face model (deepfake_utils/weights): its encoder, or all")
    p.add_argument("--generic", default=None, metavar="NPZ",
                   help="with --init: start from this generic weights file (with its .json record; e.g. one that "
                        "`pretrain --export` made) instead of the preset's shipped one")
    p.add_argument("--only-b", action=argparse.BooleanOptionalAction, default=True,
                   help="train B on B's own faces only, other people in B's photos set aside by identity (default, as "
                        "the demo; --no-only-b keeps them, as before 2026-12-04)")
    p.add_argument("--gallery", choices=("large", "small"), default="large",
                   help="distractors: large (gallery100 + gallery10, 100+ identities) or small (11)")
    p.add_argument("--work", type=Path, default=None,
                   help="keep faces, models and swapped videos here (default: a temporary folder)")
    p.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    p = sub.add_parser("detail-sources", help="how much eye-and-mouth detail each pair's training faces hold: "
                       "A's video and B's photos (from `pairs --work W`)")
    p.add_argument("--work", type=Path, required=True, help="a `pairs --work` folder (its faces/)")
    p.add_argument("--pairs", nargs="+", default=None, metavar="VIDEO:IDENTITY", help="default: the four of `pairs`")
    p.add_argument("--cross", action="store_true", help="add the cross-gender pairs")
    p.add_argument("--size", type=int, default=64, help="the model's face size (default 64, the tiny preset)")
    p.add_argument("--coverage", type=int, default=192, help="px of the aligned crop (default 192, the fast recipe)")
    p.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here")
    p = sub.add_parser("gan-pairs", help="the tiny GAN warm-started from each pair's autoencoder, beside the "
                       "autoencoder trained on as long: converted and measured as `pairs`")
    p.add_argument("--pairs", nargs="+", default=None, metavar="VIDEO:IDENTITY", help="default: the four of `pairs`")
    p.add_argument("--start", type=Path, required=True,
                   help="folder of the pairs' trained autoencoders (`pairs --work W` writes W/models)")
    p.add_argument("--faces", type=Path, default=None, help="their extracted faces (default: START/../faces)")
    p.add_argument("--steps", type=int, default=900, help="GAN steps per pair (its schedule's length; default 900)")
    p.add_argument("--max-minutes", type=float, default=6.0, help="stop a GAN's training after this many minutes")
    p.add_argument("--work", type=Path, required=True, help="where models and swaps go (WORK/swapped/*.pair.json)")
    p.add_argument("--out", type=Path, default=None, help="also write the rows as JSON here (after every pair)")
    p.add_argument("--conversions", nargs="+", default=(), metavar="SPEC",
                   help="also convert every swap these ways (as `pairs --pastes`), e.g. colour=hist,sharpen=1")
    p.add_argument("--only-b", action="store_true", help="the start models were trained on B's faces alone (`pairs`' "
                   "default): folders NAME-only-b, B's faces in FACES/IDENTITY-only")
    args = parser.parse_args(argv)
    if args.what == "ssim-one":
        print(json.dumps(bench_ssim(rounds=args.rounds)))
        return 0
    if args.what == "ssim":
        by_kernels = {name: _child(["-m", "benchmarks.bench", "ssim-one", "--rounds", str(args.rounds)], value)
                      for name, value in (("oneDNN", KERNELS["on"]), ("Eigen", KERNELS["off"]))}
        for name, r in by_kernels.items():
            print(f"{name} kernels: SSIM with its gradient, and one training step of both sides, in ms (median of "
                  f"{r['rounds']} rounds of {r['calls']} calls, the two ways alternated); {r['machine']}; load "
                  f"{r['load']:.1f} before, {r['load_after']:.1f} after")
            print(f"{'':34s}{'tf.image.ssim':>15s}{'ours':>9s}{'ours/tf':>9s}")
            for what, m in r["median_ms"].items():
                print(f"{what:34s}{m['tf.image.ssim']:>15.1f}{m['learn.structural_similarity']:>9.1f}"
                      f"{r['ratio'][what]:>8.2f}x")
            print("largest difference of the two SSIMs: " + ", ".join(f"{k} {v:.1e}"
                                                                      for k, v in r["largest_difference"].items()))
        print("The course trains with oneDNN's kernels on x86 (the command line and notebooks call "
              "deepfake_utils.configure()); the tests in-process and TensorFlow's own default on AMD use Eigen's.")
        if args.out:
            args.out.write_text(json.dumps(by_kernels, indent=1))
        return 0
    if args.what == "trace-one":
        print(json.dumps(trace_once(args.autograph)))
        return 0
    if args.what == "trace":
        r = bench_trace(args.rounds)
        print(f"Seconds to a trainer's first step (model built, step traced and run once; tiny, batch 4), median of "
              f"{r['rounds']} fresh processes each way, alternated; {r['machine']}; load {r['load']:.1f} before, "
              f"{r['load_after']:.1f} after")
        print(f"{'':28s}{'AutoGraph':>10s}{'plain':>8s}{'plain/AutoGraph':>17s}")
        for recipe, ratio in r["ratio"].items():
            for which, label in (("first", "first trainer"), ("later", "a later one")):
                print(f"{recipe + ', ' + label:28s}{r['median_s']['with'][recipe][which]:>10.2f}"
                      f"{r['median_s']['without'][recipe][which]:>8.2f}{ratio[which]:>16.2f}x")
        if args.out:
            args.out.write_text(json.dumps(r, indent=1))
        return 0
    if args.what == "install":
        r = bench_install(args.rounds, cold=not args.warm)
        print(f"`make setup` into a fresh venv, {r['rounds']} round(s), pip and uv alternated, "
              f"{'each with an empty download cache' if r['cold'] else 'download caches as they were'}; "
              f"{r['machine']}; load {r['load']:.1f} before, {r['load_after']:.1f} after")
        for name in INSTALLERS:
            print(f"{name:<4}{r['median'][name]:>7.1f} s (median)   runs: "
                  + " ".join(f"{v:.1f}" for v in r["seconds"][name]))
        print(f"uv / pip: {r['ratio']:.2f}x the time; the same {r['packages']} package versions: "
              f"{'yes' if r['same_versions'] else 'NO'}")
        if args.out:
            args.out.write_text(json.dumps(r, indent=1))
        return 0
    if args.what == "extract-naive":
        naive_extract(args.video, args.out_dir)
        return 0
    if args.what == "extract-cli":
        r = bench_extract_cli(args.frames, args.size, args.rounds, args.clip)
        what = args.clip.name if args.clip else f"a {r['size']}x{r['size']} clip cut from the sample video"
        print(f"whole-process extraction benchmark: {r['frames']} frames of {what}; each run a fresh process, "
              f"naive and ours alternated {r['rounds']} times (same machine)")
        print(f"{'pipeline':<8}{'median s':>10}{'frames/s':>10}{'CPU s':>8}{'faces found':>13}   runs (s)")
        for name in ("naive", "ours"):
            runs = " ".join(f"{v:.2f}" for v in r["seconds"][name])
            print(f"{name:<8}{r['median'][name]:>10.2f}{r[name + '_fps']:>10.2f}{r['cpu_median'][name]:>8.2f}"
                  f"{r['found_' + name]:>13}   {runs}")
        print(f"speed-up (ratio of the medians): {r['ratio']:.1f}x   CPU time: {r['cpu_ratio']:.1f}x less   "
              f"landmark error vs naive (NME, inter-ocular): mean {r['nme_mean']:.4f}, p95 {r['nme_p95']:.4f}   "
              f"our runs identical: {'yes' if r['runs_identical'] else 'no'}   load average {r['load']:.1f}")
        return 0
    if args.what == "recipes":
        from benchmarks.bench_swap import bench_recipes, format_recipes

        r = bench_recipes(args.recipes, args.minutes, args.every, stop_at=args.stop_at, faces=args.faces,
                          out=args.out, steps=args.steps, every_steps=args.every_steps, preset=args.preset)
        print(format_recipes(r))
        return 0
    if args.what == "pairs":
        from benchmarks.bench_swap import bench_pairs, chosen_pairs, format_pairs

        minutes = args.minutes or None
        r = bench_pairs(chosen_pairs(args.pairs, args.cross), recipe=args.recipe, preset=args.preset, minutes=minutes,
                        steps=args.steps, work=args.work, out=args.out, gallery=args.gallery, init=args.init,
                        only_b=args.only_b, every_steps=args.every_steps, seed=args.seed,
                        masks=tuple(args.masks), colours=tuple(args.colours), pastes=tuple(args.pastes),
                        reuse=args.reuse, generic=args.generic, conversion=args.conversion)
        print(format_pairs(r))
        return 0
    if args.what == "detail-sources":
        from benchmarks.bench_swap import chosen_pairs, detail_sources

        r = detail_sources(chosen_pairs(args.pairs, args.cross), args.work, args.size, args.coverage)
        print(f"eyes+mouth band-pass energy of the training faces (aligned crop, sigma = face width / 64; median), "
              f"{args.size} px model at coverage {args.coverage}")
        print(f"{'pair':40s}{'A (video)':>11s}{'B (photos)':>11s}{'B at model':>11s}{'B / A':>8s}")
        for row in r["pairs"]:
            print(f"{row['source'] + ' -> ' + row['target']:40s}{row['A']['crop']:>11.1f}{row['B']['crop']:>11.1f}"
                  f"{row['B']['model']:>11.1f}{row['b_over_a']:>8.2f}")
        print(r["machine"], r["date"])
        if args.out:
            args.out.write_text(json.dumps(r, indent=1))
        return 0
    if args.what == "gan-pairs":
        from benchmarks.bench_gan import bench_gan_pairs, format_gan_pairs
        from benchmarks.bench_swap import chosen_pairs

        r = bench_gan_pairs(chosen_pairs(args.pairs), args.start, args.work, steps=args.steps,
                            max_minutes=args.max_minutes or None, out=args.out, faces=args.faces,
                            conversions=tuple(args.conversions), only_b=args.only_b)
        print(format_gan_pairs(r))
        return 0
    if args.what == "convert":
        r = bench_convert(args.preset, args.frames)
        print(f"conversion benchmark on the sample video, {r['frames']} frames, preset {args.preset} "
              "(one run, same machine)")
        print(f"{'pipeline':<34}{'frames/s':>10}")
        print(f"{'naive (detect + predict per frame)':<34}{r['naive_fps']:>10.2f}")
        print(f"{'ours (alignments, batched)':<34}{r['ours_fps']:>10.2f}")
        print(f"{'ours incl. its fast extraction':<34}{r['ours_with_extract_fps']:>10.2f}")
        print(f"speed-up: {r['ours_fps'] / r['naive_fps']:.1f}x   "
              f"(counting the extraction too: {r['ours_with_extract_fps'] / r['naive_fps']:.1f}x)")
        return 0
    if args.what == "precision":
        r = bench_precision(args.batch_size, args.steps, preset=args.preset, recipe=args.recipe, rounds=args.rounds)
        print(f"training speed per precision: preset {r['preset']}, recipe {r['recipe']}, batch {r['batch_size']} a "
              f"side, {r['steps']} steps x {r['rounds']} rounds each (alternated, one process); {r['machine']}; "
              f"load {r['load']:.1f}")
        for p in PRECISIONS:
            t = r["seconds_per_step"][p]
            print(f"{p:>10}{t:>9.3f} s/step{60 / t:>7.0f} steps/min  (rounds: "
                  + ", ".join(f"{x:.3f}" for x in r["runs"][p]) + ")")
        default = "bfloat16" if r["bfloat16_by_default"] else "float32"
        print(f"bfloat16 at {r['bfloat16_speedup']:.2f}x float32's steps per second; this CPU trains in {default} by "
              "default (train.bfloat16_by_default)")
        if args.out:
            args.out.write_text(json.dumps(r, indent=1))
        return 0
    if args.what == "batch":
        r = bench_batch(args.batch_sizes, args.steps, preset=args.preset, recipe=args.recipe, rounds=args.rounds)
        ref, ref_steps = r["reference"]
        print(f"training speed per batch size: preset {r['preset']}, recipe {r['recipe']}, float32, {r['steps']} steps "
              f"x {r['rounds']} rounds each (alternated, one process); {r['machine']}; load {r['load']:.1f}")
        print(f"{'batch/side':>10}{'s/step':>9}{'steps/min':>11}{'images/s':>10}{'vs ' + str(ref):>8}"
              f"{'steps = ' + str(ref_steps) + ' @' + str(ref):>18}")
        for b in args.batch_sizes:
            t = r["seconds_per_step"][b]
            print(f"{b:>10}{t:>9.3f}{r['steps_per_minute'][b]:>11.0f}{r['images_per_second'][b]:>10.0f}"
                  f"{r['images_per_second'][b] / r['images_per_second'][ref]:>7.2f}x{r['equal_time_steps'][b]:>18}")
        if args.out:
            args.out.write_text(json.dumps(r, indent=1))
        return 0
    if args.what == "train-one":
        from deepfake_utils.train import load_faces

        r = train_speed(args.loop, load_faces(args.faces_a), load_faces(args.faces_b), args.preset,
                        args.batch_size, args.steps, args.warmup)
        print(json.dumps(r))
        return 0
    if args.what == "train":
        r = bench_train(args.preset, args.batch_size, args.steps, xla=args.xla)
        print(f"training benchmark: preset {args.preset}, batch {args.batch_size} per side, {args.steps} steps "
              "(one run, same machine, a fresh process each)")
        print(f"TensorFlow's own choice of CPU kernels here: oneDNN {r['tf_default']}"
              + ("" if r["tf_default_known"] else " (TensorFlow could not say; assumed)"))
        print(f"{'loop':<10}{'CPU kernels':<36}{'images/s':>10}")
        for (loop, kernels), run in r["runs"].items():
            tags = [t for t, on in (("TF default", kernels == r["tf_default"]),
                                    ("deepfake_utils default", loop == "ours" and kernels == r["ours_default"])) if on]
            label = f"oneDNN {kernels}" + (f" ({', '.join(tags)})" if tags else "")
            print(f"{loop:<10}{label:<36}{run['ips']:>10.1f}")
        same = ", ".join(f"{r['runs']['ours', k]['ips'] / r['runs']['naive', k]['ips']:.2f}x with oneDNN {k}"
                         for k in KERNELS)
        print(f"speed-up, ours as shipped vs the original loop as TensorFlow runs it by default: {r['speedup']:.2f}x")
        print(f"loops alone, same kernels: {same}   (input preparation is {r['input_share']:.1%} of a naive "
              "step: the most an input pipeline can hide)")
        waits = ", ".join(f"{run['input_wait']:.1%} ({loop}, oneDNN {k})" for (loop, k), run in r["runs"].items()
                          if "input_wait" in run)
        print(f"share of our training time spent waiting for the next batch: {waits}")
        busy = ", ".join(f"{run['gpu_busy']:.0f} % ({loop}, oneDNN {k})" for (loop, k), run in r["runs"].items()
                         if "gpu_busy" in run)
        if busy:
            print(f"GPU busy during the timed steps (nvidia-smi every 200 ms, mean): {busy}")
        return 0
    video_path = args.video or data.sample_video()
    r = bench_extract(video_path, args.frames)
    ratio = r["ours_fps"] / r["naive_fps"]
    print(f"extraction benchmark on {video_path.name}, {r['frames']} frames (one run, same machine)")
    print(f"{'pipeline':<10}{'frames/s':>10}{'faces found':>14}")
    print(f"{'naive':<10}{r['naive_fps']:>10.2f}{r['found_naive']:>14}")
    print(f"{'ours':<10}{r['ours_fps']:>10.2f}{r['found_ours']:>14}")
    print(f"speed-up: {ratio:.1f}x   landmark error vs naive (NME, inter-ocular): "
          f"mean {r['nme_mean']:.4f}, p95 {r['nme_p95']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
