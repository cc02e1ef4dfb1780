"""The numpy logistic regression: the same model scikit-learn fits, on real embeddings."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from resnet_watch.head_input import head_input
from resnet_watch.learn import embed_samples
from resnet_watch.models.photos import ai_benchmark_photos
from resnet_watch.softmax_regression import fit_softmax, held_out_probabilities, probabilities
from tests.fixtures_models import effnet_classifier
from tests.test_learn import segmentation_cats, street_scenes

__all__ = ["effnet_classifier"]


def test_probabilities_match_scikit_learn_on_real_photos(effnet_classifier: Any) -> None:
    """Same objective (C, balanced weights, unpenalized intercept): probabilities on
    held-out real photos agree with scikit-learn's LogisticRegression within 0.02."""
    groups = [segmentation_cats()[:10], street_scenes()[:10], ai_benchmark_photos()[40:55]]
    x = np.concatenate(
        [head_input(embed_samples(effnet_classifier, g, suffix=None)) for g in groups]
    )
    y = [k for k, g in enumerate(groups) for _ in g]
    held = head_input(
        embed_samples(
            effnet_classifier, segmentation_cats()[10:] + ai_benchmark_photos()[60:65], suffix=None
        )
    )
    ours = probabilities(fit_softmax(x, y, 3, c=10.0), held)
    theirs = LogisticRegression(C=10.0, class_weight="balanced", max_iter=5000)
    theirs.fit(x, y)
    assert np.abs(ours - theirs.predict_proba(held)).max() < 0.02
    assert (ours.argmax(axis=1) == theirs.predict(held)).all()


def test_a_class_index_without_rows_does_not_break_the_fit() -> None:
    """A class index with no rows still fits: the present classes separate and the
    probabilities sum to one."""
    x = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
    model = fit_softmax(x, [0, 0, 2, 2], 3)
    p = probabilities(model, np.array([[1, 0], [0, 1]], np.float32))
    assert np.allclose(p.sum(axis=1), 1) and p[0].argmax() == 0 and p[1].argmax() == 2


def test_held_out_probabilities_are_those_of_a_model_fitted_without_the_row() -> None:
    """Leave-one-out in one batch gives each row what a refit without it gives; rows that
    share a group (a photo and its mirror image) are left out together."""
    rng = np.random.default_rng(4)
    x = np.abs(rng.normal(0, 1, (18, 12))).astype(np.float32)
    x[:6, :4] += 2
    x[6:12, 4:8] += 2
    y = [0] * 6 + [1] * 6 + [2] * 6
    held = held_out_probabilities(x, y, 3, list(range(18)), c=10.0)
    for row in (0, 7, 17):
        keep = np.arange(18) != row
        refit = fit_softmax(x[keep], [y[i] for i in np.flatnonzero(keep)], 3, c=10.0)
        assert np.abs(probabilities(refit, x[row : row + 1])[0] - held[row]).max() < 1e-3
    pairs = held_out_probabilities(x, y, 3, [i // 2 for i in range(18)], c=10.0)
    keep = np.arange(18) // 2 != 3
    refit = fit_softmax(x[keep], [y[i] for i in np.flatnonzero(keep)], 3, c=10.0)
    assert np.abs(probabilities(refit, x[6:8]) - pairs[6:8]).max() < 1e-3
