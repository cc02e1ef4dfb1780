"""A bounded walk over a TIFF-based RAW's IFD tree before LibRaw sees it.

Hostile TIFFs loop (an IFD whose next pointer or SubIFD names an IFD already seen) or point
outside the file, and a half-copied RAW still has its whole IFD tree and preview at the
front. LibRaw copes with loops and would classify a truncated file from its intact preview,
so both get a clear ``corrupt_image`` here: a loop is never a camera's file, and image data
running past the end of the file means the copy is incomplete. Pure: bytes in, an
exception or nothing out.
"""

from __future__ import annotations

from typing import Final, Literal

from resnet_watch.errors import CorruptImage

__all__ = ["check_ifd_tree"]

_SUB_IFDS: Final = 330
_EXIF_IFD: Final = 34665
# (offsets tag, byte counts tag): strips, tiles, an old-style JPEG preview
_EXTENTS: Final = ((273, 279), (324, 325), (513, 514))
_TYPE_SIZES: Final = {1: 1, 2: 1, 3: 2, 4: 4, 7: 1, 13: 4, 16: 8}
_MAX_IFDS: Final = 256
_MAX_ENTRIES: Final = 4096
_MAX_VALUES: Final = 1 << 16
# Headers of TIFF-structured RAWs: classic TIFF, Olympus ORF, Panasonic RW2.
_HEADERS: Final = (b"II*\x00", b"MM\x00*", b"IIRO", b"IIRS", b"MMOR", b"IIU\x00")


def check_ifd_tree(data: bytes | bytearray) -> None:
    """Raise CorruptImage if the IFD tree loops, escapes the file, or its data is cut off."""
    if data[:4] not in _HEADERS:
        return  # BigTIFF, CR3, RAF: LibRaw's own checks apply
    order: Literal["little", "big"] = "little" if data[:2] == b"II" else "big"

    def u(at: int, size: int) -> int:
        if at < 0 or at + size > len(data):
            raise CorruptImage(f"TIFF structure points outside the file (offset {at})")
        return int.from_bytes(data[at : at + size], order)

    def values(entry: int) -> list[int]:
        kind, n = u(entry + 2, 2), u(entry + 4, 4)
        size = _TYPE_SIZES.get(kind)
        if size is None or size > 4 or n > _MAX_VALUES:
            return []
        base = entry + 8 if size * n <= 4 else u(entry + 8, 4)
        return [u(base + size * k, size) for k in range(n)]

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
        tags = {u(offset + 2 + 12 * i, 2): offset + 2 + 12 * i for i in range(count)}
        for tag in (_SUB_IFDS, _EXIF_IFD):
            if tag in tags:
                pending.extend(values(tags[tag]))
        for offsets_tag, counts_tag in _EXTENTS:
            if offsets_tag in tags and counts_tag in tags:
                starts, lengths = values(tags[offsets_tag]), values(tags[counts_tag])
                end = max((s + n for s, n in zip(starts, lengths, strict=False)), default=0)
                if end > len(data):
                    raise CorruptImage(
                        f"truncated: image data ends at byte {end}, the file has {len(data)}"
                    )
        pending.append(u(offset + 2 + 12 * count, 4))
