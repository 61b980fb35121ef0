"""Swap quality, measured so that a blur cannot pass for a swap.

- **Identity as retrieval**: every swapped frame's face is encoded with face_recognition (128-d) and
  compared with a gallery of identity centres: A (the source video's own face), B (held-out photos of
  the target) and eleven other LFW people. *ID retrieval* is the share of frames whose nearest identity
  is B; *recognised as B* the share within face_recognition's 0.6 tolerance of B and nearer B than A.
  A frame where the detector finds no face counts as a miss in both: a blur that nobody recognises
  scores 0, not "nearer B than A" (kept as a secondary column). (The 0.6 tolerance is applied to B's
  centre, the mean of 64 encodings, which is a little more lenient than face_recognition's photo-to-photo
  use of it.)
- **Detail kept where people look**: the band-pass energy (the grey image minus its Gaussian blur at
  σ = face width / 64, the finest structure a 64 px model face can hold) inside the eyes and the mouth, from
  the source's landmarks, swapped over source, median over frames (1.0: as much structure as the real eyes
  and mouth; a frame whose swapped face is not found counts 0). The same at a fixed σ = 2 px ("fine"): real
  detail, which only higher-resolution models reach.
- **Sharpness kept** (secondary): variance of the Laplacian inside the source face's landmark hull, swapped
  over source. Codec noise and the face's edges dominate it, so it stays high on a swap whose eyes are blurs.
- **Expression kept** (landmark NME against the source face) and **jitter** (landmark acceleration).
- **Seam** (``seam_step``, given the mask a face was pasted through): the colour step the paste adds across the
  mask's edge, in CIE L*a*b* ΔE; about 2.3 is a step a person just notices.

``evaluate`` is the one function the demo, notebook 08 and the benchmarks use.
"""
from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from . import video
from .choices import DEFAULT_COLOUR
from .detect import face_encoding
from .errors import DeepfakeError, InvalidArgument, NoFaceError
from .fileio import read_image, write_json_atomic
from .images import ensure_rgb_uint8, to_uint8
from .landmarks import inter_ocular_distance, landmark_error, roll

#: face_recognition's rule of thumb: encodings nearer than this are the same person.
SAME_PERSON = 0.6
#: The name of the source video's own identity in a gallery.
SOURCE = "A"
#: What a working swap reaches, on every pair of the benchmark (``make demo``'s targets; detail: issue 19's).
TARGETS = {"id_retrieval": 0.9, "recognised": 0.9, "faces_found": 0.98, "expression_error": 0.06, "jitter_ratio": 1.2,
           "detail_kept": 0.7}
#: What ``convert`` adds to a swap's ``comment`` tag when it sharpened the faces (``--sharpen A``): "; sharpened xA".
#: An unsharp mask amplifies the contrast of what the model painted, and the band-pass energy counts it as detail
#: (past what a perfect model keeps: benchmarks/README.md), so a sharpened swap's detail is reported, not credited.
SHARPENED = "; sharpened x"
#: The detail band's scale: σ = face width / DETAIL_DIVISOR (a 64 px model face holds structure down to about
#: one of its pixels, 1/64 of the face), and the fixed fine band in pixels.
DETAIL_DIVISOR = 64
FINE_SIGMA = 2.0
#: The smallest colour difference a person notices side by side: CIE76 ΔE ≈ 2.3 (Sharma, *Digital Color Imaging
#: Handbook*, 2003); ``seam_step``'s unit.
JUST_NOTICEABLE = 2.3
#: ``seam_step`` compares colours smoothed at this σ (px): a seam is a step in the colour, not in the texture.
SEAM_SIGMA = 2.0
#: A face rolled less than this (degrees; half the detector's first turn, 25°) is upright: a swap of it is
#: looked for upright only, as its source was (``face_track`` with ``regions``).
UPRIGHT_ROLL = 12.5


# --- identities -------------------------------------------------------------------------------------
def encodings_of(images: Iterable[np.ndarray | str | os.PathLike], *, progress: bool = False) -> list[np.ndarray]:
    """The encodings of the faces found in several images (paths or arrays); images without a face are skipped."""
    found = []
    for image in tqdm(images, desc="encodings", unit="image", disable=not progress, leave=False):
        image = read_image(image) if isinstance(image, (str, os.PathLike)) else image
        encoding = face_encoding(image)
        if encoding is not None:
            found.append(encoding)
    return found


