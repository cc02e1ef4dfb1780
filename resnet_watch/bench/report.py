"""The report as text (the table ``resnet-watch bench`` prints) and the bench's targets."""

from __future__ import annotations

import time
from typing import Any

from resnet_watch.bench.lines import FIXTURE_NOTE

__all__ = ["bench_targets", "render_text"]


def bench_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The speed targets, met or not, from the report's own figures."""
    lines = {x["key"]: x for x in report["lines"]}
    rows: list[dict[str, Any]] = []

    def add(name: str, value: float | None, goal: float, unit: str = "x") -> None:
        ok = None if value is None else value >= goal if unit == "x" else value <= goal
        rows.append({"target": name, "value": value, "goal": goal, "unit": unit, "met": ok})

    decode = lines["decode_only"]["images_per_s"]
    default = lines["resnet_watch_default"]
    add("end-to-end default (Lite0, onnxruntime) vs baseline", default["ratio"], 10)
    add("end-to-end default / decode-only", default["images_per_s"] / decode, 0.8)
    add(
        "end-to-end ResNet-18 int8 onnxruntime vs base", lines["resnet_watch_int8_ort"]["ratio"], 10
    )
    add("end-to-end ResNet-18 int8 torch vs baseline", lines["resnet_watch_int8"]["ratio"], 10)
    runtimes = report.get("runtimes") or {}
    probes: list[dict[str, Any]] = runtimes.get("startup", [])
    ort = next((p for p in probes if p.get("runtime") == "onnxruntime"), {})
    add("onnxruntime: RSS after model load", ort.get("rss_mb"), 150, "MB")
    add("onnxruntime: process start to first inference", ort.get("process_to_first_inference_ms"),
        1000, "ms")  # fmt: skip
    idle = report.get("idle_daemon") or {}
    add("daemon: process start to ready", idle.get("process_start_to_ready_ms"), 1000, "ms")
    add("lean install size", (runtimes.get("install") or {}).get("lean_mb"), 250, "MB")
    by = {(r["key"], r["threads"], r["batch"]): r["ms"] for r in report["model_only"]}
    threads = report["threads"]["torch"]
    fp32, int8 = by.get(("resnet18_fp32_eager", threads, 1)), by.get(("resnet18_int8", threads, 1))
    add("model int8 vs fp32 eager, batch 1", fp32 / int8 if fp32 and int8 else None, 4)
    return rows


def _fmt_target(row: dict[str, Any]) -> str:
    value, goal, unit = row["value"], row["goal"], row["unit"]
    verdict = {True: "met", False: "NOT met", None: "n/a"}[row["met"]]
    shown = (
        "n/a" if value is None else f"{value:.2f}{unit}" if unit == "x" else f"{value:.1f} {unit}"
    )
    sign = ">=" if unit == "x" else "<="  # figures in units (MB, ms, %) are ceilings
    goal_s = f"{goal:.2f}x" if unit == "x" else f"{goal:g} {unit}"
    return f"  {row['target']:<44} {shown:>10}  (target {sign} {goal_s}): {verdict}"


def _header(report: dict[str, Any]) -> list[str]:
    cpu, sw = report["cpu"], report["software"]
    missing = [f for f in cpu["missing_int8_flags"] if f.startswith("amx")]
    corpus = report["corpus"]
    cached = "cached" if corpus["made_now"] == 0 else f"{corpus['made_now']} files generated now"
    kind = "generated" if corpus["generated"] else "from --images"
    jpeg = "JPEG" if corpus["generated"] else "photos"
    return [
        f"resnet-watch bench {sw['resnet_watch']}  ({report.get('when', '')})",
        f"cpu      {cpu['model']}; {cpu['cpus_usable']} CPUs usable; load avg "
        f"{' '.join(map(str, cpu['load_avg']))}",
        f"int8     flags: {' '.join(cpu['int8_flags']) or 'none'}"
        + (f"; absent: {' '.join(missing)}" if missing else ""),
        f"torch    {sw['torch']} ({sw['torch_build']}), capability {sw['torch_cpu_capability']}, "
        f"quantized engine {sw['quantized_engine']}; torchvision {sw['torchvision']}; "
        f"Pillow {sw['pillow']} (libjpeg-turbo {sw['libjpeg_turbo']}); Python {sw['python']}",
        f"corpus   {corpus['photos']} {jpeg} (mean {corpus['photo_mb_mean']} MB) + "
        f"{corpus['screenshots']} screenshots, {kind}, {cached}: {corpus['folder']}",
    ]


