"""Keep our files in step with the photos: renames carry tags, deletions clean up.

The watcher reports renames and deletions (from events, or found by a rescan); the
catalog moves or removes what we wrote for the photo -- the JSON sidecar, our keywords in
its XMP, its album links -- and keeps the index in step. A rename never runs the model:
the sidecar is rewritten under the new name with its labels and ``classified_at``
unchanged. A user's XMP content is never removed: when a photo goes, only our subtree is
taken out, and the file is deleted only if nothing else was in it.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from resnet_watch.album_links import sync_album_links
from resnet_watch.config import Config
from resnet_watch.errors import SidecarError
from resnet_watch.index import FileIndex
from resnet_watch.known import KnownFile
from resnet_watch.sidecar import read_sidecar, sidecar_path, write_sidecar
from resnet_watch.xmp import remove_keywords
from resnet_watch.xmp import sidecar_path as xmp_path

__all__ = ["Catalog"]

WriteExtras = Callable[[Path, Mapping[str, Any]], None]


class Catalog:
    """The daemon's :class:`resnet_watch.known.Library`: the index plus our files on disk."""

    def __init__(
        self,
        index: FileIndex,
        cfg: Config,
        model_sha: str | None,
        log: Any,
        *,
        write_extras: WriteExtras | None = None,
    ) -> None:
        self.index = index
        self._suffix = cfg.sidecar.suffix
        self._xmp_root = cfg.sidecar.xmp_root
        self._albums = cfg.album_folders
        self._model_sha = model_sha if cfg.model.reclassify_on_change else None
        self._log = log
        self._write_extras = write_extras

    # --- what the watcher asks ----------------------------------------------------------

    def known_in(self, folder: Path) -> Mapping[str, KnownFile]:
        return self.index.known_in(folder, self._model_sha)

    def known(self, image: Path) -> KnownFile | None:
        return self.index.known(image, self._model_sha)

    def renamed_from(self, image: Path, size: int, mtime_ns: int, inode: int) -> Path | None:
        for row in self.index.with_size(size):
            same = row.inode == inode and row.mtime_ns == mtime_ns
            if same and row.path != image and not os.path.lexists(row.path):
                return row.path
        return None

    def known_folders(self) -> Iterable[Path]:
        return self.index.folders()

    # --- renames ------------------------------------------------------------------------

    def moved(self, src: Path, dest: Path) -> bool:
        """Carry ``src``'s sidecar, XMP and album links over to ``dest``.

        True when ``dest`` needs no model run: a result for exactly this file version
        moved with it. False sends ``dest`` through the pipeline as usual (its gate then
        sees the moved sidecar, so a failure record keeps its attempts).
        """
        if os.path.lexists(src) or not os.path.lexists(dest):
            return False  # not a rename after all (recreated, or already gone again)
        old_json, new_json = sidecar_path(src, self._suffix), sidecar_path(dest, self._suffix)
        record = read_sidecar(old_json) or read_sidecar(new_json)  # the user may have moved it
        self._unlink_album_links(src)
        self.index.forget(src)
        if record is None:
            self._remove_xmp_keywords(src)
            return False
        # XMP and links first: the JSON sidecar is the commit marker, as in the store
        self._move_xmp(src, dest)
        if self._write_extras is not None and record.get("status") == "ok":
            try:
                self._write_extras(dest, record)
            except Exception as exc:
                self._log.warning("sidecar_extras_failed", path=str(dest), error=str(exc))
        if record["file"].get("name") != dest.name or os.path.lexists(old_json):
            record["file"] = {**record["file"], "name": dest.name}
            try:
                write_sidecar(new_json, record)
            except SidecarError as exc:
                self._log.error("sidecar_write_failed", path=str(dest), error=str(exc))
                return False
            if old_json != new_json:
                with contextlib.suppress(FileNotFoundError):
                    old_json.unlink()
        self.index.record(dest, record, new_json)
        self._log.info("image_moved", src=str(src), path=str(dest), status=record.get("status"))
        return record.get("status") == "ok" and _same_version(dest, record)

    def _move_xmp(self, src: Path, dest: Path) -> None:
        old, new = xmp_path(src), xmp_path(dest)
        if not os.path.lexists(old):
            return
        if os.path.lexists(new):  # the user or an app made one: ours merge into it later
            self._remove_xmp_keywords(src)
            return
        try:
            os.rename(old, new)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                self._log.warning("xmp_move_failed", path=str(dest), error=str(exc))

    # --- deletions ----------------------------------------------------------------------

    def gone(self, image: Path) -> None:
        """Remove our JSON sidecar, our XMP keywords and album links of a vanished photo."""
        if os.path.lexists(image):
            return  # back already (an editor saving by delete + create): keep everything
        removed: list[str] = []
        sidecar = sidecar_path(image, self._suffix)
        with contextlib.suppress(FileNotFoundError):
            sidecar.unlink()
            removed.append("sidecar")
        if self._remove_xmp_keywords(image):
            removed.append("xmp")
        if self._unlink_album_links(image):
            removed.append("album_links")
        known = self.index.get(image) is not None
        self.index.forget(image)
        if removed or known:
            self._log.info("image_removed", path=str(image), removed=removed)

    def gone_folder(self, folder: Path) -> None:
        """A folder was deleted or moved out: its photos' album links and index rows go."""
        for entry in self.index.under(folder):
            if not os.path.lexists(entry.path):
                self.gone(entry.path)

    def _remove_xmp_keywords(self, image: Path) -> bool:
        """Our subtree out of the image's XMP; True if the file held nothing else (deleted)."""
        try:
            return remove_keywords(image, self._xmp_root)
        except SidecarError as exc:
            self._log.warning("xmp_left_alone", path=str(image), error=str(exc))
            return False

    def _unlink_album_links(self, image: Path) -> bool:
        if not self._albums.enabled:
            return False
        try:
            sync_album_links(self._albums.dir, image, (), self._albums.mode)
        except (OSError, ValueError) as exc:
            self._log.warning("album_links_failed", path=str(image), error=str(exc))
            return False
        return True


def _same_version(image: Path, record: Mapping[str, Any]) -> bool:
    try:
        st = os.lstat(image)
    except OSError:
        return False
    file = record.get("file") or {}
    return (st.st_size, st.st_mtime_ns) == (file.get("size"), file.get("mtime_ns"))
