"""Which runtime serves a model: what is installed, and what ``resnet-watch bench`` measured.

Measured on a 2-core Xeon (README, "Models and runtimes"): onnxruntime serves fp32
EfficientNet-Lite0 ~3x faster than torch's frozen graph, loads in 0.2 s instead of ~3 s and
stays under 100 MB instead of ~750 MB. torch is faster only for int8 ResNet-18 on CPUs with
AMX (oneDNN's AMX int8 kernels, ~2x ORT's); without AMX the two run it at the same speed.
No torch import here: ``find_spec`` only asks whether it is installed.
"""

from __future__ import annotations

import functools
from importlib.util import find_spec
from pathlib import Path

__all__ = ["choose_runtime", "cpu_has_amx", "torch_installed"]


def torch_installed() -> bool:
    """torch and torchvision are importable (the [torch] extra), without importing them."""
    return find_spec("torch") is not None and find_spec("torchvision") is not None


@functools.cache
def cpu_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """The CPU advertises AMX int8 tiles (Sapphire Rapids and later)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return "amx_int8" in line.split()
    return False


def choose_runtime(requested: str, model: str, *, onnx: bool) -> tuple[str, str]:
    """(runtime, why) for ``model.runtime: requested``; ``onnx``: an ONNX build exists."""
    if requested != "auto":
        return requested, "configured"
    if not onnx:
        return "torch", "no ONNX build of these weights yet"
    if model == "resnet18" and torch_installed() and cpu_has_amx():
        return "torch", "int8 on an AMX CPU: torch's oneDNN kernels measured ~2x onnxruntime"
    return "onnxruntime", "lean default: measured faster or equal, a tenth of the memory"
