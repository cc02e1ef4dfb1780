"""``resnet-watch learn --evaluate`` without folders: custom classes measured on real,
labelled photos that ship in PyPI packages (``data/custom_eval.tsv`` says which and why).

It prints, for the model in use: the nearest-centroid head's precision/recall per class on
held-out photos and its rejection rate on photos of none of the classes; the same for
logistic regression (scikit-learn, when installed) as the measured alternative; and what
an embedding costs per image in the sidecar (bytes, encode+decode ms).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from resnet_watch.embedding import decode, encode, normalize
from resnet_watch.errors import HeadError
from resnet_watch.heads import NONE_CLASS, prepare, train_head
from resnet_watch.learn import Evaluation, embed_paths, evaluate_head, score_predictions
from resnet_watch.models.spec import Classifier

__all__ = ["LabelledPhoto", "labelled_photos", "run_packaged_evaluation"]

Matrix = npt.NDArray[np.float32]
_PACKAGE_DATA = {
    "ai_benchmark": ("ai_benchmark", "data"),
    "skimage": ("skimage", "data"),
    "sklearn": ("sklearn", "datasets/images"),
}


@dataclass(frozen=True)
class LabelledPhoto:
    label: str  # a class name or "_none"
    split: str  # "train" | "test"
    path: Path


def _package_dir(name: str) -> Path | None:
    module, sub = _PACKAGE_DATA[name]
    spec = find_spec(module)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / sub


def labelled_photos() -> list[LabelledPhoto]:
    """The ground-truth list resolved to files; HeadError names a missing package."""
    text = files("resnet_watch").joinpath("data/custom_eval.tsv").read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, split, ref = line.split("\t")
        package, rel = ref.split(":", 1)
        folder = _package_dir(package)
        if folder is None or not (folder / rel).is_file():
            raise HeadError(
                f"{ref} not found: install ai-benchmark==0.1.2, scikit-image and scikit-learn "
                "(pip install -e '.[test]') for the packaged evaluation"
            )
        out.append(LabelledPhoto(label, split, folder / rel))
    return out


def _split(photos: list[LabelledPhoto], vectors: Matrix, split: str) -> dict[str, Matrix]:
    rows: dict[str, list[Matrix]] = defaultdict(list)
    for photo, row in zip(photos, vectors, strict=True):
        if photo.split == split:
            rows[photo.label].append(row)
    return {k: np.stack(v) for k, v in rows.items()}


def logistic_evaluation(train: dict[str, Matrix], test: dict[str, Matrix]) -> Evaluation | None:
    """The alternative head: multinomial logistic regression on the same prepared vectors,
    ``_none`` as a class, rejecting below 0.5 probability. None without scikit-learn."""
    try:
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    except ImportError:
        return None
    names = sorted(train)
    x = prepare(np.concatenate([train[n] for n in names]))
    y = np.concatenate([[n] * len(train[n]) for n in names])
    model = LogisticRegression(C=10.0, max_iter=2000).fit(x, y)
    truth: list[str] = []
    predicted: list[str | None] = []
    for name, rows in test.items():
        probs = model.predict_proba(prepare(rows))
        for row in probs:
            best = int(np.argmax(row))
            label = str(model.classes_[best])
            truth.append(name)
            predicted.append(None if label == NONE_CLASS or row[best] < 0.5 else label)
    classes = [n for n in names if n != NONE_CLASS]
    return score_predictions(classes, truth, predicted)


def embedding_cost(classifier: Classifier, vectors: Matrix) -> dict[str, Any]:
    """Bytes an embedding adds to a sidecar and the ms to encode + decode one."""
    started = time.perf_counter()
    fields = [encode(v, classifier.info) for v in vectors]
    for f in fields:
        decode(f)
    ms = (time.perf_counter() - started) * 1000 / max(1, len(vectors))
    size = len(json.dumps({"embedding": fields[0]}, indent=2)) if fields else 0
    cos = [
        float(normalize(v)[0] @ normalize(decode(f).vector)[0])  # type: ignore[union-attr]
        for v, f in zip(vectors, fields, strict=True)
    ]
    return {"dim": int(vectors.shape[1]), "bytes": size, "ms": ms, "min_cosine": min(cos)}


def run_packaged_evaluation(classifier: Classifier, out: TextIO) -> int:
    photos = labelled_photos()
    info = classifier.info
    started = time.perf_counter()
    vectors = embed_paths(classifier, [p.path for p in photos], suffix=None)
    embed_ms = (time.perf_counter() - started) * 1000 / len(photos)
    train, test = _split(photos, vectors, "train"), _split(photos, vectors, "test")
    negatives = train.pop(NONE_CLASS, None)
    head, _calibration = train_head(
        train, model=info.name, weights_sha256=info.weights_sha256, negatives=negatives
    )
    n_train = sum(len(v) for v in train.values()) + (0 if negatives is None else len(negatives))
    n_test = sum(len(v) for v in test.values())
    out.write(
        f"model {info.name} ({info.precision}); {len(photos)} labelled photos from PyPI "
        f"packages: {n_train} examples ({len(train)} classes x 10 + "
        f"{0 if negatives is None else len(negatives)} _none), {n_test} held out\n"
    )
    out.write("nearest centroid, a threshold per class from leave-one-out:\n")
    for line in evaluate_head(head, test).lines():
        out.write(f"  {line}\n")
    if negatives is not None:
        train[NONE_CLASS] = negatives
    lr = logistic_evaluation(train, test)
    if lr is not None:
        out.write("logistic regression (scikit-learn, _none as a class, p >= 0.5):\n")
        for line in lr.lines():
            out.write(f"  {line}\n")
    cost = embedding_cost(classifier, vectors)
    out.write(
        f"embedding: {cost['dim']} values -> {cost['bytes']} bytes of sidecar JSON, "
        f"{cost['ms']:.3f} ms encode+decode, cosine to float32 >= {cost['min_cosine']:.5f}; "
        f"decode+model {embed_ms:.0f} ms/photo here\n"
    )
    return 0
