"""``resnet-watch dupes --evaluate``: how well near-duplicate grouping works, measured on
real photos from PyPI packages and copies generated from them.

Each original gets the copies people really make: JPEG re-encodes at quality 60-95, resizes
to 25-100%, slight crops (3-8% off the edges), and a resize + re-encode together. A copy
counts as grouped when ``find_groups`` puts it in the same near-duplicate group as its
original. The false-merge rate is measured on distinct photos only: the fraction of photos
that land in a near-duplicate group at all (street scenes from one phone in one city and
thirty cats are in there on purpose: same scene type, different photos).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from resnet_watch.learn import embed_paths
from resnet_watch.models.photos import agreement_photos, ai_benchmark_photos
from resnet_watch.models.spec import Classifier
from resnet_watch.similar import NEAR_COSINE, Item, find_groups

__all__ = ["VARIANTS", "DupesEvaluation", "make_variant", "run_dupes_evaluation"]

Variant = tuple[str, Callable[[object], object]]


def _jpeg(image: object, quality: int) -> object:
    from PIL import Image

    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)  # type: ignore[attr-defined]
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _resize(image: object, scale: float) -> object:
    from PIL import Image

    w, h = image.size  # type: ignore[attr-defined]
    size = (max(16, round(w * scale)), max(16, round(h * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)  # type: ignore[attr-defined]


def _crop(image: object, share: float) -> object:
    w, h = image.size  # type: ignore[attr-defined]
    dx, dy = round(w * share), round(h * share)
    return image.crop((dx, dy, w - dx, h - dy))  # type: ignore[attr-defined]


VARIANTS: tuple[tuple[str, Callable[[object], object]], ...] = (
    ("jpeg q60", lambda im: _jpeg(im, 60)),
    ("jpeg q75", lambda im: _jpeg(im, 75)),
    ("jpeg q95", lambda im: _jpeg(im, 95)),
    ("resize 25%", lambda im: _resize(im, 0.25)),
    ("resize 50%", lambda im: _resize(im, 0.5)),
    ("resize 75%", lambda im: _resize(im, 0.75)),
    ("crop 3%", lambda im: _crop(im, 0.03)),
    ("crop 5%", lambda im: _crop(im, 0.05)),
    ("crop 8%", lambda im: _crop(im, 0.08)),
    ("resize 50% + q70", lambda im: _jpeg(_resize(im, 0.5), 70)),
)


def make_variant(original: Path, name: str, folder: Path) -> Path:
    """Write ``original``'s variant ``name`` into ``folder`` as a PNG (lossless, so the
    variant's own degradation is the only one) and return its path."""
    from PIL import Image

    make = dict(VARIANTS)[name]
    with Image.open(original) as im:
        out = make(im.convert("RGB"))
    path = folder / f"{original.parent.name}-{original.stem}-{name.replace(' ', '_')}.png"
    out.save(path)  # type: ignore[attr-defined]
    return path


@dataclass(frozen=True)
class DupesEvaluation:
    grouped: dict[str, tuple[int, int]]  # variant -> (grouped with original, total)
    distinct: int
    falsely_merged: int

    def lines(self) -> list[str]:
        out = []
        total_ok = sum(ok for ok, _ in self.grouped.values())
        total = sum(n for _, n in self.grouped.values())
        for name, (ok, n) in self.grouped.items():
            out.append(f"{name:<18} {ok:>4}/{n:<4} {ok / max(1, n):6.1%} grouped with original")
        out.append(f"{'all copies':<18} {total_ok:>4}/{total:<4} {total_ok / max(1, total):6.1%}")
        out.append(
            f"distinct photos in a near-duplicate group (false merges): {self.falsely_merged}/"
            f"{self.distinct} = {self.falsely_merged / max(1, self.distinct):.1%}"
        )
        return out


def run_dupes_evaluation(
    classifier: Classifier, out: TextIO, *, originals: int = 40, near: float = NEAR_COSINE
) -> int:
    """Print grouping rates per variant and the false-merge rate (see the module doc)."""
    found = ai_benchmark_photos() + agreement_photos()[50:]
    distinct = sorted({p for p in found if not p.stem.endswith("_segmented")})
    if not distinct:
        out.write("no photos: install ai-benchmark==0.1.2 (pip install -e '.[test]')\n")
        return 1
    picked = distinct[:: max(1, len(distinct) // originals)][:originals]
    with tempfile.TemporaryDirectory(prefix="rw-dupes-") as tmp:
        folder = Path(tmp)
        copies = [(o, name, make_variant(o, name, folder)) for o in picked for name, _ in VARIANTS]
        base = embed_paths(classifier, distinct, suffix=None)
        copy_vectors = embed_paths(classifier, [c for _, _, c in copies], suffix=None)
    index = {p: i for i, p in enumerate(distinct)}
    items = [Item(p, f"d{i}", base[i], "m", 0.0) for i, p in enumerate(distinct)]
    merged = {p for g in find_groups(items, near=near, burst=2.0) for p in g.images}
    grouped: dict[str, tuple[int, int]] = {name: (0, 0) for name, _ in VARIANTS}
    for (original, name, copy), vector in zip(copies, copy_vectors, strict=True):
        pair = [
            Item(original, "a", base[index[original]], "m", 0.0),
            Item(copy, "b", np.asarray(vector, np.float32), "m", 0.0),
        ]
        together = any(g.kind == "near" for g in find_groups(pair, near=near, burst=2.0))
        ok, n = grouped[name]
        grouped[name] = (ok + together, n + 1)
    result = DupesEvaluation(grouped, len(distinct), len(merged))
    out.write(
        f"model {classifier.info.name}; near-duplicate cosine >= {near}; {len(picked)} "
        f"originals x {len(VARIANTS)} copies; {len(distinct)} distinct photos\n"
    )
    for line in result.lines():
        out.write(f"  {line}\n")
    return 0
