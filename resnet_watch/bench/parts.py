"""Figures for single parts: each stage's cost, the model alone, int8 label agreement."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_watch.bench.lines import fp32_resnet18, naive_transform
from resnet_watch.bench.stats import percentile

if TYPE_CHECKING:
    from resnet_watch.config import Config
    from resnet_watch.models.spec import Classifier

__all__ = ["labels_agreement", "model_only_rows", "stage_costs"]


def model_only_rows(
    models: list[tuple[str, str, Callable[[Any], Any]]],
    batch_n: int,
    thread_counts: list[int],
    repeats: int,
) -> list[dict[str, Any]]:
    """Median ms/image of the forward pass (+ softmax top-5) on random input."""
    import torch

    rows = []
    for threads in thread_counts:
        torch.set_num_threads(threads)
        for key, name, run in models:
            for size in sorted({1, batch_n}):
                x = torch.randn(size, 3, 224, 224)
                times = []
                with torch.inference_mode():
                    for i in range(repeats + 2):
                        started = time.perf_counter()
                        run(x)
                        if i >= 2:  # two warm-up calls
                            times.append(time.perf_counter() - started)
                ms = 1000 * percentile(times, 50) / size
                rows.append({"key": key, "name": name, "threads": threads, "batch": size, "ms": ms})
    return rows


def stage_costs(paths: list[Path], cfg: Config, fp32: Any) -> list[dict[str, Any]]:
    """Per-image cost of each step, one thread: what each product change buys."""
    import torch
    from PIL import Image

    from resnet_watch.component_settings import build_pipeline_settings
    from resnet_watch.imaging import preprocess, read_image
    from resnet_watch.models.inputs import RESNET18_PREPROCESS

    torch.set_num_threads(1)
    limits = build_pipeline_settings(cfg, 1).limits
    spec = RESNET18_PREPROCESS
    transform = naive_transform()
    totals: dict[str, list[float]] = {}

    def timed(key: str, fn: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        result = fn(*args)
        totals.setdefault(key, []).append((time.perf_counter() - started) * 1000)
        return result

    def full_decode(path: Path) -> Any:
        return Image.open(path).convert("RGB")

    for path in paths:
        full = timed("full_decode", full_decode, path)
        timed("torchvision_transforms", transform, full)
        del full
        decoded = timed("read_image", read_image, path, limits, spec.resize_short)
        timed("preprocess", preprocess, decoded.image, spec)
    names = {
        "full_decode": "baseline: Image.open().convert('RGB'), full 12 MP",
        "torchvision_transforms": "baseline: Resize(256)/CenterCrop/ToTensor/Normalize",
        "read_image": "resnet-watch: read + sha256 + draft decode + reduce + EXIF",
        "preprocess": "resnet-watch: resize + crop + normalise (numpy)",
    }
    return [
        {"key": k, "name": names[k], "ms_p50": percentile(v, 50), "images": len(v)}
        for k, v in totals.items()
    ]


def labels_agreement(cfg: Config, real_int8: Classifier | None) -> dict[str, str]:
    """int8 vs fp32 top-1 on held-out real photos, for every model with real weights."""
    out = {"efficientnet_lite0": "n/a: runs fp32 only (no int8 path); trivially 100%"}
    if real_int8 is None:
        out["resnet18"] = "n/a: no real weights"
        return out
    import numpy as np
    import torch

    from resnet_watch.component_settings import build_pipeline_settings
    from resnet_watch.imaging import preprocess, read_image
    from resnet_watch.models.build import load_state_dict
    from resnet_watch.models.inputs import RESNET18_PREPROCESS
    from resnet_watch.models.manifest import hub_checkpoints_dir, manifest_entry
    from resnet_watch.models.photos import ai_benchmark_photos

    entry = manifest_entry("resnet18_fp32")
    fp32_path = next(
        (
            d / entry.file
            for d in (cfg.model.weights_dir, hub_checkpoints_dir())
            if (d / entry.file).is_file()
        ),
        None,
    )
    photos = ai_benchmark_photos()[50:]  # held out from calibration
    if fp32_path is None or not photos:
        why = "fp32 reference weights" if fp32_path is None else "ai-benchmark photos"
        out["resnet18"] = f"n/a: {why} not installed"
        return out
    model = fp32_resnet18()
    model.load_state_dict(load_state_dict(fp32_path))
    limits = build_pipeline_settings(cfg, 1).limits
    spec = RESNET18_PREPROCESS
    batch = np.stack([preprocess(read_image(p, limits, 256).image, spec) for p in photos])
    with torch.inference_mode():
        reference = model(torch.from_numpy(batch)).argmax(1).tolist()
    got = [labels[0].index for labels in real_int8.predict(batch, 1)]
    agree = sum(a == b for a, b in zip(reference, got, strict=True)) / len(photos)
    out["resnet18"] = f"{agree:.1%} of {len(photos)} real photos (ai-benchmark 50..99)"
    return out
