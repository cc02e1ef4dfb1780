"""What a custom-class head sees of one image: its embedding and its ImageNet labels.

Two parts, both read from what a sidecar already holds, so re-tagging needs no model:

- the embedding, square-rooted (post-ReLU activations: a few large values dominate cosine
  otherwise) and scaled to unit length: what the photo looks like;
- the WordNet ancestry of the model's top labels, each ancestor weighted by the summed
  probability of the labels under it (``PROBABILITY_MASS``; heads learned before v0.3's
  calibration used its square root, ``ROOT_MASS``, and keep it): what kind of thing it
  is. "Wild mammals" from ten examples (a zebra, a bear, a lynx) share no look but share
  ``placental.n.01``; ten examples cannot teach that from the embedding alone
  (``learn --evaluate`` measures it).

The semantic part is scaled by ``SEMANTIC_WEIGHT`` before the two are joined and the row is
put to unit length again; the weight and the mass were chosen on random re-draws of the
packaged evaluation (README, "Your own categories"). With per-class thresholds below 0.5
the plain mass found more cats than its square root (seed-0 re-draws: 85.0% against 82.0%
recall, 95.6% against 97.9% precision); 6 of the 30 packaged cats have no cat among their
top labels (a cat in a sink is a *washbasin*).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from resnet_watch.embedding import normalize
from resnet_watch.taxonomy import load_taxonomy

__all__ = [
    "PROBABILITY_MASS",
    "ROOT_MASS",
    "SEMANTIC_TOP",
    "SEMANTIC_WEIGHT",
    "LabelScores",
    "Samples",
    "as_samples",
    "head_input",
    "labels_from_record",
    "prepare",
    "semantic",
    "vocabulary_sha256",
]

Matrix = npt.NDArray[np.float32]
LabelScores = tuple[tuple[int, float], ...]  # (ImageNet index, probability), best first
SEMANTIC_TOP = 5  # labels per image that count (the sidecar's default model.top_k)
SEMANTIC_WEIGHT = 0.3
PROBABILITY_MASS = "probability"  # each ancestor: the summed probability of its labels
ROOT_MASS = "sqrt"  # its square root (heads learned before v0.3's calibration)


@dataclass(frozen=True)
class Samples:
    """Embeddings (one row per image) and, per row, the model's top labels."""

    vectors: Matrix
    labels: tuple[LabelScores, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.labels and len(self.labels) != len(np.atleast_2d(self.vectors)):
            raise ValueError("one label list per embedding row")

    def __len__(self) -> int:
        return len(np.atleast_2d(self.vectors))

    def label_rows(self) -> tuple[LabelScores, ...]:
        """Labels per row; empty tuples when the samples came without labels."""
        return self.labels or tuple(() for _ in range(len(self)))

    def take(self, rows: Sequence[int]) -> Samples:
        """The samples at ``rows``, each embedding with its own labels."""
        index = list(rows)
        labels = tuple(self.labels[i] for i in index) if self.labels else ()
        return Samples(np.atleast_2d(self.vectors)[index], labels)


def as_samples(value: Samples | Matrix) -> Samples:
    """Embeddings given alone (no labels) as Samples; Samples as they are."""
    return value if isinstance(value, Samples) else Samples(np.atleast_2d(value))


def prepare(vectors: Matrix) -> Matrix:
    """Square root (of the non-negative part), then unit length."""
    return normalize(np.sqrt(np.maximum(np.atleast_2d(vectors), 0.0)).astype(np.float32))


@functools.cache
def _vocabulary() -> tuple[dict[str, int], tuple[tuple[int, ...], ...]]:
    """Column of each WordNet synset, and the columns each ImageNet class rolls up to."""
    taxonomy = load_taxonomy()
    names = sorted({a for i in range(len(taxonomy)) for a in taxonomy.ancestors(i)})
    column = {name: j for j, name in enumerate(names)}
    per_class = tuple(
        tuple(sorted(column[a] for a in taxonomy.ancestors(i))) for i in range(len(taxonomy))
    )
    return column, per_class


def vocabulary_sha256() -> str:
    """Identifies the synset columns: a head learned on other columns must be re-learned."""
    column, _ = _vocabulary()
    return hashlib.sha256("\n".join(sorted(column)).encode()).hexdigest()


def semantic(
    labels: Sequence[LabelScores], top: int = SEMANTIC_TOP, mass: str = PROBABILITY_MASS
) -> Matrix:
    """Per image: the probability mass under each synset (``ROOT_MASS``: its square root),
    from its ``top`` labels (rows of zeros for images without labels)."""
    column, per_class = _vocabulary()
    out = np.zeros((len(labels), len(column)), np.float32)
    for row, pairs in enumerate(labels):
        for index, score in pairs[:top]:
            if 0 <= index < len(per_class):
                out[row, list(per_class[index])] += np.float32(max(0.0, score))
    return np.sqrt(out) if mass == ROOT_MASS else out


def head_input(
    samples: Samples, weight: float = SEMANTIC_WEIGHT, mass: str = PROBABILITY_MASS
) -> Matrix:
    """The rows a head is trained on and applied to (unit length)."""
    looks = prepare(samples.vectors)
    if weight <= 0:
        return looks
    kinds = semantic(samples.label_rows(), mass=mass)
    return normalize(np.hstack([looks, np.float32(weight) * kinds]))


def labels_from_record(record: Mapping[str, Any]) -> LabelScores:
    """The (index, probability) pairs of a sidecar record's labels, best first."""
    out: list[tuple[int, float]] = []
    for label in record.get("labels") or []:
        try:
            out.append((int(label["index"]), float(label["score"])))
        except (KeyError, TypeError, ValueError):
            continue
    return tuple(sorted(out, key=lambda pair: -pair[1]))
