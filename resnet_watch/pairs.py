"""RAW+JPEG pairs: ``IMG_1.CR2`` and ``IMG_1.JPG`` from one shutter press are one photo.

Cameras set to RAW+JPEG write both; the JPEG is the camera's own rendering of the RAW, so
the pair is classified once, from the JPEG, and both files get the same labels, tags and
XMP (``IMG_1.CR2.xmp`` and ``IMG_1.JPG.xmp``; never ``IMG_1.xmp``, Lightroom's file for the
RAW). Each sidecar's ``pair`` field names both files and the one that was classified.
A JPEG that lands after its RAW was already classified (from its preview) takes the RAW's
result the same way: one photo is never sent through the model twice.

Pure apart from ``lexists`` look-ups of the partner's name; the store decides what to do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from resnet_watch.imaging.sniff import RAW_FORMATS

__all__ = [
    "JPEG_SUFFIXES",
    "RAW_SUFFIXES",
    "is_raw_name",
    "pair_field",
    "pair_of",
    "partner_jpeg",
    "partner_of",
    "partner_raw",
    "record_from_partner",
]

RAW_SUFFIXES: Final = frozenset(f".{kind.lower()}" for kind in RAW_FORMATS)
JPEG_SUFFIXES: Final = (".JPG", ".jpg", ".JPEG", ".jpeg", ".Jpg")


def is_raw_name(path: Path) -> bool:
    """Whether ``path`` is named like a camera RAW (CR2, NEF, DNG ... in any case)."""
    return path.suffix.lower() in RAW_SUFFIXES


def partner_jpeg(raw: Path) -> Path | None:
    """The JPEG shot together with ``raw`` (same folder and stem), if there is one."""
    if not is_raw_name(raw):
        return None
    for suffix in JPEG_SUFFIXES:
        candidate = raw.with_suffix(suffix)
        if os.path.lexists(candidate):
            return candidate
    return None


def partner_raw(jpeg: Path) -> Path | None:
    """The RAW shot together with ``jpeg``, if there is one."""
    if jpeg.suffix.lower() not in (".jpg", ".jpeg"):
        return None
    for suffix in sorted(RAW_SUFFIXES):
        for spelled in (suffix.upper(), suffix):
            candidate = jpeg.with_suffix(spelled)
            if os.path.lexists(candidate):
                return candidate
    return None


def pair_of(path: Path) -> tuple[Path, Path] | None:
    """(RAW, JPEG) when ``path`` is either half of a pair."""
    jpeg = partner_jpeg(path)
    if jpeg is not None:
        return path, jpeg
    raw = partner_raw(path)
    return (raw, path) if raw is not None else None


def pair_field(raw: Path, jpeg: Path, classified: Path) -> dict[str, Any]:
    """The sidecar's ``pair``: both names (RAW first) and the one whose pixels were used."""
    return {"files": [raw.name, jpeg.name], "classified": classified.name}


def record_from_partner(
    partner: Mapping[str, Any], path: Path, file_fields: Mapping[str, Any], fmt: str
) -> dict[str, Any]:
    """``path``'s result sidecar made from its partner's: same labels, its own file.

    ``path`` is either half (a RAW taking its JPEG's result, or a JPEG that came later
    taking its RAW's); the partner is the one classified.
    """
    image = dict(partner.get("image") or {})
    image.update({"format": fmt, "source": "partner"})
    classified = path.with_name(str((partner.get("file") or {}).get("name") or ""))
    raw, jpeg = (path, classified) if is_raw_name(path) else (classified, path)
    return {
        **partner,
        "file": dict(file_fields),
        "image": image,
        "pair": pair_field(raw, jpeg, classified),
    }


def partner_of(path: Path) -> Path | None:
    """The other half of ``path``'s pair, if there is one."""
    pair = pair_of(path)
    if pair is None:
        return None
    return pair[1] if pair[0] == path else pair[0]
