"""PathIntake: the watcher-facing contract the pipeline and the queue dispatcher share."""

from __future__ import annotations

import threading
from pathlib import Path

from resnet_watch.intake import PathIntake


def test_a_path_already_claimed_is_refused_until_released() -> None:
    """A duplicate event for a path still queued or in work ends at the intake."""
    intake = PathIntake(4)
    intake.open()
    photo = Path("/inbox/a.jpg")
    assert intake.accept(photo) and intake.put(photo, block=True)
    assert not intake.accept(photo)
    assert not intake.still_wanted(photo)
    intake.release(photo)
    assert intake.still_wanted(photo) and intake.accept(photo)


def test_full_queue_without_blocking_drops_and_releases_the_path() -> None:
    """A non-blocking put on a full queue gives the path back, so it can be sent later."""
    intake = PathIntake(1)
    intake.open()
    first, second = Path("/inbox/1.jpg"), Path("/inbox/2.jpg")
    assert intake.accept(first) and intake.put(first, block=False)
    assert intake.accept(second)
    assert not intake.put(second, block=False)
    assert intake.in_flight() == 1 and intake.accept(second)


def test_close_refuses_new_paths_and_releases_the_queued_ones() -> None:
    """Paths still waiting when it closes are let go: wait_idle returns at once."""
    intake = PathIntake(4)
    intake.open()
    for name in ("1.jpg", "2.jpg"):
        path = Path("/inbox") / name
        assert intake.accept(path) and intake.put(path, block=True)
    intake.close()
    assert intake.wait_idle(timeout=1.0)
    assert not intake.accept(Path("/inbox/3.jpg"))


def test_wait_idle_waits_for_the_last_release() -> None:
    """wait_idle times out while a path is in work and returns once it is released."""
    intake = PathIntake(4)
    intake.open()
    photo = Path("/inbox/a.jpg")
    assert intake.accept(photo)
    assert not intake.wait_idle(timeout=0.05)
    threading.Timer(0.05, intake.release, args=(photo,)).start()
    assert intake.wait_idle(timeout=5.0)
