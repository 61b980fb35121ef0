"""Recompute deepfake_utils/mean_face.txt: the Procrustes mean of dlib landmarks over the LFW sample photos.

Run from the repo root:  .venv/bin/python scripts/make_mean_face.py
(with DEEPFAKE_DATA_MIRROR pointing at a local copy of the data, or online).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from deepfake_utils import align, data, detect, landmarks
from deepfake_utils.fileio import read_image


def main() -> None:
    shapes = []
    for name in data.IDENTITIES:
        for path in tqdm(data.identity_photos(name), desc=name):
            image = read_image(path)
            box = detect.pick_face(detect.detect_faces(image, upsample=1), image.shape)
            if box is not None:
                shapes.append(landmarks.predict_landmarks(image, box)[align.FIT_POINTS])
    mean = align.mean_shape(np.stack(shapes))
    out = Path(__file__).resolve().parent.parent / "deepfake_utils" / "mean_face.txt"
    header = f"mean face: Procrustes mean of dlib landmarks 17..67 over {len(shapes)} LFW photos; x y in [0, 1]"
    np.savetxt(out, mean, fmt="%.6f", header=header)
    print(f"wrote {out} from {len(shapes)} faces")


if __name__ == "__main__":
    main()
