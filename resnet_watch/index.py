"""A rebuildable SQLite index of the sidecars: what the daemon needs at 200k-1M files.

The JSON sidecars stay the truth; this is a cache beside them that answers in
milliseconds what would otherwise cost a walk and a JSON parse per file: is this file
version already done (the watcher's rescan), which file had this content (a rename
found at a rescan), how many photos each album holds, and search. Python keeps
nothing per file in memory; SQLite's page cache is capped.

A missing, corrupt or older-schema index is moved aside and rebuilt from the
sidecars (:func:`open_index` says so with ``rebuilt``). WAL mode lets ``resnet-watch
albums`` and the web UI read while the daemon writes. Paths are stored as bytes, so
any file name the filesystem allows round-trips.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from resnet_watch import fsutil
from resnet_watch.index_rows import (
    COLUMNS,
    KNOWN_COLUMNS,
    IndexedFile,
    encode,
    from_row,
    row_values,
    to_known,
    words_of,
)
from resnet_watch.known import KnownFile
from resnet_watch.sidecar import read_sidecar

__all__ = ["SCHEMA", "FileIndex", "IndexedFile", "open_existing", "open_index", "words_of"]

SCHEMA = 1
"""Bump when the table layout changes: an older index is then rebuilt from the sidecars."""

_CACHE_KIB = 8 * 1024
"""SQLite page cache per connection; bounds the index's memory whatever the library size."""

