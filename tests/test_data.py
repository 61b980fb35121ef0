import hashlib
import http.server
import shutil
import threading
from functools import partial
from pathlib import Path

import pytest

from deepfake_utils import data
from deepfake_utils.errors import DataError

VIDEO = data.SAMPLE_VIDEO
PHOTO = "umass-vis-lfw/images_deepfunneled/Colin_Powell/Colin_Powell_0001.jpg"


def test_registry_lists_every_sample_file():
    reg = data.registry()
    splits = data.lfw_splits()
    swap_photos = {"George_W_Bush": 530, "Colin_Powell": 236, "Gerhard_Schroeder": 109, "Serena_Williams": 52,
                   "Gloria_Macapagal_Arroyo": 44, "Laura_Bush": 41}
    gallery_only = [name for name in splits["gallery10"] if name not in swap_photos]
    # two videos; every photo of the six swap identities; 20 of each other gallery10 identity, 3 of each of
    # gallery100's and one of each of the 5 334 pretraining identities
    assert len(reg) == 2 + sum(swap_photos.values()) + 20 * len(gallery_only) + 3 * 100 + 5334 == 6788
    assert reg[VIDEO] == "f7d30499bc380f4d18c18b1837fc1f6eb280fa21d79a9f7c6dd66db94296c43c"
    assert reg[data.SOURCE_VIDEOS["KatieHill"]] == "1fbb4cfd64eedc49b170c441714a9c4fd5e2c2f8a11592070ad89fbd257f2817"
    assert {name: len(data.identity_files(name)) for name in swap_photos} == swap_photos
    assert len(data.GALLERY) == 10 and all(len(data.identity_files(name)) >= 20 for name in data.GALLERY)
    assert len(splits["gallery100"]) == 100 and all(len(data.identity_files(n)) == 3 for n in splits["gallery100"])
    assert len(data.pretrain_files()) == len(splits["pretrain"]) == 5334
    lists = [set(splits["swap"]), set(gallery_only), set(splits["gallery100"]), set(splits["pretrain"])]
    assert sum(map(len, lists)) == len(set().union(*lists))  # disjoint: no pretraining face is a swap or gallery one


def test_held_out_photos_leave_every_swap_identity_something_to_train_on():
    for name in data.lfw_splits()["swap"]:
        kept = data.held_out(name)
        assert 10 <= kept <= data.HELD_OUT and len(data.identity_files(name)) - kept >= 3 * kept, name
    assert data.held_out("George_W_Bush") == 64  # the demo's split is the one its targets were set on


def test_url_is_pinned_base_plus_path():
    assert data.url_for(PHOTO) == (
        "https://raw.githubusercontent.com/umass-vis-lfw/umass-vis-lfw.github.io/"
        "2a620cd8cceb10430f8c7012fe9fa5f0837759e9/images_deepfunneled/Colin_Powell/Colin_Powell_0001.jpg"
    )


def test_fetch_from_mirror_verifies_and_caches(tmp_path):
    path = data.fetch(PHOTO, cache=tmp_path)
    assert path == (tmp_path / PHOTO).resolve()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == data.registry()[PHOTO]
    assert not list(path.parent.glob(".*part*"))  # no temp file left behind


def test_corrupt_cache_entry_is_replaced(tmp_path):
    path = data.fetch(PHOTO, cache=tmp_path)
    path.write_bytes(b"damaged")
    again = data.fetch(PHOTO, cache=tmp_path)
    assert data.sha256(again) == data.registry()[PHOTO]


def _fake_mirror(tmp_path: Path, content: bytes | None) -> Path:
    mirror = tmp_path / "mirror"
    target = mirror / PHOTO
    target.parent.mkdir(parents=True)
    if content is not None:
        target.write_bytes(content)
    return mirror


def test_wrong_checksum_in_mirror_is_a_clear_error_and_nothing_lands(tmp_path, monkeypatch):
    monkeypatch.setenv(data.MIRROR_ENV, str(_fake_mirror(tmp_path, b"not the photo")))
    with pytest.raises(DataError, match="sha256"):
        data.fetch(PHOTO, cache=tmp_path / "cache")
    folder = (tmp_path / "cache" / PHOTO).parent
    assert not any(folder.iterdir())  # neither the file nor a half copy


def test_missing_mirror_file_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(data.MIRROR_ENV, str(_fake_mirror(tmp_path, None)))
    with pytest.raises(DataError, match="not in the mirror"):
        data.fetch(PHOTO, cache=tmp_path / "cache")


def test_interrupted_copy_leaves_no_file_under_the_real_name(tmp_path, monkeypatch):
    def broken_copy(src, dst):
        Path(dst).write_bytes(Path(src).read_bytes()[:100])
        raise OSError("disk full")

    monkeypatch.setattr(shutil, "copyfile", broken_copy)
    with pytest.raises(OSError):
        data.fetch(PHOTO, cache=tmp_path)
    folder = (tmp_path / PHOTO).parent
    assert not any(folder.iterdir())


@pytest.mark.parametrize("bad", ["../etc/passwd", "/etc/passwd", "umass-vis-lfw/../../x", "nope/file.jpg"])
def test_unknown_or_escaping_paths_are_refused(tmp_path, bad):
    with pytest.raises(DataError):
        data.fetch(bad, cache=tmp_path)


def test_download_over_http_with_checksum(tmp_path, monkeypatch):
    """The URL path, through pooch, against a server on loopback that serves the mirror's bytes."""
    mirror = Path(data.mirror_dir() or "")
    if not (mirror / PHOTO).is_file():
        pytest.skip("needs the local mirror to serve from")
    served = tmp_path / "served"
    (served / "lfw").mkdir(parents=True)
    shutil.copy(mirror / PHOTO, served / "lfw" / "good.jpg")
    (served / "lfw" / "bad.jpg").write_bytes(b"tampered")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/lfw/"
    monkeypatch.delenv(data.MIRROR_ENV)
    try:
        monkeypatch.setattr(data, "url_for", lambda rel: base + "good.jpg")
        path = data.fetch(PHOTO, cache=tmp_path / "cache")
        assert data.sha256(path) == data.registry()[PHOTO]
        monkeypatch.setattr(data, "url_for", lambda rel: base + "bad.jpg")
        with pytest.raises(DataError, match="sha256"):
            data.fetch(PHOTO, cache=tmp_path / "cache2")
        assert not (tmp_path / "cache2" / PHOTO).exists()
        monkeypatch.setattr(data, "url_for", lambda rel: base + "missing.jpg")
        with pytest.raises(DataError, match="download failed"):
            data.fetch(PHOTO, cache=tmp_path / "cache3")
    finally:
        server.shutdown()


def test_unknown_identity():
    with pytest.raises(DataError, match="unknown identity"):
        data.identity_photos("Nobody")
