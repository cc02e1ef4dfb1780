"""Run a command as an unprivileged user, so permission checks mean something under root.

Root reads every file regardless of its mode, so a test of "this folder is unreadable"
proves nothing as root. As root the command runs as ``nobody`` through ``setpriv``
(util-linux); as anyone else it runs as is. Files the command must reach go under
``shared_tmp()``, a world-traversable folder (pytest's tmp_path is private to root).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

NOBODY = 65534


def as_unprivileged(argv: list[str]) -> list[str]:
    """``argv`` to run without root (as nobody when we are root)."""
    if os.geteuid() != 0:
        return argv
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run this test unprivileged as root"
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]


def give_away(path: Path) -> None:
    """Make ``path`` belong to the unprivileged user (a no-op when we are not root)."""
    if os.geteuid() == 0:
        os.chown(path, NOBODY, NOBODY)


def shared_tmp() -> Path:
    """A fresh folder every user can traverse; the caller removes it."""
    base = Path(tempfile.mkdtemp(prefix="rw-unpriv-"))
    base.chmod(0o755)
    return base