def mean_encoding(images: Iterable[np.ndarray | str | os.PathLike], *, progress: bool = False) -> np.ndarray:
    """The mean encoding of a person over several images (paths or arrays): their identity's centre."""
    found = encodings_of(images, progress=progress)
    if not found:
        raise NoFaceError("no face found in any of the images")
    return np.mean(found, axis=0)


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Euclidean distance of two encodings: about 0 for the same face, above ~0.6 for different people."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))


def crop_encodings(crops: Iterable[np.ndarray], size: int = 128) -> list[np.ndarray]:
    """The encodings of aligned face crops (a model's faces: float 0..1 or uint8), each resized to ``size`` px
    and taken whole as the face's box: whom the faces themselves resemble, before any is pasted into a frame."""
    found = []
    for crop in crops:
        crop = np.asarray(crop)
        if crop.dtype != np.uint8:
            crop = to_uint8(crop)
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_CUBIC if crop.shape[0] < size else cv2.INTER_AREA)
        found.append(face_encoding(crop, (0, size, size, 0)))
    return found


def photo_encoding(relpath: str) -> np.ndarray | None:
    """The encoding of the face in one sample-data photo (None: no face found), kept on disk beside the data
    cache by the photo's sha256, so that a gallery of hundreds of identities is encoded once per machine."""
    from . import data

    digest = data.registry().get(relpath)
    if digest is None:
        raise DeepfakeError(f"{relpath!r} is not in the sample-data registry")
    store = data.cache_dir() / ".encodings" / f"{digest}.npy"
    if store.is_file():
        try:
            saved = np.load(store)
            return saved if saved.shape == (128,) else None
        except (OSError, ValueError):
            pass  # a damaged entry is computed again
    encoding = face_encoding(read_image(data.fetch(relpath)))
    store.parent.mkdir(parents=True, exist_ok=True)
    part = store.with_name(f".{store.name}.{os.getpid()}.part")
    with open(part, "wb") as f:  # np.save on a name would append .npy
        np.save(f, np.zeros(0) if encoding is None else encoding)
    os.replace(part, store)
    return encoding


def gallery_names(target: str, size: str = "small") -> list[str]:
    """The identities measured against a swap to ``target`` (never ``target`` itself): ``small``, the course's
    first gallery (Colin_Powell and ten LFW people, 13 with A and B); ``large``, gallery100 and gallery10 of the
    sample data (100+ distractors, as face-swap papers retrieve over hundreds)."""
    from . import data

    if size == "small":
        names = ["George_W_Bush", "Colin_Powell", *data.GALLERY]
    elif size == "large":
        names = [*data.lfw_splits()["gallery100"], *data.lfw_splits()["gallery10"]]
    else:
        raise InvalidArgument(f"gallery size must be 'small' or 'large', not {size!r}")
    return [name for name in names if name != target]


@lru_cache(maxsize=8)
def sample_gallery(target: str = "George_W_Bush", n_target: int = 64, n_other: int = 20,
                   progress: bool = True, size: str = "small") -> dict[str, np.ndarray]:
    """Identity centres of the sample data: B from up to its last ``n_target`` photos (held out: training takes
    only ``data.training_photos``), and the first ``n_other`` photos of every identity of ``gallery_names``
    (none: B only)."""
    from . import data

    if n_target < 1:
        raise InvalidArgument(f"n_target must be at least 1, got {n_target}")
    names = [target] + gallery_names(target, size) * (n_other > 0)
    gallery = {}
    for name in tqdm(names, desc=f"gallery ({len(names)} identities)", unit="identity", disable=not progress):
        files = data.identity_files(name)
        picked = files[-min(n_target, data.held_out(name)):] if name == target else files[:n_other]
        found = [e for e in (photo_encoding(p) for p in picked) if e is not None]
        if not found:
            raise NoFaceError(f"{name}: no face found in any of its {len(picked)} gallery photos")
        gallery[name] = np.mean(found, axis=0)
    return gallery


def nearest_identity(encoding: np.ndarray, gallery: dict[str, np.ndarray]) -> tuple[str, dict[str, float]]:
    """The gallery identity nearest an encoding, and the distance to every identity."""
    distances = {name: identity_distance(encoding, centre) for name, centre in gallery.items()}
    return min(distances, key=distances.get), distances


