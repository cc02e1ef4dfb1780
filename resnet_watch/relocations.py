"""Renames and deletions, as the watcher's settle thread sees them, turned into library calls.

Events arrive out of order and sometimes not at all: watchdog holds a move's "from" half
up to 0.5 s waiting for its "to" half, a photo moved into a folder created a moment before
(no watch yet) arrives as a deletion plus a new file, and a busy thread delays everything.
So a deletion waits a grace period before our files are removed, and every settled new file
is first checked against the index: same inode, size and mtime under a vanished name is a
rename (tags move over, no model run); same content as a pending deletion is a copy-then-
delete move.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from resnet_watch.known import KnownFile, Library, NewFile
from resnet_watch.scan import Scanner
from resnet_watch.settle import FileSignature

__all__ = ["Relocations"]

Settled = list[tuple[Path, FileSignature]]


class Relocations:
    """Pending deletions and rename detection; used from the settle thread only."""

    def __init__(
        self,
        library: Library,
        scanner: Scanner,
        grace_seconds: float,
        clock: Callable[[], float],
        mark_done: Callable[[Path], None],
    ) -> None:
        self._library = library
        self._scanner = scanner
        self._grace = grace_seconds
        self._clock = clock
        self._mark_done = mark_done
        self._pending: dict[Path, tuple[float, KnownFile]] = {}

    def deleted(self, image: Path) -> None:
        """A photo's delete event (or a move out of the inbox)."""
        known = self._library.known(image)
        if known is None:
            self._library.gone(image)  # nothing indexed: clean up any orphan now
        else:
            self._pending[image] = (self._clock() + self._grace, known)

    def renamed(self, src: Path, dest: Path) -> bool:
        """A rename event inside the inbox; True when ``dest`` needs no model run."""
        self._pending.pop(src, None)
        if self._library.moved(src, dest):
            self._mark_done(dest)
            return True
        return False

    def take_over(self, settled: Settled) -> Settled:
        """The settled files that still need the pipeline (renames are handled here)."""
        rest = [(path, sig) for path, sig in settled if not self._renamed_by_inode(path, sig)]
        if not rest or not self._pending:
            return rest
        pending = {path: known for path, (_, known) in self._pending.items()}
        new = [NewFile(path, sig.size, sig.mtime_ns, sig.inode) for path, sig in rest]
        handled: set[Path] = set()

        def done(path: Path) -> None:
            handled.add(path)
            self._mark_done(path)

        sources, _ = self._scanner.pair(new, pending, lambda _: None, done)
        for src in sources:
            del self._pending[src]
        return [(path, sig) for path, sig in rest if path not in handled]

    def _renamed_by_inode(self, path: Path, signature: FileSignature) -> bool:
        library = self._library
        if library.known(path) is not None:
            return False
        src = library.renamed_from(path, signature.size, signature.mtime_ns, signature.inode)
        if src is None:
            return False
        return self.renamed(src, path)

    def expire(self) -> None:
        """Deletions nothing turned up for within the grace period: remove our files."""
        now = self._clock()
        expired = [p for p, (deadline, _) in self._pending.items() if deadline <= now]
        for path in expired:
            del self._pending[path]
            self._library.gone(path)

    def clear(self) -> None:
        """A full rescan is about to decide about every pending deletion itself."""
        self._pending.clear()
