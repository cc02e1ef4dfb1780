"""A loaded, frozen model behind ``spec.Classifier``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from resnet_watch.models.labels import labels
from resnet_watch.models.spec import Label, ModelInfo, Preprocess

__all__ = ["TorchClassifier"]


class TorchClassifier:
    """Runs a TorchScript graph on float32 NCHW batches and returns softmax top-k labels."""

    def __init__(
        self, module: torch.jit.ScriptModule, info: ModelInfo, preprocess: Preprocess
    ) -> None:
        self._module = module
        self._info = info
        self._preprocess = preprocess
        self._labels = labels()

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def preprocess(self) -> Preprocess:
        return self._preprocess

    def predict(self, batch: npt.NDArray[np.float32], top_k: int) -> list[list[Label]]:
        """Top-k labels per image; scores are softmax probabilities over all 1000 classes."""
        crop = self._preprocess.crop
        if batch.ndim != 4 or batch.shape[1:] != (3, crop, crop):
            raise ValueError(f"expected a (N, 3, {crop}, {crop}) batch, got {batch.shape}")
        if len(batch) == 0:
            return []
        top_k = max(1, min(int(top_k), len(self._labels)))
        tensor = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32))
        with torch.inference_mode():
            probs = torch.softmax(self._module(tensor).float(), dim=1)
            scores, indexes = probs.topk(top_k, dim=1)
        results = []
        for row_scores, row_indexes in zip(scores.tolist(), indexes.tolist(), strict=True):
            row = []
            for rank, (score, index) in enumerate(zip(row_scores, row_indexes, strict=True), 1):
                _, wnid, name = self._labels[index]
                row.append(Label(rank=rank, index=index, wnid=wnid, name=name, score=score))
            results.append(row)
        return results
