"""A generic face autoencoder, trained once on thousands of people, that a new pair starts from.

DeepFaceLab's *pretrain* mode trains its model on a large generic face set before any pair: the encoder
learns what faces have in common (pose, light, where the eyes and mouth are) and the decoder learns to
paint *a* face, so a new pair only has to learn its two people. The course does the same with the sample
data's ``pretrain`` split (one LFW photo each of 5 334 people who are never a swap or gallery identity),
extracted with our own pipeline and trained with our own trainer (A and B both the generic set):

    python -m deepfake_utils pretrain out/pretrain --minutes 20 --export deepfake_utils/weights/generic-tiny.npz

The weights travel as a small float16 ``.npz`` beside a ``.json`` that records its sha256 and how it was made
(command, data, learning rate, batch size, precision, steps, minutes, machine); ``load_weights`` refuses a file whose
sha256 differs. The shipped ``generic-tiny`` was pretrained at 2e-4 in float32, before the ``tiny`` preset's rate
doubled: ``--learning-rate 2e-4`` trains it that way again.

The known trap, measured by ``bench pairs --init``: a generic decoder reproduces *its input's* identity, so
a pair whose decoder B starts from it can look like A for a while. ``initialise`` can therefore start the
encoder alone (``parts="encoder"``) or the encoder and both decoders (``"all"``).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np

from .errors import DeepfakeError, InvalidArgument
from .fileio import write_json_atomic

#: Where the weights the project trained itself are kept (small files, with their sha256 and recipe).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
#: What ``initialise`` can start from the generic model: the encoder alone, or the encoder and both decoders.
INIT_PARTS = ("encoder", "all")


def pretrain_faces(out_dir: str | os.PathLike, n: int | None = None, *, progress: bool = True) -> Path:
    """The generic face set (the first ``n`` pretraining identities, one photo each) as aligned faces in
    ``out_dir``/faces, extracted as any photo folder is (resumes)."""
    from . import data
    from .extract import extract

    out_dir = Path(out_dir)
    photos_dir = out_dir / "photos"
    photos_dir.mkdir(parents=True, exist_ok=True)
    for path in data.fetch_many(data.pretrain_files(n), desc="pretraining photos"):
        link = photos_dir / path.name  # one folder of links: the photos live in one folder per person
        if not link.exists():
            link.symlink_to(path)
    extract(photos_dir, out_dir / "faces", progress=progress)
    return out_dir / "faces"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def probe_faces(size: int = 64, n: int = 2) -> np.ndarray:
    """A fixed input (smooth seeded noise, n faces of size px, float 0..1) whose reconstruction is recorded with
    the weights, so that a loaded file can be checked to paint what the model it was saved from painted."""
    import cv2

    rng = np.random.default_rng(0)
    coarse = rng.random((n, 8, 8, 3)).astype(np.float32)
    return np.stack([cv2.resize(c, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1) for c in coarse])


def probe_output(model) -> np.ndarray:
    """Side A's reconstruction of ``probe_faces``, averaged over 8x8 px blocks: a small fingerprint."""
    size = model.preset.size
    out = np.asarray(model.reconstruct(probe_faces(size), "a"), np.float32)
    return out.reshape(out.shape[0], 8, size // 8, 8, size // 8, 3).mean(axis=(2, 4))


def save_weights(model, path: str | os.PathLike, about: dict) -> Path:
    """The generic model's encoder and decoder A as float16 arrays in ``path`` (.npz), and beside it a .json
    with its preset, sha256 and ``about`` (how it was made)."""
    path = Path(path)
    parts = {"encoder": model.encoder_a, "decoder": model.decoder_a}
    arrays = {f"{name}/{i}": w.astype(np.float16) for name, part in parts.items()
              for i, w in enumerate(part.get_weights())}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    blob = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    part.write_bytes(blob)
    os.replace(part, path)
    meta = {"preset": model.preset.name, "file": path.name, "sha256": _sha256(blob), "bytes": len(blob),
            "parameters": int(sum(p.count_params() for p in parts.values())),
            "probe": np.round(probe_output(model), 4).tolist(), **about}
    write_json_atomic(path.with_suffix(".json"), meta)
    return path


def weights_path(name: str | os.PathLike) -> Path:
    """A weights file by name in the package's weights folder (e.g. ``generic-tiny``), or by path."""
    path = Path(name)
    if path.suffix != ".npz":
        path = WEIGHTS_DIR / f"{name}.npz"
    if not path.is_file():
        known = sorted(p.stem for p in WEIGHTS_DIR.glob("*.npz")) if WEIGHTS_DIR.is_dir() else []
        raise DeepfakeError(f"{name}: no such pretrained weights file; known: {known or 'none'}")
    return path


def load_weights(name: str | os.PathLike) -> tuple[dict[str, list[np.ndarray]], dict]:
    """The generic model's weights by part (float32) and what its .json says; refuses a file whose sha256
    is not the recorded one."""
    path = weights_path(name)
    meta_path = path.with_suffix(".json")
    if not meta_path.is_file():
        raise DeepfakeError(f"{path}: its record {meta_path.name} is missing; the weights cannot be checked")
    meta = json.loads(meta_path.read_text())
    blob = path.read_bytes()
    if _sha256(blob) != meta.get("sha256"):
        raise DeepfakeError(f"{path}: sha256 {_sha256(blob)} is not the recorded {meta.get('sha256')}; the file "
                            "is damaged or was changed without its record")
    with np.load(io.BytesIO(blob)) as saved:
        weights: dict[str, list[np.ndarray]] = {}
        for key in sorted(saved.files, key=lambda k: (k.split("/")[0], int(k.split("/")[1]))):
            weights.setdefault(key.split("/")[0], []).append(saved[key].astype(np.float32))
    return weights, meta


def initialise(model, name: str | os.PathLike = "generic-tiny", parts: str = "all") -> dict:
    """Start a new model from the generic one: its encoder (``parts="encoder"``), or its encoder and, for both
    decoders, the generic decoder (``"all"``); returns the weights file's record."""
    if parts not in INIT_PARTS:
        raise InvalidArgument(f"parts must be one of {INIT_PARTS}, not {parts!r}")
    if model.preset.shared != "encoder":
        raise DeepfakeError("the generic model starts the classic design (one encoder, two decoders) only")
    weights, meta = load_weights(name)
    if meta["preset"] != model.preset.name:
        raise DeepfakeError(f"{name}: holds a {meta['preset']!r} model, not a {model.preset.name!r} one")
    model.encoder_a.set_weights(weights["encoder"])
    if parts == "all":
        model.decoder_a.set_weights(weights["decoder"])
        model.decoder_b.set_weights(weights["decoder"])
    return meta
