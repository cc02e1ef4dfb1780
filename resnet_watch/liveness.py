"""Is the whole daemon making progress? One heartbeat per loop, judged together.

The watchdog ping (WATCHDOG=1) and /healthz must mean "every part moves", not "one
thread moves": a watcher wedged on a hung NFS mount, next to an idle but healthy
inference loop, is a daemon that silently stopped working. Each long-running loop
(the pipeline's inference loop, the watcher's settle loop) beats here; the daemon pings
systemd only while every part beat recently.

A part legitimately parked on another (the watcher blocked on a full pipeline queue) says
so with ``waiting_on``: it then counts as alive for as long as the part it waits on beats.
Leaf module: stdlib only.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence

__all__ = ["Liveness"]


class Liveness:
    """Last heartbeat per named part (monotonic clock); thread-safe."""

    def __init__(self, parts: Sequence[str], *, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._beats: dict[str, float] = dict.fromkeys(parts, now)
        self._waiting: dict[str, str] = {}

    def beat(self, part: str) -> None:
        """``part`` made progress just now."""
        now = self._clock()
        with self._lock:
            self._beats[part] = now

    def beater(self, part: str) -> Callable[[], None]:
        """A no-argument callable that beats ``part`` (for the loops' ``heartbeat=``)."""
        return lambda: self.beat(part)

    @contextlib.contextmanager
    def waiting_on(self, part: str, other: str) -> Iterator[None]:
        """While inside, ``part`` is as alive as ``other`` (backpressure, not a hang)."""
        with self._lock:
            self._waiting[part] = other
        try:
            yield
        finally:
            now = self._clock()
            with self._lock:
                self._waiting.pop(part, None)
                self._beats[part] = now

    def ages(self) -> dict[str, float]:
        """Seconds since each part last made progress (waits resolved)."""
        now = self._clock()
        with self._lock:
            beats = dict(self._beats)
            waiting = dict(self._waiting)
        ages = {}
        for part, at in beats.items():
            other = waiting.get(part)
            if other is not None and other in beats:
                at = max(at, beats[other])
            ages[part] = max(0.0, now - at)
        return ages

    def stalled(self, max_age: float) -> list[str]:
        """The parts that made no progress for longer than ``max_age`` seconds."""
        return sorted(part for part, age in self.ages().items() if age > max_age)
