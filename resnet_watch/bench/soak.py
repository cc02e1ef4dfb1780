"""``bench --soak N``: N images through the daemon's path, RSS at a mark and at the end."""

from __future__ import annotations

import threading
import time
from typing import Any

from resnet_watch.bench.corpus import corpus_for
from resnet_watch.bench.lines import feed
from resnet_watch.bench.machine import cpu_info, load_bench_config, software_info, thread_counts
from resnet_watch.bench.options import BenchOptions, Progress, quiet
from resnet_watch.bench.stats import MB, RssSampler, current_rss, cycled

__all__ = ["run_soak"]


def run_soak(opts: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """N images through the daemon's path (its Pipeline, settings, model and housekeeping),
    with RSS after imports, at image 500 (or N/4 when N < 1000) and at the end."""
    import gc

    say = progress or quiet
    wall = time.perf_counter()
    corpus = corpus_for(opts)
    cfg = load_bench_config(opts)
    decode_threads, torch_threads = thread_counts(opts, cfg)
    from resnet_watch.component_settings import build_pipeline_settings
    from resnet_watch.models import load_classifier
    from resnet_watch.outcomes import Classified, Outcome
    from resnet_watch.pipeline import Pipeline
    from resnet_watch.process_memory import memory_trimmer

    gc.collect()
    import_rss = current_rss()
    started = time.perf_counter()
    classifier, reason = load_classifier(
        opts.model or cfg.model.name,
        cfg.model.weights_dir,
        torch_threads,
        runtime=cfg.model.runtime,
    )
    ready_ms = (time.perf_counter() - started) * 1000
    loaded_rss = current_rss()
    total = opts.soak
    mark = 500 if total >= 1000 else max(1, total // 4)
    marks: dict[str, float] = {}
    count = failed = 0
    finished = threading.Event()
    trim = memory_trimmer()

    def sink(outcome: Outcome) -> None:
        nonlocal count, failed
        count += 1
        failed += not isinstance(outcome, Classified)
        if count == mark:
            marks["at_mark_mb"] = current_rss() / MB
        if count % 100 == 0:
            say(f"soak: {count}/{total} images, RSS {current_rss() / MB:.0f} MB")
        if count >= total:
            marks["at_end_mb"] = current_rss() / MB
            finished.set()
        return None

    settings = build_pipeline_settings(cfg, decode_threads, classifier.info.name)
    pipeline = Pipeline(classifier, settings, sink)
    housekeeping_stop = threading.Event()

    def housekeeping() -> None:  # what Daemon._main_loop does every second
        last = 0
        while not housekeeping_stop.wait(1.0):
            if count - last >= 200 or (count != last and pipeline.in_flight() == 0):
                gc.collect()
                trim()
                last = count

    keeper = threading.Thread(target=housekeeping, name="bench-housekeeping", daemon=True)
    keeper.start()
    t0 = time.perf_counter()
    with RssSampler() as rss:
        feed(pipeline, cycled(corpus.photos + corpus.screenshots, total), finished)
    elapsed = time.perf_counter() - t0
    housekeeping_stop.set()
    keeper.join()
    say("")
    at_mark, at_end = marks.get("at_mark_mb", 0.0), marks.get("at_end_mb", 0.0)
    growth = (at_end - at_mark) / at_mark if at_mark else None
    peak_above = (rss.peak - import_rss) / MB
    report: dict[str, Any] = {
        "mode": "soak",
        "cpu": cpu_info(),
        "software": software_info(),
        "corpus": corpus.describe(),
        "model": classifier.info.name,
        "precision": classifier.info.precision,
        "reason": reason,
        "threads": {"decode": decode_threads, "torch": torch_threads},
        "images": total,
        "failed": failed,
        "images_per_s": total / elapsed,
        "ready_ms": ready_ms,
        "runtime": classifier.info.runtime,
        "memory": {
            "import_rss_mb": import_rss / MB,
            "model_loaded_rss_mb": loaded_rss / MB,
            "mark_image": mark,
            "rss_at_mark_mb": at_mark,
            "rss_at_end_mb": at_end,
            "growth_mark_to_end": growth,
            "peak_rss_mb": rss.peak / MB,
            "peak_above_import_mb": peak_above,
        },
        "targets": [
            {
                "target": "peak RSS (whole process)",
                "value": rss.peak / MB,
                "goal": 300,
                "unit": "MB",
                "met": rss.peak / MB <= 300,
            },
            {
                "target": "RSS after model load",
                "value": loaded_rss / MB,
                "goal": 150,
                "unit": "MB",
                "met": loaded_rss / MB <= 150,
            },
            {
                "target": "peak RSS above post-import baseline",
                "value": peak_above,
                "goal": 250,
                "unit": "MB",
                "met": peak_above <= 250,
            },
            {
                "target": f"RSS growth image {mark} -> {total}",
                "value": None if growth is None else growth * 100,
                "goal": 5,
                "unit": "%",
                "met": None if growth is None else growth <= 0.05,
            },
        ],
    }
    report["wall_s"] = time.perf_counter() - wall
    return report