def render_text(report: dict[str, Any]) -> str:
    """The report as the table ``resnet-watch bench`` prints."""
    if report.get("mode") == "soak":
        return _render_soak(report)
    if report.get("mode") == "library":
        from resnet_watch.bench.library_run import render_library

        return render_library(report)
    out = _header(report)
    th, st, mem = report["threads"], report["startup"], report["memory"]
    out.append(f"threads  decode {th['decode']}, torch {th['torch']} ({th['how']})")
    out.append(
        f"start-up ready in {st['ready_ms']:.0f} ms (imports {st['imports_ms']:.0f} ms + "
        f"model load {st['model_load_ms']:.0f} ms), default model {st['model']}: {st['reason']}"
    )
    idle = report.get("idle_daemon")
    if idle:
        out.append(
            f"daemon   `resnet-watch run`: process start to ready "
            f"{idle['process_start_to_ready_ms']:.0f} ms (model loaded, observer running); "
            f"idle CPU {idle['idle_cpu_percent']:.2f}% over {idle['idle_seconds']:.0f} s"
        )
    out.append(f"memory   RSS after imports {mem['import_rss_mb']:.0f} MB (this process has torch)")
    runtimes = report.get("runtimes") or {}
    if runtimes:
        out += ["", "Runtimes, default model, each in a fresh process"]
        for p in runtimes["startup"]:
            if "error" in p:
                out.append(f"  {p['runtime']:<12} unavailable: {' '.join(p['error'])}")
                continue
            out.append(
                f"  {p['runtime']:<12} start to first inference "
                f"{p['process_to_first_inference_ms']:6.0f} ms (imports {p['imports_ms']:.0f}, "
                f"load {p['model_load_ms']:.0f}, first call {p['first_inference_ms']:.0f}); RSS "
                f"{p['rss_mb']:.0f} MB (peak {p['peak_rss_mb']:.0f}); torch imported: "
                f"{p['torch_imported']}"
            )
        inst = runtimes.get("install") or {}
        if "lean_mb" in inst:
            out.append(
                f"  install      lean {inst['lean_mb']:.0f} MB in {inst['lean_packages']} "
                f"packages; the [torch] extra adds {inst['torch_extra_adds_mb']:.0f} MB"
            )
    if report["fixture"]:
        out.append(f"NOTE     no real ResNet-18 weights: its lines use {FIXTURE_NOTE}")
    out += ["", "End to end, 12 MP JPEG corpus, steady state (warm-up and start-up excluded)"]
    out.append(
        f"  {'line':<54} {'images':>6} {'img/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'peak RSS':>9} {'+import':>8} {'+line':>8} {'x base':>7}"
    )
    for x in report["lines"]:
        ratio = "" if x["ratio"] is None else f"{x['ratio']:.2f}x"
        out.append(
            f"  {x['name']:<54} {x['images']:>6} {x['images_per_s']:>7.1f} {x['p50_ms']:>7.1f} "
            f"{x['p95_ms']:>7.1f} {x['peak_rss_mb']:>6.0f} MB "
            f"{x['peak_above_import_mb']:>+5.0f} MB {x['peak_above_line_start_mb']:>+5.0f} MB "
            f"{ratio:>7}"
        )
        out.append(f"      {x['note']}" + (f"; {x['failed']} FAILED" if x["failed"] else ""))
    out.append(
        "  (resnet-watch p50/p95 are per-image latencies inside the pipeline, queueing "
        "included; its cost per image is 1000 / img/s)"
    )
    if report["thread_sweep"]:
        out += ["", f"Thread placement, {report['startup']['model']} end to end (as served)"]
        for row in report["thread_sweep"]:
            out.append(
                f"  decode {row['decode_threads']} / model {row['torch_threads']}: "
                f"{row['images_per_s']:6.1f} img/s"
            )
    out += ["", "Stage cost per image, one thread (p50 ms)"]
    for row in report["stages"]:
        out.append(f"  {row['name']:<62} {row['ms_p50']:7.1f}")
    out += ["", "Model only, ms/image (median; forward + softmax top-5)"]
    for row in report["model_only"]:
        out.append(
            f"  {row['name']:<66} threads {row['threads']} batch {row['batch']:>2}: "
            f"{row['ms']:6.2f}"
        )
    out += ["", "Labels: top-1 agreement on held-out real photos"]
    out += [f"  {k}: {v}" for k, v in report["labels"].items()]
    out += ["", "Targets"]
    out += [_fmt_target(row) for row in report["targets"]]
    out.append(f"\nbench took {report['wall_s']:.0f} s")
    return "\n".join(out) + "\n"


def _render_soak(report: dict[str, Any]) -> str:
    out = _header({**report, "when": time.strftime("%Y-%m-%d %H:%M:%S %z")})
    mem = report["memory"]
    out += [
        f"soak     {report['images']} images through the daemon's pipeline, model "
        f"{report['model']} {report['precision']} ({report['reason']}); decode "
        f"{report['threads']['decode']} + torch {report['threads']['torch']} threads",
        f"         {report['images_per_s']:.1f} img/s, {report['failed']} failed, "
        f"model ready in {report['ready_ms']:.0f} ms",
        f"RSS      after imports {mem['import_rss_mb']:.0f} MB, model loaded "
        f"{mem['model_loaded_rss_mb']:.0f} MB, at image {mem['mark_image']} "
        f"{mem['rss_at_mark_mb']:.0f} MB, at the end {mem['rss_at_end_mb']:.0f} MB, "
        f"peak {mem['peak_rss_mb']:.0f} MB ({mem['peak_above_import_mb']:+.0f} MB over imports)",
        "",
        "Targets",
    ]
    out += [_fmt_target(row) for row in report["targets"]]
    out.append(f"\nsoak took {report['wall_s']:.0f} s")
    return "\n".join(out) + "\n"
