"""The end-to-end lines: the tutorial baseline, decode only, and images through the
daemon's own Pipeline; and the models they run (random-weight fp32, FIXTURE or real int8)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_watch.bench.stats import Line, RssSampler, make_line

if TYPE_CHECKING:
    from resnet_watch.config import Config
    from resnet_watch.models.spec import Classifier
    from resnet_watch.pipeline import PipelineSettings

__all__ = [
    "FIXTURE_NOTE",
    "RANDOM_NOTE",
    "baseline_line",
    "decode_only_line",
    "feed",
    "fixture_int8_resnet18",
    "fp32_resnet18",
    "naive_transform",
    "pipeline_line",
    "real_resnet18",
]


FIXTURE_NOTE = "FIXTURE weights (random; speed only)"
RANDOM_NOTE = "random weights; speed only"


def naive_transform() -> Any:
    from torchvision import transforms

    return transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        ]
    )


def fp32_resnet18() -> Any:
    """torchvision's fp32 ResNet-18 with random weights (fixed seed): speed only."""
    import torch
    from torchvision.models import resnet18

    torch.manual_seed(0)
    return resnet18(weights=None).eval()


def baseline_line(paths: list[Path], model: Any, warmup: int, import_rss: int) -> Line:
    """The tutorial pipeline, one image at a time, with torch's default thread count."""
    import torch
    from PIL import Image

    transform = naive_transform()
    done_at: list[float] = []
    latencies: list[float] = []
    with RssSampler() as rss, torch.no_grad():
        for path in paths:
            started = time.perf_counter()
            image = Image.open(path).convert("RGB")
            batch = transform(image).unsqueeze(0)
            torch.softmax(model(batch), dim=1).topk(5)
            done = time.perf_counter()
            done_at.append(done)
            latencies.append((done - started) * 1000)
            del image, batch
    name = "baseline: tutorial pipeline, fp32 ResNet-18 eager"
    note = f"{RANDOM_NOTE}; full decode; 1 image at a time; torch threads {torch.get_num_threads()}"
    return make_line(
        "baseline", name, note, rss.timing(done_at, latencies), warmup, rss.rss(import_rss)
    )


def decode_only_line(
    paths: list[Path], threads: int, cfg: Config, warmup: int, import_rss: int
) -> Line:
    """The pipeline's decode stage alone (read + sha256 + draft decode + EXIF + preprocess)."""
    from resnet_watch.component_settings import build_pipeline_settings
    from resnet_watch.imaging import preprocess, read_image
    from resnet_watch.models.inputs import RESNET18_PREPROCESS

    limits = build_pipeline_settings(cfg, threads).limits
    spec = RESNET18_PREPROCESS
    done_at: list[float] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def one(path: Path) -> None:
        started = time.perf_counter()
        preprocess(read_image(path, limits, spec.resize_short).image, spec)
        done = time.perf_counter()
        with lock:
            done_at.append(done)
            latencies.append((done - started) * 1000)

    with RssSampler() as rss, ThreadPoolExecutor(max_workers=threads) as ex:
        list(ex.map(one, paths))
    name = f"decode + preprocess only ({threads} threads)"
    note = "imaging.read_image + preprocess, ResNet-18 input; no model"
    timing, mem = rss.timing(done_at, latencies), rss.rss(import_rss)
    return make_line("decode_only", name, note, timing, warmup, mem)


def pipeline_line(
    key: str,
    name: str,
    note: str,
    classifier: Classifier,
    paths: list[Path],
    settings: PipelineSettings,
    warmup: int,
    import_rss: int,
    torch_threads: int,
) -> Line:
    """``paths`` through the daemon's Pipeline (no gate, no sidecars), all queued at once."""
    from resnet_watch.outcomes import Classified, Outcome
    from resnet_watch.pipeline import Pipeline

    if classifier.info.runtime == "torch":  # onnxruntime sized its pool at load
        import torch

        torch.set_num_threads(torch_threads)
    done_at: list[float] = []
    latencies: list[float] = []
    failed = 0
    finished = threading.Event()

    def sink(outcome: Outcome) -> None:
        nonlocal failed
        done_at.append(time.perf_counter())
        if isinstance(outcome, Classified):
            latencies.append(outcome.elapsed_ms)
        else:
            failed += 1
        if len(done_at) >= len(paths):
            finished.set()
        return None

    with RssSampler() as rss:
        feed(Pipeline(classifier, settings, sink), paths, finished)
    timing, mem = rss.timing(done_at, latencies), rss.rss(import_rss)
    line = make_line(key, name, note, timing, warmup, mem, failed)
    line.extra = {
        "decode_threads": settings.decode_threads,
        "torch_threads": torch_threads,
        "batch_size": settings.batch_size,
        "latency": "submit-to-result inside the pipeline, queueing included",
    }
    return line


def feed(pipeline: Any, paths: list[Path], finished: threading.Event) -> None:
    """Submit every path (a path still in flight is resubmitted once it is done: the
    pipeline refuses duplicates, and the corpus is cycled), then wait for all results."""
    pipeline.start()
    try:
        for path in paths:
            while not pipeline.submit(path):
                time.sleep(0.002)
        while not finished.wait(0.5):
            if not pipeline.alive:
                raise RuntimeError("the pipeline's inference thread died")
    finally:
        pipeline.stop()


def fixture_int8_resnet18(fp32: Any, calibration: list[Path], cfg: Config) -> Classifier:
    """FIXTURE int8 ResNet-18: the random fp32 model, quantized with the product's own recipe
    (quant.ptq_resnet18) on a few corpus images and frozen as resnet18_classifier does."""
    import numpy as np
    import torch

    from resnet_watch.component_settings import build_pipeline_settings
    from resnet_watch.imaging import preprocess, read_image
    from resnet_watch.models import quant
    from resnet_watch.models.build import RUNTIME
    from resnet_watch.models.classifier import TorchClassifier
    from resnet_watch.models.features import WithFeatures
    from resnet_watch.models.inputs import RESNET18_PREPROCESS
    from resnet_watch.models.spec import ModelInfo

    spec = RESNET18_PREPROCESS
    limits = build_pipeline_settings(cfg, 1).limits
    arrays = [preprocess(read_image(p, limits, spec.resize_short).image, spec) for p in calibration]
    batch = torch.from_numpy(np.stack(arrays))
    model = quant.ptq_resnet18(fp32.state_dict(), [batch])
    frozen = quant.freeze(WithFeatures(model), torch.zeros(1, 3, spec.crop, spec.crop))
    info = ModelInfo(
        name="resnet18",
        precision="int8",
        runtime=RUNTIME,
        engine=quant.ENGINE,
        weights_sha256="fixture",
        weights_source=FIXTURE_NOTE,
        fixture=True,
    )
    return TorchClassifier(frozen, info, spec)


def real_resnet18(cfg: Config, threads: int, runtime: str) -> Classifier | None:
    from resnet_watch.errors import WeightsError
    from resnet_watch.models import load_classifier
    from resnet_watch.models.resolve import find_resnet18

    try:
        if find_resnet18(cfg.model.weights_dir) is None:
            return None
        classifier, _ = load_classifier("resnet18", cfg.model.weights_dir, threads, runtime=runtime)
    except WeightsError:
        return None
    return classifier
