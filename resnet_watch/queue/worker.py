"""``resnet-watch worker``: a Celery prefork worker with our settings, and its task.

Each prefork process builds its ``TaskRunner`` on its first task, so the model
loads once per process, after the fork, with CPUs / processes model threads.
The reply goes to the watcher's Redis list before the task returns, and the task
is acknowledged only after that (``acks_late``): a process killed at any point
leaves its task to be delivered again.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Sequence
from typing import Any

from resnet_watch.component_settings import image_limits
from resnet_watch.config import Config
from resnet_watch.logs import get_logger
from resnet_watch.queue.app import make_app
from resnet_watch.queue.connection import redis_client
from resnet_watch.queue.runner import RunnerSettings, TaskRunner
from resnet_watch.queue.task import Task

__all__ = ["classify_task", "model_threads", "run_worker", "worker_processes"]

# Kept for a reply whose watcher is away; a watcher drains its list when it returns.
REPLY_TTL_SECONDS = 7 * 24 * 3600

_config: Config | None = None  # set by run_worker before the pool forks
_runner: TaskRunner | None = None  # one per worker process, built on its first task


def worker_processes(cfg: Config) -> int:
    """``queue.processes``, or one per CPU this process may use."""
    if cfg.queue.processes:
        return cfg.queue.processes
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cpus or 1)


def model_threads(cfg: Config, processes: int) -> int:
    """Model threads per process: ``model.threads``, else CPUs / processes (at least 1)."""
    if cfg.model.threads:
        return cfg.model.threads
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cpus or 1) // max(1, processes))


def _runner_for_process() -> TaskRunner:
    global _runner
    if _runner is None:
        cfg = _config
        if cfg is None:
            raise RuntimeError("resnet-watch worker: no config (start it with run_worker)")
        assert cfg.queue.url is not None
        threads = model_threads(cfg, worker_processes(cfg))

        def load() -> Any:
            import resnet_watch.models as models

            classifier, _reason = models.load_classifier(
                cfg.model.name, cfg.model.weights_dir, threads
            )
            return classifier

        _runner = TaskRunner(
            RunnerSettings(
                prefix=cfg.queue.name,
                limits=image_limits(cfg),
                path_map=dict(cfg.queue.path_map or {}),
                suffix=cfg.sidecar.suffix,
                top_k=cfg.model.top_k,
                min_score=cfg.model.min_score,
                retries=cfg.pipeline.retries,
                reclassify_on_model_change=cfg.model.reclassify_on_change,
            ),
            redis_client(cfg.queue.url),
            load,
            get_logger("resnet_watch.worker"),
        )
    return _runner


def classify_task(task: dict[str, Any]) -> None:
    """Celery entry point: run one task and push the reply to the watcher's list."""
    runner = _runner_for_process()
    parsed = Task.from_json(task)
    began = time.time()
    reply = runner.run(parsed)
    log = get_logger("resnet_watch.worker")
    if reply.status == "ok":
        top = reply.labels[0]
        log.info(
            "task_classified",
            path=reply.path,
            top1=top.name,
            score=round(top.score, 4),
            ms=round(reply.elapsed_ms, 1),
            worker=runner.worker,
            started_at=round(began, 3),
        )
    elif reply.status == "failed":
        log.warning("task_failed", path=reply.path, kind=reply.kind, error=reply.message)
    else:
        log.debug("task_skipped", path=reply.path, reason=reply.kind)
    # A Redis error here raises: the task is not acknowledged, and comes back.
    pipe = runner.redis.pipeline()
    pipe.rpush(parsed.reply_to, json.dumps(reply.to_json()))
    pipe.expire(parsed.reply_to, REPLY_TTL_SECONDS)
    pipe.execute()


def run_worker(cfg: Config, argv: Sequence[str] = ()) -> int:
    """``resnet-watch worker``: a Celery worker with our settings; blocks until stopped."""
    global _config
    _check_model_installed(cfg)
    _config = cfg
    app = make_app(cfg)
    processes = worker_processes(cfg)
    log = get_logger("resnet_watch.worker")
    log.info(
        "worker_starting",
        processes=processes,
        model_threads=model_threads(cfg, processes),
        queue=cfg.queue.name,
        path_map=dict(cfg.queue.path_map or {}),
    )
    args = [
        "worker",
        "--pool=prefork",
        f"--concurrency={processes}",
        "-O",
        "fair",
        "-Q",
        cfg.queue.name,
        "-n",
        f"resnet-watch@{socket.gethostname()}.{os.getpid()}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--loglevel={cfg.log.level.upper()}",
        *argv,
    ]
    _notify_systemd()
    app.worker_main(args)
    return 0


def _check_model_installed(cfg: Config) -> None:
    """A worker whose model cannot load says so at start, instead of on every photo."""
    from resnet_watch.errors import WeightsMissing
    from resnet_watch.models import weights_status

    rows = {row.model: row for row in weights_status(cfg.model.weights_dir)}
    wanted = cfg.model.name
    usable = [r for r in rows.values() if r.available] if wanted == "auto" else []
    if wanted != "auto" and rows.get(wanted) is not None and rows[wanted].available:
        usable = [rows[wanted]]
    if not usable:
        notes = "; ".join(f"{r.model}: {r.note}" for r in rows.values() if r.note)
        raise WeightsMissing(
            f"model {wanted} is not installed on this worker ({cfg.model.weights_dir}): "
            f"{notes or 'see resnet-watch weights status'}"
        )


def _notify_systemd() -> None:
    """READY=1 once the pool consumes, STOPPING=1 on shutdown (Type=notify in the unit)."""
    from celery.signals import worker_ready, worker_shutting_down

    from resnet_watch.notify import Notifier

    notifier = Notifier.from_environ()
    if not notifier.enabled:
        return

    def ready(**_kwargs: Any) -> None:
        notifier.ready("consuming")

    def stopping(**_kwargs: Any) -> None:
        notifier.stopping()

    worker_ready.connect(ready, weak=False)
    worker_shutting_down.connect(stopping, weak=False)
