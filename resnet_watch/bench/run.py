"""The full benchmark, in order: start-up, the end-to-end lines, the thread sweep, stage
costs, model only, labels and the idle daemon, gathered into one JSON-ready report."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from resnet_watch.bench.corpus import corpus_for
from resnet_watch.bench.idle import idle_daemon
from resnet_watch.bench.lines import (
    FIXTURE_NOTE,
    RANDOM_NOTE,
    baseline_line,
    decode_only_line,
    fixture_int8_resnet18,
    fp32_resnet18,
    pipeline_line,
    real_resnet18,
)
from resnet_watch.bench.machine import cpu_info, load_bench_config, software_info, thread_counts
from resnet_watch.bench.options import BenchOptions, Progress, quiet
from resnet_watch.bench.parts import labels_agreement, model_only_rows, stage_costs
from resnet_watch.bench.report import bench_targets
from resnet_watch.bench.runtimes import (
    install_sizes,
    ort_int8_resnet18_fixture,
    runtime_agreement,
    startup_probe,
)
from resnet_watch.bench.stats import MB, current_rss, cycled

if TYPE_CHECKING:
    from resnet_watch.models.spec import Classifier

__all__ = ["run_bench"]


def run_bench(opts: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Every figure of the benchmark as a JSON-ready dict (``render_text`` prints it)."""
    say = progress or quiet
    wall = time.perf_counter()
    cpu = cpu_info()
    say("corpus: generating (first run only) ...")
    corpus = corpus_for(opts)
    cfg = load_bench_config(opts)
    decode_threads, torch_threads = thread_counts(opts, cfg)

    # Start-up to ready, as the daemon does it: imports, then the model; each runtime in
    # a fresh interpreter (this one is about to import torch for the baseline).
    say("start-up: each runtime in a fresh process ...")
    default_name = opts.model or cfg.model.name
    probes = [
        startup_probe(rt, default_name, cfg.model.weights_dir, torch_threads)
        for rt in ("onnxruntime", "torch")
    ]
    installs = install_sizes()
    started = time.perf_counter()
    import torch  # the baseline and the torch lines need it

    from resnet_watch.component_settings import build_pipeline_settings
    from resnet_watch.models import load_classifier
    from resnet_watch.pipeline import Pipeline  # noqa: F401

    imported = time.perf_counter()
    import_rss = current_rss()
    default, reason = load_classifier(
        default_name, cfg.model.weights_dir, torch_threads, runtime=cfg.model.runtime
    )
    ready = time.perf_counter()
    startup = {
        "imports_ms": (imported - started) * 1000,
        "model_load_ms": (ready - imported) * 1000,
        "ready_ms": (ready - started) * 1000,
        "model": default.info.name,
        "runtime": default.info.runtime,
        "reason": reason,
    }
    settings = build_pipeline_settings(cfg, decode_threads, "efficientnet_lite0")
    int8_settings = build_pipeline_settings(cfg, decode_threads, "resnet18")
    photos = corpus.photos

    say("baseline ...")
    fp32 = fp32_resnet18()
    torch.set_num_threads(max(1, cpu["cpus_usable"]))  # what a tutorial user gets
    base_n = min(len(photos), opts.baseline_images + 2)
    baseline = baseline_line(photos[:base_n], fp32, min(2, base_n - 1), import_rss)

    say("decode only ...")
    n = max(opts.line_images, opts.warmup + 2)
    lines = [baseline]
    lines.append(decode_only_line(cycled(photos, n), decode_threads, cfg, opts.warmup, import_rss))

    say("resnet-watch lines ...")
    weights = cfg.model.weights_dir
    lite, _ = load_classifier("efficientnet_lite0", weights, torch_threads, runtime="onnxruntime")
    lite_torch, _ = load_classifier("efficientnet_lite0", weights, torch_threads, runtime="torch")
    real = real_resnet18(cfg, torch_threads, "torch")
    real_ort = real_resnet18(cfg, torch_threads, "onnxruntime")
    int8 = real or fixture_int8_resnet18(fp32, photos[:4], cfg)
    int8_ort = real_ort or ort_int8_resnet18_fixture(fp32, photos[:4], torch_threads)
    int8_note = "real weights" if real else FIXTURE_NOTE
    lite_note = "bundled fallback" + ("; the default model" if lite.info == default.info else "")
    thread_note = f"decode {decode_threads} + inference {torch_threads} threads"
    for key, name, note, classifier, line_settings in (
        ("resnet_watch_default", "resnet-watch: EfficientNet-Lite0 fp32, onnxruntime",
         lite_note, lite, settings),
        ("resnet_watch_default_torch", "resnet-watch: EfficientNet-Lite0 fp32, torch",
         "model.runtime: torch", lite_torch, settings),
        ("resnet_watch_int8_ort", "resnet-watch: ResNet-18 int8, onnxruntime",
         int8_note, int8_ort, int8_settings),
        ("resnet_watch_int8", "resnet-watch: ResNet-18 int8, torch",
         int8_note, int8, int8_settings),
    ):  # fmt: skip
        lines.append(
            pipeline_line(
                key,
                name,
                f"{note}; {thread_note}",
                classifier,
                cycled(photos, n),
                line_settings,
                opts.warmup,
                import_rss,
                torch_threads,
            )
        )
    if corpus.screenshots:
        m = max(len(corpus.screenshots) * 2, opts.warmup + 2)
        lines.append(
            pipeline_line(
                "screenshots_default",
                "resnet-watch: EfficientNet-Lite0, PNG/WebP screenshots",
                f"phone-screen sizes; {thread_note}",
                lite,
                cycled(corpus.screenshots, m),
                settings,
                min(opts.warmup, m // 2),
                import_rss,
                torch_threads,
            )
        )
    for line in lines:
        if line.key != "screenshots_default":  # another corpus: no ratio
            line.ratio = line.images_per_s / baseline.images_per_s

    sweep: list[dict[str, Any]] = []
    if opts.sweep:
        say("thread placement sweep ...")
        cpus = cpu["cpus_usable"]
        combos = [(decode_threads, torch_threads), (cpus, max(1, cpus // 2)), (cpus, cpus)]
        combos += [(max(1, cpus // 2), max(1, cpus // 2)), (cpus + 1, 1)]
        for dec, tor in dict.fromkeys(combos):
            served, _ = load_classifier(
                default.info.name, weights, tor, runtime=default.info.runtime
            )
            row = pipeline_line(
                "sweep",
                f"{default.info.name} ({default.info.runtime}) decode {dec} / model {tor}",
                "the model the daemon serves",
                served,
                cycled(photos, max(n // 2, opts.warmup + 2)),
                dataclasses.replace(settings, decode_threads=dec),
                opts.warmup // 2,
                import_rss,
                tor,
            )
            sweep.append(
                {"decode_threads": dec, "torch_threads": tor, "images_per_s": row.images_per_s}
            )

    say("stage costs ...")
    stages = stage_costs(photos[: min(8, len(photos))], cfg, fp32)

    say("model only ...")
    batch_n = opts.batch or cfg.pipeline.batch_size or 8

    def eager(x: Any) -> Any:
        return torch.softmax(fp32(x), dim=1).topk(5)

    def via(c: Classifier) -> Callable[[Any], Any]:
        return lambda x: c.predict(x.numpy(), 5)

    model_rows = model_only_rows(
        [
            ("resnet18_fp32_eager", f"ResNet-18 fp32 eager (torchvision; {RANDOM_NOTE})", eager),
            ("resnet18_int8", f"ResNet-18 int8, torch frozen ({int8_note})", via(int8)),
            ("efficientnet_lite0_fp32_torch", "EfficientNet-Lite0 fp32, torch frozen",
             via(lite_torch)),
        ],
        batch_n,
        sorted({torch_threads, cpu["cpus_usable"]}),
        opts.repeats,
    )  # fmt: skip
    model_rows += model_only_rows(  # onnxruntime's pool is sized when the session is made
        [
            ("resnet18_int8_ort", f"ResNet-18 int8, onnxruntime ({int8_note})", via(int8_ort)),
            ("efficientnet_lite0_fp32", "EfficientNet-Lite0 fp32, onnxruntime", via(lite)),
        ],
        batch_n,
        [torch_threads],
        opts.repeats,
    )
    torch.set_num_threads(torch_threads)

    say("labels ...")
    labels = labels_agreement(cfg, real)
    labels.update(runtime_agreement(cfg, torch_threads, opts.agreement_photos))
    idle = None
    if opts.idle_seconds > 0:
        say("idle daemon ...")
        idle = idle_daemon(cfg, opts.idle_seconds)
    say("")
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "cpu": cpu,
        "software": software_info(),
        "threads": {
            "decode": decode_threads,
            "torch": torch_threads,
            "how": "auto from os.sched_getaffinity (config.auto_threads)"
            if not (opts.threads or opts.decode_threads)
            else "--threads/--decode-threads",
        },
        "corpus": corpus.describe(),
        "startup": startup,
        "runtimes": {"startup": probes, "install": installs},
        "idle_daemon": idle,
        "memory": {
            "import_rss_mb": import_rss / MB,
            "end_rss_mb": current_rss() / MB,
        },
        "lines": [dataclasses.asdict(x) for x in lines],
        "thread_sweep": sweep,
        "stages": stages,
        "model_only": model_rows,
        "labels": labels,
        "fixture": real is None,
    }
    report["targets"] = bench_targets(report)
    report["wall_s"] = time.perf_counter() - wall
    return report
