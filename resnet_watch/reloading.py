"""A synchronous ``systemctl reload``: ExecReload= returns once the daemon has reloaded.

``ExecReload=kill -HUP $MAINPID`` returns before the daemon has even read the file, so
``systemctl reload resnet-watch && next-step`` raced the reload (by ~0.8 s).
``Type=notify-reload`` fixes that in systemd >= 253, but Debian 12 ships 252. So the unit
runs ``resnet-watch reload --pid $MAINPID``: it reads the daemon's last reload result from
``$RUNTIME_DIRECTORY/reload.json``, sends SIGHUP, and waits for a newer result, failing
(and so failing ``systemctl reload``) when the daemon refused the new config.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from resnet_watch import fsutil

__all__ = [
    "STATUS_NAME",
    "ReloadResult",
    "read_result",
    "request_reload",
    "runtime_dir",
    "write_result",
]

STATUS_NAME = "reload.json"


@dataclass(frozen=True)
class ReloadResult:
    """What one SIGHUP did, as the daemon records it."""

    pid: int
    generation: int  # 1 for the first reload of this process
    ok: bool  # False: the new config was refused and the old one kept
    applied: tuple[str, ...] = ()
    needs_restart: tuple[str, ...] = ()
    error: str = ""

    def summary(self) -> str:
        if not self.ok:
            return f"reload refused, old config kept: {self.error}"
        text = f"reloaded; applied: {', '.join(self.applied) or 'nothing changed'}"
        if self.needs_restart:
            text += f"; needs a restart: {', '.join(self.needs_restart)}"
        return text


def runtime_dir(environ: Mapping[str, str] = os.environ) -> Path | None:
    """systemd's ``$RUNTIME_DIRECTORY`` (the first, if several), else None."""
    value = environ.get("RUNTIME_DIRECTORY", "")
    first = value.split(":", 1)[0]
    return Path(first) if first else None


def write_result(directory: Path | None, result: ReloadResult) -> None:
    """Record ``result`` atomically; a no-op outside systemd (no runtime directory)."""
    if directory is None:
        return
    data = json.dumps(asdict(result), sort_keys=True).encode("utf-8")
    fsutil.atomic_write_bytes(directory / STATUS_NAME, data, 0o644)


def read_result(directory: Path) -> ReloadResult | None:
    """The last recorded result, or None when there is none (or it is unreadable)."""
    try:
        raw = json.loads((directory / STATUS_NAME).read_bytes())
        return ReloadResult(
            pid=int(raw["pid"]),
            generation=int(raw["generation"]),
            ok=bool(raw["ok"]),
            applied=tuple(str(k) for k in raw.get("applied", ())),
            needs_restart=tuple(str(k) for k in raw.get("needs_restart", ())),
            error=str(raw.get("error", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def request_reload(
    pid: int,
    directory: Path,
    timeout: float,
    *,
    send: Callable[[int, int], None] = os.kill,
    clock: Callable[[], float] = time.monotonic,
    poll: float = 0.05,
) -> ReloadResult:
    """SIGHUP ``pid`` and wait until it records a reload newer than the one before.

    Raises TimeoutError when nothing new is recorded within ``timeout`` seconds.
    """
    before = read_result(directory)
    seen = before.generation if before is not None and before.pid == pid else 0
    send(pid, signal.SIGHUP)
    deadline = clock() + timeout
    while True:
        result = read_result(directory)
        if result is not None and result.pid == pid and result.generation > seen:
            return result
        if clock() >= deadline:
            raise TimeoutError(f"process {pid} did not report a reload within {timeout:g} s")
        time.sleep(poll)
