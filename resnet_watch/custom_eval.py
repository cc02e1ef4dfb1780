"""``resnet-watch learn --evaluate`` without folders: custom classes measured on real,
labelled photos that ship in PyPI packages (``data/custom_eval.tsv`` says which and how
they were labelled).

For the model in use (through ``load_classifier``, so it reruns after a model change) it
prints, for the product's head and the measured alternatives: precision/recall per class
on the fixed split's held-out photos and the share of none-of-the-classes photos
rejected; then the same over ``DRAWS`` random re-draws of the 10 examples per class (and
the 15 ``_none`` examples) from all the labelled photos, mean and worst case, so a choice
is not an accident of one split; and what an embedding costs per image in the sidecar.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.util import find_spec
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from resnet_watch.embedding import decode, encode, normalize
from resnet_watch.errors import HeadError
from resnet_watch.head_input import PROBABILITY_MASS, ROOT_MASS, Samples, head_input, prepare
from resnet_watch.head_training import (
    PROBABILITY,
    calibrate,
    centroids,
    fit_logistic,
    logistic_decisions,
)
from resnet_watch.heads import NONE_CLASS, train_head
from resnet_watch.learn import Evaluation, embed_samples, score_predictions
from resnet_watch.models.spec import Classifier

__all__ = ["LabelledPhoto", "labelled_photos", "run_packaged_evaluation"]

Matrix = npt.NDArray[np.float32]
Predict = Callable[[Samples], list[str | None]]
Method = Callable[[dict[str, Samples], Samples], Predict]
_PACKAGE_DATA = {
    "ai_benchmark": ("ai_benchmark", "data"),
    "skimage": ("skimage", "data"),
    "sklearn": ("sklearn", "datasets/images"),
}
PER_CLASS = 10
NEGATIVES = (10, 5)  # _none examples per draw: others, lookalikes (as in the fixed split)
LOOKALIKES = "ai_benchmark:enhancement/"  # the Streets phone's parks, lakes and fields
DRAWS = 20
SEED = 1  # the settings were chosen on seed 0's draws; these are fresh ones


@dataclass(frozen=True)
class LabelledPhoto:
    label: str  # a class name or "_none"
    split: str  # "train" | "test"
    path: Path
    ref: str = ""  # package:path as in the tsv


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
        out.append(LabelledPhoto(label, split, folder / rel, ref))
    return out


def _groups(
    photos: Sequence[LabelledPhoto], samples: Samples, chosen: Sequence[bool]
) -> dict[str, Samples]:
    rows: dict[str, list[int]] = defaultdict(list)
    for i, (photo, keep) in enumerate(zip(photos, chosen, strict=True)):
        if keep:
            rows[photo.label].append(i)
    return {name: samples.take(index) for name, index in sorted(rows.items())}


# --- the methods compared: each trains on (classes, negatives) and returns a predictor ---


def product_head(train: dict[str, Samples], negatives: Samples) -> Predict:
    """What ``learn`` builds: logistic regression on embedding + label ancestry."""
    head, _ = train_head(train, model="eval", weights_sha256="", negatives=negatives)

    def predict(s: Samples) -> list[str | None]:
        matches = [head.match(v, lab) for v, lab in zip(s.vectors, s.label_rows(), strict=True)]
        return [m.name if m else None for m in matches]

    return predict


def logistic_at_half(inputs: Callable[[Samples], Matrix]) -> Method:
    """The head's regression without the leave-one-out thresholds: every class at 0.5,
    on the rows ``inputs`` makes (embedding + label ancestry, or the embedding alone)."""

    def method(train: dict[str, Samples], negatives: Samples) -> Predict:
        names = sorted(train)
        model = fit_logistic([inputs(train[n]) for n in names], inputs(negatives))
        limits = [PROBABILITY] * len(names)

        def predict(s: Samples) -> list[str | None]:
            picks = logistic_decisions(model, inputs(s), limits)
            return [names[k] if k >= 0 else None for k in picks]

        return predict

    return method


def _embedding(s: Samples) -> Matrix:
    return prepare(s.vectors)


def _ancestry(mass: str) -> Callable[[Samples], Matrix]:
    return lambda s: head_input(s, mass=mass)


def _centroid_parts(
    train: dict[str, Samples], negatives: Samples
) -> tuple[Callable[[Matrix], Matrix], Matrix]:
    """v0.2's centroid scores and its leave-one-out thresholds (embedding only)."""
    groups = [prepare(train[n].vectors) for n in sorted(train)]
    rows = centroids(groups)
    limits = np.array(calibrate(groups, prepare(negatives.vectors)).thresholds, np.float32)
    return (lambda x: x @ rows.T), limits


