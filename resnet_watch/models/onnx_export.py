"""torch models -> ONNX files that onnxruntime serves (imports torch; the [torch] extra).

Why export here and serve elsewhere: torch is a 3 GB install and 700+ MB resident, while
onnxruntime runs the same graph in under 100 MB. Every exported model has two outputs,
``logits`` (N, 1000) and ``features`` (N, D), the pooled vector the classifier reads,
so custom classes and near-duplicate search need no second model.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from resnet_watch.models import quant
from resnet_watch.models.features import WithFeatures
from resnet_watch.models.spec import Preprocess

__all__ = ["OPSET", "export_onnx"]

OPSET = 17


def export_onnx(model: nn.Module, pre: Preprocess, dest: Path | None = None) -> bytes:
    """The fp32 model as ONNX bytes (written to ``dest`` too when given); batch is dynamic.

    The TorchScript-based exporter (``dynamo=False``) is used: it needs no extra packages
    (the dynamo one wants onnxscript), its output is byte-identical run to run, and it
    gives the same softmax as torch to ~1e-6 for both models (tests check this)."""
    wrapped = WithFeatures(model)
    example = torch.zeros(1, 3, pre.crop, pre.crop)
    tmp = tempfile.TemporaryDirectory(prefix="resnet-watch-export-")
    out = Path(tmp.name) / "model.onnx"
    with quant.quiet(), warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", UserWarning)  # shape-inference notes, not problems
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter, on purpose
        torch.onnx.export(
            wrapped,
            (example,),
            str(out),
            input_names=["input"],
            output_names=["logits", "features"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,
        )
    data = out.read_bytes()
    tmp.cleanup()
    if dest is not None:
        dest.write_bytes(data)
    return data
