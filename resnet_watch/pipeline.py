"""The worker pipeline: bounded queue -> decode threads -> batched inference -> sink.

Paths come in through ``submit`` (blocking when the queue is full: that is the
backpressure that keeps a burst of thousands of files from growing memory).
Decode threads do everything that releases the GIL (reading, hashing, Pillow's
decode and resize) and hand float32 arrays to one inference thread, which
batches what is ready (waiting at most ``batch_wait`` so a single file is not
delayed), runs the model and passes each outcome to the sink.

Nothing here knows about sidecars or watchers: the daemon injects ``gate``
(should this file be processed?) and ``sink`` (record the outcome), which keeps
the core testable with a fake classifier and no filesystem watcher.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import structlog

from resnet_watch.errors import ImageError
from resnet_watch.imaging import ImageLimits, hash_file, preprocess, read_image
from resnet_watch.intake import PathIntake
from resnet_watch.models.spec import Classifier
from resnet_watch.outcomes import Classified, Failed, Gate, Outcome, Sink, Skipped, sink_or_fail
from resnet_watch.retries import RetrySchedule
from resnet_watch.sidecar import FileFacts

__all__ = ["Pipeline", "PipelineSettings"]


@dataclass(frozen=True)
class PipelineSettings:
    limits: ImageLimits
    top_k: int = 5
    min_score: float = 0.0
    decode_threads: int = 2
    batch_size: int = 8
    batch_wait: float = 0.02
    queue_size: int = 64


@dataclass
class _Prepared:
    path: Path
    facts: FileFacts
    width: int
    height: int
    format: str
    array: npt.NDArray[np.float32]
    started: float
    source: str = "decoded"


@dataclass
class _Counters:
    submitted: int = 0
    classified: int = 0
    failed: int = 0
    skipped: int = 0
    batches: int = 0
    extra: dict[str, int] = field(default_factory=dict)


_STOP = object()
_log = structlog.get_logger("resnet_watch.images")


class Pipeline:
    """Runs images through decode and the model; thread-safe ``submit``."""

    def __init__(
        self,
        classifier: Classifier,
        settings: PipelineSettings,
        sink: Sink,
        *,
        gate: Gate | None = None,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self._model = classifier
        self._settings = settings
        self._sink = sink
        self._gate = gate
        self._heartbeat = heartbeat or (lambda: None)
        self._intake = PathIntake(settings.queue_size)
        self._ready: queue.Queue[Any] = queue.Queue(maxsize=max(2, settings.batch_size * 2))
        self._retries = RetrySchedule()
        self._decoders: list[threading.Thread] = []
        self._infer: threading.Thread | None = None
        self.counters = _Counters()

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self._intake.open()
        for i in range(max(1, self._settings.decode_threads)):
            t = threading.Thread(target=self._decode_loop, name=f"rw-decode-{i}", daemon=True)
            t.start()
            self._decoders.append(t)
        self._infer = threading.Thread(target=self._infer_loop, name="rw-infer", daemon=True)
        self._infer.start()

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop taking work; finish images already being decoded or classified.

        Paths still waiting in the queue are dropped: they have no sidecar yet,
        so the next start-up scan picks them up. Returns False on timeout.
        """
        deadline = time.monotonic() + timeout
        self._intake.close()
        for _ in self._decoders:
            self._put_until(self._intake.queue, _STOP, deadline)
        for t in self._decoders:
            t.join(max(0.0, deadline - time.monotonic()))
        self._put_until(self._ready, _STOP, deadline)
        if self._infer is not None:
            self._infer.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in [*self._decoders, *filter(None, [self._infer])])

    def _put_until(self, q: queue.Queue[Any], item: Any, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def update_settings(self, **changes: Any) -> None:
        """Apply settings a SIGHUP may change (top_k, min_score, batch_wait)."""
        self._settings = dataclasses.replace(self._settings, **changes)

    @property
    def alive(self) -> bool:
        return self._infer is not None and self._infer.is_alive()

    # --- intake -----------------------------------------------------------------------

    def submit(self, path: Path, *, block: bool = True) -> bool:
        """Queue one path. Blocks while the queue is full (backpressure).

        Returns False when the path is already queued or being processed (the
        watchers' duplicate events end here) or when the pipeline is stopping.
        """
        if not self._intake.accept(path):
            return False
        self.counters.submitted += 1
        return self._intake.put(path, block=block)

    def queue_depth(self) -> int:
        return self._intake.queue.qsize() + self._ready.qsize()

    def in_flight(self) -> int:
        return self._intake.in_flight()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or in flight (retries pending don't count)."""
        return self._intake.wait_idle(timeout)

    # --- decode stage -----------------------------------------------------------------

    def _decode_loop(self) -> None:
        while True:
            item = self._intake.queue.get()
            if item is _STOP:
                return
            path: Path = item
            try:
                result = self._prepare(path)
            except Exception as exc:  # a bug must cost one image, never the daemon
                # Not the file's fault (imaging raises ImageError for that): keep the traceback.
                _log.error("image_internal_error", path=str(path), exc_info=True)
                result = Failed(path, None, "internal_error", f"{type(exc).__name__}: {exc}", 0.0)
            self._ready.put(result)

    def _prepare(self, path: Path) -> _Prepared | Failed | Skipped:
        started = time.perf_counter()

        def failed(kind: str, message: str, facts: FileFacts | None) -> Failed:
            return Failed(path, facts, kind, message, (time.perf_counter() - started) * 1000)

        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return Skipped(path, "vanished")
        except OSError as exc:
            return failed("unreadable_file", f"cannot stat: {exc.strerror}", None)
        facts = FileFacts.from_stat(path, st)
        refused: tuple[str, str] | None = None
        if stat.S_ISLNK(st.st_mode):
            refused = ("symlink_not_followed", "symbolic link: not followed")
        elif not stat.S_ISREG(st.st_mode):
            refused = ("unreadable_file", "not a regular file")
        # The gate first, for refused files too: their failure record says whether this
        # version was already recorded (a restart must not count a symlink again).
        if self._gate is not None:
            decision = self._gate(path, facts)
            if decision.action == "skip":
                return Skipped(path, decision.reason, facts)
            if decision.action == "wait":
                return Skipped(path, decision.reason, facts, retry_in=decision.wait_seconds)
            if decision.action == "check_hash" and refused is None:
                try:
                    sha = hash_file(path)
                except OSError as exc:
                    return failed("unreadable_file", f"cannot read: {exc.strerror}", facts)
                hashed = FileFacts(facts.name, facts.size, facts.mtime_ns, sha)
                if self._gate(path, hashed).action == "skip":
                    return Skipped(path, "same_content", hashed)
        if refused is not None:
            return failed(*refused, facts)
        spec = self._model.preprocess
        try:
            decoded = read_image(path, self._settings.limits, spec.resize_short)
            array = preprocess(decoded.image, spec)
        except ImageError as exc:
            return failed(exc.kind, str(exc), facts)
        except MemoryError:
            return failed("too_large", "out of memory while decoding", facts)
        facts = FileFacts(facts.name, decoded.size_bytes, facts.mtime_ns, decoded.sha256)
        return _Prepared(
            path,
            facts,
            decoded.width,
            decoded.height,
            decoded.format,
            array,
            started,
            decoded.source,
        )

    # --- inference stage --------------------------------------------------------------

    def _next_batch(self) -> tuple[list[Any], bool]:
        """Up to batch_size ready items; waits at most batch_wait after the first."""
        items: list[Any] = []
        try:
            first = self._ready.get(timeout=0.5)
        except queue.Empty:
            return items, False
        if first is _STOP:
            return items, True
        items.append(first)
        deadline = time.monotonic() + self._settings.batch_wait
        while len(items) < self._settings.batch_size:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._ready.get(timeout=max(0.0, remaining))
                    if remaining > 0
                    else (self._ready.get_nowait())
                )
            except queue.Empty:
                break
            if item is _STOP:
                return items, True
            items.append(item)
        return items, False

    def _infer_loop(self) -> None:
        stop_seen = False
        while True:
            self._resubmit_due()
            items, stop = self._next_batch()
            stop_seen = stop_seen or stop
            if items or self.in_flight() == 0:
                # progress, or nothing to do; not a loop spinning past a hung decode
                self._heartbeat()
            if items:
                self._run_batch(items)
            if stop_seen and self._ready.empty():
                return

    def _run_batch(self, items: list[Any]) -> None:
        prepared = [x for x in items if isinstance(x, _Prepared)]
        for x in items:
            if not isinstance(x, _Prepared):
                self._emit(x)
        if not prepared:
            return
        batch = np.stack([p.array for p in prepared])
        try:
            results = self._model.classify(batch, self._settings.top_k)
            self.counters.batches += 1
        except Exception as exc:
            for p in prepared:
                self._emit(Failed(p.path, p.facts, "model_error", f"{exc}", 0.0))
            return
        finally:
            del batch
        done = time.perf_counter()
        for p, result in zip(prepared, results, strict=True):
            labels = result.labels
            kept = [lab for lab in labels if lab.score >= self._settings.min_score] or labels[:1]
            elapsed = (done - p.started) * 1000
            self._emit(
                Classified(
                    p.path,
                    p.facts,
                    p.width,
                    p.height,
                    p.format,
                    kept,
                    elapsed,
                    features=result.features,
                    source=p.source,
                )
            )
        prepared.clear()

    def _emit(self, outcome: Outcome) -> None:
        retry_in: float | None = None
        try:
            if isinstance(outcome, Skipped) and outcome.retry_in is not None:
                retry_in = outcome.retry_in
            else:
                outcome, retry_in = self._sink_or_fail(outcome)
        finally:
            if isinstance(outcome, Classified):
                self.counters.classified += 1
            elif isinstance(outcome, Failed):
                self.counters.failed += 1
            else:
                self.counters.skipped += 1
            self._intake.release(outcome.path)
        if retry_in is not None:
            self._retries.add(outcome.path, retry_in)

    def _sink_or_fail(self, outcome: Outcome) -> tuple[Outcome, float | None]:
        return sink_or_fail(self._sink, outcome)

    def _resubmit_due(self) -> None:
        self._retries.resubmit(lambda p: self.submit(p, block=False), self._intake.still_wanted)

    def pending_retries(self) -> int:
        return len(self._retries)
