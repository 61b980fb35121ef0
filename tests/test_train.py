import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from deepfake_utils import train
from deepfake_utils.errors import DeepfakeError


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


def test_a_few_steps_lower_the_loss_on_real_faces(faces, tmp_path):
    _, a, b = faces
    trainer = train.Trainer(tmp_path / "m", "tiny", batch_size=8)
    history = np.array(trainer.fit(a, b, 40, save_every=40, progress=False))
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
    data_file = next(ckpt.glob("ckpt.data-*"))
    data_file.write_bytes(data_file.read_bytes()[:100])
    with pytest.raises(train.CheckpointError, match="ckpt-000002"):
        train.Trainer(tmp_path / "m")
    shutil.rmtree(ckpt)
    with pytest.raises(train.CheckpointError, match="missing.*ckpt-000001"):
        train.Trainer(tmp_path / "m")
    (tmp_path / "m" / "state.json").write_text("{broken")
    with pytest.raises(train.CheckpointError, match="unreadable"):
        train.Trainer(tmp_path / "m")
    with pytest.raises(train.CheckpointError, match="not 'original'"):
        (tmp_path / "m2").mkdir()
        train.Trainer(tmp_path / "m2", "tiny", batch_size=4).save()
        train.Trainer(tmp_path / "m2", "original")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(faces, tmp_path):
    _, a, b = faces
    trainer = train.Trainer(tmp_path / "m", "tiny", batch_size=4)
    trainer.fit(a, b, 2, save_every=2, progress=False)
    for v in trainer.model.decoder_a.trainable_variables[-2:]:
        v.assign(v * np.nan)  # poison the weights: the next loss is NaN
    with pytest.raises(train.TrainingError, match="step 2"):
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


def test_cli_train(faces, tmp_path):
    root, _, _ = faces
    proc = subprocess.run([sys.executable, "-m", "deepfake_utils", "train", str(root / "A"), str(root / "B"),
                           str(tmp_path / "m"), "--preset", "tiny", "--steps", "3", "--batch-size", "4"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "steps 0 -> 3" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "deepfake_utils", "train", str(root / "A"), str(root / "B"),
                           str(tmp_path / "m"), "--steps", "4"], capture_output=True, text=True)
    assert "steps 3 -> 4" in proc.stdout, proc.stderr


def test_load_model_gives_the_trained_weights(tiny_model, tmp_path):
    model = train.load_model(tiny_model)
    trainer = train.Trainer(tiny_model)
    assert all(np.array_equal(x, y) for x, y in zip(model.encoder.get_weights() + model.decoder_b.get_weights(),
                                                     trainer.model.encoder.get_weights()
                                                     + trainer.model.decoder_b.get_weights(), strict=True))
    with pytest.raises(train.CheckpointError, match="no trained model"):
        train.load_model(tmp_path)
