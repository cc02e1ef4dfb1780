"""A minimal DNG writer: a real photo as a Bayer mosaic plus an embedded JPEG preview.

No camera RAW ships in any package we can reach, so the formats benchmark and the tests
make DNGs from real photos: a DNG 1.4 whose IFD0 holds a JPEG preview (what cameras and
converters embed) and whose SubIFD holds a 16-bit RGGB mosaic sampled from the photo, with
the tags LibRaw needs to demosaic it (CFA pattern, black/white level, colour matrix). The
"camera" is linear sRGB, so a demosaic gives the photo back.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = ["bayer_mosaic", "dng_bytes"]

# TIFF field types
_BYTE, _ASCII, _SHORT, _LONG, _RATIONAL, _SRATIONAL = 1, 2, 3, 4, 5, 10
_XYZ_TO_SRGB = (3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570)
_SIZES = {_BYTE: 1, _ASCII: 1, _SHORT: 2, _LONG: 4, _RATIONAL: 8, _SRATIONAL: 8}


@dataclass
class _Entry:
    tag: int
    kind: int
    values: Sequence[int] | bytes | Sequence[tuple[int, int]]


def bayer_mosaic(image: Image.Image, white: int = 4095) -> npt.NDArray[np.uint16]:
    """RGGB mosaic (uint16, ``white``-scaled, linear-ish) sampled from an RGB photo."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    linear = rgb**2.2 * white
    h, w = rgb.shape[0] // 2 * 2, rgb.shape[1] // 2 * 2
    mosaic = np.empty((h, w), dtype=np.uint16)
    mosaic[0::2, 0::2] = linear[0:h:2, 0:w:2, 0]
    mosaic[0::2, 1::2] = linear[0:h:2, 1:w:2, 1]
    mosaic[1::2, 0::2] = linear[1:h:2, 0:w:2, 1]
    mosaic[1::2, 1::2] = linear[1:h:2, 1:w:2, 2]
    return mosaic


def _pack(entries: list[_Entry], ifd_offset: int, next_ifd: int) -> tuple[bytes, bytes]:
    """One IFD at ``ifd_offset`` (its out-of-line values follow it): (ifd bytes, data bytes)."""
    entries = sorted(entries, key=lambda e: e.tag)
    table_size = 2 + 12 * len(entries) + 4
    data = bytearray()
    table = bytearray(struct.pack("<H", len(entries)))
    for e in entries:
        if isinstance(e.values, bytes):
            raw, count = e.values, len(e.values)
        elif e.kind in (_RATIONAL, _SRATIONAL):
            code = "<ii" if e.kind == _SRATIONAL else "<II"
            pairs = list(e.values)
            raw = b"".join(struct.pack(code, *p) for p in pairs)  # type: ignore[misc]
            count = len(pairs)
        else:
            code = {_BYTE: "B", _SHORT: "H", _LONG: "I"}[e.kind]
            vals = list(e.values)
            raw = struct.pack(f"<{len(vals)}{code}", *vals)
            count = len(vals)
        if len(raw) <= 4:
            field = raw.ljust(4, b"\x00")
        else:
            if len(data) % 2:
                data.append(0)
            field = struct.pack("<I", ifd_offset + table_size + len(data))
            data += raw
        table += struct.pack("<HHI", e.tag, e.kind, count) + field
    table += struct.pack("<I", next_ifd)
    return bytes(table), bytes(data)