_DDL = """
CREATE TABLE IF NOT EXISTS files (
    dir BLOB NOT NULL,
    name BLOB NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    sha256 TEXT,
    status TEXT NOT NULL,
    gave_up INTEGER NOT NULL,
    model_sha TEXT NOT NULL,
    sidecar_name BLOB NOT NULL,
    sidecar_size INTEGER NOT NULL,
    sidecar_mtime_ns INTEGER NOT NULL,
    happened_at TEXT NOT NULL,
    labels TEXT NOT NULL,
    tags TEXT NOT NULL,
    albums TEXT NOT NULL,
    error TEXT NOT NULL,
    words TEXT NOT NULL,
    PRIMARY KEY (dir, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_by_size ON files (size);
CREATE INDEX IF NOT EXISTS files_by_time ON files (status, happened_at);
CREATE TABLE IF NOT EXISTS album_members (
    album TEXT NOT NULL,
    dir BLOB NOT NULL,
    name BLOB NOT NULL,
    PRIMARY KEY (album, dir, name)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS album_members_by_file ON album_members (dir, name);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class FileIndex:
    """The index on one SQLite file; thread-safe (one connection behind a lock)."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._lock = threading.Lock()
        self.path = path

    # --- writing ------------------------------------------------------------------------

    def record(self, image: Path, record: Mapping[str, Any], sidecar: Path) -> None:
        """Store what ``sidecar`` (just written or read) says about ``image``."""
        try:
            sidecar_st = os.stat(sidecar, follow_symlinks=False)
        except OSError:
            self.forget(image)
            return
        file = record.get("file") or {}
        try:
            st = os.lstat(image)
            same = (st.st_size, st.st_mtime_ns) == (file.get("size"), file.get("mtime_ns"))
            inode = st.st_ino if same else 0
        except OSError:
            inode = 0
        values = row_values(image, record, sidecar, sidecar_st, inode)
        albums = json.loads(values[15])
        with self._lock, self._db:
            self._put(values, albums)

    def _put(self, values: tuple[Any, ...], albums: Sequence[str]) -> None:
        key = values[:2]
        self._db.execute(f"INSERT OR REPLACE INTO files ({COLUMNS}) VALUES ({'?,' * 17}?)", values)
        self._db.execute("DELETE FROM album_members WHERE dir = ? AND name = ?", key)
        self._db.executemany(
            "INSERT OR IGNORE INTO album_members (album, dir, name) VALUES (?, ?, ?)",
            [(a, *key) for a in albums],
        )

    def forget(self, image: Path) -> None:
        """Drop ``image`` (deleted, moved out, or its sidecar is gone)."""
        key = (encode(image.parent), encode(image.name))
        with self._lock, self._db:
            self._db.execute("DELETE FROM files WHERE dir = ? AND name = ?", key)
            self._db.execute("DELETE FROM album_members WHERE dir = ? AND name = ?", key)

    def forget_folder(self, folder: Path) -> list[Path]:
        """Drop every image in or under ``folder``; returns the paths that were indexed."""
        gone = [f.path for f in self.under(folder)]
        for path in gone:
            self.forget(path)
        return gone

    # --- reading ------------------------------------------------------------------------

    def get(self, image: Path) -> IndexedFile | None:
        key = (encode(image.parent), encode(image.name))
        with self._lock:
            row = self._db.execute(
                f"SELECT {COLUMNS} FROM files WHERE dir = ? AND name = ?", key
            ).fetchone()
        return from_row(row) if row is not None else None

    def in_folder(self, folder: Path) -> dict[str, IndexedFile]:
        """The indexed images directly in ``folder``, by file name."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM files WHERE dir = ?", (encode(folder),)
            ).fetchall()
        return {os.fsdecode(r[1]): from_row(r) for r in rows}

    def known_in(self, folder: Path, model_sha: str | None) -> dict[str, KnownFile]:
        """The watcher's view of ``folder``: cheap columns only, no JSON decoding.

        ``done`` means classified by ``model_sha`` (any model when None) or given up on.
        """
        with self._lock:
            rows = self._db.execute(
                f"SELECT name, {KNOWN_COLUMNS} FROM files WHERE dir = ?", (encode(folder),)
            ).fetchall()
        return {os.fsdecode(r[0]): to_known(r[1:], model_sha) for r in rows}

    def known(self, image: Path, model_sha: str | None) -> KnownFile | None:
        """:meth:`known_in` for one file."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {KNOWN_COLUMNS} FROM files WHERE dir = ? AND name = ?",
                (encode(image.parent), encode(image.name)),
            ).fetchone()
        return None if row is None else to_known(row, model_sha)

    def folders(self) -> list[Path]:
        """Every folder that holds an indexed image."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT dir FROM files").fetchall()
        return [Path(os.fsdecode(r[0])) for r in rows]

    def under(self, folder: Path) -> list[IndexedFile]:
        """Indexed images in ``folder`` or any folder below it."""
        top = encode(folder)
        below = top.rstrip(b"/") + b"/"
        with self._lock:
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM files WHERE dir = ? OR (dir >= ? AND dir < ?)",
                (top, below, below[:-1] + b"0"),
            ).fetchall()
        return [from_row(r) for r in rows]

    def with_size(self, size: int) -> list[IndexedFile]:
        """Candidates for a renamed file: same size (then inode or sha256 decide)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM files WHERE size = ?", (size,)
            ).fetchall()
        return [from_row(r) for r in rows]

    def count(self, status: str | None = None) -> int:
        with self._lock:
            if status is None:
                row = self._db.execute("SELECT count(*) FROM files").fetchone()
            else:
                row = self._db.execute(
                    "SELECT count(*) FROM files WHERE status = ?", (status,)
                ).fetchone()
        return int(row[0])

    def album_counts(self) -> Counter[str]:
        """How many classified images each album holds."""
        with self._lock:
            rows = self._db.execute(
                "SELECT album, count(*) FROM album_members GROUP BY album"
            ).fetchall()
        return Counter({str(a): int(n) for a, n in rows})

    def album(self, name: str, limit: int = 500, offset: int = 0) -> list[IndexedFile]:
        """An album's images, newest first."""
        cols = ", ".join(f"f.{c.strip()}" for c in COLUMNS.split(","))
        with self._lock:
            rows = self._db.execute(
                f"SELECT {cols} FROM album_members a JOIN files f "
                "ON f.dir = a.dir AND f.name = a.name WHERE a.album = ? "
                "ORDER BY f.happened_at DESC LIMIT ? OFFSET ?",
                (name, limit, offset),
            ).fetchall()
        return [from_row(r) for r in rows]

    def newest(self, status: str, limit: int = 500, offset: int = 0) -> list[IndexedFile]:
        """Images with ``status`` ("ok"/"failed"), newest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM files WHERE status = ? "
                "ORDER BY happened_at DESC LIMIT ? OFFSET ?",
                (status, limit, offset),
            ).fetchall()
        return [from_row(r) for r in rows]

    def search(self, query: str, limit: int = 500) -> list[IndexedFile]:
        """Classified images whose name, labels, tags or albums contain every word."""
        words = query.casefold().split()
        if not words:
            return []
        where = " AND ".join("instr(words, ?) > 0" for _ in words)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {COLUMNS} FROM files WHERE status = 'ok' AND {where} "
                "ORDER BY happened_at DESC LIMIT ?",
                (*words, limit),
            ).fetchall()
        return [from_row(r) for r in rows]

    def close(self) -> None:
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._db.close()

    # --- rebuilding ---------------------------------------------------------------------

    def rebuild(self, roots: Sequence[Path], suffix: str) -> int:
        """Empty the index and fill it from every sidecar under ``roots``; the row count."""
        from resnet_watch.library import image_for_sidecar

        with self._lock, self._db:
            self._db.execute("DELETE FROM files")
            self._db.execute("DELETE FROM album_members")
        batch: list[tuple[tuple[Any, ...], list[str]]] = []
        count = 0
        for sidecar in fsutil.walk_files(roots, lambda name: name.endswith(suffix)):
            record = read_sidecar(sidecar)
            if record is None:
                continue
            image = image_for_sidecar(sidecar, record, suffix)
            if image is None:  # a crafted or stray sidecar names another file: not indexed
                continue
            try:
                sidecar_st = os.stat(sidecar, follow_symlinks=False)
                st = os.lstat(image)
            except OSError:
                continue  # an orphan: the rescan's rename matching or clean-up handles it
            file = record.get("file") or {}
            same = (st.st_size, st.st_mtime_ns) == (file.get("size"), file.get("mtime_ns"))
            values = row_values(image, record, sidecar, sidecar_st, st.st_ino if same else 0)
            batch.append((values, json.loads(values[15])))
            if len(batch) >= 2000:
                count += self._put_many(batch)
        count += self._put_many(batch)
        return count

    def _put_many(self, batch: list[tuple[tuple[Any, ...], list[str]]]) -> int:
        n = len(batch)
        with self._lock, self._db:
            for values, albums in batch:
                self._put(values, albums)
        batch.clear()
        return n

    def __enter__(self) -> FileIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _connect(path: Path | None) -> sqlite3.Connection:
    where = ":memory:" if path is None else path
    db = sqlite3.connect(where, timeout=30, check_same_thread=False, isolation_level="DEFERRED")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
    return db


def _schema_ok(db: sqlite3.Connection) -> bool:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        db.execute("SELECT dir FROM files LIMIT 1").fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == str(SCHEMA)


def _initialise(path: Path | None) -> sqlite3.Connection:
    db = _connect(path)
    with db:
        db.executescript(_DDL)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA),))
    return db


def open_existing(path: Path) -> FileIndex | None:
    """The index at ``path`` for reading beside a running daemon; None if absent or unusable."""
    if not path.is_file():
        return None
    try:
        db = _connect(path)
        if not _schema_ok(db):
            db.close()
            return None
    except sqlite3.Error:
        return None
    return FileIndex(db, path)


def open_index(path: Path | None, roots: Sequence[Path], suffix: str) -> tuple[FileIndex, bool]:
    """Open the index at ``path``; rebuild it from the sidecars when missing or unusable.

    Returns the index and whether it was rebuilt. A corrupt file is moved aside to
    ``<name>.corrupt`` (kept for a bug report), never trusted. ``path=None`` keeps the
    index in memory (rebuilt at every start) for when its folder cannot be written.
    """
    if path is None:
        memory = FileIndex(_initialise(None), Path(":memory:"))
        memory.rebuild(roots, suffix)
        return memory, True
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    db: sqlite3.Connection | None = None
    if existed:
        try:
            db = _connect(path)
            quick = db.execute("PRAGMA quick_check").fetchone()
            if quick is None or quick[0] != "ok" or not _schema_ok(db):
                raise sqlite3.DatabaseError("index failed its check")
        except sqlite3.Error:
            if db is not None:
                db.close()
            db = None
            for extra in ("-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(str(path) + extra)
            os.replace(path, path.with_name(path.name + ".corrupt"))
    if db is not None:
        return FileIndex(db, path), False
    index = FileIndex(_initialise(path), path)
    index.rebuild(roots, suffix)
    return index, True
