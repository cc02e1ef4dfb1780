"""Atomic file writes: a reader (or a crash) sees the old file or the new one, never half.

Temp file in the target's own folder (so the rename cannot cross filesystems), fsync,
``os.replace``, then fsync of the folder so the rename itself survives a power cut. A
leaf module: sidecars, XMP-free callers, weights and unit files all write through it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "TEMP_PREFIX",
    "atomic_copy",
    "atomic_write_bytes",
    "fsync_dir",
    "process_umask",
    "walk_files",
]

TEMP_PREFIX = ".resnet-watch-tmp-"
"""Every temp file we create starts with this; the watcher ignores it, start-up sweeps it."""


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: some filesystems refuse)."""
    try:
        dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def process_umask() -> int:
    """The process umask, read from /proc: os.umask's set-and-restore would briefly give
    every other thread of the daemon a umask of 0."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


@contextlib.contextmanager
def _atomic(path: Path, mode: int) -> Iterator[BinaryIO]:
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode & ~process_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically. OSError (ENOSPC, EROFS...) propagates,
    with the temp file removed."""
    with _atomic(path, mode) as fh:
        fh.write(data)


def atomic_copy(src: Path, path: Path, mode: int = 0o644) -> None:
    """Copy ``src`` to ``path`` atomically, in 1 MiB chunks."""
    with _atomic(path, mode) as fh, open(src, "rb") as inp:
        while chunk := inp.read(1 << 20):
            fh.write(chunk)


def walk_files(
    roots: Sequence[Path], match: Callable[[str], bool], *, recursive: bool = True
) -> Iterator[Path]:
    """Regular files under ``roots`` whose name ``match``es, in name order per folder.

    Symlinked folders are not followed (no loops, nothing outside the roots); folders
    that cannot be read are skipped.
    """
    stack = list(roots)
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if recursive:
                        stack.append(Path(entry.path))
                elif match(entry.name) and entry.is_file(follow_symlinks=False):
                    yield Path(entry.path)
            except OSError:
                continue
