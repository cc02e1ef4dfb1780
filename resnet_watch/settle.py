"""When a file has stopped changing: the settle rule, pure given a clock and ``lstat``.

A file is ready when it had no event for ``settle_seconds`` and its ``lstat`` signature is
the one recorded at its last event (the Paperless-ngx stability rule). Network shares never
send "closed after writing", so this check is needed whatever the observer.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, Protocol

__all__ = ["FileSignature", "StabilityTracker", "StatLike", "emittable"]


class StatLike(Protocol):
    """The fields of ``os.stat_result`` the tracker reads (lets tests pass fakes)."""

    @property
    def st_mode(self) -> int: ...
    @property
    def st_ino(self) -> int: ...
    @property
    def st_size(self) -> int: ...
    @property
    def st_mtime_ns(self) -> int: ...


class FileSignature(NamedTuple):
    """What identifies one version of a file without reading it."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, st: StatLike) -> FileSignature:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)


def _lstat(path: Path) -> StatLike:
    return os.lstat(path)


def emittable(st: StatLike) -> bool:
    """Regular files and symlinks (recorded by the pipeline as not followed); never FIFOs etc."""
    return stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)


class _Pending:
    __slots__ = ("last_change", "signature")

    def __init__(self, last_change: float, signature: FileSignature | None) -> None:
        self.last_change = last_change
        self.signature = signature


class StabilityTracker:
    """Decides when a file has stopped changing. Not thread-safe; pure given clock and stat.

    A path is ready when it had no event for ``settle_seconds`` and its ``lstat`` signature is
    the one recorded at its last event (or last check). A changed signature restarts the timer,
    a vanished path or one that is neither a regular file nor a symlink is dropped.
    """

    def __init__(
        self,
        settle_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        stat_fn: Callable[[Path], StatLike] = _lstat,
    ) -> None:
        self._settle = settle_seconds
        self._clock = clock
        self._stat = stat_fn
        self._pending: dict[Path, _Pending] = {}

    def touch(self, path: Path) -> None:
        """An event was seen for ``path``: (re)start its timer and record its current stat."""
        self._pending[path] = _Pending(self._clock(), self._signature(path))

    def forget(self, path: Path) -> None:
        """Stop tracking ``path`` (it was deleted or moved away)."""
        self._pending.pop(path, None)

    def ready(self) -> list[Path]:
        """Paths that are settled now; they are no longer tracked afterwards."""
        return [path for path, _ in self.ready_with_signature()]

    def ready_with_signature(self) -> list[tuple[Path, FileSignature]]:
        """Like :meth:`ready`, with the signature that was verified as stable."""
        now = self._clock()
        settled: list[tuple[Path, FileSignature]] = []
        for path, entry in list(self._pending.items()):
            if now - entry.last_change < self._settle:
                continue
            try:
                st = self._stat(path)
            except OSError:
                del self._pending[path]
                continue
            if not emittable(st):
                del self._pending[path]
                continue
            signature = FileSignature.of(st)
            if signature != entry.signature:
                entry.signature = signature
                entry.last_change = now
                continue
            del self._pending[path]
            settled.append((path, signature))
        return settled

    def pending(self) -> int:
        """How many paths are waiting to settle."""
        return len(self._pending)

    def _signature(self, path: Path) -> FileSignature | None:
        try:
            return FileSignature.of(self._stat(path))
        except OSError:
            return None
