"""Stage 9: the GAN's networks, losses, trainer (checkpoints and exact resume shared with the autoencoder),
the command line and the learned-mask conversion."""
import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from deepfake_utils import checkpoint, cli, gan, gan_train, learn, paste, train
from deepfake_utils import model as model_module
from deepfake_utils.course import checks
from deepfake_utils.errors import DeepfakeError


@pytest.mark.parametrize("name,total,generator,discriminator,code", [
    ("standard", 73_230_256, 71_734_574, 747_841, (8, 8, 512)),  # faceswap-GAN v2.2: about 73 M
    ("lite", 12_460_448, 12_081_246, 189_601, (8, 8, 256)),  # about 12 M
    ("tiny", 3_059_516, 2_680_314, 189_601, (8, 8, 64)),
])
def test_presets_shapes_and_parameter_counts(name, total, generator, discriminator, code):
    m = gan.build_gan(name)
    assert m.count_params() == total and m.generator_params() == generator
    assert m.disc_a.count_params() == m.disc_b.count_params() == discriminator
    assert m.encoder.output_shape == (None, *code)
    assert m.decoder_a.output_shape == [(None, 64, 64, 3), (None, 64, 64, 1)]  # face and alpha mask
    assert m.disc_a.input_shape == (None, 64, 64, 6) and m.disc_a.output_shape == (None, 8, 8, 1)  # 8x8 verdicts
    attention = {layer.name for part in (m.encoder, m.decoder_a) for layer in part.layers
                 if isinstance(layer, gan.SelfAttention)}
    assert attention == {"standard": {"attn16", "attn8", "attn32", "attn64"}, "lite": {"attn16", "attn8", "attn32",
                                                                                      "attn64"},
                         "tiny": {"attn16", "attn8"}}[name]  # the CPU preset: only at 16x16 and below


def test_self_attention_starts_as_the_identity_and_attends_over_all_positions():
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 32)).astype(np.float32)
    layer = gan.SelfAttention()
    assert np.array_equal(np.asarray(layer(x)), x)  # gamma starts at 0
    attention = np.asarray(layer.attention(x))
    assert attention.shape == (2, 64, 64) and np.allclose(attention.sum(-1), 1, atol=1e-5)
    layer.gamma.assign(1.0)
    assert np.abs(np.asarray(layer(x)) - x).mean() > 1e-3


# --- the checkers of notebook 09's exercises: a right answer passes, a stub is "not done yet", a typical
# mistake fails with a hint that names it
def todo(*args, **kwargs):
    raise NotImplementedError


def test_mixup_lsgan_checker(wrong):
    def right(on_mix, on_fake, lam, weight=0.1):
        return np.mean((on_mix - lam) ** 2), weight * np.mean((on_fake - 1) ** 2)

    assert checks.check_mixup_lsgan(right) and checks.check_mixup_lsgan(todo) is False
    wrong(checks.check_mixup_lsgan, lambda m, f, lam, w=0.1: (np.mean((m - 1) ** 2), w * np.mean((f - 1) ** 2)),
          "lambda itself")  # the mix judged as plain real
    wrong(checks.check_mixup_lsgan, lambda m, f, lam, w=0.1: (np.mean((m - lam) ** 2), np.mean((f - 1) ** 2)),
          "times the weight")


def test_edge_loss_checker(wrong):
    def gradients(x):
        return x[:, 1:, :-1] - x[:, :-1, :-1], x[:, :-1, 1:] - x[:, :-1, :-1]

    def right(output, target):
        (oy, ox), (ty, tx) = gradients(output), gradients(target)
        return np.abs(oy - ty).mean() + np.abs(ox - tx).mean()

    assert checks.check_edge_loss(right) and checks.check_edge_loss(todo) is False
    wrong(checks.check_edge_loss, lambda output, target: np.abs(output - target).mean(),
          "neighbouring pixels, not the pixels")  # plain L1
    wrong(checks.check_edge_loss, lambda o, t: sum(((a - b) ** 2).mean() for a, b in zip(gradients(o), gradients(t),
                                                                                         strict=True)),
          "the two means added")  # squared instead of absolute


def test_self_attention_checker(wrong):
    def right(x, kernel, bias, gamma, squeeze=8, axis=-1):
        n, h, w, c = x.shape
        inner = c // squeeze
        flat = x.reshape(n, h * w, c) @ kernel + bias
        scores = flat[..., :inner] @ flat[..., inner:2 * inner].transpose(0, 2, 1)
        attention = np.exp(scores - scores.max(axis=axis, keepdims=True))
        attention /= attention.sum(axis=axis, keepdims=True)
        return x + gamma * (attention @ flat[..., 2 * inner:]).reshape(x.shape)

    assert checks.check_self_attention(right) and checks.check_self_attention(todo) is False
    wrong(checks.check_self_attention, lambda *a: right(*a, axis=1),
          "softmax along the last axis")  # normalised over the queries
    wrong(checks.check_self_attention, lambda x, k, b, g, s=8: right(x, k, b, g, s) - x,
          "identity")  # the residual forgotten


