"""Safe image decoding and model preprocessing; no torch here.

Everything that comes out of an inbox is hostile until decoded: files are opened once
without following symlinks or blocking on FIFOs, size-checked before reading, sniffed by
content rather than name, pixel-checked from the header before any pixel is decoded, and
decoded from the exact bytes that were hashed. Every failure on bad input is an
``ImageError`` subclass (see ``errors.py``), never a bare Pillow exception.

I/O happens only in ``read_image`` (one open, one read); decoding and ``preprocess`` are
pure functions of bytes and images.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from resnet_watch.errors import (
    CorruptImage,
    ImageError,
    ImageTooLarge,
    UnreadableFile,
    UnsupportedImage,
)
from resnet_watch.models.spec import Preprocess

__all__ = [
    "SNIFF_BYTES",
    "SUPPORTED_FORMATS",
    "DecodedImage",
    "ImageLimits",
    "decode_bytes",
    "preprocess",
    "read_image",
    "sniff_format",
]

SUPPORTED_FORMATS: Final = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF"})
SNIFF_BYTES: Final = 64
"""How many leading bytes ``sniff_format`` needs; passing more is harmless."""

_OPEN_FLAGS: Final = (
    os.O_RDONLY
    | os.O_NOFOLLOW  # a symlink as the last component fails with ELOOP instead of being read
    | os.O_NONBLOCK  # a FIFO opens at once instead of waiting for a writer
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_READ_CHUNK: Final = 1 << 20
_WHITE: Final = (255, 255, 255)

# BMP info-header sizes Pillow understands; checking them keeps "BM..." text files out.
_BMP_HEADER_SIZES: Final = frozenset({12, 40, 52, 56, 64, 108, 124})
# Major brands pillow-heif opens (HEVC-coded HEIF); AVIF needs a decoder we do not ship.
_HEIF_BRANDS: Final = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)
_HEVC_BRANDS: Final = _HEIF_BRANDS - {b"mif1", b"msf1"}
_AV1_BRANDS: Final = frozenset({b"avif", b"avis"})

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
_RESAMPLE: Final = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
}

# preprocess: up to this aspect ratio the full resized image is made, exactly as torchvision.
_FULL_RESIZE_MAX_ASPECT: Final = 4

_pillow_lock = threading.Lock()
_heif_registered = False


@dataclass(frozen=True)
class ImageLimits:
    """Refuse inputs that would cost unbounded memory or time, before paying for them."""

    max_bytes: int  # file size, checked with fstat before reading
    max_pixels: int  # width * height, checked from the header before decoding (bombs)
    max_frames: int = 1000  # animated images: we decode frame 0 only, but refuse absurd counts


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


def sniff_format(head: bytes) -> str | None:
    """The image format named by the leading magic bytes, or None if not one we read.

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


