"""The 1000 ImageNet-1k classes in the standard ILSVRC order; no torch import.

Read from the committed ``imagenet_classes.tsv`` (regenerate with
``scripts/make_imagenet_classes.py``), so labels never depend on a download.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

__all__ = ["labels"]


@lru_cache(maxsize=1)
def _table() -> tuple[tuple[int, str, str], ...]:
    text = (
        resources.files("resnet_watch.models").joinpath("imagenet_classes.tsv").read_text("utf-8")
    )
    rows = []
    for line in text.splitlines()[1:]:
        index, wnid, name = line.split("\t")
        rows.append((int(index), wnid, name))
    if [row[0] for row in rows] != list(range(1000)):
        raise RuntimeError("imagenet_classes.tsv is damaged: expected indexes 0..999")
    return tuple(rows)


def labels() -> list[tuple[int, str, str]]:
    """(index, wnid, readable name) for each of the 1000 classes, index order."""
    return list(_table())
