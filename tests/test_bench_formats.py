"""bench --formats: HEIC and DNG made from real photos, preview path against full decode."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

from resnet_watch.bench.cli import add_arguments, run_from_args


def test_formats_bench_compares_preview_with_full_decode(tmp_path: Path) -> None:
    """Each format row uses the preview path and reports agreement, overlap and speed-up."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_arguments(parser)
    args = parser.parse_args(
        ["--formats", "--format-photos", "3", "--cache-dir", str(tmp_path), "--json"]
    )
    out = io.StringIO()
    assert run_from_args(args, out) == 0
    report = json.loads(out.getvalue())
    rows = {row["format"]: row for row in report["formats"]}
    assert set(rows) == {"HEIC", "DNG"}
    assert rows["HEIC"]["photos"] == 3 and rows["DNG"]["photos"] == 1
    for row in rows.values():
        assert row["preview_source"] == ["preview"], row
        assert 0.0 <= row["top1_agreement"] <= 1.0 and 0.0 <= row["top5_overlap"] <= 1.0
        assert row["decode_speedup"] > 0 and row["end_to_end_vs_jpeg"]["preview"] > 0
        assert row["cpu_vs_jpeg"]["preview"] > 0 and row["cpu_ms_p50"]["jpeg"] > 0
    assert not report["fixture"]  # the bundled model with real weights
    files = sorted(p.name for p in (tmp_path / "formats-v1").iterdir())
    assert files == ["0.dng", "0.heic", "0.jpg", "1.heic", "1.jpg", "2.heic", "2.jpg"]
