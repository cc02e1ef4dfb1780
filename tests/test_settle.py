"""The settle rule: a file is ready once it had no event and no lstat change for the delay."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from resnet_watch.settle import StabilityTracker


class FakeStat:
    """Stand-in for os.lstat: a dict of path -> (mode, size, mtime_ns)."""

    def __init__(self) -> None:
        self.files: dict[Path, tuple[int, int, int]] = {}

    def set(self, path: Path, size: int, mtime_ns: int = 1, mode: int = stat.S_IFREG) -> None:
        self.files[path] = (mode | 0o644, size, mtime_ns)

    def __call__(self, path: Path) -> os.stat_result:
        if path not in self.files:
            raise FileNotFoundError(path)
        mode, size, mtime_ns = self.files[path]
        return os.stat_result((mode, 1, 1, 1, 0, 0, size, 0, 0, 0, 0.0, 0.0, 0.0, 0, mtime_ns, 0))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Fakes = tuple[StabilityTracker, FakeClock, FakeStat]


@pytest.fixture
def fakes() -> Fakes:
    clock, fs = FakeClock(), FakeStat()
    return StabilityTracker(1.0, clock=clock, stat_fn=fs), clock, fs


P = Path("/inbox/a.jpg")


def test_tracker_is_not_ready_before_the_settle_delay(fakes: Fakes) -> None:
    """A touched file waits settle_seconds; then it is ready once and no longer pending."""
    tracker, clock, fs = fakes
    fs.set(P, 100)
    tracker.touch(P)
    clock.now += 0.9
    assert tracker.ready() == []
    assert tracker.pending() == 1
    clock.now += 0.2
    assert tracker.ready() == [P]
    assert tracker.pending() == 0
    assert tracker.ready() == []


def test_tracker_new_event_restarts_the_timer(fakes: Fakes) -> None:
    """Another event before the delay is over pushes readiness back by a full delay."""
    tracker, clock, fs = fakes
    fs.set(P, 100)
    tracker.touch(P)
    clock.now += 0.8
    tracker.touch(P)
    clock.now += 0.8
    assert tracker.ready() == []
    clock.now += 0.3
    assert tracker.ready() == [P]


def test_tracker_changed_size_without_event_restarts_the_timer(fakes: Fakes) -> None:
    """A file that grew silently (NFS, polling) is re-checked a full delay later."""
    tracker, clock, fs = fakes
    fs.set(P, 100)
    tracker.touch(P)
    fs.set(P, 200)
    clock.now += 1.1
    assert tracker.ready() == []
    clock.now += 0.5
    assert tracker.ready() == []
    clock.now += 0.6
    assert tracker.ready() == [P]


def test_tracker_changed_mtime_restarts_the_timer(fakes: Fakes) -> None:
    """Same size but a new mtime (rewritten in place) counts as a change."""
    tracker, clock, fs = fakes
    fs.set(P, 100, mtime_ns=1)
    tracker.touch(P)
    fs.set(P, 100, mtime_ns=2)
    clock.now += 1.1
    assert tracker.ready() == []
    clock.now += 1.1
    assert tracker.ready() == [P]


def test_tracker_drops_a_vanished_file(fakes: Fakes) -> None:
    """A file deleted before it settled is forgotten, never reported."""
    tracker, clock, fs = fakes
    fs.set(P, 100)
    tracker.touch(P)
    del fs.files[P]
    clock.now += 5
    assert tracker.ready() == []
    assert tracker.pending() == 0


def test_tracker_reports_symlinks_and_drops_fifos(fakes: Fakes) -> None:
    """lstat decides: symlinks are reported (to be recorded), FIFOs/sockets/devices are not."""
    tracker, clock, fs = fakes
    link, fifo, sock = Path("/i/l.jpg"), Path("/i/f.jpg"), Path("/i/s.jpg")
    fs.set(link, 10, mode=stat.S_IFLNK)
    fs.set(fifo, 0, mode=stat.S_IFIFO)
    fs.set(sock, 0, mode=stat.S_IFSOCK)
    for p in (link, fifo, sock):
        tracker.touch(p)
    clock.now += 2
    assert tracker.ready() == [link]
    assert tracker.pending() == 0