def _finite_gradient(loss_fn, x) -> bool:
    variable = tf.Variable(x)
    with tf.GradientTape() as tape:
        loss = loss_fn(variable)
    return bool(np.isfinite(tape.gradient(loss, variable).numpy()).all())


def test_each_loss_is_zero_for_identical_inputs_positive_otherwise_with_finite_gradients():
    rng = np.random.default_rng(1)
    a, b = (rng.random((2, 16, 16, 3)).astype(np.float32) for _ in range(2))
    eyes = np.zeros((2, 16, 16, 1), np.float32)
    eyes[:, 4:8, 2:14] = 1
    pairs = {"l1": gan.l1_loss, "edge": learn.edge_loss, "lsgan": gan.lsgan_loss,
             "l1 eyes": lambda x, y: gan.l1_loss(x, y, eyes), "edge eyes": lambda x, y: learn.edge_loss(x, y, eyes)}
    for name, loss in pairs.items():
        assert float(loss(a, a)) == pytest.approx(0, abs=1e-7), name
        assert float(loss(b, a)) > 0.01, name
        assert _finite_gradient(lambda v, loss=loss: loss(v, a), b), name
    assert float(learn.edge_loss(a + 0.3, a)) == pytest.approx(0, abs=1e-6)  # edges, not brightness
    # the mask terms: zero for a mask that needs no correction, positive otherwise
    alpha = rng.random((2, 16, 16, 1)).astype(np.float32)
    assert float(gan.mask_l1(np.zeros_like(alpha))) == 0 and float(gan.mask_l1(alpha)) > 0.1
    assert float(gan.mask_hinge(np.full_like(alpha, 0.6), 0.5)) == 0 and float(gan.mask_hinge(alpha, 0.5)) > 0.01
    assert float(gan.total_variation(np.full_like(alpha, 0.7))) == 0 and float(gan.total_variation(alpha)) > 0.1
    for term in (gan.mask_l1, lambda v: gan.mask_hinge(v, 0.5), gan.total_variation):
        assert _finite_gradient(term, alpha)
    # the perceptual loss's arithmetic, on a stand-in feature network (tests never download ResNet50's weights)
    import keras

    face = keras.Input((224, 224, 3))
    conv = keras.layers.Conv2D(4, 3, strides=4)(face)
    features = keras.Model(face, [conv, keras.layers.Conv2D(4, 3, strides=2)(conv)])
    assert float(gan.perceptual_loss(features, a, a, (1.0, 1.0))) == pytest.approx(0, abs=1e-6)
    assert float(gan.perceptual_loss(features, b, a, (1.0, 1.0))) > 0.01
    assert _finite_gradient(lambda v: gan.perceptual_loss(features, v, a, (1.0, 1.0)), b)


def test_the_perceptual_loss_is_switched_off_offline_with_one_clear_message(monkeypatch):
    def offline(**kwargs):
        assert kwargs["weights"] == "imagenet"  # pretrained or nothing: never random weights
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3] no network")

    monkeypatch.setattr("keras.applications.ResNet50", offline)
    with pytest.warns(gan.DeepfakeWarning, match="perceptual loss off: .*could not be loaded.*no network") as seen:
        assert gan.perceptual_features() is None
    assert len(seen) == 1


def test_schedule_follows_faceswap_gan_in_fractions_of_the_run():
    config = gan.GanConfig()
    assert config.phase(0, 40) == (0.0, False, None, 1.0)
    assert config.phase(8, 40).perceptual and config.phase(8, 40).margin is None
    assert [config.phase(s, 40).margin for s in (12, 16, 20)] == [0.5, 0.2, 0.4]
    assert [config.phase(s, 40).lr_factor for s in (26, 27, 36, 50)] == [1.0, 0.3, 0.1, 0.1]
    with pytest.raises(DeepfakeError, match="start at 0"):
        gan.GanConfig(schedule=(gan.Phase(0.5, False, None, 1.0),))


def test_eye_mask_covers_the_mean_faces_eyes_and_moves_with_each_pair(sample_faces):
    mask = gan.eye_mask()
    eyes = gan.align.mean_face_target()[36 - 17:48 - 17]
    for centre in (eyes[:6].mean(0), eyes[6:].mean(0)):
        assert mask[round(centre[1]), round(centre[0]), 0] == 255
    mouth = gan.align.mean_face_target()[48 - 17:].mean(0)
    assert mask[round(mouth[1]), round(mouth[0]), 0] == 0 and mask[5, 5, 0] == 0
    # the mask takes the pair's own random transform and warp: a face used as its own "mask" comes out as the target
    face = train.load_faces(sample_faces / "A", limit=1)
    plain = next(iter(train.pair_dataset(face, seed=3, side=0, batch_size=2)))
    warped, target, moved = next(iter(train.pair_dataset(face, seed=3, side=0, batch_size=2, mask=face[0])))
    assert np.array_equal(warped, plain[0]) and np.array_equal(target, plain[1])  # the same pairs as without it
    assert moved.shape == (2, 64, 64, 1) and np.allclose(moved[..., 0], target[..., 0], atol=1e-6)