def _nearest_parts(
    train: dict[str, Samples], negatives: Samples, inputs: Callable[[Samples], Matrix]
) -> tuple[Callable[[Matrix], Matrix], Matrix]:
    """Max similarity to any example of each class; thresholds from leave-one-out (each
    example against the others) and the negatives' 95th percentile, as for the centroid."""
    groups = [inputs(train[n]) for n in sorted(train)]
    negative = inputs(negatives)
    limits = []
    for g in groups:
        own = g @ g.T
        np.fill_diagonal(own, -1.0)
        keep = float(own.max(axis=1).min())
        reject = float(np.quantile((negative @ g.T).max(axis=1), 0.95))
        limits.append((keep + reject) / 2 if reject <= keep else reject + 1e-4)

    def score(x: Matrix) -> Matrix:
        return np.stack([(x @ g.T).max(axis=1) for g in groups], axis=1)

    return score, np.array(limits, np.float32)


def centroid_v02(train: dict[str, Samples], negatives: Samples) -> Predict:
    """v0.2's head: nearest centroid, leave-one-out thresholds (negatives raise them)."""
    score, limits = _centroid_parts(train, negatives)
    return _by_margin(sorted(train), [(score, limits, prepare)])


def nearest_example(train: dict[str, Samples], negatives: Samples) -> Predict:
    """Several prototypes per class: the most similar example decides (embedding only)."""
    score, limits = _nearest_parts(train, negatives, _embedding)
    return _by_margin(sorted(train), [(score, limits, prepare)])


def nearest_example_with_labels(train: dict[str, Samples], negatives: Samples) -> Predict:
    """The same on embedding + label ancestry (what the logistic head reads)."""
    score, limits = _nearest_parts(train, negatives, head_input)
    return _by_margin(sorted(train), [(score, limits, None)])


def centroid_or_nearest(train: dict[str, Samples], negatives: Samples) -> Predict:
    """A class when its centroid OR its nearest example is above that one's threshold
    (the larger margin decides between classes); embedding only."""
    parts = [
        (*_centroid_parts(train, negatives), prepare),
        (*_nearest_parts(train, negatives, _embedding), prepare),
    ]
    return _by_margin(sorted(train), parts)


Part = tuple[Callable[[Matrix], Matrix], Matrix, Callable[[Matrix], Matrix] | None]


def _by_margin(names: Sequence[str], parts: Sequence[Part]) -> Predict:
    """Per row, each class's best margin over its thresholds across ``parts`` (score
    function, thresholds, and how rows are prepared: ``prepare`` on the embedding, or None
    for ``head_input``). One part: the best-scoring class when at or above its threshold;
    several: the class with the largest non-negative margin; else None."""

    def predict(s: Samples) -> list[str | None]:
        margins = []
        for score, limits, prep in parts:
            x = prep(s.vectors) if prep is not None else head_input(s)
            margins.append(score(x) - limits[None, :])
        if len(parts) == 1:  # as Head.match: the best-scoring class, if above its threshold
            best = (margins[0] + parts[0][1][None, :]).argmax(axis=1)
        else:  # OR: any class above a threshold; the largest margin decides between them
            best = np.max(np.stack(margins), axis=0).argmax(axis=1)
        best_margin = np.max(np.stack(margins), axis=0)
        ok = best_margin[np.arange(len(best)), best] >= 0
        return [names[b] if keep else None for b, keep in zip(best, ok, strict=True)]

    return predict


METHODS: dict[str, Method] = {
    "logistic regression, embedding + label ancestry (the head learn builds)": product_head,
    "the same, one threshold 0.5 for every class": logistic_at_half(_ancestry(PROBABILITY_MASS)),
    "the same at 0.5, square-root ancestry (v0.3 before calibration)": logistic_at_half(
        _ancestry(ROOT_MASS)
    ),
    "logistic regression, embedding only": logistic_at_half(_embedding),
    "nearest example (max similarity), embedding only": nearest_example,
    "nearest example (max similarity), embedding + label ancestry": nearest_example_with_labels,
    "nearest centroid OR nearest example, embedding only": centroid_or_nearest,
    "nearest centroid, embedding only (v0.2)": centroid_v02,
}


