"""imaging.raw: camera RAW through LibRaw, from the embedded preview or a half-size demosaic.

The DNGs are written from real photos by tests/rawfiles.py: a Bayer mosaic LibRaw really
demosaics, and an embedded JPEG preview. One real camera file, a Sony ARW from a PyPI
sdist (tests/rawfiles.camera_raw), checks the same paths on what a camera wrote.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_watch.errors import CorruptImage, ImageTooLarge, UnsupportedImage
from resnet_watch.imaging import ImageLimits, preprocess, read_image
from resnet_watch.imaging.tiffwalk import check_ifd_tree
from resnet_watch.models.spec import Preprocess
from tests.daemon_helpers import shipped_photo
from tests.hostile import BLUE, RED, corner_marked, photo
from tests.rawfiles import camera_raw, dng_bytes, jpeg_header_bomb, looping_ifd_dng
from tests.requirements import need

LIMITS = ImageLimits(max_bytes=100_000_000, max_pixels=50_000_000)
IMAGENET = Preprocess(256, 224, "bicubic", (123.675, 116.28, 103.53), (58.395, 57.12, 57.375))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def cat(size: tuple[int, int] = (1536, 1024)) -> Image.Image:
    with Image.open(shipped_photo("skimage", "data", "chelsea.png")) as im:
        return im.convert("RGB").resize(size, Image.Resampling.BICUBIC)


def near(pixel: object, colour: tuple[int, int, int], tolerance: int = 60) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def test_dng_is_classified_from_its_embedded_preview(tmp_path: Path) -> None:
    """A DNG with a big enough preview decodes the preview: format DNG, source preview."""
    photo_ = cat()
    decoded = read_image(write(tmp_path, "IMG_1.DNG", dng_bytes(photo_)), LIMITS, 256)
    assert (decoded.format, decoded.source) == ("DNG", "preview")
    assert (decoded.width, decoded.height) == (1536, 1024)  # the sensor, not the preview
    assert min(decoded.image.size) >= 256
    # the preview is the photo: same pixels as the photo reduced the same way
    expected = preprocess(photo_, IMAGENET)
    assert np.abs(preprocess(decoded.image, IMAGENET) - expected).mean() < 0.1


def test_preview_takes_the_raw_orientation(tmp_path: Path) -> None:
    """Orientation 6 in the RAW turns its (unrotated) preview upright, dimensions swapped."""
    stored = corner_marked((1024, 768))  # red block at the stored top-left
    data = dng_bytes(stored, orientation=6)
    decoded = read_image(write(tmp_path, "IMG_2.DNG", data), LIMITS, 256)
    assert decoded.source == "preview"
    assert (decoded.width, decoded.height) == (768, 1024)
    w, h = decoded.image.size
    assert w < h
    assert near(decoded.image.getpixel((w - 3, 2)), RED)  # 90 degrees clockwise: top-right
    assert near(decoded.image.getpixel((2, 2)), BLUE)


def test_small_preview_falls_back_to_half_size_demosaic(tmp_path: Path) -> None:
    """A 160x120 preview is not used: the sensor data is demosaiced, upright, colours right."""
    stored = corner_marked((1024, 768))
    data = dng_bytes(stored, preview=stored.resize((160, 120)), orientation=6)
    decoded = read_image(write(tmp_path, "IMG_3.DNG", data), LIMITS, 256)
    assert decoded.source == "demosaiced"
    assert (decoded.width, decoded.height) == (768, 1024)
    w, _ = decoded.image.size
    assert near(decoded.image.getpixel((w - 3, 2)), RED)
    assert near(decoded.image.getpixel((2, 2)), BLUE)


def test_demosaic_keeps_the_photo(tmp_path: Path) -> None:
    """The demosaiced real photo matches the photo itself (colour pipeline and Bayer order)."""
    photo_ = cat((1024, 680))
    data = dng_bytes(photo_, preview=photo_.resize((160, 106)))
    decoded = read_image(write(tmp_path, "IMG_4.DNG", data), LIMITS, 256)
    assert decoded.source == "demosaiced"
    ours = np.asarray(decoded.image.resize((256, 170)), dtype=np.float32)
    truth = np.asarray(photo_.resize((256, 170)), dtype=np.float32)
    # LibRaw brightens (auto-bright, as a RAW developer does): compare shape, not level.
    for channel in range(3):
        r = np.corrcoef(ours[..., channel].ravel(), truth[..., channel].ravel())[0, 1]
        assert r > 0.95, (channel, r)
    # a swapped Bayer order would swap red and blue: the cat stays warmer than it is blue
    assert ours[..., 0].mean() > ours[..., 2].mean() * 1.1
    assert truth[..., 0].mean() > truth[..., 2].mean() * 1.1


def test_bomb_preview_is_refused_with_the_configured_limit(tmp_path: Path) -> None:
    """A RAW whose preview declares 60000x60000 pixels is too_large, citing our limit."""
    data = dng_bytes(photo((64, 48)), preview=jpeg_header_bomb())
    with pytest.raises(ImageTooLarge, match="50000000"):
        read_image(write(tmp_path, "bomb.DNG", data), LIMITS, 256)


def test_sensor_over_the_pixel_limit_is_refused(tmp_path: Path) -> None:
    """A RAW whose sensor is over max_pixels is refused before anything is decoded."""
    data = dng_bytes(photo((640, 480)))
    with pytest.raises(ImageTooLarge, match="sensor"):
        read_image(write(tmp_path, "big.DNG", data), ImageLimits(10**8, 200_000), 256)


def test_truncated_raw_is_corrupt_even_with_an_intact_preview(tmp_path: Path) -> None:
    """A half-copied DNG (preview intact, sensor data cut) is corrupt, not classified."""
    data = dng_bytes(cat((1024, 680)))
    with pytest.raises(CorruptImage, match="truncated"):
        read_image(write(tmp_path, "cut.DNG", data[: len(data) * 2 // 3]), LIMITS, 256)


def test_looping_ifd_is_corrupt(tmp_path: Path) -> None:
    """A TIFF-based RAW whose IFD points back at itself is refused as corrupt."""
    with pytest.raises(CorruptImage, match="loops"):
        read_image(write(tmp_path, "loop.DNG", looping_ifd_dng(photo((64, 48)))), LIMITS, 256)


def test_ifd_walk_refuses_pointers_outside_the_file() -> None:
    """An IFD offset past the end of the data is corrupt, not an IndexError."""
    with pytest.raises(CorruptImage, match="outside"):
        check_ifd_tree(b"II*\x00" + (10_000).to_bytes(4, "little") + bytes(8))


def test_text_file_named_nef_is_unsupported(tmp_path: Path) -> None:
    """A text file named .NEF is not a RAW: unsupported, sniffed by content."""
    with pytest.raises(UnsupportedImage):
        read_image(write(tmp_path, "IMG_5.NEF", b"not a raw, just text\n"), LIMITS, 256)


def test_plain_tiff_named_nef_is_read_as_tiff(tmp_path: Path) -> None:
    """A plain TIFF with a .NEF name (LibRaw: not RAW) is still decoded, as a TIFF."""
    buf = io.BytesIO()
    photo((320, 240)).save(buf, "TIFF")
    decoded = read_image(write(tmp_path, "IMG_6.NEF", buf.getvalue()), LIMITS, 256)
    assert (decoded.format, decoded.source) == ("TIFF", "decoded")


def test_dng_named_tif_is_still_a_dng(tmp_path: Path) -> None:
    """A DNG is recognised by its DNGVersion tag, whatever its name."""
    decoded = read_image(write(tmp_path, "odd.tif", dng_bytes(cat())), LIMITS, 256)
    assert decoded.format == "DNG"


def real_arw() -> bytes:
    data = camera_raw()
    need(data is not None, "libraw-cffi 0.19.0's sdist (scripts/dev test downloads it)")
    assert data is not None
    return data


def test_real_sony_arw_is_classified_from_its_preview(tmp_path: Path) -> None:
    """A camera's own ARW decodes from its embedded JPEG, upright, at the sensor's size."""
    data = real_arw()
    decoded = read_image(write(tmp_path, "DSC2164.ARW", data), LIMITS, 256)
    assert (decoded.format, decoded.source) == ("ARW", "preview")
    assert (decoded.width, decoded.height) == (5184, 3464)
    assert 256 <= min(decoded.image.size) < 512
    full = read_image(write(tmp_path, "DSC2164b.ARW", data), LIMITS, 256, previews=False)
    assert full.source == "demosaiced" and (full.width, full.height) == (5184, 3464)
    # the camera's rendering and LibRaw's demosaic show the same scene
    small = (64, 43)
    a = np.asarray(decoded.image.resize(small), np.float32)
    b = np.asarray(full.image.resize(small), np.float32)
    assert np.corrcoef(a.mean(axis=2).ravel(), b.mean(axis=2).ravel())[0, 1] > 0.8


def test_half_copied_real_arw_is_corrupt(tmp_path: Path) -> None:
    """A camera ARW cut short (its preview intact at the front) is corrupt, not classified."""
    data = real_arw()
    with pytest.raises(CorruptImage, match="truncated"):
        read_image(write(tmp_path, "cut.ARW", data[: len(data) // 2]), LIMITS, 256)
