"""The recently emitted versions: duplicates are recognised, changes and evictions are not."""

from __future__ import annotations

from pathlib import Path

from resnet_watch.emitted import EmittedVersions
from resnet_watch.settle import FileSignature

V1 = FileSignature(size=100, mtime_ns=1, inode=7)
V2 = FileSignature(size=200, mtime_ns=2, inode=7)


def test_the_same_version_is_a_duplicate_and_a_new_one_is_not() -> None:
    """A second event for an emitted version is absorbed; a changed or forgotten file is not."""
    emitted = EmittedVersions()
    a = Path("/inbox/a.jpg")
    assert not emitted.is_current(a, V1)
    emitted.remember(a, V1)
    assert emitted.is_current(a, V1)
    assert not emitted.is_current(a, V2)
    emitted.forget(a)
    assert not emitted.is_current(a, V1)


def test_the_least_recently_seen_file_is_dropped_first() -> None:
    """Beyond capacity the oldest entry goes; a duplicate check counts as a recent use."""
    emitted = EmittedVersions(capacity=2)
    a, b, c = Path("/i/a.jpg"), Path("/i/b.jpg"), Path("/i/c.jpg")
    emitted.remember(a, V1)
    emitted.remember(b, V1)
    assert emitted.is_current(a, V1)  # a is now the most recent
    emitted.remember(c, V1)
    assert emitted.is_current(a, V1)
    assert emitted.is_current(c, V1)
    assert not emitted.is_current(b, V1)
