"""What the watcher asks about files it has seen before, and how renames are matched.

The watcher must not re-submit 200,000 unchanged files at every rescan, nor hold them in
memory. It asks a :class:`Library` (the daemon's sidecar index) folder by folder what it
knows, and tells it about renames and deletions so sidecars, XMP and album links follow
the photo. This module is the contract only; nothing here touches the disk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

__all__ = ["KnownFile", "Library", "NewFile", "match_moves"]


class KnownFile(NamedTuple):
    """One indexed image: the file version its sidecar describes, and that sidecar."""

    size: int
    mtime_ns: int
    inode: int
    sha256: str | None
    done: bool  # classified by the current model, or given up on: nothing to do
    sidecar_name: str
    sidecar_size: int
    sidecar_mtime_ns: int


class NewFile(NamedTuple):
    """A candidate a rescan found that the library does not know under this name."""

    path: Path
    size: int
    mtime_ns: int
    inode: int


class Library(Protocol):
    """The daemon's view of its tagged files (see ``catalog.Catalog``)."""

    def known_in(self, folder: Path) -> Mapping[str, KnownFile]:
        """Indexed images directly in ``folder``, by file name."""
        ...

    def known(self, image: Path) -> KnownFile | None:
        """One indexed image, or None."""
        ...

    def renamed_from(self, image: Path, size: int, mtime_ns: int, inode: int) -> Path | None:
        """An indexed file that no longer exists and has this inode, size and mtime."""
        ...

    def known_folders(self) -> Iterable[Path]:
        """Every folder holding an indexed image (finds folders deleted while we were down)."""
        ...

    def moved(self, src: Path, dest: Path) -> bool:
        """``src`` was renamed to ``dest``: move our files; False when the model must run."""
        ...

    def gone(self, image: Path) -> None:
        """``image`` was deleted or moved out: remove our files for it."""
        ...

    def gone_folder(self, folder: Path) -> None:
        """A whole folder was deleted or moved out."""
        ...


def match_moves(
    vanished: Mapping[Path, KnownFile],
    new: Iterable[NewFile],
    sha256_of: Callable[[Path], str | None],
) -> list[tuple[Path, Path]]:
    """Pair files that disappeared with files that appeared: (old path, new path).

    A rename keeps size, mtime and inode, so those three together are a match without
    reading anything. A copy-then-delete (another disk, a sync tool) keeps only the
    content: then a same-size candidate is hashed and must equal the recorded sha256.
    Each vanished file matches at most one new file.
    """
    by_size: dict[int, list[Path]] = {}
    for path, known in vanished.items():
        by_size.setdefault(known.size, []).append(path)
    taken: set[Path] = set()
    pairs: list[tuple[Path, Path]] = []
    for candidate in new:
        olds = [p for p in by_size.get(candidate.size, ()) if p not in taken]
        if not olds:
            continue
        same_inode = [
            p
            for p in olds
            if vanished[p].inode == candidate.inode and vanished[p].mtime_ns == candidate.mtime_ns
        ]
        match = same_inode[0] if same_inode else None
        if match is None:
            digest = sha256_of(candidate.path)
            match = next((p for p in olds if digest and vanished[p].sha256 == digest), None)
        if match is not None:
            taken.add(match)
            pairs.append((match, candidate.path))
    return pairs
