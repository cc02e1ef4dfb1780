"""Watch inbox folders and hand each new or changed, fully written file to the pipeline once.

watchdog runs event handlers on its observer thread, under its lock, and an exception there
kills the thread silently; inotify drops events on queue overflow without telling anyone; and
network filesystems deliver no inotify events at all. So the design is:

* the watchdog handler (``watch_events.py``) only appends ``(kind, path)`` to a queue and
  returns;
* our own "settle" thread drains that queue into a :class:`StabilityTracker`, emits files that
  have had no event for ``settle_seconds`` and whose ``lstat`` did not change meanwhile, runs
  the periodic full rescan (which recovers lost events) and a health check that restarts a
  dead or stuck observer (``observer_supervisor.py``);
* the daemon's library (the sidecar index, see ``known.Library``) says which files are done,
  so a rescan of a big library costs stats and skips every unchanged file; a small map of
  recently emitted files (``emitted.py``) only keeps duplicate events from re-emitting a file
  in the queue;
* a rename or move inside the inbox is reported to the library, which carries the sidecars
  along (no model run); a deletion or a move out is reported as gone.

Readiness rule: every event or stat change restarts the file's timer. A writer that pauses for
longer than ``settle_seconds`` therefore gets the partial file emitted, and the file is emitted
again once it changes and settles again; pick ``settle_seconds`` above the longest pause of
your slowest writer (scanners, SMB copies).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import structlog

from resnet_watch.emitted import EmittedVersions
from resnet_watch.inbox_roots import InboxRoots
from resnet_watch.known import Library
from resnet_watch.observer_supervisor import ObserverSupervisor
from resnet_watch.observers import ObserverKind
from resnet_watch.pathfilter import PathFilter
from resnet_watch.relocations import Relocations
from resnet_watch.scan import Findings, Scanner
from resnet_watch.settle import FileSignature, StabilityTracker
from resnet_watch.watch_events import (
    GONE,
    GONE_DIR,
    MOVED,
    SCAN_DIR,
    QueuedEvent,
    QueueingHandler,
)

__all__ = ["WatchSettings", "Watcher"]


@dataclass(frozen=True)
class WatchSettings:
    """What to watch and how; built by ``config.py`` from the ``watch:`` section."""

    roots: tuple[Path, ...]
    recursive: bool = True
    include: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    settle_seconds: float = 1.0
    polling: Literal["auto", "on", "off"] = "auto"
    poll_interval: float = 5.0
    rescan_interval: float = 300.0
    sidecar_suffixes: tuple[str, ...] = (".resnet-watch.json", ".xmp")

    def path_filter(self) -> PathFilter:
        """The candidate filter these settings describe."""
        return PathFilter(
            include=self.include, ignore=self.ignore, sidecar_suffixes=self.sidecar_suffixes
        )


class Watcher:
    """Watches ``settings.roots`` and calls ``on_ready(path)`` once per settled file version.

    ``on_ready`` runs on the watcher's own thread and may block (pipeline backpressure); events
    keep being collected by watchdog meanwhile.
    """

    health_interval: float = 5.0
    """Seconds between automatic :meth:`check_health` calls on the settle thread."""

    stuck_after: float = 60.0
    """An observer with queued but undispatched events for this long counts as stuck."""

    def __init__(
        self,
        settings: WatchSettings,
        on_ready: Callable[[Path], object],
        log: structlog.typing.FilteringBoundLogger | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        heartbeat: Callable[[], None] | None = None,
        library: Library | None = None,
    ) -> None:
        """``heartbeat`` is called from every pass of the settle loop while an observer
        runs: a wedged loop (hung mount) or a dead observer stops the beats."""
        self.settings = settings
        self._heartbeat = heartbeat or (lambda: None)
        self._on_ready = on_ready
        self._log: structlog.typing.FilteringBoundLogger = (
            log if log is not None else structlog.get_logger("resnet_watch.watcher")
        )
        self._clock = clock
        self._filter = settings.path_filter()
        self._roots = InboxRoots(
            tuple(Path(os.path.realpath(r)) for r in settings.roots),
            self._filter,
            recursive=settings.recursive,
            sidecar_suffix=settings.sidecar_suffixes[0] if settings.sidecar_suffixes else "",
        )
        self._events: queue.SimpleQueue[QueuedEvent] = queue.SimpleQueue()
        self._handler = QueueingHandler(self._events)
        self._state_lock = threading.Lock()
        self._tracker = StabilityTracker(settings.settle_seconds, clock=clock)
        self._emitted = EmittedVersions()
        self._library = library
        self._scanner = Scanner(self._filter, settings.recursive, library, self._scan_failed)
        # a deletion waits longer than a file takes to settle, so a rename's new name is
        # always seen while the old one is still indexed
        self._relocations = (
            Relocations(
                library,
                self._scanner,
                max(2.0, 2 * settings.settle_seconds + 1.0),
                clock,
                self._mark_done,
            )
            if library is not None
            else None
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tick = min(0.25, max(0.1, settings.settle_seconds / 4))
        self._last_scan = clock()
        self._rescan_requested = threading.Event()  # set on inotify queue overflow
        self._rescan_asked = threading.Event()  # SIGHUP: rescan on the settle thread
        self._observer_lock = threading.RLock()  # around every _observers call
        self._observers = ObserverSupervisor(
            self._roots.paths,
            self._handler,
            recursive=settings.recursive,
            polling=settings.polling,
            poll_interval=settings.poll_interval,
            on_overflow=self._rescan_requested.set,
            log=self._log,
            clock=clock,
        )

    # ---------------------------------------------------------------- lifecycle

    @property
    def observer_kind(self) -> ObserverKind:
        """``"inotify"`` (native events) or ``"polling"``."""
        return self._observers.kind

    def start(self) -> None:
        """Start watching, then scan what is already in the roots (it settles like new files)."""
        if self._thread is not None:
            raise RuntimeError("Watcher already started")
        with self._observer_lock:
            self._observers.start()
        started = self._clock()
        found, moved, removed = self._scan_all()
        self._log.info(
            "backlog_scanned",
            files=found.seen,
            new=found.touched - moved,
            moved=moved,
            removed=removed,
            ms=round((self._clock() - started) * 1000, 1),
        )
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="resnet-watch-settle", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Stop the observer and the settle thread; waits up to ``timeout`` seconds for each."""
        self._stop.set()
        with self._observer_lock:
            self._observers.stop(timeout)
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                self._log.warning("watcher_stop_timeout", reason="on_ready_blocked")

    def pending(self) -> int:
        """Files seen but not settled yet."""
        with self._state_lock:
            return self._tracker.pending()

    # ---------------------------------------------------------------- scanning

    def request_rescan(self) -> None:
        """Rescan soon on the settle thread (SIGHUP): one thread owns the scan state."""
        self._rescan_asked.set()

    def rescan(self) -> int:
        """Scan every root in full (recovers lost events); returns the candidate files seen."""
        started = self._clock()
        found, moved, removed = self._scan_all()
        self._log.info(
            "rescan_completed",
            files=found.seen,
            new=found.touched - moved,
            moved=moved,
            removed=removed,
            ms=round((self._clock() - started) * 1000, 1),
        )
        return found.seen

    def _scan_all(self) -> tuple[Findings, int, int]:
        """Scan all roots, then settle renames and deletions; (findings, moved, removed)."""
        self._last_scan = self._clock()
        if self._relocations is not None:
            self._relocations.clear()  # still indexed: the full scan decides about them now
        found = Findings()
        for root in self._roots.paths:
            self._scanner.walk(root, root, self._touch, self._already_emitted, found)
        self._scanner.known_but_unvisited(found, self._roots.root_for)
        seen, touched = found.seen, found.touched
        moved, removed = self._scanner.reconcile(found, self._touch, self._mark_done)
        found.seen, found.touched = seen, touched
        return found, moved, removed

    def _scan_failed(self, directory: Path, exc: OSError) -> None:
        self._log.warning("scan_dir_failed", path=str(directory), error=str(exc))

    def _touch(self, path: Path) -> None:
        """(Re)start ``path``'s settle timer; a known-changed file is emitted again."""
        with self._state_lock:
            self._emitted.forget(path)
            self._tracker.touch(path)

    def _already_emitted(self, path: Path, signature: FileSignature) -> bool:
        with self._state_lock:
            return self._emitted.is_current(path, signature)

    def _mark_done(self, path: Path) -> None:
        """``path`` needs no pipeline run (its tags moved with it): do not emit this version."""
        try:
            signature = FileSignature.of(os.lstat(path))
        except OSError:
            return
        with self._state_lock:
            self._tracker.forget(path)
            self._emitted.remember(path, signature)

    # ---------------------------------------------------------------- settle thread

    def _run(self) -> None:
        next_health = self._clock() + self.health_interval
        while not self._stop.wait(self._tick):
            try:
                if self._observers.observer is not None:
                    self._heartbeat()
                self._drain_events()
                self._emit_ready()
                self._expire_gone()
                now = self._clock()
                interval = self.settings.rescan_interval
                if self._rescan_requested.is_set():
                    self._rescan_requested.clear()
                    self._log.warning("events_lost", reason="inotify_queue_overflow")
                    self.rescan()
                elif self._rescan_asked.is_set() or (
                    interval > 0 and now - self._last_scan >= interval
                ):
                    self._rescan_asked.clear()
                    self.rescan()
                if now >= next_health:
                    next_health = now + self.health_interval
                    self.check_health()
            except Exception:
                # One bad path or a failing on_ready must not stop the watching.
                self._log.exception("settle_loop_failed")

    def _drain_events(self) -> None:
        batch: list[QueuedEvent] = []
        while True:
            try:
                batch.append(self._events.get_nowait())
            except queue.Empty:
                break
        scan_dirs: list[Path] = []
        for kind, raw, raw_dest in batch:
            path = Path(raw)
            if kind == SCAN_DIR:
                if self.settings.recursive:
                    scan_dirs.append(path)
            elif kind == MOVED:
                self._on_moved(path, Path(raw_dest))
            elif kind == GONE:
                self._on_gone(path)
            elif kind == GONE_DIR:
                if self._library is not None and self._roots.root_for(path) is not None:
                    self._library.gone_folder(path)
            elif self._roots.is_candidate(path):
                with self._state_lock:
                    self._tracker.touch(path)
        for directory in scan_dirs:
            root = self._roots.root_for(directory)
            if root is not None and not self._filter.is_ignored_dir(directory, root):
                self._scanner.walk(directory, root, self._touch, self._already_emitted)

    def _expire_gone(self) -> None:
        if self._relocations is not None:
            self._relocations.expire()

    def _on_moved(self, src: Path, dest: Path) -> None:
        """A rename: tags follow inside the inbox; a move out counts as a deletion."""
        with self._state_lock:
            self._tracker.forget(src)
            self._emitted.forget(src)
        was_photo = self._roots.is_candidate(src)
        if not self._roots.is_candidate(dest):
            if was_photo:
                self._on_gone(src)
            elif self._roots.image_of_sidecar(src) is not None:
                self._on_gone(src)  # our sidecar moved away: its photo needs a new one
            return
        if was_photo and self._relocations is not None and self._relocations.renamed(src, dest):
            return
        with self._state_lock:
            self._tracker.touch(dest)

    def _on_gone(self, path: Path) -> None:
        with self._state_lock:
            self._tracker.forget(path)
            self._emitted.forget(path)
        if self._roots.is_candidate(path):
            if self._relocations is not None:
                self._relocations.deleted(path)
            return
        image = self._roots.image_of_sidecar(path)
        if image is not None and os.path.lexists(image):
            self._touch(image)  # sidecar deleted (retry, clean-up): classify it again now

    def _emit_ready(self) -> None:
        with self._state_lock:
            settled = self._tracker.ready_with_signature()
        if settled and self._relocations is not None:
            settled = self._relocations.take_over(settled)
        for path, signature in settled:
            if self._stop.is_set():
                return
            with self._state_lock:
                if self._emitted.is_current(path, signature):
                    continue
                self._emitted.remember(path, signature)
            try:
                accepted = self._on_ready(path)
            except Exception:
                # Not marked as emitted, so its next event or the next rescan retries it.
                with self._state_lock:
                    self._emitted.forget(path)
                self._log.exception("on_ready_failed", path=str(path))
            else:
                if accepted is False and not self._stop.is_set():
                    # Refused: an older version is still in flight (the file changed while
                    # it was decoded). Settle it again so this version is not lost.
                    self._touch(path)
            # on_ready may have blocked for a while: keep the event queue short.
            self._drain_events()

    # ---------------------------------------------------------------- observer

    def check_health(self) -> bool:
        """Restart the observer (and rescan) if its threads died or it is stuck."""
        with self._observer_lock:
            if self._stop.is_set() or self._thread is None:
                return True
            reason = self._observers.problem(self.stuck_after)
            if reason is None:
                return True
            self._log.warning("observer_restarted", reason=reason, kind=self._observers.kind)
            self._observers.stop(timeout=1.0)
            try:
                self._observers.start()
            except OSError as exc:
                self._log.error("observer_restart_failed", error=str(exc))
                return False
        self.rescan()
        return False
