"""resnet_watch.unit_render: the shipped units, a unit systemd accepts, its sandbox score."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from resnet_watch.unit_render import default_unit, load_template, render_unit
from tests.systemd_helpers import MAX_EXPOSURE, assert_verifies, exposure, write_unit

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)  # exists, so `verify` accepts it as ExecStart


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


def test_default_unit_keeps_private_tmp() -> None:
    """Paths outside /tmp keep the private /tmp."""
    assert "PrivateTmp=yes" in default_unit(False).splitlines()
