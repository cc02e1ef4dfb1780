"""Which watched root holds a path, and whether the path is one of ours to classify.

Events, scans and renames all ask the same questions about a path; answering them in one
place keeps the non-recursive rule and nested roots consistent. Pure: the caller resolves
the roots (``realpath``) once, so no question here touches the filesystem.
"""

from __future__ import annotations

from pathlib import Path

from resnet_watch.pathfilter import PathFilter

__all__ = ["InboxRoots"]


class InboxRoots:
    """The watched roots (resolved) with the candidate rules of one ``watch:`` section."""

    def __init__(
        self,
        roots: tuple[Path, ...],
        path_filter: PathFilter,
        *,
        recursive: bool,
        sidecar_suffix: str,
    ) -> None:
        self.paths = tuple(sorted(roots, key=lambda p: -len(p.parts)))
        """Deepest first, so a path inside nested roots belongs to the innermost one."""
        self._filter = path_filter
        self._recursive = recursive
        self._sidecar_suffix = sidecar_suffix

    def root_for(self, path: Path) -> Path | None:
        """The root ``path`` is (or lies below), or None outside every root."""
        for root in self.paths:
            if path == root or root in path.parents:
                return root
        return None

    def is_candidate(self, path: Path) -> bool:
        """A file we would classify: below a root (top level only if not recursive), filtered."""
        root = self.root_for(path)
        if root is None:
            return False
        if not self._recursive and path.parent != root:
            return False
        return self._filter.is_candidate(path, root)

    def image_of_sidecar(self, path: Path) -> Path | None:
        """The candidate image whose JSON sidecar ``path`` would be, else None."""
        suffix = self._sidecar_suffix
        if not suffix or not path.name.endswith(suffix) or len(path.name) == len(suffix):
            return None
        image = path.with_name(path.name[: -len(suffix)])
        return image if self.is_candidate(image) else None
