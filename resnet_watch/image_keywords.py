"""The keywords a photo already carries inside itself (its XMP packet, IPTC), for the merge.

Immich spreads the sidecar's tags over the image's, and digiKam takes the first non-empty
field: once our sidecar has a TagsList, keywords embedded in the JPEG (a Lightroom export, a
phone app) would no longer show. So the XMP merge copies them, like the sidecar's own.

Only the header is read (Pillow's lazy open, no pixel decoding), the embedded XMP goes
through the same DTD-refusing parser as sidecars, and any failure means "no embedded tags":
an unreadable header must never cost the user their sidecar.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from resnet_watch.xmp_merge import ImageTags, clean_text
from resnet_watch.xmp_tree import Refused, parse

__all__ = ["read_image_tags"]

_IPTC_KEYWORDS = (2, 25)


def _xmp_packet(info: Mapping[Any, Any]) -> bytes | None:
    """JPEG/WebP/PNG keep it under ``xmp`` (bytes); older Pillow PNGs under the iTXt key."""
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = info.get(key)
        if isinstance(value, bytes) and value.strip():
            return value
        if isinstance(value, str) and value.strip():
            return value.encode("utf-8")
    return None


def read_image_tags(image: Path, root: str) -> ImageTags:
    """Tags embedded in ``image`` that are not under ``root``; empty when there are none."""
    from PIL import Image, IptcImagePlugin

    try:
        with Image.open(image) as im:
            packet = _xmp_packet(im.info)
            iptc = IptcImagePlugin.getiptcinfo(im) or {}
    except Exception:  # not an image Pillow reads (RAW, HEIC), truncated, a bomb: no tags
        return ImageTags()
    raw = iptc.get(_IPTC_KEYWORDS, [])
    values = raw if isinstance(raw, list) else [raw]
    keywords = [clean_text(v.decode("utf-8", "replace")) for v in values]
    try:
        doc = parse(packet) if packet else None
        return ImageTags.from_xmp(doc, root, [k for k in keywords if k])
    except (Refused, xml.parsers.expat.ExpatError, IndexError):
        return ImageTags.from_xmp(None, root, [k for k in keywords if k])
