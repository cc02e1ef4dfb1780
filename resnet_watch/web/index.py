"""The browse pages' view of the sidecars: albums, tags, search, failures.

Inside the daemon this reads the daemon's SQLite index (``library.index``), which the
daemon keeps in step with every sidecar it writes, so a page costs one indexed query
even on a 200,000-photo library. Without that index (the web app alone, in tests) it
falls back to walking the sidecars and re-reading only the ones whose size or mtime
changed, at most every ``min_interval`` seconds.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from resnet_watch.index import FileIndex, IndexedFile, open_existing
from resnet_watch.library import image_for_sidecar, iter_sidecars
from resnet_watch.sidecar import read_sidecar, sidecar_path

__all__ = ["Entry", "LibraryIndex", "entry_from_indexed", "entry_from_record"]


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


def entry_from_indexed(row: IndexedFile) -> Entry:
    return Entry(
        row.path,
        row.path.with_name(row.sidecar_name),
        row.status,
        labels=row.labels,
        tags=row.tags,
        albums=row.albums,
        error=row.error,
        gave_up=row.gave_up,
        when=row.happened_at,
        mtime_ns=row.sidecar_mtime_ns,
    )


class LibraryIndex:
    """Sidecars under the inbox roots, from the daemon's index or a cheap walk; thread-safe."""

    def __init__(
        self,
        roots: Sequence[Path],
        suffix: str,
        min_interval: float = 2.0,
        index_path: Path | None = None,
    ) -> None:
        self._roots = list(roots)
        self._suffix = suffix
        self._min_interval = min_interval
        self._index_path = index_path
        self._db: FileIndex | None = None
        self._lock = threading.Lock()
        # sidecar -> (mtime, size, entry); None: ignored (logged once per version)
        self._entries: dict[Path, tuple[int, int, Entry | None]] = {}
        self._refreshed = -1e9

    def _indexed(self) -> FileIndex | None:
        if self._db is None and self._index_path is not None:
            self._db = open_existing(self._index_path)
        return self._db

    def refresh(self, force: bool = False) -> None:
        if self._indexed() is not None:
            return  # the daemon updates the index as it writes sidecars
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

    def classified_count(self) -> int:
        db = self._indexed()
        return db.count("ok") if db is not None else len(self.classified())

    def failures(self, limit: int = 1000) -> list[Entry]:
        db = self._indexed()
        if db is not None:
            return [entry_from_indexed(r) for r in db.newest("failed", limit)]
        return [e for e in self.entries() if e.status == "failed"][:limit]

    def albums(self) -> list[tuple[str, int, Entry]]:
        """(album, image count, newest image) by album name."""
        db = self._indexed()
        if db is not None:
            found = []
            for name, count in sorted(db.album_counts().items(), key=lambda x: x[0].casefold()):
                newest = db.album(name, limit=1)
                if newest:
                    found.append((name, count, entry_from_indexed(newest[0])))
            return found
        counts: dict[str, int] = {}
        cover: dict[str, Entry] = {}
        for e in self.classified():
            for album in e.albums:
                counts[album] = counts.get(album, 0) + 1
                cover.setdefault(album, e)
        return [(a, counts[a], cover[a]) for a in sorted(counts, key=str.casefold)]

    def album(self, name: str, limit: int = 1000) -> list[Entry]:
        db = self._indexed()
        if db is not None:
            return [entry_from_indexed(r) for r in db.album(name, limit)]
        return [e for e in self.classified() if name in e.albums][:limit]

    def search(self, query: str, limit: int = 500) -> list[Entry]:
        """Images whose labels, tags, albums or file name contain every word of ``query``."""
        words = query.casefold().split()
        if not words:
            return []
        db = self._indexed()
        if db is not None:
            return [entry_from_indexed(r) for r in db.search(query, limit)]
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
