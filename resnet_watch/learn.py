"""``resnet-watch learn``: example folders -> embeddings -> a head file; and its evaluation.

Examples are read the daemon's way (imaging.read_image + preprocess) and go through the
same model, so a learned class sees exactly what the daemon will show it. An example that
already has a sidecar with an embedding from this model is not decoded again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from resnet_watch.embedding import decode
from resnet_watch.errors import HeadError, ImageError
from resnet_watch.head_input import (
    SEMANTIC_TOP,
    LabelScores,
    Samples,
    as_samples,
    labels_from_record,
)
from resnet_watch.heads import NONE_CLASS, Head
from resnet_watch.models.photos import IMAGE_SUFFIXES, load_batch
from resnet_watch.models.spec import Classifier
from resnet_watch.sidecar import read_sidecar, sidecar_path

__all__ = [
    "ClassScore",
    "Evaluation",
    "embed_paths",
    "embed_samples",
    "evaluate_head",
    "example_folders",
]

Matrix = npt.NDArray[np.float32]
MIN_EXAMPLES = 2


def example_folders(root: Path) -> tuple[dict[str, list[Path]], list[Path]]:
    """``root/<Class>/*`` photos per class and ``root/_none/*`` negatives.

    Raises HeadError when ``root`` has no class folder with at least two photos.
    """
    if not root.is_dir():
        raise HeadError(f"{root}: not a folder (expected one sub-folder of photos per class)")
    classes: dict[str, list[Path]] = {}
    negatives: list[Path] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith("."):
            continue
        photos = sorted(
            p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if folder.name == NONE_CLASS:
            negatives = photos
        elif len(photos) >= MIN_EXAMPLES:
            classes[folder.name] = photos
        else:
            raise HeadError(f"{folder}: {len(photos)} photo(s); a class needs {MIN_EXAMPLES}+")
    if not classes:
        raise HeadError(f"{root}: no class folders with photos (e.g. {root}/Rex/*.jpg)")
    return classes, negatives


def embed_samples(
    classifier: Classifier,
    paths: Sequence[Path],
    *,
    suffix: str | None = ".resnet-watch.json",
    batch: int = 8,
    progress: Callable[[int], None] | None = None,
) -> Samples:
    """One feature vector and the top labels per photo: from its sidecar when this model
    made one, else run the model (always, with ``suffix=None``)."""
    info = classifier.info
    rows: list[Matrix | None] = []
    labels: list[LabelScores] = []
    for path in paths:
        record = (read_sidecar(sidecar_path(path, suffix)) if suffix else None) or {}
        stored = decode(record.get("embedding"))
        ok = stored is not None and stored.matches(info.name, info.weights_sha256)
        rows.append(stored.vector if ok and stored is not None else None)
        labels.append(labels_from_record(record) if ok else ())
    todo = [i for i, row in enumerate(rows) if row is None]
    for start in range(0, len(todo), batch):
        chunk = todo[start : start + batch]
        arrays = np.concatenate([_load_one(paths[i], classifier) for i in chunk])
        for i, pred in zip(chunk, classifier.classify(arrays, SEMANTIC_TOP), strict=True):
            rows[i] = np.asarray(pred.features, np.float32)
            labels[i] = tuple((lab.index, lab.score) for lab in pred.labels)
        if progress is not None:
            progress(len(chunk))
    vectors = np.stack([r for r in rows if r is not None]).astype(np.float32)
    return Samples(vectors, tuple(labels))


def embed_paths(
    classifier: Classifier,
    paths: Sequence[Path],
    *,
    suffix: str | None = ".resnet-watch.json",
    batch: int = 8,
    progress: Callable[[int], None] | None = None,
) -> Matrix:
    """Only the feature vectors of ``embed_samples`` (near-duplicates need no labels)."""
    return embed_samples(classifier, paths, suffix=suffix, batch=batch, progress=progress).vectors


def _load_one(path: Path, classifier: Classifier) -> Matrix:
    """One photo as a batch of one; HeadError names a photo that cannot be an example."""
    try:
        return load_batch([path], classifier.preprocess)
    except (ImageError, OSError) as exc:
        raise HeadError(f"{path}: cannot use this photo as an example: {exc}") from None


@dataclass(frozen=True)
class ClassScore:
    name: str
    precision: float
    recall: float
    support: int  # held-out photos of this class
    predicted: int  # held-out photos given this class


@dataclass(frozen=True)
class Evaluation:
    classes: tuple[ClassScore, ...]
    negatives: int
    rejected: float  # share of none-of-the-classes photos given no class

    def lines(self) -> list[str]:
        out = [f"{'class':<16} {'precision':>9} {'recall':>7} {'held-out':>8} {'tagged':>7}"]
        for c in self.classes:
            out.append(
                f"{c.name:<16} {c.precision:>9.1%} {c.recall:>7.1%} {c.support:>8} {c.predicted:>7}"
            )
        out.append(f"none-of-the-classes rejected: {self.rejected:.1%} of {self.negatives}")
        return out


def score_predictions(
    classes: Sequence[str], truth: Sequence[str], predicted: Sequence[str | None]
) -> Evaluation:
    """Per-class precision/recall, and the rejection rate on ``_none`` truths (pure)."""
    rows = []
    for name in classes:
        tp = sum(t == name and p == name for t, p in zip(truth, predicted, strict=True))
        support = sum(t == name for t in truth)
        given = sum(p == name for p in predicted)
        precision = tp / given if given else 1.0
        recall = tp / support if support else 0.0
        rows.append(ClassScore(name, precision, recall, support, given))
    negatives = [p for t, p in zip(truth, predicted, strict=True) if t == NONE_CLASS]
    rejected = sum(p is None for p in negatives) / len(negatives) if negatives else 1.0
    return Evaluation(tuple(rows), len(negatives), rejected)


def evaluate_head(head: Head, held_out: Mapping[str, Samples | Matrix]) -> Evaluation:
    """Precision/recall of ``head`` on held-out photos per true class (``_none`` for
    photos of none of the classes)."""
    truth: list[str] = []
    predicted: list[str | None] = []
    for name, value in held_out.items():
        samples = as_samples(value)
        for row, labels in zip(samples.vectors, samples.label_rows(), strict=True):
            match = head.match(row, labels)
            truth.append(name)
            predicted.append(match.name if match else None)
    return score_predictions(head.classes, truth, predicted)
