"""Choosing, starting and stopping watchdog observers: inotify, or polling where it cannot work.

inotify sees nothing that other machines write to a network share, and its watch and
instance limits fail with ENOSPC/EMFILE; both cases fall back to polling, and the log says
which sysctl to raise. A stuck observer is abandoned rather than hanging the daemon.
"""

from __future__ import annotations

import contextlib
import errno
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

import structlog
from watchdog.observers.api import BaseObserver

__all__ = [
    "FIX_BY_ERRNO",
    "NETWORK_FS_TYPES",
    "NOT_AN_INOTIFY_PROBLEM",
    "ObserverKind",
    "errno_name",
    "fs_type",
    "native_observer_class",
    "shutdown",
    "unescape_mount",
]

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

FIX_BY_ERRNO = {
    errno.ENOSPC: "sudo sysctl fs.inotify.max_user_watches=524288",
    errno.EMFILE: "sudo sysctl fs.inotify.max_user_instances=1024",
}

NOT_AN_INOTIFY_PROBLEM = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EACCES})
"""Errors about the root itself: polling would not help, so they are raised, not hidden."""

ObserverKind = Literal["inotify", "polling"]


def shutdown(observer: BaseObserver, timeout: float) -> bool:
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


def native_observer_class(
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


def errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, "OSError")


def fs_type(path: Path, mounts: Iterable[str] | None = None) -> str:
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
        mount_point = unescape_mount(fields[1])
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, fields[2]
    return best_type


def unescape_mount(field: str) -> str:
    """``/proc/mounts`` escapes space, tab, newline and backslash as octal."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field
