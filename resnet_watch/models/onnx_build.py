"""Verified ResNet-18 weights -> the int8 ONNX model onnxruntime serves (imports torch).

How, for each file torchvision publishes:
- fp32 ``resnet18-f37072fd.pth``: export fp32 to ONNX, quantize with onnxruntime (QDQ,
  uint8 activations) calibrated on real photos; the reference is torch fp32.
- int8 ``resnet18_fbgemm_16fa66dd.pth``: its int8 weights, dequantized, give an fp32 graph
  with exactly those weight values (conv-bn already fused); that is exported and quantized
  the same way; the reference is torch running the int8 file itself.
The result is served only if its top-1 agrees with the reference on >= 98% of held-out
real photos (never the calibration ones); the figure goes into the install record.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from resnet_watch.errors import WeightsInvalid
from resnet_watch.models import quant
from resnet_watch.models.build import (
    fp32_resnet18_from,
    int8_resnet18_from,
    load_state_dict,
    state_dict_precision,
)
from resnet_watch.models.features import WithFeatures
from resnet_watch.models.inputs import RESNET18_PREPROCESS
from resnet_watch.models.manifest import sha256_file
from resnet_watch.models.onnx_export import export_onnx
from resnet_watch.models.onnx_quant import quantize_int8
from resnet_watch.models.photos import agreement_photos, calibration_photos, load_batch

__all__ = ["MIN_AGREEMENT", "OnnxBuild", "build_resnet18_onnx", "dequantized_resnet18"]

MIN_AGREEMENT = 0.98


@dataclass(frozen=True)
class OnnxBuild:
    """The int8 ONNX put in place, and the evidence that it is the same model."""

    path: Path
    sha256: str
    check: dict[str, Any] = field(default_factory=dict)


def dequantized_resnet18(int8_model: nn.Module) -> nn.Module:
    """An fp32 fused ResNet-18 carrying the int8 model's weights, dequantized."""
    from torchvision.models.quantization import resnet18

    with quant.quiet():
        fp32 = resnet18(weights=None, quantize=False).eval()
        fp32.fuse_model()
    copied = 0
    for name, qmod in int8_model.named_modules():
        weight, bias = getattr(qmod, "weight", None), getattr(qmod, "bias", None)
        if not (callable(weight) and callable(bias)):
            continue
        target = fp32.get_submodule(name)
        if isinstance(target, nn.Sequential):  # ConvReLU2d: the conv is its first child
            target = target[0]
        target.weight.data = weight().dequantize()
        target.bias.data = bias().detach().clone()
        copied += 1
    if copied != 21:  # conv1, 16 block convs, 3 downsamples, fc
        raise WeightsInvalid(f"expected 21 quantized layers in ResNet-18, found {copied}")
    model: nn.Module = fp32
    return model


def _top1_torch(model: nn.Module, batches: Sequence[npt.NDArray[np.float32]]) -> np.ndarray:
    wrapped = WithFeatures(model)
    out = []
    with quant.quiet(), torch.inference_mode():
        for batch in batches:
            logits, _ = wrapped(torch.from_numpy(batch))
            out.append(logits.float().argmax(1).numpy())
    return np.concatenate(out)


def _top1_onnx(path: Path, batches: Sequence[npt.NDArray[np.float32]]) -> np.ndarray:
    import onnxruntime as ort

    from resnet_watch.models.ort import session_options

    session = ort.InferenceSession(str(path), session_options(1), ["CPUExecutionProvider"])
    return np.concatenate([session.run(["logits"], {"input": b})[0].argmax(1) for b in batches])


def _batches(paths: Sequence[Path], size: int = 10) -> list[npt.NDArray[np.float32]]:
    return [
        load_batch(list(paths[i : i + size]), RESNET18_PREPROCESS)
        for i in range(0, len(paths), size)
    ]


def build_resnet18_onnx(
    source: Path,
    weights_dir: Path,
    calibrate_dir: Path | None,
    *,
    fixture: bool = False,
) -> OnnxBuild:
    """Build, check and install ``resnet18_int8_<sha8>.onnx`` from a verified .pth.

    A fixture (random weights, tests only) is built the same way and its agreement recorded,
    but not required: random logits have no stable top-1 to agree on."""
    state = load_state_dict(source)
    precision = state_dict_precision(state)
    if precision == "int8":
        reference = int8_resnet18_from(state, source)
        fp32 = dequantized_resnet18(reference)
        ref_name = "torch int8 (the installed file)"
    elif precision == "fp32":
        fp32 = reference = fp32_resnet18_from(state, source)
        ref_name = "torch fp32"
    else:
        raise WeightsInvalid(f"{source} is not a torchvision ResNet-18 state dict")
    calibration = calibration_photos(calibrate_dir)
    held_out = [p for p in agreement_photos() if p not in set(calibration)]
    weights_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".onnx-build-", dir=weights_dir) as tmp:
        fp32_onnx, int8_onnx = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        export_onnx(fp32, RESNET18_PREPROCESS, fp32_onnx)
        quantize_int8(fp32_onnx, int8_onnx, _batches(calibration))
        check: dict[str, Any] = {
            "format": "onnx qdq (uint8 activations, int8 per-channel weights)",
            "calibration": {
                "photos": len(calibration),
                "folder": str(calibrate_dir)
                if calibrate_dir
                else "ai-benchmark classification 0..49",
            },
            "reference": ref_name,
        }
        if held_out:
            batches = _batches(held_out)
            agree = float(
                np.mean(_top1_onnx(int8_onnx, batches) == _top1_torch(reference, batches))
            )
            check["top1_agreement"] = round(agree, 4)
            check["agreement_photos"] = len(held_out)
            if agree < MIN_AGREEMENT and not fixture:
                raise WeightsInvalid(
                    f"the int8 ONNX build of {source} agrees with {ref_name} on only "
                    f"{agree:.1%} of {len(held_out)} real photos (need {MIN_AGREEMENT:.0%}); "
                    "nothing was installed: try --calibrate with 50-200 of your own photos"
                )
        elif not fixture:
            raise WeightsInvalid(
                "no held-out real photos to check the int8 ONNX build against torch: "
                "install ai-benchmark==0.1.2 (the [torch] extra has it)"
            )
        sha = sha256_file(int8_onnx)
        stem = "resnet18_fixture_int8" if fixture else "resnet18_int8"
        target = weights_dir / f"{stem}_{sha[:8]}.onnx"
        os.replace(int8_onnx, target)
    return OnnxBuild(target, sha, check)
