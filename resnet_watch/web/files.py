"""Which files the web UI may touch: images under an inbox, named by a reference.

A reference is ``<inbox number>/<path inside that inbox>`` (``0/2024/cat.jpg``). Resolving
one follows symlinks and then requires the real path to be inside the real inbox, a
regular file, and an image by its first bytes; anything else is ``Refused``. Nothing
outside an inbox is ever served, whatever the URL says.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from resnet_watch.imaging import SNIFF_BYTES, sniff_format

__all__ = ["MEDIA_TYPES", "Refused", "ref_for", "resolve_ref"]

MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "HEIF": "image/heif",
    "RAW": "application/octet-stream",  # CR3, RAF, ORF, RW2 (TIFF-based RAWs sniff as TIFF)
}


class Refused(Exception):
    """The reference does not name an image under an inbox; ``status`` for the answer."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.status = status


def ref_for(image: Path, roots: Sequence[Path]) -> str | None:
    """The reference for ``image`` (as the sidecar names it), or None outside every inbox."""
    for i, root in enumerate(roots):
        try:
            rel = image.relative_to(root)
        except ValueError:
            continue
        if rel.parts and ".." not in rel.parts:
            return f"{i}/{rel.as_posix()}"
    return None


def resolve_ref(ref: str, roots: Sequence[Path]) -> tuple[Path, str]:
    """(path, format) of the image ``ref`` names; raises ``Refused`` otherwise."""
    head, _, rel = ref.partition("/")
    if not head.isdigit() or int(head) >= len(roots) or not rel or "\x00" in rel:
        raise Refused("not an image reference")
    if rel.startswith("/") or ".." in rel.split("/"):
        raise Refused("not under the inbox", 403)
    root = roots[int(head)]
    candidate = root / rel
    real_root = os.path.realpath(root)
    real = os.path.realpath(candidate)
    if os.path.commonpath([real_root, real]) != real_root or real == real_root:
        raise Refused("not under the inbox", 403)
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        raise Refused("no such image") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused("not a regular file")
        fmt = sniff_format(os.read(fd, SNIFF_BYTES))
    finally:
        os.close(fd)
    if fmt is None:
        raise Refused("not an image")
    return candidate, fmt
