"""Liveness: the daemon counts as alive only while every part makes progress."""

from __future__ import annotations

from resnet_watch.liveness import Liveness


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_silent_part_is_a_stall_even_if_the_other_beats() -> None:
    """The pipeline beating does not hide a watcher that stopped."""
    clock = Clock()
    live = Liveness(("pipeline", "watcher"), clock=clock)
    clock.now += 40
    live.beat("pipeline")
    assert live.stalled(30) == ["watcher"]
    live.beat("watcher")
    assert live.stalled(30) == []


def test_waiting_on_a_progressing_part_is_not_a_stall() -> None:
    """The watcher blocked on a full queue lives as long as the pipeline beats."""
    clock = Clock()
    live = Liveness(("pipeline", "watcher"), clock=clock)
    with live.waiting_on("watcher", "pipeline"):
        clock.now += 40
        live.beat("pipeline")
        assert live.stalled(30) == []
        clock.now += 40  # now the pipeline is silent too
        assert live.stalled(30) == ["pipeline", "watcher"]
    assert live.stalled(30) == ["pipeline"]  # leaving the wait is progress
