"""A custom-class head: nearest centroid on power-normalized, unit-length embeddings, with
an open-set threshold per class, saved as one small JSON file with its manifest.

Why nearest centroid: with 5-50 examples per class it has nothing to overfit and trains in
microseconds; ``resnet-watch learn --evaluate`` measured it against logistic regression on
the same photos (README, "Your own categories"). Features are square-rooted first (they are
post-ReLU activations, a few large values dominate cosine otherwise: measured, it helps).

Thresholds come from leave-one-out, per class, because a tight class ("my cat") and a loose
one ("birds") live at different similarities: each example is scored against its class's
centroid computed without it (what a new photo of that class looks like) and each ``_none``
negative against every centroid. A photo below its best class's threshold gets no class.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from resnet_watch import fsutil
from resnet_watch.embedding import normalize
from resnet_watch.errors import HeadError

__all__ = [
    "FORMAT",
    "Calibration",
    "Head",
    "Match",
    "calibrate",
    "load_head",
    "save_head",
    "train_head",
]

FORMAT = "resnet-watch-head"
VERSION = 1
NONE_CLASS = "_none"
RECALL_QUANTILE = 0.0  # the least typical example still counts (10 examples: quantiles are noisy)
NEGATIVE_QUANTILE = 0.95  # with negatives: reject at least ~95% of them
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Match:
    name: str
    score: float  # cosine to the class centroid, -1..1


@dataclass(frozen=True)
class Calibration:
    """Leave-one-out figures the thresholds were chosen from (also in the manifest)."""

    thresholds: tuple[float, ...]  # per class
    positive_hits: tuple[bool, ...]  # each example: own class best and above its threshold
    negative_rejected: tuple[bool, ...]  # each _none example: below every class threshold
    separable: bool  # False when keeping 95% of negatives out costs more than 20% recall

    @property
    def loo_recall(self) -> float:
        return sum(self.positive_hits) / max(1, len(self.positive_hits))

    @property
    def negatives_rejected(self) -> float | None:
        if not self.negative_rejected:
            return None
        return sum(self.negative_rejected) / len(self.negative_rejected)


@dataclass(frozen=True)
class Head:
    """Class names, their unit-length centroids, the threshold and the manifest."""

    classes: tuple[str, ...]
    centroids: Matrix  # (classes, dim), unit rows in the power-normalized space
    thresholds: tuple[float, ...]  # per class, cosine
    model: str
    weights_sha256: str
    examples: Mapping[str, int]
    negatives: int = 0
    created_at: str = ""
    loo: Mapping[str, Any] = field(default_factory=dict)

    def check_model(self, model: str, weights_sha256: str, *, source: str = "the head") -> None:
        """Raise HeadError, saying what to do, when the head belongs to another model."""
        if self.model == model and self.weights_sha256 == weights_sha256:
            return
        raise HeadError(
            f"{source} was learned with {self.model} (weights {self.weights_sha256[:12]}) "
            f"but the model in use is {model} (weights {weights_sha256[:12]}): its classes "
            "would be meaningless; run `resnet-watch learn` again on your example folders"
        )

    def scores(self, vectors: Matrix) -> Matrix:
        """Cosine of each row of ``vectors`` with each class centroid."""
        return np.asarray(prepare(vectors) @ self.centroids.T, np.float32)

    def match(self, vector: Matrix) -> Match | None:
        """The best class for one embedding, or None when below that class's threshold."""
        row = self.scores(vector)[0]
        best = int(np.argmax(row))
        score = float(row[best])
        return Match(self.classes[best], score) if score >= self.thresholds[best] else None


def prepare(vectors: Matrix) -> Matrix:
    """Square root (of the non-negative part), then unit length: the space heads work in."""
    return normalize(np.sqrt(np.maximum(np.atleast_2d(vectors), 0.0)).astype(np.float32))


def _centroids(groups: Sequence[Matrix]) -> Matrix:
    return normalize(np.stack([g.mean(axis=0) for g in groups]))


