"""Whether an image needs work, and what to do after a failure: pure decisions.

The existing sidecar is the only state: a result for the same file version
and model means skip; a failure record means retry with back-off until
``retries`` attempts, then leave the file alone until it changes (size or
mtime) or the user runs ``resnet-watch retry``. This is what stops a poison
file from being re-classified forever.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from resnet_watch.models.spec import ModelInfo
from resnet_watch.sidecar import FileFacts

__all__ = ["PERMANENT_KINDS", "Decision", "RetryPlan", "decide", "plan_retry"]

# Failures that another attempt on the same bytes cannot fix.
PERMANENT_KINDS = frozenset(
    {"unsupported_format", "too_large", "symlink_not_followed", "worker_crashed"}
)

Action = Literal["process", "skip", "wait", "check_hash"]


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    wait_seconds: float = 0.0


def _same_version(record: Mapping[str, Any], facts: FileFacts) -> bool:
    file = record.get("file") or {}
    return bool(file.get("size") == facts.size and file.get("mtime_ns") == facts.mtime_ns)


def _same_model(record: Mapping[str, Any], model: ModelInfo) -> bool:
    rec = record.get("model") or {}
    return bool(rec.get("name") == model.name and rec.get("weights_sha256") == model.weights_sha256)


def _parse_time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def decide(
    record: Mapping[str, Any] | None,
    facts: FileFacts,
    model: ModelInfo,
    *,
    retries: int,
    reclassify_on_model_change: bool,
    now: dt.datetime | None = None,
    required_fields: Collection[str] = (),
) -> Decision:
    """What to do with an image given its current sidecar (None when missing or corrupt).

    ``check_hash`` means: the size/mtime changed, hash the content and compare
    with ``record["file"]["sha256"]`` before deciding to classify again.
    ``required_fields`` are what the config adds to a result (tags, albums): a result
    without them (an old ``classify --write-sidecars``) is not up to date.
    """
    if record is None:
        return Decision("process", "no_sidecar")
    now = now or dt.datetime.now(dt.UTC)
    status = record.get("status")
    if status == "ok":
        model_ok = _same_model(record, model) or not reclassify_on_model_change
        if not model_ok:
            return Decision("process", "model_changed")
        if any(key not in record for key in required_fields):
            return Decision("process", "extras_missing")
        if _same_version(record, facts):
            return Decision("skip", "up_to_date")
        if facts.sha256 is not None:
            old = (record.get("file") or {}).get("sha256")
            if facts.sha256 == old:
                return Decision("skip", "same_content")
            return Decision("process", "file_changed")
        return Decision("check_hash", "file_changed")
    # a failure record
    if not _same_version(record, facts):
        return Decision("process", "file_changed")
    attempts = int(record.get("attempts") or 0)
    if record.get("gave_up") or attempts >= retries:
        return Decision("skip", "failed_before")
    due = _parse_time(record.get("next_retry_at"))
    if due is not None and due > now:
        return Decision("wait", "retry_scheduled", (due - now).total_seconds())
    return Decision("process", "retry_due")


@dataclass(frozen=True)
class RetryPlan:
    attempts: int
    gave_up: bool
    retry_in: float | None  # seconds until the next attempt, None when giving up

    def next_retry_at(self, now: dt.datetime | None = None) -> str | None:
        if self.retry_in is None:
            return None
        now = now or dt.datetime.now(dt.UTC)
        when = now + dt.timedelta(seconds=self.retry_in)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_retry(
    previous: Mapping[str, Any] | None,
    facts: FileFacts,
    kind: str,
    *,
    retries: int,
    backoff_seconds: float,
) -> RetryPlan:
    """Count this failure and pick the back-off: ``backoff * 2**(attempts-1)``."""
    attempts = 1
    if (
        previous is not None
        and previous.get("status") == "failed"
        and _same_version(previous, facts)
    ):
        attempts = int(previous.get("attempts") or 0) + 1
    if kind in PERMANENT_KINDS or attempts >= retries:
        return RetryPlan(attempts, True, None)
    return RetryPlan(attempts, False, backoff_seconds * (2 ** (attempts - 1)))
