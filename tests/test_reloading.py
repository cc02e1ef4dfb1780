"""`resnet-watch reload` (the unit's ExecReload=) returns once the daemon has reloaded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from resnet_watch.reloading import ReloadResult, read_result, request_reload, write_result
from tests.daemon_helpers import DaemonProcess, read_sidecar_json, wait_until
from tests.hostile import photo


def reload_cli(d: DaemonProcess) -> subprocess.CompletedProcess[str]:
    assert d.proc is not None
    return subprocess.run(
        [sys.executable, "-m", "resnet_watch", "reload", "--pid", str(d.proc.pid)],
        env=d.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_reload_is_applied_when_the_command_returns(tmp_path: Path) -> None:
    """After `reload` returns, retries apply to new failures; a later reload repeats nothing."""
    run = tmp_path / "run"
    run.mkdir()
    d = DaemonProcess(tmp_path, env={"RUNTIME_DIRECTORY": str(run)}).start()
    cfg = yaml.safe_load(d.config.read_text())
    cfg["pipeline"]["retries"] = 1
    cfg["inbox"]["recursive"] = False
    d.config.write_text(yaml.safe_dump(cfg))

    done = reload_cli(d)
    assert done.returncode == 0, done.stderr
    # synchronous: the daemon's own record of the reload is there already, no waiting
    event = d.events("config_reloaded")[-1]
    assert event["applied"] == ["pipeline.retries"]
    assert event["needs_restart"] == ["inbox.recursive"]
    assert "pipeline.retries" in done.stdout and "inbox.recursive" in done.stdout

    broken = d.inbox / "broken.jpg"
    staged = tmp_path / "whole.jpg"
    photo((320, 240)).save(staged)
    data = bytearray(staged.read_bytes())
    broken.write_bytes(bytes(data[: len(data) // 2]))
    record = wait_until(lambda: read_sidecar_json(broken), 60, "failure record")
    assert record["status"] == "failed" and record["attempts"] == 1
    assert record["gave_up"] is True  # retries: 1 now holds in the store too

    again = reload_cli(d)
    assert again.returncode == 0, again.stderr
    second = d.events("config_reloaded")[-1]
    assert second["applied"] == [] and second["needs_restart"] == ["inbox.recursive"]
    assert d.stop() == 0


def test_a_refused_config_fails_the_reload(tmp_path: Path) -> None:
    """An invalid config.yaml: `reload` exits 1 saying why; the daemon keeps running."""
    run = tmp_path / "run"
    run.mkdir()
    d = DaemonProcess(tmp_path, env={"RUNTIME_DIRECTORY": str(run)}).start()
    cfg = yaml.safe_load(d.config.read_text())
    cfg["model"]["top_k"] = -3
    d.config.write_text(yaml.safe_dump(cfg))
    done = reload_cli(d)
    assert done.returncode == 1
    assert "model.top_k" in done.stdout + done.stderr
    assert d.proc is not None and d.proc.poll() is None
    assert d.stop() == 0


def test_reload_outside_systemd_says_to_use_kill(tmp_path: Path) -> None:
    """Without $RUNTIME_DIRECTORY there is nothing to wait on: exit 2 naming kill -HUP."""
    env = {k: v for k, v in os.environ.items() if k != "RUNTIME_DIRECTORY"}
    done = subprocess.run(
        [sys.executable, "-m", "resnet_watch", "reload", "--pid", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "kill -HUP 1" in done.stderr


def test_request_reload_waits_for_a_newer_result(tmp_path: Path) -> None:
    """An old result of the same pid does not count; a newer one ends the wait."""
    write_result(tmp_path, ReloadResult(pid=42, generation=3, ok=True))
    sent: list[tuple[int, int]] = []

    def send(pid: int, sig: int) -> None:
        sent.append((pid, sig))
        write_result(tmp_path, ReloadResult(pid=42, generation=4, ok=True, applied=("log",)))

    result = request_reload(42, tmp_path, timeout=5, send=send)
    assert sent == [(42, signal.SIGHUP)] and result.generation == 4
    assert read_result(tmp_path) == result


def test_request_reload_times_out_when_nothing_is_recorded(tmp_path: Path) -> None:
    """A daemon that never answers: TimeoutError, not a hang."""
    ticks = iter(range(100))
    with pytest.raises(TimeoutError):
        request_reload(
            7, tmp_path, timeout=3, send=lambda pid, sig: None, clock=lambda: next(ticks), poll=0
        )
