"""The hooks that run a learner's own function in the pipeline (notebooks 04, 05, 07, 08): each is called, and
with the package's own function in it the result is the default path's."""
import numpy as np
import pytest

from deepfake_utils import align, checkpoint, extract, learn, paste, swap, train, video, warp
from deepfake_utils.errors import DeepfakeError


def spy(func, calls: list):
    """``func``, recording each call in ``calls``."""
    def wrapped(*args, **kwargs):
        calls.append(args)
        return func(*args, **kwargs)
    return wrapped


def track_of(sample_faces) -> tuple[list[np.ndarray], dict]:
    meta = extract.load_alignments(sample_faces / "A")
    return [faces[0]["landmarks"] for faces in meta["frames"].values() if faces], meta


def test_alignment_matrix_fit_hook(sample_faces):
    points = np.asarray(track_of(sample_faces)[0][0], float)
    calls = []
    hooked = align.alignment_matrix(points, fit=spy(align.umeyama, calls))
    assert len(calls) == 1 and calls[0][0].shape == (51, 2)
    assert np.array_equal(hooked, align.alignment_matrix(points)) and hooked.shape == (2, 3)
    rigid = align.alignment_matrix(points, fit=lambda s, d: align.umeyama(s, d, estimate_scale=False))
    assert not np.allclose(rigid, hooked)  # the hook's fit is the one used


def test_training_pair_and_pair_dataset_warp_hook(sample_faces):
    faces = train.load_faces(sample_faces / "A")
    calls = []
    hooked = warp.training_pair(faces[0], np.random.default_rng(3), warp=spy(warp.random_warp, calls))
    default = warp.training_pair(faces[0], np.random.default_rng(3))
    assert len(calls) == 1 and all(np.array_equal(h, d) for h, d in zip(hooked, default, strict=True))
    batch = warp.training_batch(faces, np.random.default_rng(4), 3, warp=spy(warp.random_warp, calls))
    assert len(calls) == 4 and np.array_equal(batch[0], warp.training_batch(faces, np.random.default_rng(4), 3)[0])
    calls.clear()
    stream = next(iter(train.pair_dataset(faces, seed=1, side=0, batch_size=2, warp_fn=spy(warp.random_warp, calls))))
    plain = next(iter(train.pair_dataset(faces, seed=1, side=0, batch_size=2)))
    assert len(calls) >= 2 and all(np.array_equal(s.numpy(), p.numpy()) for s, p in zip(stream, plain, strict=True))


def test_trainer_step_hook(sample_faces, tmp_path):
    a, b = train.load_faces(sample_faces / "A"), train.load_faces(sample_faces / "B")
    kw = dict(recipe="original", batch_size=4, mixed_precision=False)  # plain L1: no weights, SSIM or edge terms
    calls = []
    spied = spy(learn.train_both, calls)

    def own_step(*args):
        loss_a, loss_b = spied(*args)
        if loss_a < 0:  # an `if` on a tensor: a learner's own step is traced with AutoGraph (tf.cond)
            loss_a = -loss_a
        return loss_a, loss_b

    hooked = train.Trainer(tmp_path / "hooked", "tiny", step=own_step, **kw)
    hooked.fit(a, b, 3, save_every=0, progress=False)
    default = train.Trainer(tmp_path / "default", "tiny", **kw)
    default.fit(a, b, 3, save_every=0, progress=False)
    assert calls and hooked.step == 3  # traced into the compiled step
    assert np.allclose(np.array(hooked.history), np.array(default.history), atol=1e-6)
    assert all(np.allclose(x, y, atol=1e-6) for x, y in zip(hooked.model.encoder.get_weights(),
                                                             default.model.encoder.get_weights(), strict=True))


def test_composite_and_convert_paste_hook(sample_video, sample_faces, tiny_model, tmp_path):
    model = checkpoint.load(tiny_model)
    track, _ = track_of(sample_faces)
    frame = video.read_frames(sample_video, max_frames=1)[0]
    face = paste.predict(model, paste.model_input(frame, track[0], 64, model.coverage)[None])[0]
    calls = []
    hooked = paste.composite(frame, track[0], face, coverage=model.coverage, paste=spy(paste.paste_face, calls))
    assert len(calls) == 1 and np.array_equal(hooked, paste.composite(frame, track[0], face, coverage=model.coverage))
    calls.clear()
    kw = dict(alignments=sample_faces / "A", max_frames=3, progress=False)
    swap.convert(sample_video, model, tmp_path / "hooked.mp4", paste=spy(paste.paste_face, calls), **kw)
    swap.convert(sample_video, model, tmp_path / "default.mp4", **kw)
    assert len(calls) == 3
    assert all(np.array_equal(h, d) for h, d in zip(video.read_frames(tmp_path / "hooked.mp4"),
                                                    video.read_frames(tmp_path / "default.mp4"), strict=True))


def test_yours_or_runs_the_package_function_in_place_of_a_stub_or_a_raising_one(capsys):
    from deepfake_utils.course.notebook import yours_or

    def stub(x):
        raise NotImplementedError

    def broken(x):
        return x[5]

    def ours(x):
        return x

    assert yours_or(stub, ours, [1]) == (ours, "the package's (yours is a stub)")
    assert "still the stub" in capsys.readouterr().out
    assert yours_or(broken, ours, [1]) == (ours, "the package's (yours raised)")
    assert "IndexError" in capsys.readouterr().out
    assert yours_or(len, ours, [1]) == (len, "yours")


def test_a_step_of_your_own_runs_on_one_device(tmp_path):
    class TwoReplicas:  # stands in for a MirroredStrategy over two GPUs
        num_replicas_in_sync = 2

    with pytest.raises(DeepfakeError, match="one device"):
        train.Trainer(tmp_path / "m", "tiny", step=learn.train_both, strategy=TwoReplicas())


def test_extract_fit_hook(sample_video, sample_faces, tmp_path):
    from deepfake_utils.fileio import read_image

    calls = []
    hooked = extract.extract(sample_video, tmp_path / "faces", max_frames=3, fit=spy(align.umeyama, calls),
                             progress=False)
    default = extract.load_alignments(sample_faces / "A")  # the same video's first 24 frames, the default fit
    assert len(calls) >= 3
    for key, found in hooked["frames"].items():
        assert np.allclose(found[0]["matrix"], default["frames"][key][0]["matrix"])
        assert np.array_equal(read_image(tmp_path / "faces" / found[0]["face"]),
                              read_image(sample_faces / "A" / default["frames"][key][0]["face"]))
