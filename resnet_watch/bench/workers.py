"""``bench --workers N``: images/s through Redis with 1..N worker processes, against the local
pipeline on the same photos, and what the queue adds per image.

Everything runs on this machine: a private ``redis-server`` on a unix socket in a temp
folder (Debian package ``redis-server``; started and stopped here), ``resnet-watch worker``
subprocesses, and the watcher's ``QueueDispatcher`` in this process. Nothing writes a
sidecar (the sink only counts), so the figures compare classification paths, not disks.
The queue overhead is measured with one task in flight at a time: the median time
between two replies minus the median time the worker itself spent on an image.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from resnet_watch.bench.corpus import corpus_for
from resnet_watch.bench.lines import pipeline_line
from resnet_watch.bench.machine import cpu_info, load_bench_config, software_info, thread_counts
from resnet_watch.bench.options import BenchOptions, Progress, quiet
from resnet_watch.bench.stats import Line, cycled, make_line, percentile
from resnet_watch.config import Config

__all__ = ["render_workers_text", "run_workers_bench"]

OVERHEAD_PROBE_IMAGES = 30


class _Silent:
    """A logger that drops everything: the bench prints its own table."""

    def __getattr__(self, _name: str) -> Callable[..., None]:
        return lambda *_a, **_k: None


def run_workers_bench(opts: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """The local pipeline, then the queue with 1..``opts.workers`` worker processes."""
    say = progress or quiet
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("bench --workers needs redis-server (apt install redis-server)")
    wall = time.perf_counter()
    corpus = corpus_for(opts)
    cfg = load_bench_config(opts)
    decode_threads, torch_threads = thread_counts(opts, cfg)
    work = Path(tempfile.mkdtemp(prefix="rw-bench-q-"))
    redis = _start_redis(binary, work)
    try:
        inbox = work / "inbox"
        inbox.mkdir()
        # distinct names for every image: the queue, like the daemon, refuses a path in flight
        paths = []
        for i, src in enumerate(cycled(corpus.photos, opts.line_images)):
            link = inbox / f"q{i:05d}{src.suffix}"
            os.link(src, link)
            paths.append(link)
        say("bench: local pipeline")
        local = _local_line(opts, cfg, paths, decode_threads, torch_threads)
        lines = [local]
        for processes in range(1, opts.workers + 1):
            say(f"bench: queue, {processes} worker process(es)")
            lines.append(_queue_line(opts, cfg, work, paths, processes, redis.url, say))
        say("bench: queue overhead")
        overhead = _overhead_probe(opts, cfg, work, paths[:OVERHEAD_PROBE_IMAGES], redis.url)
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)
    for line in lines:
        line.ratio = line.images_per_s / local.images_per_s if local.images_per_s else None
    return {
        "kind": "workers",
        "machine": cpu_info(),
        "software": software_info(),
        "corpus": corpus.describe(),
        "model": opts.model or cfg.model.name,
        "lines": [dataclasses.asdict(x) for x in lines],
        "queue_overhead_ms": overhead,
        "wall_s": round(time.perf_counter() - wall, 1),
    }


def render_workers_text(report: dict[str, Any]) -> str:
    rows = [
        "line                                     images/s   p50 ms   x local",
        "---------------------------------------  ---------  -------  -------",
    ]
    for line in report["lines"]:
        ratio = f"{line['ratio']:.2f}" if line.get("ratio") is not None else "-"
        rows.append(
            f"{line['name']:<39}  {line['images_per_s']:9.1f}  {line['p50_ms']:7.1f}  {ratio:>7}"
        )
    o = report["queue_overhead_ms"]
    rows.append("")
    rows.append(
        f"queue overhead per image (one in flight): {o['overhead_ms']:.1f} ms "
        f"(reply interval p50 {o['interval_p50_ms']:.1f} ms - worker's own p50 "
        f"{o['worker_p50_ms']:.1f} ms)"
    )
    rows.append(
        f"model {report['model']}, {report['corpus']['photos']} corpus photos, {report['wall_s']} s"
    )
    return "\n".join(rows) + "\n"


# --- the lines ---------------------------------------------------------------------------


def _local_line(
    opts: BenchOptions, cfg: Config, paths: list[Path], decode_threads: int, torch_threads: int
) -> Line:
    from resnet_watch.component_settings import build_pipeline_settings
    from resnet_watch.models import load_classifier

    classifier, _reason = load_classifier(
        opts.model or cfg.model.name, cfg.model.weights_dir, torch_threads
    )
    settings = build_pipeline_settings(cfg, decode_threads, classifier.info.name)
    return pipeline_line(
        "local",
        "local pipeline (this process)",
        "decode threads + batched inference",
        classifier,
        paths,
        settings,
        opts.warmup,
        0,
        torch_threads,
    )


def _queue_line(
    opts: BenchOptions,
    cfg: Config,
    work: Path,
    paths: list[Path],
    processes: int,
    url: str,
    say: Progress,
) -> Line:
    name = f"rw-bench-{processes}"
    worker = _start_worker(opts, cfg, work, url, name, processes)
    try:
        warm = [_warm_copy(paths[i % len(paths)], work, name, i) for i in range(processes * 2)]
        _through_queue(cfg, url, name, warm, max_in_flight=processes * 2)
        done_at, latencies, worker_ms, started = _through_queue(
            cfg, url, name, paths, max_in_flight=max(4, processes * 4)
        )
    finally:
        _stop(worker)
    line = make_line(
        f"queue_{processes}",
        f"queue, {processes} worker process(es)",
        "Redis on a unix socket, this machine",
        (started, done_at, latencies),
        opts.warmup,
        (0, 0, 0),
    )
    line.extra = {"worker_p50_ms": percentile(worker_ms, 50), "processes": processes}
    say(f"bench: queue {processes}: {line.images_per_s:.1f} images/s")
    return line


def _overhead_probe(
    opts: BenchOptions, cfg: Config, work: Path, paths: list[Path], url: str
) -> dict[str, float]:
    name = "rw-bench-probe"
    worker = _start_worker(opts, cfg, work, url, name, 1)
    try:
        _through_queue(cfg, url, name, [_warm_copy(paths[0], work, name, 0)], max_in_flight=1)
        done_at, _lat, worker_ms, _started = _through_queue(cfg, url, name, paths, max_in_flight=1)
    finally:
        _stop(worker)
    done_at.sort()
    intervals = [(b - a) * 1000 for a, b in itertools.pairwise(done_at)]
    interval, own = percentile(intervals, 50), percentile(worker_ms, 50)
    return {
        "interval_p50_ms": round(interval, 2),
        "worker_p50_ms": round(own, 2),
        "overhead_ms": round(interval - own, 2),
    }


def _through_queue(
    cfg: Config, url: str, name: str, paths: list[Path], *, max_in_flight: int
) -> tuple[list[float], list[float], list[float], float]:
    """Send every path through a dispatcher; (completion times, latencies, worker ms, start)."""
    from resnet_watch.outcomes import Classified, Outcome
    from resnet_watch.queue.app import connect_dispatcher

    qcfg = dataclasses.replace(
        cfg,
        queue=dataclasses.replace(cfg.queue, url=url, name=name, max_in_flight=max_in_flight),
        pipeline=dataclasses.replace(cfg.pipeline, queue_size=max(8, max_in_flight)),
    )
    done_at: list[float] = []
    latencies: list[float] = []
    worker_ms: list[float] = []
    submitted: dict[Path, float] = {}
    finished = threading.Event()

    def sink(outcome: Outcome) -> None:
        now = time.perf_counter()
        done_at.append(now)
        latencies.append((now - submitted.get(outcome.path, now)) * 1000)
        if isinstance(outcome, Classified):
            worker_ms.append(outcome.elapsed_ms)
        if len(done_at) >= len(paths):
            finished.set()
        return None

    dispatcher = connect_dispatcher(qcfg, lambda _info: sink, _Silent())
    dispatcher.start()
    started = time.perf_counter()
    try:
        for path in paths:
            submitted[path] = time.perf_counter()
            dispatcher.submit(path)
        if not finished.wait(600):
            raise RuntimeError(f"bench --workers: only {len(done_at)}/{len(paths)} replies")
    finally:
        dispatcher.stop(5)
    return done_at, latencies, worker_ms, started


# --- processes ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Redis:
    proc: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _start_redis(binary: str, work: Path) -> _Redis:
    from resnet_watch.queue.connection import ping

    sock = work / "redis.sock"
    args = [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
    args += ["--dir", str(work), "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"unix://{sock}"
    deadline = time.monotonic() + 20
    while ping(url, timeout=0.5) is not None:
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("bench --workers: the private redis-server did not start")
        time.sleep(0.05)
    return _Redis(proc, url)


def _start_worker(
    opts: BenchOptions, cfg: Config, work: Path, url: str, name: str, processes: int
) -> subprocess.Popen[bytes]:
    import yaml

    config = work / f"{name}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inbox": {"paths": [str(work / "inbox")]},
                "model": {
                    "name": opts.model or cfg.model.name,
                    "weights_dir": str(cfg.model.weights_dir),
                },
                "log": {"file": None, "level": "warning"},
                "queue": {"url": url, "name": name},
            }
        )
    )
    cmd = [sys.executable, "-m", "resnet_watch", "worker", "--config", str(config)]
    cmd += ["--processes", str(processes)]
    return subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    import signal

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _warm_copy(src: Path, work: Path, name: str, i: int) -> Path:
    target = work / "inbox" / f"warm-{name}-{i}{src.suffix}"
    if not target.exists():
        os.link(src.resolve(), target)
    return target
