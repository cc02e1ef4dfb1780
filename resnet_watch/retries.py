"""When failed images are tried again: one schedule for the local pipeline and the queue.

Both engines hand a failure's ``retry_in`` here and call :meth:`RetrySchedule.resubmit`
from their housekeeping; a path the engine cannot take right now (its queue is full) is
tried again a second later, unless it is already back in flight or the engine stopped.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["RetrySchedule"]


class RetrySchedule:
    """A thread-safe heap of (due time, path)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._heap: list[tuple[float, str]] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._heap)

    def add(self, path: Path, seconds: float, *, now: float | None = None) -> None:
        due = (time.monotonic() if now is None else now) + seconds
        with self._lock:
            heapq.heappush(self._heap, (due, str(path)))

    def resubmit(
        self, submit: Callable[[Path], bool], still_wanted: Callable[[Path], bool]
    ) -> None:
        """``submit`` every path that is due; one refused and ``still_wanted`` waits 1 s."""
        now = time.monotonic()
        due: list[Path] = []
        with self._lock:
            while self._heap and self._heap[0][0] <= now:
                due.append(Path(heapq.heappop(self._heap)[1]))
        for path in due:
            if not submit(path) and still_wanted(path):
                self.add(path, 1.0, now=now)
