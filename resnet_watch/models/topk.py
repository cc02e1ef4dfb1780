"""Logits -> softmax top-k ``Label`` rows, shared by every runtime (numpy only)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from resnet_watch.models.labels import labels
from resnet_watch.models.spec import Label, Preprocess

__all__ = ["check_batch", "top_labels"]


def check_batch(batch: npt.NDArray[np.float32], pre: Preprocess) -> None:
    """A wrong shape is our bug, caught before the runtime reports it less clearly."""
    if batch.ndim != 4 or batch.shape[1:] != (3, pre.crop, pre.crop):
        raise ValueError(f"expected a (N, 3, {pre.crop}, {pre.crop}) batch, got {batch.shape}")


def top_labels(logits: npt.NDArray[np.float32], top_k: int) -> list[list[Label]]:
    """Softmax over all 1000 classes (in float64, so ties and tiny scores stay stable)."""
    table = labels()
    top_k = max(1, min(int(top_k), len(table)))
    z = logits.astype(np.float64)
    z -= z.max(axis=1, keepdims=True)
    probs = np.exp(z)
    probs /= probs.sum(axis=1, keepdims=True)
    order = np.argsort(-probs, axis=1, kind="stable")[:, :top_k]
    rows = []
    for row_probs, row_order in zip(probs, order, strict=True):
        row = []
        for rank, index in enumerate(row_order.tolist(), 1):
            _, wnid, name = table[index]
            row.append(Label(rank, index, wnid, name, float(row_probs[index])))
        rows.append(row)
    return rows
