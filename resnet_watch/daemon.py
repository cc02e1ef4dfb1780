"""The daemon's lifecycle: load the model, start pipeline and watcher, stop cleanly.

Start-up order matters: the model loads first (a missing-weights error must
come in seconds, before anything watches the inbox), then the pipeline, then
the watcher with its backlog scan; systemd hears READY=1 only after all of it.
SIGTERM/SIGINT finish the images in flight and exit; a second SIGINT exits at
once; SIGHUP reloads the settings that can change without a restart and names
the ones that cannot.
"""

from __future__ import annotations

import gc
import os
import platform
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from resnet_watch import __version__
from resnet_watch.component_settings import build_pipeline_settings, store_settings, watch_settings
from resnet_watch.config import Config, auto_threads, load_config
from resnet_watch.custom import CustomTagger
from resnet_watch.daemon_status import StallCheck, observed, status_line, status_snapshot
from resnet_watch.errors import ConfigError
from resnet_watch.index import FileIndex
from resnet_watch.liveness import Liveness
from resnet_watch.logs import get_logger
from resnet_watch.models.spec import ModelInfo
from resnet_watch.notify import Notifier
from resnet_watch.outcomes import Sink
from resnet_watch.pipeline import Pipeline
from resnet_watch.process_memory import memory_trimmer
from resnet_watch.reload_plan import plan_reload
from resnet_watch.reloading import ReloadResult, runtime_dir, write_result
from resnet_watch.startup import (
    load_head,
    load_model,
    open_library,
    remove_temp_files,
    runtime_version,
)
from resnet_watch.store import SidecarStore
from resnet_watch.watcher import Watcher
from resnet_watch.web.activity import Activity, StatusSnapshot

if TYPE_CHECKING:
    from resnet_watch.queue.dispatcher import QueueDispatcher

__all__ = ["Daemon"]


