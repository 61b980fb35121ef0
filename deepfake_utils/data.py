"""Sample-data registry: fetch course files by URL or from a local mirror, sha256-checked, into a cache.

Every file is named by its path relative to the mirror root (the layout of ``shared/data``), e.g.
``video-retalking/examples/face/2.mp4``. ``fetch`` returns the path of a verified copy in the cache:

1. a cached copy whose sha256 matches is returned (checked on every hit);
2. otherwise the file is copied from the mirror folder (``DEEPFAKE_DATA_MIRROR``) if one is set (a pooch
   downloader of our own), or downloaded from its pinned public URL;
3. the new copy is written under a temporary name, checked, and only then renamed into place.

pooch (``pooch.create`` over the registry) does 1 and 3; this module adds the mirror, the URLs and the errors.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path, PurePosixPath

import pooch
from tqdm.auto import tqdm

from .errors import DataError

MIRROR_ENV = "DEEPFAKE_DATA_MIRROR"
CACHE_ENV = "DEEPFAKE_DATA_DIR"

#: Public base URL (pinned commit) of each top-level folder of the registry.
BASE_URLS: dict[str, str] = {
    "umass-vis-lfw": "https://raw.githubusercontent.com/umass-vis-lfw/umass-vis-lfw.github.io/"
    "2a620cd8cceb10430f8c7012fe9fa5f0837759e9/",
    "video-retalking": "https://raw.githubusercontent.com/OpenTalker/video-retalking/"
    "d32e8e58248255e2d243eeaf3cba545dbe505ca8/",
    "sadtalker": "https://raw.githubusercontent.com/OpenTalker/SadTalker/cd4c0465ae0b54a6f85af57f5c65fec9fe23e7f8/",
}

#: Person A: the speaker whose face the course converts (125 frames, 25 fps, with audio).
SAMPLE_VIDEO = "video-retalking/examples/face/2.mp4"
#: The source videos (person A) the swap is measured on, by a short name: a man (the sample) and a woman
#: (200 frames, 25 fps, 512 px, with audio).
SOURCE_VIDEOS: dict[str, str] = {"2.mp4": SAMPLE_VIDEO,
                                 "KatieHill": "sadtalker/examples/ref_video/WDA_KatieHill_000.mp4"}
#: Ten more LFW identities, 20 photos each: distractors when identity is measured as retrieval
#: (is the swapped face's nearest identity B?); never trained on.
GALLERY: tuple[str, ...] = ("Gerhard_Schroeder", "Ariel_Sharon", "Hugo_Chavez", "Junichiro_Koizumi", "Jean_Chretien",
                            "John_Ashcroft", "Serena_Williams", "Jacques_Chirac", "Vladimir_Putin", "Laura_Bush")
LFW_FOLDER = "umass-vis-lfw/images_deepfunneled"


@lru_cache(maxsize=1)
def lfw_splits() -> dict[str, list[str]]:
    """Which LFW identity is for what (disjoint lists): ``swap`` (B candidates, all their photos), ``gallery10``
    (20 photos each), ``gallery100`` (3 photos each, distractors for ID retrieval) and ``pretrain`` (one photo each,
    a generic face set), as the sample data's ``lfw-splits.json`` says."""
    raw = json.loads(resources.files("deepfake_utils").joinpath("lfw_splits.json").read_text())
    return {"swap": list(raw["swap_identities"]), **{k: raw[k] for k in ("gallery10", "gallery100", "pretrain")}}


#: Person B (George_W_Bush), the other swap identities, the second identity for exercises (Colin_Powell) and the
#: galleries: folders of LFW deep-funneled photos (the pretraining set is reached by ``pretrain_photos``).
IDENTITIES: dict[str, str] = {name: f"{LFW_FOLDER}/{name}" for name in dict.fromkeys(
    [*lfw_splits()["swap"], *GALLERY, *lfw_splits()["gallery100"]])}


#: The last photos of each identity are held out from training (see ``training_photos``): 64, or a quarter of
#: an identity's photos when it has fewer than 256 (``held_out``).
HELD_OUT = 64


