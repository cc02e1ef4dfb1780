"""Pillow decoding of already-sniffed bytes: limits, draft, orientation, RGB, reduction.

Only what the decoder itself raises on these bytes is the file's fault (``CorruptImage``,
``ImageTooLarge``); the decoder calls are the only ones wrapped. An exception from our own
code after decoding is a bug and propagates as it is, so the pipeline records it as
``internal_error`` with a traceback instead of blaming the user's file.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from typing import IO, Final, cast

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from resnet_watch.errors import CorruptImage, ImageError, ImageTooLarge
from resnet_watch.imaging.files import MemoryFile
from resnet_watch.imaging.memory import large_decode
from resnet_watch.imaging.records import ImageLimits, Picture

__all__ = ["HEIF_PREVIEW_MAX_UPSCALE", "decode_bytes", "decoder_errors", "describe"]

HEIF_PREVIEW_MAX_UPSCALE: Final = 256 / 240
"""An embedded HEIF thumbnail stands in for the full image if it needs at most this upscale.

So the 320x240 thumbnail iPhones embed serves the model's 256 short side. Measured, not
assumed (``resnet-watch bench --formats``): on real photos it agrees with the full decode's
top-1 label at or above the 98% bar; the README's formats table has the figures."""

_WHITE: Final = (255, 255, 255)

# EXIF orientation -> the transpose that displays the image upright (as ImageOps.exif_transpose).
_ORIENTATION_FIX: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_ORIENTATION: Final = 0x0112
_HIGH_DEPTH_MODES: Final = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
# Modes Image.reduce accepts: a large image is reduced before any mode conversion.
_REDUCIBLE_MODES: Final = frozenset({"L", "LA", "RGB", "RGBA", "I", "F", "CMYK", "YCbCr"})

_pillow_lock = threading.Lock()
_heif_registered = False