def dng_bytes(
    image: Image.Image,
    *,
    preview: Image.Image | bytes | None = None,
    orientation: int = 1,
    sub_ifd_loop: bool = False,
) -> bytes:
    """A DNG of ``image``: Bayer mosaic + (by default) a JPEG preview of the same photo.

    ``preview`` may be another image, ready JPEG bytes (e.g. a bomb) or None for the default
    preview (the photo at 1/2 size, quality 90, as many cameras embed). ``sub_ifd_loop``
    makes the raw IFD's next-IFD pointer point back at itself.
    """
    mosaic = bayer_mosaic(image)
    height, width = mosaic.shape
    if isinstance(preview, bytes):
        preview_jpeg, (pw, ph) = preview, (160, 120)  # what the tags claim, whatever it holds
    else:
        shown = preview if preview is not None else image.reduce(2)
        buf = io.BytesIO()
        shown.convert("RGB").save(buf, "JPEG", quality=90)
        preview_jpeg = buf.getvalue()
        pw, ph = shown.size
    raw_data = mosaic.astype("<u2").tobytes()

    header = 8

    # Layout: header | IFD0 + its data | raw IFD + its data | preview JPEG | raw strip
    # Two passes: sizes first (offsets do not change sizes), then the real offsets.
    def build(ifd1_at: int, preview_at: int, raw_at: int) -> tuple[bytes, bytes]:
        ifd0 = [
            _Entry(254, _LONG, [1]),  # NewSubFileType: reduced-resolution preview
            _Entry(256, _LONG, [pw]),
            _Entry(257, _LONG, [ph]),
            _Entry(258, _SHORT, [8, 8, 8]),
            _Entry(259, _SHORT, [7]),  # JPEG
            _Entry(262, _SHORT, [6]),  # YCbCr
            _Entry(271, _ASCII, b"Canon\x00"),
            _Entry(272, _ASCII, b"Canon EOS 5D Mark III\x00"),
            _Entry(273, _LONG, [preview_at]),
            _Entry(274, _SHORT, [orientation]),
            _Entry(277, _SHORT, [3]),
            _Entry(278, _LONG, [ph]),
            _Entry(279, _LONG, [len(preview_jpeg)]),
            _Entry(330, _LONG, [ifd1_at]),  # SubIFDs
            _Entry(50706, _BYTE, [1, 4, 0, 0]),  # DNGVersion
            _Entry(50707, _BYTE, [1, 1, 0, 0]),
            _Entry(50708, _ASCII, b"Canon EOS 5D Mark III\x00"),
            # ColorMatrix1: XYZ (D65) -> camera; the "camera" is linear sRGB, as the mosaic.
            _Entry(50721, _SRATIONAL, [(round(v * 10000), 10000) for v in _XYZ_TO_SRGB]),
            _Entry(50728, _RATIONAL, [(1, 1), (1, 1), (1, 1)]),  # AsShotNeutral
            _Entry(50778, _SHORT, [21]),  # CalibrationIlluminant1: D65
        ]
        ifd1 = [
            _Entry(254, _LONG, [0]),  # the main image
            _Entry(256, _LONG, [width]),
            _Entry(257, _LONG, [height]),
            _Entry(258, _SHORT, [16]),
            _Entry(259, _SHORT, [1]),
            _Entry(262, _SHORT, [32803]),  # CFA
            _Entry(273, _LONG, [raw_at]),
            _Entry(277, _SHORT, [1]),
            _Entry(278, _LONG, [height]),
            _Entry(279, _LONG, [len(raw_data)]),
            _Entry(33421, _SHORT, [2, 2]),  # CFARepeatPatternDim
            _Entry(33422, _BYTE, [0, 1, 1, 2]),  # CFAPattern RGGB
            _Entry(50714, _LONG, [0]),  # BlackLevel
            _Entry(50717, _LONG, [4095]),  # WhiteLevel
        ]
        t0, d0 = _pack(ifd0, header, 0)
        t1, d1 = _pack(ifd1, ifd1_at, ifd1_at if sub_ifd_loop else 0)
        return t0 + d0, t1 + d1

    part0, part1 = build(0, 0, 0)
    ifd1_at = header + len(part0)
    preview_at = ifd1_at + len(part1)
    raw_at = preview_at + len(preview_jpeg)
    part0, part1 = build(ifd1_at, preview_at, raw_at)
    assert header + len(part0) == ifd1_at and ifd1_at + len(part1) == preview_at
    return b"II*\x00" + struct.pack("<I", header) + part0 + part1 + preview_jpeg + raw_data
