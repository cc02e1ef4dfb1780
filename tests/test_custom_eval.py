"""learn --evaluate on the labelled package photos: the ground truth, the re-draws, the report."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from resnet_watch.custom_eval import (
    LOOKALIKES,
    METHODS,
    NEGATIVES,
    PER_CLASS,
    draw_splits,
    labelled_photos,
    run_packaged_evaluation,
)
from tests.fixtures_models import effnet_classifier

__all__ = ["effnet_classifier"]


def test_the_ground_truth_resolves_to_files_with_a_fixed_split() -> None:
    """Every labelled photo exists once; the fixed split trains on 10 per class + 15 _none."""
    photos = labelled_photos()
    assert len({p.path for p in photos}) == len(photos) >= 200
    train = Counter(p.label for p in photos if p.split == "train")
    assert train == {"Birds": 10, "Cats": 10, "Streets": 10, "Wild mammals": 10, "_none": 15}
    assert all(p.path.is_file() for p in photos)


def test_re_draws_keep_the_example_counts_and_the_lookalike_share() -> None:
    """Each draw trains on 10 per class and 10 + 5 _none (5 of them lookalikes), and the
    draws differ from each other."""
    photos = labelled_photos()
    splits = draw_splits(photos, 5, seed=3)
    for train in splits:
        chosen = [p for p, t in zip(photos, train, strict=True) if t]
        counts = Counter(p.label for p in chosen)
        assert all(counts[c] == PER_CLASS for c in counts if c != "_none")
        lookalikes = sum(p.label == "_none" and p.ref.startswith(LOOKALIKES) for p in chosen)
        assert counts["_none"] == sum(NEGATIVES) and lookalikes == NEGATIVES[1]
    assert len({tuple(s) for s in splits}) == len(splits)


def test_evaluate_reports_every_method_on_the_split_and_the_draws(
    effnet_classifier: Any,
) -> None:
    """The report has each method's fixed-split table and re-draw summary, and the
    chosen head finds more wild mammals than v0.2's centroid while rejecting as well."""
    out = io.StringIO()
    assert run_packaged_evaluation(effnet_classifier, out) == 0
    text = out.getvalue()
    for name in METHODS:
        assert f"{name}:" in text
    sections = text.split("\n\n")

    def mean_recall(section: str, cls: str) -> float:
        line = next(x for x in section.splitlines() if x.strip().startswith(cls) and "/" in x)
        return float(line.split("/")[1].split()[-1].rstrip("%"))

    chosen = next(s for s in sections if s.startswith(next(iter(METHODS))))
    centroid = next(s for s in sections if "(v0.2)" in s.splitlines()[0])
    assert mean_recall(chosen, "Wild mammals") > mean_recall(centroid, "Wild mammals") + 20
    rejected = [float(x.split(":")[1].split("%")[0]) for x in chosen.splitlines() if "mean," in x]
    assert rejected and rejected[0] >= 90.0


def test_calibrated_thresholds_find_more_cats_than_one_half(effnet_classifier: Any) -> None:
    """On the re-draws, the head's leave-one-out thresholds find more of the held-out cats
    than the same regression at 0.5 for every class, at >= 90% precision for every class
    and >= 95% of the other photos rejected."""
    head, half = list(METHODS)[:2]
    out = io.StringIO()
    run_packaged_evaluation(effnet_classifier, out, {m: METHODS[m] for m in (head, half)})
    sections = {s.split(":\n")[0].strip(): s for s in out.getvalue().split("\n\n")}

    def means(section: str, cls: str) -> tuple[float, float]:
        line = next(x for x in section.splitlines() if x.strip().startswith(cls) and "/" in x)
        figures = line.strip()[len(cls) :].replace("/", " ").split()
        numbers = [float(v.rstrip("%")) for v in figures]
        return numbers[0], numbers[2]  # precision mean, recall mean

    assert means(sections[head], "Cats")[1] >= means(sections[half], "Cats")[1] + 3
    for cls in ("Birds", "Cats", "Streets", "Wild mammals"):
        assert means(sections[head], cls)[0] >= 90.0
    rejected = next(x for x in sections[head].splitlines() if "mean," in x)
    assert float(rejected.split(":")[1].split("%")[0]) >= 95.0
