"""What a test needs from the machine: skipped on a developer's box, a failure in CI.

``.ci/run`` exports ``CI=true`` and ``scripts/dev test`` installs every Debian tool the
tests use, so in CI a missing tool or package is a broken setup, never a quiet skip.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["need"]


def need(present: bool, message: str) -> None:
    """Skip (or, with CI=true, fail) the calling test unless ``present``."""
    if present:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI must provide it")
    pytest.skip(message)
