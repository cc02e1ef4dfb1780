"""A custom-class head: the classes learned from example folders, saved as one small JSON
file with its manifest, and applied to one image's embedding and labels.

Two kinds (``head_training`` says why each): logistic regression on embedding + label
ancestry when the user gave ``_none`` examples, nearest centroid on the embedding when not.
File format version 2 names the kind; version-1 files (nearest centroid, v0.2) still load.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from resnet_watch import fsutil
from resnet_watch.errors import HeadError
from resnet_watch.head_input import (
    PROBABILITY_MASS,
    ROOT_MASS,
    SEMANTIC_TOP,
    SEMANTIC_WEIGHT,
    LabelScores,
    Samples,
    as_samples,
    head_input,
    prepare,
    vocabulary_sha256,
)
from resnet_watch.head_training import (
    Calibration,
    calibrate,
    centroids,
    fit_logistic,
    leave_one_out,
)
from resnet_watch.softmax_regression import SoftmaxModel, probabilities

__all__ = [
    "CENTROID",
    "FORMAT",
    "LOGISTIC",
    "MIN_NEGATIVES",
    "NONE_CLASS",
    "Calibration",
    "Head",
    "Match",
    "load_head",
    "prepare",
    "save_head",
    "train_head",
]

FORMAT = "resnet-watch-head"
VERSION = 2  # 1: nearest centroid only (v0.2); 2: adds "method" and the logistic head
NONE_CLASS = "_none"
CENTROID = "nearest-centroid-cosine-sqrt"
LOGISTIC = "logistic-regression"
MIN_NEGATIVES = 5  # fewer _none examples cannot describe "none of these": centroid head
Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Match:
    name: str
    score: float  # centroid: cosine to the class centroid; logistic: probability 0..1


@dataclass(frozen=True)
class Head:
    """Class names, the learned rows, a threshold per class and the manifest.

    ``rows``: unit centroids (one per class) for the centroid head; the coefficients of
    each class then ``_none`` for the logistic head, whose ``intercept`` goes with them."""

    classes: tuple[str, ...]
    rows: Matrix
    thresholds: tuple[float, ...]  # per class: cosine (centroid) or probability (logistic)
    model: str
    weights_sha256: str
    examples: Mapping[str, int]
    negatives: int = 0
    created_at: str = ""
    loo: Mapping[str, Any] = field(default_factory=dict)
    method: str = CENTROID
    intercept: Matrix | None = None
    semantic_weight: float = 0.0
    ancestry: str = PROBABILITY_MASS  # how label ancestry is weighted (head_input)

    def check_model(self, model: str, weights_sha256: str, *, source: str = "the head") -> None:
        """Raise HeadError, saying what to do, when the head belongs to another model."""
        if self.model == model and self.weights_sha256 == weights_sha256:
            return
        raise HeadError(
            f"{source} was learned with {self.model} (weights {self.weights_sha256[:12]}) "
            f"but the model in use is {model} (weights {weights_sha256[:12]}): its classes "
            "would be meaningless; run `resnet-watch learn` again on your example folders"
        )

    def scores(self, samples: Samples) -> Matrix:
        """Per row, each class's score (cosine or probability; no ``_none`` column)."""
        if self.method == LOGISTIC:
            model = SoftmaxModel(self.rows, self._intercept())
            x = head_input(samples, self.semantic_weight, self.ancestry)
            return probabilities(model, x)[:, : len(self.classes)]
        return np.asarray(prepare(samples.vectors) @ self.rows.T, np.float32)

    def match(self, vector: Matrix, labels: LabelScores = ()) -> Match | None:
        """The class for one image (its embedding and, for the logistic head, its top
        labels), or None when no class reaches its own threshold (for the logistic head
        even when ``_none`` is likelier: ``head_training.logistic_decisions_from``)."""
        samples = Samples(np.atleast_2d(vector), (tuple(labels),))
        row = self.scores(samples)[0]
        best = int(np.argmax(row))
        score = float(row[best])
        return Match(self.classes[best], score) if score >= self.thresholds[best] else None

    def _intercept(self) -> Matrix:
        if self.intercept is None:
            return np.zeros(len(self.rows), np.float32)
        return self.intercept


