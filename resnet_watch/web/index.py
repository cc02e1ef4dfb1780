"""An in-memory index of the sidecars for the browse pages: albums, tags, search, failures.

Refreshing walks the inbox's sidecars and re-reads only the ones whose size or mtime
changed, at most every ``min_interval`` seconds, so a 10,000-photo library costs one
directory walk and some stats per refresh, not 10,000 JSON parses per page.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_watch.library import image_for_sidecar, iter_sidecars
from resnet_watch.sidecar import read_sidecar, sidecar_path

__all__ = ["Entry", "LibraryIndex", "entry_from_record"]


@dataclass(frozen=True)
class Entry:
    """One image as its sidecar describes it."""

    image: Path
    sidecar: Path
    status: str  # "ok" | "failed"
    labels: tuple[tuple[str, float], ...] = ()
    tags: tuple[str, ...] = ()
    albums: tuple[str, ...] = ()
    error: str = ""
    gave_up: bool = False
    when: str = ""  # classified_at / failed_at
    mtime_ns: int = 0  # of the sidecar

    @property
    def top(self) -> str:
        return self.labels[0][0] if self.labels else ""


def entry_from_record(
    sidecar: Path, record: dict[str, Any], suffix: str, mtime_ns: int = 0
) -> Entry | None:
    """The sidecar as an index entry; None when it names another file than its own."""
    image = image_for_sidecar(sidecar, record, suffix)
    if image is None:
        return None
    if record.get("status") == "failed":
        err = record.get("error") if isinstance(record.get("error"), dict) else {}
        assert isinstance(err, dict)
        return Entry(
            image,
            sidecar,
            "failed",
            error=f"{err.get('kind', '?')}: {err.get('message', '')}",
            gave_up=bool(record.get("gave_up")),
            when=str(record.get("failed_at") or ""),
            mtime_ns=mtime_ns,
        )
    labels = tuple(
        (str(x.get("name", "")), float(x.get("score", 0.0)))
        for x in record.get("labels") or []
        if isinstance(x, dict)
    )
    return Entry(
        image,
        sidecar,
        "ok",
        labels=labels,
        tags=tuple(str(t) for t in record.get("tags") or []),
        albums=tuple(str(a) for a in record.get("albums") or []),
        when=str(record.get("classified_at") or ""),
        mtime_ns=mtime_ns,
    )


class LibraryIndex:
    """Sidecars under the inbox roots, refreshed cheaply; thread-safe."""

    def __init__(self, roots: Sequence[Path], suffix: str, min_interval: float = 2.0) -> None:
        self._roots = list(roots)
        self._suffix = suffix
        self._min_interval = min_interval
        self._lock = threading.Lock()
        # sidecar -> (mtime, size, entry); None: ignored (logged once per version)
        self._entries: dict[Path, tuple[int, int, Entry | None]] = {}
        self._refreshed = -1e9

    def refresh(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._refreshed < self._min_interval:
                return
            fresh: dict[Path, tuple[int, int, Entry | None]] = {}
            for path in iter_sidecars(self._roots, self._suffix):
                try:
                    st = os.stat(path, follow_symlinks=False)
                except OSError:
                    continue
                old = self._entries.get(path)
                if old is not None and old[0] == st.st_mtime_ns and old[1] == st.st_size:
                    fresh[path] = old
                    continue
                record = read_sidecar(path)
                if record is None:
                    continue
                entry = entry_from_record(path, record, self._suffix)
                fresh[path] = (st.st_mtime_ns, st.st_size, entry)
            self._entries = fresh
            self._refreshed = time.monotonic()

    def entries(self) -> list[Entry]:
        self.refresh()
        with self._lock:
            found = [e for _, _, e in self._entries.values() if e is not None]
        return sorted(found, key=lambda e: (e.when, str(e.image)), reverse=True)

    def classified(self) -> list[Entry]:
        return [e for e in self.entries() if e.status == "ok"]

    def failures(self) -> list[Entry]:
        return [e for e in self.entries() if e.status == "failed"]

    def albums(self) -> list[tuple[str, int, Entry]]:
        """(album, image count, newest image) by album name."""
        counts: dict[str, int] = {}
        cover: dict[str, Entry] = {}
        for e in self.classified():
            for album in e.albums:
                counts[album] = counts.get(album, 0) + 1
                cover.setdefault(album, e)
        return [(a, counts[a], cover[a]) for a in sorted(counts, key=str.casefold)]

    def album(self, name: str) -> list[Entry]:
        return [e for e in self.classified() if name in e.albums]

    def search(self, query: str, limit: int = 500) -> list[Entry]:
        """Images whose labels, tags, albums or file name contain every word of ``query``."""
        words = query.casefold().split()
        if not words:
            return []
        found = []
        for e in self.classified():
            hay = " ".join([e.image.name, *(n for n, _ in e.labels), *e.tags, *e.albums]).casefold()
            if all(w in hay for w in words):
                found.append(e)
                if len(found) >= limit:
                    break
        return found

    def lookup(self, image: Path) -> Entry | None:
        """The current sidecar of one image, read now (not from the cached walk)."""
        target = sidecar_path(image, self._suffix)
        record = read_sidecar(target)
        return entry_from_record(target, record, self._suffix) if record is not None else None
