"""Re-tag the whole library with custom classes from stored embeddings: no decode, no model.

``learn --apply`` runs this after writing a head. Images whose embedding came from another
model (or that have none, classified before embeddings were kept) cannot be re-tagged
without the model: they are listed, so the user knows what a re-classification would add.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from resnet_watch.custom import CustomTagger
from resnet_watch.embedding import decode
from resnet_watch.library import image_for_sidecar, iter_sidecars
from resnet_watch.sidecar import read_sidecar, write_sidecar

__all__ = ["RelabelReport", "relabel_library"]

WriteFiles = Callable[[Path, dict[str, Any]], None]


@dataclass
class RelabelReport:
    seen: int = 0
    updated: int = 0
    seconds: float = 0.0
    needs_model: list[Path] = field(default_factory=list)  # embedding from another model
    no_embedding: list[Path] = field(default_factory=list)  # classified before embeddings
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.seen / self.seconds if self.seconds > 0 else 0.0


def relabel_library(
    roots: Sequence[Path],
    suffix: str,
    tagger: CustomTagger,
    *,
    write_files: WriteFiles | None = None,
    progress: Callable[[int], None] | None = None,
) -> RelabelReport:
    """Recompute every result sidecar's custom classes; write only the ones that change."""
    report = RelabelReport()
    head = tagger.head
    started = time.perf_counter()
    for sidecar in iter_sidecars(roots, suffix):
        record = read_sidecar(sidecar)
        if record is None or record.get("status") != "ok":
            continue
        image = image_for_sidecar(sidecar, record, suffix)
        if image is None or not os.path.lexists(image):  # crafted or stray sidecar
            continue
        report.seen += 1
        embedding = decode(record.get("embedding"))
        if embedding is None:
            report.no_embedding.append(image)
        elif head is not None and not embedding.matches(head.model, head.weights_sha256):
            report.needs_model.append(image)
        fresh = tagger.fields(image, record)
        if any(record.get(k) != v for k, v in fresh.items()):
            record.update(fresh)
            try:
                if write_files is not None:
                    write_files(image, record)
                write_sidecar(sidecar, record)
            except Exception as exc:  # one unwritable folder must not stop the library
                report.errors.append(f"{image}: {exc}")
            else:
                report.updated += 1
        if progress is not None:
            progress(report.seen)
    report.seconds = time.perf_counter() - started
    return report
