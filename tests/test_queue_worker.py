"""Several machines, for real: a private redis-server, `resnet-watch run` with queue.url set,
and `resnet-watch worker` processes (the real bundled model, or the fake one for fault tests)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from resnet_watch.sidecar import validate_record
from tests.daemon_helpers import (
    DaemonProcess,
    move_into,
    read_sidecar_json,
    shipped_photo,
    stage_photos,
    wait_until,
)
from tests.redis_helpers import RedisServer, WorkerProcess

CAT_CLASSES = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx"}
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
    assert [e["path"] for e in w.events("image_classified")].count(str(cat)) == 1


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


_unused = (os, time)
