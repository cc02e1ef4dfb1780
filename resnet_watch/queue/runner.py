"""One task on a worker: map the path, count the delivery, check, decode, classify.

Runs inside a Celery worker process but knows nothing of Celery: it takes a
``Task`` and returns a ``Reply``, so it is testable without a broker. The model
is loaded on the first task of each process (never at import, never per task).

Poison files: Celery redelivers a task whose worker process died
(``task_reject_on_worker_lost``) but does not count how often. The runner counts
deliveries per content hash in Redis *before* decoding and clears the count
when the task finishes, so the count only grows while workers keep dying on the
same bytes; past ``pipeline.retries`` the task is answered ``worker_crashed``
without being decoded again.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_watch.embedding import encode
from resnet_watch.errors import ImageError
from resnet_watch.imaging import ImageLimits, hash_file, preprocess, read_image
from resnet_watch.models.spec import Classifier, ModelInfo
from resnet_watch.policy import decide
from resnet_watch.queue.task import (
    Reply,
    ReplyStatus,
    Task,
    deliveries_key,
    map_path,
    model_key,
    model_to_json,
)
from resnet_watch.sidecar import FileFacts, read_sidecar, sidecar_path

__all__ = ["RunnerSettings", "TaskRunner"]

# A delivery count outlives a worker restart, not a week of uptime.
DELIVERIES_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class RunnerSettings:
    prefix: str
    limits: ImageLimits
    path_map: dict[str, Any]
    suffix: str = ".resnet-watch.json"
    top_k: int = 5
    min_score: float = 0.0
    retries: int = 3
    reclassify_on_model_change: bool = True


class TaskRunner:
    """Classifies tasks in one worker process; ``load`` runs on the first task."""

    def __init__(
        self,
        settings: RunnerSettings,
        redis: Any,
        load: Callable[[], Classifier],
        log: Any,
        worker: str | None = None,
    ) -> None:
        self._settings = settings
        self.redis = redis
        self._load = load
        self._log = log
        self._model: Classifier | None = None
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"

    @property
    def model(self) -> Classifier:
        if self._model is None:
            started = time.monotonic()
            self._model = self._load()
            info = self._model.info
            self.redis.set(model_key(self._settings.prefix), _model_json(info))
            self._log.info(
                "worker_model_loaded",
                worker=self.worker,
                model=info.name,
                weights_sha256=info.weights_sha256,
                ms=round((time.monotonic() - started) * 1000),
            )
        return self._model

    def run(self, task: Task) -> Reply:
        """The reply for ``task``; never raises for a bad file (only for Redis errors)."""
        started = time.perf_counter()
        info = self.model.info
        local = map_path(task.path, self._settings.path_map)
        facts = FileFacts(Path(task.path).name, task.size, task.mtime_ns, task.sha256)

        def reply(status: ReplyStatus, kind: str = "", message: str = "") -> Reply:
            elapsed = (time.perf_counter() - started) * 1000
            return Reply(
                task.path, status, facts, info, self.worker, elapsed, kind=kind, message=message
            )

        try:
            st = os.lstat(local)
        except OSError as exc:
            return reply(
                "failed",
                "unreadable_file",
                f"worker {self.worker} cannot read {local}: {exc.strerror} "
                "(is the photo share mounted there? see queue.path_map)",
            )
        if stat.S_ISLNK(st.st_mode):
            return reply("failed", "symlink_not_followed", "symbolic link: not followed")
        if not stat.S_ISREG(st.st_mode):
            return reply("failed", "unreadable_file", "not a regular file")
        if st.st_size != task.size:
            return reply("skipped", "changed_since_queued")
        try:
            sha = hash_file(local)
        except OSError as exc:
            return reply("failed", "unreadable_file", f"cannot read {local}: {exc.strerror}")
        facts = FileFacts(facts.name, facts.size, facts.mtime_ns, sha)
        if self._up_to_date(local, facts, info):
            return reply("skipped", "up_to_date")

        key = deliveries_key(self._settings.prefix, sha)
        deliveries = int(self.redis.incr(key))
        self.redis.expire(key, DELIVERIES_TTL_SECONDS)
        self._log.debug("task_delivery", path=task.path, sha256=sha, deliveries=deliveries)
        if deliveries > self._settings.retries:
            self.redis.delete(key)
            self._log.error("poison_file_given_up", path=task.path, deliveries=deliveries - 1)
            return reply(
                "failed",
                "worker_crashed",
                f"a worker process died on this file {deliveries - 1} times; left alone "
                "until it changes or `resnet-watch retry`",
            )
        try:
            self._before_decode(local)
            result = self._classify(task.path, local, facts, info, started)
        finally:
            self.redis.delete(key)
        return result

    def _classify(
        self, path: str, local: Path, facts: FileFacts, info: ModelInfo, started: float
    ) -> Reply:
        model = self.model
        try:
            decoded = read_image(local, self._settings.limits, model.preprocess.resize_short)
            array = preprocess(decoded.image, model.preprocess)
            prediction = model.classify(array[None], self._settings.top_k)[0]
            labels = prediction.labels
        except ImageError as exc:
            kind, message = exc.kind, str(exc)
        except MemoryError:
            kind, message = "too_large", "out of memory while decoding"
        except Exception as exc:  # a model bug costs one image, never the worker
            kind, message = "model_error", f"{type(exc).__name__}: {exc}"
        else:
            kept = [x for x in labels if x.score >= self._settings.min_score] or labels[:1]
            elapsed = (time.perf_counter() - started) * 1000
            return Reply(
                path,
                "ok",
                facts,
                info,
                self.worker,
                elapsed,
                decoded.width,
                decoded.height,
                decoded.format,
                tuple(kept),
                # always sent: the watcher's custom.keep_embeddings decides what is kept
                embedding=encode(prediction.features, info),
            )
        elapsed = (time.perf_counter() - started) * 1000
        return Reply(path, "failed", facts, info, self.worker, elapsed, kind=kind, message=message)

    def _up_to_date(self, local: Path, facts: FileFacts, info: ModelInfo) -> bool:
        """A duplicate delivery of a photo whose sidecar is already complete."""
        record = read_sidecar(sidecar_path(local, self._settings.suffix))
        if record is None or record.get("status") != "ok":
            return False
        decision = decide(
            record,
            facts,
            info,
            retries=self._settings.retries,
            reclassify_on_model_change=self._settings.reclassify_on_model_change,
        )
        return decision.action == "skip"

    def _before_decode(self, local: Path) -> None:
        """Nothing; the seam the poison-file test's launcher uses to crash a process."""


def _model_json(info: ModelInfo) -> str:
    return json.dumps(model_to_json(info))
