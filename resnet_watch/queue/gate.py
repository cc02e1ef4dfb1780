"""What a photo's sidecar says before a task goes out and before a reply is written.

The dispatcher asks twice: before sending (a photo whose sidecar is current costs no
round trip to a worker) and before writing a reply (a redelivered task's second reply
writes nothing). Both answers are ``policy.decide`` with the dispatcher's settings and
the workers' model; no Redis and no threads here, so the rules read in one place.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_watch.imaging import hash_file
from resnet_watch.models.spec import ModelInfo
from resnet_watch.outcomes import Failed, Skipped
from resnet_watch.policy import Decision, decide
from resnet_watch.queue.task import Task
from resnet_watch.sidecar import FileFacts, read_sidecar, sidecar_path

__all__ = ["UNKNOWN_MODEL", "TaskGate"]

UNKNOWN_MODEL = ModelInfo("unknown", "", "", "", "", "")
"""Stands in for the workers' model until one has reported it: never written anywhere."""


@dataclass(frozen=True)
class TaskGate:
    """The skip / wait / send rule for one library (sidecar suffix, retries, model change)."""

    suffix: str
    retries: int
    reclassify_on_model_change: bool
    reply_to: str  # the reply list every task names

    def task_for(self, path: Path, model: ModelInfo | None) -> Task | Skipped | Failed:
        """The task for ``path``, or what to record instead.

        A ``Skipped`` with ``retry_in`` set is not done yet: try again then (it never
        reaches the sink). ``model`` is None until a worker has reported one; then a
        model change alone does not send a photo again.
        """
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return Skipped(path, "vanished")
        except OSError as exc:
            return Failed(path, None, "unreadable_file", f"cannot stat: {exc.strerror}", 0)
        facts = FileFacts.from_stat(path, st)
        record = read_sidecar(sidecar_path(path, self.suffix))
        decision = self._decide(record, facts, model)
        if decision.action == "check_hash":
            with contextlib.suppress(OSError):
                facts = FileFacts(facts.name, facts.size, facts.mtime_ns, hash_file(path))
                decision = self._decide(record, facts, model)
                if decision.action == "skip":
                    decision = Decision("skip", "same_content")
        if decision.action == "skip":
            return Skipped(path, decision.reason, facts)
        if decision.action == "wait":
            return Skipped(path, decision.reason, facts, retry_in=decision.wait_seconds)
        return Task(str(path), facts.size, facts.mtime_ns, facts.sha256, self.reply_to)

    def already_written(self, path: Path, facts: FileFacts, model: ModelInfo | None) -> bool:
        """True when ``path``'s sidecar already holds this result (a duplicate reply)."""
        record = read_sidecar(sidecar_path(path, self.suffix))
        if record is None or record.get("status") != "ok" or model is None:
            return False
        return self._decide(record, facts, model).action == "skip"

    def _decide(
        self, record: Mapping[str, Any] | None, facts: FileFacts, model: ModelInfo | None
    ) -> Decision:
        """``policy.decide`` with this library's settings; no model yet: no model change."""
        return decide(
            record,
            facts,
            model or UNKNOWN_MODEL,
            retries=self.retries,
            reclassify_on_model_change=self.reclassify_on_model_change and model is not None,
        )
