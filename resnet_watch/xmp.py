"""XMP sidecars (``IMG_1.jpg.xmp``) carrying our tags for digiKam, darktable, Immich & co.

The same keywords go into three fields, because each app reads a different one:
``dc:subject`` (flat leaf names), ``lr:hierarchicalSubject`` (``resnet-watch|Pets|Dogs|beagle``)
and ``digiKam:TagsList`` (``resnet-watch/Pets/Dogs/beagle``). Every hierarchical keyword lives
under one root so a user can drop them all at once. Which entries are whose, and how the
merge keeps every app showing the user's own tags, is ``xmp_merge``'s job.

The sidecar is often not ours: darktable keeps its edit history in it, digiKam and the user
keep ratings and their own keywords. So an existing file is merged, never regenerated: every
foreign element, attribute, comment and keyword is kept, and only our subtree changes.

An existing sidecar is untrusted input: DTDs and entity declarations are refused, and so is a
file that is not well-formed XMP. Such a file is left exactly as it is and ``SidecarError``
says why -- losing a user's ratings or edit history is worse than missing tags. Writes are
atomic (temp file in the same folder, fsync, rename, fsync folder) and keep the old file's
mode; the image itself is never opened.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import xml.parsers.expat
from pathlib import Path

from resnet_watch import fsutil
from resnet_watch.errors import SidecarError
from resnet_watch.fsutil import TEMP_PREFIX
from resnet_watch.xmp_merge import (
    DESC,
    NS,
    OURS,
    TAGS,
    ImageTags,
    XmpKeywords,
    clean_text,
    items,
    merge,
    rdf_root,
)
from resnet_watch.xmp_tree import Doc, Misc, Node, Refused, parse, serialise

__all__ = [
    "DEFAULT_ROOT",
    "NS",
    "XmpKeywords",
    "read_keywords",
    "remove_keywords",
    "sidecar_path",
    "write_xmp",
]

DEFAULT_ROOT = "resnet-watch"
_MAX_BYTES = 32 * 1024 * 1024
_RETRIES = 3
_PREFIXES = {uri: prefix for prefix, uri in NS.items()}

_TEMPLATE = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    f'<x:xmpmeta xmlns:x="{NS["x"]}" x:xmptk="resnet-watch">\n'
    f' <rdf:RDF xmlns:rdf="{NS["rdf"]}">\n'
    '  <rdf:Description rdf:about="">\n'
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>\n'
)


def sidecar_path(image_path: Path) -> Path:
    """``IMG_1.jpg`` -> ``IMG_1.jpg.xmp``, the name darktable, digiKam and Immich look for."""
    return image_path.with_name(image_path.name + ".xmp")


def _check_root(root: str) -> str:
    if not root or root != clean_text(root) or "/" in root or "|" in root:
        raise ValueError(f"XMP keyword root {root!r} must be a single plain path segment")
    return root


def _load(path: Path) -> tuple[Doc | None, os.stat_result | None, bytes]:
    """The existing sidecar parsed (None if absent or empty), its stat and its bytes."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None, None, b""
    if not stat.S_ISREG(st.st_mode):
        raise SidecarError(f"{path}: exists but is not a regular file; left untouched")
    if st.st_size > _MAX_BYTES:
        raise SidecarError(f"{path}: {st.st_size} bytes is too large for an XMP; left untouched")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(_MAX_BYTES + 1)
    if not data.strip():
        return None, st, data
    try:
        doc = parse(data)
        rdf_root(doc)
    except (Refused, xml.parsers.expat.ExpatError, IndexError) as exc:
        raise SidecarError(
            f"{path}: existing XMP cannot be merged safely ({exc}); left untouched -- "
            "fix or remove it to get resnet-watch keywords"
        ) from None
    return doc, st, data


def _same(a: os.stat_result | None, b: os.stat_result | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_ino, b.st_size, b.st_mtime_ns)


def _replace(path: Path, data: bytes, expected: os.stat_result | None) -> bool:
    """Atomically put ``data`` at ``path`` unless ``path`` changed since it was read."""
    # The shared prefix: the watcher ignores it, sidecar.sweep_temp_files cleans up after a crash.
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if expected is not None:
                os.fchmod(fh.fileno(), stat.S_IMODE(expected.st_mode))
                with contextlib.suppress(PermissionError):
                    os.fchown(fh.fileno(), expected.st_uid, expected.st_gid)
            else:
                os.fchmod(fh.fileno(), 0o666 & ~fsutil.process_umask())
            os.fsync(fh.fileno())
        try:
            now: os.stat_result | None = path.lstat()
        except FileNotFoundError:
            now = None
        if not _same(now, expected):
            return False  # someone (darktable, digiKam, the user) wrote it meanwhile: re-merge
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsutil.fsync_dir(path.parent)
    return True


