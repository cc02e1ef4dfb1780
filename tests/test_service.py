"""resnet_watch.service: a unit systemd accepts, its sandbox score, install-service's checks."""

from __future__ import annotations

import grp
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path, PurePosixPath

import pytest

from resnet_watch import unit_syntax
from resnet_watch.service import InstallRefused, install_service
from resnet_watch.unit_render import default_unit, load_template, render_unit
from tests.requirements import need

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)  # exists, so `verify` accepts it as ExecStart
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


def rendered(tmp_path: Path, *, user_mode: bool = False, inbox: Path | None = None) -> str:
    config = tmp_path / "etc" / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("{}\n", encoding="utf-8")
    return render_unit(
        load_template(user_mode),
        exec_python_or_cmd=PYTHON,
        config_path=config,
        inbox_paths=[inbox or tmp_path / "inbox"],
        user_mode=user_mode,
        supplementary_groups=() if user_mode else ("users",),
    )


# --- the files in systemd/ -------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_mode", "name"),
    [(False, "resnet-watch.service"), (True, "resnet-watch-user.service")],
)
def test_repo_unit_is_the_template_with_default_paths(user_mode: bool, name: str) -> None:
    """systemd/ holds exactly what the packaged template renders to, so the two cannot drift."""
    assert (REPO / "systemd" / name).read_text(encoding="utf-8") == default_unit(user_mode)


def test_repo_unit_has_the_service_contract() -> None:
    """The shipped unit is Type=notify with a watchdog, a waiting reload and restart on failure."""
    lines = set((REPO / "systemd" / "resnet-watch.service").read_text().splitlines())
    assert {
        "Type=notify",
        "NotifyAccess=main",
        "WatchdogSec=60",
        "ExecStart=/opt/resnet-watch/.venv/bin/resnet-watch run"
        " --config /etc/resnet-watch/config.yaml",
        "ExecReload=/opt/resnet-watch/.venv/bin/resnet-watch reload --pid $MAINPID",
        "RuntimeDirectory=resnet-watch",
        "Restart=on-failure",
        "DynamicUser=yes",
        "ReadWritePaths=/srv/photos/inbox",
        "RestartPreventExitStatus=2 203 226",
        "PrivateNetwork=yes",
        "RestrictAddressFamilies=AF_UNIX",
    } <= lines
    assert "MemoryDenyWriteExecute=yes" not in lines  # breaks torch's oneDNN JIT


# --- systemd-analyze ---------------------------------------------------------------------


def test_system_unit_passes_verify(tmp_path: Path) -> None:
    """systemd-analyze verify accepts the rendered system unit without a single complaint."""
    assert_verifies(write_unit(tmp_path / "units", rendered(tmp_path)))


def test_system_unit_with_home_inbox_and_odd_names_passes_verify(tmp_path: Path) -> None:
    """Spaces, quotes, '%' and '$' in paths, and an inbox in /home, still give a clean unit."""
    odd = tmp_path / 'My "Photos" 100%'
    odd.mkdir()
    config = odd / "conf $HOME.yaml"
    config.write_text("{}\n", encoding="utf-8")
    text = render_unit(
        load_template(False),
        exec_python_or_cmd=PYTHON,
        config_path=Path("/home/alice/.config/resnet-watch/config.yaml"),
        inbox_paths=[Path("/home/alice/Pictures/new inbox"), odd],
        user_mode=False,
    )
    assert "ProtectHome=tmpfs" in text
    assert 'BindPaths="/home/alice/Pictures/new inbox"' in text
    assert "BindReadOnlyPaths=/home/alice/.config/resnet-watch" in text
    assert_verifies(write_unit(tmp_path / "units", text))
    assert exposure(tmp_path / "units" / "resnet-watch.service") <= MAX_EXPOSURE


