"""The generic face model: saved small, checked by sha256, and loaded into a new model as it was saved."""
import json

import numpy as np
import pytest

from deepfake_utils import model as model_module
from deepfake_utils import pretrain
from deepfake_utils.errors import DeepfakeError


def _outputs(m) -> np.ndarray:
    return np.asarray(m.reconstruct(pretrain.probe_faces(m.preset.size), "a"))


def test_saved_weights_load_into_a_new_model_and_paint_the_same_faces(tmp_path):
    import keras

    keras.utils.set_random_seed(3)
    generic = model_module.build("tiny")
    rng = np.random.default_rng(3)  # a fresh model paints flat grey: give it weights that paint something
    for part in (generic.encoder_a, generic.decoder_a):
        part.set_weights([w * 1.3 + rng.normal(0, 0.02, w.shape).astype(np.float32) for w in part.get_weights()])
    path = pretrain.save_weights(generic, tmp_path / "generic-tiny.npz", {"steps": 0, "faces": 0, "identities": 0})
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["preset"] == "tiny" and meta["bytes"] == path.stat().st_size < 15e6  # float16: small
    fresh = model_module.build("tiny")
    assert np.abs(_outputs(fresh) - _outputs(generic)).max() > 0.05  # another model paints otherwise
    pretrain.initialise(fresh, path, "all")
    # the same faces as the model saved, within float16's rounding of the weights
    assert np.allclose(_outputs(fresh), _outputs(generic), atol=0.02)
    assert np.allclose(np.asarray(fresh.reconstruct(pretrain.probe_faces(), "b")), _outputs(generic), atol=0.02)
    assert np.allclose(pretrain.probe_output(fresh), meta["probe"], atol=0.02)
    encoder_only = model_module.build("tiny")
    before = encoder_only.decoder_b.get_weights()
    pretrain.initialise(encoder_only, path, "encoder")
    assert all(np.array_equal(x, y) for x, y in zip(before, encoder_only.decoder_b.get_weights(), strict=True))
    assert np.allclose(encoder_only.encoder_a.get_weights()[0], generic.encoder_a.get_weights()[0], atol=1e-3)


def test_damaged_or_mismatched_weights_are_refused(tmp_path):
    generic = model_module.build("tiny")
    path = pretrain.save_weights(generic, tmp_path / "w.npz", {})
    blob = bytearray(path.read_bytes())
    blob[100] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(DeepfakeError, match="sha256"):
        pretrain.load_weights(path)
    with pytest.raises(DeepfakeError, match="no such pretrained weights"):
        pretrain.load_weights("nonesuch")
    good = pretrain.save_weights(generic, tmp_path / "good.npz", {})
    with pytest.raises(DeepfakeError, match="holds a 'tiny' model, not a 'lowmem'"):
        pretrain.initialise(model_module.build("lowmem"), good)
    with pytest.raises(DeepfakeError, match="parts must be one of"):
        pretrain.initialise(generic, good, "decoder")


@pytest.mark.parametrize("path", sorted(pretrain.WEIGHTS_DIR.glob("*.npz")), ids=lambda p: p.name)
def test_every_shipped_weights_file_matches_its_record(path):
    weights, meta = pretrain.load_weights(path)  # checks the sha256 against the record
    assert meta["file"] == path.name and meta["bytes"] == path.stat().st_size <= 15e6
    for field in ("command", "data", "identities", "faces", "steps", "train_minutes", "machine", "date"):
        assert meta.get(field) not in (None, ""), field  # how it was made is recorded
    m = model_module.build(meta["preset"])
    pretrain.initialise(m, path, "all")
    assert np.allclose(pretrain.probe_output(m), meta["probe"], atol=0.01)  # it paints what it painted when saved


def test_the_pretrain_command_exports_weights_that_record_how_they_were_made(tmp_path, capsys):
    from deepfake_utils import cli, train

    out, path = tmp_path / "p", tmp_path / "generic.npz"
    assert cli.main(["pretrain", str(out), "--steps", "1", "--learning-rate", "0"]) == 1
    assert "--learning-rate 0.0: must be positive" in capsys.readouterr().err
    assert cli.main(["pretrain", str(out), "--identities", "3", "--steps", "2", "--learning-rate", "1e-4",
                     "--export", str(path)]) == 0
    _, meta = pretrain.load_weights(path)  # its sha256 checked against the record
    assert meta["command"].endswith("--learning-rate 1e-4 --export " + str(path))
    assert (meta["identities"], meta["steps"], meta["learning_rate"], meta["batch_size"]) == (3, 2, 1e-4, 16)
    assert meta["precision"] == ("bfloat16" if train.bfloat16_by_default() else "float32")  # the CPU's default
    m = model_module.build("tiny")
    pretrain.initialise(m, path, "all")
    assert np.allclose(pretrain.probe_output(m), meta["probe"], atol=0.01)
