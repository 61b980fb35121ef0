import json

import numpy as np
import pytest

from deepfake_utils import checkpoint, model
from deepfake_utils.errors import DeepfakeError


@pytest.mark.parametrize("name,params,size,code", [
    ("original", 82_062_470, 64, (8, 8, 512)),
    ("lowmem", 32_909_510, 64, (8, 8, 256)),
    ("tiny", 2_644_390, 64, (8, 8, 64)),
    ("128", 127_156_358, 128, (8, 8, 512)),
])
def test_presets_shapes_and_parameter_counts(name, params, size, code):
    m = model.build(name)
    assert m.count_params() == params
    assert m.encoder.input_shape == (None, size, size, 3)
    assert m.encoder.output_shape == (None, *code)
    assert m.decoder_a.output_shape == m.decoder_b.output_shape == (None, size, size, 3)


def test_original_vs_packt_upsampling_variant():
    assert model.build("original").count_params() == 82_062_470  # about 82.1 M
    assert model.build("original", upscale="upsample").count_params() == 58_612_742  # about 58.6 M


def test_pixel_shuffle_moves_channels_into_space():
    x = np.arange(2 * 2 * 8, dtype=np.float32).reshape(1, 2, 2, 8)
    y = np.asarray(model.PixelShuffle()(x))
    assert y.shape == (1, 4, 4, 2)
    assert sorted(y.ravel()) == sorted(x.ravel())  # a rearrangement, nothing lost


def test_pixel_shuffle_is_depth_to_space():
    import tensorflow as tf

    x = np.random.default_rng(1).random((3, 5, 7, 12), dtype=np.float32)
    assert np.array_equal(np.asarray(model.PixelShuffle()(x)), tf.nn.depth_to_space(x, 2).numpy())


def test_swap_uses_the_other_decoder():
    m = model.build("tiny")
    faces = np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32)
    out = m.swap(faces, to="b").numpy()
    assert out.shape == (2, 64, 64, 3) and 0 <= out.min() and out.max() <= 1
    assert np.allclose(out, m.decoder_b(m.encoder(faces)).numpy(), atol=1e-6)
    assert m.autoencoder("a").count_params() == m.encoder.count_params() + m.decoder_a.count_params()


def test_bad_presets_are_clear_errors():
    with pytest.raises(DeepfakeError, match="unknown model preset"):
        model.build("huge")
    with pytest.raises(DeepfakeError, match="upscales"):
        model.build("tiny", size=128)


# --- the mirror image: two encoders, one shared decoder (FaceReplace) ----------------------------------
def test_shared_decoder_has_two_encoders_and_one_decoder():
    classic, mirror = model.build("tiny"), model.build("tiny", shared="decoder")
    assert classic.encoder_a is classic.encoder_b and classic.decoder_a is not classic.decoder_b
    assert mirror.decoder_a is mirror.decoder_b and mirror.encoder_a is not mirror.encoder_b
    assert list(mirror.parts()) == ["encoder_a", "encoder_b", "decoder"]
    assert list(classic.parts()) == ["encoder", "decoder_a", "decoder_b"]  # the names checkpoints always had
    encoder, decoder = classic.encoder.count_params(), classic.decoder_a.count_params()
    assert (encoder, decoder) == (2_161_856, 241_267)  # the tiny encoder holds most of the weights
    assert classic.count_params() == encoder + 2 * decoder == 2_644_390
    assert mirror.count_params() == 2 * encoder + decoder == 4_564_979  # the same blocks, counted once each
    for m in (classic, mirror):
        assert m.encoder_of("a").output_shape == m.encoder_of("b").output_shape == (None, 8, 8, 64)
        assert m.decoder("a").output_shape == (None, 64, 64, 3)
    # what each side trains: the shared part is in both lists, the rest in one only
    ids = {side: {id(v) for v in mirror.trainable_variables(side)} for side in "ab"}
    assert ids["a"] & ids["b"] == {id(v) for v in mirror.decoder_a.trainable_variables}
    assert not ids["a"] & {id(v) for v in mirror.encoder_b.trainable_variables}
    assert ({id(v) for v in classic.trainable_variables("a")} & {id(v) for v in classic.trainable_variables("b")}
            == {id(v) for v in classic.encoder.trainable_variables})
    with pytest.raises(DeepfakeError, match="one encoder per identity"):
        mirror.encoder  # noqa: B018  (there is no single encoder to return)