def identity_scores(encodings: Sequence[np.ndarray | None], gallery: dict[str, np.ndarray], target: str,
                    source: str = SOURCE) -> dict:
    """Identity of a face per frame (None: no face found, a miss) as retrieval over the gallery."""
    frames = len(encodings)
    found = [e for e in encodings if e is not None]
    if not frames:
        raise InvalidArgument("no frames to score")
    nearest, to_target, to_source = [], [], []
    for encoding in found:
        name, distances = nearest_identity(encoding, gallery)
        nearest.append(name)
        to_target.append(distances[target])
        to_source.append(distances[source])
    to_target, to_source = np.array(to_target), np.array(to_source)
    recognised = (to_target < SAME_PERSON) & (to_target < to_source)
    mean = (lambda v: float(v.mean())) if found else (lambda v: float("nan"))
    return {
        "frames": frames, "faces": len(found),
        "id_retrieval": sum(n == target for n in nearest) / frames,  # misses count against
        "recognised": float(recognised.sum()) / frames,
        "nearer_target": mean(to_target < to_source),  # secondary: among the faces found only
        "to_target": mean(to_target), "to_source": mean(to_source),
        "nearest": dict(Counter(nearest + ["(no face)"] * (frames - len(found))).most_common()),
    }


# --- sharpness, expression, stability -----------------------------------------------------------------
def hull_region(shape: tuple[int, ...], landmarks: np.ndarray, erode: float = 0.1) -> np.ndarray:
    """The landmark hull as a boolean mask, shrunk by ``erode`` of the inter-ocular distance (away from seams)."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(np.asarray(landmarks)).astype(np.int32)), 1)
    radius = round(erode * inter_ocular_distance(landmarks))
    if radius > 0:
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return mask.astype(bool)


def sharpness(image: np.ndarray, region: np.ndarray | None = None) -> float:
    """Variance of the Laplacian of the grey image (inside ``region``): high for detail, near 0 for a blur."""
    ensure_rgb_uint8(image)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    laplacian = cv2.Laplacian(grey, cv2.CV_64F)
    return float(laplacian[region].var() if region is not None else laplacian.var())


def face_width(landmarks: np.ndarray) -> float:
    """The width of a face: the distance between the two ends of the jaw line (landmarks 0 and 16)."""
    points = np.asarray(landmarks, np.float64)
    return float(np.linalg.norm(points[16] - points[0]))


def detail_regions(shape: tuple[int, ...], landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Boolean masks of the eyes (both, grown by a quarter of the inter-ocular distance to take in lids and
    lashes) and the mouth (lips, grown by 0.15 of it), from the 68 landmarks."""
    points = np.asarray(landmarks, np.float64)
    iod = inter_ocular_distance(points)
    masks = {}
    for name, parts, grow in (("eyes", (slice(36, 42), slice(42, 48)), 0.25), ("mouth", (slice(48, 60),), 0.15)):
        mask = np.zeros(shape[:2], np.uint8)
        for part in parts:
            cv2.fillConvexPoly(mask, cv2.convexHull(np.round(points[part]).astype(np.int32)), 1)
        radius = max(1, round(grow * iod))
        masks[name] = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)) > 0
    return masks


