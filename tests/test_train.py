import json
import shutil
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

from deepfake_utils import align, blend, checkpoint, choices, learn, train
from deepfake_utils.errors import DeepfakeError
from deepfake_utils.fileio import read_image


@pytest.fixture(scope="module")
def faces(sample_faces):
    """Real aligned faces: person A from the sample video, person B from LFW photos."""
    root = sample_faces
    a, b = train.load_faces(root / "A"), train.load_faces(root / "B")
    assert len(a) == 24 and len(b) == 8  # a face in every frame and photo
    return root, a, b


def weights(trainer):
    m = trainer.model
    return m.encoder.get_weights() + m.decoder_a.get_weights() + m.decoder_b.get_weights()


def test_pairs_stream_is_seeded_and_resumable(faces):
    _, a, _ = faces
    first = list(train.pair_dataset(a, seed=1, side=0, batch_size=4).take(3))
    later = list(train.pair_dataset(a, seed=1, side=0, batch_size=4, start_step=2).take(1))
    assert first[0][0].shape == (4, 64, 64, 3) and first[0][0].dtype.name == "float32"
    assert np.array_equal(first[2][0].numpy(), later[0][0].numpy())  # batch 2 is batch 2, whenever made


def test_recolour_gives_b_pairs_the_colours_of_a_faces_and_keeps_their_warps(faces, tmp_path):
    _, a, b = faces
    lab = lambda image: cv2.cvtColor(np.float32(image), cv2.COLOR_RGB2LAB)  # noqa: E731  (the stream's 0..1)
    plain = next(iter(train.pair_dataset(b, seed=1, side=1, batch_size=8)))
    moved = next(iter(train.pair_dataset(b, seed=1, side=1, batch_size=8, recolour=a)))
    a_means = np.array([blend.lab_moments(align.face_square(f, train.COVERAGE))[0] for f in a])
    b_means = np.array([blend.lab_moments(align.face_square(f, train.COVERAGE))[0] for f in b])
    for before, after in zip(plain[1].numpy(), moved[1].numpy(), strict=True):
        mean_after, mean_before = lab(after).reshape(-1, 3).mean(0), lab(before).reshape(-1, 3).mean(0)
        # the target's colours are one A face's (to within the warp's crop and rounding), no longer a B face's
        assert np.abs(a_means - mean_after).max(1).min() < 3 < np.abs(b_means - mean_after).max(1).min()
        assert np.abs(b_means - mean_before).max(1).min() < 3
        # the same warp: the lightness is moved by one affine map, so its pattern is the same
        assert np.corrcoef(lab(before)[..., 0].ravel(), lab(after)[..., 0].ravel())[0, 1] > 0.99
    for warped, target in zip(moved[0].numpy(), moved[1].numpy(), strict=True):  # input and target moved alike
        assert np.abs(lab(warped).reshape(-1, 3).mean(0) - lab(target).reshape(-1, 3).mean(0)).max() < 3
    with pytest.raises(DeepfakeError, match="recolour"):
        train.pair_dataset(b, seed=1, side=1, batch_size=8, recolour=[])
    trainer = train.Trainer(tmp_path / "rct", "tiny", recipe=choices.Recipe("ct", colour="rct"), batch_size=8)
    (_, a_target), (_, b_target) = next(iter(trainer.datasets(a, b)))
    assert np.allclose(a_target, next(iter(train.pair_dataset(a, seed=trainer.seed, side=0, batch_size=8)))[1])
    assert np.allclose(b_target, next(iter(train.pair_dataset(b, seed=trainer.seed, side=1, batch_size=8,
                                                               recolour=a)))[1])
    with pytest.raises(DeepfakeError, match="colour must be one of"):
        choices.Recipe("bad", colour="blue")