def write_xmp(
    image_path: Path,
    keywords: XmpKeywords,
    root: str = DEFAULT_ROOT,
    *,
    subject_seq: bool = False,
    image: ImageTags | None = None,
) -> Path:
    """Merge ``keywords`` into ``<image name>.xmp`` under ``root``; returns the sidecar path.

    Empty ``keywords`` remove our subtree (and create no file if there is none).
    ``subject_seq`` writes dc:subject as an rdf:Seq, the form PhotoPrism's released XMP
    reader imports. ``image`` are the tags embedded in the image (``image_keywords``),
    copied into the fields we write so no app stops showing them. Raises SidecarError when
    the existing sidecar cannot be merged safely or cannot be written; the existing file is
    then left exactly as it was.
    """
    _check_root(root)
    keywords = XmpKeywords(
        tuple(dict.fromkeys(c for c in (clean_text(x) for x in keywords.leaves) if c)),
        tuple(dict.fromkeys(c for c in (clean_text(x).strip("/") for x in keywords.paths) if c)),
    )
    path = sidecar_path(image_path)
    try:
        for _ in range(_RETRIES):
            doc, st, old = _load(path)
            if doc is None:
                if not keywords:
                    return path
                doc = parse(_TEMPLATE.encode("utf-8"))
            merge(doc, keywords, root, subject_seq=subject_seq, image=image)
            new = serialise(doc, _PREFIXES)
            if new == old:
                return path  # unchanged: leave the file (and its mtime) alone
            if _replace(path, new, st):
                return path
        raise SidecarError(f"{path}: kept changing while we merged; try again later")
    except OSError as exc:
        raise SidecarError(f"{path}: cannot write XMP sidecar: {exc}") from exc


def read_keywords(image_path: Path, root: str = DEFAULT_ROOT) -> XmpKeywords:
    """Our keywords as currently stored in the image's XMP sidecar (empty if none)."""
    _check_root(root)
    doc, _, _ = _load(sidecar_path(image_path))
    if doc is None:
        return XmpKeywords()
    leaves: list[str] = []
    paths: list[str] = []
    for desc in rdf_root(doc).elements(DESC):
        for prop in desc.elements(OURS):
            leaves += items(prop)
        for prop in desc.elements(TAGS):
            paths += [i[len(root) + 1 :] for i in items(prop) if i.startswith(root + "/")]
    return XmpKeywords(tuple(dict.fromkeys(leaves)), tuple(dict.fromkeys(paths)))


def _nothing_but_shell(doc: Doc) -> bool:
    """True when only the empty packet we would create is left: no property, no comment."""
    rdf = rdf_root(doc)
    shells = (doc.root, rdf) if doc.root is not rdf else (rdf,)
    for node in shells:
        if any(isinstance(c, Misc) for c in node.children):
            return False
    if doc.root is not rdf and list(doc.root.elements()) != [rdf]:
        return False
    about = f"{{{NS['rdf']}}}about"
    for child in rdf.children:
        if isinstance(child, Misc) or (isinstance(child, Node) and child.tag != DESC):
            return False
        if isinstance(child, Node) and (
            any(True for _ in child.elements())
            or any(isinstance(c, Misc) for c in child.children)
            or set(child.attrs) - {about}
        ):
            return False
    return True


def remove_keywords(image_path: Path, root: str = DEFAULT_ROOT) -> bool:
    """Take our subtree out of ``image_path``'s XMP; delete the file if nothing else is left.

    For a photo that was deleted or moved out of the inbox: a user's ratings, edit history
    or own keywords stay (the file is kept and only our keywords go). Returns True when the
    file was deleted. Raises SidecarError like :func:`write_xmp` for a file we must not touch.
    """
    _check_root(root)
    path = sidecar_path(image_path)
    try:
        for _ in range(_RETRIES):
            doc, st, old = _load(path)
            if st is None:
                return False
            if doc is not None:
                merge(doc, XmpKeywords(), root)
            if doc is None or _nothing_but_shell(doc):
                fresh = path.lstat()
                if _same(fresh, st):
                    path.unlink()
                    return True
                continue
            new = serialise(doc, _PREFIXES)
            if new == old or _replace(path, new, st):
                return False
        raise SidecarError(f"{path}: kept changing while we removed our keywords")
    except OSError as exc:
        raise SidecarError(f"{path}: cannot update XMP sidecar: {exc}") from exc
