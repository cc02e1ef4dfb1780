"""Album folders of links: sync, prune, link names, refusing foreign folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resnet_watch.album_links import MARKER, link_name, prune_album_links, sync_album_links


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    image = inbox / "IMG_1.jpg"
    image.write_bytes(b"\xff\xd8 not really a jpeg")
    return image


def test_symlinks_follow_the_album_set(tmp_path: Path, photo: Path) -> None:
    """Links appear in the albums given and disappear from albums no longer given."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs", "Pets"})
    for album in ("Dogs", "Pets"):
        link = albums / album / link_name(photo)
        assert link.is_symlink()
        assert os.readlink(link) == str(photo.absolute())
        assert link.read_bytes() == photo.read_bytes()
    sync_album_links(albums, photo, {"Pets"})
    assert not (albums / "Dogs" / link_name(photo)).exists()
    assert (albums / "Pets" / link_name(photo)).is_symlink()
    assert (albums / MARKER).exists()


def test_sync_is_idempotent(tmp_path: Path, photo: Path) -> None:
    """Syncing the same albums again leaves the existing link untouched."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs"})
    link = albums / "Dogs" / link_name(photo)
    before = link.lstat()
    sync_album_links(albums, photo, {"Dogs"})
    after = link.lstat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert sorted(p.name for p in (albums / "Dogs").iterdir()) == [link_name(photo)]


def test_same_named_images_in_different_folders_do_not_collide(tmp_path: Path) -> None:
    """Two IMG_1.jpg from different folders get two links, each to its own original."""
    a, b = tmp_path / "a" / "IMG_1.jpg", tmp_path / "b" / "IMG_1.jpg"
    for image in (a, b):
        image.parent.mkdir()
        image.write_bytes(image.parent.name.encode())
    albums = tmp_path / "albums"
    sync_album_links(albums, a, {"Dogs"})
    sync_album_links(albums, b, {"Dogs"})
    links = sorted((albums / "Dogs").iterdir())
    assert len(links) == 2
    assert sorted(link.read_bytes() for link in links) == [b"a", b"b"]
    assert all(link.name.startswith("IMG_1~") and link.suffix == ".jpg" for link in links)


def test_prune_removes_links_to_vanished_images(tmp_path: Path, photo: Path) -> None:
    """When the original goes away its dangling symlinks are pruned, emptied albums too."""
    albums = tmp_path / "albums"
    other = photo.with_name("IMG_2.jpg")
    other.write_bytes(b"2")
    sync_album_links(albums, photo, {"Dogs", "Pets"})
    sync_album_links(albums, other, {"Dogs"})
    photo.unlink()
    assert prune_album_links(albums) == 2
    assert [p.name for p in (albums / "Dogs").iterdir()] == [link_name(other)]
    assert not (albums / "Pets").exists()  # nobody left in it: no empty folder lingers


def test_sync_of_a_vanished_image_removes_its_links(tmp_path: Path, photo: Path) -> None:
    """A deleted image is taken out of every album even before a prune."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs"})
    photo.unlink()
    sync_album_links(albums, photo, {"Dogs"})
    assert list((albums / "Dogs").iterdir()) == []


def test_hardlink_mode_links_the_same_inode(tmp_path: Path, photo: Path) -> None:
    """Hardlinks share the original's inode (no pixel copy) and are pruned with it."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs", "Pets"}, mode="hardlink")
    link = albums / "Dogs" / link_name(photo)
    assert not link.is_symlink()
    assert os.path.samefile(link, photo)
    assert photo.stat().st_nlink == 3
    assert prune_album_links(albums) == 0  # the original still exists
    photo.unlink()
    assert prune_album_links(albums) == 2
    assert not (albums / "Dogs").exists()


def test_hardlink_is_refreshed_when_the_original_is_replaced(tmp_path: Path, photo: Path) -> None:
    """An editor that saves by rename gives a new inode; the album follows it."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs"}, mode="hardlink")
    new = photo.with_name("new.tmp")
    new.write_bytes(b"edited")
    new.replace(photo)
    sync_album_links(albums, photo, {"Dogs"}, mode="hardlink")
    assert (albums / "Dogs" / link_name(photo)).read_bytes() == b"edited"


def test_switching_modes_replaces_links(tmp_path: Path, photo: Path) -> None:
    """Changing link mode in config converts existing links on the next sync."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs"}, mode="symlink")
    sync_album_links(albums, photo, {"Dogs"}, mode="hardlink")
    link = albums / "Dogs" / link_name(photo)
    assert not link.is_symlink() and os.path.samefile(link, photo)


def test_prune_retires_albums_no_longer_configured(tmp_path: Path, photo: Path) -> None:
    """Links in folders of removed albums go, and every emptied folder with them."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs", "Old"})
    (albums / "Old" / "notes.txt").write_text("user file")
    sync_album_links(albums, photo, {"Gone"})
    assert prune_album_links(albums, albums={"Dogs"}) == 1
    assert not (albums / "Gone").exists()
    assert (albums / "Old" / "notes.txt").read_text() == "user file"
    assert not (albums / "Dogs").exists()  # its only image moved to "Gone"


def test_refuses_to_manage_a_foreign_folder(tmp_path: Path, photo: Path) -> None:
    """albums_dir pointed at a folder of real photos is refused, and prune does nothing."""
    pictures = tmp_path / "Pictures"
    (pictures / "Dogs").mkdir(parents=True)
    dangling = pictures / "Dogs" / link_name(photo)
    dangling.symlink_to(tmp_path / "missing.jpg")
    with pytest.raises(ValueError, match="not empty"):
        sync_album_links(pictures, photo, {"Dogs"})
    assert prune_album_links(pictures) == 0
    assert dangling.is_symlink()


def test_bad_album_name_is_refused(tmp_path: Path, photo: Path) -> None:
    """An album name cannot escape albums_dir."""
    with pytest.raises(ValueError):
        sync_album_links(tmp_path / "albums", photo, {"../etc"})
