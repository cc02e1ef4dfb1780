"""resnet_watch.service: install-service's checks, what it writes, and where."""

from __future__ import annotations

import grp
import os
import shutil
import sys
import tempfile
from pathlib import Path, PurePosixPath

import pytest

from resnet_watch import unit_syntax
from resnet_watch.service import InstallRefused, install_service
from tests.requirements import need
from tests.systemd_helpers import MAX_EXPOSURE, assert_verifies, exposure, write_unit

PYTHON = Path(sys.executable)  # exists, so `verify` accepts it as ExecStart


# --- install_service -------------------------------------------------------------------


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text("inbox:\n  paths: [inbox]\n", encoding="utf-8")
    path.chmod(0o644)
    return path


def test_system_dry_run_lists_commands_and_writes_nothing(tmp_path: Path, config: Path) -> None:
    """A dry run shows the unit and the systemctl/journalctl commands, and writes no file."""
    dest = tmp_path / "out" / "resnet-watch.service"
    result = install_service(
        False, config, dest, dry_run=True, inbox_paths=[tmp_path], executable=PYTHON
    )
    assert not dest.exists()
    assert not result.written
    assert result.commands == (
        "systemctl daemon-reload",
        "systemctl enable --now resnet-watch",
        "journalctl -u resnet-watch -f",
    )
    assert "would write" in result.report()
    assert "systemctl enable --now resnet-watch" in result.report()
    assert f"--config {config}" in result.unit_text


