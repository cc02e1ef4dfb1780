"""The SQLite index: rebuilt from sidecars, answers albums/search/rescans, never trusted broken."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from resnet_watch.index import open_existing, open_index
from resnet_watch.models.spec import Label
from resnet_watch.sidecar import FileFacts, result_record, sidecar_path, write_sidecar
from tests.fakes import FAKE_INFO

SUFFIX = ".resnet-watch.json"
GOLDEN = Label(1, 207, "n02099601", "golden retriever", 0.8)
ALP = Label(1, 970, "n09193705", "alp", 0.9)


def tagged(folder: Path, name: str, label: Label, albums: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / name
    Image.new("RGB", (8, 8), "gray").save(image, format="PNG")
    st = image.stat()
    record = result_record(
        FileFacts(image.name, st.st_size, st.st_mtime_ns, "ab" * 32),
        width=8,
        height=8,
        fmt="PNG",
        labels=[label],
        model=FAKE_INFO,
        elapsed_ms=1,
        extra={"tags": [f"Pets/{label.name}"], "albums": albums},
    )
    write_sidecar(sidecar_path(image, SUFFIX), record)
    return image


def test_missing_index_is_rebuilt_from_the_sidecars(tmp_path: Path) -> None:
    """A first start fills the index from existing sidecars: counts, albums and search agree."""
    inbox = tmp_path / "inbox"
    dog = tagged(inbox / "2024", "dog.png", GOLDEN, ["Dogs"])
    tagged(inbox, "alp.png", ALP, ["Landscapes"])
    index, rebuilt = open_index(tmp_path / "state" / "library.sqlite", [inbox], SUFFIX)
    with index:
        assert rebuilt and index.count() == 2
        assert index.album_counts() == {"Dogs": 1, "Landscapes": 1}
        assert [r.path for r in index.search("golden")] == [dog]
        assert [r.path for r in index.album("Dogs")] == [dog]
        known = index.known_in(dog.parent, FAKE_INFO.weights_sha256)
        assert known["dog.png"].done and known["dog.png"].inode == dog.stat().st_ino
        assert not index.known_in(dog.parent, "another model")["dog.png"].done


def test_a_sidecar_without_tags_and_albums_is_not_done(tmp_path: Path) -> None:
    """Labels alone (an older `classify --write-sidecars`) are work left: the rescan submits it."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    image = inbox / "bare.png"
    Image.new("RGB", (8, 8), "gray").save(image, format="PNG")
    st = image.stat()
    record = result_record(
        FileFacts(image.name, st.st_size, st.st_mtime_ns, "ab" * 32),
        width=8,
        height=8,
        fmt="PNG",
        labels=[GOLDEN],
        model=FAKE_INFO,
        elapsed_ms=1,
    )
    write_sidecar(sidecar_path(image, SUFFIX), record)
    index, _ = open_index(tmp_path / "library.sqlite", [inbox], SUFFIX)
    with index:
        assert not index.known_in(inbox, FAKE_INFO.weights_sha256)["bare.png"].done
        assert not index.known_in(inbox, None)["bare.png"].done


def test_corrupt_index_is_set_aside_and_rebuilt(tmp_path: Path) -> None:
    """A damaged index file is never trusted: it is kept as .corrupt and rebuilt."""
    inbox = tmp_path / "inbox"
    tagged(inbox, "dog.png", GOLDEN, ["Dogs"])
    path = tmp_path / "library.sqlite"
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    index, rebuilt = open_index(path, [inbox], SUFFIX)
    with index:
        assert rebuilt and index.count() == 1
    assert path.with_name("library.sqlite.corrupt").exists()
    reopened, rebuilt_again = open_index(path, [inbox], SUFFIX)
    with reopened:
        assert not rebuilt_again and reopened.count() == 1


def test_unusual_file_names_round_trip(tmp_path: Path) -> None:
    """Names with spaces, quotes and non-Latin letters are indexed and found as they are."""
    inbox = tmp_path / "in box's"
    odd = tagged(inbox, "café 東京 'x'.png", GOLDEN, ["Dogs"])
    index, _ = open_index(tmp_path / "library.sqlite", [inbox], SUFFIX)
    with index:
        assert [r.path for r in index.album("Dogs")] == [odd]
        assert "café 東京 'x'.png" in index.known_in(inbox, None)
        assert [r.path for r in index.search("東京")] == [odd]


def test_forgetting_a_photo_drops_it_from_albums(tmp_path: Path) -> None:
    """A deleted photo no longer counts in its album."""
    inbox = tmp_path / "inbox"
    dog = tagged(inbox, "dog.png", GOLDEN, ["Dogs"])
    index, _ = open_index(tmp_path / "library.sqlite", [inbox], SUFFIX)
    with index:
        index.forget(dog)
        assert index.album_counts() == {} and index.album("Dogs") == []


def test_readers_open_only_a_valid_existing_index(tmp_path: Path) -> None:
    """`albums` and the web UI use the daemon's index when it exists, else read sidecars."""
    assert open_existing(tmp_path / "none.sqlite") is None
    inbox = tmp_path / "inbox"
    tagged(inbox, "dog.png", GOLDEN, ["Dogs"])
    index, _ = open_index(tmp_path / "library.sqlite", [inbox], SUFFIX)
    index.close()
    reader = open_existing(tmp_path / "library.sqlite")
    assert reader is not None
    with reader:
        assert reader.album_counts() == {"Dogs": 1}
