"""A fake classifier for pipeline tests: no torch, deterministic, clearly not a model.

It "classifies" by the dominant colour channel so tests can check that the
right image reached the right sidecar.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from resnet_watch.models.spec import Label, ModelInfo, Prediction, Preprocess

FAKE_INFO = ModelInfo(
    name="fake-colour-test-double",
    precision="fp32",
    runtime="numpy",
    engine="none",
    weights_sha256="0" * 64,
    weights_source="tests/fakes.py",
    fixture=True,
)
_NAMES = ["reddish", "greenish", "bluish"]


class FakeClassifier:
    """Implements the Classifier protocol; records batch sizes it saw."""

    def __init__(self, *, fail_on: int | None = None, delay: float = 0.0) -> None:
        self.batch_sizes: list[int] = []
        self.fail_on = fail_on
        self.delay = delay
        self.gate = threading.Event()
        self.gate.set()

    @property
    def info(self) -> ModelInfo:
        return FAKE_INFO

    @property
    def preprocess(self) -> Preprocess:
        return Preprocess(32, 32, "bilinear", (0.0, 0.0, 0.0), (255.0, 255.0, 255.0))

    def classify(self, batch: npt.NDArray[np.float32], top_k: int) -> list[Prediction]:
        """Labels by dominant channel; "features" are the 4x4-pooled pixels (48 values), so
        similar pictures get similar vectors, like a real model's."""
        self.gate.wait()
        if self.delay:
            import time

            time.sleep(self.delay)
        self.batch_sizes.append(len(batch))
        out = []
        for image in batch:
            means = image.reshape(3, -1).mean(axis=1)
            probs = np.exp(means * 10) / np.exp(means * 10).sum()
            order = np.argsort(-probs)[:top_k]
            labels = [
                Label(rank + 1, int(i), f"n0000000{i}", _NAMES[i], float(probs[i]))
                for rank, i in enumerate(order)
            ]
            side = image.shape[1] // 4
            pooled = image[:, : side * 4, : side * 4].reshape(3, 4, side, 4, side).mean((2, 4))
            out.append(Prediction(labels, pooled.reshape(-1).astype(np.float32)))
        return out

    def predict(self, batch: npt.NDArray[np.float32], top_k: int) -> list[list[Label]]:
        return [p.labels for p in self.classify(batch, top_k)]


class RecordingLog:
    """A structlog-shaped logger that keeps each call as (event, fields)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def _record(self, event: str, **fields: Any) -> None:
        self.events.append((event, fields))

    debug = info = warning = error = exception = _record

    def names(self) -> list[str]:
        return [e for e, _ in self.events]