def read_image(path: Path, limits: ImageLimits, target_short_side: int) -> DecodedImage:
    """Read, check and decode one image file; raise an ``ImageError`` subclass on bad input.

    The result's short side is reduced (JPEG DCT scaling, HEIF thumbnail, or integer box
    reduction) to at least ``target_short_side`` where the original is larger; smaller
    images are left as they are.
    """
    if target_short_side < 1:
        raise ValueError(f"target_short_side must be >= 1, got {target_short_side}")
    data = _read_regular_file(path, limits.max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    fmt = sniff_format(data[:SNIFF_BYTES])
    if fmt is None:
        raise UnsupportedImage("not a supported image format (sniffed by content)")
    image, width, height = decode_bytes(data, fmt, limits, target_short_side)
    return DecodedImage(image, width, height, fmt, len(data), sha256)


def _read_regular_file(path: Path, max_bytes: int) -> bytes:
    """All bytes of a regular file, opened once, never following a final symlink."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError as exc:
        raise UnreadableFile("file vanished before it could be read") from exc
    except PermissionError as exc:
        raise UnreadableFile("permission denied") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableFile("is a symlink (not followed)") from exc
        raise UnreadableFile(f"cannot open: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a NUL byte in the name: no such file can exist
        raise UnreadableFile(f"cannot open: {exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFile(f"not a regular file ({_file_kind(st.st_mode)})")
        if st.st_size == 0:
            raise CorruptImage("empty file")
        if st.st_size > max_bytes:
            raise ImageTooLarge(f"file is {st.st_size} bytes, limit is {max_bytes}")
        return _read_bounded(fd, st.st_size, max_bytes)
    except PermissionError as exc:  # e.g. a FUSE or network mount refusing the read
        raise UnreadableFile("permission denied") from exc
    except OSError as exc:
        raise UnreadableFile(f"read failed: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def _read_bounded(fd: int, expected: int, max_bytes: int) -> bytes:
    """Read to EOF; a file still growing past ``max_bytes`` is refused, not truncated."""
    parts: list[bytes] = []
    total = 0
    while True:
        # Normally one read of expected+1 bytes gets everything, and a second proves EOF.
        want = expected + 1 - total if total <= expected else _READ_CHUNK
        chunk = os.read(fd, min(want, max_bytes + 1 - total))
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise ImageTooLarge(f"file grew past the {max_bytes} byte limit while being read")
    if total == 0:
        raise CorruptImage("empty file")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def decode_bytes(
    data: bytes, fmt: str, limits: ImageLimits, target_short_side: int
) -> tuple[Image.Image, int, int]:
    """Decode ``data`` (already sniffed as ``fmt``) to an upright, reduced RGB image.

    Returns the image and the full-size oriented width and height.
    """
    _configure_pillow(fmt, limits.max_pixels)
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as opened:
            return _decode_opened(opened, limits, target_short_side)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's text cites its own threshold (twice ours), not the configured limit
        raise ImageTooLarge(f"more pixels than limits.max_pixels ({limits.max_pixels})") from exc
    except MemoryError as exc:
        raise ImageTooLarge("ran out of memory while decoding") from exc
    except UnidentifiedImageError as exc:
        raise CorruptImage(f"{fmt} signature but unreadable header") from exc
    except Exception as exc:  # anything else Pillow or a plugin throws means bad data
        raise CorruptImage(f"{fmt}: {_describe(exc)}") from exc


def _decode_opened(
    im: Image.Image, limits: ImageLimits, target: int
) -> tuple[Image.Image, int, int]:
    width, height = im.size  # from the header; nothing decoded yet
    if width < 1 or height < 1:
        raise CorruptImage(f"header declares {width}x{height} pixels")
    if width * height > limits.max_pixels:
        raise ImageTooLarge(f"{width}x{height} pixels, limit is {limits.max_pixels}")
    frames = getattr(im, "n_frames", 1)
    if frames > limits.max_frames:
        raise ImageTooLarge(f"{frames} frames, limit is {limits.max_frames}")
    # JPEG: DCT scaling by 1/2, 1/4 or 1/8 during decode; HEIF: an embedded thumbnail.
    # Both pick the largest reduction keeping *both* sides >= the requested size, and
    # min(W // t, H // t) == min(W, H) // t, so (t, t) keeps the short side >= t.
    if im.format in ("JPEG", "MPO", "HEIF"):
        im.draft("RGB", (target, target))
    im.load()
    orientation = _orientation(im)
    out = _to_rgb_reduced(im, target)
    fix = _ORIENTATION_FIX.get(orientation)
    if fix is not None:
        out = out.transpose(fix)
        if orientation >= 5:  # 5..8 swap the axes
            width, height = height, width
    if out is im:
        out = im.copy()  # detach from the file object closed by our caller
    return out, width, height


def _orientation(im: Image.Image) -> int:
    """EXIF (or XMP) orientation 1..8; a corrupt EXIF block just means "upright"."""
    try:
        value = im.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # corrupt EXIF must not cost the picture
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _to_rgb_reduced(im: Image.Image, target: int) -> Image.Image:
    """RGB, short side reduced by an integer box factor to >= ``target`` (never upscaled)."""
    if im.mode in ("RGB", "L") and not im.has_transparency_data:
        return _reduce(im, target).convert("RGB")  # reduce first: fewer pixels to convert
    return _reduce(_to_rgb(im), target)


def _reduce(im: Image.Image, target: int) -> Image.Image:
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


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def preprocess(image: Image.Image, spec: Preprocess) -> npt.NDArray[np.float32]:
    """Model input (3, crop, crop) float32: torchvision's Resize + CenterCrop + Normalize.

    Rounding follows torchvision: the short side becomes ``resize_short`` and the long side
    ``int(resize_short * long / short)``; the crop starts at ``int(round((size - crop) / 2))``
    and is zero-padded (black) if the resized image is smaller than the crop; the result is
    identical to torchvision's for any photo up to 4:1.

    Beyond 4:1 a full resize would be huge (a 20000x20 strip becomes 256000x256, 196 MB), so
    only the crop window is resampled, with ``resize(box=...)`` placing the filter exactly
    where the full resize would. Pillow may then run its two passes in the other order,
    which can move some pixels by a rounding step or two; memory stays O(crop^2).
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    width, height = image.size
    new_w, new_h = _resized_size(width, height, spec.resize_short)
    x0, crop_w, pad_x = _crop_plan(new_w, spec.crop)
    y0, crop_h, pad_y = _crop_plan(new_h, spec.crop)
    window = (x0, y0, x0 + crop_w, y0 + crop_h)
    resample = _RESAMPLE[spec.resample]
    if (new_w, new_h) == (width, height):
        region = image.crop(window)
    elif max(new_w, new_h) <= _FULL_RESIZE_MAX_ASPECT * spec.resize_short:
        region = image.resize((new_w, new_h), resample).crop(window)
    else:
        box = (
            x0 * width / new_w,
            y0 * height / new_h,
            (x0 + crop_w) * width / new_w,
            (y0 + crop_h) * height / new_h,
        )
        region = image.resize((crop_w, crop_h), resample, box=box)
    pixels = np.asarray(region)
    if (crop_w, crop_h) != (spec.crop, spec.crop):
        canvas = np.zeros((spec.crop, spec.crop, 3), dtype=np.uint8)
        canvas[pad_y : pad_y + crop_h, pad_x : pad_x + crop_w] = pixels
        pixels = canvas
    out = pixels.transpose(2, 0, 1).astype(np.float32, order="C")
    out -= np.asarray(spec.mean, dtype=np.float32).reshape(3, 1, 1)
    out /= np.asarray(spec.std, dtype=np.float32).reshape(3, 1, 1)
    return out


def _resized_size(width: int, height: int, short: int) -> tuple[int, int]:
    """torchvision.transforms.functional.resize with an int size."""
    if width <= height:
        return short, int(short * height / width)
    return int(short * width / height), short


def _crop_plan(size: int, crop: int) -> tuple[int, int, int]:
    """(start in the resized image, length taken, offset in the output) for one axis."""
    if size >= crop:
        return round((size - crop) / 2.0), crop, 0  # half to even, as torchvision
    return 0, size, (crop - size) // 2
