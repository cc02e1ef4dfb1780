"""Whether Redis answers, said once per change, and whether it restarted.

Both of the dispatcher's threads talk to Redis and either may see it fail many times in
an outage; the log gets one ``queue_unreachable`` when it starts and one
``queue_reachable`` when it ends. A new ``run_id`` means Redis restarted and may have
lost queued tasks and replies, which the dispatcher answers by sending its tasks again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["RedisHealth"]


class RedisHealth:
    """Reachability as the last call to Redis found it (/healthz and doctor read it)."""

    def __init__(self, log: Any, describe: Callable[[], dict[str, int]]) -> None:
        """``describe`` gives the fields logged with ``queue_unreachable`` (what we hold)."""
        self._log = log
        self._describe = describe
        self.reachable = True
        self.error = ""
        self._down_since: float | None = None
        self._run_id: str | None = None

    def failed(self, exc: BaseException) -> None:
        """A call to Redis raised: the first failure of an outage is logged."""
        if self.reachable:
            self.reachable, self._down_since = False, time.monotonic()
            self.error = f"{type(exc).__name__}: {exc}"
            self._log.error("queue_unreachable", error=self.error, **self._describe())

    def answered(self) -> None:
        """A call to Redis succeeded: the end of an outage is logged with its length."""
        if not self.reachable:
            down = time.monotonic() - (self._down_since or time.monotonic())
            self.reachable, self._down_since, self.error = True, None, ""
            self._log.info("queue_reachable", down_seconds=round(down, 1))

    def restarted(self, run_id: str) -> bool:
        """True when ``run_id`` differs from the one seen before (never on the first look)."""
        previous, self._run_id = self._run_id, run_id
        return previous is not None and run_id != previous
