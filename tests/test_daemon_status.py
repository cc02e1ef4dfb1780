"""daemon_status: the watchdog is pinged only while every part of the daemon makes progress."""

from __future__ import annotations

from pathlib import Path

import structlog
from structlog.testing import capture_logs

from resnet_watch.daemon_status import StallCheck
from resnet_watch.liveness import Liveness
from resnet_watch.notify import Notifier
from resnet_watch.web.activity import Activity
from tests.notify_helpers import NotifyListener


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pings(notifier: Notifier, listener: NotifyListener) -> int:
    """WATCHDOG=1 datagrams so far (a trailing sentinel proves none is still on its way)."""
    before = len(listener.messages)
    notifier.status("sentinel")
    listener.wait_for(b"STATUS=sentinel", timeout=10, since=before)
    return listener.assignments().count(b"WATCHDOG=1")


def test_a_stalled_part_stops_the_pings_until_it_progresses(tmp_path: Path) -> None:
    """A wedged watcher stops WATCHDOG=1, is logged once, and pings resume when it moves."""
    clock = Clock()
    liveness = Liveness(("pipeline", "watcher"), clock=clock)
    activity = Activity()
    with NotifyListener(tmp_path) as listener, capture_logs() as logs:
        notifier = Notifier(listener.address, 2.0, clock=clock)  # stall limit: 1 s
        check = StallCheck(liveness, notifier, activity, structlog.get_logger())
        check()
        assert pings(notifier, listener) == 1
        healthy_at = activity.last_heartbeat()
        assert healthy_at is not None

        for _ in range(3):  # the pipeline keeps beating, the watcher does not
            clock.now += 2.0
            liveness.beat("pipeline")
            check()
        assert pings(notifier, listener) == 1
        assert activity.last_heartbeat() == healthy_at
        stalled = [e for e in logs if e["event"] == "daemon_stalled"]
        assert len(stalled) == 1 and stalled[0]["parts"] == ["watcher"]

        clock.now += 2.0
        liveness.beat("pipeline")
        liveness.beat("watcher")
        check()
        assert pings(notifier, listener) == 2
        recovered = [e for e in logs if e["event"] == "daemon_progressing"]
        assert recovered and recovered[0]["recovered"] == ["watcher"]
        notifier.close()
