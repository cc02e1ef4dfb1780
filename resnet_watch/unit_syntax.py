"""The unit-file rules both of our systemd units follow (the watcher's, ``unit_render.py``;
the worker's, ``queue/unit.py``): how a path becomes one word of a unit file, which paths a
unit can name at all, and which folders the sandbox (ProtectHome=, PrivateTmp=) hides.

Pure: nothing here touches the filesystem, so renderers stay testable without one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

__all__ = [
    "PYTHON_NAME",
    "check_path",
    "placeholder_value",
    "quote",
    "under_home",
    "under_tmp",
]

# ProtectHome= hides these from a system service; whatever it needs there is bind-mounted.
_HOME_ROOTS = (PurePosixPath("/home"), PurePosixPath("/root"), PurePosixPath("/run/user"))
# PrivateTmp=yes gives the service an empty /tmp and /var/tmp of its own.
_TMP_ROOTS = (PurePosixPath("/tmp"), PurePosixPath("/var/tmp"))
# A program with this name is an interpreter: ExecStart= then runs ``-m resnet_watch``.
PYTHON_NAME = re.compile(r"python(\d+(\.\d+)?)?")


def under_tmp(path: Path) -> bool:
    """True for /tmp, /var/tmp and below, which PrivateTmp=yes would hide."""
    pure = PurePosixPath(path)
    return any(pure == root or root in pure.parents for root in _TMP_ROOTS)


def under_home(path: Path) -> bool:
    """True for /home, /root, /run/user and below, which ProtectHome= hides."""
    pure = PurePosixPath(path)
    return any(pure == root or root in pure.parents for root in _HOME_ROOTS)


def check_path(path: Path) -> None:
    """Refuse a relative path, or one whose control character would start a new directive."""
    text = str(path)
    if not path.is_absolute():
        raise ValueError(f"a unit file needs absolute paths: {text!r}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError(f"control character in path: {text!r}")


def quote(word: str, *, exec_line: bool = False, forbid: str = "") -> str:
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


def placeholder_value(values: Mapping[str, str], placeholder: str) -> str:
    """The one-line value of an ``@KEY@`` inside a line; unknown or multi-line is an error."""
    key = placeholder[1:-1]
    if key not in values or "\n" in values[key]:
        raise ValueError(f"template has unknown or misplaced placeholder {placeholder}")
    return values[key]
