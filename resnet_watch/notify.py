"""sd_notify(3) for the daemon: readiness, status, watchdog pings, stop/reload.

Stdlib only, and it never raises into the daemon: without ``$NOTIFY_SOCKET``
(a shell, a test, a container) every call is a no-op, and a failed send is
logged once and otherwise ignored, because losing a status line must never
stop classification. A missed watchdog ping is what the watchdog is for.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

import structlog

__all__ = ["Notifier"]

_log = structlog.get_logger(__name__)

# A full receive queue blocks a datagram send; waiting longer than this would
# stall the worker loop that calls watchdog(), which is worse than a lost line.
_SEND_TIMEOUT_SECONDS = 1.0


def _one_line(text: str) -> str:
    """STATUS= is one assignment per line: a newline (say, in a file name) must not
    smuggle in READY=1 or STOPPING=1."""
    return " ".join(text.splitlines())


class Notifier:
    """Talks to the service manager over ``$NOTIFY_SOCKET``; see ``from_environ``."""

    enabled: bool
    watchdog_interval: float | None

    def __init__(
        self,
        address: str | None,
        watchdog_interval: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``address`` as in ``$NOTIFY_SOCKET`` ('/path' or '@abstract'; None disables).

        ``watchdog_interval`` is the manager's watchdog timeout in seconds (the
        whole of ``WatchdogSec=``); ``watchdog()`` pings at most every half of it.
        """
        self._address = _socket_address(address)
        self.enabled = self._address is not None
        self.watchdog_interval = watchdog_interval if self.enabled else None
        self._clock = clock
        self._last_ping: float | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._failing = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        """Read ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID`` as sd_notify(3) does.

        The watchdog is on only when ``WATCHDOG_USEC`` is a positive integer and
        ``WATCHDOG_PID`` is unset or names this process (a child that inherited
        the environment must not ping for its parent).
        """
        address = environ.get("NOTIFY_SOCKET") or None
        return cls(address, _watchdog_seconds(environ))

    def ready(self, status: str = "") -> None:
        """Start-up is complete (model loaded, watcher running); also after a reload."""
        self._send("READY=1" + (f"\nSTATUS={_one_line(status)}" if status else ""))

    def status(self, text: str) -> None:
        """Free-form one-line state shown by ``systemctl status``."""
        self._send(f"STATUS={_one_line(text)}")

    def watchdog(self) -> None:
        """Tell the watchdog we are alive; cheap enough for every pass of a hot loop.

        Sends at most once per half ``watchdog_interval``; a no-op when the
        manager runs no watchdog for us.
        """
        if self.watchdog_interval is None:
            return
        now = self._clock()
        last = self._last_ping
        if last is not None and now - last < self.watchdog_interval / 2:
            return
        self._last_ping = now
        self._send("WATCHDOG=1")

    def stopping(self) -> None:
        """Graceful shutdown has begun (so the manager does not read it as a hang)."""
        self._send("STOPPING=1")

    def reloading(self) -> None:
        """A reload (SIGHUP) has begun; call ``ready()`` when it is done.

        MONOTONIC_USEC lets systemd >= 253 (``Type=notify-reload``) tell this
        reload from an earlier one; older managers ignore the field.
        """
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self._send(f"RELOADING=1\nMONOTONIC_USEC={usec}")

    def close(self) -> None:
        """Release the socket; later calls reopen it, so closing twice is harmless."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _send(self, message: str) -> None:
        if self._address is None:
            return
        data = message.encode("utf-8", errors="replace")
        try:
            with self._lock:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                    self._sock.settimeout(_SEND_TIMEOUT_SECONDS)
                self._sock.sendto(data, self._address)
        except OSError as exc:
            # Log the first failure of a run only: a vanished socket would otherwise
            # add a line per watchdog ping for as long as the daemon lives.
            if not self._failing:
                self._failing = True
                _log.warning(
                    "sd_notify_failed",
                    notification=message.split("\n", 1)[0],
                    error=exc.strerror or repr(exc),
                )
            return
        if self._failing:
            self._failing = False
            _log.info("sd_notify_recovered")


def _socket_address(value: str | None) -> str | None:
    """'/abs/path' as is, '@name' as the abstract '\\0name'; anything else disables.

    (systemd >= 254 also passes 'vsock:...' to VMs; a daemon on the host never sees it.)
    """
    if not value:
        return None
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    _log.warning("sd_notify_unsupported_socket", address=value)
    return None


def _watchdog_seconds(environ: Mapping[str, str]) -> float | None:
    usec_text = environ.get("WATCHDOG_USEC", "")
    if not usec_text.isascii() or not usec_text.isdigit() or int(usec_text) <= 0:
        return None
    pid_text = environ.get("WATCHDOG_PID")
    if pid_text is not None and pid_text.strip() != str(os.getpid()):
        return None
    return int(usec_text) / 1_000_000
