"""What travels through Redis: a task (path + content facts) and a worker's reply.

Pure data and pure functions, no Celery or Redis import, so both sides and the
tests share one definition. A task never carries image bytes: workers read the
photo through a shared mount, and ``map_path`` turns the watcher's path into the
worker machine's own (``queue.path_map``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from resnet_watch.models.spec import Label, ModelInfo
from resnet_watch.sidecar import FileFacts

__all__ = [
    "TASK_NAME",
    "Reply",
    "ReplyStatus",
    "Task",
    "deliveries_key",
    "map_path",
    "model_from_json",
    "model_key",
    "model_to_json",
    "reply_key",
]

TASK_NAME = "resnet_watch.classify"

ReplyStatus = Literal["ok", "failed", "skipped"]


def reply_key(prefix: str) -> str:
    """The Redis list a watcher reads its results from."""
    return f"{prefix}:results"


def deliveries_key(prefix: str, sha256: str) -> str:
    """How many times a worker started on these bytes without finishing (poison files)."""
    return f"{prefix}:deliveries:{sha256}"


def model_key(prefix: str) -> str:
    """The model the workers run, so the watcher's skip decisions match theirs."""
    return f"{prefix}:model"


def map_path(path: str, path_map: Mapping[str, Any] | None) -> Path:
    """The watcher's ``path`` as this machine sees it: the longest matching prefix wins."""
    roots = {(k.rstrip("/") or "/"): str(v) for k, v in (path_map or {}).items()}
    for root in sorted(roots, key=len, reverse=True):
        if path == root or path.startswith(root.rstrip("/") + "/"):
            rest = path[len(root) :].lstrip("/")
            return Path(roots[root]) / rest if rest else Path(roots[root])
    return Path(path)


@dataclass(frozen=True)
class Task:
    """One photo to classify: the watcher's path and what it saw of the file."""

    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    reply_to: str

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
            "sha256": self.sha256,
            "reply_to": self.reply_to,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Task:
        sha = data.get("sha256")
        return cls(
            path=str(data["path"]),
            size=int(data["size"]),
            mtime_ns=int(data["mtime_ns"]),
            sha256=str(sha) if sha else None,
            reply_to=str(data["reply_to"]),
        )


def model_to_json(info: ModelInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "precision": info.precision,
        "runtime": info.runtime,
        "engine": info.engine,
        "weights_sha256": info.weights_sha256,
        "weights_source": info.weights_source,
        "fixture": info.fixture,
    }


def model_from_json(data: Mapping[str, Any]) -> ModelInfo:
    return ModelInfo(
        name=str(data["name"]),
        precision=str(data["precision"]),
        runtime=str(data["runtime"]),
        engine=str(data["engine"]),
        weights_sha256=str(data["weights_sha256"]),
        weights_source=str(data["weights_source"]),
        fixture=bool(data.get("fixture", False)),
    )


@dataclass(frozen=True)
class Reply:
    """A worker's answer for one task; the watcher turns it into sidecars.

    ``facts`` are the watcher's size and mtime (its skip decisions compare its own
    stat) with the sha256 the worker computed.
    """

    path: str
    status: ReplyStatus
    facts: FileFacts
    model: ModelInfo | None
    worker: str
    elapsed_ms: float = 0.0
    width: int = 0
    height: int = 0
    format: str = ""
    labels: tuple[Label, ...] = ()
    kind: str = ""  # failed: the error kind; skipped: the reason
    message: str = ""
    # ok: the sidecar's "embedding" field (embedding.encode: int8 + scale, ~1.7 kB), so the
    # watcher's sidecar has the vector custom classes and dupes read; None from old workers
    embedding: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "file": {
                "name": self.facts.name,
                "size": self.facts.size,
                "mtime_ns": self.facts.mtime_ns,
                "sha256": self.facts.sha256,
            },
            "model": model_to_json(self.model) if self.model is not None else None,
            "worker": self.worker,
            "elapsed_ms": round(self.elapsed_ms, 2),
            "image": {"width": self.width, "height": self.height, "format": self.format},
            "labels": [
                {"rank": x.rank, "index": x.index, "wnid": x.wnid, "name": x.name, "score": x.score}
                for x in self.labels
            ],
            "kind": self.kind,
            "message": self.message,
            "embedding": dict(self.embedding) if self.embedding is not None else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reply:
        file = data["file"]
        image = data.get("image") or {}
        status = data["status"]
        if status not in ("ok", "failed", "skipped"):
            raise ValueError(f"unknown reply status {status!r}")
        model = data.get("model")
        return cls(
            path=str(data["path"]),
            status=status,
            facts=FileFacts(
                str(file["name"]),
                int(file["size"]),
                int(file["mtime_ns"]),
                str(file["sha256"]) if file.get("sha256") else None,
            ),
            model=model_from_json(model) if model else None,
            worker=str(data.get("worker", "")),
            elapsed_ms=float(data.get("elapsed_ms", 0.0)),
            width=int(image.get("width", 0)),
            height=int(image.get("height", 0)),
            format=str(image.get("format", "")),
            labels=tuple(
                Label(int(x["rank"]), int(x["index"]), str(x["wnid"]), str(x["name"]), x["score"])
                for x in data.get("labels") or []
            ),
            kind=str(data.get("kind", "")),
            message=str(data.get("message", "")),
            embedding=embedding if isinstance(embedding := data.get("embedding"), dict) else None,
        )