def test_system_unit_exposure_is_ok(tmp_path: Path) -> None:
    """systemd-analyze security rates the system unit at most 2.0 ("OK" or better)."""
    score = exposure(write_unit(tmp_path / "units", rendered(tmp_path)))
    assert score <= MAX_EXPOSURE


def test_user_unit_passes_verify(tmp_path: Path) -> None:
    """The reduced user unit is valid for a per-user manager (systemd-analyze verify --user)."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(runtime), "HOME": str(tmp_path / "home")}
    unit = write_unit(tmp_path / "units", rendered(tmp_path, user_mode=True))
    assert_verifies(unit, "--user", env=env)


# --- render_unit ---------------------------------------------------------------------


def test_render_is_pure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering touches no file (paths need not exist) and gives the same text every time."""
    template = load_template(False)

    def no_io(*args: object, **kwargs: object) -> None:
        raise AssertionError("render_unit touched the filesystem")

    monkeypatch.setattr(os, "stat", no_io)
    monkeypatch.setattr(os, "lstat", no_io)

    def render() -> str:
        return render_unit(
            template,
            exec_python_or_cmd=Path("/nowhere/bin/resnet-watch"),
            config_path=Path("/nowhere/config.yaml"),
            inbox_paths=[Path("/nowhere/inbox")],
            user_mode=False,
        )

    first = render()
    assert render() == first
    assert not re.search(r"@[A-Z_]+@", first)


def test_render_runs_python_interpreter_as_module() -> None:
    """Given a Python interpreter, ExecStart runs `-m resnet_watch`; given the script, runs it."""

    def render(executable: str) -> str:
        return render_unit(
            load_template(False),
            exec_python_or_cmd=Path(executable),
            config_path=Path("/etc/rw.yaml"),
            inbox_paths=[Path("/srv/in")],
            user_mode=False,
        )

    via_python = render("/v/bin/python3.11")
    via_script = render("/v/bin/resnet-watch")
    assert "ExecStart=/v/bin/python3.11 -m resnet_watch run --config /etc/rw.yaml" in via_python
    assert "ExecStart=/v/bin/resnet-watch run --config /etc/rw.yaml" in via_script


def test_render_escapes_specifiers_and_variables() -> None:
    """'%' and '$' in paths reach the daemon literally instead of being expanded by systemd."""
    text = render_unit(
        load_template(False),
        exec_python_or_cmd=Path("/opt/rw/bin/resnet-watch"),
        config_path=Path("/etc/rw/$HOME 50%.yaml"),
        inbox_paths=[Path("/srv/100%")],
        user_mode=False,
    )
    assert 'ExecStart=/opt/rw/bin/resnet-watch run --config "/etc/rw/$$HOME 50%%.yaml"' in text
    assert "ReadWritePaths=/srv/100%%" in text


@pytest.mark.parametrize(
    "bad",
    [Path("relative/inbox"), Path("/srv/in\nbox"), Path("/srv/\x7f")],
)
def test_render_rejects_unusable_paths(bad: Path) -> None:
    """Relative paths and control characters (a newline would start a new directive) are refused."""
    with pytest.raises(ValueError):
        render_unit(
            load_template(False),
            exec_python_or_cmd=Path("/opt/rw/bin/resnet-watch"),
            config_path=Path("/etc/rw.yaml"),
            inbox_paths=[bad],
            user_mode=False,
        )


def test_user_unit_has_no_root_only_settings() -> None:
    """The user unit leaves out what a per-user manager cannot apply (DynamicUser, namespaces)."""
    text = default_unit(True)
    for setting in ("DynamicUser=", "PrivateNetwork=", "ProtectSystem=", "CapabilityBoundingSet="):
        assert f"\n{setting}" not in text
    assert "WantedBy=default.target" in text


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


def test_default_unit_keeps_private_tmp() -> None:
    """Paths outside /tmp keep the private /tmp."""
    assert "PrivateTmp=yes" in default_unit(False).splitlines()


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
