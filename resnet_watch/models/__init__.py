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

# Images per model call that measured fastest on 2 cores (``resnet-watch bench``):
# EfficientNet-Lite0's frozen graph gets slower per image above 2; int8 ResNet-18 keeps
# gaining a little up to 8.
PREFERRED_BATCH = {"efficientnet_lite0": 2, "resnet18": 8}


def preferred_batch(model: str | None) -> int:
    """The batch size to use for ``model`` when the config says 0 (auto)."""
    return PREFERRED_BATCH.get(model or "", 4)


__all__ = [
    "MODEL_NAMES",
    "PREFERRED_BATCH",
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
    "preferred_batch",
    "weights_status",
]
