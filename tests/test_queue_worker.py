"""Several machines, for real: a private redis-server, `resnet-watch run` with queue.url set,
and `resnet-watch worker` processes (the real bundled model, or the fake one for fault tests)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from resnet_watch.cli import main
from resnet_watch.sidecar import validate_record
from tests.custom_helpers import data_dir, make_examples
from tests.daemon_helpers import (
    CAT_CLASSES,
    DaemonProcess,
    move_into,
    read_sidecar_json,
    run_cli,
    shipped_photo,
    stage_photos,
    wait_until,
)
from tests.redis_helpers import RedisServer, WorkerProcess

FAKE_WORKER = "tests.queue_launcher"  # TEST ONLY: the fake colour model + the crash hook


@pytest.fixture()
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.close()


@pytest.fixture()
def cleanup() -> Iterator[list[DaemonProcess | WorkerProcess]]:
    owned: list[DaemonProcess | WorkerProcess] = []
    yield owned
    for proc in owned:
        if isinstance(proc, WorkerProcess):
            if proc.alive():
                proc.kill_all()
        elif proc.proc is not None and proc.proc.poll() is None:
            proc.stop(signal.SIGKILL)


def watcher(tmp: Path, redis_url: str, **queue: object) -> DaemonProcess:
    return DaemonProcess(
        tmp, {"queue": {"url": redis_url, **queue}, "pipeline": {"retry_backoff_seconds": 0.5}}
    )


def test_worker_with_real_model_tags_a_cat_the_watcher_writes_sidecar_and_xmp(
    tmp_path: Path, redis_server: RedisServer, cleanup: list[DaemonProcess | WorkerProcess]
) -> None:
    """A worker on the bundled model, reading through a path_map, tags the cat photo; the
    watcher writes the sidecar and XMP, and the worker loaded the model once."""
    view = tmp_path / "mnt-view"  # how the worker machine sees the inbox
    view.symlink_to(tmp_path / "inbox")
    w = watcher(tmp_path, redis_server.url).start()
    cleanup.append(w)
    worker = WorkerProcess(
        tmp_path, "worker", redis_server.url, {"queue": {"path_map": {str(w.inbox): str(view)}}}
    ).start()
    cleanup.append(worker)
    cat = w.inbox / "chelsea.png"
    shutil.copy(shipped_photo("skimage", "data", "chelsea.png"), cat)
    second = w.inbox / "coffee.png"
    shutil.copy(shipped_photo("skimage", "data", "coffee.png"), second)
    record = wait_until(lambda: read_sidecar_json(cat), 120, "the cat's sidecar")
    wait_until(lambda: read_sidecar_json(second), 60, "the second sidecar")
    assert validate_record(record) == []
    assert {x["name"] for x in record["labels"]} & CAT_CLASSES
    assert record["model"]["name"] == "efficientnet_lite0" and not record["model"]["fixture"]
    assert "Cats" in record["albums"]
    xmp = cat.with_name(cat.name + ".xmp").read_text()
    assert "resnet-watch|Pets|Cats|" in xmp
    assert record["file"]["sha256"] and record["file"]["size"] == cat.stat().st_size
    loads = [e for e in _events(worker.log_file) if e.get("event") == "worker_model_loaded"]
    assert len(loads) == 1, loads
    assert len(w.wait_events("image_classified", cat)) == 1


def test_a_workers_photo_gets_its_embedding_and_the_watchers_custom_class(
    tmp_path: Path, redis_server: RedisServer, cleanup: list[DaemonProcess | WorkerProcess]
) -> None:
    """A photo classified by a remote worker has the embedding in the watcher's sidecar
    and the custom class of the watcher's head (tag, album, XMP); its exact copy is found
    by `dupes` from those sidecars."""
    head = tmp_path / "head.json"
    w = watcher(tmp_path, redis_server.url)
    w.config.write_text(w.config.read_text() + yaml.safe_dump({"custom": {"head": str(head)}}))
    examples = make_examples(tmp_path / "examples")
    assert main(["learn", "--config", str(w.config), str(examples), "--out", str(head)]) == 0
    w.start()
    cleanup.append(w)
    worker = WorkerProcess(tmp_path, "worker", redis_server.url).start()
    cleanup.append(worker)
    cat = w.inbox / "cat.jpg"
    shutil.copy(data_dir() / "segmentation" / "17.jpg", cat)
    record = wait_until(lambda: read_sidecar_json(cat), 120, "the cat's sidecar")
    # checked against the workers' model once the first reply names it
    assert w.wait_events("custom_head_loaded")[-1]["classes"] == ["Cats", "Streets"]
    assert record["embedding"]["model"] == "efficientnet_lite0"
    assert record["embedding"]["weights_sha256"] == record["model"]["weights_sha256"]
    assert record["custom"]["class"] == "Cats" and "Custom/Cats" in record["tags"]
    assert "Cats" in record["albums"]
    assert "resnet-watch|Custom|Cats" in cat.with_name(cat.name + ".xmp").read_text()
    copy = w.inbox / "cat again.jpg"
    shutil.copy(cat, copy)
    wait_until(lambda: read_sidecar_json(copy), 60, "the copy's sidecar")
    result = run_cli("dupes", "--config", str(w.config))
    assert result.returncode == 0, result.stderr
    assert "exact (2 images" in result.stdout and str(copy) in result.stdout


def _events(log: Path) -> list[dict[str, object]]:
    out = []
    for line in log.read_text(errors="replace").splitlines() if log.exists() else []:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def test_poison_file_that_kills_its_worker_is_recorded_failed_after_retries_and_never_loops(
    tmp_path: Path, redis_server: RedisServer, cleanup: list[DaemonProcess | WorkerProcess]
) -> None:
    """A photo that SIGKILLs its worker process on every delivery (test-only crash hook) gets
    a worker_crashed failure record after pipeline.retries deliveries; it is not sent again,
    and the worker keeps classifying other photos."""
    crashes = tmp_path / "crashes.log"
    w = DaemonProcess(
        tmp_path,
        {"queue": {"url": redis_server.url}, "pipeline": {"retries": 2}},
    ).start()
    cleanup.append(w)
    worker = WorkerProcess(
        tmp_path,
        "worker",
        redis_server.url,
        {"pipeline": {"retries": 2}},
        module=FAKE_WORKER,
        env={"RW_TEST_CRASH_LOG": str(crashes)},
    ).start()
    cleanup.append(worker)
    staged = stage_photos(tmp_path / "staging", 3)
    assert len({p.read_bytes() for p in staged}) == 3  # the counter is per content
    staged[0] = staged[0].rename(staged[0].with_name("poison.jpg"))
    poison, *good = move_into(w.inbox, staged)
    record = wait_until(lambda: read_sidecar_json(poison), 120, "the poison file's record")
    assert record["status"] == "failed" and record["gave_up"] is True
    assert record["error"]["kind"] == "worker_crashed"
    assert len(crashes.read_text().splitlines()) == 2
    for image in good:
        assert (
            wait_until(lambda i=image: read_sidecar_json(i), 60, "a good photo")["status"] == "ok"
        )
    # never loops: a later photo goes through the same single queue behind any redelivery,
    # and a restarted watcher (backlog scan) leaves the failed file alone
    w.stop()
    w.start()
    late = move_into(w.inbox, stage_photos(tmp_path / "staging2", 1, size=(64, 64)))[0]
    wait_until(lambda: read_sidecar_json(late), 60, "a photo after the poison file")
    assert len(crashes.read_text().splitlines()) == 2
    assert worker.alive()
    assert redis_server.client().llen("resnet-watch") == 0


@pytest.mark.slow
def test_300_photos_survive_a_killed_pool_process_a_killed_worker_and_a_redis_restart(
    tmp_path: Path, redis_server: RedisServer, cleanup: list[DaemonProcess | WorkerProcess]
) -> None:
    """300 photos, 3 worker processes: kill -9 one pool process mid-task, then a whole worker,
    and restart Redis (losing everything in it) once: every photo ends with exactly one
    complete sidecar, none is classified after its sidecar was complete, Redis is empty."""
    max_in_flight = 24
    w = watcher(
        tmp_path, redis_server.url, max_in_flight=max_in_flight, result_timeout_seconds=60
    ).start()
    cleanup.append(w)
    fake = {"module": FAKE_WORKER, "env": {"RW_TEST_FAKE_DELAY": "0.05"}}
    queue = {"queue": {"visibility_timeout_seconds": 5}}
    a = WorkerProcess(tmp_path, "worker-a", redis_server.url, queue, processes=2, **fake)  # type: ignore[arg-type]
    b = WorkerProcess(tmp_path, "worker-b", redis_server.url, queue, processes=1, **fake)  # type: ignore[arg-type]
    cleanup += [a.start(), b.start()]
    photos = move_into(w.inbox, stage_photos(tmp_path / "staging", 300, size=(64, 64)))
    client = redis_server.client()
    longest = [0]

    def done_at_least(n: int) -> bool:
        with contextlib.suppress(Exception):
            longest[0] = max(longest[0], int(client.llen("resnet-watch")))
        return sum(1 for p in photos if sidecar_ok(p)) >= n

    wait_until(lambda: done_at_least(30), 120, "30 photos")
    kill_a_pool_process_mid_task(a)
    wait_until(lambda: done_at_least(100), 120, "100 photos")
    b.kill_all()  # a whole worker machine vanishes, its task unacknowledged
    wait_until(lambda: done_at_least(160), 120, "160 photos")
    redis_server.restart()  # no persistence: queued tasks, unacked tasks and replies are lost
    client = redis_server.client()
    c = WorkerProcess(tmp_path, "worker-c", redis_server.url, queue, processes=1, **fake)  # type: ignore[arg-type]
    cleanup.append(c.start())
    wait_until(lambda: done_at_least(300), 240, "all 300 photos")

    def redis_empty() -> bool:
        keys = ("resnet-watch", "unacked", "resnet-watch:results")
        return all(client.llen(k) == 0 for k in keys if client.type(k) == b"list") and (
            client.hlen("unacked") == 0
        )

    wait_until(redis_empty, 60, "an empty queue")
    # Bounded: the watcher never has more than max_in_flight tasks out, but a task can sit in
    # the list twice for a moment when Celery puts an unacknowledged copy back (a killed
    # worker's, or one a worker held when Redis went away) beside the watcher's re-send. CI
    # once saw 25 of 24; allow one such copy per worker process that lost its connection.
    assert longest[0] <= max_in_flight + 3
    # the log line trails each sidecar
    wait_until(lambda: len(w.classified_counts()) >= len(photos), 20, "300 image_classified")
    written = w.classified_counts()
    finished = {p: _epoch(e["timestamp"]) for p, e in _last_classified(w).items()}
    late = []
    for name in ("worker-a", "worker-b", "worker-c"):
        for e in _events(tmp_path / name / "worker.log"):
            if e.get("event") == "task_classified" and e["started_at"] > finished[str(e["path"])]:
                late.append(e)
    for photo in photos:
        record = read_sidecar_json(photo)
        assert record is not None and validate_record(record) == []
        assert record["status"] == "ok" and record["file"]["size"] == photo.stat().st_size
        assert written.get(str(photo)) == 1, (photo, written.get(str(photo)))
    assert late == []
    assert w.events("queue_redis_restarted")


def test_redis_down_watcher_says_so_keeps_its_backlog_and_resumes(
    tmp_path: Path, redis_server: RedisServer, cleanup: list[DaemonProcess | WorkerProcess]
) -> None:
    """With Redis stopped the watcher logs queue_unreachable, /healthz answers 503 and doctor
    fails naming Redis; photos dropped meanwhile are classified once Redis is back."""
    import httpx2

    w = DaemonProcess(
        tmp_path,
        {
            "queue": {"url": redis_server.url},
            "web": {"enabled": True, "ops_only": True, "port": 0},
            "pipeline": {"retry_backoff_seconds": 0.5},
        },
    ).start()
    cleanup.append(w)
    url = str(wait_until(lambda: w.events("web_started"), 30, "web_started")[0]["url"])
    assert w.proc is not None
    maps = Path(f"/proc/{w.proc.pid}/maps").read_text()
    assert "libtorch" not in maps  # a watcher in queue mode never loads the model runtime
    wait_until(lambda: httpx2.get(url + "healthz").status_code == 200, 30, "healthz 200")
    redis_server.stop()
    photos = move_into(w.inbox, stage_photos(tmp_path / "staging", 5))
    wait_until(lambda: w.events("queue_unreachable"), 30, "queue_unreachable")
    wait_until(lambda: httpx2.get(url + "healthz").status_code == 503, 30, "healthz 503")
    doctor = run_cli("doctor", "--config", str(w.config))
    assert doctor.returncode == 1 and "Redis at unix://" in doctor.stdout, doctor.stdout
    assert not any(read_sidecar_json(p) for p in photos)
    redis_server.start()
    worker = WorkerProcess(tmp_path, "worker", redis_server.url, module=FAKE_WORKER).start()
    cleanup.append(worker)
    for photo in photos:
        wait_until(lambda p=photo: sidecar_ok(p), 60, f"{photo.name} after Redis returned")
    wait_until(lambda: w.events("queue_reachable"), 30, "queue_reachable")
    assert httpx2.get(url + "healthz").status_code == 200


def test_worker_that_cannot_read_a_path_fails_that_task_not_itself(
    tmp_path: Path, redis_server: RedisServer, cleanup: list[DaemonProcess | WorkerProcess]
) -> None:
    """A worker whose path_map points at a share that is not mounted records a clear
    unreadable_file failure for the photo and keeps serving tasks."""
    w = watcher(tmp_path, redis_server.url).start()
    cleanup.append(w)
    missing = tmp_path / "not-mounted"
    worker = WorkerProcess(
        tmp_path,
        "worker",
        redis_server.url,
        {"queue": {"path_map": {str(w.inbox): str(missing)}}},
        module=FAKE_WORKER,
    ).start()
    cleanup.append(worker)
    first, second = move_into(w.inbox, stage_photos(tmp_path / "staging", 2))
    for photo in (first, second):
        record = wait_until(lambda p=photo: read_sidecar_json(p), 60, "a failure record")
        assert record["status"] == "failed" and record["error"]["kind"] == "unreadable_file"
        assert str(missing) in record["error"]["message"]
        assert "queue.path_map" in record["error"]["message"]
    assert worker.alive() and len(worker.children()) == 1


def kill_a_pool_process_mid_task(worker: WorkerProcess) -> None:
    """SIGKILL pool processes until one dies holding a task (Celery logs WorkerLostError);
    a process caught between two 50 ms tasks would prove nothing."""
    for _ in range(5):
        before = worker.log_text().count("WorkerLostError")
        victim = worker.children()[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(
            lambda v=victim: v not in worker.children() and len(worker.children()) >= 2,
            30,
            "the pool to replace the process",
        )
        with contextlib.suppress(AssertionError):
            wait_until(lambda n=before: worker.log_text().count("WorkerLostError") > n, 3, "")
            return
    raise AssertionError("no pool process was killed mid-task in 5 tries")


def test_worker_processes_and_model_threads_share_the_cpus(tmp_path: Path) -> None:
    """Model threads = CPUs / worker processes (at least 1); processes default to the CPUs."""
    from resnet_watch.config import load_config
    from resnet_watch.queue.worker import model_threads, worker_processes

    cpus = len(os.sched_getaffinity(0))
    cfg = load_config(None, {}, prepare_inbox=False)
    assert worker_processes(cfg) == cpus
    assert model_threads(cfg, cpus) == 1
    assert model_threads(cfg, 1) == cpus
    assert model_threads(cfg, cpus * 4) == 1


def test_worker_without_its_model_stops_at_start_with_the_fix(tmp_path: Path) -> None:
    """A worker told to run resnet18 without its weights exits at once naming the model,
    instead of taking photos it cannot classify."""
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inbox": {"paths": [str(tmp_path / "inbox")]},
                "model": {"name": "resnet18", "weights_dir": str(tmp_path / "weights")},
                "queue": {"url": "unix:///nonexistent.sock"},
                "log": {"file": None},
            }
        )
    )
    out = run_cli("worker", "--config", str(config))
    assert out.returncode == 1
    assert "resnet18 is not installed on this worker" in out.stderr


def sidecar_ok(image: Path) -> bool:
    record = read_sidecar_json(image)
    return record is not None and record.get("status") == "ok"


def _last_classified(w: DaemonProcess) -> dict[str, dict[str, object]]:
    return {str(e["path"]): e for e in w.events("image_classified")}


def _epoch(stamp: object) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()


_unused = (time,)
