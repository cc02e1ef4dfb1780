"""What the daemon has been doing, kept in memory for the status page and /metrics.

The daemon feeds every pipeline outcome and worker heartbeat into one ``Activity``
(a few counters, a bounded ring of recent events, a latency histogram and per-minute
throughput); ``StatusSnapshot`` is an immutable copy taken under its lock, so a web
request never holds the lock while rendering. Stdlib only: recording costs
microseconds and does not depend on the web server being enabled.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

__all__ = [
    "LATENCY_BUCKETS",
    "Activity",
    "Event",
    "StatusProvider",
    "StatusSnapshot",
]

# Seconds; an image on a 2-core box takes 30-300 ms end to end, a 50 MP TIFF a few seconds.
LATENCY_BUCKETS: tuple[float, ...] = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
THROUGHPUT_MINUTES = 15
EventKind = Literal["classified", "failed", "skipped", "uploaded", "retried"]


@dataclass(frozen=True)
class Event:
    """One thing that happened to one file."""

    at: float  # wall-clock seconds
    kind: EventKind
    path: str
    detail: str = ""
    ms: float | None = None


@dataclass(frozen=True)
class StatusSnapshot:
    """The daemon's state at one moment; built by the daemon, rendered by the web UI."""

    model: str = ""
    precision: str = ""
    engine: str = ""
    weights_sha256: str = ""
    fixture: bool = False
    version: str = ""
    observer: str = ""
    inbox: tuple[Path, ...] = ()
    started_at: float = 0.0  # wall clock
    uptime_seconds: float = 0.0
    ready: bool = False
    last_heartbeat: float | None = None  # wall clock
    queue_depth: int = 0
    in_flight: int = 0
    pending_retries: int = 0
    submitted: int = 0
    classified: int = 0
    failed: int = 0
    skipped: int = 0
    rss_bytes: int = 0
    # images finished per minute, oldest first, the current (partial) minute last
    throughput: tuple[int, ...] = ()
    latency_buckets: tuple[tuple[float, int], ...] = ()  # (upper bound s, cumulative count)
    latency_sum: float = 0.0
    latency_count: int = 0
    events: tuple[Event, ...] = field(default=())  # newest first


class StatusProvider(Protocol):
    """What the web app needs from the daemon (a fake in tests)."""

    def status_snapshot(self) -> StatusSnapshot: ...

    def retry(self, image: Path) -> bool:
        """Forget ``image``'s failure record and queue it again; False if not possible."""
        ...

    def note_upload(self, image: Path) -> None:
        """Record an upload in the event ring."""
        ...


class Activity:
    """Thread-safe recorder of outcomes, heartbeats and latencies."""

    def __init__(self, max_events: int = 200) -> None:
        self._lock = threading.Lock()
        self._events: deque[Event] = deque(maxlen=max_events)
        self._buckets = [0] * len(LATENCY_BUCKETS)
        self._latency_sum = 0.0
        self._latency_count = 0
        self._minutes: deque[tuple[int, int]] = deque(maxlen=THROUGHPUT_MINUTES)
        self._heartbeat: float | None = None

    def heartbeat(self) -> None:
        with self._lock:
            self._heartbeat = time.time()

    def record(
        self, kind: EventKind, path: Path | str, detail: str = "", ms: float | None = None
    ) -> None:
        now = time.time()
        with self._lock:
            self._events.appendleft(Event(now, kind, str(path), detail, ms))
            if kind in ("classified", "failed"):
                minute = int(now // 60)
                if self._minutes and self._minutes[-1][0] == minute:
                    self._minutes[-1] = (minute, self._minutes[-1][1] + 1)
                else:
                    self._minutes.append((minute, 1))
            if kind == "classified" and ms is not None:
                seconds = ms / 1000
                self._latency_sum += seconds
                self._latency_count += 1
                for i, bound in enumerate(LATENCY_BUCKETS):
                    if seconds <= bound:
                        self._buckets[i] += 1
                        break

    def last_heartbeat(self) -> float | None:
        with self._lock:
            return self._heartbeat

    def events(self) -> tuple[Event, ...]:
        with self._lock:
            return tuple(self._events)

    def throughput(self, now: float | None = None) -> tuple[int, ...]:
        """Images finished in each of the last minutes (zeros filled in), oldest first."""
        current = int((time.time() if now is None else now) // 60)
        with self._lock:
            counts = dict(self._minutes)
        return tuple(counts.get(m, 0) for m in range(current - THROUGHPUT_MINUTES + 1, current + 1))

    def latency(self) -> tuple[tuple[tuple[float, int], ...], float, int]:
        """Cumulative histogram buckets (Prometheus style), sum of seconds, count."""
        with self._lock:
            raw, total, count = list(self._buckets), self._latency_sum, self._latency_count
        cumulative: list[tuple[float, int]] = []
        running = 0
        for bound, n in zip(LATENCY_BUCKETS, raw, strict=True):
            running += n
            cumulative.append((bound, running))
        return tuple(cumulative), total, count