def test_the_mirror_swap_is_autoencoder_a_and_the_classic_swap_is_not():
    faces = np.random.default_rng(0).random((2, 64, 64, 3), dtype=np.float32)
    mirror = model.build("tiny", shared="decoder")
    out = mirror.swap(faces, to="b").numpy()
    assert np.allclose(out, mirror.decoder_a(mirror.encoder_a(faces)).numpy(), atol=1e-6)  # A's encoder, the decoder
    assert np.allclose(out, mirror.reconstruct(faces, "a").numpy(), atol=1e-6)  # i.e. A's own autoencoder
    assert not np.allclose(out, mirror.decoder_b(mirror.encoder_b(faces)).numpy(), atol=1e-4)  # not B's encoder
    assert np.allclose(mirror.swap(faces, to="a").numpy(), mirror.reconstruct(faces, "b").numpy(), atol=1e-6)
    classic = model.build("tiny")
    assert not np.allclose(classic.swap(faces, to="b").numpy(), classic.reconstruct(faces, "a").numpy(), atol=1e-4)
    # autoencoder B fed A's faces: the classic's swap itself, but another path through the mirror image
    assert np.allclose(classic.via_encoder("b").swap(faces).numpy(), classic.swap(faces).numpy(), atol=1e-6)
    through_b = mirror.via_encoder("b")
    assert np.allclose(through_b.swap(faces).numpy(), mirror.reconstruct(faces, "b").numpy(), atol=1e-6)
    assert through_b.encoder_of("a") is mirror.encoder_b and through_b.decoder_a is mirror.decoder_a
    with pytest.raises(DeepfakeError, match="side must be"):
        mirror.swap(faces, to="c")


def test_an_unknown_shared_part_is_a_clear_error():
    with pytest.raises(DeepfakeError, match="shared must be 'encoder'"):
        model.build("tiny", shared="both")


def test_shared_decoder_trains_saves_loads_and_converts(sample_faces, sample_video, tmp_path):
    from deepfake_utils import swap, train
    from deepfake_utils.errors import DeepfakeError as Error

    a, b = train.load_faces(sample_faces / "A"), train.load_faces(sample_faces / "B")
    trainer = train.Trainer(tmp_path / "m", model.get_preset("tiny", shared="decoder"), recipe="original", batch_size=4)
    assert "two encoders, one shared decoder" in trainer.summary()
    before = {name: part.get_weights() for name, part in trainer.model.parts().items()}
    trainer.fit(a, b, 2, save_every=2, progress=False)
    for name, part in trainer.model.parts().items():  # each step trains A's encoder, B's and the decoder
        assert not all(np.array_equal(x, y) for x, y in zip(before[name], part.get_weights(), strict=True)), name
    state = json.loads((tmp_path / "m" / "state.json").read_text())
    assert state["preset"]["shared"] == "decoder"
    loaded = checkpoint.load(tmp_path / "m")
    assert loaded.preset.shared == "decoder" and loaded.decoder_a is loaded.decoder_b
    for name, part in loaded.parts().items():
        assert all(np.array_equal(x, y) for x, y in zip(part.get_weights(), trainer.model.parts()[name].get_weights(),
                                                        strict=True)), name
    resumed = train.Trainer(tmp_path / "m")  # the design comes from state.json
    assert resumed.step == 2 and resumed.preset.shared == "decoder"
    with pytest.raises(Error, match="shared decoder, not 'tiny' with a shared encoder"):
        train.Trainer(tmp_path / "m", "tiny")
    result = swap.convert(sample_video, loaded, tmp_path / "s.mp4", alignments=sample_faces / "A", max_frames=3,
                          progress=False)
    assert result.frames == 3 and result.swapped == 3


def test_model_folders_from_before_the_option_load_as_the_classic_design(tiny_model, tmp_path):
    import shutil


    folder = tmp_path / "old"
    shutil.copytree(tiny_model, folder)
    state = json.loads((folder / "state.json").read_text())
    del state["preset"]["shared"]  # as written before the option existed
    (folder / "state.json").write_text(json.dumps(state))
    old, new = checkpoint.load(folder), checkpoint.load(tiny_model)
    assert old.preset.shared == "encoder" and list(old.parts()) == ["encoder", "decoder_a", "decoder_b"]
    assert all(np.array_equal(x, y) for x, y in zip(old.encoder.get_weights() + old.decoder_b.get_weights(),
                                                    new.encoder.get_weights() + new.decoder_b.get_weights(),
                                                    strict=True))