def train_head(
    examples: Mapping[str, Samples | Matrix],
    *,
    model: str,
    weights_sha256: str,
    negatives: Samples | Matrix | None = None,
) -> tuple[Head, Calibration]:
    """Learn the classes in ``examples``: logistic regression when there are at least
    ``MIN_NEGATIVES`` negatives, else nearest centroid; both with per-class thresholds
    from leave-one-out."""
    names = tuple(sorted(examples))
    if not names:
        raise HeadError("no classes: make one folder of example photos per class")
    groups = [as_samples(examples[n]) for n in names]
    none = as_samples(negatives) if negatives is not None and len(negatives) else None
    common: dict[str, Any] = {
        "classes": names,
        "model": model,
        "weights_sha256": weights_sha256,
        "examples": {n: len(g) for n, g in zip(names, groups, strict=True)},
        "negatives": 0 if none is None else len(none),
        "created_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if none is not None and len(none) >= MIN_NEGATIVES:
        inputs = [head_input(g) for g in groups]
        negative_inputs = head_input(none)
        fitted = fit_logistic(inputs, negative_inputs)
        cal, _probs = leave_one_out(inputs, negative_inputs)
        head = Head(
            rows=fitted.coef,
            intercept=fitted.intercept,
            thresholds=cal.thresholds,
            method=LOGISTIC,
            semantic_weight=SEMANTIC_WEIGHT,
            ancestry=PROBABILITY_MASS,
            loo=_figures(cal, logistic=True),
            **common,
        )
        return head, cal
    prepared = [prepare(g.vectors) for g in groups]
    cal = calibrate(prepared, None if none is None else prepare(none.vectors))
    head = Head(rows=centroids(prepared), thresholds=cal.thresholds, loo=_figures(cal), **common)
    return head, cal


def _figures(cal: Calibration, *, logistic: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"recall": round(cal.loo_recall, 4), "separable": cal.separable}
    if cal.negatives_rejected is not None:
        out["negatives_rejected"] = round(cal.negatives_rejected, 4)
    if logistic:
        out["kind"] = cal.kind
    return out


def _b64(matrix: Matrix) -> str:
    return base64.b64encode(np.ascontiguousarray(matrix, "<f4").tobytes()).decode("ascii")


def save_head(head: Head, path: Path) -> None:
    """Write the head atomically (a daemon may be reading it on SIGHUP)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "method": head.method,
        "classes": list(head.classes),
        "model": {"name": head.model, "weights_sha256": head.weights_sha256},
        "thresholds": dict(zip(head.classes, head.thresholds, strict=True)),
        "examples": dict(head.examples),
        "negatives": head.negatives,
        "created_at": head.created_at,
        "leave_one_out": dict(head.loo),
        "dim": int(head.rows.shape[1]),
        "rows": len(head.rows),
        "centroids": _b64(head.rows),  # the name v1 used; logistic: coefficients
    }
    if head.method == LOGISTIC:
        doc["intercept"] = [float(v) for v in head._intercept()]
        doc["input"] = {
            "embedding": "sqrt, unit length",
            "labels": {
                "top": SEMANTIC_TOP,
                "weight": head.semantic_weight,
                "ancestry": head.ancestry,
                "vocabulary_sha256": vocabulary_sha256(),
            },
        }
    data = json.dumps(doc, indent=2).encode() + b"\n"
    try:
        fsutil.atomic_write_bytes(path, data, 0o644)
    except OSError as exc:
        raise HeadError(f"cannot write the head file {path}: {exc.strerror or exc}") from None


def load_head(path: Path) -> Head:
    """Read a head file (version 1 or 2); HeadError names the file and what is wrong."""
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise HeadError(f"{path}: no such head file (make one with `resnet-watch learn`)") from None
    except (OSError, ValueError) as exc:
        raise HeadError(f"{path}: not a readable head file: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise HeadError(f"{path}: not a resnet-watch head file")
    version = doc.get("version")
    if version not in (1, VERSION):
        raise HeadError(
            f"{path}: head version {version!r}; this resnet-watch reads versions 1 and "
            f"{VERSION}: run `resnet-watch learn` again with this version"
        )
    method = str(doc.get("method", CENTROID)) if version == VERSION else CENTROID
    if method not in (CENTROID, LOGISTIC):
        raise HeadError(f"{path}: unknown head method {method!r}")
    try:
        classes = tuple(str(c) for c in doc["classes"])
        dim = int(doc["dim"])
        n_rows = int(doc.get("rows", len(classes)))
        raw = base64.b64decode(doc["centroids"], validate=True)
        rows = np.frombuffer(raw, "<f4").astype(np.float32).reshape(n_rows, dim)
        head = Head(
            classes=classes,
            rows=rows,
            thresholds=tuple(float(doc["thresholds"][c]) for c in classes),
            model=str(doc["model"]["name"]),
            weights_sha256=str(doc["model"]["weights_sha256"]),
            examples={str(k): int(v) for k, v in doc["examples"].items()},
            negatives=int(doc.get("negatives", 0)),
            created_at=str(doc.get("created_at", "")),
            loo=dict(doc.get("leave_one_out") or {}),
            method=method,
        )
        if method == LOGISTIC:
            return _logistic_parts(head, doc, path)
        if n_rows != len(classes):
            raise ValueError(f"{n_rows} centroids for {len(classes)} classes")
        return head
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise HeadError(f"{path}: damaged head file: {exc}") from None


def _logistic_parts(head: Head, doc: Mapping[str, Any], path: Path) -> Head:
    """The intercept and input settings of a logistic head; its label columns must be ours."""
    labels = doc["input"]["labels"]
    if labels["vocabulary_sha256"] != vocabulary_sha256() or int(labels["top"]) != SEMANTIC_TOP:
        raise HeadError(
            f"{path}: learned on another label vocabulary (an older or newer resnet-watch): "
            "run `resnet-watch learn` again"
        )
    intercept = np.asarray([float(v) for v in doc["intercept"]], np.float32)
    if len(head.rows) != len(head.classes) + 1 or len(intercept) != len(head.rows):
        raise ValueError(f"{len(head.rows)} rows for {len(head.classes)} classes + _none")
    ancestry = str(labels.get("ancestry", ROOT_MASS))  # heads before v0.3's calibration: sqrt
    if ancestry not in (ROOT_MASS, PROBABILITY_MASS):
        raise ValueError(f"unknown label ancestry {ancestry!r}")
    return replace(
        head, intercept=intercept, semantic_weight=float(labels["weight"]), ancestry=ancestry
    )
