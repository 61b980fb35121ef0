"""The swap-quality benchmark's pairs trained far longer on a lent GPU, measured back on the CPU.

The lent GPU machine has JAX but no TensorFlow (and cannot install it), so this trains the course's own model
(``deepfake_utils.model``, written in Keras ops) under Keras 3's JAX backend, on the very data stream the CPU
trainer uses (``warp.training_pair`` seeded per pair as ``train.pair_dataset`` seeds it, A's faces moved to B's
mean colour, the recipe's per-pixel L1 weights and SSIM term, Adam with beta_1 = 0.5), and saves weight snapshots
at chosen steps. The conversion and every metric then run here, with the package's own code, exactly as
``python -m benchmarks.bench pairs`` runs them. Three steps:

    # 1. here (TensorFlow venv): the pairs' faces, as `bench pairs --work out/bench-pairs` extracted them
    python benchmarks/gpu_pairs.py prepare out/bench-pairs .gpu
    # 2. on the GPU machine (KERAS_BACKEND=jax; Keras, namex and optree carried as wheels)
    python benchmarks/gpu_pairs.py train .gpu $OUT --preset tiny --snapshots 1425,10000,20000 --deadline 300
    # 3. here: each snapshot made into a model folder, converted and measured; a table and a JSON
    python benchmarks/gpu_pairs.py measure out/bench-pairs DIR_OF_SNAPSHOTS benchmarks/pairs-gpu.json

Faces travel as JPEG (quality 95) to fit the device tool's 64 MiB; the models see them as the CPU run would up to
that compression. Snapshots hold the encoder and B's decoder (the swap's path; A's decoder stays behind) in float16,
as ``deepfake_utils/weights`` does.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the package from this checkout, wherever the script is run from

PAIRS = [("2.mp4", "George_W_Bush"), ("2.mp4", "Gerhard_Schroeder"),
         ("KatieHill", "Serena_Williams"), ("KatieHill", "Gloria_Macapagal_Arroyo")]
RECIPE = "fast"


def pair_name(source: str, target: str) -> str:
    """The benchmark's name of a pair (as ``bench_swap.run_pair`` names its model folders, B's own faces)."""
    return f"{source}-{target}".replace(".", "_") + "-only-b"


# --- 1. here: faces, colour shift and loss weights per pair ------------------------------------------------
def prepare(work: Path, out: Path) -> None:
    """One .npz per pair: A's faces (shifted to B's mean colour) and B's as JPEG bytes, and the recipe's terms."""
    import cv2

    from deepfake_utils.checkpoint import colour_shift, shift_colour
    from deepfake_utils.config import SEED
    from deepfake_utils.train import get_recipe, load_faces, loss_weights

    recipe = get_recipe(RECIPE)
    out.mkdir(parents=True, exist_ok=True)
    for source, target in PAIRS:
        faces_a, faces_b = load_faces(work / "faces" / source), load_faces(work / "faces" / f"{target}-only")
        shift = colour_shift(faces_a, faces_b)
        arrays = {"shift": np.array(shift, np.float32)}
        for side, faces in (("a", shift_colour(faces_a, shift)), ("b", faces_b)):
            blobs = [cv2.imencode(".jpg", f[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes() for f in faces]
            arrays[f"{side}_bytes"] = np.frombuffer(b"".join(blobs), np.uint8)
            arrays[f"{side}_ends"] = np.cumsum([len(b) for b in blobs])
        for size in (64, 128):
            arrays[f"weights{size}"] = loss_weights(recipe, size)
        about = {"source": source, "target": target, "recipe": RECIPE, "ssim": recipe.ssim, "shift": list(shift),
                 "coverage": recipe.coverage, "seed": SEED, "faces": {"A": len(faces_a), "B": len(faces_b)}}
        arrays["about"] = np.frombuffer(json.dumps(about).encode(), np.uint8)
        path = out / f"{pair_name(source, target)}.npz"
        np.savez(path, **arrays)
        print(f"{path}: {len(faces_a)} + {len(faces_b)} faces, {path.stat().st_size / 2**20:.1f} MiB", flush=True)


def read_pair(path: Path) -> tuple[list[np.ndarray], list[np.ndarray], dict, dict]:
    """A pair file's decoded faces (RGB uint8), its ``about`` record and its other arrays."""
    import cv2

    with np.load(path) as saved:
        arrays = {k: saved[k] for k in saved.files}
    faces = {}
    for side in "ab":
        data, ends = arrays[f"{side}_bytes"], arrays[f"{side}_ends"]
        starts = np.concatenate([[0], ends[:-1]])
        faces[side] = [cv2.imdecode(data[s:e], cv2.IMREAD_COLOR)[..., ::-1].copy()
                       for s, e in zip(starts, ends, strict=True)]
    return faces["a"], faces["b"], json.loads(arrays["about"].tobytes()), arrays


