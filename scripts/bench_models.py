"""Measure what the README's "Models and weights" table says, and the int8 decision for
EfficientNet-Lite0 (ship int8 only if it is at least as fast as the frozen fp32 graph AND
agrees with fp32 top-1 on >= 95% of held-out real photos).

    .venv/bin/python scripts/bench_models.py [--repeats 20]

ResNet-18 speed is measured on random-init weights when no real ones are installed (speed
does not depend on the values); accuracy is never measured on those. Calibration uses
ai-benchmark photos 0..49; agreement is measured on 50..99 plus the scikit-image and
scikit-learn photos, which are never calibrated on.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from resnet_watch.models import quant
from resnet_watch.models.build import (
    EFFICIENTNET_PREPROCESS,
    RESNET18_PREPROCESS,
    load_state_dict,
)
from resnet_watch.models.efficientnet_lite import EfficientNetLite0
from resnet_watch.models.manifest import bundled_file, manifest_entry
from resnet_watch.models.photos import ai_benchmark_photos, load_batch


def ms_per_image(model: Any, batch: torch.Tensor, repeats: int) -> float:
    """Median wall time per image over ``repeats`` calls, after two warm-up calls."""
    times = []
    with torch.inference_mode():
        for _ in range(2):
            model(batch)
        for _ in range(repeats):
            start = time.perf_counter()
            model(batch)
            times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times) / len(batch)


def held_out() -> list[Path]:
    import skimage
    import sklearn  # type: ignore[import-untyped]

    sk = Path(skimage.__file__).parent / "data"
    skl = Path(sklearn.__file__).parent / "datasets" / "images"
    extra = [sk / n for n in ("chelsea.png", "coffee.png", "astronaut.png")]
    extra += [skl / "china.jpg", skl / "flower.jpg"]
    return ai_benchmark_photos()[50:] + extra


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    calib = ai_benchmark_photos()[:50]
    rows: list[tuple[str, int, int, float]] = []

    def bench(label: str, model: Any, crop: int) -> None:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for size in (1, 8):
                x = torch.randn(size, 3, crop, crop)
                ms = ms_per_image(model, x, args.repeats)
                rows.append((label, threads, size, ms))
                print(f"{label:38s} threads={threads} batch={size}  {ms:6.1f} ms/image", flush=True)

    # ResNet-18
    from torchvision.models import resnet18

    torch.manual_seed(0)
    r18 = resnet18(weights=None).eval()
    bench("resnet18 fp32 eager", r18, 224)
    r18_batches = [
        torch.from_numpy(load_batch(calib[i : i + 10], RESNET18_PREPROCESS))
        for i in range(0, 50, 10)
    ]
    r18_int8 = quant.ptq_resnet18(r18.state_dict(), r18_batches)
    example = torch.zeros(1, 3, 224, 224)
    bench("resnet18 int8 eager", r18_int8, 224)
    bench("resnet18 int8 torchscript-frozen", quant.freeze(r18_int8, example), 224)

    # EfficientNet-Lite0
    path = bundled_file(manifest_entry("efficientnet_lite0"))
    assert path is not None
    lite = EfficientNetLite0()
    lite.load_state_dict(load_state_dict(path))
    lite.eval()
    bench("efficientnet_lite0 fp32 eager", lite, 224)
    lite_frozen = quant.freeze(lite, example)
    bench("efficientnet_lite0 fp32 torchscript-frozen", lite_frozen, 224)

    lite_batches = [
        torch.from_numpy(load_batch(calib[i : i + 10], EFFICIENTNET_PREPROCESS))
        for i in range(0, 50, 10)
    ]
    test = torch.from_numpy(load_batch(held_out(), EFFICIENTNET_PREPROCESS))
    with torch.inference_mode():
        reference = lite_frozen(test).argmax(1)
    for fix in (False, True):
        fresh = EfficientNetLite0()
        fresh.load_state_dict(load_state_dict(path))
        int8 = quant.ptq_fx(fresh.eval(), example, lite_batches, fix_relu6=fix)
        frozen = quant.freeze(int8, example)
        with torch.inference_mode():
            agree = float((frozen(test).argmax(1) == reference).float().mean())
        name = f"efficientnet_lite0 int8 FX{' relu6-fixed' if fix else ''} frozen"
        print(f"{name}: top-1 agreement with fp32 on {len(test)} held-out photos: {agree:.1%}")
        bench(name, frozen, 224)

    print("\nsummary (ms/image):")
    for label, threads, size, ms in rows:
        print(f"| {label} | {threads} | {size} | {ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
