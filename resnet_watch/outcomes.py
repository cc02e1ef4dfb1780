"""What happened to one image, and the sink that records it.

The pipeline (local model) and the queue dispatcher (remote workers) both produce these
records; the store writes them. Keeping them here lets the store depend on the records
without depending on the pipeline that makes them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import structlog

from resnet_watch.models.spec import Label
from resnet_watch.policy import Decision
from resnet_watch.sidecar import FileFacts

__all__ = [
    "SINK_RETRY_SECONDS",
    "Classified",
    "Failed",
    "Gate",
    "Outcome",
    "Sink",
    "Skipped",
    "sink_or_fail",
]

_log = structlog.get_logger("resnet_watch.images")


@dataclass(frozen=True)
class Classified:
    path: Path
    facts: FileFacts
    width: int
    height: int
    format: str
    labels: list[Label]
    elapsed_ms: float
    # the model's pooled feature vector: custom classes and near-duplicates read it later
    features: npt.NDArray[np.float32] | None = None
    source: str = "decoded"  # imaging's Source: decoded / preview / demosaiced


@dataclass(frozen=True)
class Failed:
    path: Path
    facts: FileFacts | None
    kind: str
    message: str
    elapsed_ms: float


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str
    facts: FileFacts | None = None
    retry_in: float | None = None  # set: not done, try again then (never reaches the sink)


Outcome = Classified | Failed | Skipped
Gate = Callable[[Path, FileFacts], Decision]
Sink = Callable[[Outcome], "float | None"]  # returns seconds until a retry, or None


SINK_RETRY_SECONDS = 60.0
"""When even recording a failure raised, the image is tried again after this long."""


def sink_or_fail(sink: Sink, outcome: Outcome) -> tuple[Outcome, float | None]:
    """Hand ``outcome`` to the sink; a sink that raises fails the image, visibly.

    A bug while recording a result (enriching, writing) must not lose the image without a
    trace: it is recorded again as an ``internal_error`` failure, which the sink writes as a
    failure record, logs as ``image_failed`` and schedules for retry. If even that raises,
    the image is retried after ``SINK_RETRY_SECONDS``. Returns what was recorded and its
    retry delay. The queue dispatcher records its workers' results the same way.
    """
    try:
        return outcome, sink(outcome)
    except Exception as exc:
        _log.error(
            "sink_failed", path=str(outcome.path), outcome=type(outcome).__name__, exc_info=True
        )
        message = f"{type(exc).__name__}: {exc}"
    facts = outcome.facts
    elapsed = outcome.elapsed_ms if isinstance(outcome, Classified | Failed) else 0.0
    failed = Failed(outcome.path, facts, "internal_error", message, elapsed)
    try:
        return failed, sink(failed)
    except Exception:
        _log.error("sink_failed", path=str(outcome.path), outcome="Failed", exc_info=True)
        return failed, SINK_RETRY_SECONDS
