"""Walking the inbox: the backlog at start, the periodic rescan, folders that appear.

A rescan of 200,000 unchanged photos must cost stats, not reads: each folder is listed
once, the library says what it knows about that folder (one indexed query), and a file
whose size and mtime match a finished sidecar that is itself unchanged is skipped. What
differs is handed back to the watcher to settle: new files, changed files, files whose
sidecar was deleted or edited (``resnet-watch retry``, a user's clean-up), files with a
retry due. Files the library knows but the walk did not find are matched against the new
ones (a rename while the daemon was down keeps its tags) and the rest are reported gone.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from resnet_watch.known import KnownFile, Library, NewFile, match_moves
from resnet_watch.pathfilter import PathFilter
from resnet_watch.settle import FileSignature

__all__ = ["NEW_MEMORY", "Findings", "Scanner", "sha256_or_none"]

NEW_MEMORY = 50_000
"""New files a full scan holds back for rename matching; beyond that they settle at once."""

Touch = Callable[[Path], None]
AlreadyEmitted = Callable[[Path, FileSignature], bool]


@dataclass
class Findings:
    """What one full scan found that needs a decision after the walk."""

    new: list[NewFile] = field(default_factory=list)
    vanished: dict[Path, KnownFile] = field(default_factory=dict)
    visited: set[Path] = field(default_factory=set)
    seen: int = 0
    touched: int = 0


def sha256_or_none(path: Path) -> str | None:
    """Content hash for rename matching; None if the file cannot be read (then no match)."""
    h = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _sidecar_intact(known: KnownFile, listing: dict[str, os.DirEntry[str]]) -> bool:
    entry = listing.get(known.sidecar_name)
    if entry is None:
        return False
    try:
        st = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == (known.sidecar_size, known.sidecar_mtime_ns)


class Scanner:
    """Walks folders for the watcher; the library (if any) says what is already done."""

    def __init__(
        self,
        path_filter: PathFilter,
        recursive: bool,
        library: Library | None,
        warn: Callable[[Path, OSError], None],
    ) -> None:
        self._filter = path_filter
        self._recursive = recursive
        self.library = library
        self._warn = warn

    def walk(
        self,
        top: Path,
        root: Path,
        touch: Touch,
        already_emitted: AlreadyEmitted,
        findings: Findings | None = None,
    ) -> Findings:
        """Walk ``top`` iteratively (symlinked folders are not followed).

        With ``findings`` (a full scan), unknown files are held back for rename matching
        and files the library knows but did not see are collected as vanished.
        """
        found = findings if findings is not None else Findings()
        stack = [top]
        while stack:
            directory = stack.pop()
            found.visited.add(directory)
            try:
                with os.scandir(directory) as it:
                    entries = list(it)
            except OSError as exc:
                self._warn(directory, exc)
                continue
            library = self.library
            known = dict(library.known_in(directory)) if library is not None else {}
            listing = {e.name: e for e in entries} if known else {}
            quick = self._filter
            for entry in entries:
                name = entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        path = Path(entry.path)
                        if self._recursive and not quick.is_ignored_dir(path, root):
                            stack.append(path)
                        continue
                    if quick.is_own_file(name) or not quick.is_included_name(name):
                        continue  # sidecars and non-photos: half the entries, no Path built
                    if not (entry.is_file(follow_symlinks=False) or entry.is_symlink()):
                        continue
                    signature = FileSignature.of(entry.stat(follow_symlinks=False))
                except OSError:
                    continue
                previous = known.pop(name, None)
                if previous is not None:
                    same = (previous.size, previous.mtime_ns) == signature[:2]
                    if previous.done and same and _sidecar_intact(previous, listing):
                        found.seen += 1  # the common case at 200k files: nothing to build
                        continue
                path = Path(entry.path)
                if not quick.is_candidate(path, root):
                    continue
                found.seen += 1
                if previous is not None:
                    touch(path)  # changed, sidecar gone or edited, or a retry is due
                    found.touched += 1
                    continue
                if already_emitted(path, signature):
                    continue
                found.touched += 1
                if findings is not None and library is not None and len(found.new) < NEW_MEMORY:
                    found.new.append(
                        NewFile(path, signature.size, signature.mtime_ns, signature.inode)
                    )
                else:
                    touch(path)
            if findings is not None:
                for name, entry_known in known.items():
                    found.vanished[directory / name] = entry_known
        return found

    def known_but_unvisited(self, found: Findings, root_of: Callable[[Path], Path | None]) -> None:
        """Add the files of indexed folders the walk never reached (deleted while down)."""
        if self.library is None:
            return
        for folder in self.library.known_folders():
            if folder in found.visited or root_of(folder) is None:
                continue
            for name, entry_known in self.library.known_in(folder).items():
                found.vanished[folder / name] = entry_known

    def pair(
        self,
        new: list[NewFile],
        vanished: dict[Path, KnownFile],
        touch: Touch,
        done: Callable[[Path], None],
    ) -> tuple[set[Path], set[Path]]:
        """Match new files with recently vanished ones; (matched sources, matched new paths).

        Matched pairs are handed to the library (a rename: no model run); ``touch`` gets
        those the library could not take over; the caller decides about the unmatched.
        """
        sources: set[Path] = set()
        dests: set[Path] = set()
        if self.library is not None and vanished and new:
            for src, dest in match_moves(vanished, new, sha256_or_none):
                sources.add(src)
                dests.add(dest)
                if self.library.moved(src, dest):
                    done(dest)
                else:
                    touch(dest)
        return sources, dests

    def reconcile(
        self, found: Findings, touch: Touch, done: Callable[[Path], None]
    ) -> tuple[int, int]:
        """Renames first (no model run), then deletions, then the rest settle; (moved, removed)."""
        library = self.library
        moved = 0
        if library is not None and found.vanished and found.new:
            paired: set[Path] = set()
            for src, dest in match_moves(found.vanished, found.new, sha256_or_none):
                del found.vanished[src]
                paired.add(dest)
                if library.moved(src, dest):
                    done(dest)
                    moved += 1
                else:
                    touch(dest)
            found.new = [n for n in found.new if n.path not in paired]
        removed = 0
        if library is not None:
            for path in found.vanished:
                if not os.path.lexists(path):
                    library.gone(path)
                    removed += 1
        for new in found.new:
            touch(new.path)
        found.new.clear()
        found.vanished.clear()
        return moved, removed
