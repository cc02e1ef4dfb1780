"""``resnet-watch install-service``: render the systemd unit and put it in place.

``render_unit`` is pure (template in, unit text out) so the shipped unit can be checked by
``systemd-analyze`` in tests; ``install_service`` adds the side effects: checks on the
machine (root, inbox group, home directories), writing the file, and the commands to run
next, which it returns rather than runs so the admin sees and runs them.

The templates live in ``resnet_watch/data/``; ``systemd/`` at the repository root holds
them rendered with the default paths, and a test keeps both in step.
"""

from __future__ import annotations

import grp
import os
import re
import shutil
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

from resnet_watch import fsutil
from resnet_watch.errors import InstallRefused

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_EXECUTABLE",
    "DEFAULT_INBOX",
    "SYSTEM_UNIT_PATH",
    "UNIT_NAME",
    "InstallRefused",
    "InstallResult",
    "default_unit",
    "install_service",
    "load_template",
    "render_unit",
    "user_unit_path",
    "write_unit",
]

UNIT_NAME = "resnet-watch.service"
SYSTEM_UNIT_PATH = Path("/etc/systemd/system") / UNIT_NAME
# The paths systemd/resnet-watch.service is rendered with (see the README).
DEFAULT_EXECUTABLE = Path("/opt/resnet-watch/.venv/bin/resnet-watch")
DEFAULT_CONFIG_PATH = Path("/etc/resnet-watch/config.yaml")
DEFAULT_INBOX = Path("/srv/photos/inbox")
# The example user unit, systemd/resnet-watch-user.service.
EXAMPLE_USER_CONFIG_PATH = Path("/home/alice/.config/resnet-watch/config.yaml")
EXAMPLE_USER_INBOX = Path("/home/alice/Pictures/inbox")
EXAMPLE_USER_EXECUTABLE = Path("/home/alice/.local/bin/resnet-watch")  # as pipx installs it

# ProtectHome= hides these from a system service; whatever it needs there is bind-mounted.
_HOME_ROOTS = (PurePosixPath("/home"), PurePosixPath("/root"), PurePosixPath("/run/user"))
# PrivateTmp=yes gives the service an empty /tmp and /var/tmp of its own.
_TMP_ROOTS = (PurePosixPath("/tmp"), PurePosixPath("/var/tmp"))
_PLACEHOLDER = re.compile(r"@[A-Z_]+@")
_GROUP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\$?")
_PYTHON_NAME = re.compile(r"python(\d+(\.\d+)?)?")


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


def load_template(user_mode: bool) -> str:
    """The unit template shipped in the package (system or user variant)."""
    name = "resnet-watch-user.service.in" if user_mode else "resnet-watch.service.in"
    return (resources.files("resnet_watch") / "data" / name).read_text(encoding="utf-8")


def default_unit(user_mode: bool) -> str:
    """The template rendered with the documented default paths: systemd/ in the repository."""
    return render_unit(
        load_template(user_mode),
        exec_python_or_cmd=EXAMPLE_USER_EXECUTABLE if user_mode else DEFAULT_EXECUTABLE,
        config_path=EXAMPLE_USER_CONFIG_PATH if user_mode else DEFAULT_CONFIG_PATH,
        inbox_paths=[EXAMPLE_USER_INBOX if user_mode else DEFAULT_INBOX],
        user_mode=user_mode,
    )


