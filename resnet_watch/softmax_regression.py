"""Multinomial logistic regression in numpy: the custom-class head's learner.

Why not scikit-learn: the daemon only needs ``probabilities`` (one matrix product), and
training sees at most a few thousand rows, so a small accelerated gradient method is
enough and keeps scikit-learn out of the lean install. The objective is scikit-learn's
``LogisticRegression(C=..., class_weight="balanced")`` one (L2 on the coefficients, not on
the intercepts), so its documentation describes what ``C`` means here; tests check both
agree on real embeddings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SoftmaxModel", "fit_softmax", "probabilities"]

Matrix = npt.NDArray[np.float32]
MAX_STEPS = 3000
TOLERANCE = 1e-6  # on the gradient's largest entry, relative to the objective's scale


@dataclass(frozen=True)
class SoftmaxModel:
    coef: Matrix  # (classes, features)
    intercept: Matrix  # (classes,)


def probabilities(model: SoftmaxModel, x: Matrix) -> Matrix:
    """Class probabilities for each row of ``x``."""
    logits = np.atleast_2d(x).astype(np.float64) @ model.coef.T.astype(np.float64)
    logits += model.intercept.astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return np.asarray(e / e.sum(axis=1, keepdims=True), np.float32)


def fit_softmax(x: Matrix, y: Sequence[int], n_classes: int, *, c: float = 10.0) -> SoftmaxModel:
    """Fit on rows ``x`` with class indices ``y``; classes weighted to equal total weight."""
    xs = np.atleast_2d(x).astype(np.float64)
    labels = np.asarray(y, np.int64)
    n, d = xs.shape
    counts = np.bincount(labels, minlength=n_classes).astype(np.float64)
    present = counts > 0
    sample_weight = n / (present.sum() * counts[labels])  # scikit-learn's "balanced"
    target = np.zeros((n, n_classes))
    target[np.arange(n), labels] = 1.0
    weighted = c * sample_weight[:, None]
    augmented = np.hstack([xs, np.ones((n, 1))]) * np.sqrt(weighted)
    # Lipschitz bound of the gradient: the softmax Hessian is at most 1/2 per sample
    lipschitz = 1.0 + 0.5 * float(np.linalg.norm(augmented, 2)) ** 2
    step = 1.0 / lipschitz

    def gradient(params: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        coef, bias = params[:, :d], params[:, d]
        logits = xs @ coef.T + bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        residual = (p - target) * weighted
        grad = np.empty_like(params)
        grad[:, :d] = coef + residual.T @ xs
        grad[:, d] = residual.sum(axis=0)
        return grad

    params = np.zeros((n_classes, d + 1))
    previous, momentum_point, t = params, params, 1.0
    scale = max(1.0, float(weighted.sum()))
    for _ in range(MAX_STEPS):
        grad = gradient(momentum_point)
        params = momentum_point - step * grad
        if float(np.abs(grad).max()) < TOLERANCE * scale:
            break
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        momentum_point = params + ((t - 1) / t_next) * (params - previous)
        previous, t = params, t_next
    return SoftmaxModel(params[:, :d].astype(np.float32), params[:, d].astype(np.float32))
