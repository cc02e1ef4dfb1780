"""The file versions the watcher recently handed on, so duplicate events do not re-queue them.

Duplicate events are watchdog's most reported bug class; a bounded LRU of path -> signature
absorbs them. The long-term memory of what is done is the library (the sidecar index), not
this map, so forgetting the oldest entries costs at most one more skip decision.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from resnet_watch.settle import FileSignature

__all__ = ["EMITTED_MEMORY", "EmittedVersions"]

EMITTED_MEMORY = 10_000
"""Recently emitted files remembered (LRU) so duplicate events do not re-queue them."""


class EmittedVersions:
    """Bounded LRU of the last emitted signature per path; the caller holds the lock."""

    def __init__(self, capacity: int = EMITTED_MEMORY) -> None:
        self._capacity = capacity
        self._signatures: OrderedDict[Path, FileSignature] = OrderedDict()

    def is_current(self, path: Path, signature: FileSignature) -> bool:
        """True if this very version of ``path`` was emitted already (and keep it fresh)."""
        if self._signatures.get(path) == signature:
            self._signatures.move_to_end(path)
            return True
        return False

    def remember(self, path: Path, signature: FileSignature) -> None:
        """Record ``path`` as emitted at ``signature``, dropping the oldest beyond capacity."""
        self._signatures[path] = signature
        self._signatures.move_to_end(path)
        while len(self._signatures) > self._capacity:
            self._signatures.popitem(last=False)

    def forget(self, path: Path) -> None:
        """``path`` changed, moved or failed: its next settled version is emitted again."""
        self._signatures.pop(path, None)
