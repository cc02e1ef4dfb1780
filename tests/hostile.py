"""Hostile inputs an inbox can hold, built with Pillow on the spot (nothing downloaded).

``make_hostile_corpus(dir)`` writes one file (or directory, FIFO, symlink) per case and
returns ``{case: path}``; ``EXPECTED_KIND[case]`` is the ``ImageError.kind`` that
``imaging.read_image`` raises for it, or None when it must decode. The watcher and daemon
tests reuse the corpus end to end; they may decide differently about symlinks.

The small builders (``photo``, ``jpeg_bytes``, ``png_bytes``, ``png_header_bomb`` ...) are
public so unit tests can make single cases.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

__all__ = [
    "EXPECTED_KIND",
    "NAME_MAX",
    "animated_gif_bytes",
    "corner_marked",
    "jpeg_bytes",
    "make_hostile_corpus",
    "photo",
    "png_bytes",
    "png_header_bomb",
]

NAME_MAX = 255  # bytes in one path component on Linux filesystems
ORIENTATION = 0x0112
RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)

# Corrupt EXIF: a valid TIFF header whose IFD claims 65535 entries in 2 bytes of data.
CORRUPT_EXIF = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff\x01\x12"

EXPECTED_KIND: dict[str, str | None] = {
    "zero_byte": "corrupt_image",
    "truncated_jpeg": "corrupt_image",
    "random_jpg": "unsupported_format",
    "text_png": "unsupported_format",
    "jpeg_named_heic": None,
    "png_named_jpg": None,
    "bomb_png": "too_large",
    "one_pixel": None,
    "strip": None,
    "cmyk_jpeg": None,
    "gray16_png": None,
    "palette_transparent_png": None,
    "animated_gif": None,
    "exif_rotated_jpeg": None,
    "corrupt_exif_jpeg": None,
    "dir_named_jpg": "unreadable_file",
    "fifo_jpg": "unreadable_file",
    "symlink_outside": "unreadable_file",
    "symlink_loop": "unreadable_file",
    "name_spaces": None,
    "name_newline": None,
    "name_unicode": None,
    "name_leading_dash": None,
    "name_long": None,
    "name_long_unicode": None,
    # RAW and HEIC (issue 18)
    "dng_photo": None,
    "text_named_nef": "unsupported_format",
    "truncated_dng": "corrupt_image",
    "looping_ifd_dng": "corrupt_image",
    "bomb_preview_dng": "too_large",
    "truncated_heic": "corrupt_image",
}


def photo(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A deterministic photo-like RGB image: smooth gradients, a disc and mild noise."""
    width, height = size
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    disc = ((u - 0.6) ** 2 + (v - 0.45) ** 2) < 0.05
    rgb = np.stack([200 * u + 30, 180 * v + 40, 120 * (1 - u) + 60 * v + 40], axis=-1)
    rgb[disc] = (230, 200, 40)
    noise = np.random.default_rng(seed).normal(0, 6, rgb.shape).astype(np.float32)
    return Image.fromarray(np.clip(rgb + noise, 0, 255).astype(np.uint8), "RGB")


