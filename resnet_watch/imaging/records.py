"""The records imaging hands out: limits in, a decoded picture out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from PIL import Image

__all__ = ["SOURCES", "DecodedImage", "ImageLimits", "Picture", "Source"]

Source = Literal["decoded", "preview", "demosaiced"]
SOURCES: Final[tuple[Source, ...]] = ("decoded", "preview", "demosaiced")
"""Where the pixels came from: the image data itself (JPEG DCT-scaled where possible), an
embedded preview or thumbnail (RAW, HEIC), or a RAW's sensor data (half-size demosaic)."""


@dataclass(frozen=True)
class ImageLimits:
    """Refuse inputs that would cost unbounded memory or time, before paying for them."""

    max_bytes: int  # file size, checked with fstat before reading
    max_pixels: int  # width * height, checked from the header before decoding (bombs)
    max_frames: int = 1000  # animated images: we decode frame 0 only, but refuse absurd counts


@dataclass(frozen=True)
class Picture:
    """A decoder's result: upright RGB pixels plus the full-size displayed dimensions."""

    image: Image.Image
    width: int
    height: int
    source: Source = "decoded"


@dataclass(frozen=True)
class DecodedImage:
    """One decoded picture, ready for ``preprocess``.

    ``width`` / ``height`` are the full-size dimensions as displayed, i.e. after EXIF
    orientation (a 4000x3000 JPEG with orientation 6 is 3000 wide, 4000 high), even though
    ``image`` itself has usually been reduced to a short side of at least the requested
    target (and below twice that, where the format allows).
    """

    image: Image.Image  # RGB, upright, reduced where possible; never upscaled
    width: int
    height: int
    format: str  # by content: one of SUPPORTED_FORMATS
    size_bytes: int
    sha256: str  # of exactly the bytes that were decoded
    source: Source = "decoded"
