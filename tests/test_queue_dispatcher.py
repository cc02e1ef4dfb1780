"""The watcher's side of the queue, with Redis and Celery replaced by in-memory fakes."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from resnet_watch.models.spec import Label
from resnet_watch.queue.dispatcher import DispatchSettings, QueueDispatcher
from resnet_watch.queue.task import Reply, Task
from resnet_watch.sidecar import FileFacts
from resnet_watch.store import SidecarStore, StoreSettings
from tests.daemon_helpers import read_sidecar_json, stage_photos, wait_until
from tests.fakes import FAKE_INFO, RecordingLog


class FakeRedis:
    """The three calls the dispatcher makes: blpop on its reply list, info, get."""

    def __init__(self) -> None:
        self.lists: dict[str, collections.deque[bytes]] = collections.defaultdict(collections.deque)
        self.run_id = "first"
        self.down = False
        self.cond = threading.Condition()

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("Redis is down (fake)")

    def blpop(self, keys: list[str], timeout: float) -> tuple[bytes, bytes] | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                self._check()
                for key in keys:
                    if self.lists[key]:
                        return key.encode(), self.lists[key].popleft()
                if time.monotonic() >= deadline:
                    return None
                self.cond.wait(0.02)

    def info(self, section: str) -> dict[str, str]:
        self._check()
        return {"run_id": self.run_id}

    def get(self, key: str) -> bytes | None:
        self._check()
        return None

    def push(self, key: str, value: str) -> None:
        with self.cond:
            self.lists[key].append(value.encode())
            self.cond.notify_all()


class Harness:
    def __init__(self, tmp: Path, max_in_flight: int) -> None:
        self.redis = FakeRedis()
        self.sent: list[Task] = []
        self.log = RecordingLog()
        store = SidecarStore(StoreSettings(), FAKE_INFO, self.log)
        self.dispatcher = QueueDispatcher(
            DispatchSettings(prefix="rw", max_in_flight=max_in_flight, poll_seconds=0.05),
            self._send,
            self.redis,
            lambda info: store.sink,
            self.log,
        )

    def _send(self, task: dict[str, Any]) -> None:
        self.redis._check()
        self.sent.append(Task.from_json(task))

    def reply(self, task: Task) -> None:
        facts = FileFacts(Path(task.path).name, task.size, task.mtime_ns, "cd" * 32)
        label = Label(1, 0, "n00000000", "reddish", 0.9)
        reply = Reply(task.path, "ok", facts, FAKE_INFO, "test", 1.0, 8, 8, "JPEG", (label,))
        import json

        self.redis.push(task.reply_to, json.dumps(reply.to_json()))


@pytest.fixture()
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path, max_in_flight=4)
    h.dispatcher.start()
    yield h
    h.dispatcher.stop(5)


def test_never_more_than_max_in_flight_tasks_and_resumes_as_replies_come(
    harness: Harness, tmp_path: Path
) -> None:
    """Back-pressure: 20 photos, max_in_flight 4: four tasks go out, the next only after a
    reply; every photo ends with one sidecar written by the watcher."""
    photos = stage_photos(tmp_path / "inbox", 20, size=(32, 32))
    submitter = threading.Thread(target=lambda: [harness.dispatcher.submit(p) for p in photos])
    submitter.start()
    wait_until(lambda: len(harness.sent) == 4, 10, "the first four tasks")
    replied = 0
    while replied < len(photos):
        wait_until(lambda n=replied: len(harness.sent) > n, 10, "a task")
        outstanding = len(harness.sent) - replied
        assert outstanding <= 4
        harness.reply(harness.sent[replied])
        replied += 1
    submitter.join(10)
    assert harness.dispatcher.wait_idle(10)
    for photo in photos:
        record = read_sidecar_json(photo)
        assert record is not None and record["status"] == "ok"
    assert len(harness.sent) == len(photos)


def test_a_duplicate_reply_does_not_write_the_sidecar_twice(
    harness: Harness, tmp_path: Path
) -> None:
    """A redelivered task's second reply is checked against the finished sidecar and dropped."""
    (photo,) = stage_photos(tmp_path / "inbox", 1, size=(32, 32))
    harness.dispatcher.submit(photo)
    wait_until(lambda: harness.sent, 10, "the task")
    harness.reply(harness.sent[0])
    first = wait_until(lambda: read_sidecar_json(photo), 10, "the sidecar")
    harness.reply(harness.sent[0])
    wait_until(lambda: harness.dispatcher.counters.duplicates == 1, 10, "the duplicate")
    assert read_sidecar_json(photo) == first
    assert harness.log.names().count("image_classified") == 1


def test_redis_down_is_logged_once_and_the_path_is_sent_when_it_returns(
    harness: Harness, tmp_path: Path
) -> None:
    """While Redis is down nothing is lost: the dispatcher says so once, keeps the path,
    and sends it when Redis answers again."""
    harness.redis.down = True
    (photo,) = stage_photos(tmp_path / "inbox", 1, size=(32, 32))
    harness.dispatcher.submit(photo)
    wait_until(lambda: not harness.dispatcher.reachable, 10, "unreachable")
    harness.redis.down = False
    wait_until(lambda: harness.sent, 10, "the task after Redis returned")
    wait_until(lambda: harness.dispatcher.reachable, 10, "reachable again")
    assert harness.log.names().count("queue_unreachable") == 1
    assert "queue_reachable" in harness.log.names()


def test_a_redis_restart_resends_every_task_in_flight(harness: Harness, tmp_path: Path) -> None:
    """A new Redis run_id means queued tasks may be gone: each one in flight is sent again."""
    photos = stage_photos(tmp_path / "inbox", 3, size=(32, 32))
    for photo in photos:
        harness.dispatcher.submit(photo)
    wait_until(lambda: len(harness.sent) == 3, 10, "three tasks")
    harness.redis.run_id = "second"
    wait_until(lambda: len(harness.sent) == 6, 10, "three tasks sent again")
    assert sorted(t.path for t in harness.sent[3:]) == sorted(str(p) for p in photos)
