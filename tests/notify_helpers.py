"""A stand-in for systemd's notification socket, for tests of anything that calls sd_notify.

    with NotifyListener(tmp_path) as listener:
        env = {**os.environ, **listener.environ(watchdog_usec=2_000_000)}
        proc = subprocess.Popen([...], env=env)
        listener.wait_for(b"READY=1", timeout=60)

``environ`` leaves WATCHDOG_PID out on purpose: the child's pid is not known
before it starts, and sd_notify(3) treats a missing WATCHDOG_PID as "this process".
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from types import TracebackType

__all__ = ["NotifyListener"]


class NotifyListener:
    """Binds an AF_UNIX datagram socket and collects every datagram in a thread.

    ``directory`` given: a socket file in it. ``None``: an abstract-namespace
    socket (address '@...'), as systemd uses for some managers.
    """

    def __init__(self, directory: Path | None = None) -> None:
        if directory is None:
            name = f"resnet-watch-test-{os.getpid()}-{id(self):x}"
            self.address = "@" + name
            self._bind_to: str = "\0" + name
        else:
            # sun_path holds 107 bytes; pytest's tmp_path can be longer than that.
            path = Path(directory) / "notify.sock"
            if len(os.fsencode(path)) > 100:
                raise ValueError(f"socket path too long for AF_UNIX: {path}")
            self.address = str(path)
            self._bind_to = str(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.settimeout(0.1)
        self._messages: list[bytes] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._collect, name="notify-listener", daemon=True)

    def __enter__(self) -> NotifyListener:
        self._sock.bind(self._bind_to)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._sock.close()
        if not self.address.startswith("@"):
            Path(self.address).unlink(missing_ok=True)

    def environ(self, *, watchdog_usec: int | None = None) -> dict[str, str]:
        """The variables a service manager would set for its child."""
        env = {"NOTIFY_SOCKET": self.address}
        if watchdog_usec is not None:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        return env

    @property
    def messages(self) -> list[bytes]:
        """Every datagram received so far, in order (a copy)."""
        with self._cond:
            return list(self._messages)

    def assignments(self) -> list[bytes]:
        """Every ``KEY=value`` line received so far, datagrams split on newlines."""
        return [line for message in self.messages for line in message.split(b"\n") if line]

    def wait_for(self, assignment: bytes, timeout: float, *, since: int = 0) -> list[bytes]:
        """Block until a datagram holds the line ``assignment`` (or, if it ends in
        '=', any line starting with it); return that datagram's lines.

        ``since``: ignore the first ``since`` datagrams, e.g. ``len(listener.messages)``
        taken before the action whose notification you wait for.

        Raises TimeoutError listing what did arrive, so a failure says what the
        daemon did instead.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            seen = since
            while True:
                for message in self._messages[seen:]:
                    lines = message.split(b"\n")
                    if any(_matches(line, assignment) for line in lines):
                        return lines
                seen = max(seen, len(self._messages))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"no {assignment!r} within {timeout}s; received {self._messages!r}"
                    )
                self._cond.wait(left)

    def _collect(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._cond:
                self._messages.append(data)
                self._cond.notify_all()


def _matches(line: bytes, assignment: bytes) -> bool:
    if assignment.endswith(b"="):
        return line.startswith(assignment)
    return line == assignment
