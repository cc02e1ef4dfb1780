"""Watch inbox folders and hand each new or changed, fully written file to the pipeline once.

watchdog runs event handlers on its observer thread, under its lock, and an exception there
kills the thread silently; inotify drops events on queue overflow without telling anyone; and
network filesystems deliver no inotify events at all. So the design is:

* the watchdog handler only appends ``(kind, path)`` to a queue and returns;
* our own "settle" thread drains that queue into a :class:`StabilityTracker`, emits files that
  have had no event for ``settle_seconds`` and whose ``lstat`` did not change meanwhile, runs
  the periodic full rescan (which recovers lost events) and a health check that restarts a
  dead or stuck observer;
* a bounded map of what was already emitted (path -> size, mtime, inode) keeps duplicate
  events and rescans from re-emitting an unchanged file; a changed file is emitted again and
  the pipeline decides by content hash whether to classify it again.

Readiness rule: every event or stat change restarts the file's timer. A writer that pauses for
longer than ``settle_seconds`` therefore gets the partial file emitted, and the file is emitted
again once it changes and settles again; pick ``settle_seconds`` above the longest pause of
your slowest writer (scanners, SMB copies).
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

import structlog
from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from resnet_watch.pathfilter import DEFAULT_IGNORE, PathFilter

__all__ = [
    "DEFAULT_IGNORE",
    "FileSignature",
    "PathFilter",
    "StabilityTracker",
    "WatchSettings",
    "Watcher",
]

EMITTED_MEMORY = 100_000
"""How many (path -> signature) entries of already-emitted files are remembered (LRU)."""

NETWORK_FS_TYPES = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "davfs",
        "fuse.sshfs",
        "fuse.rclone",
        "fuse.s3fs",
    }
)
"""Filesystems where inotify misses changes made by other machines: polled in ``auto`` mode."""

_FIX_BY_ERRNO = {
    errno.ENOSPC: "sudo sysctl fs.inotify.max_user_watches=524288",
    errno.EMFILE: "sudo sysctl fs.inotify.max_user_instances=1024",
}

_NOT_AN_INOTIFY_PROBLEM = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EACCES})
"""Errors about the root itself: polling would not help, so they are raised, not hidden."""

ObserverKind = Literal["inotify", "polling"]


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


class StatLike(Protocol):
    """The fields of ``os.stat_result`` the tracker reads (lets tests pass fakes)."""

    @property
    def st_mode(self) -> int: ...
    @property
    def st_ino(self) -> int: ...
    @property
    def st_size(self) -> int: ...
    @property
    def st_mtime_ns(self) -> int: ...


class FileSignature(NamedTuple):
    """What identifies one version of a file without reading it."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, st: StatLike) -> FileSignature:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)


def _lstat(path: Path) -> StatLike:
    return os.lstat(path)


def _emittable(st: StatLike) -> bool:
    """Regular files and symlinks (recorded by the pipeline as not followed); never FIFOs etc."""
    return stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)


class _Pending:
    __slots__ = ("last_change", "signature")

    def __init__(self, last_change: float, signature: FileSignature | None) -> None:
        self.last_change = last_change
        self.signature = signature


class StabilityTracker:
    """Decides when a file has stopped changing. Not thread-safe; pure given clock and stat.

    A path is ready when it had no event for ``settle_seconds`` and its ``lstat`` signature is
    the one recorded at its last event (or last check). A changed signature restarts the timer,
    a vanished path or one that is neither a regular file nor a symlink is dropped.
    """

    def __init__(
        self,
        settle_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        stat_fn: Callable[[Path], StatLike] = _lstat,
    ) -> None:
        self._settle = settle_seconds
        self._clock = clock
        self._stat = stat_fn
        self._pending: dict[Path, _Pending] = {}

    def touch(self, path: Path) -> None:
        """An event was seen for ``path``: (re)start its timer and record its current stat."""
        self._pending[path] = _Pending(self._clock(), self._signature(path))

    def forget(self, path: Path) -> None:
        """Stop tracking ``path`` (it was deleted or moved away)."""
        self._pending.pop(path, None)

    def ready(self) -> list[Path]:
        """Paths that are settled now; they are no longer tracked afterwards."""
        return [path for path, _ in self.ready_with_signature()]

    def ready_with_signature(self) -> list[tuple[Path, FileSignature]]:
        """Like :meth:`ready`, with the signature that was verified as stable."""
        now = self._clock()
        settled: list[tuple[Path, FileSignature]] = []
        for path, entry in list(self._pending.items()):
            if now - entry.last_change < self._settle:
                continue
            try:
                st = self._stat(path)
            except OSError:
                del self._pending[path]
                continue
            if not _emittable(st):
                del self._pending[path]
                continue
            signature = FileSignature.of(st)
            if signature != entry.signature:
                entry.signature = signature
                entry.last_change = now
                continue
            del self._pending[path]
            settled.append((path, signature))
        return settled

    def pending(self) -> int:
        """How many paths are waiting to settle."""
        return len(self._pending)

    def _signature(self, path: Path) -> FileSignature | None:
        try:
            return FileSignature.of(self._stat(path))
        except OSError:
            return None


