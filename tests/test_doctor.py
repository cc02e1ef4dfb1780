"""`doctor` finds what stops tagging; `retry` only touches failure records in the inbox."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from resnet_watch.cli import main
from tests.unprivileged import as_unprivileged, give_away, shared_tmp


def test_doctor_finds_unreadable_folders_and_folders_in_a_sidecars_place() -> None:
    """An unreadable sub-folder and a folder named like a sidecar are both FAIL with a fix."""
    base = shared_tmp()
    try:
        inbox = base / "inbox"
        private = inbox / "private"
        private.mkdir(parents=True)
        (private / "a.jpg").write_bytes(b"x")
        blocker = inbox / "b.jpg.resnet-watch.json"
        blocker.mkdir()
        (inbox / "b.jpg").write_bytes(b"x")
        for path in (inbox, blocker, inbox / "b.jpg"):
            give_away(path)
        private.chmod(0o000)
        cfg = base / "config.yaml"
        cfg.write_text(f"inbox:\n  paths: [{inbox}]\nlog:\n  file: null\n")
        env = {**os.environ, "HOME": str(base)}
        done = subprocess.run(
            as_unprivileged([sys.executable, "-m", "resnet_watch", "doctor", "--config", str(cfg)]),
            capture_output=True,
            text=True,
            env=env,
            cwd=base,
            timeout=300,
        )
        assert done.returncode == 1, done.stdout + done.stderr
        out = done.stdout
        assert f"cannot read folder {private}" in out and f"chmod u+rx {private}" in out
        assert f"{blocker} is a folder where the sidecar of b.jpg must go" in out
    finally:
        (base / "inbox" / "private").chmod(0o755)
        shutil.rmtree(base)


def test_doctor_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`doctor | head -2`: no BrokenPipeError traceback when the reader goes away."""
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"inbox:\n  paths: [{tmp_path / 'inbox'}]\nlog:\n  file: null\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "resnet_watch", "doctor", "--config", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before doctor writes a line
    err = proc.stderr.read().decode()
    proc.wait(300)
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_retry_refuses_paths_outside_the_inbox(tmp_path: Path, capsys) -> None:
    """`retry /etc/passwd` or a missing path: exit 1 saying why; nothing is removed."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"inbox:\n  paths: [{inbox}]\nlog:\n  file: null\n")
    assert main(["retry", "--config", str(cfg), "/etc/passwd"]) == 1
    assert "/etc/passwd is not inside the inbox" in capsys.readouterr().err
    assert main(["retry", "--config", str(cfg), str(inbox / "gone.jpg")]) == 1
    assert "no such file" in capsys.readouterr().err
    assert Path("/etc/passwd").exists()
    assert main(["retry", "--config", str(cfg), str(inbox)]) == 0


def test_doctor_checks_the_installed_unit_like_install_service(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """An installed unit that predates an inbox in /tmp: doctor says PrivateTmp and stale unit."""
    from resnet_watch import service
    from resnet_watch.unit_render import default_unit

    unit = tmp_path / "resnet-watch.service"
    unit.write_text(default_unit(False))
    monkeypatch.setattr(service, "SYSTEM_UNIT_PATH", unit)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"inbox:\n  paths: [{inbox}]\nlog:\n  file: null\n")
    main(["doctor", "--config", str(cfg)])
    out = capsys.readouterr().out
    assert f"system service: {inbox} is under /tmp" in out
    assert f"{unit} is not what install-service writes" in out
    assert f"install-service --config {cfg}" in out