@pytest.fixture(scope="module")
def gan_dir(sample_faces, tiny_model, tmp_path_factory):
    """A tiny GAN warm-started from the tiny autoencoder and trained 3 steps through the command line (a
    checkpoint after each: the last two are kept)."""
    model = tmp_path_factory.mktemp("gan") / "m"
    assert cli.main(["train", str(sample_faces / "A"), str(sample_faces / "B"), str(model), "--model", "gan",
                     "--steps", "3", "--batch-size", "4", "--save-every", "1", "--warm-start", str(tiny_model)]) == 0
    return model


def test_warm_start_paints_the_autoencoders_faces(tiny_model, gan_dir):
    autoencoder = checkpoint.load(tiny_model)
    model = gan.build_gan("tiny")
    report = gan.warm_start(model, autoencoder)
    assert len(report["copied"]) == 15  # encoder: 4 convs, 2 dense, 1 upscale; decoders: 3 upscales, to_rgb each
    assert all(name.split("/")[1].startswith(("attn", "res64", "to_alpha")) for name in report["fresh"])
    faces = np.random.default_rng(2).random((3, 64, 64, 3), dtype=np.float32)
    for side in "ab":  # attention starts at gamma 0 and the residual branch at zero: the autoencoder's faces
        # (two different networks, whose kernels may sum in another order: within float32 rounding, not bit for bit)
        np.testing.assert_allclose(np.asarray(model.reconstruct(faces, side)),
                                   np.asarray(autoencoder.reconstruct(faces, side)), atol=1e-5)
    with pytest.raises(DeepfakeError, match="starts from a 'lowmem' autoencoder, not a 'tiny'"):
        gan.warm_start(gan.build_gan("lite"), autoencoder)
    with pytest.raises(DeepfakeError, match="shared decoder cannot start it"):
        gan.warm_start(model, model_module.build("tiny", shared="decoder"))
    state = json.loads((gan_dir / "state.json").read_text())
    assert state["model"] == "gan" and state["warm_start"]["copied"] == 15
    assert state["coverage"] == autoencoder.coverage and state["colour_shift"] == list(
        autoencoder.colour_shift)  # the warm start takes over the autoencoder's framing and colours


def test_gan_steps_on_real_faces_change_the_weights_keep_losses_finite_and_resume_exactly(sample_faces, tiny_model,
                                                                                         gan_dir, tmp_path, capsys):
    import keras

    from deepfake_utils.fileio import read_image

    a, b = train.load_faces(sample_faces / "A"), train.load_faces(sample_faces / "B")
    state = json.loads((gan_dir / "state.json").read_text())
    assert state["step"] == 3 and state["total_steps"] == 3 and len(state["history"][0]) == 7
    assert np.isfinite(np.array(state["history"])).all()
    assert read_image(gan_dir / "preview.png").shape == (4 * 64, 8 * 64, 3)  # A, A->A, A->B, mask | B, ...
    straight = gan_train.GanTrainer(gan_dir)  # the 3 steps straight through (loaded, not trained again)
    keras.utils.set_random_seed(state["seed"])
    fresh = gan.build_gan("tiny")  # the trainer's initial discriminators: the same seed
    autoencoder = checkpoint.load(tiny_model)  # where the generator started (its copied layers)
    for trained, start in [(straight.model.encoder.get_layer(n), autoencoder.encoder.get_layer(n))
                           for n in ("conv1", "bottleneck", "up0_conv")] + [(straight.model.disc_b, fresh.disc_b)]:
        # the generator and the discriminators learned
        assert np.mean([np.abs(x - y).mean() for x, y in zip(trained.get_weights(), start.get_weights(),
                                                               strict=True)]) > 1e-6
    # the same run, killed after step 2 (its newest checkpoint lost) and resumed: the same weights and losses
    resumed_dir = shutil.copytree(gan_dir, tmp_path / "resumed")
    shutil.rmtree(resumed_dir / "ckpt-000003")
    with pytest.warns(gan.DeepfakeWarning, match="fell back to the previous checkpoint, ckpt-000002"):
        resumed = gan_train.GanTrainer(resumed_dir)
    assert resumed.step == 2 and resumed.total_steps == 3
    assert resumed.phase().lr_factor == 0.3 and resumed.opt_d["b"].learning_rate.numpy() == pytest.approx(
        0.3 * 2 * resumed.learning_rate)  # the schedule's late learning rate (from 2/3), restored with the step
    resumed.fit(a, b, 3, save_every=0, progress=False)
    def state_of(trainer):  # every network's weights and every optimiser's moments and step count
        nets = [w for n in ("encoder", "decoder_a", "decoder_b", "disc_a", "disc_b")
                for w in getattr(trainer.model, n).weights]
        opts = [v for o in (*trainer.opt_g.values(), *trainer.opt_d.values()) for v in o.variables
                if "learning_rate" not in v.name]  # (the rate is set per step by the schedule)
        return [np.asarray(v) for v in nets + opts]

    for x, y in zip(state_of(straight), state_of(resumed), strict=True):
        np.testing.assert_array_equal(x, y)
    assert resumed.history == straight.history
    with pytest.raises(checkpoint.CheckpointError, match="holds a GAN, not an autoencoder"):
        train.Trainer(resumed_dir)
    # the command line finds the kind of model in the folder: a GAN resumes without --model gan
    assert cli.main(["train", str(sample_faces / "A"), str(sample_faces / "B"), str(gan_dir), "--steps", "3"]) == 0
    printed = capsys.readouterr().out
    assert "training tiny GAN preset, batch 4" in printed and "steps 3 -> 3; G A" in printed


