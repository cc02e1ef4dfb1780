"""The paths handed over by the watcher and not yet done: what the local pipeline and the
queue dispatcher both put in front of their worker threads.

Both promise the watcher the same things: a path already queued or being worked on is
refused (a duplicate event ends here), a full queue blocks the caller (backpressure), and
``wait_idle`` returns once every accepted path has been released. Keeping that in one place
keeps the two modes from drifting apart.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["PathIntake"]


class PathIntake:
    """A bounded queue of paths and the set of paths accepted and not yet released."""

    def __init__(self, maxsize: int) -> None:
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self.closing = threading.Event()
        self._active: set[Path] = set()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._accepting = False

    def open(self) -> None:
        self._accepting = True

    def accept(self, path: Path) -> bool:
        """Claim ``path``; False when it is already claimed or the intake is closed."""
        with self._lock:
            if not self._accepting or path in self._active:
                return False
            self._active.add(path)
            return True

    def put(self, path: Path, *, block: bool) -> bool:
        """Queue a claimed path; blocks while full unless ``block`` is False or closing.
        A path that could not be queued is released."""
        while True:
            try:
                self.queue.put(path, timeout=0.2 if block else 0)
                return True
            except queue.Full:
                if not block or self.closing.is_set():
                    self.release(path)
                    return False

    def release(self, path: Path) -> None:
        with self._idle:
            self._active.discard(path)
            if not self._active:
                self._idle.notify_all()

    def close(self) -> None:
        """Refuse new paths and release the ones still waiting in the queue (they have no
        sidecar yet, so the next start-up scan finds them again)."""
        self._accepting = False
        self.closing.set()
        with contextlib.suppress(queue.Empty):
            while True:
                item = self.queue.get_nowait()
                if isinstance(item, Path):
                    self.release(item)

    def in_flight(self) -> int:
        with self._lock:
            return len(self._active)

    def still_wanted(self, path: Path) -> bool:
        """True when a retry of ``path`` is worth submitting: open, and not claimed now."""
        with self._lock:
            return self._accepting and path not in self._active

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every accepted path is released; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._active:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(0.2 if remaining is None else min(0.2, remaining))
        return True
