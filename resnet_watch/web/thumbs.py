"""Thumbnails, made once with the daemon's safe decoder and cached in the state dir.

The cache key is the image's real path, size, mtime and the thumbnail size, so an edited
photo gets a new thumbnail and a stale one ages out. The cache is capped: when it grows
past ``cap_bytes`` the least recently used files (by mtime, touched on every hit) go.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import threading
from pathlib import Path

from resnet_watch.imaging import ImageLimits, read_image
from resnet_watch.sidecar import atomic_write_bytes

__all__ = ["SIZES", "ThumbCache"]

SIZES = {"s": 320, "l": 1024}


class ThumbCache:
    """JPEG thumbnails under ``folder``, at most ``cap_bytes`` in total."""

    def __init__(self, folder: Path, cap_bytes: int, limits: ImageLimits) -> None:
        self.folder = folder
        self._cap = cap_bytes
        self._limits = limits
        self._lock = threading.Lock()  # one decode at a time: the classifier needs the CPUs
        self._total: int | None = None

    def get(self, image: Path, size: int) -> Path:
        """The cached thumbnail of ``image`` (made now if missing); raises ImageError/OSError."""
        real = os.path.realpath(image)
        st = os.stat(real)
        key = hashlib.sha256(f"{real}\0{st.st_size}\0{st.st_mtime_ns}\0{size}".encode()).hexdigest()
        target = self.folder / key[:2] / f"{key}.jpg"
        if target.exists():
            with contextlib.suppress(OSError):
                os.utime(target)
            return target
        with self._lock:
            if target.exists():
                return target
            decoded = read_image(Path(real), self._limits, size)
            picture = decoded.image
            picture.thumbnail((size, size))
            buf = io.BytesIO()
            picture.convert("RGB").save(buf, "JPEG", quality=82, optimize=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, buf.getvalue())
            self._grow(len(buf.getvalue()))
        return target

    def _grow(self, added: int) -> None:
        if self._total is None:
            self._total = sum(size for _, size, _ in self._files())
        else:
            self._total += added
        if self._total > self._cap:
            self.prune(int(self._cap * 0.8))

    def _files(self) -> list[tuple[float, int, str]]:
        out = []
        for sub in os.scandir(self.folder):
            if not sub.is_dir(follow_symlinks=False):
                continue
            for entry in os.scandir(sub.path):
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    out.append((st.st_mtime, st.st_size, entry.path))
        return out

    def prune(self, keep_bytes: int) -> int:
        """Delete least recently used thumbnails until at most ``keep_bytes`` remain."""
        files = sorted(self._files())
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, path in files:
            if total <= keep_bytes:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                total -= size
                removed += 1
        self._total = total
        return removed
