"""Fitting a custom-class head: nearest centroid (no negatives) or logistic regression.

Nearest centroid, with a threshold per class from leave-one-out (each example against its
class centroid computed without it, each ``_none`` negative against every centroid), is what
a few examples and no negatives can support. With a ``_none`` folder the head is logistic
regression with ``_none`` as one more class, on embedding + label ancestry
(``head_input``): measured better on broad classes ("wild mammals") and at rejecting
photos of none of the classes (README, "Your own categories"). A class is given when its
probability reaches its threshold, calibrated by leave-one-out between ``LOWEST`` and
``PROBABILITY`` (``loo_thresholds`` says how). The settings were chosen on seed-0 re-draws
of ``learn --evaluate``'s photos.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from resnet_watch.embedding import normalize
from resnet_watch.softmax_regression import (
    SoftmaxModel,
    fit_softmax,
    held_out_probabilities,
    probabilities,
)

__all__ = [
    "FOLDS",
    "PROBABILITY",
    "C",
    "Calibration",
    "calibrate",
    "centroids",
    "fit_logistic",
    "leave_one_out",
    "logistic_decisions",
    "logistic_decisions_from",
    "loo_thresholds",
]

Matrix = npt.NDArray[np.float32]
RECALL_QUANTILE = 0.0  # the least typical example still counts (10 examples: quantiles are noisy)
NEGATIVE_QUANTILE = 0.95  # with negatives: reject at least ~95% of them
C = 10.0  # inverse L2 strength; 3..30 measured, 10 in the middle of the plateau
PROBABILITY = 0.5  # a logistic class's highest threshold: more likely than all else together
LOWEST = 0.3  # ... and its lowest, however unsure its own examples are
KEEP_QUANTILE = 0.1  # the share of a class's examples a threshold may leave out
OUTLIERS = 1  # other training photos a threshold may let through (the most class-like)
LOO_MAX = 120  # more training photos than this: FOLDS folds instead of leave-one-out (time)
FOLDS = 10


@dataclass(frozen=True)
class Calibration:
    """Leave-one-out figures the thresholds were chosen from (also in the manifest)."""

    thresholds: tuple[float, ...]  # per class
    positive_hits: tuple[bool, ...]  # each example: own class best and above its threshold
    negative_rejected: tuple[bool, ...]  # each _none example: below every class threshold
    separable: bool  # False when keeping 95% of negatives out costs more than 20% recall
    kind: str = "leave-one-out"  # or "10 folds" for many photos (leave_one_out)

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


def fit_logistic(groups: Sequence[Matrix], negatives: Matrix, *, c: float = C) -> SoftmaxModel:
    """Softmax regression on head-input rows: one class per group, ``_none`` last."""
    x = np.concatenate([*groups, negatives])
    y = [k for k, g in enumerate(groups) for _ in range(len(g))] + [len(groups)] * len(negatives)
    return fit_softmax(x, y, len(groups) + 1, c=c)


def logistic_decisions(model: SoftmaxModel, x: Matrix, thresholds: Sequence[float]) -> list[int]:
    """Per row of head input: the class index given, or -1 (as ``Head.match``)."""
    return logistic_decisions_from(probabilities(model, x), thresholds)


def leave_one_out(
    groups: Sequence[Matrix], negatives: Matrix, *, c: float = C
) -> tuple[Calibration, Matrix]:
    """Per-class thresholds from leave-one-out: each example and each ``_none`` example is
    judged by a model fitted without it (``LOO_MAX`` photos or fewer; more are split into
    ``FOLDS`` folds). Returns the calibration and those held-out probabilities."""
    rows = [*groups, negatives]
    x = np.concatenate(rows)
    y = np.array([k for k, g in enumerate(rows) for _ in range(len(g))])
    held = np.arange(len(x)) if len(x) <= LOO_MAX else np.arange(len(x)) % FOLDS
    probs = held_out_probabilities(x, y.tolist(), len(rows), held.tolist(), c=c)
    thresholds = loo_thresholds(probs, y, len(groups))
    decided = np.array(logistic_decisions_from(probs, thresholds))
    hits = tuple(bool(d == k) for d, k in zip(decided, y, strict=True) if k < len(groups))
    rejected = tuple(bool(d < 0) for d, k in zip(decided, y, strict=True) if k == len(groups))
    recall = sum(hits) / max(1, len(hits))
    separable = recall >= 0.8 and sum(rejected) >= 0.95 * len(rejected)
    kind = "leave-one-out" if len(x) <= LOO_MAX else f"{FOLDS} folds"
    return Calibration(thresholds, hits, rejected, separable, kind), probs


def loo_thresholds(probs: Matrix, y: npt.NDArray[np.int64], n_classes: int) -> tuple[float, ...]:
    """A class's threshold: low enough to keep all but its least typical examples
    (``KEEP_QUANTILE`` of their held-out probabilities), high enough that no other
    training photo but the single most class-like one gets the class, within
    [``LOWEST``, ``PROBABILITY``] (pure).

    Why per class: a class whose examples share a look (birds) gets high probabilities
    and keeps 0.5; one photographed in clutter (cats in sinks, under cars) gets low
    ones for its own unseen examples, and a lower bar is what finds such photos. One
    outlier among the other photos is forgiven (a lynx among the wild mammals looks like
    a cat to the model), two are not."""
    out = []
    for k in range(n_classes):
        own = probs[y == k, k]
        others = np.sort(probs[y != k, k])[::-1]
        bar = float(others[OUTLIERS]) if len(others) > OUTLIERS else 0.0
        keep = float(np.quantile(own, KEEP_QUANTILE)) if len(own) else PROBABILITY
        out.append(round(min(PROBABILITY, max(LOWEST, bar, keep)), 4))
    return tuple(out)


def logistic_decisions_from(probs: Matrix, thresholds: Sequence[float]) -> list[int]:
    """Per row of class probabilities (``_none`` last): the class given, or -1. The most
    likely of the classes is given when it reaches its threshold, even below ``_none``'s
    probability (a threshold under 0.5 is the calibration's doing)."""
    classes = np.asarray(probs)[:, : len(thresholds)]
    best = classes.argmax(axis=1)
    keep = classes[np.arange(len(best)), best] >= np.asarray(thresholds)[best]
    return [int(b) if ok else -1 for b, ok in zip(best, keep, strict=True)]