def calibrate(groups: Sequence[Matrix], negatives: Matrix | None = None) -> Calibration:
    """Leave-one-out scores and a threshold per class for ``groups`` (prepared vectors)."""
    sums = [g.sum(axis=0) for g in groups]
    full = _centroids(groups)
    own: list[list[float]] = []
    best_is_own: list[list[bool]] = []
    for k, members in enumerate(groups):
        scores, wins = [], []
        for row in members:
            centroids = full.copy()
            if len(members) > 1:
                centroids[k] = normalize(sums[k] - row)[0]
            cos = centroids @ row
            scores.append(float(cos[k]))
            wins.append(int(np.argmax(cos)) == k)
        own.append(scores)
        best_is_own.append(wins)
    negative = full @ negatives.T if negatives is not None and len(negatives) else None
    thresholds, separable = [], True
    for k, scores in enumerate(own):
        keep = float(np.quantile(scores, RECALL_QUANTILE))
        if negative is None:
            thresholds.append(keep)
            continue
        reject = float(np.quantile(negative[k], NEGATIVE_QUANTILE))
        separable = separable and reject <= float(np.quantile(scores, 0.2))
        # both satisfied: stay between them; else rejecting wins (a wrong tag is worse)
        thresholds.append((reject + keep) / 2 if reject <= keep else reject + 1e-4)
    hits = tuple(
        win and score >= thresholds[k]
        for k in range(len(groups))
        for score, win in zip(own[k], best_is_own[k], strict=True)
    )
    rejected: tuple[bool, ...] = ()
    if negative is not None:
        limits = np.array(thresholds, np.float32)[:, None]
        below = np.min(limits - negative, axis=0) > 0
        rejected = tuple(bool(x) for x in np.atleast_1d(below).tolist())
    return Calibration(tuple(round(t, 6) for t in thresholds), hits, rejected, separable)


def train_head(
    examples: Mapping[str, Matrix],
    *,
    model: str,
    weights_sha256: str,
    negatives: Matrix | None = None,
) -> tuple[Head, Calibration]:
    """Fit centroids for each class in ``examples`` and calibrate the threshold."""
    names = tuple(sorted(examples))
    if not names:
        raise HeadError("no classes: make one folder of example photos per class")
    groups = [prepare(np.asarray(examples[n], np.float32)) for n in names]
    cal = calibrate(groups, None if negatives is None else prepare(negatives))
    loo = {"recall": round(cal.loo_recall, 4), "separable": cal.separable}
    if cal.negatives_rejected is not None:
        loo["negatives_rejected"] = round(cal.negatives_rejected, 4)
    head = Head(
        classes=names,
        centroids=_centroids(groups),
        thresholds=cal.thresholds,
        model=model,
        weights_sha256=weights_sha256,
        examples={n: len(g) for n, g in zip(names, groups, strict=True)},
        negatives=0 if negatives is None else len(negatives),
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        loo=loo,
    )
    return head, cal


def save_head(head: Head, path: Path) -> None:
    """Write the head atomically (a daemon may be reading it on SIGHUP)."""
    centroids = np.ascontiguousarray(head.centroids, "<f4")
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "classes": list(head.classes),
        "model": {"name": head.model, "weights_sha256": head.weights_sha256},
        "method": "nearest-centroid-cosine-sqrt",
        "thresholds": dict(zip(head.classes, head.thresholds, strict=True)),
        "examples": dict(head.examples),
        "negatives": head.negatives,
        "created_at": head.created_at,
        "leave_one_out": dict(head.loo),
        "dim": int(centroids.shape[1]),
        "centroids": base64.b64encode(centroids.tobytes()).decode("ascii"),
    }
    data = json.dumps(doc, indent=2).encode() + b"\n"
    try:
        fsutil.atomic_write_bytes(path, data, 0o644)
    except OSError as exc:
        raise HeadError(f"cannot write the head file {path}: {exc.strerror or exc}") from None


def load_head(path: Path) -> Head:
    """Read a head file; HeadError names the file and what is wrong with it."""
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise HeadError(f"{path}: no such head file (make one with `resnet-watch learn`)") from None
    except (OSError, ValueError) as exc:
        raise HeadError(f"{path}: not a readable head file: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise HeadError(f"{path}: not a resnet-watch head file")
    if doc.get("version") != VERSION:
        raise HeadError(f"{path}: head version {doc.get('version')!r}, expected {VERSION}")
    try:
        classes = tuple(str(c) for c in doc["classes"])
        dim = int(doc["dim"])
        raw = base64.b64decode(doc["centroids"], validate=True)
        centroids = np.frombuffer(raw, "<f4").astype(np.float32).reshape(len(classes), dim)
        return Head(
            classes=classes,
            centroids=centroids,
            thresholds=tuple(float(doc["thresholds"][c]) for c in classes),
            model=str(doc["model"]["name"]),
            weights_sha256=str(doc["model"]["weights_sha256"]),
            examples={str(k): int(v) for k, v in doc["examples"].items()},
            negatives=int(doc.get("negatives", 0)),
            created_at=str(doc.get("created_at", "")),
            loo=dict(doc.get("leave_one_out") or {}),
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise HeadError(f"{path}: damaged head file: {exc}") from None