def render_unit(
    template: str,
    *,
    exec_python_or_cmd: Path,
    config_path: Path,
    inbox_paths: Sequence[Path],
    user_mode: bool,
    supplementary_groups: Sequence[str] = (),
    web_bind: str | None = None,
    writable: Sequence[Path] = (),
    readable: Sequence[Path] = (),
) -> str:
    """Fill the template's ``@PLACEHOLDER@``s; pure, and every path must be absolute.

    ``exec_python_or_cmd`` is the ``resnet-watch`` script, or a Python interpreter
    (then ``-m resnet_watch``). A line holding only a placeholder expands to zero or
    more whole lines. In system mode an inbox or config under /home, /root or /run/user
    turns ProtectHome=yes into tmpfs with bind mounts of just those folders.

    ``web_bind`` (the web UI's address, when it is on) opens just enough network: IPv4/6
    sockets, and IP traffic to localhost only when the address is loopback. ``writable``
    are extra folders the daemon writes (the web UI's thumbnail cache), ``readable`` extra
    folders it reads (weights, the Python installation behind a venv). Any needed path under
    /tmp or /var/tmp turns PrivateTmp= off: a private /tmp would hide it.
    """
    paths = [exec_python_or_cmd, config_path, *inbox_paths]
    for path in paths:
        _check_path(path)
    if not inbox_paths:
        raise ValueError("at least one inbox folder is needed")
    if user_mode and supplementary_groups:
        raise ValueError(
            "a user service runs with its user's groups; "
            "SupplementaryGroups= is for the system unit"
        )
    for group in supplementary_groups:
        if not _GROUP_NAME.fullmatch(group):
            raise ValueError(f"not a group name: {group!r}")

    words = [_quote(str(exec_python_or_cmd), exec_line=True)]
    if _PYTHON_NAME.fullmatch(exec_python_or_cmd.name):
        words += ["-m", "resnet_watch"]
    program = list(words)
    words += ["run", "--config", _quote(str(config_path), exec_line=True)]

    access: list[str] = []
    hidden_home = False
    # No "-" on the inbox: a missing inbox must fail the start (226/NAMESPACE), not run
    # a service that watches an empty stand-in.
    for inbox in inbox_paths:
        if not user_mode and _under_home(inbox):
            hidden_home = True
            access.append(f"BindPaths={_quote(str(inbox), forbid=':')}")
        else:
            access.append(f"ReadWritePaths={_quote(str(inbox))}")
    # The config's folder, not the file: relative paths in the config resolve against it.
    for folder in dict.fromkeys([config_path.parent, *readable]):
        _check_path(folder)
        if not user_mode and _under_home(folder):
            hidden_home = True
            optional = "" if folder == config_path.parent else "-"  # weights may come later
            access.append(f"BindReadOnlyPaths={_quote(optional + str(folder), forbid=':')}")
    needed = [exec_python_or_cmd, config_path, *inbox_paths, *writable, *readable]
    private_tmp = user_mode or not any(_under_tmp(p) for p in needed)

    values = {
        "EXEC_START": " ".join(words),
        # $MAINPID is systemd's, not escaped: the synchronous reload (see reloading.py)
        "EXEC_RELOAD": " ".join([*program, "reload", "--pid", "$MAINPID"]),
        "REQUIRES_MOUNTS_FOR": " ".join(_quote(str(p)) for p in inbox_paths),
        "PROTECT_HOME": "read-only" if user_mode else ("tmpfs" if hidden_home else "yes"),
        "INBOX_ACCESS": "\n".join(access),
        "SUPPLEMENTARY_GROUPS": (
            f"SupplementaryGroups={' '.join(supplementary_groups)}" if supplementary_groups else ""
        ),
    }
    for folder in writable:
        _check_path(folder)
        access.append(f"ReadWritePaths={_quote('-' + str(folder))}")
    values["INBOX_ACCESS"] = "\n".join(access)
    out: list[str] = []
    lines = _open_network(template.splitlines(), web_bind)
    if not private_tmp:
        lines = [
            "# PrivateTmp= off: a path the service needs is under /tmp or /var/tmp"
            if line.strip() == "PrivateTmp=yes"
            else line
            for line in lines
        ]
    for line in lines:
        key = line.strip()[1:-1] if _PLACEHOLDER.fullmatch(line.strip()) else None
        if key in values:
            if values[key]:
                out.append(values[key])
            continue
        out.append(_PLACEHOLDER.sub(lambda m: _value(values, m.group(0)), line))
    return "\n".join(out) + "\n"


