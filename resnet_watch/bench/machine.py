"""The machine and the settings a run measures on: CPU, software versions, config, threads."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_watch import __version__

if TYPE_CHECKING:
    from resnet_watch.bench.options import BenchOptions
    from resnet_watch.config import Config

__all__ = ["INT8_FLAGS", "cpu_info", "load_bench_config", "software_info", "thread_counts"]


INT8_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)


def cpu_info() -> dict[str, Any]:
    model, flags = platform.processor() or platform.machine(), set[str]()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for row in fh:
                key, _, value = row.partition(":")
                if key.strip() == "model name" and model in ("", platform.machine()):
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return {
        "model": model,
        "int8_flags": [f for f in INT8_FLAGS if f in flags],
        "missing_int8_flags": [f for f in INT8_FLAGS if f not in flags],
        "cpus_usable": len(cpus) or (os.cpu_count() or 1),
        "affinity": cpus,
        "load_avg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else [],
    }


def software_info() -> dict[str, Any]:
    import PIL
    import torch
    import torchvision
    from PIL import features

    cuda = torch.version.cuda
    return {
        "python": platform.python_version(),
        "resnet_watch": __version__,
        "torch": torch.__version__,
        "torch_build": f"CUDA {cuda} build (running on CPU)" if cuda else "CPU-only build",
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "quantized_engine": torch.backends.quantized.engine,
        "torchvision": torchvision.__version__,
        "pillow": PIL.__version__,
        "libjpeg_turbo": features.version("jpg")
        if features.check_feature("libjpeg_turbo")
        else None,
    }


def load_bench_config(opts: BenchOptions) -> Config:
    from resnet_watch.config import load_config

    path = opts.config
    if path is None:
        env = os.environ.get("RESNET_WATCH_CONFIG")
        path = Path(env) if env else (Path("config.yaml") if Path("config.yaml").exists() else None)
    return load_config(path, prepare_inbox=False)


def thread_counts(opts: BenchOptions, cfg: Config) -> tuple[int, int]:
    from resnet_watch.config import auto_threads

    return auto_threads(
        opts.decode_threads or cfg.pipeline.decode_threads, opts.threads or cfg.model.threads
    )
