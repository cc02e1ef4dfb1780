"""The watcher's systemd unit as text: the packaged template filled with this
installation's paths, and the sandbox opened just as far as the config needs.

Pure (template in, unit text out), so tests can hand any paths to ``systemd-analyze``;
``service.py`` adds the machine's checks and writes the file. The templates live in
``resnet_watch/data/``; ``systemd/`` at the repository root holds them rendered with the
default paths (``default_unit``), and a test keeps both in step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from resnet_watch.unit_syntax import (
    PYTHON_NAME,
    check_path,
    placeholder_value,
    quote,
    under_home,
    under_tmp,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_EXECUTABLE",
    "DEFAULT_INBOX",
    "default_unit",
    "load_template",
    "render_unit",
]

# The paths systemd/resnet-watch.service is rendered with (see the README).
DEFAULT_EXECUTABLE = Path("/opt/resnet-watch/.venv/bin/resnet-watch")
DEFAULT_CONFIG_PATH = Path("/etc/resnet-watch/config.yaml")
DEFAULT_INBOX = Path("/srv/photos/inbox")
# The example user unit, systemd/resnet-watch-user.service.
EXAMPLE_USER_CONFIG_PATH = Path("/home/alice/.config/resnet-watch/config.yaml")
EXAMPLE_USER_INBOX = Path("/home/alice/Pictures/inbox")
EXAMPLE_USER_EXECUTABLE = Path("/home/alice/.local/bin/resnet-watch")  # as pipx installs it

_PLACEHOLDER = re.compile(r"@[A-Z_]+@")
_GROUP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\$?")


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
        check_path(path)
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

    words = [quote(str(exec_python_or_cmd), exec_line=True)]
    if PYTHON_NAME.fullmatch(exec_python_or_cmd.name):
        words += ["-m", "resnet_watch"]
    program = list(words)
    words += ["run", "--config", quote(str(config_path), exec_line=True)]

    access: list[str] = []
    hidden_home = False
    # No "-" on the inbox: a missing inbox must fail the start (226/NAMESPACE), not run
    # a service that watches an empty stand-in.
    for inbox in inbox_paths:
        if not user_mode and under_home(inbox):
            hidden_home = True
            access.append(f"BindPaths={quote(str(inbox), forbid=':')}")
        else:
            access.append(f"ReadWritePaths={quote(str(inbox))}")
    # The config's folder, not the file: relative paths in the config resolve against it.
    for folder in dict.fromkeys([config_path.parent, *readable]):
        check_path(folder)
        if not user_mode and under_home(folder):
            hidden_home = True
            optional = "" if folder == config_path.parent else "-"  # weights may come later
            access.append(f"BindReadOnlyPaths={quote(optional + str(folder), forbid=':')}")
    needed = [exec_python_or_cmd, config_path, *inbox_paths, *writable, *readable]
    private_tmp = user_mode or not any(under_tmp(p) for p in needed)

    values = {
        "EXEC_START": " ".join(words),
        # $MAINPID is systemd's, not escaped: the synchronous reload (see reloading.py)
        "EXEC_RELOAD": " ".join([*program, "reload", "--pid", "$MAINPID"]),
        "REQUIRES_MOUNTS_FOR": " ".join(quote(str(p)) for p in inbox_paths),
        "PROTECT_HOME": "read-only" if user_mode else ("tmpfs" if hidden_home else "yes"),
        "INBOX_ACCESS": "\n".join(access),
        "SUPPLEMENTARY_GROUPS": (
            f"SupplementaryGroups={' '.join(supplementary_groups)}" if supplementary_groups else ""
        ),
    }
    for folder in writable:
        check_path(folder)
        access.append(f"ReadWritePaths={quote('-' + str(folder))}")
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
        out.append(_PLACEHOLDER.sub(lambda m: placeholder_value(values, m.group(0)), line))
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
