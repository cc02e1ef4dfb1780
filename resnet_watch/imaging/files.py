"""The one read of an inbox file: opened once, never through a symlink or a FIFO's wait.

Size is checked with fstat before reading and again while reading (a file still growing
past the limit is refused, not truncated), so what gets hashed and decoded is exactly one
version of the file. The sha256 is taken in the same pass: each chunk is hashed right after
the kernel copied it in, while it is still in the CPU cache. Hashing a 25 MB RAW after
reading it cost more than the read and the decode together (the data had left the cache).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, cast

from resnet_watch.errors import CorruptImage, ImageTooLarge, UnreadableFile

__all__ = ["FileContent", "MemoryFile", "hash_file", "read_regular_file"]

_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | os.O_NOFOLLOW  # a symlink as the last component fails with ELOOP instead of being read
    | os.O_NONBLOCK  # a FIFO opens at once instead of waiting for a writer
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
# Small enough to still be in L2 when it is hashed right after the read (measured: 128 KB to
# 512 KB hash alike; 4 MB as slowly as hashing the whole file afterwards).
_READ_CHUNK: Final = 256 << 10


@dataclass(frozen=True)
class FileContent:
    """Every byte of one version of a file and the sha256 of exactly those bytes."""

    data: bytearray
    sha256: str


def read_regular_file(path: Path, max_bytes: int) -> FileContent:
    """All bytes of a regular file and their sha256, opened once, never following a symlink."""
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
        return _read_hashed(fd, st.st_size, max_bytes)
    except PermissionError as exc:  # e.g. a FUSE or network mount refusing the read
        raise UnreadableFile("permission denied") from exc
    except OSError as exc:
        raise UnreadableFile(f"read failed: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def hash_file(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's content, for a check that needs no decode; never through a symlink."""
    digest = hashlib.sha256()
    fd = os.open(path, _OPEN_FLAGS)
    with os.fdopen(fd, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _read_hashed(fd: int, expected: int, max_bytes: int) -> FileContent:
    """Read to EOF, hashing as we go; a file growing past ``max_bytes`` is refused."""
    digest = hashlib.sha256()
    data = _uninitialised(expected + 1)  # one byte more: a file that grew since fstat fills it
    total = 0
    with memoryview(data) as view:
        while total < len(data):
            count = os.readv(fd, [view[total : total + _READ_CHUNK]])
            if count == 0:
                break
            digest.update(view[total : total + count])
            total += count
    if total == len(data):  # it grew since fstat: the rest, still bounded
        _read_rest(fd, data, digest.update, max_bytes)
    else:
        del data[total:]
    if not data:
        raise CorruptImage("empty file")
    return FileContent(data, digest.hexdigest())


def _uninitialised(size: int) -> bytearray:
    """A bytearray whose bytes are not zeroed first (``bytearray(n)`` zeroes: 2 ms of 25 MB).

    Only what ``os.readv`` filled is ever kept: ``_read_hashed`` cuts the rest off.
    """
    if _new_bytearray is None:
        return bytearray(size)
    created: bytearray = _new_bytearray(None, size)
    return created


def _load_new_bytearray() -> Callable[[None, int], bytearray] | None:
    """CPython's ``PyByteArray_FromStringAndSize``: NULL data means "allocate, do not fill"."""
    try:
        function = ctypes.pythonapi.PyByteArray_FromStringAndSize
    except AttributeError:  # not CPython
        return None
    function.restype = ctypes.py_object
    function.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)
    return cast("Callable[[None, int], bytearray]", function)


_new_bytearray: Final = _load_new_bytearray()


def _read_rest(
    fd: int, data: bytearray, hash_more: Callable[[bytes], None], max_bytes: int
) -> None:
    """Append what a file that kept growing still holds, refusing it past ``max_bytes``."""
    while True:
        if len(data) > max_bytes:
            raise ImageTooLarge(f"file grew past the {max_bytes} byte limit while being read")
        chunk = os.read(fd, min(_READ_CHUNK, max_bytes + 1 - len(data)))
        if not chunk:
            return
        hash_more(chunk)
        data += chunk


class MemoryFile:
    """A read-only file over bytes in memory, for decoders that want a file object.

    ``io.BytesIO`` would copy a bytearray whole (a second copy of a 200 MB file); this copies
    only what the decoder reads.
    """

    def __init__(self, data: bytes | bytearray) -> None:
        self._view = memoryview(data).toreadonly()
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        end = (
            len(self._view) if size is None or size < 0 else min(self._pos + size, len(self._view))
        )
        start, self._pos = self._pos, max(self._pos, end)
        return bytes(self._view[start:end])

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: len(self._view)}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._view.release()


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