# --- 2. on the GPU: the trainer's step under JAX --------------------------------------------------------------
_FACES: dict[str, list[np.ndarray]] = {}
_KW: dict = {}


def _batch(step: int) -> tuple[np.ndarray, ...]:
    """Batch ``step`` of both sides: the pairs train.pair_dataset makes (each pair seeded [seed, side, index])."""
    from deepfake_utils import warp

    out = []
    for side, key in ((0, "a"), (1, "b")):
        pairs = []
        for index in range(step * _KW["batch"], (step + 1) * _KW["batch"]):
            rng = np.random.default_rng([_KW["seed"], side, index])
            face = _FACES[key][rng.integers(len(_FACES[key]))]
            pairs.append(warp.training_pair(face, rng, coverage=_KW["coverage"], size=_KW["size"]))
        out += [np.stack([w for w, _ in pairs]), np.stack([t for _, t in pairs])]
    return tuple(out)


def ssim(x, y):
    """Mean SSIM per image of two (N, H, W, C) batches in 0..1, as tf.image.ssim (11 px Gaussian, sigma 1.5)."""
    import jax
    import jax.numpy as jnp

    g = np.exp(-0.5 * ((np.arange(11) - 5) / 1.5) ** 2)
    g = (g / g.sum()).astype(np.float32)
    channels = x.shape[-1]
    kernel = jnp.asarray(np.tile(np.outer(g, g)[:, :, None, None], (1, 1, 1, channels)))

    def blur(z):
        return jax.lax.conv_general_dilated(z, kernel, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                            feature_group_count=channels, precision="highest")

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = blur(x), blur(y)
    num0, den0 = 2 * mx * my + c1, mx ** 2 + my ** 2 + c1
    num1, den1 = 2 * blur(x * y), blur(x ** 2 + y ** 2)
    cs = (num1 - num0 + c1 + c2) / (den1 - den0 + c1 + c2)
    return jnp.mean(num0 / den0 * cs, axis=(1, 2, 3))


def train(data: Path, out: Path, preset_name: str, snapshots: list[int], deadline: float, workers: int,
          pairs: list[str] | None) -> None:
    """Train every pair file in ``data`` in its own process, all at once on the one GPU."""
    import multiprocessing as mp

    from deepfake_utils.model import get_preset  # here only: KERAS_BACKEND=jax must be set by the caller

    preset = get_preset(preset_name)
    files = sorted(data.glob("*.npz"))
    if pairs:
        files = [f for f in files if f.stem in pairs]
    out.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=train_pair, args=(f, out, preset, snapshots, deadline, workers)) for f in files]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    bad = [f.stem for f, p in zip(files, procs, strict=True) if p.exitcode]
    if bad:
        raise SystemExit(f"failed: {bad}")


