"""Which paths under a watched root are photos for us, and which are junk or our own output.

Pure: no filesystem access, so the rules can be tested on made-up paths. All patterns are
shell globs matched case-insensitively (cameras write ``IMG_0001.JPG``, SMB clients change
case). A pattern without ``/`` is matched against every path component below the root, so
``@eaDir`` hides a Synology thumbnail folder at any depth; a pattern with ``/`` is matched
against the root-relative path and each of its parent prefixes (``archive/*``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from pathlib import PurePath

from resnet_watch import fsutil

__all__ = [
    "DEFAULT_IGNORE",
    "OWN_MARKER",
    "OWN_TEMP_PREFIX",
    "PathFilter",
]

DEFAULT_IGNORE: tuple[str, ...] = (
    ".*",
    "._*",
    ".DS_Store",
    "@eaDir",
    ".stfolder",
    ".stversions",
    ".Trashes",
    "__MACOSX",
    "Thumbs.db",
    "desktop.ini",
    "*.part",
    "*.crdownload",
    "*.tmp",
    "*.partial",
    "~*",
)
"""Always ignored; user patterns are added to these, never substituted."""

OWN_MARKER = ".resnet-watch."
"""Any name containing this is one of our sidecars (``photo.jpg.resnet-watch.json``)."""

OWN_TEMP_PREFIX = fsutil.TEMP_PREFIX
"""Prefix of our temporary files during an atomic sidecar write."""


def _compile(patterns: Iterable[str]) -> re.Pattern[str] | None:
    parts = [fnmatch.translate(p) for p in patterns if p]
    if not parts:
        return None
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


class PathFilter:
    """Decides whether a file below a root is a candidate image for the pipeline."""

    def __init__(
        self,
        *,
        include: Iterable[str] = (),
        ignore: Iterable[str] = (),
        sidecar_suffixes: Iterable[str] = (),
    ) -> None:
        all_ignore = (*DEFAULT_IGNORE, *ignore)
        self._ignore_name = _compile(p for p in all_ignore if "/" not in p)
        self._ignore_relpath = _compile(p.strip("/") for p in all_ignore if "/" in p)
        self._include = _compile(include)
        self._sidecar_suffixes = tuple(s.casefold() for s in sidecar_suffixes if s)

    def is_ignored_name(self, name: str) -> bool:
        """True if a single path component (file or directory name) matches an ignore pattern."""
        return self._ignore_name is not None and self._ignore_name.match(name) is not None

    def is_ignored_dir(self, path: PurePath, root: PurePath) -> bool:
        """True if a directory below ``root`` must not be descended into (or is outside it)."""
        rel = _relative(path, root)
        if rel is None:
            return True
        return self._rel_ignored(rel)

    def is_own_file(self, name: str) -> bool:
        """True for our sidecars and temporary files, so we never classify our own output."""
        folded = name.casefold()
        return (
            OWN_MARKER in folded
            or folded.startswith(OWN_TEMP_PREFIX)
            or folded.endswith(self._sidecar_suffixes)
        )

    def is_included_name(self, name: str) -> bool:
        """True if the file name matches the include patterns (no patterns: everything)."""
        return self._include is None or self._include.match(name) is not None

    def is_candidate(self, path: PurePath, root: PurePath) -> bool:
        """True if ``path`` (a file below ``root``) should be handed to the pipeline."""
        rel = _relative(path, root)
        if rel is None or not rel.parts:
            return False
        name = rel.parts[-1]
        if self.is_own_file(name) or not self.is_included_name(name):
            return False
        return not self._rel_ignored(rel)

    def _rel_ignored(self, rel: PurePath) -> bool:
        if any(self.is_ignored_name(part) for part in rel.parts):
            return True
        if self._ignore_relpath is None:
            return False
        prefix = ""
        for part in rel.parts:
            prefix = f"{prefix}/{part}" if prefix else part
            if self._ignore_relpath.match(prefix):
                return True
        return False


def _relative(path: PurePath, root: PurePath) -> PurePath | None:
    try:
        return path.relative_to(root)
    except ValueError:
        return None
