"""Behaviour of the inbox watcher: what is emitted, exactly once, when it is complete."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

import resnet_watch.observer_supervisor as observer_supervisor
import resnet_watch.watch_events as watch_events
from resnet_watch.watcher import Watcher, WatchSettings

DEADLINE = 15.0
IMAGES = ("*.jpg", "*.jpeg", "*.png")


# ----------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _no_thread_leaks() -> Iterator[None]:
    """Every thread a test starts (observers, emitters, settle loop) is gone afterwards."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked:
            return
        time.sleep(0.02)
    raise AssertionError(f"threads leaked: {leaked}")


def wait_until(predicate: Callable[[], bool], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


class Recorder:
    """The on_ready callback: records each emitted path and its size at emit time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.emitted: list[tuple[Path, int]] = []

    def __call__(self, path: Path) -> None:
        size = os.lstat(path).st_size
        with self.lock:
            self.emitted.append((path, size))

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(p.name for p, _ in self.emitted)

    def count(self, name: str) -> int:
        return self.counts()[name]

    def wait_for(self, *names: str, times: int = 1) -> None:
        wait_until(lambda: all(self.count(n) >= times for n in names))


@dataclass
class Env:
    inbox: Path
    outside: Path
    recorder: Recorder
    make: Callable[..., Watcher]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    inbox = tmp_path / "inbox"
    outside = tmp_path / "outside"
    inbox.mkdir()
    outside.mkdir()
    recorder = Recorder()
    watchers: list[Watcher] = []

    def make(start: bool = True, **overrides: object) -> Watcher:
        settings = WatchSettings(
            roots=(inbox,),
            recursive=True,
            include=IMAGES,
            ignore=(),
            settle_seconds=0.3,
            polling="auto",
            poll_interval=0.2,
            rescan_interval=0,
            sidecar_suffixes=(".resnet-watch.json", ".xmp"),
        )
        settings = replace(settings, **overrides)  # type: ignore[arg-type]
        w = Watcher(settings, recorder)
        w.health_interval = 3600  # tests call check_health() themselves
        watchers.append(w)
        if start:
            w.start()
        return w

    yield Env(inbox.resolve(), outside, recorder, make)
    for w in watchers:
        w.stop()


def write(path: Path, size: int = 1024) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


def barrier(env: Env, name: str = "zz-barrier.jpg") -> None:
    """Write a fresh file and wait for it: anything queued before it has had its chance."""
    write(env.inbox / name)
    env.recorder.wait_for(name)


# ----------------------------------------------------------------------------- Watcher


def test_slowly_written_file_is_emitted_once_when_complete(env: Env) -> None:
    """A file written in chunks over ~2 s is emitted once, at its final size."""
    env.make(settle_seconds=0.6)
    target = env.inbox / "slow.jpg"
    chunk = os.urandom(64 * 1024)
    with target.open("wb") as fh:
        for _ in range(20):
            fh.write(chunk)
            fh.flush()
            time.sleep(0.1)
    final = target.stat().st_size
    env.recorder.wait_for("slow.jpg")
    barrier(env)
    assert env.recorder.count("slow.jpg") == 1
    assert [size for p, size in env.recorder.emitted if p.name == "slow.jpg"] == [final]


def test_part_file_renamed_to_jpg_is_emitted_once_as_the_jpg(env: Env) -> None:
    """Browser-style downloads: the .part is never emitted, the renamed .jpg is, once."""
    env.make()
    part = write(env.inbox / "download.jpg.part", 200_000)
    time.sleep(0.05)  # a download in progress, not a correctness wait
    part.rename(env.inbox / "download.jpg")
    env.recorder.wait_for("download.jpg")
    barrier(env)
    counts = env.recorder.counts()
    assert counts["download.jpg"] == 1
    assert counts["download.jpg.part"] == 0


def test_file_moved_in_from_outside_is_emitted(env: Env) -> None:
    """`mv` of a finished photo into the inbox (a rename, no writes) is emitted."""
    env.make()
    src = write(env.outside / "moved.jpg")
    src.rename(env.inbox / "moved.jpg")
    env.recorder.wait_for("moved.jpg")


def test_many_files_copied_at_once_are_each_emitted_once(env: Env) -> None:
    """A burst of 300 files: every one is emitted, none twice."""
    env.make()
    names = [f"burst-{i:03d}.jpg" for i in range(300)]
    for name in names:
        write(env.inbox / name, 4096)
    env.recorder.wait_for(*names)
    barrier(env)
    counts = env.recorder.counts()
    assert {counts[n] for n in names} == {1}


def test_directory_moved_into_the_inbox_has_its_files_emitted(env: Env) -> None:
    """A folder moved in (no per-file events) has every photo in it emitted, nested ones too."""
    env.make()
    album = env.outside / "album"
    write(album / "a.jpg")
    write(album / "nested" / "b.jpg")
    write(album / "@eaDir" / "thumb.jpg")
    album.rename(env.inbox / "album")
    env.recorder.wait_for("a.jpg", "b.jpg")
    barrier(env)
    counts = env.recorder.counts()
    assert counts["a.jpg"] == counts["b.jpg"] == 1
    assert counts["thumb.jpg"] == 0


def test_backlog_present_before_start_is_emitted(env: Env) -> None:
    """Photos already in the inbox at startup are emitted, and the scan is logged."""
    write(env.inbox / "old1.jpg")
    write(env.inbox / "sub" / "old2.jpg")
    write(env.inbox / ".DS_Store")
    with capture_logs() as logs:
        env.make()
    env.recorder.wait_for("old1.jpg", "old2.jpg")
    scans = [e for e in logs if e["event"] == "backlog_scanned"]
    assert scans and scans[0]["files"] == 2
    assert env.recorder.count(".DS_Store") == 0


def test_polling_mode_emits_files(env: Env) -> None:
    """polling='on' uses the polling observer and still emits new and changed files."""
    w = env.make(polling="on")
    assert w.observer_kind == "polling"
    write(env.inbox / "polled.jpg")
    env.recorder.wait_for("polled.jpg")


def test_inotify_watch_limit_falls_back_to_polling(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC from inotify logs observer_fallback with the sysctl fix and keeps emitting."""
    from watchdog.observers.inotify import InotifyObserver

    def no_watches(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(InotifyObserver, "schedule", no_watches)
    with capture_logs() as logs:
        w = env.make()
    assert w.observer_kind == "polling"
    fallback = [e for e in logs if e["event"] == "observer_fallback"]
    assert fallback and fallback[0]["reason"] == "ENOSPC"
    assert "max_user_watches" in fallback[0]["fix"]
    write(env.inbox / "after-fallback.jpg")
    env.recorder.wait_for("after-fallback.jpg")


def test_polling_off_does_not_fall_back(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """With polling='off' an inotify failure is raised, not hidden."""
    from watchdog.observers.inotify import InotifyObserver

    def no_instances(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EMFILE, "inotify instance limit reached")

    monkeypatch.setattr(InotifyObserver, "schedule", no_instances)
    with pytest.raises(OSError, match="instance limit"):
        env.make(polling="off")


def test_network_filesystem_is_polled_in_auto_mode(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Roots on NFS/SMB get the polling observer: inotify never sees other machines' writes."""
    monkeypatch.setattr(observer_supervisor, "fs_type", lambda path: "nfs4")
    with capture_logs() as logs:
        w = env.make()
    assert w.observer_kind == "polling"
    assert any(
        e["event"] == "observer_fallback" and e["reason"] == "network_filesystem" for e in logs
    )


def test_lost_events_are_recovered_by_rescan(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """With every event dropped (inotify overflow), rescan() still finds every file."""
    monkeypatch.setattr(watch_events.QueueingHandler, "dispatch", lambda self, event: None)
    w = env.make()
    names = [f"lost-{i}.jpg" for i in range(20)]
    for name in names:
        write(env.inbox / "sub" / name)
    assert env.recorder.counts() == Counter()
    with capture_logs() as logs:
        assert w.rescan() == 20
    env.recorder.wait_for(*names)
    assert [e["new"] for e in logs if e["event"] == "rescan_completed"] == [20]


def test_periodic_rescan_recovers_lost_events(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settle thread rescans every rescan_interval on its own."""
    monkeypatch.setattr(watch_events.QueueingHandler, "dispatch", lambda self, event: None)
    env.make(rescan_interval=0.5)
    write(env.inbox / "found-later.jpg")
    env.recorder.wait_for("found-later.jpg")


def test_a_real_inotify_overflow_triggers_an_immediate_rescan(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel's queue overflows (events really lost): the watcher rescans at once."""
    from watchdog.observers.inotify_c import InotifyFD

    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    parked, release = threading.Event(), threading.Event()
    handle_event = InotifyFD.handle_event

    def park_the_reader(self: InotifyFD, event: object) -> None:
        if not release.is_set():  # stop reading: the kernel queue fills up behind us
            parked.set()
            release.wait(60)
        handle_event(self, event)

    monkeypatch.setattr(InotifyFD, "handle_event", park_the_reader)
    w = env.make(rescan_interval=3600, settle_seconds=0.05)
    assert w.observer_kind == "inotify"
    write(env.inbox / "first.jpg")
    wait_until(parked.is_set)
    names = [f"burst-{i:05d}.jpg" for i in range(limit // 2 + 500)]  # 2 events each
    for name in names:
        os.close(os.open(env.inbox / name, os.O_CREAT | os.O_WRONLY, 0o644))
    with capture_logs() as logs:
        release.set()
        wait_until(lambda: len(env.recorder.counts()) == len(names) + 1, 120)
    assert any(e["event"] == "events_lost" for e in logs)


def test_rescan_skips_unchanged_files_and_reemits_modified_ones(env: Env) -> None:
    """A rescan does not re-emit an unchanged file; a changed file is emitted again."""
    w = env.make()
    write(env.inbox / "same.jpg")
    write(env.inbox / "edited.jpg")
    env.recorder.wait_for("same.jpg", "edited.jpg")
    with capture_logs() as logs:
        assert w.rescan() == 2
    assert [e["new"] for e in logs if e["event"] == "rescan_completed"] == [0]
    with (env.inbox / "edited.jpg").open("ab") as fh:
        fh.write(b"more")
    env.recorder.wait_for("edited.jpg", times=2)
    w.rescan()
    barrier(env)
    assert env.recorder.counts()["same.jpg"] == 1
    assert env.recorder.counts()["edited.jpg"] == 2


def test_dead_observer_is_restarted_and_files_keep_coming(env: Env) -> None:
    """If the observer thread dies, check_health logs observer_restarted and recovers."""
    w = env.make()
    assert w.check_health() is True
    observer = w._observers.observer
    assert observer is not None
    observer.stop()
    observer.join()
    write(env.inbox / "during-outage.jpg")
    with capture_logs() as logs:
        assert w.check_health() is False
    restarted = [e for e in logs if e["event"] == "observer_restarted"]
    assert restarted and restarted[0]["reason"] == "observer_thread_died"
    write(env.inbox / "after-restart.jpg")
    env.recorder.wait_for("during-outage.jpg", "after-restart.jpg")
    assert w.check_health() is True


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_crashed_emitter_is_detected_and_restarted(env: Env) -> None:
    """An exception in watchdog's emitter thread (silent in watchdog) triggers a restart."""
    w = env.make()
    assert w.observer_kind == "inotify"
    assert w._observers.observer is not None
    (emitter,) = w._observers.observer.emitters

    def boom(timeout: float) -> None:
        raise RuntimeError("emitter crashed")

    emitter.queue_events = boom  # type: ignore[method-assign]
    write(env.inbox / "trigger.jpg")  # wakes the emitter, which then crashes
    wait_until(lambda: not emitter.is_alive())
    with capture_logs() as logs:
        assert w.check_health() is False
    assert any(
        e["event"] == "observer_restarted" and e["reason"] == "emitter_thread_died" for e in logs
    )
    write(env.inbox / "after-crash.jpg")
    env.recorder.wait_for("trigger.jpg", "after-crash.jpg")


def test_stuck_observer_is_abandoned_and_replaced(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An observer whose dispatch hangs is replaced; files arriving meanwhile are not lost."""
    release = threading.Event()
    hung = threading.Event()
    original = watch_events.QueueingHandler.dispatch

    def hang_once(self: watch_events.QueueingHandler, event: object) -> None:
        if not hung.is_set():
            hung.set()
            release.wait(DEADLINE)
            return
        original(self, event)  # type: ignore[arg-type]

    monkeypatch.setattr(watch_events.QueueingHandler, "dispatch", hang_once)
    w = env.make()
    w.stuck_after = 0.0
    write(env.inbox / "hangs.jpg")
    wait_until(hung.is_set)
    write(env.inbox / "queued-behind.jpg")
    assert w._observers.observer is not None
    observer = w._observers.observer
    wait_until(lambda: observer.event_queue.qsize() > 0)
    try:
        with capture_logs() as logs:
            w.check_health()  # notes the queue is not moving
            assert w.check_health() is False
        reasons = [e.get("reason") for e in logs]
        assert "observer_stuck" in reasons
        write(env.inbox / "after-stuck.jpg")
        env.recorder.wait_for("hangs.jpg", "queued-behind.jpg", "after-stuck.jpg")
    finally:
        release.set()


def test_fifo_is_never_emitted_and_never_blocks(env: Env) -> None:
    """A named pipe with an image name is skipped by events and scans without opening it."""
    os.mkfifo(env.inbox / "pipe-before.jpg")
    w = env.make()
    os.mkfifo(env.inbox / "pipe.jpg")
    assert w.rescan() == 0
    barrier(env)
    counts = env.recorder.counts()
    assert counts["pipe.jpg"] == counts["pipe-before.jpg"] == 0


def test_symlinked_file_is_emitted_and_symlinked_dir_is_not_followed(env: Env) -> None:
    """A symlink file is passed on (to be recorded); a symlinked folder is not descended."""
    target = write(env.outside / "real.jpg")
    write(env.outside / "linked-dir" / "inside.jpg")
    (env.inbox / "link.jpg").symlink_to(target)
    (env.inbox / "loop").symlink_to(env.inbox)
    (env.inbox / "linked-dir").symlink_to(env.outside / "linked-dir")
    w = env.make()
    env.recorder.wait_for("link.jpg")
    assert w.rescan() == 1
    barrier(env)
    counts = env.recorder.counts()
    assert counts["link.jpg"] == 1
    assert counts["inside.jpg"] == 0


def test_sidecars_written_next_to_photos_are_not_emitted(env: Env) -> None:
    """The pipeline's own JSON/XMP outputs and temp files do not loop back into it."""
    env.make(include=())
    write(env.inbox / "p.jpg")
    env.recorder.wait_for("p.jpg")
    write(env.inbox / ".resnet-watch-tmp-1")
    (env.inbox / ".resnet-watch-tmp-1").rename(env.inbox / "p.jpg.resnet-watch.json")
    write(env.inbox / "p.xmp")
    barrier(env)
    assert set(env.recorder.counts()) == {"p.jpg", "zz-barrier.jpg"}


def test_non_recursive_watch_ignores_subdirectories(env: Env) -> None:
    """recursive=False emits top-level files only, at startup and afterwards."""
    write(env.inbox / "sub" / "old-nested.jpg")
    env.make(recursive=False)
    write(env.inbox / "sub" / "new-nested.jpg")
    write(env.inbox / "top.jpg")
    env.recorder.wait_for("top.jpg")
    barrier(env)
    assert env.recorder.count("old-nested.jpg") == env.recorder.count("new-nested.jpg") == 0


def test_missing_root_is_an_error_not_a_polling_fallback(tmp_path: Path) -> None:
    """A root that does not exist is reported; polling would not help, so none is tried."""
    w = Watcher(WatchSettings(roots=(tmp_path / "nope",), rescan_interval=0), print)
    with capture_logs() as logs, pytest.raises(FileNotFoundError):
        w.start()
    assert not any(e["event"] == "observer_fallback" for e in logs)


def test_failing_on_ready_is_logged_and_retried_by_rescan(tmp_path: Path) -> None:
    """If the pipeline raises for a path, the watcher keeps going and a rescan retries it."""
    calls: list[Path] = []

    def flaky(path: Path) -> None:
        calls.append(path)
        if len(calls) == 1:
            raise RuntimeError("queue closed")

    write(tmp_path / "a.jpg")
    w = Watcher(WatchSettings(roots=(tmp_path,), settle_seconds=0.1, rescan_interval=0), flaky)
    w.health_interval = 3600
    with capture_logs() as logs:
        w.start()
        try:
            wait_until(lambda: len(calls) == 1)
            wait_until(lambda: any(e["event"] == "on_ready_failed" for e in logs))
            assert w.rescan() == 1
            wait_until(lambda: len(calls) == 2)
        finally:
            w.stop()
    assert calls == [tmp_path.resolve() / "a.jpg"] * 2


def test_stop_returns_even_when_on_ready_blocks(tmp_path: Path) -> None:
    """A pipeline blocked on backpressure cannot hang shutdown beyond the timeout."""
    release = threading.Event()
    entered = threading.Event()

    def blocking(path: Path) -> None:
        entered.set()
        release.wait(DEADLINE)

    write(tmp_path / "a.jpg")
    w = Watcher(WatchSettings(roots=(tmp_path,), settle_seconds=0.1, rescan_interval=0), blocking)
    w.start()
    try:
        wait_until(entered.is_set)
        with capture_logs() as logs:
            w.stop(timeout=0.3)  # returns although on_ready still blocks, and says so
        assert [e["reason"] for e in logs if e["event"] == "watcher_stop_timeout"] == [
            "on_ready_blocked"
        ]
    finally:
        release.set()


def test_injected_logger_receives_the_events(tmp_path: Path) -> None:
    """A bound logger passed in is used for observer_started / backlog_scanned."""
    with capture_logs() as logs:
        log = structlog.get_logger("test").bind(component="watcher")
        w = Watcher(WatchSettings(roots=(tmp_path,), rescan_interval=0), print, log=log)
        w.start()
        w.stop()
    events = {e["event"] for e in logs if e.get("component") == "watcher"}
    assert {"observer_started", "backlog_scanned"} <= events
