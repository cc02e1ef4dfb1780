"""Redis reachability as the dispatcher logs and reports it."""

from __future__ import annotations

from resnet_watch.queue.health import RedisHealth
from tests.fakes import RecordingLog


def test_an_outage_is_logged_once_with_what_is_held_and_once_when_it_ends() -> None:
    """Many failed calls log one queue_unreachable (error, in flight, waiting) and one
    queue_reachable; the error is reported only while Redis is down."""
    log = RecordingLog()
    health = RedisHealth(log, lambda: {"in_flight": 2, "waiting": 5})
    health.answered()
    for _ in range(3):
        health.failed(ConnectionError("refused"))
    assert not health.reachable and health.error == "ConnectionError: refused"
    health.answered()
    health.answered()
    assert health.reachable and health.error == ""
    assert [e for e, _ in log.events] == ["queue_unreachable", "queue_reachable"]
    assert log.events[0][1] == {"error": "ConnectionError: refused", "in_flight": 2, "waiting": 5}
    assert "down_seconds" in log.events[1][1]


def test_a_new_run_id_is_a_restart_and_the_first_one_is_not() -> None:
    """Redis restarted (tasks may be lost) only when its run_id changes after the first look."""
    health = RedisHealth(RecordingLog(), dict)
    assert not health.restarted("first")
    assert not health.restarted("first")
    assert health.restarted("second")
    assert not health.restarted("second")
