"""All int8 quantization and graph freezing, behind five functions.

Why one module: PyTorch 2.14 deprecates both flows we use (``torch.ao.quantization`` eager/FX
PTQ, and ``torch.jit.trace``/``freeze``); both still work and are pinned by our torch==2.14.1.
Moving to pt2e (torchao) + ``torch.export``/``torch.compile`` means replacing this module
only. Every call into a deprecated API runs inside :func:`quiet` so users see no noise.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch import nn
from torch.jit._trace import TracerWarning

__all__ = [
    "ENGINE",
    "freeze",
    "int8_resnet18",
    "ptq_fx",
    "ptq_resnet18",
    "quiet",
    "use_engine",
]

ENGINE = "x86"  # fbgemm-compatible kernels; torchvision's fbgemm weights run on it

_DEPRECATION_MESSAGES = (
    r"torch\.ao\.quantization is deprecated",
    r"torch\.quantize_per_tensor, torch\.quantize_per_channel",
    r"TypedStorage is deprecated",
    r"`torch\.jit\.",
    r"torch\.jit\.",
    r"Please use quant_min and quant_max",
    r"must run observer before calling calculate_qparams",
)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Hide the deprecation warnings of the flows above (only ours, only here)."""
    with warnings.catch_warnings():
        for message in _DEPRECATION_MESSAGES:
            warnings.filterwarnings("ignore", message=message)
        warnings.filterwarnings("ignore", category=TracerWarning)
        yield


def use_engine() -> None:
    """Select the x86 quantized engine (must match the engine the int8 model was built for)."""
    torch.backends.quantized.engine = ENGINE


def freeze(model: nn.Module, example: torch.Tensor) -> torch.jit.ScriptModule:
    """Trace + freeze for inference, then warm up: the first two calls of a TorchScript
    graph profile and optimise it, so do them here rather than on a user's first photo."""
    model.eval()
    with quiet(), torch.inference_mode():
        traced = torch.jit.trace(model, example, check_trace=False)  # type: ignore[no-untyped-call]
        frozen: torch.jit.ScriptModule = torch.jit.freeze(traced)
        for _ in range(2):
            frozen(example)
    return frozen


def int8_resnet18() -> nn.Module:
    """An empty converted int8 ResNet-18 (torchvision's quantizable one, conv-bn-relu fused)
    ready for ``load_state_dict`` of a torchvision fbgemm-format int8 state dict."""
    from torchvision.models.quantization import resnet18

    with quiet():
        model: nn.Module = resnet18(weights=None, quantize=True)  # fused, converted, no weights
    use_engine()
    return model.eval()


def ptq_resnet18(
    fp32_state_dict: dict[str, torch.Tensor], calibration: Iterable[torch.Tensor]
) -> nn.Module:
    """Post-training static quantization of an fp32 torchvision ResNet-18: fuse conv-bn-relu,
    observe activations on real photos (histogram observer, per-channel weights), convert.
    The result's state dict has torchvision's fbgemm on-disk format."""
    from torchvision.models.quantization import resnet18

    use_engine()
    with quiet():
        model = resnet18(weights=None, quantize=False)
        model.load_state_dict(fp32_state_dict, strict=True)
        model.eval()
        model.fuse_model()
        model.qconfig = torch.ao.quantization.get_default_qconfig(ENGINE)  # type: ignore[no-untyped-call]
        torch.ao.quantization.prepare(model, inplace=True)  # type: ignore[no-untyped-call]
        with torch.inference_mode():
            for batch in calibration:
                model(batch)
        torch.ao.quantization.convert(model, inplace=True)  # type: ignore[no-untyped-call]
    return model.eval()  # type: ignore[no-any-return]


def ptq_fx(
    model: nn.Module,
    example: torch.Tensor,
    calibration: Iterable[torch.Tensor],
    fix_relu6: bool = True,
) -> nn.Module:
    """FX-graph PTQ of any fp32 model (used to measure int8 EfficientNet-Lite0).

    ``fix_relu6``: FX does not fuse ReLU6 into the conv before it, so the conv's observed
    output range is wider than [0, 6] and wastes int8 steps; fixing those outputs to [0, 6]
    is what makes this model's int8 agree with fp32 at all."""
    from torch.ao.quantization import QConfigMapping, get_default_qconfig
    from torch.ao.quantization.observer import FixedQParamsObserver
    from torch.ao.quantization.qconfig import QConfig
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    use_engine()
    with quiet():
        default = get_default_qconfig(ENGINE)  # type: ignore[no-untyped-call]
        mapping = QConfigMapping().set_global(default)
        if fix_relu6:
            relu6_range = FixedQParamsObserver.with_args(
                scale=6.0 / 255.0, zero_point=0, dtype=torch.quint8, quant_min=0, quant_max=255
            )
            fixed = QConfig(activation=relu6_range, weight=default.weight)  # type: ignore[no-untyped-call]
            for name in _convs_before_relu6(model):
                mapping.set_module_name(name, fixed)
        prepared = prepare_fx(model.eval(), mapping, (example,))
        with torch.inference_mode():
            for batch in calibration:
                prepared(batch)
        converted: nn.Module = convert_fx(prepared)
    return converted.eval()


def _convs_before_relu6(model: nn.Module) -> list[str]:
    """Names of BatchNorm-followed convs whose output feeds a ReLU6 (found by an FX trace)."""
    from torch.fx import symbolic_trace

    graph = symbolic_trace(model).graph
    modules = dict(model.named_modules())
    names: list[str] = []

    def module_of(node: Any) -> nn.Module | None:
        return modules.get(str(node.target)) if node.op == "call_module" else None

    is_relu6: Callable[[Any], bool] = lambda n: isinstance(module_of(n), nn.ReLU6)  # noqa: E731
    for node in graph.nodes:
        if not is_relu6(node):
            continue
        bn = node.args[0]
        if isinstance(module_of(bn), nn.BatchNorm2d):
            conv = bn.args[0]
            if isinstance(module_of(conv), nn.Conv2d):
                names.append(str(conv.target))
    return names
