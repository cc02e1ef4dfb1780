"""Real ImageNet-1k classifiers: int8 ResNet-18 when its weights are installed, else the
bundled EfficientNet-Lite0. The only package that imports torch, and only on first use:
importing this module is cheap, and missing weights are reported before torch loads.
"""

from __future__ import annotations

from resnet_watch.models.labels import labels
from resnet_watch.models.loader import MODEL_NAMES, load_classifier
from resnet_watch.models.spec import Classifier, Label, ModelInfo, Preprocess
from resnet_watch.models.weights import (
    InstalledWeights,
    WeightsStatus,
    fetch_weights,
    import_weights,
    weights_status,
)

__all__ = [
    "MODEL_NAMES",
    "Classifier",
    "InstalledWeights",
    "Label",
    "ModelInfo",
    "Preprocess",
    "WeightsStatus",
    "fetch_weights",
    "import_weights",
    "labels",
    "load_classifier",
    "weights_status",
]
