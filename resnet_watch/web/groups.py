"""The "Similar" page's data: exact, near-duplicate and burst groups from the sidecars'
embeddings, recomputed at most every ``min_interval`` seconds (grouping reads every
sidecar). Read-only: the page shows groups and links to the images, it deletes nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from resnet_watch.similar import Group, find_groups, load_items

__all__ = ["GroupCache"]


class GroupCache:
    """Groups under the inbox roots, cached briefly; thread-safe."""

    def __init__(self, roots: Sequence[Path], suffix: str, min_interval: float = 10.0) -> None:
        self._roots = list(roots)
        self._suffix = suffix
        self._min_interval = min_interval
        self._lock = threading.Lock()
        self._groups: list[Group] = []
        self._missing = 0
        self._at = -1e9

    def groups(self) -> tuple[list[Group], int]:
        """(groups, images without an embedding yet)."""
        with self._lock:
            if time.monotonic() - self._at >= self._min_interval:
                items, self._missing = load_items(self._roots, self._suffix)
                self._groups = find_groups(items)
                self._at = time.monotonic()
            return list(self._groups), self._missing