def test_a_few_steps_lower_the_loss_on_real_faces(faces, tmp_path):
    _, a, b = faces
    trainer = train.Trainer(tmp_path / "m", "tiny", batch_size=8)
    seen = []
    history = np.array(trainer.fit(a, b, 40, save_every=40, progress=False, on_step=lambda *x: seen.append(x)))
    assert [s for s, _, _ in seen] == list(range(1, 41)) and list(seen[-1]) == list(history[-1])
    assert len(trainer.input_waits) == 40 and all(w >= 0 for w in trainer.input_waits)
    assert history[-8:, 1].mean() < 0.8 * history[:8, 1].mean()
    assert history[-8:, 2].mean() < 0.9 * history[:8, 2].mean()
    assert (tmp_path / "m" / "preview.png").is_file()
    state = json.loads((tmp_path / "m" / "state.json").read_text())
    assert state["step"] == 40 and state["checkpoint"] == "ckpt-000040" and len(state["history"]) == 40


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(faces, tmp_path):
    _, a, b = faces
    straight = train.Trainer(tmp_path / "straight", "tiny", batch_size=4)
    straight.fit(a, b, 6, save_every=3, progress=False)
    first = train.Trainer(tmp_path / "resumed", "tiny", batch_size=4)
    first.fit(a, b, 3, save_every=3, progress=False)
    del first
    again = train.Trainer(tmp_path / "resumed")  # preset, seed and batch size come from state.json
    assert again.step == 3 and again.batch_size == 4
    again.fit(a, b, 6, save_every=3, progress=False)
    assert again.step == straight.step == 6
    assert all(np.array_equal(x, y) for x, y in zip(weights(straight), weights(again), strict=True))
    assert again.history == straight.history


def test_previews_are_kept_and_a_resumed_run_goes_on_from_its_checkpoint(faces, tmp_path):
    _, a, b = faces
    folder = tmp_path / "m"
    train.Trainer(folder, "tiny", batch_size=4).fit(a, b, 4, save_every=4, preview_every=2, progress=False)
    kept = checkpoint.kept_previews(folder)
    assert [step for step, _ in kept] == [2, 4]
    assert np.array_equal(read_image(kept[-1][1]), read_image(folder / "preview.png"))
    assert not np.array_equal(read_image(kept[0][1]), read_image(kept[1][1]))  # two steps' weights, two pictures
    # a run that died after the previews of steps 6 and 8 but before its next checkpoint, mid-write of another
    for lost in (6, 8):
        shutil.copy(kept[1][1], checkpoint.preview_file(folder, lost))
    temp = folder / "previews" / ".step_000010.99999999-0123abcd.part.png"
    temp.write_bytes(b"half a png")
    again = train.Trainer(folder)
    assert again.step == 4
    again.fit(a, b, 7, save_every=4, preview_every=2, progress=False)
    kept = checkpoint.kept_previews(folder)
    assert [step for step, _ in kept] == [2, 4, 6, 7]  # 8 was of lost weights; 7 is the last step
    assert not temp.exists()
    assert not np.array_equal(read_image(kept[2][1]), read_image(kept[1][1]))  # step 6 drawn anew
    assert np.array_equal(read_image(kept[-1][1]), read_image(folder / "preview.png"))
    again.fit(a, b, 8, save_every=4, preview_every=2, progress=False, keep_previews=False)
    assert [step for step, _ in checkpoint.kept_previews(folder)] == [2, 4, 6, 7]
    assert not np.array_equal(read_image(kept[-1][1]), read_image(folder / "preview.png"))  # step 8's, not kept

