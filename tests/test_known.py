"""Matching files that vanished with files that appeared: renames keep their tags."""

from __future__ import annotations

from pathlib import Path

from resnet_watch.known import KnownFile, NewFile, match_moves


def known(size: int, mtime: int, inode: int, sha: str | None = None) -> KnownFile:
    return KnownFile(size, mtime, inode, sha, True, "x.json", 1, 1)


def no_hash(path: Path) -> str | None:
    raise AssertionError(f"{path} should not have been read")


def test_a_rename_matches_on_size_mtime_and_inode_without_reading() -> None:
    """A plain rename keeps size, mtime and inode: matched without hashing."""
    vanished = {Path("/in/a.jpg"): known(10, 5, 77), Path("/in/b.jpg"): known(10, 5, 78)}
    new = [NewFile(Path("/in/x/b2.jpg"), 10, 5, 78)]
    assert match_moves(vanished, new, no_hash) == [(Path("/in/b.jpg"), Path("/in/x/b2.jpg"))]


def test_a_copy_then_delete_matches_by_content_hash() -> None:
    """A new inode and mtime (another disk) still matches when the sha256 is the recorded one."""
    vanished = {
        Path("/in/a.jpg"): known(10, 5, 77, "aa"),
        Path("/in/b.jpg"): known(10, 5, 78, "bb"),
    }
    new = [NewFile(Path("/in/c.jpg"), 10, 9, 99)]
    assert match_moves(vanished, new, lambda _: "bb") == [(Path("/in/b.jpg"), Path("/in/c.jpg"))]


def test_different_content_or_size_is_not_a_rename() -> None:
    """A new photo of another size, or same size and other content, is classified as new."""
    vanished = {Path("/in/a.jpg"): known(10, 5, 77, "aa")}
    assert match_moves(vanished, [NewFile(Path("/in/n.jpg"), 11, 5, 77)], no_hash) == []
    assert match_moves(vanished, [NewFile(Path("/in/n.jpg"), 10, 6, 1)], lambda _: "zz") == []


def test_each_vanished_file_matches_once() -> None:
    """Two copies of one deleted photo: only one takes over its sidecar."""
    vanished = {Path("/in/a.jpg"): known(10, 5, 77, "aa")}
    new = [NewFile(Path("/in/c1.jpg"), 10, 6, 1), NewFile(Path("/in/c2.jpg"), 10, 6, 2)]
    assert len(match_moves(vanished, new, lambda _: "aa")) == 1
