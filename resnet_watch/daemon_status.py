"""What the daemon says about itself: to systemd (STATUS=, WATCHDOG=1) and to the web UI.

Kept apart from the lifecycle so that reporting can read the running parts without
steering them: the watchdog is pinged only while every part makes progress (a wedged
watcher next to an idle pipeline is a daemon that stopped working), each outcome feeds
the activity ring and latency histogram, and the status page gets one consistent copy.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from resnet_watch import __version__
from resnet_watch.liveness import Liveness
from resnet_watch.models.spec import ModelInfo
from resnet_watch.notify import Notifier
from resnet_watch.outcomes import Classified, Failed, Outcome, Sink
from resnet_watch.pipeline import Pipeline
from resnet_watch.process_memory import rss_bytes
from resnet_watch.watcher import Watcher
from resnet_watch.web.activity import Activity, StatusSnapshot

if TYPE_CHECKING:
    import structlog

    from resnet_watch.queue.dispatcher import QueueDispatcher

__all__ = ["STALL_SECONDS", "StallCheck", "observed", "status_line", "status_snapshot"]

STALL_SECONDS = 30.0
"""A part (pipeline, watcher) without progress for this long stops the watchdog pings
(half the watchdog timeout when systemd runs one)."""


class StallCheck:
    """Ping the watchdog and /healthz only while every part makes progress."""

    def __init__(
        self,
        liveness: Liveness,
        notifier: Notifier,
        activity: Activity,
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self._liveness = liveness
        self._notifier = notifier
        self._activity = activity
        self._log = log
        self._stalled: list[str] = []

    def __call__(self) -> None:
        interval = self._notifier.watchdog_interval
        limit = interval / 2 if interval else STALL_SECONDS
        stalled = self._liveness.stalled(limit)
        if not stalled:
            if self._stalled:
                self._log.info("daemon_progressing", recovered=self._stalled)
            self._stalled = []
            self._activity.heartbeat()
            self._notifier.watchdog()
            return
        if stalled != self._stalled:
            ages = self._liveness.ages()
            self._log.error(
                "daemon_stalled",
                parts=stalled,
                seconds={p: round(ages[p], 1) for p in stalled},
                limit_seconds=limit,
            )
        self._stalled = stalled


def observed(sink: Sink, activity: Activity) -> Sink:
    """The store's sink, also feeding the activity ring and latency histogram."""

    def observed_sink(outcome: Outcome) -> float | None:
        result = sink(outcome)
        if isinstance(outcome, Classified):
            top = outcome.labels[0]
            detail = f"{top.name} {top.score:.0%}"
            activity.record("classified", outcome.path, detail, outcome.elapsed_ms)
        elif isinstance(outcome, Failed):
            detail = f"{outcome.kind}: {outcome.message}"
            activity.record("failed", outcome.path, detail, outcome.elapsed_ms)
        else:
            activity.record("skipped", outcome.path, outcome.reason)
        return result

    return observed_sink


def status_line(pipeline: Pipeline | QueueDispatcher | None) -> str:
    """systemd's STATUS=: the counters ``systemctl status`` shows."""
    p = pipeline
    if p is None:
        return "starting"
    c = p.counters
    return (
        f"classified {c.classified}, failed {c.failed}, skipped {c.skipped}, "
        f"queue {p.queue_depth()}"
    )


def status_snapshot(
    *,
    pipeline: Pipeline | QueueDispatcher | None,
    watcher: Watcher | None,
    info: ModelInfo | None,
    inbox: tuple[Path, ...],
    activity: Activity,
    started_wall: float,
    started_mono: float,
    started: bool,
    stopping: bool,
) -> StatusSnapshot:
    """A consistent copy of what the daemon is doing; safe from any thread."""
    p, w = pipeline, watcher
    buckets, latency_sum, latency_count = activity.latency()
    counters = p.counters if p is not None else None
    return StatusSnapshot(
        model=info.name if info else "",
        precision=info.precision if info else "",
        engine=info.engine if info else "",
        weights_sha256=info.weights_sha256 if info else "",
        fixture=bool(info.fixture) if info else False,
        version=__version__,
        observer=w.observer_kind if w is not None else "",
        inbox=inbox,
        started_at=started_wall,
        uptime_seconds=time.monotonic() - started_mono,
        ready=started
        and p is not None
        and p.alive
        and getattr(p, "reachable", True)  # queue mode: Redis answers
        and not stopping,
        last_heartbeat=activity.last_heartbeat(),
        queue_depth=p.queue_depth() if p is not None else 0,
        in_flight=p.in_flight() if p is not None else 0,
        pending_retries=p.pending_retries() if p is not None else 0,
        submitted=counters.submitted if counters else 0,
        classified=counters.classified if counters else 0,
        failed=counters.failed if counters else 0,
        skipped=counters.skipped if counters else 0,
        rss_bytes=rss_bytes(),
        throughput=activity.throughput(),
        latency_buckets=buckets,
        latency_sum=latency_sum,
        latency_count=latency_count,
        events=activity.events(),
    )