class Daemon:
    """One running resnet-watch: ``run()`` blocks until a stop signal."""

    def __init__(
        self,
        cfg: Config,
        *,
        enrich: Any = None,
        write_extras: Any = None,
        housekeeping: Callable[[], object] | None = None,
        reconfigure_logging: Callable[[Config], None] | None = None,
        custom: CustomTagger | None = None,
    ) -> None:
        self.cfg = cfg
        self.custom = custom
        self.log = get_logger("resnet_watch.daemon")
        self._enrich = enrich
        self._write_extras = write_extras
        self._housekeeping = housekeeping
        self._reconfigure_logging = reconfigure_logging
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._interrupts = 0
        self.notifier = Notifier.from_environ()
        self.pipeline: Pipeline | QueueDispatcher | None = None
        self.watcher: Watcher | None = None
        # what the status page, /healthz and /metrics show; recorded even with web off
        self.activity = Activity()
        # every long-running loop beats here; WATCHDOG=1 and /healthz need all of them
        self.liveness = Liveness(("pipeline", "watcher"))
        self._check_liveness = StallCheck(self.liveness, self.notifier, self.activity, self.log)
        self._store: SidecarStore | None = None
        self._reloads = 0
        self.model_info: ModelInfo | None = None
        self.index: FileIndex | None = None
        self._started_wall = time.time()
        self._started_mono = time.monotonic()
        self._ready = False
        self._web: Any = None

    # --- signals ----------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            self._reload.set()
            return
        if signum == signal.SIGINT:
            self._interrupts += 1
            if self._interrupts > 1:
                os.write(2, b"second interrupt: exiting now\n")
                os._exit(130)
        self._stop.set()

    def request_stop(self) -> None:
        self._stop.set()

    # --- run --------------------------------------------------------------------------

    def run(self) -> int:
        cfg = self.cfg
        started = time.monotonic()
        decode_threads, torch_threads = auto_threads(cfg.pipeline.decode_threads, cfg.model.threads)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

        if cfg.queue.url:
            return self._run_queue(started)
        classifier = load_model(cfg, torch_threads, self.log)
        if classifier is None:
            return 2
        info = classifier.info
        self.model_info = info
        load_head(self.custom, cfg, info, self.log)
        index, catalog = open_library(cfg, info, self.log, self._write_extras)
        self.index = index
        store = self._sidecar_store(info, index)
        self._store = store
        remove_temp_files(cfg, self.log)

        self.pipeline = Pipeline(
            classifier,
            build_pipeline_settings(cfg, decode_threads, info.name),
            observed(store.sink, self.activity),
            gate=store.gate,
            heartbeat=self.liveness.beater("pipeline"),
        )
        self.pipeline.start()
        self.watcher = Watcher(
            watch_settings(cfg),
            self._submit_from_watcher,
            get_logger("resnet_watch.watcher"),
            heartbeat=self.liveness.beater("watcher"),
            library=catalog,
        )
        self.watcher.start()
        return self._serve(
            started,
            runtime=info.runtime,
            runtime_version=runtime_version(info.runtime),
            pid=os.getpid(),
            inference_threads=torch_threads,
            decode_threads=decode_threads,
            engine=info.engine,
            model=info.name,
            precision=info.precision,
            weights_sha256=info.weights_sha256,
        )

    def _sidecar_store(self, info: ModelInfo, index: FileIndex | None = None) -> SidecarStore:
        """The store that writes sidecars for images ``info`` classified (either mode)."""
        return SidecarStore(
            store_settings(self.cfg),
            info,
            get_logger("resnet_watch.images"),
            enrich=self._enrich,
            write_extras=self._write_extras,
            customize=self.custom.fields if self.custom is not None else None,
            index=index,
        )

    def _run_queue(self, started: float) -> int:
        """``queue.url`` set: watch and enqueue; workers classify, this process writes."""
        from resnet_watch.queue.app import connect_dispatcher
        from resnet_watch.queue.connection import redact

        cfg = self.cfg
        sinks: dict[ModelInfo, Sink] = {}

        def sink_for(info: ModelInfo) -> Sink:
            if info not in sinks:  # one store per worker model: each sidecar names its own
                sinks[info] = observed(self._sidecar_store(info).sink, self.activity)
            if info != self.model_info:
                # the custom head is checked against the model the workers run, known only
                # from their replies: (re)load it when that model first shows or changes
                self.model_info = info
                load_head(self.custom, self.cfg, self.model_info, self.log)
            return sinks[info]

        remove_temp_files(cfg, self.log)
        try:
            dispatcher = connect_dispatcher(
                cfg, sink_for, get_logger("resnet_watch.queue"), self.liveness.beater("pipeline")
            )
        except ConfigError as exc:
            print(f"resnet-watch: {exc}", file=sys.stderr)
            return 2
        self.pipeline = dispatcher
        dispatcher.start()
        self.model_info = dispatcher.model
        load_head(self.custom, cfg, self.model_info, self.log)
        self.watcher = Watcher(
            watch_settings(cfg),
            dispatcher.submit,
            get_logger("resnet_watch.watcher"),
            heartbeat=self.liveness.beater("watcher"),
        )
        self.watcher.start()
        return self._serve(
            started,
            pid=os.getpid(),
            mode="queue",
            queue=redact(cfg.queue.url or ""),
            queue_name=cfg.queue.name,
            max_in_flight=cfg.queue.max_in_flight,
        )

    def _serve(self, started: float, **mode_fields: object) -> int:
        """Web UI (when on), READY=1, then the main loop until a stop signal; 2 if the web
        UI cannot bind. ``mode_fields`` are what ``daemon_started`` says of the mode."""
        cfg = self.cfg
        if cfg.web.serving and not self._start_web():
            self._shutdown()
            return 2
        assert self.watcher is not None
        self.log.info(
            "daemon_started",
            version=__version__,
            python=platform.python_version(),
            **mode_fields,
            inbox=[str(p) for p in cfg.inbox.paths],
            observer=self.watcher.observer_kind,
            config=str(cfg.source) if cfg.source else None,
            ready_ms=round((time.monotonic() - started) * 1000),
        )
        self._ready = True
        self.notifier.ready(status_line(self.pipeline))
        try:
            self._main_loop()
        finally:
            self._shutdown()
        return 0

    # --- status for the web UI and ops endpoints --------------------------------------

    def _submit_from_watcher(self, path: Path) -> bool:
        """The watcher blocked on a full queue is waiting for the pipeline, not hung."""
        assert self.pipeline is not None
        with self.liveness.waiting_on("watcher", "pipeline"):
            return self.pipeline.submit(path)

    def status_snapshot(self) -> StatusSnapshot:
        """A consistent copy of what the daemon is doing; safe from any thread."""
        return status_snapshot(
            pipeline=self.pipeline,
            watcher=self.watcher,
            info=self.model_info,
            inbox=tuple(self.cfg.inbox.paths),
            activity=self.activity,
            started_wall=self._started_wall,
            started_mono=self._started_mono,
            started=self._ready,
            stopping=self._stop.is_set(),
        )

    def retry(self, image: Path) -> bool:
        """Forget ``image``'s failure record and queue it now (the web UI's retry button)."""
        from resnet_watch.doctor import reset_failures

        if self.pipeline is None:
            return False
        reset_failures([image], self.cfg.sidecar.suffix)
        queued = self.pipeline.submit(image, block=False)
        self.activity.record("retried", image, "queued" if queued else "busy")
        self.log.info("image_retry_requested", path=str(image), queued=queued)
        return queued

    def note_upload(self, image: Path) -> None:
        self.activity.record("uploaded", image)

    def _start_web(self) -> bool:
        from resnet_watch.web.server import WebServer, WebStartError

        try:
            self._web = WebServer(self.cfg, self, get_logger("resnet_watch.web"))
            self._web.start()
        except WebStartError as exc:
            self.log.error(
                "web_bind_failed", bind=self.cfg.web.bind, port=self.cfg.web.port, error=str(exc)
            )
            print(f"resnet-watch: web server: {exc}", file=sys.stderr)
            return False
        return True

    def _main_loop(self) -> None:
        trim = memory_trimmer()
        last_classified = 0
        next_housekeeping = 0.0
        while not self._stop.wait(min(1.0, self._tick())):
            self._check_liveness()
            if self._housekeeping is not None and time.monotonic() >= next_housekeeping:
                next_housekeeping = time.monotonic() + max(60.0, self.cfg.watch.rescan_interval)
                try:
                    self._housekeeping()
                except Exception as exc:
                    self.log.warning("housekeeping_failed", error=str(exc))
            if self._reload.is_set():
                self._reload.clear()
                self._apply_reload()
            assert self.pipeline is not None
            if not self.pipeline.alive:
                self.log.error("pipeline_died")
                self._stop.set()
                break
            c = self.pipeline.counters
            self.notifier.status(status_line(self.pipeline))
            if c.classified - last_classified >= 200 or (
                c.classified != last_classified and self.pipeline.in_flight() == 0
            ):
                gc.collect()
                trim()
                last_classified = c.classified

    def _tick(self) -> float:
        """The main loop's period: often enough for a short test watchdog, else 1 s."""
        interval = self.notifier.watchdog_interval
        return max(0.05, interval / 4) if interval else 1.0

    def _apply_reload(self) -> None:
        """Re-read the config; apply what can change live, name what needs a restart.

        ``self.cfg`` is what runs: after a reload it holds the new values of the
        reloadable keys and the old values of the rest (see ``reload_plan.plan_reload``).
        """
        self.notifier.reloading()
        self._reloads += 1
        try:
            new = load_config(self.cfg.source)
        except ConfigError as exc:
            self.log.error("config_reload_failed", error=str(exc))
            self._record_reload(ok=False, error=str(exc))
            self.notifier.ready(status_line(self.pipeline))
            return
        plan = plan_reload(self.cfg, new)
        applied, needs_restart = plan.applied, plan.needs_restart
        self.cfg = plan.config
        if any(k.split(".")[0] == "log" for k in applied) and self._reconfigure_logging:
            self._reconfigure_logging(self.cfg)
        if self.pipeline is not None:
            self.pipeline.update_settings(
                top_k=self.cfg.model.top_k,
                min_score=self.cfg.model.min_score,
                batch_wait=self.cfg.pipeline.batch_wait_ms / 1000,
            )
        if self._store is not None:
            self._store.update_settings(
                retries=self.cfg.pipeline.retries,
                backoff_seconds=self.cfg.pipeline.retry_backoff_seconds,
            )
        self.log.info("config_reloaded", applied=applied, needs_restart=needs_restart)
        load_head(self.custom, self.cfg, self.model_info, self.log)
        if self.watcher is not None:
            self.watcher.request_rescan()
        self._record_reload(ok=True, applied=applied, needs_restart=needs_restart)
        self.notifier.ready(status_line(self.pipeline))

    def _record_reload(
        self,
        *,
        ok: bool,
        applied: list[str] | None = None,
        needs_restart: list[str] | None = None,
        error: str = "",
    ) -> None:
        """For ``resnet-watch reload`` (the unit's ExecReload=), waiting on this result."""
        result = ReloadResult(
            os.getpid(),
            self._reloads,
            ok,
            tuple(applied or ()),
            tuple(needs_restart or ()),
            error,
        )
        try:
            write_result(runtime_dir(), result)
        except OSError as exc:
            self.log.warning("reload_status_write_failed", error=str(exc))

    def _shutdown(self) -> None:
        pipeline, watcher = self.pipeline, self.watcher
        counts = pipeline.counters if pipeline else None
        self.log.info(
            "daemon_stopping",
            in_flight=pipeline.in_flight() if pipeline else 0,
            queue=pipeline.queue_depth() if pipeline else 0,
        )
        self.notifier.stopping()
        self._ready = False
        if self._web is not None:
            self._web.stop()
        if watcher is not None:
            watcher.stop()
        clean = pipeline.stop(self.cfg.pipeline.stop_timeout_seconds) if pipeline else True
        if self.index is not None:
            self.index.close()
        self.log.info(
            "daemon_stopped",
            clean=clean,
            classified=counts.classified if counts else 0,
            failed=counts.failed if counts else 0,
            skipped=counts.skipped if counts else 0,
        )
        self.notifier.close()
