"""RAW and HEIC test files made from real photos (no camera files ship in any package we reach).

``dng_bytes`` (resnet_watch.bench.dngwriter, shared with ``bench --formats``) writes a real
DNG: an embedded JPEG preview and a Bayer mosaic LibRaw demosaics. The hostile variants
(looping IFD, bomb preview) are built from it; ``iphone_heic_bytes`` makes an iPhone-shaped
HEIC: the photo at 12 MP with a 320x240 thumbnail, encoded by pillow-heif.
"""

from __future__ import annotations

import io
import struct

from PIL import Image

from resnet_watch.bench.dngwriter import bayer_mosaic, dng_bytes

__all__ = [
    "bayer_mosaic",
    "dng_bytes",
    "iphone_heic_bytes",
    "jpeg_header_bomb",
    "looping_ifd_dng",
]


def jpeg_header_bomb(width: int = 60000, height: int = 60000) -> bytes:
    """A small real JPEG whose SOF header is patched to declare ``width`` x ``height``."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 120, 200)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def looping_ifd_dng(image: Image.Image) -> bytes:
    """A DNG whose raw IFD names itself as the next IFD (a parser without a guard spins)."""
    return dng_bytes(image, sub_ifd_loop=True)


def iphone_heic_bytes(image: Image.Image, quality: int = 80) -> bytes:
    """``image`` upscaled to 4032x3024 (12 MP) as HEIC with a 320x240 thumbnail, like an iPhone."""
    import pillow_heif

    full = image.convert("RGB").resize((4032, 3024), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    heif = pillow_heif.from_pillow(full)
    heif.save(buf, quality=quality, thumbnails=[320], enc_params={"preset": "ultrafast"})
    return buf.getvalue()
