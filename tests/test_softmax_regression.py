"""The numpy logistic regression: the same model scikit-learn fits, on real embeddings."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from resnet_watch.head_input import head_input
from resnet_watch.learn import embed_samples
from resnet_watch.models.photos import ai_benchmark_photos
from resnet_watch.softmax_regression import fit_softmax, probabilities
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
