"""Multinomial logistic regression in numpy: the custom-class head's learner.

Why not scikit-learn: the daemon only needs ``probabilities`` (one matrix product), and
training sees at most a few hundred rows, so a small accelerated gradient method is
enough and keeps scikit-learn out of the lean install. The objective is scikit-learn's
``LogisticRegression(C=..., class_weight="balanced")`` one (L2 on the coefficients, not on
the intercepts), so its documentation describes what ``C`` means here; tests check both
agree on real embeddings.

Why the kernel form: with L2 on the coefficients and gradient steps started from zero,
the coefficients stay a combination of the training rows (``coef = A @ x``), so every
step can be taken on the rows' Gram matrix (n x n) instead of the features (n x ~3000):
the same iterates, ~6x faster for the 50-odd examples ``learn`` sees. It also makes
leave-one-out cheap: dropping a row is setting its weight to zero, and all the
left-out fits run as one batch (``held_out_probabilities``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SoftmaxModel", "fit_softmax", "held_out_probabilities", "probabilities"]

Matrix = npt.NDArray[np.float32]
Float64 = npt.NDArray[np.float64]
MAX_STEPS = 3000
TOLERANCE = 1e-6  # on the gradient's largest entry, relative to the objective's scale
BATCH_CELLS = 4_000_000  # left-out fits per batch: at most this many Gram-matrix cells


@dataclass(frozen=True)
class SoftmaxModel:
    coef: Matrix  # (classes, features)
    intercept: Matrix  # (classes,)


def probabilities(model: SoftmaxModel, x: Matrix) -> Matrix:
    """Class probabilities for each row of ``x``."""
    logits = np.atleast_2d(x).astype(np.float64) @ model.coef.T.astype(np.float64)
    logits += model.intercept.astype(np.float64)
    return np.asarray(_softmax(logits), np.float32)


def fit_softmax(x: Matrix, y: Sequence[int], n_classes: int, *, c: float = 10.0) -> SoftmaxModel:
    """Fit on rows ``x`` with class indices ``y``; classes weighted to equal total weight."""
    xs = np.atleast_2d(x).astype(np.float64)
    dual, bias = _fit_many(xs @ xs.T, np.asarray(y, np.int64), n_classes, np.ones((1, len(xs))), c)
    return SoftmaxModel((dual[0] @ xs).astype(np.float32), bias[0].astype(np.float32))


def held_out_probabilities(
    x: Matrix, y: Sequence[int], n_classes: int, groups: Sequence[int], *, c: float = 10.0
) -> Matrix:
    """Per row, the class probabilities given by a model fitted without that row's group
    (leave-one-out when every row is its own group; a photo and its mirror image share
    one). The same objective as ``fit_softmax``, the balanced weights recomputed per fit."""
    xs = np.atleast_2d(x).astype(np.float64)
    kernel = xs @ xs.T
    labels = np.asarray(y, np.int64)
    group_of = np.asarray(groups)
    names = np.unique(group_of)
    out = np.zeros((len(xs), n_classes), np.float32)
    per_batch = max(1, BATCH_CELLS // max(1, len(xs) ** 2))
    for start in range(0, len(names), per_batch):
        chunk = names[start : start + per_batch]
        masks = (group_of[None, :] != chunk[:, None]).astype(np.float64)
        dual, bias = _fit_many(kernel, labels, n_classes, masks, c)
        for k, name in enumerate(chunk):
            rows = group_of == name
            out[rows] = _softmax(kernel[rows] @ dual[k].T + bias[k])
    return out


def _softmax(logits: Float64) -> Float64:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return np.asarray(e / e.sum(axis=-1, keepdims=True), np.float64)


def _fit_many(
    kernel: Float64, labels: npt.NDArray[np.int64], n_classes: int, masks: Float64, c: float
) -> tuple[Float64, Float64]:
    """One fit per row of ``masks`` (1: the row is used, 0: left out), all on the same Gram
    matrix: FISTA on the dual coefficients. Returns (fits, classes, rows) dual coefficients
    and (fits, classes) intercepts."""
    n = len(labels)
    target = np.zeros((n, n_classes))
    target[np.arange(n), labels] = 1.0
    counts = masks @ target  # (fits, classes)
    present = (counts > 0).sum(axis=1, keepdims=True)
    used = masks.sum(axis=1, keepdims=True)
    own_count = np.maximum(counts[:, labels], 1.0)
    weighted = c * masks * used / (present * own_count)  # scikit-learn's "balanced", times C
    # Lipschitz bound of the gradient: the softmax Hessian is at most 1/2 per sample; the
    # largest weights of any fit bound every fit's (a PSD matrix scaled down shrinks)
    root = np.sqrt(weighted.max(axis=0))
    lipschitz = 1.0 + 0.5 * float(np.linalg.eigvalsh((kernel + 1.0) * np.outer(root, root))[-1])
    step = 1.0 / lipschitz

    def gradient(params: Float64) -> Float64:
        dual, bias = params[:, :, :n], params[:, :, n]
        p = _softmax(np.einsum("ij,fcj->fic", kernel, dual) + bias[:, None, :])
        residual = (p - target[None]) * weighted[:, :, None]
        grad = np.empty_like(params)
        grad[:, :, :n] = dual + residual.transpose(0, 2, 1)
        grad[:, :, n] = residual.sum(axis=1)
        return grad

    params = np.zeros((len(masks), n_classes, n + 1))
    previous, momentum_point, t = params, params, 1.0
    scale = np.maximum(1.0, weighted.sum(axis=1))[:, None, None]
    for _ in range(MAX_STEPS):
        grad = gradient(momentum_point)
        params = momentum_point - step * grad
        if float((np.abs(grad) / scale).max()) < TOLERANCE:
            break
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        momentum_point = params + ((t - 1) / t_next) * (params - previous)
        previous, t = params, t_next
    return params[:, :, :n], params[:, :, n]
