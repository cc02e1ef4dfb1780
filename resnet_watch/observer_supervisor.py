"""Keeping one watchdog observer running over the inbox roots: start, health, stop.

watchdog's threads die silently (an exception in an emitter or a handler) and a handler can
hang under the observer's lock, so the watcher asks :meth:`ObserverSupervisor.problem` now
and then and restarts on an answer. Starting picks inotify or polling by the ``polling``
setting and the fallback rules in ``observers.py``.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import structlog
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from resnet_watch.observers import (
    FIX_BY_ERRNO,
    NETWORK_FS_TYPES,
    NOT_AN_INOTIFY_PROBLEM,
    ObserverKind,
    errno_name,
    fs_type,
    native_observer_class,
    shutdown,
)
from resnet_watch.watch_events import EVENT_FILTER, QueueingHandler

__all__ = ["ObserverSupervisor"]


class ObserverSupervisor:
    """One observer over ``roots`` feeding ``handler``; callers serialise start/stop/problem."""

    def __init__(
        self,
        roots: tuple[Path, ...],
        handler: QueueingHandler,
        *,
        recursive: bool,
        polling: Literal["auto", "on", "off"],
        poll_interval: float,
        on_overflow: Callable[[], None],
        log: structlog.typing.FilteringBoundLogger,
        clock: Callable[[], float],
    ) -> None:
        self._roots = roots
        self._handler = handler
        self._recursive = recursive
        self._polling = polling
        self._poll_interval = poll_interval
        self._on_overflow = on_overflow
        self._log = log
        self._clock = clock
        self._observer: BaseObserver | None = None
        self._kind: ObserverKind = "inotify"
        self._stuck_since: float | None = None
        self._seen_dispatched = 0

    @property
    def observer(self) -> BaseObserver | None:
        """The running observer, or None before start / after stop."""
        return self._observer

    @property
    def kind(self) -> ObserverKind:
        """``"inotify"`` (native events) or ``"polling"``."""
        return self._kind

    def problem(self, stuck_after: float) -> str | None:
        """Why the observer needs a restart, or None while it works.

        Stuck means events queued but none dispatched for ``stuck_after`` seconds, counted
        from the first call that saw it so.
        """
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
            elif now - self._stuck_since >= stuck_after:
                return "observer_stuck"
        else:
            self._stuck_since = None
        self._seen_dispatched = dispatched
        return None

    def start(self) -> None:
        """Start the native observer, or polling per settings and fallback rules."""
        self._stuck_since = None
        mode = self._polling
        if mode == "auto":
            remote = [(r, fs) for r in self._roots if (fs := fs_type(r)) in NETWORK_FS_TYPES]
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
                native = native_observer_class(self._on_overflow, self._log)
                self._observer = self._launch(native, "inotify")
                return
            except OSError as exc:
                if mode == "off" or exc.errno in NOT_AN_INOTIFY_PROBLEM:
                    raise
                fields: dict[str, str] = {"reason": errno_name(exc), "error": str(exc)}
                if exc.errno in FIX_BY_ERRNO:
                    fields["fix"] = FIX_BY_ERRNO[exc.errno]
                self._log.warning("observer_fallback", **fields)
        self._observer = self._launch(PollingObserver, "polling")

    def stop(self, timeout: float) -> None:
        """Stop the observer; one that does not stop within ``timeout`` is abandoned."""
        observer, self._observer = self._observer, None
        if observer is not None and not shutdown(observer, timeout):
            self._log.warning("observer_abandoned", reason="did_not_stop", timeout=timeout)

    def _launch(self, cls: Callable[..., BaseObserver], kind: ObserverKind) -> BaseObserver:
        if kind == "polling":
            observer = cls(timeout=self._poll_interval)
        else:
            if cls is PollingObserver:
                raise OSError(errno.ENOSYS, "no native file watching on this platform")
            observer = cls()
        try:
            for root in self._roots:
                observer.schedule(
                    self._handler,
                    str(root),
                    recursive=self._recursive,
                    event_filter=list(EVENT_FILTER),
                )
            observer.start()
        except BaseException:
            shutdown(observer, timeout=1.0)
            raise
        self._kind = kind
        self._seen_dispatched = self._handler.dispatched
        self._log.info(
            "observer_started",
            kind=kind,
            roots=[str(r) for r in self._roots],
            recursive=self._recursive,
        )
        return observer