def test_learned_mask_composites_inside_the_frame():
    frame = np.full((200, 240, 3), 40, np.uint8)
    frame[:, 120:] = 200
    points = checks._face_points(5) + [40, 10]
    face = np.full((64, 64, 3), (250, 30, 30), np.uint8)
    alpha = np.zeros((64, 64), np.float32)
    alpha[:, :32] = 1  # the left half is the new face, the right half shows the frame
    options = paste.Options(colour="none", blur=0.0, smooth=False)
    out = paste.composite(frame, points, face, options, alpha=alpha)
    matrix = paste.model_matrix(points, 64)
    rect = paste.blend.rect_mask(frame.shape, matrix, 64)
    square, outside = rect > 0.999, rect == 0
    left = square & (cv2_warp_back(alpha, matrix, frame.shape) > 0.999)
    right = square & (cv2_warp_back(1 - alpha, matrix, frame.shape) > 0.999)
    assert left.sum() > 500 and right.sum() > 500 and outside.sum() > 10000
    assert np.array_equal(out[outside], frame[outside])  # nothing changes outside the model's square
    assert np.array_equal(out[right], frame[right])  # alpha 0: the frame
    assert np.abs(out[left].astype(int) - face[0, 0]).max() <= 1  # alpha 1: the new face
    with pytest.raises(DeepfakeError, match="learned mask is the GAN's"):
        paste.composite(frame, points, face, paste.Options(mask="learned"))


def cv2_warp_back(mask, matrix, shape):
    import cv2

    return cv2.warpAffine(mask, matrix, (shape[1], shape[0]), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)


def test_convert_picks_the_learned_mask_for_a_gan_folder(sample_video, sample_faces, gan_dir, tiny_model, tmp_path,
                                                          capsys):
    model = checkpoint.load(gan_dir)
    assert isinstance(model, gan.GanModel) and model.disc_a is None and model.learned_mask
    faces, alphas = paste.predict_with_mask(model, np.zeros((2, 64, 64, 3), np.uint8))
    assert faces.shape == (2, 64, 64, 3) and faces.dtype == np.uint8 and alphas.shape == (2, 64, 64)
    out = tmp_path / "gan.mp4"
    assert cli.main(["convert", str(sample_video), str(gan_dir), str(out), "--alignments", str(sample_faces / "A"),
                     "--max-frames", "3"]) == 0
    assert "3/3 frames swapped" in capsys.readouterr().out
    assert cli.main(["convert", str(sample_video), str(tiny_model), str(tmp_path / "ae.mp4"), "--max-frames", "1",
                     "--mask", "learned"]) == 1
    assert "--mask learned needs a GAN model" in capsys.readouterr().err


def test_cli_train_checks_the_gan_options_before_loading_anything(sample_faces, tmp_path, capsys):
    base = ["train", str(sample_faces / "A"), str(sample_faces / "B"), str(tmp_path / "m")]
    for extra, expected in [(["--model", "gan", "--steps", "2", "--recipe", "fast"], "--recipe is an option of the "
                             "autoencoder"),
                            (["--model", "gan", "--steps", "2", "--preset", "original"], "a GAN preset is one of"),
                            (["--model", "autoencoder", "--steps", "2", "--perceptual"], "--perceptual is an option "
                             "of the GAN")]:
        assert cli.main(base + extra) == 1
        assert expected in capsys.readouterr().err
    assert cli.main(base + ["--model", "gan", "--minutes", "1"]) == 1
    assert "a new GAN needs --steps" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
