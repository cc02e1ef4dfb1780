"""What the sandboxed system service needs from this machine, checked before its unit is
written: a group that lets its dynamic user write each inbox, folders it can pass through,
a config it can read, and a program (and the Python behind it) that ProtectHome= leaves
visible. Each problem comes back as a warning that names its fix, or as InstallRefused
when the service could not start at all.

Reads the filesystem (stat, the program's #! line) but changes nothing.
"""

from __future__ import annotations

import grp
import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

from resnet_watch.errors import InstallRefused
from resnet_watch.unit_syntax import PYTHON_NAME, under_home

__all__ = ["program_access", "system_access"]


def system_access(inboxes: Sequence[Path], config_path: Path) -> tuple[list[str], list[str]]:
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
        if not under_home(inbox):
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


def program_access(executable: Path) -> tuple[list[Path], list[str]]:
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
        if under_home(path) and path != interpreter:
            raise InstallRefused(
                f"the system service cannot run {executable} (it is {program}): {why}. "
                f"{fix}, or use --user"
            )
    if interpreter is None or not under_home(interpreter):
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
    if PYTHON_NAME.fullmatch(program.name):
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
