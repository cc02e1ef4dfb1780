"""The daemon speaks systemd's notify protocol: READY after the model, WATCHDOG while busy."""

from __future__ import annotations

import signal
import time
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
        d = DaemonProcess(tmp_path, env=listener.environ(watchdog_usec=1_000_000))
        d.start(wait_ready=False)
        listener.wait_for(b"READY=1", timeout=120)
        # READY came after the model was loaded and the watcher was running
        assert d.events("model_selected") and d.events("daemon_started")
        staged = stage_photos(tmp_path / "staging", 120, (640, 480), quality=90)
        mark = len(listener.messages)
        started = time.monotonic()
        images = move_into(d.inbox, staged)
        wait_until(lambda: all(read_sidecar_json(p) for p in images), 120, "burst done")
        busy = time.monotonic() - started
        pings = [m for m in listener.messages[mark:] if b"WATCHDOG=1" in m]
        # one ping per half interval (0.5 s) while the worker loop runs
        assert len(pings) >= max(1, int(busy / 0.5) - 2), (len(pings), busy)
        assert any(m.startswith(b"STATUS=") or b"\nSTATUS=" in m for m in listener.messages)
        mark = len(listener.messages)
        assert d.stop(signal.SIGTERM) == 0
        listener.wait_for(b"STOPPING=1", timeout=10, since=mark)
