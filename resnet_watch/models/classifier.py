"""A frozen torch graph behind ``spec.Classifier`` (``model.runtime: torch``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from resnet_watch.models.spec import Label, ModelInfo, Prediction, Preprocess
from resnet_watch.models.topk import check_batch, top_labels

__all__ = ["TorchClassifier"]


class TorchClassifier:
    """Runs a frozen (logits, features) graph on float32 NCHW batches."""

    def __init__(
        self, module: torch.jit.ScriptModule, info: ModelInfo, preprocess: Preprocess
    ) -> None:
        self._module = module
        self._info = info
        self._preprocess = preprocess

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def preprocess(self) -> Preprocess:
        return self._preprocess

    def classify(self, batch: npt.NDArray[np.float32], top_k: int) -> list[Prediction]:
        """Top-k labels (softmax over all 1000 classes) and the feature vector per image."""
        check_batch(batch, self._preprocess)
        if len(batch) == 0:
            return []
        tensor = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        with torch.inference_mode():
            logits, features = self._module(tensor)
        rows = top_labels(logits.float().numpy(), top_k)
        feats = features.float().numpy()
        return [Prediction(row, feat) for row, feat in zip(rows, feats, strict=True)]

    def predict(self, batch: npt.NDArray[np.float32], top_k: int) -> list[list[Label]]:
        """Top-k labels per image."""
        return [p.labels for p in self.classify(batch, top_k)]