def test_system_install_needs_root(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without root the system install is refused, naming sudo and the --user alternative."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(InstallRefused, match=r"needs root.*--user"):
        install_service(False, config, inbox_paths=[config.parent], executable=PYTHON)


def test_user_install_refused_as_root(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A --user unit installed by root would run as root: refused."""
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(InstallRefused, match="not as root"):
        install_service(True, config, inbox_paths=[config.parent], executable=PYTHON)


def test_user_install_writes_into_xdg_config(
    tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--user writes ~/.config/systemd/user/resnet-watch.service and prints the --user commands."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    result = install_service(
        True, config, inbox_paths=[tmp_path], executable=PYTHON, environ=environ
    )
    expected = tmp_path / "xdg" / "systemd" / "user" / "resnet-watch.service"
    assert result.unit_path == expected
    assert expected.read_text(encoding="utf-8") == result.unit_text
    assert (expected.stat().st_mode & 0o777) == 0o644
    assert result.commands == (
        "systemctl --user daemon-reload",
        "systemctl --user enable --now resnet-watch",
        "loginctl enable-linger",
        "journalctl --user -u resnet-watch -f",
    )


def test_install_replaces_an_existing_unit(tmp_path: Path, config: Path) -> None:
    """Installing again replaces the unit in place and says so."""
    dest = tmp_path / "resnet-watch.service"
    dest.write_text("old\n", encoding="utf-8")
    result = install_service(False, config, dest, inbox_paths=[tmp_path], executable=PYTHON)
    assert result.replaced and result.written
    assert dest.read_text(encoding="utf-8") == result.unit_text
    assert "replaced" in result.report()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".resnet-watch")] == []


def test_install_refuses_missing_config(tmp_path: Path) -> None:
    """A unit pointing at a config that does not exist is refused before anything is written."""
    with pytest.raises(InstallRefused, match="config file not found"):
        install_service(False, tmp_path / "nope.yaml", tmp_path / "u", inbox_paths=[tmp_path])


def test_system_install_refuses_program_in_home(tmp_path: Path, config: Path) -> None:
    """The system unit hides /home, so a resnet-watch installed there is refused with the fix."""
    with pytest.raises(InstallRefused, match="outside /home"):
        install_service(
            False,
            config,
            tmp_path / "u",
            dry_run=True,
            inbox_paths=[tmp_path],
            executable=Path("/home/alice/.local/bin/resnet-watch"),
        )


def test_system_install_uses_the_inbox_group(tmp_path: Path, config: Path) -> None:
    """A group-owned inbox becomes SupplementaryGroups=; a root-group one gets a warning and fix."""
    need(os.geteuid() == 0, "chgrp to another group needs root (CI runs as root)")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chown(shared, -1, 100)  # Debian's "users"
    shared.chmod(0o2775)
    private = tmp_path / "private"
    private.mkdir()
    os.chown(private, -1, 0)
    tmp_path.chmod(0o755)
    result = install_service(
        False,
        config,
        tmp_path / "u",
        dry_run=True,
        inbox_paths=[shared, private],
        executable=PYTHON,
    )
    group = grp.getgrgid(100).gr_name
    assert f"SupplementaryGroups={group}" in result.unit_text
    assert any(str(private) in w and "group root" in w for w in result.warnings)
    assert not any(f"inbox {shared}" in w for w in result.warnings)


def test_install_reads_inbox_paths_from_config(tmp_path: Path, config: Path) -> None:
    """Without inbox_paths, the inbox folders come from the config file itself."""
    result = install_service(False, config, tmp_path / "u", dry_run=True, executable=PYTHON)
    assert f"ReadWritePaths={config.parent / 'inbox'}" in result.unit_text


def test_web_ui_opens_only_the_network_it_needs(tmp_path: Path, config: Path) -> None:
    """With the web UI on (loopback), the unit allows IPv4/6 to localhost only and still
    verifies; the thumbnail cache is writable; the exposure stays OK."""
    config.write_text(
        "inbox:\n  paths: [inbox]\nweb:\n  enabled: true\n  state_dir: /var/lib/rw-thumbs\n",
        encoding="utf-8",
    )
    result = install_service(
        False,
        config,
        tmp_path / "u.service",
        dry_run=True,
        inbox_paths=[tmp_path],
        executable=PYTHON,
    )
    lines = result.unit_text.splitlines()
    assert "PrivateNetwork=yes" not in lines
    assert "IPAddressDeny=any" in lines and "IPAddressAllow=localhost" in lines
    assert "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" in lines
    assert "ReadWritePaths=-/var/lib/rw-thumbs" in lines
    unit = write_unit(tmp_path / "units", result.unit_text)
    assert_verifies(unit)
    assert exposure(unit) <= MAX_EXPOSURE


def test_web_ui_off_keeps_the_network_closed(tmp_path: Path, config: Path) -> None:
    """Without the web UI the unit has no network at all."""
    result = install_service(
        False,
        config,
        tmp_path / "u.service",
        dry_run=True,
        inbox_paths=[tmp_path],
        executable=PYTHON,
    )
    assert "PrivateNetwork=yes" in result.unit_text.splitlines()
    assert "RestrictAddressFamilies=AF_UNIX" in result.unit_text.splitlines()


# --- the sandbox must see every path the service needs -----------------------------------


def test_inbox_under_tmp_turns_private_tmp_off_and_says_why(tmp_path: Path, config: Path) -> None:
    """An inbox in /tmp would be replaced by PrivateTmp='s empty one: the unit adapts."""
    inbox = Path(tempfile.mkdtemp(prefix="rw-inbox-", dir="/tmp"))
    try:
        result = install_service(
            False, config, tmp_path / "u", dry_run=True, inbox_paths=[inbox], executable=PYTHON
        )
    finally:
        inbox.rmdir()
    lines = result.unit_text.splitlines()
    assert "PrivateTmp=yes" not in lines and f"ReadWritePaths={inbox}" in lines
    assert any(str(inbox) in w and "PrivateTmp=" in w for w in result.warnings)
    assert_verifies(write_unit(tmp_path / "units", result.unit_text))


def _venv_with_python_in_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A venv in /opt-like space whose python links to an interpreter in a "home" (pyenv)."""
    home = tmp_path / "home"
    monkeypatch.setattr(unit_syntax, "_HOME_ROOTS", (PurePosixPath(home),))
    install = home / "alice" / ".pyenv" / "versions" / "3.11.7"
    (install / "bin").mkdir(parents=True)
    real = install / "bin" / "python3.11"
    shutil.copy(sys.executable, real)
    venv_bin = tmp_path / "opt" / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to(real)
    script = venv_bin / "resnet-watch"
    script.write_text(f"#!{venv_bin / 'python'}\nimport sys\n")
    script.chmod(0o755)
    return script


def test_python_in_a_home_directory_is_bound_into_the_sandbox(
    tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A venv on pyenv/uv's Python under /home or /root: that installation is bound read-only."""
    script = _venv_with_python_in_home(tmp_path, monkeypatch)
    install = tmp_path / "home" / "alice" / ".pyenv" / "versions" / "3.11.7"
    result = install_service(
        False, config, tmp_path / "u", dry_run=True, inbox_paths=[tmp_path], executable=script
    )
    lines = result.unit_text.splitlines()
    assert "ProtectHome=tmpfs" in lines and f"BindReadOnlyPaths=-{install}" in lines
    assert any(str(install) in w for w in result.warnings)


def test_python_nobody_else_can_read_is_refused(
    tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interpreter in a 0700 folder would fail with 203/EXEC: refused with the fix."""
    script = _venv_with_python_in_home(tmp_path, monkeypatch)
    install = tmp_path / "home" / "alice" / ".pyenv" / "versions" / "3.11.7"
    install.chmod(0o700)
    with pytest.raises(InstallRefused, match=r"other users cannot read.*--user"):
        install_service(
            False, config, tmp_path / "u", dry_run=True, inbox_paths=[tmp_path], executable=script
        )


def test_program_resolving_into_a_home_directory_is_refused(
    tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/opt/.../resnet-watch that is a symlink into /home: refused, naming where it really is."""
    script = _venv_with_python_in_home(tmp_path, monkeypatch)
    moved = tmp_path / "home" / "alice" / "resnet-watch"
    script.rename(moved)
    script.symlink_to(moved)
    with pytest.raises(InstallRefused, match=f"it is {moved}"):
        install_service(
            False, config, tmp_path / "u", dry_run=True, inbox_paths=[tmp_path], executable=script
        )
