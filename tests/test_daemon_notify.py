"""The daemon speaks systemd's notify protocol: READY after the model, WATCHDOG while busy."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.daemon_helpers import (
    DaemonProcess,
    move_into,
    read_sidecar_json,
    stage_photos,
    wait_until,
)
from tests.notify_helpers import NotifyListener


def test_ready_watchdog_and_stopping(tmp_path: Path) -> None:
    """READY=1 only once started, WATCHDOG=1 during a burst, STOPPING=1 on SIGTERM."""
    with NotifyListener(None) as listener:
        d = DaemonProcess(tmp_path, env=listener.environ(watchdog_usec=4_000_000))
        d.start(wait_ready=False)
        listener.wait_for(b"READY=1", timeout=120)
        # READY came after the model was loaded and the watcher was running
        assert d.events("model_selected") and d.events("daemon_started")
        staged = stage_photos(tmp_path / "staging", 120, (640, 480), quality=90)
        mark = len(listener.messages)
        images = move_into(d.inbox, staged)
        wait_until(lambda: all(read_sidecar_json(p) for p in images), 120, "burst done")
        # every part kept progressing through the burst: the pings went on
        listener.wait_for(b"WATCHDOG=1", timeout=30, since=mark)
        assert any(m.startswith(b"STATUS=") or b"\nSTATUS=" in m for m in listener.messages)
        mark = len(listener.messages)
        assert d.stop(signal.SIGTERM) == 0
        listener.wait_for(b"STOPPING=1", timeout=10, since=mark)


def test_a_wedged_watcher_stops_the_watchdog_pings(tmp_path: Path) -> None:
    """A watcher hung on a dead mount stops WATCHDOG=1 (and says so) while inference idles."""
    with NotifyListener(None) as listener:
        d = DaemonProcess(
            tmp_path,
            env=listener.environ(watchdog_usec=2_000_000),
            module="tests.wedge_launcher",
        )
        d.start()
        listener.wait_for(b"WATCHDOG=1", timeout=60)
        (d.inbox / "hung-mount.jpg").write_bytes(b"not read: its lstat never returns")
        stalled = wait_until(lambda: d.events("daemon_stalled"), 30, "daemon_stalled")
        assert stalled[0]["parts"] == ["watcher"]
        mark = len(listener.messages)
        # STATUS= comes every main-loop pass (0.5 s here); a ping would be due every 1 s
        wait_until(
            lambda: sum(b"STATUS=" in m for m in listener.messages[mark:]) >= 8,
            30,
            "eight more main-loop passes",
        )
        assert not [m for m in listener.messages[mark:] if b"WATCHDOG=1" in m]
        d.stop(signal.SIGKILL)
