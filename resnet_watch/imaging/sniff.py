"""What a file is, judged by its bytes (the name only breaks ties inside the TIFF family).

``sniff_format`` looks at the first ``SNIFF_BYTES`` only and names the container: a RAW that
is a TIFF underneath (DNG, CR2, NEF, ARW, PEF ...) sniffs as ``TIFF``, the other RAW
containers (CR3, RAF, ORF, RW2) as ``RAW``. ``raw_format`` then names the RAW kind from the
whole file: a DNG by its DNGVersion tag, a CR2 by its header, a Nikon/Sony/Pentax/... TIFF
by its name (their IFD0 is an ordinary TIFF thumbnail, so the content alone cannot tell).
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "RAW_FORMATS",
    "SNIFF_BYTES",
    "SUPPORTED_FORMATS",
    "TIFF_RAW_SUFFIXES",
    "raw_format",
    "sniff_format",
]

SNIFF_BYTES: Final = 64
"""How many leading bytes ``sniff_format`` needs; passing more is harmless."""

TIFF_RAW_SUFFIXES: Final = frozenset(
    {"nef", "nrw", "arw", "srf", "sr2", "pef", "srw", "erf", "3fr", "mef", "mos", "kdc", "dcr"}
)
"""TIFF-based RAW kinds recognised by name once the content has proven a TIFF container."""

RAW_FORMATS: Final = frozenset(
    {"DNG", "CR2", "CR3", "RAF", "ORF", "RW2"} | {s.upper() for s in TIFF_RAW_SUFFIXES}
)
SUPPORTED_FORMATS: Final = (
    frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF"}) | RAW_FORMATS
)

# BMP info-header sizes Pillow understands; checking them keeps "BM..." text files out.
_BMP_HEADER_SIZES: Final = frozenset({12, 40, 52, 56, 64, 108, 124})
# Major brands pillow-heif opens (HEVC-coded HEIF); AVIF needs a decoder we do not ship.
_HEIF_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)
_HEVC_BRANDS: Final = _HEIF_BRANDS - {b"mif1", b"msf1"}
_AV1_BRANDS: Final = frozenset({b"avif", b"avis"})
_DNG_VERSION: Final = 0xC612
_MAX_IFD0_ENTRIES: Final = 4096


def sniff_format(head: bytes) -> str | None:
    """The container format named by the leading magic bytes, or None if not one we read.

    ``head`` should hold at least ``SNIFF_BYTES`` bytes (fewer is fine for short files).
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # classic and BigTIFF
        return "TIFF"
    if _raw_container(head) is not None:
        return "RAW"
    if head[:2] == b"BM" and len(head) >= 18:
        if int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
            return "BMP"
        return None
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        box_end = min(int.from_bytes(head[:4], "big"), len(head))
        brands = {head[i : i + 4] for i in range(16, box_end - 3, 4)} | {head[8:12]}
        if brands & _AV1_BRANDS and not brands & _HEVC_BRANDS:
            return None  # an AV1 image in a generic HEIF wrapper
        return "HEIF"
    return None


def _raw_container(head: bytes) -> str | None:
    """The non-TIFF RAW containers, each by its own signature."""
    if head[4:12] == b"ftypcrx ":
        return "CR3"
    if head.startswith(b"FUJIFILMCCD-RAW "):
        return "RAF"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "ORF"
    if head[:4] == b"IIU\x00":
        return "RW2"
    return None


def raw_format(data: bytes | bytearray, container: str, suffix: str) -> str | None:
    """The RAW kind of a file sniffed as ``container`` (TIFF or RAW), or None for a plain TIFF.

    ``suffix`` is the file name's extension without the dot, any case.
    """
    if container == "RAW":
        return _raw_container(bytes(data[:SNIFF_BYTES]))
    if container != "TIFF":
        return None
    if data[:4] == b"II*\x00" and data[8:10] == b"CR":
        return "CR2"
    if _has_ifd0_tag(data, _DNG_VERSION):
        return "DNG"
    folded = suffix.lower()
    return folded.upper() if folded in TIFF_RAW_SUFFIXES else None


def _has_ifd0_tag(data: bytes | bytearray, wanted: int) -> bool:
    """Whether a classic TIFF's first IFD holds ``wanted``; bounds-checked, never raises."""
    if data[:4] not in (b"II*\x00", b"MM\x00*") or len(data) < 8:
        return False
    order: Literal["little", "big"] = "little" if data[:2] == b"II" else "big"
    offset = int.from_bytes(data[4:8], order)
    if offset < 8 or offset + 2 > len(data):
        return False
    count = min(int.from_bytes(data[offset : offset + 2], order), _MAX_IFD0_ENTRIES)
    for i in range(count):
        at = offset + 2 + 12 * i
        if at + 2 > len(data):
            return False
        if int.from_bytes(data[at : at + 2], order) == wanted:
            return True
    return False
