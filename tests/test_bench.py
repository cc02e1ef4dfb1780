"""The built-in benchmark on a tiny corpus: every figure present and sane, no timing targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from resnet_watch import bench

TINY = ["--photos", "6", "--photo-size", "320x240", "--screenshots", "1"]
TINY += ["--baseline-images", "2", "--line-images", "10", "--warmup", "2"]
TINY += ["--repeats", "1", "--batch", "2", "--idle-seconds", "1", "--agreement-photos", "20"]


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No config file, no weights, an empty torch hub: the bench must take the fixture path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RESNET_WATCH_CONFIG", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path


def test_import_is_torch_free() -> None:
    """Importing the bench module loads neither torch nor Pillow nor numpy (fast --help)."""
    code = (
        "import sys, resnet_watch.bench\n"
        "bad = [m for m in ('torch', 'torchvision', 'PIL', 'numpy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_corpus_is_deterministic_cached_and_photo_like(tmp_path: Path) -> None:
    """The corpus is the same bytes every time, made once, and neither flat nor noise."""
    first = bench.make_corpus(tmp_path / "a", photos=4, screenshots=1, photo_size=(400, 300))
    again = bench.make_corpus(tmp_path / "a", photos=4, screenshots=1, photo_size=(400, 300))
    other = bench.make_corpus(tmp_path / "b", photos=4, screenshots=1, photo_size=(400, 300))
    assert first.made_now == 6 and again.made_now == 0
    assert [p.read_bytes() for p in first.photos] == [p.read_bytes() for p in other.photos]
    assert {p.suffix for p in first.screenshots} == {".png", ".webp"}
    with Image.open(first.photos[3]) as im:
        assert im.format == "JPEG" and im.size == (400, 300)
        assert im.getexif().get(0x0112) == 6  # a portrait shot stored sideways
    for path in first.photos:
        with Image.open(path) as im:
            pixels = np.asarray(im.convert("L"), dtype=np.float32)
        assert pixels.std() > 10  # not a flat colour
        neighbours = np.corrcoef(pixels[:, :-1].ravel(), pixels[:, 1:].ravel())[0, 1]
        assert neighbours > 0.5  # smooth regions: not pure noise


def test_bench_prints_every_figure(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`bench --json` reports every line, figure and target; the table names fixtures."""
    assert bench.main([*TINY, "--cache-dir", str(clean_env / "cache"), "--json"]) == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)

    lines = {x["key"]: x for x in report["lines"]}
    expected = {
        "baseline",
        "decode_only",
        "resnet_watch_default",
        "resnet_watch_default_torch",
        "resnet_watch_int8",
        "resnet_watch_int8_ort",
    }
    assert expected | {"screenshots_default"} == set(lines)
    for line in lines.values():
        assert line["images"] > 0 and line["failed"] == 0
        assert line["images_per_s"] > 0
        assert 0 < line["p50_ms"] <= line["p95_ms"]
        assert line["peak_rss_mb"] > 0
    assert lines["baseline"]["ratio"] == pytest.approx(1.0)
    for key in expected - {"baseline"}:
        assert lines[key]["ratio"] > 0
    assert "random weights; speed only" in lines["baseline"]["note"]
    assert bench.FIXTURE_NOTE in lines["resnet_watch_int8"]["note"]
    assert bench.FIXTURE_NOTE in lines["resnet_watch_int8_ort"]["note"]
    assert report["fixture"] is True

    probes = {p["runtime"]: p for p in report["runtimes"]["startup"]}
    assert set(probes) == {"onnxruntime", "torch"}
    assert probes["onnxruntime"]["torch_imported"] is False
    assert probes["torch"]["torch_imported"] is True
    for probe in probes.values():
        assert probe["rss_mb"] > 0 and probe["process_to_first_inference_ms"] > 0
    install = report["runtimes"]["install"]
    assert 0 < install["lean_mb"] < install["lean_mb"] + install["torch_extra_adds_mb"]

    assert report["startup"]["ready_ms"] > 0
    idle = report["idle_daemon"]
    assert idle["ready_ms_in_daemon"] > 0 and idle["process_start_to_ready_ms"] > 0
    assert 0 <= idle["idle_cpu_percent"] < 100
    assert report["startup"]["model"] == "efficientnet_lite0"
    assert report["memory"]["import_rss_mb"] > 0
    assert report["software"]["torch"].startswith("2.")
    assert "build" in report["software"]["torch_build"]
    assert report["cpu"]["model"] and report["cpu"]["cpus_usable"] >= 1
    assert report["threads"]["decode"] >= 1 and report["threads"]["torch"] >= 1
    assert report["thread_sweep"] and all(r["images_per_s"] > 0 for r in report["thread_sweep"])
    assert {s["key"] for s in report["stages"]} == {
        "full_decode",
        "torchvision_transforms",
        "read_image",
        "preprocess",
    }
    models = {(r["key"], r["batch"]) for r in report["model_only"]}
    keys = ("resnet18_fp32_eager", "resnet18_int8", "resnet18_int8_ort")
    for key in (*keys, "efficientnet_lite0_fp32", "efficientnet_lite0_fp32_torch"):
        assert {(key, 1), (key, 2)} <= models
    assert all(r["ms"] > 0 for r in report["model_only"])
    assert report["labels"]["resnet18"] == "n/a: no real weights"
    assert "fp32" in report["labels"]["efficientnet_lite0"]
    assert report["labels"]["efficientnet_lite0 fp32, onnxruntime vs torch"].startswith("100.0%")
    assert "real photos" in report["labels"]["efficientnet_lite0 int8 (ORT QDQ) vs fp32"]
    stability = report["labels"][
        "efficientnet_lite0 fp32 vs itself on the same photos saved again as JPEG q95"
    ]
    assert stability.endswith("(how stable the set's top-1 is under an invisible change)")
    assert 0 < float(stability.split("%")[0]) <= 100
    assert len(report["targets"]) == 9
    assert all(t["value"] is not None and t["met"] in (True, False) for t in report["targets"])

    text = bench.render_text(report)
    for needle in ("baseline", "FIXTURE weights (random; speed only)", "Targets", "start-up"):
        assert needle in text
    assert "avx" in text or "int8     flags: none" in text


