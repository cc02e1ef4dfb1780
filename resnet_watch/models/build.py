"""Turn verified weights files into torch models, and those into frozen classifiers for
``model.runtime: torch`` (imports torch; the [torch] extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from resnet_watch.errors import WeightsInvalid
from resnet_watch.models import quant
from resnet_watch.models.classifier import TorchClassifier
from resnet_watch.models.efficientnet_lite import EfficientNetLite0
from resnet_watch.models.features import WithFeatures
from resnet_watch.models.inputs import EFFICIENTNET_PREPROCESS, RESNET18_PREPROCESS
from resnet_watch.models.photos import calibration_photos, load_batch
from resnet_watch.models.resolve import Found
from resnet_watch.models.spec import ModelInfo, Preprocess

__all__ = [
    "EFFICIENTNET_PREPROCESS",
    "RESNET18_PREPROCESS",
    "efficientnet_lite0_classifier",
    "efficientnet_lite0_module",
    "fp32_resnet18_from",
    "int8_resnet18_from",
    "load_state_dict",
    "quantize_fp32_resnet18",
    "resnet18_classifier",
    "resnet18_int8_module",
    "state_dict_precision",
]

RUNTIME = "torch"


def load_state_dict(path: Path) -> dict[str, Any]:
    """``torch.load`` with ``weights_only`` (no pickled code runs); failures are WeightsInvalid."""
    try:
        with quant.quiet():
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise WeightsInvalid(f"{path} is not a readable PyTorch weights file: {exc}") from exc
    if not isinstance(state, dict) or not state:
        raise WeightsInvalid(f"{path} does not hold a state dict")
    return state


def state_dict_precision(state: dict[str, Any]) -> str:
    """Says "int8" (torchvision quantized format), "fp32" (plain ResNet-18), or "unknown"."""
    weight = state.get("conv1.weight")
    if not isinstance(weight, torch.Tensor):
        return "unknown"
    if weight.is_quantized and "conv1.scale" in state:
        return "int8"
    if weight.dtype == torch.float32 and "bn1.running_mean" in state:
        return "fp32"
    return "unknown"


def int8_resnet18_from(state: dict[str, Any], path: Path) -> nn.Module:
    """An int8 state dict (torchvision fbgemm format) into the quantizable ResNet-18."""
    model = quant.int8_resnet18()
    try:
        with quant.quiet():
            model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise WeightsInvalid(
            f"{path} is not a torchvision int8 ResNet-18 state dict: {exc}"
        ) from exc
    return model


def quantize_fp32_resnet18(
    state: dict[str, Any], path: Path, calibrate_dir: Path | None
) -> tuple[nn.Module, dict[str, Any]]:
    """PTQ an fp32 ResNet-18 on real photos; returns the int8 model and what it saw."""
    photos = calibration_photos(calibrate_dir)
    batches = [
        torch.from_numpy(load_batch(photos[i : i + 10], RESNET18_PREPROCESS))
        for i in range(0, len(photos), 10)
    ]
    try:
        model = quant.ptq_resnet18(state, batches)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise WeightsInvalid(
            f"{path} is not a torchvision fp32 ResNet-18 state dict: {exc}"
        ) from exc
    folder = str(calibrate_dir) if calibrate_dir else "ai-benchmark data/classification 0..49"
    return model, {"photos": len(photos), "folder": folder, "observer": "histogram/x86"}


def _example(pre: Preprocess) -> torch.Tensor:
    return torch.zeros(1, 3, pre.crop, pre.crop)


def fp32_resnet18_from(state: dict[str, Any], path: Path) -> nn.Module:
    """A plain torchvision fp32 ResNet-18 state dict into the model."""
    from torchvision.models import resnet18

    model: nn.Module = resnet18(weights=None)
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise WeightsInvalid(
            f"{path} is not a torchvision fp32 ResNet-18 state dict: {exc}"
        ) from exc
    return model.eval()


def resnet18_int8_module(path: Path) -> nn.Module:
    """The int8 torch ResNet-18 of a verified file (an fp32 file is quantized first)."""
    state = load_state_dict(path)
    precision = state_dict_precision(state)
    if precision == "int8":
        return int8_resnet18_from(state, path)
    if precision == "fp32":
        model, _ = quantize_fp32_resnet18(state, path, None)
        return model
    raise WeightsInvalid(f"{path} is not a torchvision ResNet-18 state dict")


def resnet18_classifier(found: Found) -> TorchClassifier:
    """int8 ResNet-18 from verified weights, frozen for the torch runtime."""
    model = resnet18_int8_module(found.path)
    info = ModelInfo(
        name="resnet18",
        precision="int8",
        runtime=RUNTIME,
        engine=quant.ENGINE,
        weights_sha256=found.weights_sha256,
        weights_source=found.source,
        fixture=found.fixture,
    )
    frozen = quant.freeze(WithFeatures(model), _example(RESNET18_PREPROCESS))
    return TorchClassifier(frozen, info, RESNET18_PREPROCESS)


def efficientnet_lite0_module(path: Path) -> nn.Module:
    """The fp32 EfficientNet-Lite0 with the bundled weights loaded (``path`` is verified)."""
    model = EfficientNetLite0()
    try:
        model.load_state_dict(load_state_dict(path), strict=True)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise WeightsInvalid(f"{path} is not EfficientNet-Lite0 weights: {exc}") from exc
    return model.eval()


def efficientnet_lite0_classifier(path: Path, sha256: str, source: str) -> TorchClassifier:
    """The bundled model as a frozen fp32 torch graph (``model.runtime: torch``)."""
    model = efficientnet_lite0_module(path)
    info = ModelInfo(
        name="efficientnet_lite0",
        precision="fp32",
        runtime=RUNTIME,
        engine="none",
        weights_sha256=sha256,
        weights_source=source,
    )
    frozen = quant.freeze(WithFeatures(model), _example(EFFICIENTNET_PREPROCESS))
    return TorchClassifier(frozen, info, EFFICIENTNET_PREPROCESS)