def _evaluate(
    method: Method, photos: Sequence[LabelledPhoto], samples: Samples, train: Sequence[bool]
) -> Evaluation:
    groups = _groups(photos, samples, train)
    negatives = groups.pop(NONE_CLASS)
    predict = method(groups, negatives)
    held = [i for i, t in enumerate(train) if not t]
    truth = [photos[i].label for i in held]
    return score_predictions(sorted(groups), truth, predict(samples.take(held)))


def draw_splits(photos: Sequence[LabelledPhoto], draws: int, seed: int) -> list[list[bool]]:
    """``draws`` random training selections: ``PER_CLASS`` per class, ``NEGATIVES`` _none."""
    rng = np.random.default_rng(seed)
    pools: dict[str, list[int]] = defaultdict(list)
    for i, photo in enumerate(photos):
        if photo.label == NONE_CLASS:
            pools["_lookalike" if photo.ref.startswith(LOOKALIKES) else "_other"].append(i)
        else:
            pools[photo.label].append(i)
    wanted = {"_other": NEGATIVES[0], "_lookalike": NEGATIVES[1]}
    out = []
    for _ in range(draws):
        train = [False] * len(photos)
        for name, pool in sorted(pools.items()):
            for i in rng.choice(pool, wanted.get(name, PER_CLASS), replace=False):
                train[int(i)] = True
        out.append(train)
    return out


def summary_lines(results: Sequence[Evaluation]) -> list[str]:
    """Mean and worst precision/recall per class, and rejection, over many draws."""
    out = [f"{'class':<16} {'precision':>15} {'recall':>15}   (mean / worst)"]
    for k, first in enumerate(results[0].classes):
        p = [r.classes[k].precision for r in results]
        r_ = [r.classes[k].recall for r in results]
        out.append(
            f"{first.name:<16} {np.mean(p):>7.1%} / {min(p):>5.1%} {np.mean(r_):>7.1%} / "
            f"{min(r_):>5.1%}"
        )
    rej = [r.rejected for r in results]
    out.append(f"none-of-the-classes rejected: {np.mean(rej):.1%} mean, {min(rej):.1%} worst")
    return out


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


def _stored(classifier: Classifier, samples: Samples) -> Samples:
    """The vectors as a sidecar keeps them (int8), which is what the daemon's head reads."""
    rows = [decode(encode(v, classifier.info)) for v in samples.vectors]
    return Samples(np.stack([r.vector for r in rows if r is not None]), samples.labels)


def run_packaged_evaluation(
    classifier: Classifier, out: TextIO, methods: Mapping[str, Method] = METHODS
) -> int:
    photos = labelled_photos()
    info = classifier.info
    started = time.perf_counter()
    raw = embed_samples(classifier, [p.path for p in photos], suffix=None)
    embed_ms = (time.perf_counter() - started) * 1000 / len(photos)
    samples = _stored(classifier, raw)
    fixed = [p.split == "train" for p in photos]
    counts: dict[str, int] = defaultdict(int)
    for p in photos:
        counts[p.label] += 1
    out.write(
        f"model {info.name} ({info.precision}, {info.runtime}); {len(photos)} labelled photos "
        f"from PyPI packages: {dict(sorted(counts.items()))}\n"
        f"fixed split: {sum(fixed)} examples ({len(counts) - 1} classes x {PER_CLASS} + "
        f"{sum(NEGATIVES)} _none), {len(photos) - sum(fixed)} held out; then {DRAWS} random "
        f"re-draws of the examples (seed {SEED}), the rest held out each time\n"
    )
    splits = draw_splits(photos, DRAWS, SEED)
    for name, method in methods.items():
        out.write(f"\n{name}:\n  fixed split:\n")
        for line in _evaluate(method, photos, samples, fixed).lines():
            out.write(f"    {line}\n")
        results = [_evaluate(method, photos, samples, s) for s in splits]
        out.write(f"  {DRAWS} re-draws:\n")
        for line in summary_lines(results):
            out.write(f"    {line}\n")
    cost = embedding_cost(classifier, raw.vectors)
    out.write(
        f"\nembedding: {cost['dim']} values -> {cost['bytes']} bytes of sidecar JSON, "
        f"{cost['ms']:.3f} ms encode+decode, cosine to float32 >= {cost['min_cosine']:.5f}; "
        f"decode+model {embed_ms:.0f} ms/photo here\n"
    )
    return 0
