"""Fitting a custom-class head: nearest centroid (no negatives) or logistic regression.

Nearest centroid, with a threshold per class from leave-one-out (each example against its
class centroid computed without it, each ``_none`` negative against every centroid), is what
a few examples and no negatives can support. With a ``_none`` folder the head is logistic
regression with ``_none`` as one more class, on embedding + label ancestry
(``head_input``): measured better on broad classes ("wild mammals") and at rejecting
photos of none of the classes (README, "Your own categories"). A class is given when its
probability reaches ``PROBABILITY`` (0.5: more likely than everything else together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from resnet_watch.embedding import normalize
from resnet_watch.softmax_regression import SoftmaxModel, fit_softmax, probabilities

__all__ = [
    "FOLDS",
    "PROBABILITY",
    "C",
    "Calibration",
    "calibrate",
    "centroids",
    "cross_validate",
    "fit_logistic",
    "logistic_decisions",
]

Matrix = npt.NDArray[np.float32]
RECALL_QUANTILE = 0.0  # the least typical example still counts (10 examples: quantiles are noisy)
NEGATIVE_QUANTILE = 0.95  # with negatives: reject at least ~95% of them
C = 10.0  # inverse L2 strength; 3..30 measured, 10 in the middle of the plateau
PROBABILITY = 0.5
FOLDS = 5


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


def centroids(groups: Sequence[Matrix]) -> Matrix:
    return normalize(np.stack([g.mean(axis=0) for g in groups]))


def calibrate(groups: Sequence[Matrix], negatives: Matrix | None = None) -> Calibration:
    """Leave-one-out scores and a threshold per class for ``groups`` (prepared vectors)."""
    sums = [g.sum(axis=0) for g in groups]
    full = centroids(groups)
    own: list[list[float]] = []
    best_is_own: list[list[bool]] = []
    for k, members in enumerate(groups):
        scores, wins = [], []
        for row in members:
            loo_centroids = full.copy()
            if len(members) > 1:
                loo_centroids[k] = normalize(sums[k] - row)[0]
            cos = loo_centroids @ row
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


def fit_logistic(groups: Sequence[Matrix], negatives: Matrix) -> SoftmaxModel:
    """Softmax regression on head-input rows: one class per group, ``_none`` last."""
    x = np.concatenate([*groups, negatives])
    y = [k for k, g in enumerate(groups) for _ in range(len(g))] + [len(groups)] * len(negatives)
    return fit_softmax(x, y, len(groups) + 1, c=C)


def logistic_decisions(model: SoftmaxModel, x: Matrix, thresholds: Sequence[float]) -> list[int]:
    """Per row: the class index given, or -1 (``_none`` most likely, or no class sure enough)."""
    probs = probabilities(model, x)
    out = []
    for row in probs:
        best = int(np.argmax(row))
        keep = best < len(thresholds) and float(row[best]) >= thresholds[best]
        out.append(best if keep else -1)
    return out


def cross_validate(groups: Sequence[Matrix], negatives: Matrix) -> Calibration:
    """``FOLDS``-fold figures for the logistic head (each row judged by a model that did not
    see it): what the manifest and ``learn`` report in place of leave-one-out."""
    thresholds = tuple(PROBABILITY for _ in groups)
    rows = [*groups, negatives]
    folds = [np.arange(len(g)) % FOLDS for g in rows]  # every group spread over the folds
    decided = [np.full(len(g), -1) for g in rows]
    for fold in range(FOLDS):
        train = [g[f != fold] for g, f in zip(rows, folds, strict=True)]
        if any(len(t) == 0 for t in train):
            continue
        model = fit_logistic(train[:-1], train[-1])
        for k, (g, f) in enumerate(zip(rows, folds, strict=True)):
            if np.any(f == fold):
                decided[k][f == fold] = logistic_decisions(model, g[f == fold], thresholds)
    hits = tuple(bool(d == k) for k in range(len(groups)) for d in decided[k])
    rejected = tuple(bool(d < 0) for d in decided[-1])
    recall = sum(hits) / max(1, len(hits))
    separable = recall >= 0.8 and sum(rejected) >= 0.95 * len(rejected)
    return Calibration(thresholds, hits, rejected, separable)
