"""Safe image decoding and model preprocessing; no torch here.

Everything that comes out of an inbox is hostile until decoded: files are opened once
without following symlinks or blocking on FIFOs, size-checked before reading, sniffed by
content rather than name, pixel-checked from the header before any pixel is decoded, and
decoded from the exact bytes that were hashed. Every failure on bad input is an
``ImageError`` subclass (see ``errors.py``), never a bare decoder exception; an exception
from our own code is not dressed up as one.

    files.py       the one open + read of an inbox file
    sniff.py       format by content (RAW kinds inside the TIFF family)
    decode.py      Pillow formats: limits, JPEG draft, HEIF thumbnail, orientation, RGB
    raw.py         camera RAW through LibRaw: embedded preview, else half-size demosaic
    tiffwalk.py    a bounded IFD walk that refuses looping TIFF-based RAWs
    memory.py      one large decode at a time, memory handed back after it
    preprocess.py  the model's input array, torchvision-exact
    records.py     ImageLimits, Picture, DecodedImage

I/O happens only in ``read_image`` (one open, one read); decoding and ``preprocess`` are
pure functions of bytes and images.
"""

from __future__ import annotations

from pathlib import Path

from resnet_watch.errors import UnsupportedImage
from resnet_watch.imaging.decode import decode_bytes
from resnet_watch.imaging.files import hash_file, read_regular_file
from resnet_watch.imaging.preprocess import preprocess
from resnet_watch.imaging.raw import decode_raw
from resnet_watch.imaging.records import SOURCES, DecodedImage, ImageLimits, Picture, Source
from resnet_watch.imaging.sniff import (
    RAW_FORMATS,
    SNIFF_BYTES,
    SUPPORTED_FORMATS,
    raw_format,
    sniff_format,
)

__all__ = [
    "RAW_FORMATS",
    "SNIFF_BYTES",
    "SOURCES",
    "SUPPORTED_FORMATS",
    "DecodedImage",
    "ImageLimits",
    "Picture",
    "Source",
    "decode_any",
    "decode_bytes",
    "hash_file",
    "preprocess",
    "read_image",
    "sniff_format",
]


def read_image(
    path: Path, limits: ImageLimits, target_short_side: int, *, previews: bool = True
) -> DecodedImage:
    """Read, check and decode one image file; raise an ``ImageError`` subclass on bad input.

    The result's short side is reduced (JPEG DCT scaling, an embedded HEIF thumbnail or RAW
    preview, or integer box reduction) to about ``target_short_side`` where the original is
    larger; smaller images are left as they are. ``source`` says which pixels were used;
    ``previews=False`` (the benchmark's truth check) always decodes the image itself.
    """
    if target_short_side < 1:
        raise ValueError(f"target_short_side must be >= 1, got {target_short_side}")
    content = read_regular_file(path, limits.max_bytes)
    suffix = path.suffix.lstrip(".")
    fmt, picture = decode_any(content.data, suffix, limits, target_short_side, previews=previews)
    return DecodedImage(
        picture.image,
        picture.width,
        picture.height,
        fmt,
        len(content.data),
        content.sha256,
        picture.source,
    )


def decode_any(
    data: bytes | bytearray,
    suffix: str,
    limits: ImageLimits,
    target_short_side: int,
    *,
    previews: bool = True,
) -> tuple[str, Picture]:
    """Sniff and decode ``data``: (format, picture). ``suffix`` only names TIFF-based RAWs."""
    container = sniff_format(bytes(data[:SNIFF_BYTES]))
    if container is None:
        raise UnsupportedImage("not a supported image format (sniffed by content)")
    raw_kind = raw_format(data, container, suffix)
    if raw_kind is not None:
        try:
            picture = decode_raw(data, raw_kind, limits, target_short_side, previews=previews)
            return raw_kind, picture
        except UnsupportedImage:
            if container != "TIFF":
                raise
            # A plain TIFF named .NEF (LibRaw: "not RAW"): still a picture we can read.
    if container == "RAW":
        raise UnsupportedImage("not a supported image format (sniffed by content)")
    return container, decode_bytes(data, container, limits, target_short_side, previews=previews)
