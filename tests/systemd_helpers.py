"""systemd-analyze for unit tests: verify a unit file and read its security exposure."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

MAX_EXPOSURE = 2.0


def systemd_analyze() -> str:
    """Path of systemd-analyze; skipped where it is missing, except in CI (CI=true), which fails."""
    found = shutil.which("systemd-analyze")
    if found is None:
        message = "systemd-analyze not installed (Debian package: systemd)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must install it")
        pytest.skip(message)
    return found


def run_analyze(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [systemd_analyze(), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice", "SYSTEMD_PAGER": "", **(env or {})},
        check=False,
    )


def write_unit(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "resnet-watch.service"
    path.write_text(text, encoding="utf-8")
    return path


def assert_verifies(unit: Path, *extra: str, env: dict[str, str] | None = None) -> None:
    # verify exits 0 even for lines it ignores ("Failed to parse ..., ignoring"), so the
    # output must say nothing about our unit either.
    result = run_analyze("verify", "--man=no", *extra, str(unit), env=env)
    ours = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if "resnet-watch" in line or str(unit.parent) in line
    ]
    assert result.returncode == 0, result.stdout + result.stderr
    assert ours == []


def exposure(unit: Path, *extra: str, env: dict[str, str] | None = None) -> float:
    result = run_analyze("security", "--offline=true", *extra, str(unit), env=env)
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match.group(1))
