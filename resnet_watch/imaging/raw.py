"""Camera RAW files through LibRaw (rawpy): the embedded preview first, a demosaic if not.

Every RAW carries a JPEG preview rendered by the camera (often full size, at least 1-2 MP),
which classifies like the photo it is and decodes at JPEG speed through the same DCT-scaled
path; the RAW's own orientation is applied when the preview has none. Only a RAW without a
usable preview (missing, too small, another shape) is demosaiced, at half size. Limits apply
to the RAW's sensor size and to the preview's own header, so a bomb hidden as a preview is
refused like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO, Final, cast

import numpy as np
from PIL import Image

from resnet_watch.errors import CorruptImage, ImageTooLarge, UnsupportedImage
from resnet_watch.imaging.decode import decode_bytes, decoder_errors, reduce_to
from resnet_watch.imaging.memory import large_decode
from resnet_watch.imaging.records import ImageLimits, Picture
from resnet_watch.imaging.tiffwalk import check_ifd_tree

if TYPE_CHECKING:
    import rawpy

__all__ = ["decode_raw"]

# LibRaw's flip (sizes.flip) -> the EXIF orientation that displays the image upright.
_FLIP_TO_ORIENTATION: Final = {0: 1, 3: 3, 5: 8, 6: 6}
# A preview whose aspect ratio differs more than this from the sensor's is a letterboxed or
# cropped thumbnail, not the photo.
_ASPECT_TOLERANCE: Final = 0.05


def decode_raw(
    data: bytes | bytearray, fmt: str, limits: ImageLimits, target: int, *, previews: bool = True
) -> Picture:
    """Decode a RAW (already named ``fmt`` by ``sniff.raw_format``) to an upright picture.

    ``previews=False`` (the benchmark's truth check) always demosaics.
    """
    import rawpy

    check_ifd_tree(data)
    try:
        raw = rawpy.imread(cast("BinaryIO", _InPlace(data)))
    except rawpy.LibRawFileUnsupportedError as exc:
        raise UnsupportedImage(f"{fmt}: LibRaw does not support this file") from exc
    except rawpy.LibRawError as exc:
        raise CorruptImage(f"{fmt}: {_libraw_message(exc)}") from exc
    with raw:
        sizes = raw.sizes
        width, height = int(sizes.width), int(sizes.height)
        if width < 1 or height < 1:
            raise CorruptImage(f"{fmt}: sensor size {width}x{height}")
        if int(sizes.raw_width) * int(sizes.raw_height) > limits.max_pixels:
            raise ImageTooLarge(
                f"{fmt}: {sizes.raw_width}x{sizes.raw_height} sensor pixels, "
                f"limit is {limits.max_pixels}"
            )
        orientation = _FLIP_TO_ORIENTATION.get(int(sizes.flip), 1)
        if orientation >= 5:
            width, height = height, width
        preview = _preview(raw, fmt, limits, target, orientation) if previews else None
        if preview is not None and _same_shape(preview, width, height, target):
            return Picture(preview.image, width, height, "preview")
        return Picture(_demosaic(raw, fmt, width * height, target), width, height, "demosaiced")


class _InPlace:
    """What rawpy's ``open_buffer`` reads (``fileobj.read()``): the buffer itself, not a copy.

    (``io.BytesIO`` would copy a bytearray: 25 MB for a 12 MP RAW.) LibRaw reads it in place
    and rawpy keeps a reference while the RawPy object lives.
    """

    def __init__(self, data: bytes | bytearray) -> None:
        self._data = data

    def read(self) -> bytes | bytearray:
        return self._data


def _preview(
    raw: rawpy.RawPy, fmt: str, limits: ImageLimits, target: int, orientation: int
) -> Picture | None:
    """The embedded preview, upright and reduced, or None when there is none to use."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    except rawpy.LibRawError:
        return None  # a broken preview; the sensor data may still be fine
    if thumb.format == rawpy.ThumbFormat.JPEG:
        data = bytes(thumb.data)
        if not data.startswith(b"\xff\xd8\xff"):
            return None
        # A bomb preview raises ImageTooLarge here: a RAW that hides one is refused.
        return decode_bytes(data, "JPEG", limits, target, fallback_orientation=orientation)
    array = np.asarray(thumb.data)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        return None
    if array.shape[0] * array.shape[1] > limits.max_pixels:
        raise ImageTooLarge(f"{fmt}: preview of {array.shape[1]}x{array.shape[0]} pixels")
    image = reduce_to(Image.fromarray(array, "RGB"), target)
    return Picture(image, image.width, image.height, "preview")  # LibRaw already rotated it


def _same_shape(preview: Picture, width: int, height: int, target: int) -> bool:
    """A preview stands in for the photo if it is big enough and has the photo's shape."""
    pw, ph = preview.image.size
    if min(pw, ph) < target:
        return False
    return abs(pw / ph - width / height) <= _ASPECT_TOLERANCE * (width / height)


def _demosaic(raw: rawpy.RawPy, fmt: str, pixels: int, target: int) -> Image.Image:
    """Half-size demosaic (each 2x2 Bayer cell becomes one pixel: no interpolation cost)."""
    with large_decode(pixels), decoder_errors(fmt):
        try:
            rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8)
        except MemoryError as exc:
            raise ImageTooLarge(f"{fmt}: ran out of memory while demosaicing") from exc
        image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
        del rgb
        return reduce_to(image, target)


def _libraw_message(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{type(exc).__name__}: {text}"
