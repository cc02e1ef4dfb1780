"""Reliability: hostile inputs, poison files, partial copies, crashes and bursts lose nothing."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import structlog

from resnet_watch.imaging import ImageLimits
from resnet_watch.pipeline import Pipeline, PipelineSettings
from resnet_watch.sidecar import TEMP_PREFIX, read_sidecar, validate_record
from resnet_watch.store import SidecarStore, StoreSettings
from resnet_watch.watcher import Watcher, WatchSettings
from tests.daemon_helpers import (
    DaemonProcess,
    move_into,
    read_sidecar_json,
    sidecar,
    stage_photos,
    wait_until,
)
from tests.fakes import FAKE_INFO, FakeClassifier
from tests.hostile import EXPECTED_KIND, make_hostile_corpus, photo


def digest(path: Path) -> str | None:
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- hostile corpus through the real daemon -------------------------------------------------


def test_hostile_corpus_gets_records_and_the_daemon_survives(tmp_path: Path) -> None:
    """Every hostile file gets a result, a failure record or is skipped on purpose; none changes."""
    d = DaemonProcess(tmp_path).start()
    staging = tmp_path / "staging"
    staging.mkdir()
    corpus = make_hostile_corpus(staging, outside=tmp_path / "outside")
    before = {case: digest(p) for case, p in corpus.items() if os.path.lexists(p)}
    # move the whole corpus in, as a sync tool would
    moved = {}
    for case, path in corpus.items():
        target = d.inbox / path.name
        os.rename(path, target)
        moved[case] = target
    expect_record = {c: p for c, p in moved.items() if c not in ("fifo_jpg", "dir_named_jpg")}
    wait_until(
        lambda: all(os.path.exists(sidecar(p)) or _long_sidecar(p) for p in expect_record.values()),
        60,
        "a record for every hostile file",
    )
    assert d.proc is not None and d.proc.poll() is None, "daemon died"
    for case, path in expect_record.items():
        record = read_sidecar_json(path) or _long_sidecar(path)
        assert record, case
        kind = EXPECTED_KIND[case]
        if case.startswith("symlink"):
            assert record["status"] == "failed"
            assert record["error"]["kind"] == "symlink_not_followed", case
        elif kind is None:
            assert record["status"] == "ok", (case, record.get("error"))
        else:
            assert record["status"] == "failed" and record["error"]["kind"] == kind, (case, record)
            assert record["error"]["message"]
    for case, path in moved.items():
        if before.get(case) is not None:
            assert digest(path) == before[case], f"{case} was modified"
    assert not os.path.exists(sidecar(moved["fifo_jpg"]))  # FIFOs are skipped on purpose
    assert not os.path.exists(sidecar(moved["dir_named_jpg"]))
    # the daemon still works after all that
    good = d.inbox / "after.jpg"
    photo((200, 150)).save(good)
    assert wait_until(lambda: read_sidecar_json(good), 10, "later file")["status"] == "ok"
    assert d.stop() == 0


def _after_the_restart_scan(d: DaemonProcess, tmp_path: Path) -> None:
    """Wait until whatever the latest start-up scan submitted has been handled: a photo
    dropped after that scan is classified after it."""
    runs = len(d.events("daemon_started"))
    wait_until(lambda: len(d.events("backlog_scanned")) >= runs, 60, "the start-up scan")
    later = d.inbox / f"later-{runs}.jpg"
    photo((64, 48)).save(later)
    wait_until(lambda: read_sidecar_json(later), 60, "a later photo's sidecar")


def test_a_symlink_failure_is_not_counted_again_at_restart(tmp_path: Path) -> None:
    """A symlink's failure record stays as it is across restarts (attempts do not climb)."""
    target = tmp_path / "outside.jpg"
    photo((64, 48)).save(target)
    d = DaemonProcess(tmp_path)
    d.inbox.mkdir(parents=True)
    link = d.inbox / "link.jpg"
    link.symlink_to(target)
    d.start()
    first = wait_until(lambda: read_sidecar_json(link), 60, "failure record")
    assert first["error"]["kind"] == "symlink_not_followed" and first["attempts"] == 1
    written = sidecar(link).read_bytes()
    assert d.stop() == 0

    d.start()
    _after_the_restart_scan(d, tmp_path)
    assert len([e for e in d.events("image_failed") if e.get("path") == str(link)]) == 1
    assert sidecar(link).read_bytes() == written
    assert d.stop() == 0


def _long_sidecar(image: Path) -> dict | None:
    from resnet_watch.sidecar import sidecar_path

    return read_sidecar(sidecar_path(image, ".resnet-watch.json"))


def test_corrupt_existing_sidecar_is_replaced(tmp_path: Path) -> None:
    """A sidecar holding corrupt JSON is re-classified and rewritten, not a crash."""
    d = DaemonProcess(tmp_path)
    d.inbox.mkdir(parents=True)
    image = d.inbox / "a.jpg"
    photo((160, 120)).save(image)
    sidecar(image).write_text('{"schema_version": 1, "status": "o')
    d.start()
    record = wait_until(lambda: read_sidecar_json(image), 10, "rewritten sidecar")
    assert record["status"] == "ok"
    assert d.stop() == 0


