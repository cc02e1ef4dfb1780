"""The tagged library as the sidecars describe it: walk them, count albums, reindex.

Everything here reads the JSON sidecars (or the daemon's index of them) only;
nothing loads the model, so ``albums``, ``tags`` and ``reindex`` need no model.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from resnet_watch import fsutil
from resnet_watch.extras import Extras
from resnet_watch.models.spec import Label
from resnet_watch.sidecar import image_for, read_sidecar, write_sidecar

__all__ = ["album_counts", "image_for_sidecar", "iter_sidecars", "reindex"]

_log = structlog.get_logger("resnet_watch.library")


def iter_sidecars(roots: Sequence[Path], suffix: str) -> Iterator[Path]:
    """Every ``*<suffix>`` file under ``roots``, not following symlinked folders."""
    return fsutil.walk_files(roots, lambda name: name.endswith(suffix))


def image_for_sidecar(sidecar: Path, record: dict[str, Any], suffix: str) -> Path | None:
    """The image a sidecar describes, from the sidecar's own path (``sidecar.image_for``).

    A sidecar whose record names another file (planted, or copied from elsewhere) is
    ignored and logged: None.
    """
    image = image_for(sidecar, record, suffix)
    if image is None:
        name = (record.get("file") or {}).get("name")
        _log.warning(
            "sidecar_ignored", path=str(sidecar), reason="names_another_file", name=str(name)[:200]
        )
    return image


def album_counts(
    roots: Sequence[Path], suffix: str, index_path: Path | None = None
) -> Counter[str]:
    """How many classified images each album holds (from the index when there is one)."""
    from resnet_watch.index import open_existing

    index = open_existing(index_path) if index_path is not None else None
    if index is not None:
        with index:
            return index.album_counts()
    counts: Counter[str] = Counter()
    for path in iter_sidecars(roots, suffix):
        record = read_sidecar(path)
        if record is not None and record.get("status") == "ok":
            counts.update(str(a) for a in record.get("albums") or [])
    return counts


def _labels(record: dict[str, Any]) -> list[Label]:
    return [
        Label(int(x["rank"]), int(x["index"]), str(x["wnid"]), str(x["name"]), float(x["score"]))
        for x in record.get("labels") or []
    ]


def reindex(
    roots: Sequence[Path],
    suffix: str,
    extras: Extras,
    customize: Callable[[Path, Mapping[str, Any]], Mapping[str, Any]] | None = None,
    index_path: Path | None = None,
) -> tuple[int, list[str]]:
    """Recompute tags, albums, XMP and album links from stored labels (and custom classes
    from stored embeddings, via ``customize``); (updated, errors).

    The daemon's index (when there is one) is updated too, so its next rescan does not take
    every rewritten sidecar for a change.
    """
    from resnet_watch.index import open_existing

    index = open_existing(index_path) if index_path is not None else None
    updated, errors = 0, []
    for path in iter_sidecars(roots, suffix):
        record = read_sidecar(path)
        if record is None or record.get("status") != "ok":
            continue
        image = image_for_sidecar(path, record, suffix)
        if image is None or not os.path.lexists(image):
            continue
        fresh = dict(extras.enrich(_labels(record)))
        if customize is not None:
            fresh.update(customize(image, {**record, **fresh}))
        if any(record.get(k) != v for k, v in fresh.items()):
            record.update(fresh)
            try:
                write_sidecar(path, record)
            except OSError as exc:
                errors.append(f"{path}: {exc}")
                continue
            updated += 1
            if index is not None:
                index.record(image, record, path)
        try:
            extras.write_files(image, record)
        except Exception as exc:
            errors.append(f"{image}: {exc}")
    extras.prune()
    if index is not None:
        index.close()
    return updated, errors
