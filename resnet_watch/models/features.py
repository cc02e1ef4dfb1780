"""Any of our torch classifiers as a module returning ``(logits, features)`` (imports torch).

``features`` is the globally pooled vector the final linear layer reads (ResNet-18: 512,
EfficientNet-Lite0: 1280). Both runtimes serve this same two-output graph, so a sidecar's
embedding does not depend on the runtime that made it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["WithFeatures"]


class WithFeatures(nn.Module):
    """Wraps our EfficientNetLite0 or a torchvision (quantizable) ResNet-18."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model.eval()
        fc = getattr(model, "_fc", None) or model.fc
        # A converted int8 model (quantized fc) takes quantized tensors: quant in, dequant out.
        self.quantized = ".quantized." in type(fc).__module__

    def _pooled(self, x: torch.Tensor) -> torch.Tensor:
        m: Any = self.model  # duck-typed: two model families
        if hasattr(m, "_conv_stem"):  # EfficientNetLite0
            x = m._act(m._bn0(m._conv_stem(m._stem_pad(x))))
            for block in m._blocks:
                x = block(x)
            x = m._act(m._bn1(m._conv_head(x)))
            return torch.flatten(m._avg_pooling(x), 1)
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))  # torchvision ResNet
        x = m.layer4(m.layer3(m.layer2(m.layer1(x))))
        return torch.flatten(m.avgpool(x), 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m: Any = self.model  # duck-typed: two model families
        quantized = self.quantized
        if quantized:
            x = m.quant(x)
        features = self._pooled(x)
        fc = m._fc if hasattr(m, "_fc") else m.fc
        logits = fc(features)
        if quantized:
            return m.dequant(logits), features.dequantize()
        return logits, features