def describe(exc: BaseException) -> str:
    """``Type: message`` (just the type when there is no message)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@contextlib.contextmanager
def decoder_errors(fmt: str) -> Iterator[None]:
    """Around a decoder call only: what it raises on bad bytes becomes an ``ImageError``."""
    try:
        yield
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(str(exc)) from exc
    except MemoryError as exc:
        raise ImageTooLarge("ran out of memory while decoding") from exc
    except UnidentifiedImageError as exc:
        raise CorruptImage(f"{fmt} signature but unreadable header") from exc
    except Exception as exc:  # a decoder's reaction to the file's bytes
        raise CorruptImage(f"{fmt}: {describe(exc)}") from exc


def decode_bytes(
    data: bytes | bytearray,
    fmt: str,
    limits: ImageLimits,
    target_short_side: int,
    *,
    fallback_orientation: int = 1,
    previews: bool = True,
) -> Picture:
    """Decode ``data`` (already sniffed as ``fmt``) to an upright, reduced RGB picture.

    ``fallback_orientation`` applies when the data carries no EXIF orientation of its own
    (a RAW's embedded preview: the RAW holds the orientation). ``previews=False`` never
    uses a HEIF's embedded thumbnail.
    """
    _configure_pillow(fmt, limits.max_pixels)
    with decoder_errors(fmt):
        try:
            opened = Image.open(cast("IO[bytes]", MemoryFile(data)), formats=[fmt])
        except Image.DecompressionBombError as exc:  # Pillow's own, far above our limit
            raise ImageTooLarge(
                f"{fmt}: header declares more pixels than limits.max_pixels ({limits.max_pixels})"
            ) from exc
    with opened:
        return _decode_opened(
            opened, fmt, limits, target_short_side, fallback_orientation, previews
        )


def _decode_opened(
    im: Image.Image,
    fmt: str,
    limits: ImageLimits,
    target: int,
    fallback_orientation: int,
    previews: bool,
) -> Picture:
    width, height = im.size  # from the header; nothing decoded yet
    if width < 1 or height < 1:
        raise CorruptImage(f"header declares {width}x{height} pixels")
    if width * height > limits.max_pixels:
        raise ImageTooLarge(f"{width}x{height} pixels, limit is {limits.max_pixels}")
    with decoder_errors(fmt):
        frames = getattr(im, "n_frames", 1)
    if frames > limits.max_frames:
        raise ImageTooLarge(f"{frames} frames, limit is {limits.max_frames}")
    source = "decoded"
    with decoder_errors(fmt):
        # JPEG: DCT scaling by 1/2, 1/4 or 1/8 during decode, keeping both sides >= target
        # (min(W // t, H // t) == min(W, H) // t, so (t, t) keeps the short side >= t).
        if im.format in ("JPEG", "MPO"):
            im.draft("RGB", (target, target))
        # HEIF: the smallest embedded thumbnail with both sides >= the asked size.
        elif im.format == "HEIF" and previews:
            side = math.ceil(target / HEIF_PREVIEW_MAX_UPSCALE)
            if im.draft("RGB", (side, side)) is not None:
                source = "preview"
    decoded_pixels = im.size[0] * im.size[1]
    with large_decode(decoded_pixels):
        with decoder_errors(fmt):
            im.load()
        orientation = _orientation(im, fallback_orientation)
        out = _to_rgb_reduced(im, target)
        if out is im:
            out = im.copy()  # detach from the file object closed by our caller
        im.close()  # free the full-size pixels now, before the slot's memory trim
    fix = _ORIENTATION_FIX.get(orientation)
    if fix is not None:
        out = out.transpose(fix)
        if orientation >= 5:  # 5..8 swap the axes
            width, height = height, width
    return Picture(out, width, height, "preview" if source == "preview" else "decoded")


def _orientation(im: Image.Image, fallback: int) -> int:
    """EXIF (or XMP) orientation 1..8; a corrupt EXIF block just means "upright"."""
    try:
        value = im.getexif().get(_EXIF_ORIENTATION)
    except Exception:  # corrupt EXIF must not cost the picture
        return 1
    if value is None:
        return fallback if 1 <= fallback <= 8 else 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _to_rgb_reduced(im: Image.Image, target: int) -> Image.Image:
    """RGB, short side reduced by an integer box factor to >= ``target`` (never upscaled).

    Reduced first wherever the mode allows, so a conversion never copies a full-size image.
    """
    if im.mode in ("RGB", "L") and not im.has_transparency_data:
        return reduce_to(im, target).convert("RGB")
    if im.mode in _REDUCIBLE_MODES and im.mode not in _HIGH_DEPTH_MODES:
        return _to_rgb(reduce_to(im, target))
    return reduce_to(_to_rgb(im), target)


def reduce_to(im: Image.Image, target: int) -> Image.Image:
    """Integer box reduction keeping the short side >= ``target``."""
    factor = min(im.size) // target
    return im.reduce(factor) if factor >= 2 else im


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to RGB.

    Transparency is composited over white, not black: transparent logos, icons and
    screenshots are usually dark content meant for a light page, and their fully
    transparent pixels often hold black, which would otherwise swallow the content.
    High bit depth greyscale is scaled to 0..255, not clipped (Pillow's own I;16 -> L
    conversion clips everything above 255 to white).
    """
    if im.mode in _HIGH_DEPTH_MODES:
        return Image.fromarray(_to_uint8(np.asarray(im)), "L").convert("RGB")
    if im.has_transparency_data:
        rgba = im.convert("RGBA")
        out = Image.new("RGB", rgba.size, _WHITE)
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return im if im.mode == "RGB" else im.convert("RGB")


def _to_uint8(values: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    """16-bit, 32-bit int or float greyscale to 0..255.

    Unsigned 16-bit data uses its full range (65535 -> 255). Int32 and float data carry no
    declared range, so the smallest natural one that holds the values is used: 0..255,
    0..65535 (16-bit stored as I), 0..1 (normalised float), else the data's own min..max.
    """
    data = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    if values.dtype.kind == "u" and values.dtype.itemsize == 2:
        lo, hi = 0.0, 65535.0
    elif values.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        lo, hi = 0.0, 1.0
    elif low >= 0.0 and high <= 255.0:
        lo, hi = 0.0, 255.0
    elif low >= 0.0 and high <= 65535.0:
        lo, hi = 0.0, 65535.0
    else:
        lo, hi = low, max(high, low + 1.0)
    scaled = np.clip((data - lo) * (255.0 / (hi - lo)), 0.0, 255.0)
    result: npt.NDArray[np.uint8] = np.rint(scaled).astype(np.uint8)
    return result


def _configure_pillow(fmt: str, max_pixels: int) -> None:
    """Process-wide Pillow setup, done lazily and once.

    Pillow's own bomb check (warn above MAX_IMAGE_PIXELS, fail above twice that) would
    refuse legitimate images below our configured limit, e.g. 108 MP phone photos; it is
    raised to ``max_pixels`` so that our header check is the one that decides. It is never
    lowered, and LOAD_TRUNCATED_IMAGES is left alone (False): a half-copied file must fail.
    """
    global _heif_registered
    current = Image.MAX_IMAGE_PIXELS
    needs_heif = fmt == "HEIF" and not _heif_registered
    if not needs_heif and (current is None or current >= max_pixels):
        return
    with _pillow_lock:
        current = Image.MAX_IMAGE_PIXELS
        if current is not None and current < max_pixels:
            Image.MAX_IMAGE_PIXELS = max_pixels
        if needs_heif and not _heif_registered:
            import pillow_heif  # ~50 ms and a native library: only when a HEIF shows up

            # Depth and auxiliary images are never used; thumbnails serve as the HEIF draft.
            pillow_heif.register_heif_opener(depth_images=False, aux_images=False)
            _heif_registered = True
