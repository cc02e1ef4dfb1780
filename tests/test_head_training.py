"""Fitting a head: the per-class thresholds calibrated by leave-one-out."""

from __future__ import annotations

import numpy as np

from resnet_watch.head_training import (
    LOWEST,
    PROBABILITY,
    fit_logistic,
    leave_one_out,
    logistic_decisions,
    logistic_decisions_from,
    loo_thresholds,
)


def held_out(
    own: dict[int, list[float]], others: dict[int, list[float]]
) -> tuple[np.ndarray, np.ndarray]:
    """A probability table for 2 classes + _none, 10 photos each: column k holds ``own[k]``
    for class k's photos and ``others[k]`` (then 0.05s) for everyone else's."""
    y = np.repeat([0, 1, 2], 10)
    probs = np.full((30, 3), 0.05, np.float32)
    for k in (0, 1):
        probs[y == k, k] = own[k]
        rest = np.flatnonzero(y != k)
        probs[rest[: len(others[k])], k] = others[k]
    return probs, y


def test_a_sure_class_keeps_half_and_an_unsure_one_gets_a_lower_bar() -> None:
    """Examples that look alike keep 0.5; a class whose unseen examples get low
    probabilities gets a lower threshold, but not below the second most class-like
    photo of another class (one outlier is forgiven)."""
    unsure = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.7, 0.8, 0.8, 0.9]
    probs, y = held_out({0: [0.9] * 10, 1: unsure}, {0: [0.2], 1: [0.6, 0.38]})
    sure, lowered = loo_thresholds(probs, y, 2)
    assert sure == PROBABILITY
    assert lowered == 0.38


def test_the_bar_never_drops_below_the_lowest_threshold() -> None:
    """However unsure a class's examples, the threshold stays at LOWEST or above."""
    probs, y = held_out({0: [0.9] * 10, 1: [0.1] * 5 + [0.9] * 5}, {0: [], 1: []})
    assert loo_thresholds(probs, y, 2)[1] == LOWEST


def test_a_class_below_half_is_given_even_when_none_is_likelier() -> None:
    """The most likely class reaching its own threshold is given, even if _none has more
    probability; below its threshold, nothing."""
    probs = np.array([[0.1, 0.4, 0.5], [0.1, 0.3, 0.6], [0.6, 0.1, 0.3]], np.float32)
    assert logistic_decisions_from(probs, (0.5, 0.35)) == [1, -1, 0]


def test_calibration_finds_more_of_a_scattered_class_and_still_rejects() -> None:
    """A class whose examples share little (each photo mostly its own look, like cats in
    clutter) gets a threshold under 0.5 and finds many more of its new photos than 0.5
    would, while new photos of none of the classes are still rejected (>= 90%); a class
    whose examples look alike keeps 0.5."""
    rng = np.random.default_rng(0)
    dim = 300

    def unit(x: np.ndarray) -> np.ndarray:
        return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)

    centers = [unit(np.abs(rng.normal(0, 1, dim))) for _ in range(3)]

    def scattered(center: np.ndarray, n: int) -> np.ndarray:
        own_look = unit(np.abs(rng.normal(0, 1, (n, dim))) ** 4)
        return unit(0.35 * center + own_look)

    alike = unit(centers[0] + rng.normal(0, 0.02, (10, dim)))
    groups = [alike, scattered(centers[1], 10)]
    negatives = scattered(centers[2], 15)
    cal, probs = leave_one_out(groups, negatives)
    assert cal.thresholds[0] == PROBABILITY and cal.thresholds[1] < PROBABILITY
    assert len(cal.positive_hits) == 20 and len(cal.negative_rejected) == 15
    assert probs.shape == (35, 3)
    model = fit_logistic(groups, negatives)
    new_members, new_others = scattered(centers[1], 200), scattered(centers[2], 200)

    def share(x: np.ndarray, thresholds: tuple[float, ...], wanted: int) -> float:
        return float(np.mean(np.array(logistic_decisions(model, x, thresholds)) == wanted))

    found = share(new_members, cal.thresholds, 1)
    assert found >= share(new_members, (PROBABILITY, PROBABILITY), 1) + 0.1
    assert share(new_others, cal.thresholds, -1) >= 0.9