def _open_network(lines: Sequence[str], web_bind: str | None) -> list[str]:
    """The template's network lockdown, relaxed only as far as the web UI needs."""
    if web_bind is None:
        return list(lines)
    from resnet_watch.config import is_loopback

    loopback = is_loopback(web_bind)
    out: list[str] = []
    for line in lines:
        key = line.strip()
        if key == "PrivateNetwork=yes":
            out.append("# PrivateNetwork= off: the web UI (web.enabled) listens on " + web_bind)
        elif key == "IPAddressDeny=any":
            out.append(line)
            out.append("IPAddressAllow=localhost" if loopback else "IPAddressAllow=any")
        elif key.startswith("RestrictAddressFamilies=") and "AF_INET" not in key:
            out.append(f"{line} AF_INET AF_INET6")
        else:
            out.append(line)
    return out


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
    executable = Path(os.path.abspath(executable or _default_executable()))
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
        groups, warnings = _system_access(inboxes, config_path)
        python_home, program_notes = _program_access(executable)
        readable += python_home
        warnings += program_notes
        needed = [config_path, *inboxes, *writable, *readable]
        warnings += [
            f"{p} is under {'/var/tmp' if str(p).startswith('/var/tmp') else '/tmp'}: the unit "
            "turns PrivateTmp= off so the service can see it (and /tmp is usually emptied "
            "at boot: a folder under /srv or /var/lib is safer)"
            for p in needed
            if _under_tmp(p)
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


def _system_access(inboxes: Sequence[Path], config_path: Path) -> tuple[list[str], list[str]]:
    """Groups the dynamic service user needs for the inboxes, and warnings with fixes."""
    groups: list[str] = []
    warnings: list[str] = []
    for inbox in inboxes:
        fix = (
            f"groupadd -f photos && install -d -m 2775 -g photos {inbox} "
            "&& usermod -aG photos <you>, then run install-service again"
        )
        try:
            st = inbox.stat()
        except FileNotFoundError:
            warnings.append(f"inbox {inbox} does not exist; create it for a group: {fix}")
            continue
        if st.st_gid == 0:
            warnings.append(
                f"inbox {inbox} belongs to group root; the service's own user can only write "
                f"there through a group of its own: {fix}"
            )
            continue
        try:
            name = grp.getgrgid(st.st_gid).gr_name
        except KeyError:
            warnings.append(f"inbox {inbox} has group id {st.st_gid}, which has no name: {fix}")
            continue
        if name not in groups:
            groups.append(name)
        if st.st_mode & (stat.S_IWGRP | stat.S_IXGRP) != (stat.S_IWGRP | stat.S_IXGRP):
            warnings.append(
                f"inbox {inbox} is not writable by its group {name}: chmod g+rwxs {inbox}"
            )
        if not _under_home(inbox):
            for parent in inbox.parents:
                try:
                    searchable = bool(parent.stat().st_mode & stat.S_IXOTH)
                except OSError:
                    continue
                if not searchable:
                    warnings.append(
                        f"{parent} is not searchable by other users, so the service cannot "
                        f"reach {inbox}: chmod o+x {parent}"
                    )
    if not config_path.stat().st_mode & stat.S_IROTH:
        warnings.append(
            f"{config_path} is not world-readable and the service runs as its own user: "
            f"chmod o+r {config_path}"
        )
    return groups, warnings


def _program_access(executable: Path) -> tuple[list[Path], list[str]]:
    """What the system service needs to start ``executable``: the Python installation it
    really runs (through symlinks and the script's #! line) when that lives in a home
    directory, which ProtectHome= hides (pyenv, uv); and notes saying so.

    Raises InstallRefused when the program cannot work there at all: resnet-watch itself
    installed in a home directory, or a Python the service's own user cannot read.
    """
    why = (
        "ProtectHome= hides home directories from the system service, and its own user "
        "could not read them anyway"
    )
    fix = "Install resnet-watch outside /home (e.g. python3 -m venv /opt/resnet-watch/.venv)"
    program = Path(os.path.realpath(executable))
    interpreter = _interpreter_of(program)
    for path in (executable, program):
        if _under_home(path) and path != interpreter:
            raise InstallRefused(
                f"the system service cannot run {executable} (it is {program}): {why}. "
                f"{fix}, or use --user"
            )
    if interpreter is None or not _under_home(interpreter):
        return [], []
    install = interpreter.parent.parent  # .../bin/python3.11 -> the installation
    readable = stat.S_IROTH | stat.S_IXOTH
    mode = install.stat().st_mode if install.exists() else 0
    if mode & readable != readable:
        raise InstallRefused(
            f"the system service cannot run {executable}: its Python {interpreter} is in "
            f"{install}, which other users cannot read. chmod o+rx {install}, or make the "
            "venv from a Python outside home (apt install python3-venv), or use --user"
        )
    return [install], [
        f"{executable} runs the Python in {install} (a home directory, hidden by "
        "ProtectHome=): the unit binds that folder read-only into the service"
    ]


def _interpreter_of(program: Path) -> Path | None:
    """The resolved Python a program runs: itself, or its #! interpreter."""
    if _PYTHON_NAME.fullmatch(program.name):
        return program
    try:
        with open(program, "rb") as fh:
            first = fh.readline(4096)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    words = first[2:].decode("utf-8", "replace").split()
    if not words:
        return None
    target = words[1] if Path(words[0]).name == "env" and len(words) > 1 else words[0]
    found = shutil.which(target) if "/" not in target else target
    return Path(os.path.realpath(found)) if found else None


def _default_executable() -> Path:
    # Not resolved: a venv's python is a symlink, and resolving it would leave the venv.
    script = Path(sys.executable).parent / "resnet-watch"
    return script if os.access(script, os.X_OK) else Path(sys.executable)


def _under_tmp(path: Path) -> bool:
    pure = PurePosixPath(path)
    return any(pure == root or root in pure.parents for root in _TMP_ROOTS)


def _under_home(path: Path) -> bool:
    pure = PurePosixPath(path)
    return any(pure == root or root in pure.parents for root in _HOME_ROOTS)


def _check_path(path: Path) -> None:
    text = str(path)
    if not path.is_absolute():
        raise ValueError(f"a unit file needs absolute paths: {text!r}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError(f"control character in path: {text!r}")


def _quote(word: str, *, exec_line: bool = False, forbid: str = "") -> str:
    """One word for a unit file: specifiers (%) and, in Exec lines, $ escaped; quoted
    when it holds spaces, quotes or backslashes."""
    for c in forbid:
        if c in word:
            raise ValueError(f"{c!r} cannot appear in this path in a unit file: {word!r}")
    escaped = word.replace("%", "%%")
    if exec_line:
        escaped = escaped.replace("$", "$$")
    if escaped == "" or escaped == ";" or re.search(r"[\s\"'\\]", escaped):
        escaped = '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return escaped


def _value(values: Mapping[str, str], placeholder: str) -> str:
    key = placeholder[1:-1]
    if key not in values or "\n" in values[key]:
        raise ValueError(f"template has unknown or misplaced placeholder {placeholder}")
    return values[key]
