"""Measurement helpers: RSS sampling, percentiles, and one row of the end-to-end table."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["MB", "Line", "RssSampler", "current_rss", "cycled", "make_line", "percentile"]

MB = 1024 * 1024


def current_rss() -> int:
    from resnet_watch.process_memory import rss_bytes

    return rss_bytes()


class RssSampler:
    """Peak RSS over a block, sampled every few ms (``ru_maxrss`` never goes down, so it
    would report the import or corpus peak instead of this block's)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = self.start = 0
        self.began = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, current_rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.start = self.peak = current_rss()
        self.began = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss())

    def timing(
        self, done_at: list[float], latencies: list[float]
    ) -> tuple[float, list[float], list[float]]:
        return self.began, done_at, latencies

    def rss(self, import_rss: int) -> tuple[int, int, int]:
        return import_rss, self.start, self.peak


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class Line:
    """One row of the end-to-end table."""

    key: str
    name: str
    note: str
    images: int  # counted (after warm-up)
    images_per_s: float
    p50_ms: float
    p95_ms: float
    peak_rss_mb: float
    peak_above_import_mb: float
    peak_above_line_start_mb: float  # what this line itself added
    failed: int = 0
    ratio: float | None = None  # images/s over the baseline's
    extra: dict[str, Any] = field(default_factory=dict)


def make_line(
    key: str,
    name: str,
    note: str,
    timing: tuple[float, list[float], list[float]],
    warmup: int,
    rss: tuple[int, int, int],
    failed: int = 0,
) -> Line:
    """Steady-state rate: the results after the first ``warmup`` over the time they took.

    ``timing`` is (start, completion times, latencies); ``rss`` is (after imports, at the
    line's start, peak). Results of one batch complete together, so the clock starts at
    the last warm-up result and counts what completed strictly after it; when nothing did
    (a tiny run), the whole run from ``start`` is counted."""
    start, done_at, latencies_ms = timing
    done_at = sorted(done_at)
    warm = min(max(0, warmup), len(done_at))
    t0 = done_at[warm - 1] if warm else start
    counted = sum(1 for t in done_at if t > t0)
    if counted == 0 or done_at[-1] <= t0:
        t0, counted = start, len(done_at)
    lat = latencies_ms[warm:] if len(latencies_ms) > warm else latencies_ms
    import_rss, line_rss, peak = rss
    return Line(
        key,
        name,
        note,
        counted,
        counted / max(1e-9, done_at[-1] - t0) if done_at else 0.0,
        percentile(lat, 50),
        percentile(lat, 95),
        peak / MB,
        (peak - import_rss) / MB,
        (peak - line_rss) / MB,
        failed,
    )


def cycled(paths: Sequence[Path], n: int) -> list[Path]:
    if not paths:
        return []
    return [paths[i % len(paths)] for i in range(n)]
