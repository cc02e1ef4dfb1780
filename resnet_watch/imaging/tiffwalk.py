"""A bounded walk over a TIFF-based RAW's IFD tree before LibRaw sees it.

Hostile TIFFs loop (an IFD whose next pointer or SubIFD names an IFD already seen) or point
outside the file. LibRaw copes with the ones we tried, but a loop in a file claiming to be a
camera's RAW is never a photo, so it gets a clear ``corrupt_image`` instead of whatever a
parser makes of it. Pure: bytes in, an exception or nothing out.
"""

from __future__ import annotations

from typing import Final, Literal

from resnet_watch.errors import CorruptImage

__all__ = ["check_ifd_tree"]

_SUB_IFDS: Final = 330
_EXIF_IFD: Final = 34665
_MAX_IFDS: Final = 256
_MAX_ENTRIES: Final = 4096


def check_ifd_tree(data: bytes) -> None:
    """Raise CorruptImage if the IFD chain (with SubIFDs and the EXIF IFD) loops or escapes."""
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return  # BigTIFF and non-TIFF containers: LibRaw's own checks apply
    order: Literal["little", "big"] = "little" if data[:2] == b"II" else "big"

    def u(at: int, size: int) -> int:
        if at < 0 or at + size > len(data):
            raise CorruptImage(f"TIFF structure points outside the file (offset {at})")
        return int.from_bytes(data[at : at + size], order)

    pending = [u(4, 4)]
    seen: set[int] = set()
    while pending:
        offset = pending.pop()
        if offset == 0:
            continue
        if offset in seen:
            raise CorruptImage(f"TIFF IFD chain loops back to offset {offset}")
        seen.add(offset)
        if len(seen) > _MAX_IFDS:
            raise CorruptImage(f"TIFF has more than {_MAX_IFDS} IFDs")
        count = u(offset, 2)
        if count > _MAX_ENTRIES:
            raise CorruptImage(f"TIFF IFD at {offset} claims {count} entries")
        for i in range(count):
            entry = offset + 2 + 12 * i
            tag, kind, n = u(entry, 2), u(entry + 2, 2), u(entry + 4, 4)
            if tag in (_SUB_IFDS, _EXIF_IFD) and kind in (4, 13):  # LONG or IFD offsets
                if n == 1:
                    pending.append(u(entry + 8, 4))
                elif 0 < n <= _MAX_IFDS:
                    base = u(entry + 8, 4)
                    pending.extend(u(base + 4 * k, 4) for k in range(n))
        pending.append(u(offset + 2 + 12 * count, 4))
