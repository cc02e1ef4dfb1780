"""Exact duplicates, near-duplicates and bursts: grouped apart, from stored embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from resnet_watch.dupes_eval import make_variant
from resnet_watch.learn import embed_paths
from resnet_watch.models.photos import agreement_photos, ai_benchmark_photos
from resnet_watch.similar import Item, find_groups, most_similar
from tests.fixtures_models import effnet_classifier

__all__ = ["effnet_classifier"]


def item(name: str, vector: list[float], *, sha: str = "", taken: float | None = 0.0) -> Item:
    return Item(Path(name), sha or f"sha-{name}", np.array(vector, np.float32), "m", taken)


def kinds(groups: list[Any]) -> dict[str, list[set[str]]]:
    out: dict[str, list[set[str]]] = {}
    for g in groups:
        out.setdefault(g.kind, []).append({p.name for p in g.images})
    return out


def test_exact_near_and_burst_groups_are_separate() -> None:
    """Same bytes -> exact; same picture -> near; similar shots seconds apart -> burst."""
    items = [
        item("a.jpg", [1, 0, 0, 0], sha="same"),
        item("a copy.jpg", [1, 0, 0, 0], sha="same"),
        item("a small.jpg", [0.98, 0.1, 0, 0]),
        item("b1.jpg", [0, 1, 0.0, 0], taken=100),
        item("b2.jpg", [0, 1, 0.7, 0], taken=104),
        item("c.jpg", [0, 0, 0, 1], taken=100),
    ]
    got = kinds(find_groups(items))
    assert got["exact"] == [{"a.jpg", "a copy.jpg"}]
    assert got["near"] == [{"a.jpg", "a small.jpg"}] or got["near"] == [
        {"a copy.jpg", "a small.jpg"}
    ]
    assert got["burst"] == [{"b1.jpg", "b2.jpg"}]


def test_similar_shots_far_apart_or_without_capture_time_are_not_a_burst() -> None:
    """The same scene an hour later, or with no EXIF time, is neither burst nor duplicate."""
    items = [item("b1.jpg", [0, 1, 0.0], taken=0), item("b2.jpg", [0, 1, 0.7], taken=3600)]
    assert find_groups(items) == []
    undated = [item("b1.jpg", [0, 1, 0.0], taken=None), item("b2.jpg", [0, 1, 0.7], taken=None)]
    assert find_groups(undated) == []


def test_vectors_from_different_models_are_never_compared() -> None:
    """Identical numbers from two models do not make a group."""
    a = Item(Path("a.jpg"), "1", np.ones(4, np.float32), "resnet18", 0)
    b = Item(Path("b.jpg"), "2", np.ones(4, np.float32), "efficientnet_lite0", 0)
    assert find_groups([a, b]) == []
    assert most_similar(a, [a, b]) == []


def test_copies_of_real_photos_group_with_their_original(
    effnet_classifier: Any, tmp_path: Path
) -> None:
    """Re-encoded, resized and slightly cropped copies of real photos are near-duplicates
    of their original, and 60 distinct real photos (30 street scenes) form no group."""
    originals = ai_benchmark_photos()[:3] + agreement_photos()[-3:]
    copies = [
        make_variant(o, name, tmp_path)
        for o in originals
        for name in ("jpeg q60", "resize 50%", "crop 5%", "resize 50% + q70")
    ]
    vectors = embed_paths(effnet_classifier, originals + copies, suffix=None)
    items = [Item(p, str(p), v, "m", 0.0) for p, v in zip(originals + copies, vectors, strict=True)]
    near = [set(g.images) for g in find_groups(items) if g.kind == "near"]
    for k, original in enumerate(originals):
        own = set(copies[k * 4 : k * 4 + 4]) | {original}
        assert own in near, original
    distinct = ai_benchmark_photos()[:30] + agreement_photos()[-30:]
    vectors = embed_paths(effnet_classifier, distinct, suffix=None)
    same_second = [Item(p, str(p), v, "m", 0.0) for p, v in zip(distinct, vectors, strict=True)]
    assert [g for g in find_groups(same_second) if g.kind != "burst"] == []


def test_most_similar_ranks_by_cosine() -> None:
    """The nearest vector comes first and the image itself is left out."""
    target = item("t.jpg", [1, 0, 0])
    pool = [target, item("far.jpg", [0, 0, 1]), item("near.jpg", [1, 0.1, 0])]
    ranked = most_similar(target, pool)
    assert [i.image.name for i, _ in ranked] == ["near.jpg", "far.jpg"]