# --- poison files, retries, partial copies ------------------------------------------------


def test_poison_file_is_retried_with_backoff_then_left_alone(tmp_path: Path) -> None:
    """A failing file is tried `retries` times, then never again until it changes."""
    d = DaemonProcess(tmp_path, {"pipeline": {"retries": 3, "retry_backoff_seconds": 0.3}})
    d.start()
    bad = d.inbox / "poison.jpg"
    good_bytes = tmp_path / "g.jpg"
    photo((300, 200)).save(good_bytes, quality=90)
    bad.write_bytes(good_bytes.read_bytes()[: good_bytes.stat().st_size // 2])  # truncated
    record = wait_until(
        lambda: (r := read_sidecar_json(bad)) and r.get("gave_up") and r, 20, "gave_up"
    )
    assert record["attempts"] == 3 and record["error"]["kind"] == "corrupt_image"
    assert d.stop() == 0
    d.start()  # the start-up scan finds the given-up file recorded: it is left alone
    _after_the_restart_scan(d, tmp_path)
    fails = [e for e in d.events("image_failed") if e["path"] == str(bad)]
    assert len(fails) == 3
    # the user fixes the file: it is classified (a changed file is new work)
    shutil.copy(good_bytes, bad)
    wait_until(lambda: (r := read_sidecar_json(bad)) and r["status"] == "ok", 10, "fixed file")
    assert d.stop() == 0


def test_file_written_with_pauses_ends_classified_on_complete_data(tmp_path: Path) -> None:
    """A writer pausing longer than the settle delay: the final sidecar is for the whole file."""
    d = DaemonProcess(tmp_path, {"watch": {"settle_seconds": 1.0}}).start()  # the default
    src = tmp_path / "src.jpg"
    photo((800, 600)).save(src, quality=92)
    data = src.read_bytes()
    target = d.inbox / "gappy.jpg"
    with open(target, "wb") as fh:
        for i, chunk in enumerate(range(0, len(data), len(data) // 3 + 1)):
            fh.write(data[chunk : chunk + len(data) // 3 + 1])
            fh.flush()
            if i < 2:
                time.sleep(2.0)  # > settle_seconds: the documented early-read case
    record = wait_until(
        lambda: (r := read_sidecar_json(target)) and r["status"] == "ok" and r, 20, "final result"
    )
    assert record["file"]["size"] == len(data)
    assert record["file"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert d.stop() == 0


def test_sighup_reloads_what_it_can_and_names_what_needs_a_restart(tmp_path: Path) -> None:
    """SIGHUP applies top_k at once and says inbox changes need a restart."""
    import yaml

    d = DaemonProcess(tmp_path).start()
    cfg = yaml.safe_load(d.config.read_text())
    cfg["model"]["top_k"] = 2
    cfg["inbox"]["recursive"] = False
    d.config.write_text(yaml.safe_dump(cfg))
    assert d.proc is not None
    d.proc.send_signal(signal.SIGHUP)
    event = wait_until(lambda: d.events("config_reloaded"), 10, "config_reloaded")[0]
    assert "model.top_k" in event["applied"]
    assert "inbox.recursive" in event["needs_restart"]
    image = d.inbox / "a.jpg"
    photo((160, 120)).save(image)
    record = wait_until(lambda: read_sidecar_json(image), 10, "sidecar after reload")
    assert len(record["labels"]) == 2
    assert d.stop() == 0


def test_second_sigint_exits_at_once(tmp_path: Path) -> None:
    """Ctrl-C twice: the second one exits with 130 while the first is still finishing work.

    Large PNGs (no DCT scaling) keep the graceful stop busy for most of a second, so the
    second signal lands while images are in flight, never in interpreter shutdown, where
    Python has already put back the default handler.
    """
    staging = tmp_path / "staging"
    staging.mkdir()
    scans = []
    for i in range(4):
        scan = staging / f"scan_{i}.png"
        photo((400, 300), seed=i).resize((4000, 3000)).save(scan, compress_level=1)
        scans.append(scan)
    d = DaemonProcess(tmp_path).start()
    move_into(d.inbox, scans)
    wait_until(lambda: d.events("image_classified"), 60, "work in progress")
    assert d.proc is not None
    d.proc.send_signal(signal.SIGINT)
    wait_until(lambda: d.events("daemon_stopping"), 10, "the graceful stop to begin")
    assert not d.events("daemon_stopped"), "the graceful stop ended before the second Ctrl-C"
    d.proc.send_signal(signal.SIGINT)
    assert d.proc.wait(10) == 130
    assert not d.events("daemon_stopped")


# --- crash safety -------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_during_a_burst_five_times_loses_nothing(tmp_path: Path) -> None:
    """kill -9 at random points in a 1,000-image burst, 5 times: one valid sidecar each."""
    rng = random.Random(1234)
    d = DaemonProcess(tmp_path, {"watch": {"settle_seconds": 0.2}})
    staged = stage_photos(tmp_path / "staging", 1000, (80, 80))
    d.start()
    images = move_into(d.inbox, staged)
    for _ in range(5):
        time.sleep(rng.uniform(0.5, 3.0))
        assert d.proc is not None
        d.proc.kill()
        d.proc.wait()
        d.start()
    wait_until(lambda: all(os.path.exists(sidecar(p)) for p in images), 300, "all sidecars")
    assert d.stop() == 0  # finishes what is in flight: a duplicate would be logged by now
    for p in images:
        record = read_sidecar_json(p)
        assert record is not None and validate_record(record) == [], p
        assert record["status"] == "ok"
    counts = d.classified_counts()
    # The event is logged only after the sidecar is complete, so two events for one image
    # would mean it was classified again after it had a complete sidecar.
    twice = {k: v for k, v in counts.items() if v > 1}
    assert not twice, twice
    assert not [n for n in os.listdir(d.inbox) if n.startswith(TEMP_PREFIX)]


# --- burst and lost events (in process, fake classifier) ---------------------------------


@pytest.mark.slow
def test_burst_of_5000_with_lost_events_is_recovered_by_rescan(tmp_path: Path) -> None:
    """5,000 files at once with inotify events dropped: the rescan finds every one."""
    inbox = tmp_path / "inbox"
    images = stage_photos(tmp_path / "staging", 5000, (32, 32))
    inbox.mkdir()
    store = SidecarStore(StoreSettings(), FAKE_INFO, structlog.get_logger("test"))
    pipeline = Pipeline(
        FakeClassifier(),
        PipelineSettings(limits=ImageLimits(10**8, 10**8), queue_size=32, batch_size=16),
        store.sink,
        gate=store.gate,
    )
    watcher = Watcher(
        WatchSettings(roots=(inbox,), settle_seconds=0.2, rescan_interval=2.0),
        pipeline.submit,
    )
    pipeline.start()
    depths: list[int] = []
    try:
        watcher.start()
        # drop every event from now on: only the periodic rescan can find the files
        import resnet_watch.watch_events as watch_events

        original = watch_events.QueueingHandler.dispatch
        watch_events.QueueingHandler.dispatch = lambda self, event: None  # type: ignore[method-assign]
        try:
            move_into(inbox, images)
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                depths.append(pipeline.queue_depth())
                if pipeline.counters.classified >= 5000:
                    break
                time.sleep(0.1)
        finally:
            watch_events.QueueingHandler.dispatch = original  # type: ignore[method-assign]
    finally:
        watcher.stop()
        pipeline.stop()
    assert pipeline.counters.classified == 5000
    assert all(os.path.exists(sidecar(inbox / p.name)) for p in images)
    assert max(depths) <= 32 + 32 + 2  # bounded: queue + ready buffer, never the burst


# --- unprivileged user, read-only sidecar folder -----------------------------------------


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root+setpriv")
def test_runs_unprivileged_and_survives_a_read_only_folder() -> None:
    """As nobody with only the inbox writable; a read-only sub-folder gives a clear event."""
    base = Path(tempfile.mkdtemp(prefix="rw-unpriv-"))
    try:
        base.chmod(0o755)
        inbox = base / "inbox"
        locked = inbox / "locked"
        locked.mkdir(parents=True)
        image = locked / "a.jpg"
        photo((160, 120)).save(image)
        before = digest(image)
        os.chown(inbox, 65534, 65534)
        locked.chmod(0o555)  # owned by root: nobody cannot write sidecars here
        free = inbox / "free.jpg"
        photo((160, 120), seed=3).save(free)
        os.chown(free, 65534, 65534)
        log = base / "daemon.log"
        cfg = base / "config.yaml"
        cfg.write_text(
            f"inbox:\n  paths: [{inbox}]\nwatch:\n  settle_seconds: 0.3\n"
            f"model:\n  weights_dir: {base / 'weights'}\nlog:\n  file: null\n  format: json\n"
        )
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        env["HOME"] = str(base)
        proc = subprocess.Popen(
            [
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                sys.executable,
                "-m",
                "resnet_watch",
                "run",
                "--config",
                str(cfg),
            ],
            stderr=open(log, "wb"),  # noqa: SIM115 - lives as long as the process
            stdout=subprocess.DEVNULL,
            env=env,
            cwd=base,
        )
        try:
            wait_until(lambda: os.path.exists(sidecar(free)), 120, "sidecar as nobody")
            wait_until(lambda: b"sidecar_write_failed" in log.read_bytes(), 30, "write error")
            assert proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
        assert digest(image) == before
        assert not os.path.exists(sidecar(image))
        assert read_sidecar_json(free)["status"] == "ok"
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(base)], check=False)
        shutil.rmtree(base, ignore_errors=True)
