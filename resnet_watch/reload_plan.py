"""Which settings SIGHUP can change in a running daemon, and which need a restart.

A reload must never half-apply: the daemon keeps running the old value of every key
it cannot change live and names those keys, so ``resnet-watch reload`` and the log say
what still waits for a restart. Pure functions over Config.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from resnet_watch.config import Config

__all__ = ["RELOADABLE", "ReloadPlan", "plan_reload"]

# Settings SIGHUP can apply to a running daemon; everything else needs a restart.
RELOADABLE = frozenset(
    {"log", "model.top_k", "model.min_score", "pipeline.retries"}
    | {"pipeline.retry_backoff_seconds", "pipeline.batch_wait_ms"}
    | {"custom.head", "custom.screenshots"}  # the head file is re-read on SIGHUP
)


@dataclass(frozen=True)
class ReloadPlan:
    """What a reload does: the config to run from now on and the changed keys."""

    config: Config
    applied: list[str]
    needs_restart: list[str]


def plan_reload(running: Config, new: Config) -> ReloadPlan:
    """``running`` with ``new``'s reloadable values; the other changed keys wait.

    Compared against what runs, not against the file read last time, so a later reload
    reports only keys whose file value still differs from the running one.
    """
    now, wanted = _flatten(running), _flatten(new)
    changed = sorted(k for k in wanted if k != "source" and wanted[k] != now.get(k))
    return ReloadPlan(
        config=_with_reloadable(running, new),
        applied=[k for k in changed if _reloadable(k)],
        needs_restart=[k for k in changed if not _reloadable(k)],
    )


def _reloadable(key: str) -> bool:
    return key in RELOADABLE or key.split(".")[0] in RELOADABLE


def _with_reloadable(running: Config, new: Config) -> Config:
    """``running`` with the reloadable settings of ``new``; the rest stays as it runs."""
    sections: dict[str, Any] = {}
    for key in sorted(RELOADABLE):
        section, _, name = key.partition(".")
        if not name:
            sections[section] = getattr(new, section)
            continue
        current = sections.get(section, getattr(running, section))
        value = getattr(getattr(new, section), name)
        sections[section] = dataclasses.replace(current, **{name: value})
    return dataclasses.replace(running, **sections)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            out.update(_flatten(getattr(obj, f.name), f"{prefix}{f.name}."))
        return out
    out[prefix.rstrip(".")] = obj
    return out