def corner_marked(size: tuple[int, int], corner: tuple[int, int, int] = RED) -> Image.Image:
    """Blue image with a ``corner``-coloured block in the stored top-left corner."""
    image = Image.new("RGB", size, BLUE)
    block = max(2, min(size) // 4)
    image.paste(corner, (0, 0, block, block))
    return image


def jpeg_bytes(image: Image.Image, **save: Any) -> bytes:
    """``image`` as JPEG (quality 90 unless given)."""
    save.setdefault("quality", 90)
    buf = io.BytesIO()
    image.save(buf, "JPEG", **save)
    return buf.getvalue()


def png_bytes(image: Image.Image, **save: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", **save)
    return buf.getvalue()


def animated_gif_bytes(
    colours: list[tuple[int, int, int]], size: tuple[int, int] = (32, 24)
) -> bytes:
    """An animated GIF, one solid frame per colour."""
    frames = [Image.new("RGB", size, colour) for colour in colours]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return buf.getvalue()


def png_header_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A ~100 byte PNG whose IHDR declares ``width`` x ``height`` RGB pixels.

    The CRCs are correct, so Pillow reads the header and learns the size; the tiny IDAT
    (one zero-filter row prefix) would only fail once decoding started.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    idat = zlib.compress(b"\x00" * 16)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _with_orientation(image: Image.Image, orientation: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return jpeg_bytes(image, exif=exif.tobytes())


def _corpus_bytes() -> dict[str, tuple[str, bytes]]:
    """case -> (file name, content) for every case that is a plain file."""
    small = jpeg_bytes(photo((64, 48)))
    big = jpeg_bytes(photo((640, 480)))
    gray16 = Image.fromarray(np.full((48, 64), 32768, dtype=np.uint16))
    palette = Image.new("P", (64, 48), 1)
    palette.putpalette([0, 0, 0, 0, 0, 255])  # index 0 black (transparent), 1 blue
    palette.paste(0, (0, 0, 32, 48))
    long_name = "a" * (NAME_MAX - len(".jpg")) + ".jpg"
    long_unicode = "é" * ((NAME_MAX - len(".jpg")) // 2) + ".jpg"  # 2 bytes each in UTF-8
    random_bytes = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    return {
        "zero_byte": ("zero.jpg", b""),
        "truncated_jpeg": ("truncated.jpg", big[: len(big) // 2]),
        "random_jpg": ("random.jpg", b"\x00RND" + random_bytes),
        "text_png": ("text.png", b"this is a text file, not a picture\n"),
        "jpeg_named_heic": ("jpeg-named.heic", small),
        "png_named_jpg": ("png-named.jpg", png_bytes(photo((64, 48)))),
        "bomb_png": ("bomb.png", png_header_bomb()),
        "one_pixel": ("one-pixel.png", png_bytes(Image.new("RGB", (1, 1), RED))),
        "strip": ("strip.png", png_bytes(Image.new("RGB", (20000, 20), GREEN))),
        "cmyk_jpeg": ("cmyk.jpg", jpeg_bytes(Image.new("CMYK", (64, 48), (0, 255, 255, 0)))),
        "gray16_png": ("gray16.png", png_bytes(gray16)),
        "palette_transparent_png": ("palette.png", png_bytes(palette, transparency=0)),
        "animated_gif": ("animated.gif", animated_gif_bytes([RED, GREEN, BLUE])),
        "exif_rotated_jpeg": ("rotated.jpg", _with_orientation(corner_marked((80, 60)), 6)),
        "corrupt_exif_jpeg": ("corrupt-exif.jpg", jpeg_bytes(photo((64, 48)), exif=CORRUPT_EXIF)),
        "name_spaces": ("name with  spaces .jpg", small),
        "name_newline": ("new\nline.jpg", small),
        "name_unicode": ("ünïcødé 写真 📷.jpg", small),
        "name_leading_dash": ("-rf --help.jpg", small),
        "name_long": (long_name, small),
        "name_long_unicode": (long_unicode, small),
        **_raw_heic_cases(),
    }


def _raw_heic_cases() -> dict[str, tuple[str, bytes]]:
    """RAW/HEIC cases: DNGs written from a photo (tests/rawfiles.py), a small real HEIC."""
    import pillow_heif

    from tests.rawfiles import dng_bytes, jpeg_header_bomb, looping_ifd_dng

    dng = dng_bytes(photo((640, 480), seed=4))
    heif = io.BytesIO()
    pillow_heif.from_pillow(photo((640, 480), seed=5)).save(heif, quality=80)
    return {
        "dng_photo": ("IMG_0001.DNG", dng),
        "text_named_nef": ("IMG_0002.NEF", b"this is a text file, not a Nikon RAW\n"),
        "truncated_dng": ("IMG_0003.DNG", dng[: len(dng) * 2 // 3]),
        "looping_ifd_dng": ("IMG_0004.DNG", looping_ifd_dng(photo((64, 48), seed=6))),
        "bomb_preview_dng": (
            "IMG_0005.DNG",
            dng_bytes(photo((64, 48), seed=7), preview=jpeg_header_bomb()),
        ),
        "truncated_heic": ("IMG_0006.HEIC", heif.getvalue()[: len(heif.getvalue()) // 2]),
    }


def make_hostile_corpus(dir: Path, outside: Path | None = None) -> dict[str, Path]:
    """Write every hostile case into ``dir`` (created if needed); returns ``{case: path}``.

    ``symlink_outside`` points at a valid JPEG in ``outside`` (default: a sibling directory
    ``<dir>.outside``), so following it would leave the inbox.
    """
    dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for case, (name, content) in _corpus_bytes().items():
        path = dir / name
        path.write_bytes(content)
        paths[case] = path

    paths["dir_named_jpg"] = dir / "x.jpg"
    paths["dir_named_jpg"].mkdir()
    paths["fifo_jpg"] = dir / "y.jpg"
    os.mkfifo(paths["fifo_jpg"])

    outside = outside if outside is not None else dir.parent / f"{dir.name}.outside"
    outside.mkdir(parents=True, exist_ok=True)
    secret = outside / "secret.jpg"
    secret.write_bytes(jpeg_bytes(photo((32, 24))))
    paths["symlink_outside"] = dir / "link-outside.jpg"
    paths["symlink_outside"].symlink_to(secret)
    paths["symlink_loop"] = dir / "loop-a.jpg"
    paths["symlink_loop"].symlink_to(dir / "loop-b.jpg")
    (dir / "loop-b.jpg").symlink_to(paths["symlink_loop"])

    assert set(paths) == set(EXPECTED_KIND), set(paths) ^ set(EXPECTED_KIND)
    return paths