def held_out(name: str) -> int:
    """How many of an identity's last photos are held out from training, to measure the swap against."""
    return min(HELD_OUT, len(identity_files(name)) // 4)


@lru_cache(maxsize=1)
def registry() -> dict[str, str]:
    """Map every known relative path to its sha256 (from the packaged SHA256SUMS list)."""
    text = resources.files("deepfake_utils").joinpath("registry.txt").read_text()
    entries = {}
    for line in text.splitlines():
        if line.strip():
            digest, rel = line.split(maxsplit=1)
            entries[rel.strip()] = digest.lower()
    return entries


def url_for(relpath: str) -> str:
    """The pinned public URL of a registry file."""
    _check_known(relpath)
    top, _, rest = relpath.partition("/")
    return BASE_URLS[top] + rest


def cache_dir() -> Path:
    """Where fetched files live: ``DEEPFAKE_DATA_DIR``, else the repo's ``data/``, else the user cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    repo_data = Path(__file__).resolve().parent.parent / "data"
    if (repo_data.parent / "pyproject.toml").exists():
        return repo_data
    return Path(pooch.os_cache("deepfake-course"))


def mirror_dir() -> Path | None:
    """The local mirror folder named by ``DEEPFAKE_DATA_MIRROR``, or None."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def sha256(path: str | os.PathLike) -> str:
    """The sha256 hex digest of a file."""
    return pooch.file_hash(str(path), alg="sha256")


def _check_known(relpath: str) -> None:
    pure = PurePosixPath(relpath)
    if pure.is_absolute() or ".." in pure.parts or "\\" in relpath:
        raise DataError(f"{relpath!r}: a data path must be relative and stay inside the cache (no '..')")
    if relpath not in registry():
        raise DataError(
            f"{relpath!r} is not in the sample-data registry; see deepfake_utils.data.registry() for the known files"
        )


def _target(cache: Path, relpath: str) -> Path:
    target = (cache / relpath).resolve()
    if not target.is_relative_to(cache.resolve()):
        raise DataError(f"{relpath!r}: resolves to {target}, outside the cache {cache}")
    return target


def _pooch(cache: Path, relpath: str) -> pooch.Pooch:
    """pooch over the registry (path -> sha256), kept under ``cache``; ``relpath`` gets its pinned URL."""
    return pooch.create(path=cache, base_url="", registry=registry(), urls={relpath: url_for(relpath)})


def _from_mirror(mirror: Path, relpath: str) -> Callable[[str, str, pooch.Pooch], None]:
    """A pooch downloader that copies the file from the local mirror folder instead of the internet."""

    def copy(url: str, output_file: str, _pooch: pooch.Pooch) -> None:
        src = mirror / relpath
        if not src.is_file():
            raise DataError(f"{src}: not in the mirror folder {MIRROR_ENV}; check the folder or unset the variable")
        shutil.copyfile(src, output_file)

    return copy


@contextmanager
def _pooch_quiet() -> Iterator[None]:
    """pooch logs every download on its own stderr handler; the course shows a progress bar instead."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        yield
    finally:
        logger.setLevel(level)


def fetch(relpath: str, *, cache: str | os.PathLike | None = None, progress: bool = False) -> Path:
    """Return the local path of a verified copy of one registry file, fetching it if needed."""
    _check_known(relpath)
    root = Path(cache) if cache is not None else cache_dir()
    target = _target(root, relpath)
    mirror = mirror_dir()
    try:
        with _pooch_quiet():
            _pooch(root, relpath).fetch(relpath, downloader=None if mirror is None else _from_mirror(mirror, relpath),
                                        progressbar=progress and mirror is None)
    except ValueError as exc:  # pooch's sha256 mismatch; it has already removed the temp file
        if mirror is not None:
            raise DataError(f"{mirror / relpath}: its sha256 does not match the registry; the mirror copy is damaged "
                            f"({exc})") from exc
        raise DataError(f"{url_for(relpath)}: downloaded file fails its sha256 check ({exc})") from exc
    except OSError as exc:  # requests' connection errors derive from OSError
        if mirror is not None:
            raise
        raise DataError(f"{url_for(relpath)}: download failed ({exc}); without internet, point {MIRROR_ENV} at a "
                        "local copy of the data") from exc
    return target


def files_under(folder: str) -> list[str]:
    """The registry paths below a folder (e.g. an identity's photo folder), sorted."""
    prefix = folder.rstrip("/") + "/"
    found = sorted(p for p in registry() if p.startswith(prefix))
    if not found:
        raise DataError(f"{folder!r}: no registry files below this folder")
    return found


def fetch_many(relpaths: list[str], *, cache: str | os.PathLike | None = None, desc: str = "data") -> list[Path]:
    """Fetch several registry files, with a progress bar."""
    return [fetch(p, cache=cache) for p in tqdm(relpaths, desc=desc, unit="file", leave=False)]


def sample_video(*, cache: str | os.PathLike | None = None) -> Path:
    """The course's sample video (person A), fetched and verified."""
    return fetch(SAMPLE_VIDEO, cache=cache, progress=True)


def source_video(name: str, *, cache: str | os.PathLike | None = None) -> Path:
    """One of the source videos (person A) by its short name in ``SOURCE_VIDEOS``, fetched and verified."""
    if name not in SOURCE_VIDEOS:
        raise DataError(f"{name!r}: unknown source video; choose one of {sorted(SOURCE_VIDEOS)}")
    return fetch(SOURCE_VIDEOS[name], cache=cache, progress=True)


def pretrain_files(n: int | None = None) -> list[str]:
    """The registry paths of the generic face set (the ``pretrain`` split: one LFW photo each of 5 334 people
    who are never a swap or gallery identity), the first ``n`` in name order."""
    names = lfw_splits()["pretrain"][:n]
    known = registry()
    return [p for name in names for p in (f"{LFW_FOLDER}/{name}/{name}_0001.jpg",) if p in known]


def identity_files(name: str) -> list[str]:
    """The registry paths of an identity's LFW photos, sorted."""
    if name not in IDENTITIES:
        raise DataError(f"{name!r}: unknown identity; choose one of {sorted(IDENTITIES)}")
    return files_under(IDENTITIES[name])


def identity_photos(name: str, n: int | None = None, *, cache: str | os.PathLike | None = None) -> list[Path]:
    """The first ``n`` (default all) LFW photos of an identity, fetched and verified."""
    return fetch_many(identity_files(name)[:n], cache=cache, desc=name)


def training_photos(name: str, n: int | None = None, *, cache: str | os.PathLike | None = None) -> list[Path]:
    """The first ``n`` (default all) photos of an identity that may be trained on: all but the last
    ``HELD_OUT``, which the metrics keep to measure the swap against photos the model never saw."""
    files, kept = identity_files(name), held_out(name)
    files = files[:-kept] if kept else files
    if not files:
        raise DataError(f"{name!r}: only {len(identity_files(name))} photos, all held out for measuring; "
                        "train on an identity with more photos")
    return fetch_many(files[:n], cache=cache, desc=name)