_EVENT_FILTER = (
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
)
"""Only these reach the handler: no open/close-nowrite/attrib noise when the pipeline reads."""

_TOUCH = "touch"
_GONE = "gone"
_SCAN_DIR = "scan_dir"


class _QueueingHandler(FileSystemEventHandler):
    """Runs on watchdog's observer thread: records the event and returns, nothing else."""

    def __init__(self, sink: queue.SimpleQueue[tuple[str, str]]) -> None:
        super().__init__()
        self._sink = sink
        self.dispatched = 0

    def dispatch(self, event: FileSystemEvent) -> None:
        self.dispatched += 1
        put = self._sink.put
        if isinstance(event, FileMovedEvent):
            put((_GONE, os.fsdecode(event.src_path)))
            put((_TOUCH, os.fsdecode(event.dest_path)))
        elif isinstance(event, FileClosedEvent | FileModifiedEvent | FileCreatedEvent):
            put((_TOUCH, os.fsdecode(event.src_path)))
        elif isinstance(event, FileDeletedEvent):
            put((_GONE, os.fsdecode(event.src_path)))
        elif isinstance(event, DirMovedEvent):
            put((_SCAN_DIR, os.fsdecode(event.dest_path)))
        elif isinstance(event, DirCreatedEvent):
            put((_SCAN_DIR, os.fsdecode(event.src_path)))


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
        self._roots = tuple(
            sorted((Path(os.path.realpath(r)) for r in settings.roots), key=lambda p: -len(p.parts))
        )
        self._events: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._handler = _QueueingHandler(self._events)
        self._state_lock = threading.Lock()
        self._tracker = StabilityTracker(settings.settle_seconds, clock=clock)
        self._emitted: OrderedDict[Path, FileSignature] = OrderedDict()
        self._observer_lock = threading.RLock()
        self._observer: BaseObserver | None = None
        self._kind: ObserverKind = "inotify"
        self._stuck_since: float | None = None
        self._seen_dispatched = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tick = min(0.25, max(0.1, settings.settle_seconds / 4))
        self._last_scan = clock()
        self._rescan_requested = threading.Event()  # set on inotify queue overflow

    # ---------------------------------------------------------------- lifecycle

    @property
    def observer_kind(self) -> ObserverKind:
        """``"inotify"`` (native events) or ``"polling"``."""
        return self._kind

    def start(self) -> None:
        """Start watching, then scan what is already in the roots (it settles like new files)."""
        if self._thread is not None:
            raise RuntimeError("Watcher already started")
        with self._observer_lock:
            self._start_observer()
        started = self._clock()
        files, _ = self._scan_all()
        self._log.info(
            "backlog_scanned", files=files, ms=round((self._clock() - started) * 1000, 1)
        )
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="resnet-watch-settle", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        """Stop the observer and the settle thread; waits up to ``timeout`` seconds for each."""
        self._stop.set()
        with self._observer_lock:
            self._stop_observer(timeout)
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

    def rescan(self) -> int:
        """Scan every root in full (recovers lost events); returns the candidate files seen."""
        started = self._clock()
        files, new = self._scan_all()
        self._log.info(
            "rescan_completed",
            files=files,
            new=new,
            ms=round((self._clock() - started) * 1000, 1),
        )
        return files

    def _scan_all(self) -> tuple[int, int]:
        """Scan all roots; returns (candidates seen, candidates not already emitted as they are)."""
        self._last_scan = self._clock()
        files = new = 0
        for root in self._roots:
            seen, touched = self._scan_tree(root, root)
            files += seen
            new += touched
        return files, new

    def _scan_tree(self, top: Path, root: Path) -> tuple[int, int]:
        """Walk ``top`` iteratively, not following symlinked dirs; feeds the tracker."""
        seen = touched = 0
        stack = [top]
        while stack:
            directory = stack.pop()
            try:
                with os.scandir(directory) as it:
                    entries = list(it)
            except OSError as exc:
                self._log.warning("scan_dir_failed", path=str(directory), error=str(exc))
                continue
            for entry in entries:
                path = Path(entry.path)
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if self.settings.recursive and not self._filter.is_ignored_dir(path, root):
                            stack.append(path)
                        continue
                    if not (entry.is_file(follow_symlinks=False) or entry.is_symlink()):
                        continue
                    if not self._filter.is_candidate(path, root):
                        continue
                    signature = FileSignature.of(entry.stat(follow_symlinks=False))
                except OSError:
                    continue
                seen += 1
                with self._state_lock:
                    if self._emitted.get(path) == signature:
                        self._emitted.move_to_end(path)
                        continue
                    self._tracker.touch(path)
                    touched += 1
        return seen, touched

    def _root_for(self, path: Path) -> Path | None:
        for root in self._roots:
            if path == root or root in path.parents:
                return root
        return None

    def _is_candidate(self, path: Path) -> bool:
        root = self._root_for(path)
        if root is None:
            return False
        if not self.settings.recursive and path.parent != root:
            return False
        return self._filter.is_candidate(path, root)

    # ---------------------------------------------------------------- settle thread

    def _run(self) -> None:
        next_health = self._clock() + self.health_interval
        while not self._stop.wait(self._tick):
            try:
                if self._observer is not None:
                    self._heartbeat()
                self._drain_events()
                self._emit_ready()
                now = self._clock()
                interval = self.settings.rescan_interval
                if self._rescan_requested.is_set():
                    self._rescan_requested.clear()
                    self._log.warning("events_lost", reason="inotify_queue_overflow")
                    self.rescan()
                elif interval > 0 and now - self._last_scan >= interval:
                    self.rescan()
                if now >= next_health:
                    next_health = now + self.health_interval
                    self.check_health()
            except Exception:
                # One bad path or a failing on_ready must not stop the watching.
                self._log.exception("settle_loop_failed")

    def _drain_events(self) -> None:
        scan_dirs: list[Path] = []
        with self._state_lock:
            while True:
                try:
                    kind, raw = self._events.get_nowait()
                except queue.Empty:
                    break
                path = Path(raw)
                if kind == _SCAN_DIR:
                    if self.settings.recursive:
                        scan_dirs.append(path)
                elif kind == _GONE:
                    self._tracker.forget(path)
                    self._emitted.pop(path, None)
                elif self._is_candidate(path):
                    self._tracker.touch(path)
        for directory in scan_dirs:
            root = self._root_for(directory)
            if root is not None and not self._filter.is_ignored_dir(directory, root):
                self._scan_tree(directory, root)

    def _emit_ready(self) -> None:
        with self._state_lock:
            settled = self._tracker.ready_with_signature()
        for path, signature in settled:
            if self._stop.is_set():
                return
            with self._state_lock:
                if self._emitted.get(path) == signature:
                    self._emitted.move_to_end(path)
                    continue
                self._emitted[path] = signature
                self._emitted.move_to_end(path)
                while len(self._emitted) > EMITTED_MEMORY:
                    self._emitted.popitem(last=False)
            try:
                self._on_ready(path)
            except Exception:
                # Not marked as emitted, so its next event or the next rescan retries it.
                with self._state_lock:
                    self._emitted.pop(path, None)
                self._log.exception("on_ready_failed", path=str(path))
            # on_ready may have blocked for a while: keep the event queue short.
            self._drain_events()

    # ---------------------------------------------------------------- observer

    def check_health(self) -> bool:
        """Restart the observer (and rescan) if its threads died or it is stuck."""
        with self._observer_lock:
            if self._stop.is_set() or self._thread is None:
                return True
            reason = self._observer_problem()
            if reason is None:
                return True
            self._log.warning("observer_restarted", reason=reason, kind=self._kind)
            self._stop_observer(timeout=1.0)
            try:
                self._start_observer()
            except OSError as exc:
                self._log.error("observer_restart_failed", error=str(exc))
                return False
        self.rescan()
        return False

    def _observer_problem(self) -> str | None:
        observer = self._observer
        if observer is None:
            return "not_running"
        if not observer.is_alive():
            return "observer_thread_died"
        emitters = list(observer.emitters)
        if len(emitters) < len(self._roots) or not all(e.is_alive() for e in emitters):
            return "emitter_thread_died"
        dispatched = self._handler.dispatched
        if observer.event_queue.qsize() > 0 and dispatched == self._seen_dispatched:
            now = self._clock()
            if self._stuck_since is None:
                self._stuck_since = now
            elif now - self._stuck_since >= self.stuck_after:
                return "observer_stuck"
        else:
            self._stuck_since = None
        self._seen_dispatched = dispatched
        return None

    def _start_observer(self) -> None:
        """Start the native observer, or polling per settings and fallback rules."""
        self._stuck_since = None
        mode = self.settings.polling
        if mode == "auto":
            remote = [(r, fs) for r in self._roots if (fs := _fs_type(r)) in NETWORK_FS_TYPES]
            if remote:
                self._log.warning(
                    "observer_fallback",
                    reason="network_filesystem",
                    fs=remote[0][1],
                    path=str(remote[0][0]),
                )
                mode = "on"
        if mode != "on":
            try:
                native = _native_observer_class(self._rescan_requested.set, self._log)
                self._observer = self._launch(native, "inotify")
                return
            except OSError as exc:
                if mode == "off" or exc.errno in _NOT_AN_INOTIFY_PROBLEM:
                    raise
                fields: dict[str, str] = {"reason": _errno_name(exc), "error": str(exc)}
                if exc.errno in _FIX_BY_ERRNO:
                    fields["fix"] = _FIX_BY_ERRNO[exc.errno]
                self._log.warning("observer_fallback", **fields)
        self._observer = self._launch(PollingObserver, "polling")

    def _launch(self, cls: Callable[..., BaseObserver], kind: ObserverKind) -> BaseObserver:
        if kind == "polling":
            observer = cls(timeout=self.settings.poll_interval)
        else:
            if cls is PollingObserver:
                raise OSError(errno.ENOSYS, "no native file watching on this platform")
            observer = cls()
        try:
            for root in self._roots:
                observer.schedule(
                    self._handler,
                    str(root),
                    recursive=self.settings.recursive,
                    event_filter=list(_EVENT_FILTER),
                )
            observer.start()
        except BaseException:
            _shutdown(observer, timeout=1.0)
            raise
        self._kind = kind
        self._seen_dispatched = self._handler.dispatched
        self._log.info(
            "observer_started",
            kind=kind,
            roots=[str(r) for r in self._roots],
            recursive=self.settings.recursive,
        )
        return observer

    def _stop_observer(self, timeout: float) -> None:
        observer, self._observer = self._observer, None
        if observer is not None and not _shutdown(observer, timeout):
            self._log.warning("observer_abandoned", reason="did_not_stop", timeout=timeout)


