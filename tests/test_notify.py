"""resnet_watch.notify: what the service manager receives, and that it never hurts the daemon."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from resnet_watch.notify import Notifier
from tests.notify_helpers import NotifyListener

SENTINEL = b"STATUS=sentinel"


def _flush(notifier: Notifier, listener: NotifyListener) -> list[bytes]:
    """All datagrams sent before this call: datagrams on one socket arrive in order,
    so once a trailing sentinel is in, nothing sent earlier is still on its way."""
    notifier.status("sentinel")
    listener.wait_for(SENTINEL, timeout=10)
    messages = listener.messages
    assert messages[-1] == SENTINEL
    return messages[:-1]


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[NotifyListener]:
    with NotifyListener(tmp_path) as sock:
        yield sock


def test_ready_sends_exactly_ready(listener: NotifyListener) -> None:
    """ready() without a status sends the single line READY=1."""
    notifier = Notifier.from_environ(listener.environ())
    notifier.ready()
    assert _flush(notifier, listener) == [b"READY=1"]


def test_ready_with_status_is_one_datagram(listener: NotifyListener) -> None:
    """ready(status) sends READY=1 and STATUS= together, so both land atomically."""
    notifier = Notifier.from_environ(listener.environ())
    notifier.ready("watching 2 folders")
    assert _flush(notifier, listener) == [b"READY=1\nSTATUS=watching 2 folders"]


def test_status_stopping_and_watchdog_lines(listener: NotifyListener) -> None:
    """status(), watchdog() and stopping() send STATUS=, WATCHDOG=1 and STOPPING=1 verbatim."""
    notifier = Notifier.from_environ(listener.environ(watchdog_usec=60_000_000))
    notifier.status("classified 12 images")
    notifier.watchdog()
    notifier.stopping()
    assert _flush(notifier, listener) == [
        b"STATUS=classified 12 images",
        b"WATCHDOG=1",
        b"STOPPING=1",
    ]


def test_abstract_namespace_socket() -> None:
    """A NOTIFY_SOCKET starting with '@' is the Linux abstract namespace, as systemd passes it."""
    with NotifyListener(None) as listener:
        assert listener.address.startswith("@")
        notifier = Notifier.from_environ(listener.environ())
        assert notifier.enabled
        notifier.ready()
        assert _flush(notifier, listener) == [b"READY=1"]


def test_status_cannot_inject_other_assignments(listener: NotifyListener) -> None:
    """A newline in a status (say, from a file name) cannot smuggle in STOPPING=1."""
    notifier = Notifier.from_environ(listener.environ())
    notifier.status("bad\nSTOPPING=1.jpg")
    assert _flush(notifier, listener) == [b"STATUS=bad STOPPING=1.jpg"]


def test_reloading_sends_monotonic_timestamp(listener: NotifyListener) -> None:
    """reloading() sends RELOADING=1 with MONOTONIC_USEC= from CLOCK_MONOTONIC (systemd >= 253)."""
    notifier = Notifier.from_environ(listener.environ())
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    notifier.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    [message] = _flush(notifier, listener)
    reloading, stamp = message.split(b"\n")
    assert reloading == b"RELOADING=1"
    assert stamp.startswith(b"MONOTONIC_USEC=")
    assert before <= int(stamp.removeprefix(b"MONOTONIC_USEC=")) <= after


def test_watchdog_is_rate_limited_to_half_the_interval(listener: NotifyListener) -> None:
    """Called from a hot loop, watchdog() pings once per half WatchdogSec, not per call."""
    now = [100.0]
    notifier = Notifier(listener.address, watchdog_interval=60.0, clock=lambda: now[0])
    for t in (100.0, 100.5, 110.0, 129.9, 130.0, 131.0, 160.0):
        now[0] = t
        notifier.watchdog()
    assert _flush(notifier, listener) == [b"WATCHDOG=1"] * 3


def test_watchdog_is_a_no_op_without_watchdog_usec(listener: NotifyListener) -> None:
    """Without WatchdogSec= (no WATCHDOG_USEC) there is nobody to ping: nothing is sent."""
    notifier = Notifier.from_environ(listener.environ())
    assert notifier.watchdog_interval is None
    notifier.watchdog()
    assert _flush(notifier, listener) == []


def test_no_notify_socket_means_no_op() -> None:
    """Outside systemd (no NOTIFY_SOCKET) every call is a silent no-op."""
    notifier = Notifier.from_environ({"WATCHDOG_USEC": "60000000"})
    assert not notifier.enabled
    assert notifier.watchdog_interval is None
    with capture_logs() as logs:
        notifier.ready("x")
        notifier.status("x")
        notifier.watchdog()
        notifier.reloading()
        notifier.stopping()
        notifier.close()
    assert logs == []


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "60000000"}, 60.0),
        ({"WATCHDOG_USEC": "1500000", "WATCHDOG_PID": str(os.getpid())}, 1.5),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "not-a-pid"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "60s"}, None),
        ({"WATCHDOG_USEC": ""}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_from_environ(environ: dict[str, str], expected: float | None) -> None:
    """WATCHDOG_USEC sets the interval only when valid and WATCHDOG_PID is unset or ours."""
    notifier = Notifier.from_environ({"NOTIFY_SOCKET": "/run/unused.sock", **environ})
    assert notifier.watchdog_interval == expected


def test_unsupported_socket_address_disables() -> None:
    """A NOTIFY_SOCKET that is neither absolute nor '@abstract' disables notification."""
    assert not Notifier.from_environ({"NOTIFY_SOCKET": "relative/path.sock"}).enabled


def test_send_failure_never_raises_and_logs_once(tmp_path: Path) -> None:
    """A vanished socket is logged once and otherwise ignored; the daemon keeps running."""
    notifier = Notifier(str(tmp_path / "gone.sock"), watchdog_interval=0.0)
    with capture_logs() as logs:
        notifier.ready("x")
        notifier.watchdog()
        notifier.status("y")
        notifier.stopping()
    assert [entry["event"] for entry in logs] == ["sd_notify_failed"]
    assert logs[0]["log_level"] == "warning"


def test_close_is_idempotent_and_reopens(listener: NotifyListener) -> None:
    """close() may be called twice, and a later notification still gets through."""
    notifier = Notifier.from_environ(listener.environ())
    notifier.close()
    notifier.close()
    notifier.stopping()
    assert _flush(notifier, listener) == [b"STOPPING=1"]
    notifier.close()


def test_child_process_notifies_through_inherited_environment(listener: NotifyListener) -> None:
    """A daemon started with the listener's environment reaches it, watchdog included."""
    code = (
        "from resnet_watch.notify import Notifier\n"
        "n = Notifier.from_environ()\n"
        "n.ready('up'); n.watchdog(); n.stopping(); n.close()\n"
    )
    env = {**os.environ, **listener.environ(watchdog_usec=10_000_000)}
    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], env=env, cwd=repo, check=True, timeout=60)
    listener.wait_for(b"STOPPING=1", timeout=10)
    assert listener.messages == [b"READY=1\nSTATUS=up", b"WATCHDOG=1", b"STOPPING=1"]
    assert listener.wait_for(b"STATUS=", timeout=0) == [b"READY=1", b"STATUS=up"]
