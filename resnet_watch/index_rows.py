"""One image's row in the index: built from its sidecar record, and read back.

Kept apart from the SQL of ``index.py`` so the mapping from the sidecar schema to the
table's columns is in one place (a new sidecar field that pages need is added here).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_watch.known import KnownFile

__all__ = [
    "COLUMNS",
    "KNOWN_COLUMNS",
    "IndexedFile",
    "encode",
    "from_row",
    "row_values",
    "to_known",
    "words_of",
]

COLUMNS = (
    "dir, name, size, mtime_ns, inode, sha256, status, gave_up, model_sha, sidecar_name, "
    "sidecar_size, sidecar_mtime_ns, happened_at, labels, tags, albums, error, words"
)


@dataclass(frozen=True, slots=True)
class IndexedFile:
    """One image as its sidecar described it when the sidecar was last written or read."""

    path: Path
    size: int
    mtime_ns: int
    inode: int
    sha256: str | None
    status: str  # "ok" | "failed"
    gave_up: bool
    model_sha: str
    sidecar_name: str
    sidecar_size: int
    sidecar_mtime_ns: int
    happened_at: str  # classified_at / failed_at
    labels: tuple[tuple[str, float], ...]
    tags: tuple[str, ...]
    albums: tuple[str, ...]
    error: str

    @property
    def top(self) -> str:
        return self.labels[0][0] if self.labels else ""


def words_of(name: str, labels: Iterable[str], tags: Iterable[str], albums: Iterable[str]) -> str:
    """The text search matches against: file name, labels, tags and albums, casefolded."""
    return " ".join([name, *labels, *tags, *albums]).casefold()


def encode(path: Path | str) -> bytes:
    return os.fsencode(path)


def _status(record: Mapping[str, Any]) -> str:
    """ "ok", "failed", or "incomplete": labels without the tags and albums the daemon adds
    (a sidecar from an older ``classify --write-sidecars``), which the daemon must redo."""
    if record.get("status") != "ok":
        return "failed"
    return "ok" if "tags" in record and "albums" in record else "incomplete"


def row_values(
    image: Path, record: Mapping[str, Any], sidecar: Path, sidecar_st: os.stat_result, inode: int
) -> tuple[Any, ...]:
    file = record.get("file") or {}
    ok = record.get("status") == "ok"
    labels = [
        (str(x.get("name", "")), float(x.get("score", 0.0)))
        for x in (record.get("labels") or [])
        if isinstance(x, dict)
    ]
    tags = [str(t) for t in record.get("tags") or []] if ok else []
    albums = [str(a) for a in record.get("albums") or []] if ok else []
    err = record.get("error") if isinstance(record.get("error"), dict) else {}
    assert isinstance(err, dict)
    error = "" if ok else f"{err.get('kind', '?')}: {err.get('message', '')}"
    model = record.get("model") if isinstance(record.get("model"), dict) else {}
    assert isinstance(model, dict)
    when = record.get("classified_at") if ok else record.get("failed_at")
    return (
        encode(image.parent),
        encode(image.name),
        int(file.get("size", -1)),
        int(file.get("mtime_ns", -1)),
        inode,
        file.get("sha256") if isinstance(file.get("sha256"), str) else None,
        _status(record),
        int(bool(record.get("gave_up"))),
        str(model.get("weights_sha256") or ""),
        encode(sidecar.name),
        sidecar_st.st_size,
        sidecar_st.st_mtime_ns,
        str(when or ""),
        json.dumps(labels),
        json.dumps(tags),
        json.dumps(albums),
        error,
        words_of(os.fsdecode(image.name), (n for n, _ in labels), tags, albums) if ok else "",
    )


def from_row(row: Sequence[Any]) -> IndexedFile:
    return IndexedFile(
        path=Path(os.fsdecode(row[0])) / os.fsdecode(row[1]),
        size=row[2],
        mtime_ns=row[3],
        inode=row[4],
        sha256=row[5],
        status=row[6],
        gave_up=bool(row[7]),
        model_sha=row[8],
        sidecar_name=os.fsdecode(row[9]),
        sidecar_size=row[10],
        sidecar_mtime_ns=row[11],
        happened_at=row[12],
        labels=tuple((str(n), float(s)) for n, s in json.loads(row[13])),
        tags=tuple(json.loads(row[14])),
        albums=tuple(json.loads(row[15])),
        error=row[16],
    )


KNOWN_COLUMNS = (
    "size, mtime_ns, inode, sha256, status, gave_up, model_sha, sidecar_name, sidecar_size, "
    "sidecar_mtime_ns"
)


def to_known(row: Sequence[Any], model_sha: str | None) -> KnownFile:
    size, mtime, inode, sha, status, gave_up, model, sc_name, sc_size, sc_mtime = row
    ok = status == "ok" and (model_sha is None or model == model_sha)
    return KnownFile(
        size, mtime, inode, sha, ok or bool(gave_up), os.fsdecode(sc_name), sc_size, sc_mtime
    )
