"""The one read of an inbox file: opened once, never through a symlink or a FIFO's wait.

Size is checked with fstat before reading and again while reading (a file still growing
past the limit is refused, not truncated), so what gets hashed and decoded is exactly one
version of the file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Final

from resnet_watch.errors import CorruptImage, ImageTooLarge, UnreadableFile

__all__ = ["read_regular_file"]

_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | os.O_NOFOLLOW  # a symlink as the last component fails with ELOOP instead of being read
    | os.O_NONBLOCK  # a FIFO opens at once instead of waiting for a writer
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_READ_CHUNK: Final = 1 << 20


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """All bytes of a regular file, opened once, never following a final symlink."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError as exc:
        raise UnreadableFile("file vanished before it could be read") from exc
    except PermissionError as exc:
        raise UnreadableFile("permission denied") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableFile("is a symlink (not followed)") from exc
        raise UnreadableFile(f"cannot open: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a NUL byte in the name: no such file can exist
        raise UnreadableFile(f"cannot open: {exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile(f"not a regular file ({_file_kind(st.st_mode)})")
        if st.st_size == 0:
            raise CorruptImage("empty file")
        if st.st_size > max_bytes:
            raise ImageTooLarge(f"file is {st.st_size} bytes, limit is {max_bytes}")
        return _read_bounded(fd, st.st_size, max_bytes)
    except PermissionError as exc:  # e.g. a FUSE or network mount refusing the read
        raise UnreadableFile("permission denied") from exc
    except OSError as exc:
        raise UnreadableFile(f"read failed: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def _read_bounded(fd: int, expected: int, max_bytes: int) -> bytes:
    """Read to EOF; a file still growing past ``max_bytes`` is refused, not truncated."""
    parts: list[bytes] = []
    total = 0
    while True:
        # Normally one read of expected+1 bytes gets everything, and a second proves EOF.
        want = expected + 1 - total if total <= expected else _READ_CHUNK
        chunk = os.read(fd, min(want, max_bytes + 1 - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise ImageTooLarge(f"file grew past the {max_bytes} byte limit while being read")
    if total == 0:
        raise CorruptImage("empty file")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"
