"""The watcher's side of several machines: enqueue photos, write what comes back.

``QueueDispatcher`` stands where the local ``Pipeline`` stands (same ``submit``,
counters and ``stop``), so the watcher and the daemon do not change. A sender
thread checks each path against its sidecar (``gate``), then sends a task (path +
content facts, never bytes) once fewer than ``max_in_flight`` are out; a collector
thread reads the workers' replies and writes the sidecars (``reply_outcome``).

Who writes the sidecars: the watcher, from the returned labels. One writer per
library keeps the commit-marker order (XMP and album links, then the JSON) and
the atomic writes in one place, makes album links point at the watcher's own
paths, keeps the tag/album config on one machine, and lets workers mount the
photos read-only. A duplicate reply (a redelivered task) is checked against the
sidecar before writing, so each photo's sidecar is written once.

Redis down: sends and reads fail fast, the dispatcher logs ``queue_unreachable``
once (``health``), keeps every path it holds (the watcher blocks on ``submit``,
its backlog stays on disk) and carries on when Redis answers. A Redis restart
(new ``run_id``) may have lost queued tasks and replies, so every task in flight
is sent again; a task without a reply after ``result_timeout`` is sent again too.
Duplicates cost a quick check on the worker, never a second sidecar.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_watch.intake import PathIntake
from resnet_watch.models.spec import ModelInfo
from resnet_watch.outcomes import Classified, Failed, Outcome, Sink, Skipped, sink_or_fail
from resnet_watch.queue.gate import TaskGate
from resnet_watch.queue.health import RedisHealth
from resnet_watch.queue.reply_outcome import classified_from
from resnet_watch.queue.task import Reply, Task, model_from_json, model_key, reply_key
from resnet_watch.retries import RetrySchedule

__all__ = ["DispatchSettings", "QueueDispatcher"]

_STOP = object()


@dataclass(frozen=True)
class DispatchSettings:
    prefix: str
    max_in_flight: int = 64
    queue_size: int = 64
    result_timeout: float = 900.0
    suffix: str = ".resnet-watch.json"
    retries: int = 3
    reclassify_on_model_change: bool = True
    poll_seconds: float = 1.0  # longest wait for a reply; also how often run_id is checked


@dataclass
class DispatchCounters:
    submitted: int = 0
    sent: int = 0
    resent: int = 0
    classified: int = 0
    failed: int = 0
    skipped: int = 0
    duplicates: int = 0
    batches: int = 0  # the local pipeline's field; no batches here


@dataclass
class _Pending:
    task: Task
    sent_at: float  # monotonic


class QueueDispatcher:
    """Sends photos to Redis for workers and records their replies; thread-safe ``submit``."""

    def __init__(
        self,
        settings: DispatchSettings,
        send: Callable[[dict[str, Any]], None],
        redis: Any,
        sink_for: Callable[[ModelInfo], Sink],
        log: Any,
        *,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self._settings = settings
        self._send_raw = send
        self._redis = redis
        self._sink_for = sink_for
        self._log = log
        self._heartbeat = heartbeat or (lambda: None)
        self._reply_key = reply_key(settings.prefix)
        self._gate = TaskGate(
            settings.suffix,
            settings.retries,
            settings.reclassify_on_model_change,
            self._reply_key,
        )
        self._intake = PathIntake(settings.queue_size)  # queued here or in flight
        self._stopping = self._intake.closing
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # _in_flight shrank
        self._send_lock = threading.Lock()
        self._in_flight: dict[Path, _Pending] = {}
        self._retries = RetrySchedule()
        self._threads: list[threading.Thread] = []
        self._health = RedisHealth(
            log, lambda: {"in_flight": self.tasks_in_redis(), "waiting": self.queue_depth()}
        )
        self.model: ModelInfo | None = None
        self.counters = DispatchCounters()

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self._intake.open()
        self._refresh_model()
        for name, target in (
            ("rw-queue-send", self._send_loop),
            ("rw-queue-reply", self._reply_loop),
        ):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop sending; paths not yet sent are dropped (no sidecar: the next start sends them).

        Tasks already in Redis stay there; their replies wait for the next start.
        """
        self._intake.close()
        with contextlib.suppress(queue.Full):
            self._intake.queue.put_nowait(_STOP)
        with self._changed:
            self._changed.notify_all()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def update_settings(self, **changes: Any) -> None:
        """Model settings live on the workers; nothing here changes on SIGHUP."""

    @property
    def alive(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    @property
    def reachable(self) -> bool:
        """False while Redis does not answer (/healthz says 503, doctor says why)."""
        return self._health.reachable

    def health_error(self) -> str:
        return self._health.error

    # --- intake (the watcher calls these, as it calls Pipeline's) ----------------------

    def submit(self, path: Path, *, block: bool = True) -> bool:
        """Queue one path; blocks while the queue is full (and so while Redis is down)."""
        if not self._intake.accept(path):
            return False
        self.counters.submitted += 1
        return self._intake.put(path, block=block)

    def queue_depth(self) -> int:
        return self._intake.queue.qsize()

    def in_flight(self) -> int:
        return self._intake.in_flight()

    def tasks_in_redis(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def pending_retries(self) -> int:
        return len(self._retries)

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._intake.wait_idle(timeout)

    def _release(self, path: Path) -> None:
        with self._changed:
            self._in_flight.pop(path, None)
            self._changed.notify_all()
        self._intake.release(path)

    # --- sending ----------------------------------------------------------------------

    def _send_loop(self) -> None:
        while True:
            item = self._intake.queue.get()
            if item is _STOP:
                return
            path: Path = item
            try:
                task = self._check(path)
            except Exception as exc:  # a bug must cost one image, never the watcher
                self._emit(Failed(path, None, "internal_error", f"{type(exc).__name__}: {exc}", 0))
                continue
            if task is None:
                continue
            if not self._wait_for_slot():
                self._release(path)
                return
            with self._lock:
                self._in_flight[path] = _Pending(task, time.monotonic())
            if not self._send_until_sent(task):
                self._release(path)
                return

    def _check(self, path: Path) -> Task | None:
        """The task for ``path``, or None when it needs no work now (outcome emitted)."""
        checked = self._gate.task_for(path, self.model)
        if isinstance(checked, Task):
            return checked
        if isinstance(checked, Skipped) and checked.retry_in is not None:
            self._retry_later(path, checked.retry_in)
            self._release(path)
        else:
            self._emit(checked)
        return None

    def _wait_for_slot(self) -> bool:
        """Back-pressure: at most ``max_in_flight`` tasks in Redis. False when stopping."""
        with self._changed:
            while len(self._in_flight) >= self._settings.max_in_flight:
                if self._stopping.is_set():
                    return False
                self._changed.wait(0.5)
        return not self._stopping.is_set()

    def _send_until_sent(self, task: Task) -> bool:
        while not self._stopping.is_set():
            if self._send(task):
                return True
            self._stopping.wait(1.0)
        return False

    def _send(self, task: Task) -> bool:
        try:
            with self._send_lock:
                self._send_raw(task.to_json())
        except Exception as exc:  # kombu OperationalError, redis ConnectionError, timeouts
            self._health.failed(exc)
            return False
        self._health.answered()
        self.counters.sent += 1
        return True

    # --- replies ----------------------------------------------------------------------

    def _reply_loop(self) -> None:
        next_check = 0.0
        while not self._stopping.is_set():
            self._heartbeat()
            self._resubmit_due()
            try:
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + self._settings.poll_seconds
                    self._check_redis()
                    self._resend_overdue()
                item = self._redis.blpop([self._reply_key], timeout=self._settings.poll_seconds)
            except Exception as exc:
                self._health.failed(exc)
                self._stopping.wait(1.0)
                continue
            self._health.answered()
            if item is None:
                continue
            try:
                reply = Reply.from_json(json.loads(item[1]))
            except (ValueError, KeyError, TypeError) as exc:
                self._log.error("queue_reply_invalid", error=str(exc))
                continue
            try:
                self._handle(reply)
            except Exception:  # never lose the thread; the image comes back at a rescan
                self._log.error("queue_reply_failed", path=reply.path, exc_info=True)

    def _check_redis(self) -> None:
        """Notice a Redis restart (its run_id changes) and pick up the workers' model."""
        run_id = str(self._redis.info("server").get("run_id", ""))
        if self._health.restarted(run_id):
            with self._lock:
                pending = list(self._in_flight.values())
            self._log.warning("queue_redis_restarted", resending=len(pending))
            for item in pending:
                self._resend(item, "redis_restarted")
        self._refresh_model()

    def _refresh_model(self) -> None:
        with contextlib.suppress(Exception):
            raw = self._redis.get(model_key(self._settings.prefix))
            if raw:
                self.model = model_from_json(json.loads(raw))

    def _resend_overdue(self) -> None:
        now = time.monotonic()
        with self._lock:
            overdue = [
                p
                for p in self._in_flight.values()
                if now - p.sent_at > self._settings.result_timeout
            ]
        for item in overdue:
            self._resend(item, "no_reply")

    def _resend(self, pending: _Pending, reason: str) -> None:
        if self._send(pending.task):
            pending.sent_at = time.monotonic()
            self.counters.resent += 1
            self._log.info("task_resent", path=pending.task.path, reason=reason)

    def _handle(self, reply: Reply) -> None:
        path = Path(reply.path)
        with self._lock:
            ours = path in self._in_flight
        if reply.model is not None:
            self.model = reply.model
        try:
            if reply.status == "ok" and reply.model is not None:
                if self._gate.already_written(path, reply.facts, reply.model):
                    self.counters.duplicates += 1
                    self._emit(
                        Skipped(path, "duplicate_reply", reply.facts), reply.model, release=False
                    )
                else:
                    self._emit(classified_from(reply), reply.model, release=False)
            elif reply.status == "failed":
                if ours or not self._gate.already_written(path, reply.facts, reply.model):
                    fail = Failed(path, reply.facts, reply.kind, reply.message, reply.elapsed_ms)
                    self._emit(fail, reply.model, release=False)
            elif reply.kind == "changed_since_queued":
                self._retry_later(path, 1.0)
            else:
                self._emit(Skipped(path, reply.kind, reply.facts), reply.model, release=False)
        finally:
            if ours:
                self._release(path)

    def _emit(
        self, outcome: Outcome, model: ModelInfo | None = None, *, release: bool = True
    ) -> None:
        retry_in: float | None = None
        sink_model = model or self.model
        try:
            if sink_model is not None:
                outcome, retry_in = sink_or_fail(self._sink_for(sink_model), outcome)
            elif not isinstance(outcome, Skipped):
                # no worker has reported its model yet: nothing to record it with; retry
                retry_in = 5.0
        finally:
            if isinstance(outcome, Classified):
                self.counters.classified += 1
            elif isinstance(outcome, Failed):
                self.counters.failed += 1
            else:
                self.counters.skipped += 1
            if release:
                self._release(outcome.path)
        if retry_in is not None:
            self._retry_later(outcome.path, retry_in)

    def _retry_later(self, path: Path, seconds: float) -> None:
        self._retries.add(path, seconds)

    def _resubmit_due(self) -> None:
        self._retries.resubmit(lambda p: self.submit(p, block=False), self._intake.still_wanted)
