"""Exact duplicates, near-duplicates and bursts, from the embeddings the sidecars keep.

Three separate kinds of group, because a user acts on them differently:
- exact: the same bytes (sha256), wherever they are;
- near: the same picture again, resized, re-encoded or slightly cropped (cosine of the
  embeddings >= ``near``; measured in README, "Near-duplicates");
- burst: different shots of one moment (cosine >= ``burst`` and EXIF capture times within
  ``seconds``; without EXIF times there is no burst).
Nothing here deletes or moves a file: groups are for looking at.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from resnet_watch.embedding import decode, normalize

__all__ = [
    "BURST_COSINE",
    "NEAR_COSINE",
    "Group",
    "Item",
    "find_groups",
    "item_from_record",
    "most_similar",
]

# Measured on ai-benchmark photos and their generated variants (README, Near-duplicates).
NEAR_COSINE = 0.85  # 96.5% of copies grouped, 0/230 distinct photos merged (efficientnet)
BURST_COSINE = 0.75
BURST_SECONDS = 10.0
_BLOCK = 1024
GroupKind = Literal["exact", "near", "burst"]


@dataclass(frozen=True)
class Item:
    """One classified image: where it is, its content hash, embedding and capture time."""

    image: Path
    sha256: str
    vector: npt.NDArray[np.float32]
    model: str
    # EXIF DateTimeOriginal as epoch seconds; None when unknown (a file's mtime says when it
    # was copied, not shot: files copied together would all look like one burst)
    taken: float | None


@dataclass(frozen=True)
class Group:
    kind: GroupKind
    images: tuple[Path, ...]  # sorted; the first is the one shown as the group's cover
    similarity: float  # the lowest pairwise-linked cosine in the group (1.0 for exact)


def item_from_record(image: Path, record: dict[str, object], taken: float | None) -> Item | None:
    """An Item from a result sidecar, or None when it has no usable embedding."""
    embedding = decode(record.get("embedding"))
    file = record.get("file")
    if embedding is None or not isinstance(file, dict):
        return None
    sha = str(file.get("sha256") or "")
    return Item(image, sha, embedding.vector, embedding.model, taken)


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _pairs(vectors: npt.NDArray[np.float32], threshold: float) -> Iterable[tuple[int, int, float]]:
    """(i, j, cosine) for i < j with cosine >= threshold, computed in row blocks."""
    units = normalize(vectors)
    for start in range(0, len(units), _BLOCK):
        block = units[start : start + _BLOCK] @ units.T
        rows, cols = np.nonzero(block >= threshold)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if i < c:
                yield i, c, float(block[r, c])


def _collect(
    kind: GroupKind, items: Sequence[Item], union: _Union, low: dict[int, float]
) -> list[Group]:
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(items)):
        members[union.find(i)].append(i)
    groups = []
    for root, idx in members.items():
        if len(idx) < 2:
            continue
        paths = tuple(sorted(items[i].image for i in idx))
        groups.append(Group(kind, paths, round(low.get(root, 1.0), 4)))
    return sorted(groups, key=lambda g: g.images)


def find_groups(
    items: Sequence[Item],
    *,
    near: float = NEAR_COSINE,
    burst: float = BURST_COSINE,
    seconds: float = BURST_SECONDS,
) -> list[Group]:
    """Exact, near-duplicate and burst groups; an image is in at most one group per kind,
    and a near-duplicate pair is not reported again as a burst."""
    groups: list[Group] = []
    by_sha: dict[str, list[Path]] = defaultdict(list)
    for item in items:
        if item.sha256:
            by_sha[item.sha256].append(item.image)
    groups += [Group("exact", tuple(sorted(p)), 1.0) for p in by_sha.values() if len(p) > 1]
    # one representative per exact group, and only vectors from one model are comparable
    seen: set[str] = set()
    unique = []
    for item in items:
        if item.sha256 and item.sha256 in seen:
            continue
        seen.add(item.sha256)
        unique.append(item)
    for model in sorted({i.model for i in unique}):
        same = [i for i in unique if i.model == model]
        if len(same) < 2:
            continue
        vectors = np.stack([i.vector for i in same])
        near_u, burst_u = _Union(len(same)), _Union(len(same))
        near_low: dict[int, float] = {}
        burst_low: dict[int, float] = {}
        near_pairs = []
        for i, j, cos in _pairs(vectors, min(near, burst)):
            if cos >= near:
                near_pairs.append((i, j, cos))
            elif _within(same[i].taken, same[j].taken, seconds):
                burst_u.join(i, j)
                root = burst_u.find(i)
                burst_low[root] = min(burst_low.get(root, 1.0), cos)
        for i, j, cos in near_pairs:
            near_u.join(i, j)
            root = near_u.find(i)
            near_low[root] = min(near_low.get(root, 1.0), cos)
        groups += _collect("near", same, near_u, _roots(near_u, near_low))
        groups += _collect("burst", same, burst_u, _roots(burst_u, burst_low))
    return groups


def _within(a: float | None, b: float | None, seconds: float) -> bool:
    return a is not None and b is not None and abs(a - b) <= seconds


def _roots(union: _Union, low: dict[int, float]) -> dict[int, float]:
    """Minimum similarities re-keyed by each set's final root (joins move roots)."""
    out: dict[int, float] = {}
    for key, value in low.items():
        root = union.find(key)
        out[root] = min(out.get(root, 1.0), value)
    return out


def most_similar(target: Item, items: Sequence[Item], top: int = 10) -> list[tuple[Item, float]]:
    """The ``top`` items nearest to ``target`` by cosine (same model only, itself excluded)."""
    pool = [i for i in items if i.model == target.model and i.image != target.image]
    if not pool:
        return []
    cos = normalize(np.stack([i.vector for i in pool])) @ normalize(target.vector)[0]
    order = np.argsort(-cos)[:top]
    return [(pool[k], float(cos[k])) for k in order]


def exif_time(image: Path) -> float | None:
    """EXIF DateTimeOriginal (else DateTime) as local-time epoch seconds; header only."""
    import datetime as dt

    from PIL import Image

    try:
        with Image.open(image) as im:
            exif = im.getexif()
            raw = exif.get_ifd(0x8769).get(0x9003) or exif.get(0x0132)
        when = dt.datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except Exception:  # no or unreadable EXIF: the caller falls back to the file time
        return None
    return when.timestamp()


def load_items(roots: Sequence[Path], suffix: str) -> tuple[list[Item], int]:
    """Items for every result sidecar under ``roots`` with an embedding; and how many
    classified images have none (classified before embeddings were kept)."""
    from resnet_watch.library import image_for_sidecar, iter_sidecars
    from resnet_watch.sidecar import read_sidecar

    items: list[Item] = []
    missing = 0
    for sidecar in iter_sidecars(roots, suffix):
        record = read_sidecar(sidecar)
        if record is None or record.get("status") != "ok":
            continue
        image = image_for_sidecar(sidecar, record, suffix)
        if image is None or not image.exists():  # a crafted or stray sidecar names no image
            continue
        item = item_from_record(image, record, exif_time(image))
        if item is None:
            missing += 1
        else:
            items.append(item)
    return items, missing
