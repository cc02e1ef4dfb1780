"""The compact embedding kept in each sidecar: a model's pooled feature vector as int8.

Why int8 with one scale per vector: custom classes and near-duplicates only ever compare
directions (cosine), and 8 bits keep cosine to ~1e-4 of float32 while a 1280-value vector
costs 1.7 kB of base64 instead of 6.8 kB (float32) or 3.4 kB (float16). The record names
the model and weights that made it: vectors from two models are not comparable, so a
consumer checks ``matches(model)`` before using one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from resnet_watch.models.spec import ModelInfo

__all__ = ["ENCODING", "Embedding", "cosine_matrix", "decode", "encode", "normalize"]

ENCODING = "int8"
Vector = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Embedding:
    """One image's feature vector, tagged with the model that made it."""

    model: str
    weights_sha256: str
    vector: Vector

    def matches(self, model: str, weights_sha256: str) -> bool:
        """True when this vector is comparable with ones ``model``/``weights_sha256`` make."""
        return self.model == model and self.weights_sha256 == weights_sha256


def encode(features: Vector, model: ModelInfo) -> dict[str, Any]:
    """The sidecar's ``embedding`` field for ``features``."""
    values = np.asarray(features, np.float32).reshape(-1)
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    scale = peak / 127.0 if peak > 0 else 1.0
    quantized = np.clip(np.rint(values / scale), -127, 127).astype(np.int8)
    return {
        "model": model.name,
        "weights_sha256": model.weights_sha256,
        "dim": int(values.size),
        "encoding": ENCODING,
        "scale": float(np.float32(scale)),
        "data": base64.b64encode(quantized.tobytes()).decode("ascii"),
    }


def decode(field: Any) -> Embedding | None:
    """The embedding in a sidecar's ``embedding`` field; None when absent or malformed."""
    if not isinstance(field, Mapping) or field.get("encoding") != ENCODING:
        return None
    try:
        raw = base64.b64decode(str(field["data"]), validate=True)
        scale = float(field["scale"])
        dim = int(field["dim"])
        model, sha = str(field["model"]), str(field["weights_sha256"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    if len(raw) != dim or dim == 0 or not np.isfinite(scale):
        return None
    vector = np.frombuffer(raw, np.int8).astype(np.float32) * np.float32(scale)
    return Embedding(model, sha, vector)


def normalize(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Rows scaled to unit length (zero rows stay zero)."""
    matrix = np.atleast_2d(np.asarray(vectors, np.float32))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, 1e-12), np.float32)


def cosine_matrix(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> Vector:
    """Cosine similarity of every row of ``a`` with every row of ``b``."""
    return np.asarray(normalize(a) @ normalize(b).T, np.float32)