def test_a_kill_during_a_save_leaves_the_previous_checkpoint_loadable(faces, tmp_path):
    root, _, _ = faces
    script = textwrap.dedent(f"""
        import os
        from deepfake_utils import train
        real_replace = os.replace
        saves = []
        def dying_replace(src, dst):
            if str(dst).endswith("ckpt-000004"):
                os._exit(9)  # killed between writing the new checkpoint and moving it into place
            real_replace(src, dst)
        os.replace = dying_replace
        t = train.Trainer({str(tmp_path / "m")!r}, "tiny", batch_size=4)
        t.fit(train.load_faces({str(root / "A")!r}), train.load_faces({str(root / "B")!r}), 6, save_every=2,
              progress=False)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    survivor = train.Trainer(tmp_path / "m")
    assert survivor.step == 2  # the last complete checkpoint


def test_missing_or_corrupt_checkpoints_are_clear_errors(faces, tmp_path):
    _, a, b = faces
    trainer = train.Trainer(tmp_path / "m", "tiny", batch_size=4)
    trainer.fit(a, b, 2, save_every=1, progress=False)
    ckpt = tmp_path / "m" / "ckpt-000002"
    for folder in (ckpt, tmp_path / "m" / "ckpt-000001"):  # the newest and the previous one both damaged
        data_file = next(folder.glob("ckpt.data-*"))
        data_file.write_bytes(data_file.read_bytes()[:100])
    with pytest.raises(checkpoint.CheckpointError, match="ckpt-000002.*previous one cannot be loaded.*ckpt-000001"):
        train.Trainer(tmp_path / "m")
    shutil.rmtree(ckpt)
    shutil.rmtree(tmp_path / "m" / "ckpt-000001")
    missing = "ckpt-000002: checkpoint missing.*ckpt-000001: checkpoint missing"
    with pytest.raises(checkpoint.CheckpointError, match=missing):
        train.Trainer(tmp_path / "m")
    (tmp_path / "m" / "state.json").write_text("{broken")
    with pytest.raises(checkpoint.CheckpointError, match="unreadable"):
        train.Trainer(tmp_path / "m")
    with pytest.raises(checkpoint.CheckpointError, match="not 'original'"):
        (tmp_path / "m2").mkdir()
        train.Trainer(tmp_path / "m2", "tiny", batch_size=4).save()
        train.Trainer(tmp_path / "m2", "original")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(faces, tmp_path):
    _, a, b = faces
    trainer = train.Trainer(tmp_path / "m", "tiny", batch_size=4)
    trainer.fit(a, b, 2, save_every=2, progress=False)
    for v in trainer.model.decoder_a.trainable_variables[-2:]:
        v.assign(v * np.nan)  # poison the weights: the next loss is NaN
    with pytest.raises(checkpoint.TrainingError, match="step 2"):
        trainer.fit(a, b, 4, save_every=1, progress=False)
    assert train.Trainer(tmp_path / "m").step == 2


def test_load_faces_and_colour_matching(faces, tmp_path):
    root, a, b = faces
    with pytest.raises(DeepfakeError, match="no face images"):
        train.load_faces(tmp_path)
    matched = train.match_mean_colour(a, b)
    target = np.mean([f.mean((0, 1)) for f in b], 0)
    before = np.abs(np.mean([f.mean((0, 1)) for f in a], 0) - target).max()
    after = np.abs(np.mean([f.mean((0, 1)) for f in matched], 0) - target).max()
    assert after < before / 2


def test_cli_train(faces, tmp_path, capsys):
    from deepfake_utils import cli

    root, _, _ = faces
    proc = subprocess.run([sys.executable, "-m", "deepfake_utils", "train", str(root / "A"), str(root / "B"),
                           str(tmp_path / "m"), "--preset", "tiny", "--steps", "3", "--batch-size", "4"],
                          capture_output=True, text=True)  # as a user runs it: a process of its own
    assert proc.returncode == 0, proc.stderr
    assert "steps 0 -> 3" in proc.stdout and "training tiny preset, fast recipe, batch 4, CPU" in proc.stdout
    capsys.readouterr()  # resumed (in this process: the same entry point, without a second TensorFlow start)
    assert cli.main(["train", str(root / "A"), str(root / "B"), str(tmp_path / "m"), "--steps", "4"]) == 0
    assert "steps 3 -> 4" in capsys.readouterr().out
    assert [step for step, _ in checkpoint.kept_previews(tmp_path / "m")] == [3, 4]  # the resumed run added one


def test_load_model_gives_the_trained_weights(tiny_model, tmp_path):
    model = checkpoint.load(tiny_model)
    trainer = train.Trainer(tiny_model)
    assert all(np.array_equal(x, y) for x, y in zip(model.encoder.get_weights() + model.decoder_b.get_weights(),
                                                     trainer.model.encoder.get_weights()
                                                     + trainer.model.decoder_b.get_weights(), strict=True))
    with pytest.raises(checkpoint.CheckpointError, match="no trained model"):
        checkpoint.load(tmp_path)


def test_mixed_precision_trains_and_its_checkpoint_resumes_in_float32(faces, tmp_path):
    import keras

    _, a, b = faces
    # batch 2, one step: float16 maths is emulated on most CPUs, seconds a step even for the tiny model
    mixed = train.Trainer(tmp_path / "m", "tiny", batch_size=2, mixed_precision=True)
    conv = mixed.model.encoder.get_layer("conv1")
    assert conv.compute_dtype == "float16" and conv.kernel.dtype == "float32"  # float16 maths, float32 weights
    assert isinstance(mixed.opt_a, keras.optimizers.LossScaleOptimizer) and "mixed precision" in mixed.summary()
    assert keras.mixed_precision.global_policy().name == "float32"  # the policy does not leak out of Trainer
    start = [w.copy() for w in weights(mixed)]
    history = np.array(mixed.fit(a, b, 1, save_every=1, progress=False))
    assert np.isfinite(history).all() and all(not np.array_equal(x, y) for x, y in zip(
        start, weights(mixed), strict=True) if x.size > 1)  # every kernel moved: the scaled gradients were applied
    plain = train.Trainer(tmp_path / "m", mixed_precision=False)  # e.g. trained on a GPU, resumed on a CPU
    assert plain.step == 1 and plain.model.encoder.get_layer("conv1").compute_dtype == "float32"
    assert (mixed.precision, plain.precision) == ("float16", "float32")  # what records say it trained in
    assert all(np.array_equal(x, y) for x, y in zip(weights(mixed), weights(plain), strict=True))
    plain.fit(a, b, 2, save_every=2, progress=False)
    assert train.Trainer(tmp_path / "m", mixed_precision=True).step == 2  # and back


def test_an_xla_compiled_step_matches_the_plain_step(faces, tmp_path):
    _, a, b = faces
    for recipe in ("fast", "original"):  # the same losses step by step, whatever the loss terms
        # at the rate the weights' tolerance below was set for (the preset's before it doubled): a larger rate moves
        # the weights further, and the round-off between the two compiled steps with them
        runs = [train.Trainer(tmp_path / f"{recipe}-{jit}", "tiny", recipe=recipe, batch_size=4, jit=jit,
                              learning_rate=2e-4) for jit in (False, True)]
        histories = [np.array(t.fit(a, b, 3, save_every=0, progress=False)) for t in runs]
        np.testing.assert_allclose(histories[0], histories[1], rtol=1e-4)
    # the weights, with plain L1 (DSSIM's gradients are tiny on many weights, where float round-off
    # decides the sign of Adam's first, learning-rate-sized steps)
    start = np.concatenate([w.ravel() for w in weights(train.Trainer(tmp_path / "fresh", "tiny", recipe="original",
                                                                     batch_size=4))])
    plain, xla = (np.concatenate([w.ravel() for w in weights(t)]) for t in runs)
    far, everywhere = _movement_gaps(start, plain, xla, runs[0].learning_rate * 3)
    assert far < 0.02 and everywhere < 0.1, (far, everywhere)  # a rate 10 % off would move them 10 % apart


def _movement_gaps(start: np.ndarray, one: np.ndarray, other: np.ndarray, full: float) -> tuple[float, float]:
    """How far apart two runs of the same steps from the same weights left them, as shares of how far the first moved
    them: over the weights it moved at least half of ``full`` (the learning rate times the steps: how far Adam moves a
    weight whose gradient is well above its epsilon, 1e-7), and over all weights.

    Only where the gradient is well above epsilon is Adam's step about the learning rate whatever the gradient's
    size. Most of the tiny model's weights have gradients near epsilon in the first steps and move by about gradient /
    epsilon, so round-off in the gradient (another kernel's order of summation, another CPU) shows there directly:
    2-4 % of the movement over all weights on an Intel Xeon with AMX (TF 2.21; XLA against the plain step in one step
    as in three, and two devices against one), under 2 % on the AMD EPYCs; 0.5-1 % over the weights moved at least half
    the full distance (5-13 % of them)."""
    moved = np.abs(one - start)
    far = moved > 0.5 * full
    assert far.mean() > 0.01, "the steps moved almost no weight the full distance: nothing to compare"
    gap = np.abs(other - one)
    return float(gap[far].mean() / moved[far].mean()), float(gap.mean() / moved.mean())


def test_a_mirrored_strategy_over_two_devices_trains_as_one_device_does(faces, tmp_path):
    # two logical CPUs stand in for two GPUs; the global batch is split between them and the
    # gradients summed, so the weights must follow the one-device run
    root, _, _ = faces
    script = textwrap.dedent(f"""
        import json
        import numpy as np
        import deepfake_utils
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from deepfake_utils import checkpoint, train
        a, b = train.load_faces({str(root / "A")!r}), train.load_faces({str(root / "B")!r})
        def flat(m):
            return np.concatenate([w.ravel() for part in (m.encoder, m.decoder_a, m.decoder_b)
                                   for w in part.get_weights()])
        # plain L1 (see the XLA test: with DSSIM, round-off decides some of Adam's first steps)
        start = flat(train.Trainer({str(tmp_path / "fresh")!r}, "tiny", recipe="original").model)
        two = train.Trainer({str(tmp_path / "two")!r}, "tiny", recipe="original", batch_size=8,
                            strategy=tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
        h2 = two.fit(a, b, 3, save_every=3, progress=False)
        one = train.Trainer({str(tmp_path / "one")!r}, "tiny", recipe="original", batch_size=8)
        h1 = one.fit(a, b, 3, save_every=0, progress=False)
        loaded = checkpoint.load({str(tmp_path / "two")!r})
        np.savez({str(tmp_path / "weights.npz")!r}, start=start, one=flat(one.model), two=flat(two.model))
        print(json.dumps({{"replicas": two.strategy.num_replicas_in_sync, "h1": h1, "h2": h2,
                           "full": 3 * one.learning_rate,
                           "loaded": float(np.abs(flat(loaded) - flat(two.model)).max())}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["replicas"] == 2
    np.testing.assert_allclose(r["h2"], r["h1"], rtol=1e-4)  # the same losses, step by step
    w = np.load(tmp_path / "weights.npz")
    far, everywhere = _movement_gaps(w["start"], w["one"], w["two"], r["full"])  # training moved them, alike
    assert far < 0.02 and everywhere < 0.1, (far, everywhere)
    assert r["loaded"] == 0  # and the checkpoint of a distributed run loads for conversion


def test_loss_terms_on_known_inputs():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    target = tf.constant(rng.uniform(0, 1, (2, 64, 64, 3)), tf.float32)
    other = tf.constant(rng.uniform(0, 1, (2, 64, 64, 3)), tf.float32)
    for recipe in choices.RECIPES.values():
        w = train.loss_weights(recipe, 64)
        assert w.shape == (64, 64, 1) and w.mean() == pytest.approx(1, abs=1e-5) and (w > 0).all()
        same = learn.reconstruction_loss(target, target, tf.constant(w), recipe.ssim)
        assert float(same) == pytest.approx(0, abs=1e-6)
        assert float(learn.reconstruction_loss(other, target, tf.constant(w), recipe.ssim)) > 0.1
        variable = tf.Variable(other)
        with tf.GradientTape() as tape:
            loss = learn.reconstruction_loss(variable, target, tf.constant(w), recipe.ssim)
        assert np.isfinite(tape.gradient(loss, variable).numpy()).all()
    fast = train.loss_weights(choices.get_recipe("fast"), 64)[..., 0]
    eyes = np.round(train.mean_face_points(64, choices.get_recipe("fast").coverage)[19:31].mean(0)).astype(int)
    assert fast[eyes[1], eyes[0]] > 2 * fast[2, 2]  # the eyes weigh more than the corner of the crop
    assert np.allclose(train.loss_weights(choices.get_recipe("original"), 64), 1)  # the original: plain L1
    # DSSIM sees structure that L1 averages away: a blur of the target
    blurred = tf.constant(cv2.GaussianBlur(target.numpy()[0], (0, 0), 2)[None], tf.float32)
    ssim_part = float(learn.reconstruction_loss(blurred, target[:1], None, 1.0)
                      - learn.reconstruction_loss(blurred, target[:1], None, 0.0))
    assert ssim_part > 0.1


def test_structural_similarity_is_tf_image_ssim_with_a_separable_window(faces):
    """The loss's SSIM (one pass per direction of a separable Gaussian, all four local sums at once) is SSIM
    computed in float64 to 1e-6, and tf.image.ssim's values and gradients within float32's rounding, on real faces
    and on noise, at 64 and 128 px."""
    import tensorflow as tf

    _, a, b = faces
    rng = np.random.default_rng(1)
    g = learn.gaussian_window()
    assert g.shape == (11,) and g.sum() == pytest.approx(1) and g.argmax() == 5 and np.allclose(g, g[::-1])

    def in_float64(p, q):  # Wang et al.'s SSIM with OpenCV's 2-D filter in float64, the window's valid part only
        def blur(z):
            return np.stack([cv2.sepFilter2D(z[..., c], cv2.CV_64F, g.astype(np.float64), g.astype(np.float64))
                             for c in range(z.shape[-1])], -1)[5:-5, 5:-5]
        values = []
        for one, two in zip(np.float64(p), np.float64(q), strict=True):
            mx, my, mxy, msq = blur(one), blur(two), blur(one * two), blur(one**2 + two**2)
            values.append(((2 * mx * my + 1e-4) / (mx**2 + my**2 + 1e-4)
                           * (2 * (mxy - mx * my) + 9e-4) / (msq - mx**2 - my**2 + 9e-4)).mean())
        return np.array(values)
    for size in (64, 128):
        real = [cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in (*a[:3], *b[:3])]
        x = tf.constant(np.stack(real[:3]) / 255, tf.float32)
        y = tf.constant(np.stack(real[3:]) / 255, tf.float32)
        noise = tf.constant(rng.uniform(0, 1, (2, size, size, 3)), tf.float32)
        for one, two in ((x, y), (x, tf.clip_by_value(x + 0.05 * noise[:1], 0, 1)), (noise, noise[::-1])):
            ours, theirs = learn.structural_similarity(one, two), tf.image.ssim(one, two, max_val=1.0)
            assert ours.shape == theirs.shape == (one.shape[0],)
            np.testing.assert_allclose(ours.numpy(), in_float64(one.numpy(), two.numpy()), atol=1e-6)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=3e-5)  # tf's own float32 rounding
            grads = []
            for fn in (learn.structural_similarity, lambda p, q: tf.image.ssim(p, q, max_val=1.0)):
                variable = tf.Variable(one)
                with tf.GradientTape() as tape:
                    value = tf.reduce_sum(fn(variable, two))
                grads.append(tape.gradient(value, variable).numpy())
            np.testing.assert_allclose(grads[0], grads[1], atol=1e-3 * np.abs(grads[1]).max())  # 0.1 % of the largest
        np.testing.assert_allclose(learn.structural_similarity(x, x).numpy(), 1, atol=1e-6)  # an image and itself
        np.testing.assert_allclose(learn.structural_similarity(x, y).numpy(),
                                   learn.structural_similarity(y, x).numpy(), atol=1e-6)  # symmetric
    assert float(learn.structural_similarity(x * 255, y * 255, max_val=255)[0]) == pytest.approx(
        float(learn.structural_similarity(x, y)[0]), abs=1e-5)  # the constants scale with the range


def test_recipe_and_colour_shift_are_saved_and_convert_sees_training_colours(faces, tmp_path):
    from deepfake_utils import data, paste, video
    from deepfake_utils.extract import load_alignments

    root, a, b = faces
    trainer = train.Trainer(tmp_path / "m", "tiny", recipe="fast", batch_size=4)
    trainer.fit(a, b, 2, save_every=2, progress=False)
    state = json.loads((tmp_path / "m" / "state.json").read_text())
    assert state["recipe"]["name"] == "fast" and state["colour_shift"] == list(blend.colour_shift(a, b))
    model = checkpoint.load(tmp_path / "m")
    assert model.coverage == choices.get_recipe("fast").coverage and model.colour_shift == blend.colour_shift(a, b)
    # the faces convert feeds the model have the colours of the faces the model was trained on
    frames = [f for i, f in enumerate(video.iter_frames(data.sample_video(), max_frames=24)) if i % 6 == 0]
    points = [load_alignments(root / "A")["frames"][f"{i + 1:06d}"][0]["landmarks"] for i in range(0, 24, 6)]
    crops = [paste.model_input(f, p, 64, model.coverage, model.colour_shift)
             for f, p in zip(frames, points, strict=True)]
    raw = [paste.model_input(f, p, 64, model.coverage) for f, p in zip(frames, points, strict=True)]
    trained = checkpoint.preview_faces(blend.shift_colour(a, model.colour_shift), n=24, coverage=model.coverage) * 255
    mean = lambda faces: np.mean([np.asarray(f, np.float64).mean((0, 1)) for f in faces], 0)  # noqa: E731
    assert np.abs(mean(crops) - mean(trained)).max() < 6  # consistent
    assert np.abs(mean(raw) - mean(trained)).max() > 15  # what conversion fed the model before
    with pytest.raises(checkpoint.CheckpointError, match="recipe"):
        train.Trainer(tmp_path / "m", recipe="original")
    raw_trainer = train.Trainer(tmp_path / "raw", "tiny", recipe=choices.Recipe("plain", colour="raw"), batch_size=4)
    raw_trainer.fit(a, b, 1, save_every=1, progress=False)
    assert checkpoint.load(tmp_path / "raw").colour_shift is None


def test_training_for_a_time_budget_resumes_the_clock(faces, tmp_path):
    _, a, b = faces
    trainer = train.Trainer(tmp_path / "m", "tiny", batch_size=4)
    trainer.fit(a, b, 1, save_every=1000, progress=False)  # the first step traces the graph: seconds, counted
    budget = trainer.train_seconds + 4  # then 4 s of steps
    trainer.fit(a, b, minutes=budget / 60, save_every=1000, progress=False)
    assert budget <= trainer.train_seconds < budget + 5 and trainer.step > 2
    steps = trainer.step
    again = train.Trainer(tmp_path / "m")
    assert again.train_seconds == pytest.approx(trainer.train_seconds, abs=1e-2)
    again.fit(a, b, minutes=budget / 60, progress=False)  # the budget is spent: nothing to do
    assert again.step == steps
    again.fit(a, b, steps + 2, minutes=10, progress=False)  # the step limit comes first
    assert again.step == steps + 2
    with pytest.raises(DeepfakeError, match="steps or a time budget"):
        again.fit(a, b)


def test_the_edge_term_penalises_a_blur_not_a_brightness_shift():
    import cv2

    rng = np.random.default_rng(3)
    target = cv2.GaussianBlur(rng.random((2, 64, 64, 3), dtype=np.float32).reshape(128, 64, 3), (0, 0), 1.0)
    target = target.reshape(2, 64, 64, 3)
    blurred = np.stack([cv2.GaussianBlur(t, (0, 0), 2.0) for t in target])
    brighter = np.clip(target + 0.1, 0, 1)

    def edge_part(output):
        return float(learn.reconstruction_loss(output, target, None, 0.0, edge=1.0)
                     - learn.reconstruction_loss(output, target, None, 0.0, edge=0.0))

    assert edge_part(blurred) > 0.01 and abs(edge_part(brighter)) < 1e-3
    assert choices.get_recipe("fast").edge == 0.0  # the edge term is a lever to measure, off in the shipped recipes


def test_a_decaying_rate_and_b_first_follow_the_share_of_the_budget(faces, tmp_path):
    assert learn.decayed_rate(4e-4, 0.2, 0.0) == 4e-4  # no decay: a constant rate
    assert [learn.decayed_rate(1.0, p, 0.25) for p in (0.0, 0.75, 0.875, 1.0)] == [1.0, 1.0, 0.5, 0.0]
    with pytest.raises(ValueError, match="share"):
        learn.decayed_rate(1.0, 0.5, 1.5)
    with pytest.raises(DeepfakeError, match="decay"):
        choices.Recipe("bad", decay=-0.1)
    with pytest.raises(DeepfakeError, match="b_first"):
        choices.Recipe("bad", b_first=1.0)  # A's side must train at some point
    _, a, b = faces
    import dataclasses

    # the rate decays over the last half of the budget; B's side trains alone over the first half
    recipe = dataclasses.replace(choices.get_recipe("fast"), decay=0.5, b_first=0.5)
    with pytest.raises(DeepfakeError, match="b_first"):  # a learner's own step trains both sides every time
        train.Trainer(tmp_path / "own", "tiny", recipe=recipe, step=learn.train_both)
    trainer = train.Trainer(tmp_path / "m", "tiny", recipe=recipe, batch_size=4)

    def copied(part):
        return [w.numpy().copy() for w in part.weights]

    def moved(before, part):
        return not all(np.array_equal(x, w.numpy()) for x, w in zip(before, part.weights, strict=True))

    rates, seen = [], [(copied(trainer.model.decoder_a), copied(trainer.model.decoder_b))]

    def on_step(*_):
        rates.append(float(trainer.opt_a.learning_rate.numpy()))
        before_a, before_b = seen[-1]
        seen[-1] = (moved(before_a, trainer.model.decoder_a), moved(before_b, trainer.model.decoder_b))
        seen.append((copied(trainer.model.decoder_a), copied(trainer.model.decoder_b)))

    history = trainer.fit(a, b, 4, save_every=1000, progress=False, on_step=on_step)
    base = choices.PRESETS["tiny"].learning_rate
    assert rates == pytest.approx([base, base, base, base / 2])  # steps 3 and 4: progress 0.5 and 0.75 before them
    assert float(trainer.opt_b.learning_rate.numpy()) == pytest.approx(base / 2)
    # steps 1 and 2 (progress 0 and 0.25 before them): B alone; steps 3 and 4: both sides
    assert seen[:-1] == [(False, True), (False, True), (True, True), (True, True)]
    assert all(np.isfinite(row[1]) and row[1] > 0 for row in history)  # A's loss measured while it waits
    state = json.loads((tmp_path / "m" / "state.json").read_text())
    assert state["learning_rate"] == pytest.approx(base) and state["recipe"]["decay"] == 0.5  # the schedule's start
    resumed = train.Trainer(tmp_path / "m").recipe  # a resumed run keeps the schedule
    assert (resumed.decay, resumed.b_first) == (0.5, 0.5)
