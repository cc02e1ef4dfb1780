"""Renames, moves and deletions through the real daemon: our files follow the photo."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from resnet_watch.album_links import link_name
from tests.daemon_helpers import (
    CAT,
    DaemonProcess,
    read_sidecar_json,
    sidecar,
    wait_until,
)

RATING = '<xmp:Rating xmlns:xmp="http://ns.adobe.com/xap/1.0/">5</xmp:Rating>'


def xmp(image: Path) -> Path:
    return image.with_name(image.name + ".xmp")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    tmp = tmp_path_factory.mktemp("catalog")
    albums = tmp / "albums"
    d = DaemonProcess(tmp, {"album_folders": {"enabled": True, "dir": str(albums)}})
    d.start()
    yield d
    if d.proc is not None and d.proc.poll() is None:
        d.stop()


def albums_dir(d: DaemonProcess) -> Path:
    return d.tmp / "albums"


def classified_cat(d: DaemonProcess, name: str) -> tuple[Path, dict[str, object]]:
    """A cat photo dropped into the inbox, once its sidecar, XMP and Cats link exist."""
    image = d.inbox / name
    shutil.copy(CAT, image)
    wait_until(lambda: d.classified_count(image), 30, f"{name} classified")  # and indexed
    record = read_sidecar_json(image)
    assert "Cats" in record["albums"] and xmp(image).exists()
    assert (albums_dir(d) / "Cats" / link_name(image)).is_symlink()
    return image, record


def links_to(d: DaemonProcess, image: Path) -> list[Path]:
    return [
        p for p in albums_dir(d).glob("*/*") if os.path.islink(p) and p.name == link_name(image)
    ]


def test_rename_moves_sidecars_and_links_without_running_the_model(daemon: DaemonProcess) -> None:
    """A renamed photo keeps its labels and classified_at; old sidecars and links are gone."""
    old, before = classified_cat(daemon, "rename-me.png")
    new = daemon.inbox / "renamed.png"
    os.rename(old, new)
    after = wait_until(lambda: read_sidecar_json(new), 10, "the sidecar under the new name")
    assert after["classified_at"] == before["classified_at"]
    assert after["labels"] == before["labels"] and after["file"]["name"] == "renamed.png"
    wait_until(lambda: links_to(daemon, new) and not links_to(daemon, old), 10, "link follows")
    assert not sidecar(old).exists() and not xmp(old).exists()
    assert "resnet-watch|Pets|Cats|" in xmp(new).read_text()
    assert daemon.classified_count(new) == 0
    moved = daemon.wait_events("image_moved", new)
    assert moved[0]["src"] == str(old)


def test_move_into_a_subfolder_keeps_tags(daemon: DaemonProcess) -> None:
    """A photo sorted into a sub-folder takes its sidecar, XMP and album link along."""
    old, before = classified_cat(daemon, "to-sort.png")
    folder = daemon.inbox / "2024" / "holiday"
    folder.mkdir(parents=True)
    new = folder / "to-sort.png"
    os.rename(old, new)
    after = wait_until(lambda: read_sidecar_json(new), 10, "the sidecar in the sub-folder")
    assert after["classified_at"] == before["classified_at"]
    assert xmp(new).exists() and not xmp(old).exists() and not sidecar(old).exists()
    wait_until(lambda: links_to(daemon, new) and not links_to(daemon, old), 10, "link follows")
    assert daemon.classified_count(new) == 0


def test_move_out_of_the_inbox_removes_our_files(daemon: DaemonProcess) -> None:
    """A photo moved out of the inbox leaves no sidecar, XMP or album link behind."""
    old, _ = classified_cat(daemon, "leaving.png")
    outside = daemon.tmp / "leaving.png"
    os.rename(old, outside)
    wait_until(lambda: not sidecar(old).exists(), 10, "the sidecar removed")
    wait_until(lambda: not links_to(daemon, old), 10, "the album link removed")
    assert not xmp(old).exists()
    assert outside.read_bytes() == CAT.read_bytes()  # the photo itself is untouched


def test_delete_removes_ours_but_keeps_a_users_xmp(daemon: DaemonProcess) -> None:
    """Deleting photos removes our sidecars and links; an XMP with a user's rating stays."""
    plain, _ = classified_cat(daemon, "delete-plain.png")
    rated, _ = classified_cat(daemon, "delete-rated.png")
    text = xmp(rated).read_text()
    xmp(rated).write_text(text.replace("</rdf:Description>", RATING + "</rdf:Description>", 1))
    plain.unlink()
    rated.unlink()
    wait_until(lambda: not sidecar(plain).exists() and not sidecar(rated).exists(), 10, "gone")
    wait_until(lambda: not xmp(plain).exists(), 10, "our XMP removed")
    wait_until(lambda: "resnet-watch|" not in xmp(rated).read_text(), 10, "our keywords out")
    assert "rw:Keywords" not in xmp(rated).read_text()
    assert "<xmp:Rating" in xmp(rated).read_text()
    wait_until(lambda: not links_to(daemon, plain) and not links_to(daemon, rated), 10, "links")
    assert daemon.wait_events("image_removed", plain) and daemon.wait_events("image_removed", rated)
