"""Album folders: mirror each image's albums as folders of links to the original.

This is the filesystem edge of smart albums. ``sync_album_links`` and ``prune_album_links`` only
ever create, replace or delete links whose names they generate, inside a folder that carries the
``.resnet-watch-albums`` marker, and never copy pixels.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Literal

from resnet_watch.albums import check_album_name

__all__ = [
    "MARKER",
    "LinkMode",
    "link_name",
    "prune_album_links",
    "sync_album_links",
]

LinkMode = Literal["symlink", "hardlink"]
MARKER = ".resnet-watch-albums"
_HASH_LEN = 8
_OUR_LINK = re.compile(r".*~[0-9a-f]{8}(\.[^.~/]*)?")
_OUR_TEMP = re.compile(r"\..*\.rw-tmp-\d+")


def link_name(image: Path) -> str:
    """``IMG_1~3f2a9c1b.jpg``: the image's name plus a short hash of its absolute path.

    Always hashed, so two ``IMG_1.jpg`` from different folders never collide and a link's
    name never changes when a same-named image appears later. The stem comes first so folders
    sort by the original name, and the extension stays last for apps that go by it.
    """
    absolute = os.path.abspath(image)
    digest = hashlib.sha256(os.fsencode(absolute)).hexdigest()[:_HASH_LEN]
    path = Path(absolute)
    return f"{path.stem}~{digest}{path.suffix}"


def _prepare(albums_dir: Path) -> None:
    """Create the albums folder, or adopt it if it is empty; refuse anyone else's folder."""
    if (albums_dir / MARKER).exists():
        return
    albums_dir.mkdir(parents=True, exist_ok=True)
    if any(p.name != MARKER for p in albums_dir.iterdir()):
        raise ValueError(
            f"albums_dir {albums_dir} is not empty and was not created by resnet-watch "
            f"(no {MARKER}); refusing to manage links in it"
        )
    (albums_dir / MARKER).write_text(
        "Managed by resnet-watch: folders of links to originals, rebuilt from sidecars.\n",
        encoding="utf-8",
    )


def _album_dirs(albums_dir: Path) -> list[Path]:
    out = []
    for entry in os.scandir(albums_dir):
        if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
            out.append(Path(entry.path))
    return sorted(out)


def _is_link_to(path: Path, image: Path, mode: LinkMode) -> bool:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    if mode == "symlink":
        return stat.S_ISLNK(st.st_mode) and os.readlink(path) == os.path.abspath(image)
    try:
        img = image.stat()
    except FileNotFoundError:
        return False
    return stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) == (img.st_dev, img.st_ino)


def _remove_ours(path: Path) -> None:
    """Remove a link we made; a directory under our name is left alone."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or stat.S_ISREG(st.st_mode):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _place_link(path: Path, image: Path, mode: LinkMode) -> None:
    """Make ``path`` link to ``image`` atomically (build beside it, then rename over)."""
    tmp = path.with_name(f".{path.name}.rw-tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        if mode == "symlink":
            os.symlink(os.path.abspath(image), tmp)
        else:
            try:
                os.link(image, tmp, follow_symlinks=False)
            except OSError as exc:
                if exc.errno == 18:  # EXDEV
                    raise ValueError(
                        f"hardlink albums need albums_dir on the same filesystem as {image}"
                    ) from exc
                raise
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def sync_album_links(
    albums_dir: Path, image: Path, albums: Collection[str], mode: LinkMode = "symlink"
) -> None:
    """Make ``image`` appear in exactly ``albums`` under ``albums_dir``.

    Idempotent: links that are already right are not touched. An image that no longer exists
    is removed from every album. Raises ValueError for a bad album name or a foreign folder.
    """
    if mode not in ("symlink", "hardlink"):
        raise ValueError(f"album link mode must be 'symlink' or 'hardlink', got {mode!r}")
    wanted = set(albums) if image.exists() else set()
    for album in wanted:
        check_album_name(album, "album name")
    _prepare(albums_dir)
    name = link_name(image)
    for folder in _album_dirs(albums_dir):
        if folder.name not in wanted:
            _remove_ours(folder / name)
    for album in sorted(wanted):
        folder = albums_dir / album
        folder.mkdir(exist_ok=True)
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            raise ValueError(f"{path} is a directory; not replacing it with a link")
        if not _is_link_to(path, image, mode):
            _place_link(path, image, mode)


def prune_album_links(albums_dir: Path, albums: Collection[str] | None = None) -> int:
    """Remove links whose original is gone; returns how many entries were removed.

    A symlink is gone when its target is. A hardlink never dangles, so it is gone when every
    name of its inode lives inside ``albums_dir`` (the original was deleted; keeping it would
    keep the pixels alive). With ``albums``, links in folders of albums no longer configured
    are removed too. Album folders left empty are removed (an album nobody is in any more
    should not linger as an empty folder in a photo app). Only names this module generates
    are touched, and only inside a folder that carries the marker.
    """
    if not (albums_dir / MARKER).exists():
        return 0
    removed = 0
    inodes: dict[tuple[int, int], list[Path]] = {}
    nlinks: dict[tuple[int, int], int] = {}
    for folder in _album_dirs(albums_dir):
        retired = albums is not None and folder.name not in albums
        for entry in os.scandir(folder):
            path = Path(entry.path)
            if _OUR_TEMP.fullmatch(entry.name):
                _remove_ours(path)
                removed += 1
                continue
            if not _OUR_LINK.fullmatch(entry.name):
                continue
            st = entry.stat(follow_symlinks=False)
            if retired or (stat.S_ISLNK(st.st_mode) and not os.path.exists(path)):
                _remove_ours(path)
                removed += 1
            elif stat.S_ISREG(st.st_mode):
                key = (st.st_dev, st.st_ino)
                inodes.setdefault(key, []).append(path)
                nlinks[key] = st.st_nlink
    for key, paths in inodes.items():
        if len(paths) >= nlinks[key]:
            for path in paths:
                _remove_ours(path)
                removed += 1
    for folder in _album_dirs(albums_dir):
        with contextlib.suppress(OSError):  # not empty: still an album
            folder.rmdir()
    return removed