def band_energy(image: np.ndarray, region: np.ndarray, sigma: float) -> float:
    """The mean square of the band-pass image (grey minus its Gaussian blur at ``sigma`` px) inside ``region``:
    the energy of the structure finer than ``sigma``; a blur has little of it."""
    ensure_rgb_uint8(image)
    if sigma <= 0:
        raise InvalidArgument(f"sigma must be positive, got {sigma}")
    if not region.any():
        raise InvalidArgument("the region is empty")
    rows, cols = np.nonzero(region.any(axis=1))[0], np.nonzero(region.any(axis=0))[0]
    pad = int(np.ceil(4 * sigma))  # the blur's reach: enough of the surroundings, not the whole frame
    top, bottom = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, region.shape[0])
    left, right = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, region.shape[1])
    grey = cv2.cvtColor(image[top:bottom, left:right], cv2.COLOR_RGB2GRAY).astype(np.float64)
    band = grey - cv2.GaussianBlur(grey, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return float(np.mean(band[region[top:bottom, left:right]] ** 2))


def face_detail(image: np.ndarray, landmarks: np.ndarray) -> dict[str, float]:
    """The band-pass energy of the eyes and the mouth at the face's scale (σ = face width / 64) and at a fixed
    σ = 2 px (``eyes_fine``, ``mouth_fine``), in the regions the landmarks give."""
    sigma = face_width(landmarks) / DETAIL_DIVISOR
    out = {}
    for name, region in detail_regions(image.shape, landmarks).items():
        out[name] = band_energy(image, region, sigma)
        out[f"{name}_fine"] = band_energy(image, region, FINE_SIGMA)
    return out


def detail_kept(source: Sequence[dict[str, float] | None], swapped: Sequence[dict[str, float] | None],
                regions: Sequence[str] = ("eyes", "mouth")) -> float:
    """The median over frames of the swapped face's band-pass energy in ``regions`` over the source's (1.0: as
    much structure); frames without a source face are skipped, a swapped frame without a face counts 0."""
    ratios = []
    for src, out in zip(source, swapped, strict=False):
        if src is None:
            continue
        base = sum(src[r] for r in regions)
        if base > 0:
            ratios.append(0.0 if out is None else sum(out[r] for r in regions) / base)
    ratios += [0.0] * sum(s is not None for s in source[len(swapped):])  # frames the swap lacks: misses
    return float(np.median(ratios)) if ratios else float("nan")


def regions_kept(source: Sequence[dict[str, float] | None],
                 swapped: Sequence[dict[str, float] | None]) -> dict[str, float]:
    """The detail kept (``detail_kept``) in the eyes and mouth together, in each alone, and in their fine 2 px band."""
    return {"eyes_mouth": detail_kept(source, swapped), "eyes": detail_kept(source, swapped, ("eyes",)),
            "mouth": detail_kept(source, swapped, ("mouth",)),
            "fine": detail_kept(source, swapped, ("eyes_fine", "mouth_fine"))}


def _edge_normals(inside: np.ndarray, step: int = 2, span: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Points every ``step`` px along the outer edges of a boolean mask and their unit normals (either way)."""
    contours, _ = cv2.findContours(inside.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    points, normals = [], []
    for contour in contours:
        c = contour[:, 0, :].astype(np.float64)
        if len(c) < 4 * span:
            continue
        tangent = np.roll(c, -span, axis=0) - np.roll(c, span, axis=0)  # along the edge, over 2 * span px
        length = np.linalg.norm(tangent, axis=1, keepdims=True)
        keep = length[:, 0] > 0
        points.append(c[keep][::step])
        normals.append((tangent[keep][:, ::-1] * [1, -1] / length[keep])[::step])
    if not points:
        return np.zeros((0, 2)), np.zeros((0, 2))
    return np.vstack(points), np.vstack(normals)


def seam_step(source: np.ndarray, swapped: np.ndarray, mask: np.ndarray, inside: float,
              outside: float = 3 * SEAM_SIGMA, window: int = 9) -> float:
    """The colour step a paste adds across its mask's edge, in CIE L*a*b* ΔE (0: none; ``JUST_NOTICEABLE`` ≈ 2.3).

    At points every 2 px along the edge, the L*a*b* difference (colours smoothed at ``SEAM_SIGMA``) between the
    pixel ``inside`` px in (past the feather) and the one ``outside`` px out (beyond the smoothing's reach) is taken
    in the swap and in the source; the step the paste added is the change of that difference, averaged over
    ``window`` neighbouring points (a seam runs along the edge; the texture of a new face does not), and the median
    of its size over the edge is returned. Where the mask meets the frame's border there is no outside to compare:
    those points are left out (NaN if all are)."""
    ensure_rgb_uint8(source)
    ensure_rgb_uint8(swapped)
    if source.shape != swapped.shape or np.shape(mask) != source.shape[:2]:
        raise InvalidArgument(f"source {source.shape}, swapped {swapped.shape} and mask {np.shape(mask)} must "
                              "share their height and width")
    if not inside > 0 or not outside > 0:
        raise InvalidArgument(f"the sampling distances must be positive, got inside={inside}, outside={outside}")
    binary = np.asarray(mask) > 0.5
    points, normals = _edge_normals(binary)
    height, width = binary.shape

    def at(offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xy = np.round(points + offset).astype(int)
        ok = (xy[:, 0] >= 0) & (xy[:, 0] < width) & (xy[:, 1] >= 0) & (xy[:, 1] < height)
        return np.clip(xy, 0, [width - 1, height - 1]), ok

    # the normal's sign is not known from the contour's direction: take the side the mask is on, point by point
    ahead, ok = at(normals * inside)
    sign = np.where(binary[ahead[:, 1], ahead[:, 0]] & ok, 1.0, -1.0)[:, None]
    (xy_in, ok_in), (xy_out, ok_out) = at(sign * normals * inside), at(-sign * normals * outside)
    valid = ok_in & ok_out & binary[xy_in[:, 1], xy_in[:, 0]] & ~binary[xy_out[:, 1], xy_out[:, 0]]
    if not valid.any():
        return float("nan")
    xy_in, xy_out = xy_in[valid], xy_out[valid]

    both = np.vstack([xy_in, xy_out])
    pad = int(np.ceil(4 * SEAM_SIGMA))
    (left, top), (right, bottom) = np.maximum(both.min(0) - pad, 0), both.max(0) + pad + 1

    def step(image: np.ndarray) -> np.ndarray:  # inside minus outside, L*a*b*, a row per point
        smooth = cv2.GaussianBlur(image[top:bottom, left:right].astype(np.float32) / 255, (0, 0), SEAM_SIGMA)
        pixels = np.stack([smooth[xy_in[:, 1] - top, xy_in[:, 0] - left], smooth[xy_out[:, 1] - top,
                                                                                xy_out[:, 0] - left]])
        lab = cv2.cvtColor(pixels, cv2.COLOR_RGB2Lab)
        return lab[0] - lab[1]

    added = step(swapped) - step(source)
    window = max(1, min(window, len(added)))
    along = np.stack([np.convolve(added[:, c], np.ones(window) / window, mode="valid") for c in range(3)], axis=1)
    return float(np.median(np.linalg.norm(along, axis=1)))


def jitter(track: list[np.ndarray | None]) -> float:
    """Frame-to-frame shake: the mean size of the landmarks' second difference (acceleration), per
    inter-ocular distance. Smooth motion scores near 0; landmarks that tremble score high."""
    values = []
    for before, now, after in zip(track, track[1:], track[2:], strict=False):
        if before is None or now is None or after is None:
            continue
        accel = np.asarray(after, np.float64) - 2 * np.asarray(now, np.float64) + np.asarray(before, np.float64)
        values.append(np.linalg.norm(accel, axis=1).mean() / inter_ocular_distance(now))
    return float(np.mean(values)) if values else float("nan")


def expression_error(source: dict[str, np.ndarray], swapped: dict[str, np.ndarray]) -> float:
    """Mean landmark error (NME) of the swapped faces against the source faces of the same frames."""
    errors = [landmark_error(source[k], swapped[k]) for k in source if k in swapped]
    return float(np.mean(errors)) if errors else float("nan")


# --- one video ----------------------------------------------------------------------------------------
@dataclass
class FaceTrack:
    """What the detector and the recogniser see in each frame of a video (None where no face is found)."""

    landmarks: list[np.ndarray | None] = field(default_factory=list)
    encodings: list[np.ndarray | None] = field(default_factory=list)
    sharpness: list[float | None] = field(default_factory=list)  # inside the region measured
    detail: list[dict[str, float] | None] = field(default_factory=list)  # eyes' and mouth's band energy

    def keyed(self) -> dict[str, np.ndarray]:
        """The landmarks by frame key ('000001', ...), frames with a face only."""
        return {video.frame_key(i): p for i, p in enumerate(self.landmarks, 1) if p is not None}


def face_track(path: str | os.PathLike, *, max_frames: int | None = None, track: bool = True,
               regions: Sequence[np.ndarray | None] | None = None, encode: bool = True,
               progress: bool = False) -> FaceTrack:
    """Find, encode and measure the face in every frame. ``track=False`` runs the detector on every frame
    (no reuse of the last box), as a swapped video must be measured; sharpness is taken inside
    ``regions[i]`` (landmarks, e.g. the source's), else inside the face's own hull. Where ``regions[i]`` is an
    upright face (rolled under ``UPRIGHT_ROLL``), the face is looked for upright only, not turned, and at that face's
    size first (``FaceFinder``'s ``size``).
    ``encode=False`` leaves out the identity encodings (None), the slowest part, where only detail is wanted."""
    from .track import FaceFinder

    finder = FaceFinder() if track else FaceFinder(reuse_below=0)
    turns = finder.angles
    out = FaceTrack()
    total = min(video.probe(path).n_frames, max_frames or 10**9)
    for i, frame in enumerate(tqdm(video.iter_frames(path, max_frames=max_frames), total=total,
                                   desc=f"metrics {Path(path).name}", unit="frame", disable=not progress)):
        given = regions[i] if regions is not None and i < len(regions) else None
        # the swap of an upright face is looked for upright, as the source's was; turned only where that was turned
        finder.angles = () if given is not None and abs(roll(given)) < UPRIGHT_ROLL else turns
        # looked for at the source face's size first (its landmarks' width, at most its box's): the same boxes the
        # full search finds for a face that size or bigger, in a fraction of the time; smaller ones after that
        face = finder(frame, size=None if given is None else float(np.ptp(given[:, 0])))
        out.landmarks.append(None if face is None else face.landmarks)
        out.encodings.append(None if face is None or not encode else face_encoding(frame, face.box))
        points = regions[i] if regions is not None and i < len(regions) else out.landmarks[-1]
        out.sharpness.append(None if points is None else sharpness(frame, hull_region(frame.shape, points)))
        # measured in the source's regions, but only where a face is found (a swap nobody finds keeps no detail)
        out.detail.append(None if points is None or face is None else face_detail(frame, points))
    return out


def sharpness_kept(source: Sequence[float | None], swapped: Sequence[float | None]) -> float:
    """The median over frames of swapped / source sharpness in the same face region (1.0: as sharp)."""
    ratios = [b / a for a, b in zip(source, swapped, strict=False) if a and b is not None]
    return float(np.median(ratios)) if ratios else float("nan")


def sharpened(path: str | os.PathLike) -> float:
    """How much ``convert`` sharpened a swapped video's faces (the unsharp mask's amount in its comment tag), 0: not."""
    comment = video.container_tags(path).get("comment", "")
    _, found, amount = comment.rpartition(SHARPENED)
    try:
        return float(amount) if found else 0.0
    except ValueError:
        return 0.0


def evaluate(source: str | os.PathLike, swapped: str | os.PathLike, gallery: dict[str, np.ndarray],
             target: str = "George_W_Bush", *, max_frames: int | None = None, source_track: FaceTrack | None = None,
             progress: bool = True) -> dict:
    """Measure a swapped video against its source: identity retrieval over ``gallery`` (plus A, the
    source's own face), faces found, sharpness kept, expression kept and jitter (a JSON-ready report).

    Both videos are measured alike, the detector run on every frame; frames the swapped video lacks
    count as misses. ``source_track`` (from ``face_track(source, track=False)``) skips re-measuring the
    source when evaluating often.
    """
    if target not in gallery:
        raise InvalidArgument(f"the target {target!r} is not in the gallery ({sorted(gallery)})")
    src = source_track or face_track(source, max_frames=max_frames, track=False, progress=progress)
    found_source = [e for e in src.encodings if e is not None]
    if not found_source:
        raise NoFaceError(f"{source}: no face found in the source video")
    identities = {SOURCE: np.mean(found_source, axis=0), **{k: v for k, v in gallery.items() if k != SOURCE}}
    out = face_track(swapped, max_frames=max_frames, track=False, regions=src.landmarks, progress=progress)
    frames = len(src.landmarks) if max_frames is None else min(len(src.landmarks), max_frames)
    if len(out.landmarks) > frames:
        raise InvalidArgument(f"{swapped}: has more frames than its source {source}; is it the swap of that video?")
    for missing in (out.landmarks, out.encodings, out.sharpness, out.detail):  # frames the swap lacks are misses
        missing.extend([None] * (frames - len(missing)))
    src_jitter, out_jitter = jitter(src.landmarks[:frames]), jitter(out.landmarks)
    return {
        "frames": frames,
        "target": target,
        "gallery": sorted(identities),
        "faces_found": {"source": sum(p is not None for p in src.landmarks[:frames]),
                        "swapped": sum(p is not None for p in out.landmarks)},
        "identity": {"source": identity_scores(src.encodings[:frames], identities, target),
                     "swapped": identity_scores(out.encodings, identities, target)},
        "sharpness": {"source": float(np.mean([s for s in src.sharpness[:frames] if s is not None])),
                      "swapped": float(np.mean([s for s in out.sharpness if s is not None] or [np.nan]))},
        "sharpness_kept": sharpness_kept(src.sharpness[:frames], out.sharpness),
        "detail_kept": regions_kept(src.detail[:frames], out.detail),
        "expression_error": expression_error(src.keyed(), out.keyed()),
        "jitter": {"source": src_jitter, "swapped": out_jitter},
        "sharpened": sharpened(swapped),  # convert's unsharp mask: its detail is reported, not credited
    }


def headline(report: dict) -> dict[str, float]:
    """The swapped video's numbers that matter, flat: the targets' five, sharpness kept, distances, and the seam
    where the report has one (``swap.measure_seam``)."""
    swapped = report["identity"]["swapped"]
    return {"id_retrieval": swapped["id_retrieval"], "recognised": swapped["recognised"],
            "faces_found": report["faces_found"]["swapped"] / report["frames"],
            "expression_error": report["expression_error"],
            "jitter_ratio": report["jitter"]["swapped"] / max(report["jitter"]["source"], 1e-9),
            "detail_kept": report["detail_kept"]["eyes_mouth"], "detail_fine": report["detail_kept"]["fine"],
            "sharpness_kept": report["sharpness_kept"], "to_target": swapped["to_target"],
            "nearer_target": swapped["nearer_target"], "sharpened": report.get("sharpened", 0.0),
            **({"seam": report["seam"]} if "seam" in report else {})}


def check_targets(report: dict, targets: dict[str, float] = TARGETS) -> dict[str, bool]:
    """Which of the targets a report meets (ID retrieval, recognised, faces found, expression, jitter, detail)."""
    return check_targets_values(headline(report), targets)


def check_targets_values(values: dict[str, float], targets: dict[str, float] = TARGETS) -> dict[str, bool]:
    """Which of the targets a flat row of ``headline`` values meets; a sharpened swap's detail never meets its target
    (the unsharp mask's contrast is not detail the model painted)."""
    at_most = ("expression_error", "jitter_ratio")  # lower is better; the others must reach their target
    return {name: bool(values[name] <= goal if name in at_most else values[name] >= goal)
            and not (name == "detail_kept" and values.get("sharpened", 0) > 0) for name, goal in targets.items()}


def verdict(report: dict, mask: str | None = None, colour: str | None = None) -> str:
    """One plain sentence of what the metrics say a person would see: is B recognised, and how much of the
    source's detail the eyes and mouth keep; "meets its targets" only when every target holds. ``mask`` and
    ``colour``: what the swap was converted with (None: the autoencoder's defaults), for the advice when B is not
    recognised (whether it was sharpened, the video's tags say)."""
    swapped, target = report["identity"]["swapped"], report["target"]
    n, frames = round(swapped["recognised"] * swapped["frames"]), swapped["frames"]
    detail = report["detail_kept"]["eyes_mouth"]
    missed = [name for name, ok in check_targets(report).items() if not ok]
    sharpened = report.get("sharpened", 0.0)  # convert's unsharp mask: its detail figure is not credited
    own = report.get("unsharpened_detail", {}).get("eyes_mouth")  # the same faces unsharpened: the model's own
    if sharpened > 0 and own is not None:
        kept = (f"keep {own:.0%} of the source's detail as the model painted them (unsharpened; the video's unsharp "
                f"mask, --sharpen {sharpened:g}, lifts their band-pass energy to {detail:.0%} with contrast, not "
                "detail)")
    elif sharpened > 0:
        kept = (f"show {detail:.0%} of the source's band-pass energy, amplified by the unsharp mask (--sharpen "
                f"{sharpened:g}), which adds contrast, not detail (not counted)")
    else:
        kept = f"keep {detail:.0%} of the source's detail"
    said = (f"{target} is recognised in {n} of {frames} swapped frames ({swapped['recognised']:.0%}); the eyes and "
            f"mouth {kept}")
    if swapped["recognised"] < TARGETS["recognised"] or swapped["id_retrieval"] < TARGETS["id_retrieval"]:
        # conversions that brought B nearer on the four pairs of `bench pairs` (benchmarks/README.md: "The
        # conversion mask", "What lowers the seam", "Sharpening at conversion", "Histogram matching and
        # sharpening together"), cheaper than training; the two colour-and-contrast ones together first
        need_hist, need_sharpen = (colour or DEFAULT_COLOUR) != "hist", sharpened <= 0
        again = []
        if need_hist and need_sharpen:
            again.append("with histogram matching and the faces sharpened together (--colour hist --sharpen 1: B the "
                         "nearest identity in 94.5-100% of frames and recognised in 92.5-100% on the woman's two "
                         "pairs, two seeds each; a sharpened swap's detail figure is not counted)")
        elif need_hist:
            again.append("with histogram matching (--colour hist)")
        elif need_sharpen:
            again.append("with the faces sharpened (--sharpen 1; its detail figure is not counted)")
        if mask != "rect":
            again.append("through the whole square (--mask rect: the square's sides too, where an edge may show in "
                         "the hair)")
        square = f"convert again {', or '.join(again)} first, then " if again else ""
        return (f"{said}. The nearest identity is {target} in only {swapped['id_retrieval']:.0%} of frames: not a "
                f"working swap yet; {square}train longer (a larger time budget) and convert again.")
    if not missed:
        return f"{said}: the swap meets all its targets."
    if "detail_kept" not in missed:
        blur = ""
    elif sharpened > 0 and (own is None or own >= TARGETS["detail_kept"]):
        blur = " (sharpening is not detail)"
    else:
        blur = " (the eyes and mouth are blurred)"
    return f"{said}: B is recognised, but the swap misses its targets for {', '.join(missed)}{blur}."


def format_table(report: dict) -> str:
    """The report as a small text table: one row for the source video (the baseline), one for the swap."""
    head = (f"{'video':<9}{'faces':>9}{'ID retr.':>10}{'recog. B':>10}{'dist B':>8}{'dist A':>8}"
            f"{'jitter':>8}{'sharp':>8}{'nearer B*':>11}")
    lines = [head]
    for name in ("source", "swapped"):
        ident = report["identity"][name]
        sharp = report["sharpness_kept"] if name == "swapped" else 1.0
        lines.append(f"{name:<9}{report['faces_found'][name]:>5}/{report['frames']:<3}{ident['id_retrieval']:>10.0%}"
                     f"{ident['recognised']:>10.0%}{ident['to_target']:>8.3f}{ident['to_source']:>8.3f}"
                     f"{report['jitter'][name]:>8.4f}{sharp:>8.2f}{ident['nearer_target']:>11.0%}")
    lines.append(f"ID retr.: nearest of {len(report['gallery'])} identities is B ({report['target']}); recog. B: "
                 f"distance to B < {SAME_PERSON} and nearer B than A; frames without a face count as misses.")
    kept = report["detail_kept"]
    lines.append(f"detail kept (band-pass energy, swapped / source, median per frame): eyes and mouth "
                 f"{kept['eyes_mouth']:.2f} (eyes {kept['eyes']:.2f}, mouth {kept['mouth']:.2f}) at sigma = face "
                 f"width / {DETAIL_DIVISOR}; {kept['fine']:.2f} at sigma = {FINE_SIGMA:g} px"
                 + (f"; sharpened at conversion (x{report['sharpened']:g}): amplified contrast, not counted as detail"
                    if report.get("sharpened", 0) > 0 else "")
                 + (f"; unsharpened (the model's own): eyes and mouth {report['unsharpened_detail']['eyes_mouth']:.2f}"
                    if "unsharpened_detail" in report else ""))
    lines.append(f"sharpness kept {report['sharpness_kept']:.2f} (Laplacian variance in the hull, secondary); "
                 f"expression kept: NME {report['expression_error']:.4f}; * secondary: share of found faces nearer "
                 "B than A")
    if "seam" in report:  # measured by whoever knows the mask the faces were pasted through (swap.measure_seam)
        lines.append(f"seam: the paste adds a colour step of {report['seam']:.1f} (CIE delta E) across its mask's "
                     f"edge; {JUST_NOTICEABLE} is just noticeable")
    return "\n".join(lines)


def save_report(report: dict, path: str | os.PathLike) -> Path:
    """Write the metrics report as JSON (atomically)."""
    return write_json_atomic(path, report)