def train_pair(path: Path, out: Path, preset, snapshots: list[int], deadline: float, workers: int) -> None:
    """One pair: data workers forked before JAX starts, then the A-then-B steps, snapshots at the given steps."""
    import multiprocessing as mp

    started = time.monotonic()
    faces_a, faces_b, about, arrays = read_pair(path)
    batch = preset.batch_size
    _FACES.update(a=faces_a, b=faces_b)
    _KW.update(seed=about["seed"], batch=batch, coverage=about["coverage"], size=preset.size)
    pool = mp.get_context("fork").Pool(workers)  # before JAX: forking a process that runs JAX is unsafe
    batches = pool.imap(_batch, range(max(snapshots)), chunksize=4)

    os.environ.setdefault("KERAS_BACKEND", "jax")
    import jax
    import jax.numpy as jnp
    import keras

    from deepfake_utils.model import build

    jax.config.update("jax_default_matmul_precision", "highest")  # float32 as on the CPU, not TF32

    keras.utils.set_random_seed(about["seed"])
    model = build(preset)
    parts = model.parts()
    ae = {s: model.autoencoder(s) for s in "ab"}
    lr = preset.learning_rate  # the fast recipe keeps the preset's rate and batch
    opts = {s: keras.optimizers.Adam(lr, beta_1=0.5, beta_2=0.999) for s in "ab"}
    for s in "ab":
        opts[s].build(ae[s].trainable_variables)
    every = [v for part in parts.values() for v in part.trainable_variables]
    index = {s: [next(i for i, w in enumerate(every) if w is v) for v in ae[s].trainable_variables] for s in "ab"}
    weights = jnp.asarray(arrays[f"weights{preset.size}"])
    ssim_weight = float(about["ssim"])

    def side_step(side, values, opt_values, warped, target):
        def loss_fn(trainable):
            output, _ = ae[side].stateless_call(trainable, [], warped, training=True)
            output = output.astype(jnp.float32)
            loss = jnp.mean(jnp.abs(output - target) * weights)
            return loss + ssim_weight * jnp.mean((1.0 - ssim(output, target)) / 2.0)

        trainable = [values[i] for i in index[side]]
        loss, grads = jax.value_and_grad(loss_fn)(trainable)
        trainable, opt_values = opts[side].stateless_apply(opt_values, grads, trainable)
        values = list(values)
        for i, v in zip(index[side], trainable, strict=True):
            values[i] = v
        return values, opt_values, loss

    @jax.jit
    def step(values, opt_a, opt_b, wa, ta, wb, tb):
        # as the CPU trainer: A learns from its batch, then B from its batch with the encoder A just updated
        values, opt_a, loss_a = side_step("a", values, opt_a, wa, ta)
        values, opt_b, loss_b = side_step("b", values, opt_b, wb, tb)
        return values, opt_a, opt_b, loss_a, loss_b

    values = [v.value for v in every]
    opt_a, opt_b = [v.value for v in opts["a"].variables], [v.value for v in opts["b"].variables]
    history, saved, done = [], {}, 0
    name = f"{path.stem}-{preset.name}"
    train_start = time.monotonic()

    def snapshot(step_no: int) -> None:
        for v, value in zip(every, values, strict=True):
            v.assign(value)
        for part in ("encoder", "decoder_b"):
            for i, w in enumerate(parts[part].get_weights()):
                saved[f"{step_no}/{part}/{i}"] = w.astype(np.float16)

    for done, (wa, ta, wb, tb) in enumerate(batches, start=1):
        to_float = [jnp.asarray(x, jnp.float32) / 255.0 for x in (wa, ta, wb, tb)]
        values, opt_a, opt_b, loss_a, loss_b = step(values, opt_a, opt_b, *to_float)
        if done % 100 == 0 or done in snapshots:
            history.append((done, float(loss_a), float(loss_b), time.monotonic() - train_start))
        if done in snapshots:
            snapshot(done)
        if done % 2000 == 0:
            print(f"{name}: step {done}, loss A {float(loss_a):.4f} B {float(loss_b):.4f}, "
                  f"{done / (time.monotonic() - train_start):.0f} steps/s", flush=True)
        if time.monotonic() - started > deadline:
            break
    if done not in snapshots:
        snapshot(done)  # the last step reached before the deadline
    pool.terminate()
    seconds = time.monotonic() - train_start
    about.update(preset=preset.name, steps=done, train_seconds=round(seconds, 1), history=history,
                 snapshots=sorted({int(k.split("/")[0]) for k in saved}), device=str(jax.devices()[0]),
                 jax=jax.__version__, keras=keras.__version__)
    saved["about"] = np.frombuffer(json.dumps(about).encode(), np.uint8)
    np.savez_compressed(out / f"{name}.npz", **saved)
    print(f"{name}: {done} steps in {seconds:.0f} s ({done / seconds:.0f} steps/s), final loss A {history[-1][1]:.4f} "
          f"B {history[-1][2]:.4f}; snapshots {about['snapshots']}", flush=True)


