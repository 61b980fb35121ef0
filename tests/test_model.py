import numpy as np
import pytest

from deepfake_utils import model
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