def test_soak_reports_rss_at_the_mark_and_end(clean_env: Path) -> None:
    """`bench --soak N --images DIR` runs N images and reports RSS at N/4 and at the end."""
    corpus = bench.make_corpus(clean_env / "cache", photos=3, screenshots=1, photo_size=(320, 240))
    opts = bench.BenchOptions(images=corpus.folder, soak=12)
    report = bench.run_soak(opts)
    mem = report["memory"]
    assert report["images"] == 12 and report["failed"] == 0
    assert mem["mark_image"] == 3
    assert mem["import_rss_mb"] > 0 and mem["rss_at_mark_mb"] > 0 and mem["rss_at_end_mb"] > 0
    assert mem["peak_rss_mb"] >= mem["rss_at_end_mb"] - 1
    assert isinstance(mem["growth_mark_to_end"], float)
    assert [t["unit"] for t in report["targets"]] == ["MB", "MB", "MB", "%"]
    assert report["runtime"] == "onnxruntime"
    assert "RSS" in bench.render_text(report)


def test_library_bench_reclassifies_nothing_and_restores_its_library(
    clean_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bench --library 40`: no re-submission or re-classification, changes settle, and the
    cached library is put back as it was for the next run."""
    from resnet_watch.bench.cli import run_from_args
    from resnet_watch.cli import build_parser
    from resnet_watch.sidecar import sidecar_path

    cache = clean_env / "cache"
    args = build_parser().parse_args(["bench", "--library", "40", "--cache-dir", str(cache)])
    args.json = True
    assert run_from_args(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mode"] == "library" and report["images"] == 40
    assert report["reclassified"] == 0 and report["resubmitted_second_rescan"] == 0
    assert report["second_rescan"]["new"] == 0
    changes = report["changes"]
    assert changes["renamed"] == 10 and changes["deleted"] == 10
    assert changes["moved_events"] == 10 and changes["removed_events"] == 10
    assert changes["rescan_after"]["moved"] == 0 and changes["rescan_after"]["removed"] == 0
    images = sorted(Path(report["library_dir"]).glob("inbox/d*/img_*.png"))
    assert len(images) == 40
    assert all(sidecar_path(p, ".resnet-watch.json").exists() for p in images)
    assert "renamed_" not in " ".join(p.name for p in Path(report["library_dir"]).rglob("*"))
