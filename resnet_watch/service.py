"""``resnet-watch install-service``: put the watcher's systemd unit in place.

The unit's text comes from ``unit_render.py`` (pure) and the machine's checks from
``service_access.py``; this module decides where the unit goes (system or user), refuses
what cannot work (root for the system unit, not root for a user unit, a missing config),
writes the file, and lists the commands to run next, which it returns rather than runs so
the admin sees and runs them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from resnet_watch import fsutil
from resnet_watch.errors import InstallRefused
from resnet_watch.service_access import program_access, system_access
from resnet_watch.unit_render import load_template, render_unit
from resnet_watch.unit_syntax import under_tmp

__all__ = [
    "SYSTEM_UNIT_PATH",
    "UNIT_NAME",
    "InstallRefused",
    "InstallResult",
    "default_executable",
    "install_service",
    "user_unit_path",
    "write_unit",
]

UNIT_NAME = "resnet-watch.service"
SYSTEM_UNIT_PATH = Path("/etc/systemd/system") / UNIT_NAME


@dataclass(frozen=True)
class InstallResult:
    """What install_service did (or, on a dry run, would do) and what to run next."""

    unit_path: Path
    unit_text: str
    user: bool
    written: bool  # False on a dry run
    replaced: bool  # a unit file was already there
    commands: tuple[str, ...]  # to run, in order, as printed
    warnings: tuple[str, ...]  # problems the service will hit, each with its fix

    def report(self) -> str:
        """The text for the terminal: where the unit went, warnings, then the commands."""
        verb = "would write" if not self.written else ("replaced" if self.replaced else "wrote")
        lines = [f"{verb} {self.unit_path}"]
        lines += [f"warning: {text}" for text in self.warnings]
        lines.append("then run:")
        lines += [f"  {command}" for command in self.commands]
        return "\n".join(lines)


def install_service(
    user: bool,
    config_path: Path,
    dest: Path | None = None,
    dry_run: bool = False,
    *,
    inbox_paths: Sequence[Path] | None = None,
    executable: Path | None = None,
    environ: Mapping[str, str] = os.environ,
) -> InstallResult:
    """Render the unit for this installation and write it (unless ``dry_run``).

    ``inbox_paths`` default to ``inbox.paths`` of the config file (environment overrides
    ignored: the service does not see this shell's environment). ``executable`` defaults
    to the ``resnet-watch`` next to the running interpreter, else the interpreter itself.
    Raises InstallRefused saying what is needed: root for the system unit, not root for a
    user unit, a config file that exists, a program outside /home for the system unit.
    """
    config_path = Path(os.path.abspath(config_path.expanduser()))
    if not config_path.is_file():
        raise InstallRefused(
            f"config file not found: {config_path} (the service reads it at every start; "
            "write it first)"
        )
    from resnet_watch.config import load_config

    cfg = load_config(config_path, environ={}, prepare_inbox=False)
    if inbox_paths is None:
        inbox_paths = cfg.inbox.paths
    web_bind = cfg.web.bind if cfg.web.serving else None
    writable = [Path(os.path.abspath(cfg.web.state_dir))] if cfg.web.serving else []
    inboxes = [Path(os.path.abspath(p)) for p in inbox_paths]
    executable = Path(os.path.abspath(executable or default_executable()))
    readable = [Path(os.path.abspath(cfg.model.weights_dir))]
    is_root = os.geteuid() == 0

    if user:
        if dest is None and is_root and not dry_run:
            raise InstallRefused(
                "a --user service runs as the user who installs it: run this as that user, "
                "not as root (or install the system service without --user)"
            )
        unit_path = dest or user_unit_path(environ)
        groups: list[str] = []
        warnings = [f"inbox {p} does not exist yet" for p in inboxes if not p.is_dir()]
    else:
        if dest is None and not is_root and not dry_run:
            raise InstallRefused(
                f"installing the system service writes {SYSTEM_UNIT_PATH} and needs root: "
                f"run it with sudo, or install a user service with --user"
            )
        unit_path = dest or SYSTEM_UNIT_PATH
        groups, warnings = system_access(inboxes, config_path)
        python_home, program_notes = program_access(executable)
        readable += python_home
        warnings += program_notes
        needed = [config_path, *inboxes, *writable, *readable]
        warnings += [
            f"{p} is under {'/var/tmp' if str(p).startswith('/var/tmp') else '/tmp'}: the unit "
            "turns PrivateTmp= off so the service can see it (and /tmp is usually emptied "
            "at boot: a folder under /srv or /var/lib is safer)"
            for p in needed
            if under_tmp(p)
        ]

    text = render_unit(
        load_template(user),
        exec_python_or_cmd=executable,
        config_path=config_path,
        inbox_paths=inboxes,
        user_mode=user,
        supplementary_groups=groups,
        web_bind=web_bind,
        writable=writable,
        readable=readable,
    )
    if cfg.queue.url:  # several machines: Redis must be reachable (queue/unit.py)
        from resnet_watch.queue.unit import open_watcher_network

        text, more = open_watcher_network(text, cfg.queue.url)
        warnings = [*warnings, *more]
    replaced = write_unit(unit_path, text, dry_run)
    return InstallResult(
        unit_path=unit_path,
        unit_text=text,
        user=user,
        written=not dry_run,
        replaced=replaced,
        commands=_next_commands(user),
        warnings=tuple(warnings),
    )


def write_unit(unit_path: Path, text: str, dry_run: bool) -> bool:
    """Put a rendered unit in place atomically (unless ``dry_run``); True if one was there."""
    replaced = unit_path.exists()
    if not dry_run:
        unit_path.parent.mkdir(parents=True, exist_ok=True)
        fsutil.atomic_write_bytes(unit_path, text.encode("utf-8"))
    return replaced


def user_unit_path(environ: Mapping[str, str] = os.environ) -> Path:
    """~/.config/systemd/user/resnet-watch.service (honouring XDG_CONFIG_HOME)."""
    config_home = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "systemd" / "user" / UNIT_NAME


def _next_commands(user: bool) -> tuple[str, ...]:
    if user:
        return (
            "systemctl --user daemon-reload",
            "systemctl --user enable --now resnet-watch",
            "loginctl enable-linger",  # keep it running while you are logged out
            "journalctl --user -u resnet-watch -f",
        )
    return (
        "systemctl daemon-reload",
        "systemctl enable --now resnet-watch",
        "journalctl -u resnet-watch -f",
    )


def default_executable() -> Path:
    """The program a unit should run: the ``resnet-watch`` beside this Python, else Python."""
    # Not resolved: a venv's python is a symlink, and resolving it would leave the venv.
    script = Path(sys.executable).parent / "resnet-watch"
    return script if os.access(script, os.X_OK) else Path(sys.executable)
