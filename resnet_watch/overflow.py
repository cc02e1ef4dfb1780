"""watchdog's inotify observer, with the kernel's queue overflow reported to a callback.

When more events arrive than ``fs.inotify.max_queued_events`` the kernel drops them and
queues one ``IN_Q_OVERFLOW``. watchdog 7 only logs it (and rebuilds recursive watches);
earlier versions drop it silently. Matching watchdog's log text to notice it would break
quietly on the next rewording, so this observer reads the overflow off the inotify event
itself (``InotifyEvent.is_queue_overflow``) and calls ``on_overflow``; the watcher then
rescans at once instead of waiting for the periodic rescan.

It subclasses watchdog internals (``InotifyFD``, the ``inotify_fd`` emitter argument)
present in the watchdog 7.x that pyproject allows; ``supported()`` says whether the
installed watchdog has them, and the watcher falls back to the plain observer (and logs
it) when it does not. tests/test_watcher.py overflows a real inotify queue.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["overflow_reporting_observer", "supported"]


def supported() -> bool:
    """Whether this watchdog has the hooks the reporting observer needs (Linux, 7.x)."""
    try:
        from watchdog.observers.inotify import InotifyEmitter, InotifyObserver
        from watchdog.observers.inotify_c import InotifyEvent, InotifyFD
    except (ImportError, OSError):  # not Linux, or no libc inotify
        return False
    return (
        callable(getattr(InotifyFD, "handle_event", None))
        and isinstance(getattr(InotifyEvent, "is_queue_overflow", None), property)
        and "inotify_fd" in inspect.signature(InotifyEmitter.__init__).parameters
        and callable(getattr(InotifyObserver, "on_thread_stop", None))
    )


def overflow_reporting_observer(on_overflow: Callable[[], None]) -> Any:
    """A started-able inotify observer that calls ``on_overflow`` (from its reader thread)
    each time the kernel reports lost events. Call only when ``supported()``."""
    from watchdog.observers.api import BaseObserver
    from watchdog.observers.inotify import InotifyEmitter, InotifyObserver
    from watchdog.observers.inotify_c import InotifyEvent, InotifyFD

    class ReportingInotifyFD(InotifyFD):
        def handle_event(self, event: InotifyEvent) -> None:
            if event.is_queue_overflow:
                on_overflow()
            super().handle_event(event)

    class ReportingObserver(InotifyObserver):
        def __init__(self) -> None:
            # InotifyObserver.__init__, with our reader in place of watchdog's
            self._inotify_fd = ReportingInotifyFD()
            self._inotify_fd.start()
            BaseObserver.__init__(self, InotifyEmitter, inotify_fd=self._inotify_fd)

    return ReportingObserver()