# --- 3. here: each snapshot converted and measured --------------------------------------------------------------
def measure(work: Path, snaps: Path, out: Path, steps: list[int] | None, gallery: str) -> None:
    """Every snapshot (or those at ``steps``) in a model folder of its own, converted and measured as bench pairs."""
    import shutil

    from benchmarks.bench_swap import convert_and_measure, resolution_ceiling
    from deepfake_utils import data, metrics
    from deepfake_utils.checkpoint import load
    from deepfake_utils.extract import load_alignments
    from deepfake_utils.train import Trainer, load_faces, machine

    ceilings: dict = {}

    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "recipe": RECIPE, "gallery": gallery,
              "trained_on": None, "rows": []}
    if out.exists():
        result = json.loads(out.read_text())
    done = {(r["pair"], r["preset"], r["steps"]) for r in result["rows"]}
    for path in sorted(snaps.glob("*.npz")):
        with np.load(path) as saved:
            arrays = {k: saved[k] for k in saved.files}
        about = json.loads(arrays.pop("about").tobytes())
        result["trained_on"] = f"{about['device']}, JAX {about['jax']}, Keras {about['keras']}"
        source, target = about["source"], about["target"]
        video = data.source_video(source)
        dir_a = work / "faces" / source
        faces_a, faces_b = load_faces(dir_a), load_faces(work / "faces" / f"{target}-only")
        identities = None
        for step in about["snapshots"]:
            pair = pair_name(source, target)
            if (steps and step not in steps and step != about["steps"]) or (pair, about["preset"], step) in done:
                continue
            identities = identities or metrics.sample_gallery(target, 64, 20, size=gallery)
            model_dir = work / "gpu-models" / f"{pair}-{about['preset']}-{step}"
            shutil.rmtree(model_dir, ignore_errors=True)
            trainer = Trainer(model_dir, about["preset"], recipe=RECIPE, mixed_precision=False)
            parts = trainer.model.parts()
            for part in ("encoder", "decoder_b"):
                keys = sorted((k for k in arrays if k.startswith(f"{step}/{part}/")),
                              key=lambda k: int(k.split("/")[2]))
                parts[part].set_weights([arrays[k].astype(np.float32) for k in keys])
            trainer._step_var.assign(step)  # the steps it was trained for, as state.json records them
            trainer.colour_shift = tuple(about["shift"])
            trainer.fit(faces_a, faces_b, steps=step, save_every=0)  # trains nothing: records the faces it saw
            trainer.save()
            swapped = work / "gpu-swapped" / f"{pair}-{about['preset']}-{step}.mp4"
            # NAME.pair.json beside it, as bench pairs writes (bench_detector groups the swaps by its "group")
            report = convert_and_measure(video, load(model_dir), swapped, dir_a, identities, target, steps=step,
                                         group=f"GPU {about['preset']}", kind="autoencoder", preset=about["preset"])
            key = (source, trainer.preset.size)
            if key not in ceilings:
                ceilings[key] = resolution_ceiling(video, load_alignments(dir_a), key[1], trainer.coverage, None)
            row = {"pair": pair, "source": source, "target": target, "preset": about["preset"], "steps": step,
                   "gpu_seconds": next((h[3] for h in about["history"] if h[0] == step), about["train_seconds"]),
                   "identities": len(report["gallery"]), "detail": report["detail_kept"],
                   "detail_ceiling": ceilings[key],
                   "swapped": str(swapped), **metrics.headline(report)}
            result["rows"].append(row)
            print(json.dumps({k: row[k] for k in ("pair", "preset", "steps", "id_retrieval", "recognised",
                                                  "detail_kept", "detail")}), flush=True)
            out.write_text(json.dumps(result, indent=1))


def table(path: Path) -> str:
    """The measured rows of a ``measure`` JSON as a markdown table, by pair, preset and steps."""
    result = json.loads(path.read_text())
    lines = [f"Trained on {result['trained_on']}; converted and measured on {result['machine']}, {result['date']}.", "",
             "| pair | preset | steps | GPU s | ID retrieval | recognised | faces | NME | jitter | eyes+mouth detail "
             "(ceiling) | eyes | mouth | 2 px band |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(result["rows"], key=lambda r: (r["pair"], r["preset"], r["steps"])):
        d = r["detail"]
        lines.append(f"| {r['source']} → {r['target']} | {r['preset']} | {r['steps']} | {r['gpu_seconds']:.0f} | "
                     f"{r['id_retrieval']:.0%} | {r['recognised']:.0%} | {r['faces_found']:.0%} | "
                     f"{r['expression_error']:.3f} | {r['jitter_ratio']:.2f} | {d['eyes_mouth']:.2f} "
                     f"({r['detail_ceiling']:.2f}) | {d['eyes']:.2f} | {d['mouth']:.2f} | {d['fine']:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="the pairs' faces and recipe terms, to carry to the GPU")
    p.add_argument("work", type=Path, help="bench pairs' --work folder (faces/ extracted there)")
    p.add_argument("out", type=Path)
    p = sub.add_parser("train", help="on the GPU (KERAS_BACKEND=jax): every pair at once, snapshots at steps")
    p.add_argument("data", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--preset", default="tiny")
    p.add_argument("--snapshots", default="1425,10000,20000", help="steps to keep weights at (the last: the most)")
    p.add_argument("--deadline", type=float, default=300, help="seconds per pair before it stops and saves")
    p.add_argument("--workers", type=int, default=2, help="data processes per pair")
    p.add_argument("--pairs", nargs="*", help="pair names (file stems) to train; default all")
    p = sub.add_parser("measure", help="here: snapshots converted and measured")
    p.add_argument("work", type=Path)
    p.add_argument("snaps", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--steps", default="", help="only these snapshot steps (and each run's last)")
    p.add_argument("--gallery", default="large")
    p = sub.add_parser("table", help="a measure JSON as a markdown table")
    p.add_argument("json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "table":
        print(table(args.json))
    elif args.command == "prepare":
        prepare(args.work, args.out)
    elif args.command == "train":
        train(args.data, args.out, args.preset, [int(s) for s in args.snapshots.split(",")], args.deadline,
              args.workers, args.pairs)
    else:
        measure(args.work, args.snaps, args.out, [int(s) for s in args.steps.split(",") if s], args.gallery)


if __name__ == "__main__":
    main()
