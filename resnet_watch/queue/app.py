"""Our Celery app: the settings that make a lost worker cost nothing, and sending.

``acks_late`` (a task is acknowledged only after its reply is in Redis),
``task_reject_on_worker_lost`` (a killed process's task goes back to the queue),
prefetch 1 with the ``fair`` scheduler (a busy process never sits on a second
task), and the Redis transport's ``visibility_timeout`` (a vanished machine's
task returns after it). Publishing gives up within seconds when Redis is down,
so the watcher can say so and keep the path instead of hanging.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from resnet_watch.config import Config
from resnet_watch.queue.connection import broker_url, redis_client, require_extra
from resnet_watch.queue.task import TASK_NAME

__all__ = ["connect_dispatcher", "make_app"]

_FAST_FAIL = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def make_app(cfg: Config) -> Any:
    """The Celery app for ``cfg.queue`` (the watcher sends with it, workers consume)."""
    from celery import Celery

    url = cfg.queue.url
    if url is None:
        raise ValueError("queue.url is not set")
    app = Celery("resnet_watch", broker=broker_url(url), set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=cfg.queue.name,
        broker_transport_options={
            "visibility_timeout": cfg.queue.visibility_timeout_seconds,
            "socket_timeout": 10,
            "socket_connect_timeout": 5,
            **_FAST_FAIL,  # a publish fails within seconds when Redis is down
        },
        task_publish_retry_policy=_FAST_FAIL,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits for Redis, it does not exit
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    app.task(name=TASK_NAME, ignore_result=True)(_task_entry)
    return app


def _task_entry(task: dict[str, Any]) -> None:
    from resnet_watch.queue.worker import classify_task

    classify_task(task)


def connect_dispatcher(
    cfg: Config,
    sink_for: Callable[..., Any],
    log: Any,
    heartbeat: Callable[[], None] | None = None,
) -> Any:
    """The watcher's ``QueueDispatcher`` (raises ConfigError without the queue extra)."""
    require_extra()
    from resnet_watch.queue.dispatcher import DispatchSettings, QueueDispatcher

    assert cfg.queue.url is not None
    app = make_app(cfg)

    def send(task: dict[str, Any]) -> None:
        app.send_task(TASK_NAME, args=[task], queue=cfg.queue.name, ignore_result=True)

    return QueueDispatcher(
        DispatchSettings(
            prefix=cfg.queue.name,
            max_in_flight=cfg.queue.max_in_flight,
            queue_size=cfg.pipeline.queue_size,
            result_timeout=cfg.queue.result_timeout_seconds,
            suffix=cfg.sidecar.suffix,
            retries=cfg.pipeline.retries,
            reclassify_on_model_change=cfg.model.reclassify_on_change,
        ),
        send,
        redis_client(cfg.queue.url),
        sink_for,
        log,
        heartbeat=heartbeat,
    )
