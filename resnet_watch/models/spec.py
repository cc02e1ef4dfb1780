"""What a model promises the rest of resnet-watch; plain data, no torch import.

Imaging reads ``Preprocess`` to turn a decoded picture into the exact input a
model was trained on; the pipeline calls ``Classifier.predict`` on batches and
records ``ModelInfo`` in every sidecar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["RUNTIMES", "Classifier", "Label", "ModelInfo", "Prediction", "Preprocess"]

# What ``model.runtime`` may say; "auto" picks by what is installed and measured faster.
RUNTIMES = ("auto", "onnxruntime", "torch")

Resample = Literal["bilinear", "bicubic"]


@dataclass(frozen=True)
class Preprocess:
    """Resize the short side to ``resize_short``, centre-crop ``crop`` x ``crop``,
    then ``(pixel - mean) / std`` per channel, with pixels in 0..255 units.
    The result is float32, channels first (3, crop, crop)."""

    resize_short: int
    crop: int
    resample: Resample
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True)
class ModelInfo:
    """Recorded in every sidecar, so a model or weights change re-classifies."""

    name: str  # "resnet18" | "efficientnet_lite0"
    precision: str  # "int8" | "fp32"
    runtime: str  # "onnxruntime" | "torch": recorded, but a runtime change alone never re-tags
    engine: str  # quantized engine, e.g. "x86", or "none" for fp32
    weights_sha256: str  # of the real weights file the served model was built from
    weights_source: str  # where the weights came from (package, file, URL)
    fixture: bool = False  # True only for the random-weight test fixture


@dataclass(frozen=True)
class Label:
    rank: int  # 1-based
    index: int  # ImageNet-1k class index, 0..999
    wnid: str  # WordNet id, e.g. "n02123045"
    name: str  # readable English name, e.g. "tabby cat"
    score: float  # softmax probability, 0..1


@dataclass(frozen=True)
class Prediction:
    """One image's top-k labels and the pooled feature vector the classifier head read
    (ResNet-18: 512 values, EfficientNet-Lite0: 1280), for custom classes and similarity."""

    labels: list[Label]
    features: npt.NDArray[np.float32]


class Classifier(Protocol):
    """A loaded model. ``predict`` takes a float32 NCHW batch made per ``preprocess``."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def preprocess(self) -> Preprocess: ...

    def predict(self, batch: npt.NDArray[np.float32], top_k: int) -> list[list[Label]]: ...

    def classify(self, batch: npt.NDArray[np.float32], top_k: int) -> list[Prediction]: ...
