"""`resnet-watch bench --workers N`: the queue measured against the local pipeline."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from resnet_watch.bench import options_from_args
from resnet_watch.bench.workers import render_workers_text, run_workers_bench
from resnet_watch.cli import build_parser
from tests.daemon_helpers import stage_photos


@pytest.mark.slow
def test_bench_workers_reports_local_and_queue_rates_and_the_queue_overhead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --workers 1 on a few small photos the report has the local line, the queue line
    (its ratio to local) and a per-image queue overhead, with no failed image."""
    monkeypatch.setenv("RESNET_WATCH_CONFIG", str(tmp_path / "none.yaml"))
    (tmp_path / "none.yaml").write_text(f"inbox: {{paths: [{tmp_path / 'inbox'}]}}\n")
    photos = tmp_path / "photos"
    stage_photos(photos, 6, size=(160, 120))
    args = build_parser().parse_args(
        ["bench", "--workers", "1", "--images", str(photos), "--line-images", "8", "--warmup", "1"]
    )
    opts = options_from_args(args)
    report = run_workers_bench(opts)
    keys = [line["key"] for line in report["lines"]]
    assert keys == ["local", "queue_1"]
    for line in report["lines"]:
        assert line["failed"] == 0 and line["images_per_s"] > 0 and line["ratio"] > 0
    overhead = report["queue_overhead_ms"]
    assert overhead["interval_p50_ms"] > 0 and overhead["worker_p50_ms"] > 0
    text = io.StringIO(render_workers_text(report)).getvalue()
    assert "queue, 1 worker process(es)" in text and "queue overhead per image" in text
