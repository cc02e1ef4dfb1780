"""The serving runtime: ONNX Runtime's CPU provider behind ``spec.Classifier``.

Why this is the default: the same graphs as torch (softmax equal to ~1e-6 for fp32), a
50 MB install instead of 3 GB, ~80 MB resident instead of ~750 MB, and 0.2 s to load
(``resnet-watch bench`` measures all four). torch is never imported here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from resnet_watch.errors import WeightsInvalid
from resnet_watch.models.spec import Label, ModelInfo, Prediction, Preprocess
from resnet_watch.models.topk import check_batch, top_labels

__all__ = ["OrtClassifier", "session_options"]


def session_options(threads: int) -> object:
    """One intra-op pool of ``threads`` that sleeps when idle: spinning threads would take
    the cores the decode threads need between batches (2-core machines)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = max(1, threads)
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    opts.log_severity_level = 3  # errors only; warnings would go to stderr, not our log
    return opts


class OrtClassifier:
    """An ``.onnx`` with outputs ``logits`` and ``features``, run on float32 NCHW batches."""

    def __init__(self, path: Path, info: ModelInfo, preprocess: Preprocess, threads: int) -> None:
        import onnxruntime as ort

        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=session_options(threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise WeightsInvalid(f"{path} is not a loadable ONNX model: {exc}") from exc
        outputs = [o.name for o in self._session.get_outputs()]
        if outputs[:2] != ["logits", "features"]:
            raise WeightsInvalid(f"{path} has outputs {outputs}, expected logits and features")
        self._input = self._session.get_inputs()[0].name
        self._info = info
        self._preprocess = preprocess
        self.path = path

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def preprocess(self) -> Preprocess:
        return self._preprocess

    def run(
        self, batch: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Raw (logits, features) for a batch."""
        check_batch(batch, self._preprocess)
        feed = {self._input: np.ascontiguousarray(batch, dtype=np.float32)}
        logits, features = self._session.run(["logits", "features"], feed)
        return np.asarray(logits, np.float32), np.asarray(features, np.float32)

    def classify(self, batch: npt.NDArray[np.float32], top_k: int) -> list[Prediction]:
        """Top-k labels (softmax over all 1000 classes) and the feature vector per image."""
        if len(batch) == 0:
            return []
        logits, features = self.run(batch)
        rows = top_labels(logits, top_k)
        return [Prediction(row, feat) for row, feat in zip(rows, features, strict=True)]

    def predict(self, batch: npt.NDArray[np.float32], top_k: int) -> list[list[Label]]:
        """Top-k labels per image."""
        return [p.labels for p in self.classify(batch, top_k)]
