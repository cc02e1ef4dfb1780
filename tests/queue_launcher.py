"""TEST ONLY: `resnet-watch worker` on the fake colour classifier, with a crash hook.

The product has no switch for either. Fault tests start workers through this module
(``python -m tests.queue_launcher worker --config ...``):

- ``models.load_classifier`` returns ``tests.fakes.FakeClassifier`` (no torch; sidecars say
  ``"fixture": true``), slowed by ``RW_TEST_FAKE_DELAY`` seconds per image so a test can kill
  a process mid-task.
- ``TEST_ONLY_crash_hook`` SIGKILLs the worker process about to decode any file whose name
  contains ``poison`` (a decoder that segfaults, the OOM killer), and first appends a line to
  ``RW_TEST_CRASH_LOG`` so the test can count the crashes.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

import resnet_watch.models as models
from resnet_watch.cli import main
from resnet_watch.queue.runner import TaskRunner
from tests.fakes import FakeClassifier


def _fake_classifier(*_args: Any, **_kwargs: Any) -> tuple[FakeClassifier, str]:
    return FakeClassifier(delay=float(os.environ.get("RW_TEST_FAKE_DELAY", "0"))), "test double"


def TEST_ONLY_crash_hook(self: TaskRunner, local: Path) -> None:
    if "poison" in local.name:
        log = os.environ.get("RW_TEST_CRASH_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"{os.getpid()} {local}\n")
        os.kill(os.getpid(), signal.SIGKILL)


models.load_classifier = _fake_classifier  # type: ignore[assignment]
TaskRunner._before_decode = TEST_ONLY_crash_hook  # type: ignore[method-assign]

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
