"""``bench --library N``'s library: N tiny real PNGs with valid sidecars, made without the model.

Built once into the bench cache (never the repository) and reused: 200,000 files take a
few minutes to write. Every entry is a pure function of its number, so the benchmark's
renames and deletions are undone afterwards by putting those entries back.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_watch.models.spec import Label, ModelInfo
from resnet_watch.sidecar import FileFacts, result_record, sidecar_path

__all__ = ["LIBRARY_VERSION", "PER_FOLDER", "BenchLibrary", "LabelSet"]

LIBRARY_VERSION = 1  # bump when the layout or the records change: a new cache folder is made
PER_FOLDER = 1000  # a phone backup's month folder

LABELS = (
    Label(1, 281, "n02123045", "tabby", 0.71),
    Label(1, 207, "n02099601", "golden retriever", 0.64),
    Label(1, 970, "n09193705", "alp", 0.58),
    Label(1, 417, "n02782093", "balloon", 0.52),
    Label(1, 967, "n07920052", "espresso", 0.49),
)

# labels -> the tags/albums fields the daemon's config would give them
LabelSet = Sequence[tuple[Label, Mapping[str, Any]]]


def _png(number: int) -> bytes:
    """A distinct 8x8 PNG per number (distinct sha256), a real file any decoder reads."""
    from PIL import Image

    pixels = (number.to_bytes(4, "big") * 48)[:192]
    out = io.BytesIO()
    Image.frombytes("RGB", (8, 8), pixels).save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class BenchLibrary:
    """The library folder for ``size`` images tagged as by ``model``."""

    root: Path
    size: int
    model: ModelInfo
    labels: LabelSet
    suffix: str = ".resnet-watch.json"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def image(self, number: int) -> Path:
        return self.inbox / f"d{number // PER_FOLDER:04d}" / f"img_{number:07d}.png"

    def ensure(self, progress: Callable[[str], None]) -> int:
        """Write whatever is missing (everything the first time); returns files written."""
        marker = self.root / "complete"
        if marker.exists():
            return 0
        written = 0
        for number in range(self.size):
            if not sidecar_path(self.image(number), self.suffix).exists():
                self.put_back(number)
                written += 1
            if number % 5000 == 0:
                progress(f"library: {number}/{self.size} tagged images")
        marker.write_text(f"{self.size}\n")
        return written

    def put_back(self, number: int) -> None:
        """(Re)write image ``number`` and its sidecar as the daemon would have."""
        image = self.image(number)
        image.parent.mkdir(parents=True, exist_ok=True)
        data = _png(number)
        image.write_bytes(data)
        import hashlib

        st = image.stat()
        label, extra = self.labels[number % len(self.labels)]
        record = result_record(
            FileFacts(image.name, st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest()),
            width=8,
            height=8,
            fmt="PNG",
            labels=[label],
            model=self.model,
            elapsed_ms=1.0,
            extra=extra,
        )
        # bench data, not a user's: no fsync per file (200k fsyncs would take many minutes)
        text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
        sidecar_path(image, self.suffix).write_text(text, encoding="utf-8")

    def restore(self, renamed: Mapping[int, Path], deleted: Sequence[int]) -> None:
        """Undo the benchmark's renames and deletions, whatever the daemon did meanwhile."""
        for number, moved in renamed.items():
            for leftover in (moved, sidecar_path(moved, self.suffix), _xmp(moved)):
                if os.path.lexists(leftover):
                    os.unlink(leftover)
            self.put_back(number)
        for number in deleted:
            self.put_back(number)


def _xmp(image: Path) -> Path:
    return image.with_name(image.name + ".xmp")
