"""fp32 ONNX -> int8 ONNX by static post-training quantization on real photos.

Why onnxruntime.quantization and not torch.ao / pt2e: what is served is an ONNX graph, and
ORT's own quantizer emits exactly the QDQ pattern its x86 kernels fuse. Activations are
uint8 (signed int8 activations run as slowly as fp32 on x64 here, as ORT itself warns),
weights int8 per channel; ranges from MinMax over the calibration photos; every op ORT
can quantize is quantized (only Conv+Gemm flipped 3x more labels on EfficientNet-Lite0). Needs the
``onnx`` package (the [torch] extra), never imported by the daemon.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["quantize_int8"]


class _Batches:
    """onnxruntime's CalibrationDataReader protocol over in-memory batches."""

    def __init__(self, batches: Sequence[npt.NDArray[np.float32]]) -> None:
        self._batches = list(batches)
        self._iter: Iterator[npt.NDArray[np.float32]] = iter(self._batches)

    def get_next(self) -> dict[str, npt.NDArray[np.float32]] | None:
        batch = next(self._iter, None)
        return None if batch is None else {"input": batch}

    def rewind(self) -> None:
        self._iter = iter(self._batches)


def quantize_int8(
    fp32_model: Path, dest: Path, calibration: Sequence[npt.NDArray[np.float32]]
) -> None:
    """Write the int8 (QDQ, uint8 activations) build of ``fp32_model`` to ``dest``."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="resnet-watch-quant-") as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_model), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(dest),
            _Batches(calibration),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
        )
