"""The JSON sidecar: its schema, its name next to the image, and atomic writes.

A sidecar is ``<image name><suffix>`` (default ``IMG_1.jpg.resnet-watch.json``),
a name no photo app mistakes for the image's own metadata. It is either a
result (``status: "ok"``) or a failure record (``status: "failed"``); both
carry the file's size, mtime and (when it could be read) sha256, which is
what makes re-runs idempotent.

Writes go to a temp file in the same folder, are fsynced, then renamed over
the old sidecar, so a reader (or a crash) only ever sees a whole file.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_watch import __version__, fsutil
from resnet_watch.errors import SidecarError
from resnet_watch.models.spec import Label, ModelInfo

__all__ = [
    "SCHEMA_VERSION",
    "TEMP_PREFIX",
    "FileFacts",
    "atomic_write_bytes",
    "failure_record",
    "image_for",
    "read_sidecar",
    "result_record",
    "sidecar_path",
    "sweep_temp_files",
    "utc_now",
    "validate_record",
    "write_sidecar",
]

SCHEMA_VERSION = 1
TEMP_PREFIX = fsutil.TEMP_PREFIX
NAME_MAX = 255


@dataclass(frozen=True)
class FileFacts:
    """What identifies one version of an image file."""

    name: str
    size: int
    mtime_ns: int
    sha256: str | None = None

    @classmethod
    def from_stat(cls, path: Path, st: os.stat_result, sha256: str | None = None) -> FileFacts:
        return cls(path.name, st.st_size, st.st_mtime_ns, sha256)


def utc_now() -> str:
    """UTC time as ISO-8601 with a Z, second precision plus milliseconds."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def sidecar_path(image: Path, suffix: str) -> Path:
    """``image`` + ``suffix``; names too long for the filesystem get a short hashed stem.

    The full original name is recorded inside the sidecar, so nothing is lost.
    """
    name = image.name + suffix
    if len(os.fsencode(name)) <= NAME_MAX:
        return image.with_name(name)
    digest = hashlib.sha256(os.fsencode(image.name)).hexdigest()[:12]
    room = NAME_MAX - len(os.fsencode(suffix)) - len(digest) - 1
    stem = os.fsencode(image.name)[:room].decode("utf-8", "ignore")
    return image.with_name(f"{stem}~{digest}{suffix}")


def image_for(sidecar: Path, record: Mapping[str, Any], suffix: str) -> Path | None:
    """The image ``sidecar`` belongs to, judged by the sidecar's own path; None if the
    record names another file.

    Anyone who can write to the inbox can plant a sidecar, so its ``file.name`` is only
    trusted when it is a plain name whose sidecar is this very file (``sidecar_path``
    round-trips): ``../../etc/passwd``, ``..`` or a name from another folder never is.
    The recorded name matters only for names too long for the filesystem, whose sidecar
    has a hashed stem.
    """
    file = record.get("file")
    name = file.get("name") if isinstance(file, Mapping) else None
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\0" in name:
        return None
    image = sidecar.with_name(name)
    return image if sidecar_path(image, suffix) == sidecar else None


def _model_fields(model: ModelInfo) -> dict[str, Any]:
    return {
        "name": model.name,
        "precision": model.precision,
        "runtime": model.runtime,
        "engine": model.engine,
        "weights_sha256": model.weights_sha256,
        "weights_source": model.weights_source,
        "fixture": model.fixture,
    }


def _file_fields(facts: FileFacts) -> dict[str, Any]:
    return {
        "name": facts.name,
        "size": facts.size,
        "mtime_ns": facts.mtime_ns,
        "sha256": facts.sha256,
    }


def result_record(
    facts: FileFacts,
    *,
    width: int,
    height: int,
    fmt: str,
    labels: Sequence[Label],
    model: ModelInfo,
    elapsed_ms: float,
    extra: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """The sidecar for a classified image; ``source``: which pixels were classified."""
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "status": "ok",
        "file": _file_fields(facts),
        "image": {"width": width, "height": height, "format": fmt}
        | ({"source": source} if source is not None else {}),
        "labels": [
            {
                "rank": lab.rank,
                "index": lab.index,
                "wnid": lab.wnid,
                "name": lab.name,
                "score": round(lab.score, 6),
            }
            for lab in labels
        ],
        "model": _model_fields(model),
        "elapsed_ms": round(elapsed_ms, 2),
        "classified_at": utc_now(),
        "generator": f"resnet-watch {__version__}",
    }
    if extra:
        record.update(extra)
    return record


def failure_record(
    facts: FileFacts,
    *,
    kind: str,
    message: str,
    attempts: int,
    gave_up: bool,
    next_retry_at: str | None,
    model: ModelInfo | None,
) -> dict[str, Any]:
    """The sidecar for an image that could not be classified (yet)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "status": "failed",
        "file": _file_fields(facts),
        "error": {"kind": kind, "message": message},
        "attempts": attempts,
        "gave_up": gave_up,
        "next_retry_at": next_retry_at,
        "model": _model_fields(model) if model is not None else None,
        "failed_at": utc_now(),
        "generator": f"resnet-watch {__version__}",
    }


_REQUIRED = {
    "ok": ("schema_version", "status", "file", "image", "labels", "model", "classified_at"),
    "failed": ("schema_version", "status", "file", "error", "attempts", "gave_up"),
}


def validate_record(record: Any) -> list[str]:
    """Problems with a sidecar's structure; empty when it is schema-valid."""
    if not isinstance(record, dict):
        return ["not a JSON object"]
    status = record.get("status")
    if status not in _REQUIRED:
        return [f"unknown status {status!r}"]
    problems = [f"missing {key}" for key in _REQUIRED[status] if key not in record]
    if record.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema_version {record.get('schema_version')!r}")
    file = record.get("file")
    if not isinstance(file, dict) or not {"name", "size", "mtime_ns"} <= file.keys():
        problems.append("file must have name, size, mtime_ns")
    if status == "ok":
        labels = record.get("labels")
        if not isinstance(labels, list) or not all(
            isinstance(x, dict) and {"rank", "index", "wnid", "name", "score"} <= x.keys()
            for x in labels
        ):
            problems.append("labels must be a list of {rank, index, wnid, name, score}")
    return problems


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """The sidecar's record, or None if it is missing, unreadable, corrupt or not ours.

    A corrupt sidecar is treated as absent: the image is classified again and
    the bad file replaced, rather than the daemon giving up on the image.
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read(4 * 1024 * 1024)
    except OSError:
        return None
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if validate_record(record):
        return None
    assert isinstance(record, dict)
    return record


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` via temp file + fsync + rename; never a partial file.

    Raises SidecarError (and removes the temp file) on any OS error, e.g.
    ENOSPC or a read-only folder.
    """
    try:
        fsutil.atomic_write_bytes(path, data, mode)
    except OSError as exc:
        reason = errno.errorcode.get(exc.errno or 0, "error")
        raise SidecarError(f"cannot write {path.name}: {exc.strerror or exc} ({reason})") from exc


def write_sidecar(path: Path, record: Mapping[str, Any]) -> None:
    """Serialize and atomically write one sidecar record."""
    data = json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    atomic_write_bytes(path, data)


def sweep_temp_files(roots: Sequence[Path], *, recursive: bool = True) -> Iterator[Path]:
    """Remove temp files a killed writer left behind; yields each removed path."""
    found = fsutil.walk_files(roots, lambda name: name.startswith(TEMP_PREFIX), recursive=recursive)
    for path in found:
        try:
            os.unlink(path)
        except OSError:
            continue
        yield path