def _shutdown(observer: BaseObserver, timeout: float) -> bool:
    """Stop and join ``observer``; False if it did not finish within ``timeout``.

    ``BaseObserver.stop()`` takes the lock a stuck handler holds, so it runs on a helper
    thread: a stuck observer is abandoned (its threads are daemons) instead of hanging us.
    """
    deadline = time.monotonic() + timeout

    def _stop() -> None:
        with contextlib.suppress(Exception):  # a broken observer must not prevent a restart
            observer.stop()

    stopper = threading.Thread(target=_stop, name="resnet-watch-observer-stop", daemon=True)
    stopper.start()
    stopper.join(timeout)
    if observer.is_alive():
        observer.join(max(0.0, deadline - time.monotonic()))
    return not (stopper.is_alive() or observer.is_alive())


def _native_observer_class(
    on_overflow: Callable[[], None], log: structlog.typing.FilteringBoundLogger
) -> Callable[..., BaseObserver]:
    """The platform's observer; on Linux one that reports inotify overflow (overflow.py)."""
    from watchdog.observers import Observer

    from resnet_watch import overflow

    if getattr(Observer, "__name__", "") != "InotifyObserver":
        return Observer
    if not overflow.supported():
        log.warning("overflow_detection_unavailable", fallback="periodic_rescan")
        return Observer
    return lambda: overflow.overflow_reporting_observer(on_overflow)


def _errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, "OSError")


def _fs_type(path: Path, mounts: Iterable[str] | None = None) -> str:
    """The filesystem type of the mount holding ``path`` (Linux ``/proc/self/mounts``)."""
    if mounts is None:
        try:
            with open("/proc/self/mounts", encoding="utf-8", errors="replace") as fh:
                mounts = fh.read().splitlines()
        except OSError:
            return ""
    best, best_type = "", ""
    target = str(path)
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = _unescape_mount(fields[1])
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fields[2]
    return best_type


def _unescape_mount(field: str) -> str:
    """``/proc/mounts`` escapes space, tab, newline and backslash as octal."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field
