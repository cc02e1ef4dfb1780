"""imaging: safe decoding of hostile inbox files and torchvision-exact preprocessing."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import threading
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_watch.errors import (
    CorruptImage,
    ImageError,
    ImageTooLarge,
    UnreadableFile,
    UnsupportedImage,
)
from resnet_watch.imaging import (
    DecodedImage,
    ImageLimits,
    preprocess,
    read_image,
    sniff_format,
)
from resnet_watch.models.spec import Preprocess
from tests.hostile import (
    BLUE,
    CORRUPT_EXIF,
    EXPECTED_KIND,
    GREEN,
    ORIENTATION,
    RED,
    WHITE,
    animated_gif_bytes,
    corner_marked,
    jpeg_bytes,
    make_hostile_corpus,
    photo,
    png_bytes,
    png_header_bomb,
)
from tests.requirements import need

LIMITS = ImageLimits(max_bytes=50_000_000, max_pixels=50_000_000)
TARGET = 256
IMAGENET = Preprocess(
    resize_short=256,
    crop=224,
    resample="bicubic",
    mean=(123.675, 116.28, 103.53),
    std=(58.395, 57.12, 57.375),
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read(path: Path, limits: ImageLimits = LIMITS, target: int = TARGET) -> DecodedImage:
    return read_image(path, limits, target)


def close_to(pixel: object, expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(int(a) - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def skimage_photo(name: str) -> Image.Image:
    spec = find_spec("skimage")
    need(spec is not None, "scikit-image (test extra) not installed: it ships the real photos")
    assert spec is not None and spec.origin is not None
    return Image.open(Path(spec.origin).parent / "data" / name).convert("RGB")


# --- formats and sniffing -----------------------------------------------------------------


def heif_bytes(image: Image.Image) -> bytes:
    import pillow_heif  # a runtime dependency: no reason to skip

    need(
        bool(pillow_heif.libheif_info().get("HEIF")),
        "this pillow-heif build has no HEVC encoder to make a test file",
    )
    buf = io.BytesIO()
    pillow_heif.from_pillow(image).save(buf, quality=95)
    return buf.getvalue()


def encode(image: Image.Image, fmt: str) -> bytes:
    if fmt == "HEIF":
        return heif_bytes(image)
    buf = io.BytesIO()
    extra = {"lossless": True} if fmt == "WEBP" else {}
    image.save(buf, fmt, **extra)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF"])
def test_each_supported_format_decodes_to_rgb(tmp_path: Path, fmt: str) -> None:
    """Every supported format decodes to an RGB image with its size, format and colours."""
    source = corner_marked((96, 64))
    path = write(tmp_path, f"picture.{fmt.lower()}", encode(source, fmt))
    decoded = read(path)
    assert (decoded.format, decoded.width, decoded.height) == (fmt, 96, 64)
    assert decoded.image.mode == "RGB" and decoded.image.size == (96, 64)
    assert close_to(decoded.image.getpixel((2, 2)), RED, 40)
    assert close_to(decoded.image.getpixel((90, 60)), BLUE, 40)
    assert decoded.size_bytes == path.stat().st_size
    assert decoded.sha256 == sha256(path)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_image_uses_first_frame(tmp_path: Path, fmt: str) -> None:
    """An animated GIF or WebP is classified by its first frame."""
    frames = [Image.new("RGB", (32, 24), colour) for colour in (RED, GREEN, BLUE)]
    buf = io.BytesIO()
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=50, loop=0)
    decoded = read(write(tmp_path, f"anim.{fmt.lower()}", buf.getvalue()))
    assert close_to(decoded.image.getpixel((16, 12)), RED)


def test_jpeg_named_heic_is_read_as_jpeg(tmp_path: Path) -> None:
    """A JPEG with a .heic name is sniffed and decoded as JPEG."""
    decoded = read(write(tmp_path, "photo.heic", jpeg_bytes(photo((64, 48)))))
    assert decoded.format == "JPEG"


def test_png_named_jpg_is_read_as_png(tmp_path: Path) -> None:
    """A PNG with a .jpg name is sniffed and decoded as PNG."""
    decoded = read(write(tmp_path, "photo.jpg", png_bytes(photo((64, 48)))))
    assert decoded.format == "PNG"


def test_text_named_png_is_unsupported(tmp_path: Path) -> None:
    """A text file named .png is refused as unsupported, not as corrupt."""
    with pytest.raises(UnsupportedImage):
        read(write(tmp_path, "notes.png", b"just some notes\n"))


def test_random_bytes_are_unsupported(tmp_path: Path) -> None:
    """Random bytes are refused as unsupported."""
    noise = np.random.default_rng(7).integers(0, 256, 10_000, dtype=np.uint8).tobytes()
    with pytest.raises(UnsupportedImage):
        read(write(tmp_path, "noise.jpg", b"\x00" + noise))


def test_signature_followed_by_garbage_is_corrupt(tmp_path: Path) -> None:
    """A valid PNG signature followed by garbage is corrupt, not unsupported."""
    with pytest.raises(CorruptImage):
        read(write(tmp_path, "bad.png", b"\x89PNG\r\n\x1a\n" + b"\x13" * 200))


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "WEBP"),
        (b"GIF89a\x01\x00", "GIF"),
        (b"GIF87a\x01\x00", "GIF"),
        (b"BM" + bytes(12) + (40).to_bytes(4, "little"), "BMP"),
        (b"BM, said the text file, is not a bitmap", None),
        (b"II*\x00\x08\x00\x00\x00", "TIFF"),
        (b"MM\x00*\x00\x00\x00\x08", "TIFF"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIF"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "HEIF"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", None),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1avif", None),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", None),
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_sniff_format_by_magic_bytes(head: bytes, expected: str | None) -> None:
    """Formats are recognised by their leading bytes only; look-alikes are not."""
    assert sniff_format(head) == expected


# --- orientation ----------------------------------------------------------------------------


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """Orientation 6 rotates the picture upright and reports the displayed width and height."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    path = write(tmp_path, "rotated.jpg", jpeg_bytes(corner_marked((80, 60)), exif=exif.tobytes()))
    decoded = read(path)
    assert (decoded.width, decoded.height) == (60, 80)
    assert decoded.image.size == (60, 80)
    # Stored top-left is displayed top-right after a 90 degree clockwise turn.
    assert close_to(decoded.image.getpixel((57, 2)), RED)
    assert close_to(decoded.image.getpixel((2, 2)), BLUE)


def test_heif_orientation_is_applied_once(tmp_path: Path) -> None:
    """A HEIC with orientation 6 comes out upright (libheif rotates; we do not rotate again)."""
    import pillow_heif  # a runtime dependency: no reason to skip

    heif_bytes(Image.new("RGB", (8, 8)))  # skips without an encoder
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    buf = io.BytesIO()
    pillow_heif.from_pillow(corner_marked((80, 60))).save(buf, quality=95, exif=exif.tobytes())
    decoded = read(write(tmp_path, "rotated.heic", buf.getvalue()))
    assert (decoded.width, decoded.height) == (60, 80)
    assert close_to(decoded.image.getpixel((57, 2)), RED)
    assert close_to(decoded.image.getpixel((2, 2)), BLUE)


def heic_with_thumbnail(image: Image.Image, thumbnail: int, orientation: int = 1) -> bytes:
    """A HEIC of ``image`` with one embedded thumbnail of ``thumbnail`` px on its long side."""
    pillow_heif = pytest.importorskip("pillow_heif")
    heif_bytes(Image.new("RGB", (8, 8)))  # skips without an encoder
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    buf = io.BytesIO()
    pillow_heif.from_pillow(image).save(
        buf,
        quality=80,
        thumbnails=[thumbnail],
        exif=exif.tobytes(),
        enc_params={"preset": "ultrafast"},
    )
    return buf.getvalue()


def test_iphone_sized_heic_thumbnail_stands_in_for_the_photo(tmp_path: Path) -> None:
    """A 320x240 HEIC thumbnail (what iPhones embed) is used for the model's 256 short side."""
    photo_ = skimage_photo("chelsea.png").resize((1600, 1200))
    path = write(tmp_path, "IMG_0001.HEIC", heic_with_thumbnail(photo_, 320))
    decoded = read(path)
    assert (decoded.source, decoded.image.size) == ("preview", (320, 240))
    assert (decoded.width, decoded.height) == (1600, 1200)
    full = read_image(path, LIMITS, TARGET, previews=False)
    assert full.source == "decoded" and min(full.image.size) >= TARGET
    # the same picture, either way
    difference = np.abs(preprocess(decoded.image, IMAGENET) - preprocess(full.image, IMAGENET))
    assert difference.mean() < 0.15


def test_heic_thumbnail_too_small_is_not_used(tmp_path: Path) -> None:
    """A 200x150 thumbnail would need too much upscaling: the full image is decoded."""
    path = write(tmp_path, "small-thumb.heic", heic_with_thumbnail(photo((1600, 1200)), 200))
    decoded = read(path)
    assert decoded.source == "decoded" and min(decoded.image.size) >= TARGET


def test_heic_thumbnail_is_upright_like_the_photo(tmp_path: Path) -> None:
    """A rotated HEIC's thumbnail comes out upright, dimensions swapped, rotated once."""
    data = heic_with_thumbnail(corner_marked((1600, 1200)), 320, orientation=6)
    decoded = read(write(tmp_path, "rotated-thumb.heic", data))
    assert decoded.source == "preview"
    assert (decoded.width, decoded.height) == (1200, 1600)
    w, h = decoded.image.size
    assert w < h
    assert close_to(decoded.image.getpixel((w - 3, 2)), RED, 40)
    assert close_to(decoded.image.getpixel((2, 2)), BLUE, 40)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_corrupt_exif_does_not_fail_the_image(tmp_path: Path) -> None:
    """A corrupt EXIF block is ignored: the picture decodes, unrotated."""
    path = write(tmp_path, "bad-exif.jpg", jpeg_bytes(corner_marked((80, 60)), exif=CORRUPT_EXIF))
    decoded = read(path)
    assert (decoded.width, decoded.height) == (80, 60)
    assert close_to(decoded.image.getpixel((2, 2)), RED)


def test_out_of_range_orientation_is_ignored(tmp_path: Path) -> None:
    """An orientation value outside 1..8 leaves the picture as stored."""
    exif = Image.Exif()
    exif[ORIENTATION] = 9
    path = write(tmp_path, "odd.jpg", jpeg_bytes(corner_marked((80, 60)), exif=exif.tobytes()))
    assert read(path).image.size == (80, 60)


def test_exif_parser_crash_means_upright(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If reading EXIF raises, the picture still decodes, unrotated."""

    def broken(self: Image.Image) -> Image.Exif:
        raise SyntaxError("not a TIFF file")

    monkeypatch.setattr(Image.Image, "getexif", broken)
    assert read(write(tmp_path, "p.jpg", jpeg_bytes(photo((80, 60))))).image.size == (80, 60)


# --- reduction (draft) --------------------------------------------------------------------


def test_large_jpeg_is_dct_reduced_and_oriented(tmp_path: Path) -> None:
    """A 4000x3000 JPEG (orientation 6) decodes at 1/8 scale, upright, with full-size dims."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    path = write(tmp_path, "big.jpg", jpeg_bytes(photo((4000, 3000)), exif=exif.tobytes()))
    decoded = read(path)
    assert (decoded.width, decoded.height) == (3000, 4000)
    assert decoded.image.size == (375, 500)  # DCT scaling 1/8, then rotated
    assert TARGET <= min(decoded.image.size) < 2 * TARGET


@pytest.mark.parametrize("size", [(4000, 1000), (1000, 4000), (600, 257), (511, 700)])
def test_jpeg_draft_keeps_short_side_at_least_target(tmp_path: Path, size: tuple[int, int]) -> None:
    """Non-square JPEGs are reduced only as far as the short side stays >= the target."""
    decoded = read(write(tmp_path, "wide.jpg", jpeg_bytes(photo(size))))
    assert TARGET <= min(decoded.image.size) < 2 * TARGET
    assert (decoded.width, decoded.height) == size


def test_other_formats_are_box_reduced(tmp_path: Path) -> None:
    """A large PNG is reduced by an integer factor to a short side in [target, 2*target)."""
    decoded = read(write(tmp_path, "big.png", png_bytes(photo((2000, 1500)))))
    assert decoded.image.size == (400, 300)
    assert (decoded.width, decoded.height) == (2000, 1500)


def test_small_images_are_not_upscaled(tmp_path: Path) -> None:
    """Images smaller than the target keep their size."""
    assert read(write(tmp_path, "small.png", png_bytes(photo((100, 80))))).image.size == (100, 80)


# --- modes ----------------------------------------------------------------------------------


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    """A CMYK JPEG (Adobe-style, as Pillow writes it) decodes to the right RGB colour."""
    path = write(tmp_path, "cmyk.jpg", jpeg_bytes(Image.new("CMYK", (64, 48), (0, 255, 255, 0))))
    decoded = read(path)
    assert decoded.image.mode == "RGB"
    assert close_to(decoded.image.getpixel((32, 24)), RED)


def test_gray16_mid_grey_stays_mid_grey(tmp_path: Path) -> None:
    """16-bit greyscale is scaled to 8 bits, not clipped: 32768 becomes 128, 65535 255."""
    ramp = np.tile(np.array([0, 32768, 65535], dtype=np.uint16).repeat(10), (8, 1))
    decoded = read(write(tmp_path, "gray16.png", png_bytes(Image.fromarray(ramp))))
    assert decoded.image.getpixel((5, 4)) == (0, 0, 0)
    assert decoded.image.getpixel((15, 4)) == (128, 128, 128)
    assert decoded.image.getpixel((25, 4)) == (255, 255, 255)


def test_palette_transparency_is_white(tmp_path: Path) -> None:
    """Transparent palette pixels come out white; opaque ones keep their colour."""
    image = Image.new("P", (64, 48), 1)
    image.putpalette([0, 0, 0, 0, 0, 255])
    image.paste(0, (0, 0, 32, 48))
    decoded = read(write(tmp_path, "logo.png", png_bytes(image, transparency=0)))
    assert decoded.image.getpixel((5, 5)) == WHITE
    assert decoded.image.getpixel((50, 5)) == BLUE


def test_alpha_is_composited_over_white(tmp_path: Path) -> None:
    """Half-transparent red RGBA becomes pink (red over white), not dark red."""
    image = Image.new("RGBA", (16, 16), (255, 0, 0, 128))
    decoded = read(write(tmp_path, "rgba.png", png_bytes(image)))
    assert close_to(decoded.image.getpixel((8, 8)), (255, 127, 127), 2)


@pytest.mark.parametrize(
    ("mode", "value", "fmt", "expected"),
    [
        ("1", 1, "PNG", 255),
        ("L", 77, "PNG", 77),
        ("LA", (77, 255), "PNG", 77),
        ("LA", (0, 0), "PNG", 255),
        ("P", 0, "PNG", 0),
        ("I;16", 65535, "TIFF", 255),
        ("I", 32768, "TIFF", 128),
        ("F", 0.5, "TIFF", 128),
        ("CMYK", (0, 0, 0, 255), "TIFF", 0),
    ],
)
def test_every_mode_becomes_rgb(
    tmp_path: Path, mode: str, value: int | float | tuple[int, ...], fmt: str, expected: int
) -> None:
    """Bilevel, grey, grey+alpha, palette, 16/32-bit int, float and CMYK all become RGB."""
    image = Image.new(mode, (8, 8), value)
    buf = io.BytesIO()
    image.save(buf, fmt)
    decoded = read(write(tmp_path, f"mode.{fmt.lower()}", buf.getvalue()))
    assert decoded.image.mode == "RGB"
    assert close_to(decoded.image.getpixel((4, 4)), (expected,) * 3, 1)


# --- limits ---------------------------------------------------------------------------------


def test_file_over_byte_limit_is_refused_before_reading(tmp_path: Path) -> None:
    """A file larger than max_bytes is too large; one of exactly max_bytes is read."""
    path = write(tmp_path, "p.jpg", jpeg_bytes(photo((64, 48))))
    size = path.stat().st_size
    with pytest.raises(ImageTooLarge):
        read(path, ImageLimits(max_bytes=size - 1, max_pixels=10**6))
    assert read(path, ImageLimits(max_bytes=size, max_pixels=10**6)).size_bytes == size


def test_png_header_bomb_is_refused(tmp_path: Path) -> None:
    """A tiny PNG declaring 30000x30000 pixels is too large, before any decoding."""
    path = write(tmp_path, "bomb.png", png_header_bomb(30000, 30000))
    assert path.stat().st_size < 200
    with pytest.raises(ImageTooLarge, match="pixels"):
        read(path)


def test_pixel_limit_is_checked_from_the_header(tmp_path: Path) -> None:
    """An image with more pixels than max_pixels is too large, even when small on disk."""
    path = write(tmp_path, "p.png", png_bytes(Image.new("RGB", (40, 40))))
    with pytest.raises(ImageTooLarge):
        read(path, ImageLimits(max_bytes=10**6, max_pixels=1599))
    assert read(path, ImageLimits(max_bytes=10**6, max_pixels=1600)).width == 40


def test_pillow_bomb_error_becomes_too_large(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pillow's own DecompressionBombError is too large, citing the configured limit."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    path = write(tmp_path, "p.png", png_bytes(Image.new("RGB", (20, 20))))
    with pytest.raises(ImageTooLarge, match=r"max_pixels \(150\)") as caught:
        read(path, ImageLimits(max_bytes=10**6, max_pixels=150))
    assert "300" not in str(caught.value)  # Pillow's threshold is twice ours


def test_pillow_default_limit_never_refuses_what_we_allow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image within max_pixels decodes even if above Pillow's own bomb threshold."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    path = write(tmp_path, "p.png", png_bytes(Image.new("RGB", (30, 30))))
    assert read(path, ImageLimits(max_bytes=10**6, max_pixels=1000)).width == 30


def test_frame_count_over_limit_is_refused(tmp_path: Path) -> None:
    """An animation with more frames than max_frames is too large."""
    path = write(tmp_path, "anim.gif", animated_gif_bytes([RED, GREEN, BLUE, WHITE]))
    with pytest.raises(ImageTooLarge, match="frames"):
        read(path, ImageLimits(max_bytes=10**6, max_pixels=10**6, max_frames=3))
    assert read(path, ImageLimits(max_bytes=10**6, max_pixels=10**6, max_frames=4)).format == "GIF"


# --- broken content -------------------------------------------------------------------------


def test_half_copied_jpeg_is_corrupt(tmp_path: Path) -> None:
    """A JPEG cut in half fails as corrupt instead of being classified half grey."""
    data = jpeg_bytes(photo((640, 480)))
    with pytest.raises(CorruptImage, match="truncated"):
        read(write(tmp_path, "half.jpg", data[: len(data) // 2]))


def test_truncated_png_is_corrupt(tmp_path: Path) -> None:
    """A PNG cut short is corrupt."""
    data = png_bytes(photo((200, 150)))
    with pytest.raises(CorruptImage):
        read(write(tmp_path, "half.png", data[: len(data) // 2]))


def test_empty_file_is_corrupt(tmp_path: Path) -> None:
    """A zero-byte file is corrupt ("empty file")."""
    with pytest.raises(CorruptImage, match="empty file"):
        read(write(tmp_path, "empty.jpg", b""))


def test_one_pixel_image(tmp_path: Path) -> None:
    """A 1x1 image decodes and preprocesses to a uniform model input."""
    decoded = read(write(tmp_path, "dot.png", png_bytes(Image.new("RGB", (1, 1), RED))))
    assert (decoded.width, decoded.height) == (1, 1)
    array = preprocess(decoded.image, IMAGENET)
    assert array.shape == (3, 224, 224)
    assert np.ptp(array, axis=(1, 2)).max() == 0


def test_thin_strip(tmp_path: Path) -> None:
    """A 20000x20 strip decodes and preprocesses without a huge intermediate image."""
    decoded = read(write(tmp_path, "strip.png", png_bytes(photo((20000, 20)))))
    assert (decoded.width, decoded.height) == (20000, 20)
    array = preprocess(decoded.image, IMAGENET)
    assert array.shape == (3, 224, 224) and np.isfinite(array).all()


# --- the file itself --------------------------------------------------------------------------


def run_with_timeout(path: Path, seconds: float = 5.0) -> BaseException | DecodedImage:
    """read_image in a thread; fails the test instead of hanging if it blocks."""
    outcome: list[BaseException | DecodedImage] = []

    def target() -> None:
        try:
            outcome.append(read(path))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():  # unblock it, then fail
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"read_image blocked on {path}")
    return outcome[0]


def test_fifo_is_unreadable_without_blocking(tmp_path: Path) -> None:
    """A FIFO named y.jpg is refused at once as unreadable (no writer needed)."""
    fifo = tmp_path / "y.jpg"
    os.mkfifo(fifo)
    outcome = run_with_timeout(fifo)
    assert isinstance(outcome, UnreadableFile), outcome
    assert "FIFO" in str(outcome)


def test_directory_named_jpg_is_unreadable(tmp_path: Path) -> None:
    """A directory named x.jpg is refused as unreadable."""
    (tmp_path / "x.jpg").mkdir()
    with pytest.raises(UnreadableFile, match="directory"):
        read(tmp_path / "x.jpg")


def test_symlink_is_not_followed(tmp_path: Path) -> None:
    """A symlink to a valid image is refused, not followed."""
    target = write(tmp_path, "real.jpg", jpeg_bytes(photo((32, 24))))
    (tmp_path / "link.jpg").symlink_to(target)
    with pytest.raises(UnreadableFile, match="symlink"):
        read(tmp_path / "link.jpg")


def test_symlink_loop_is_unreadable(tmp_path: Path) -> None:
    """A symlink loop is refused as unreadable."""
    (tmp_path / "a.jpg").symlink_to(tmp_path / "b.jpg")
    (tmp_path / "b.jpg").symlink_to(tmp_path / "a.jpg")
    with pytest.raises(UnreadableFile):
        read(tmp_path / "a.jpg")


def test_vanished_file_is_unreadable(tmp_path: Path) -> None:
    """A file deleted before it is read is unreadable, with a message saying so."""
    path = write(tmp_path, "gone.jpg", jpeg_bytes(photo((32, 24))))
    path.unlink()
    with pytest.raises(UnreadableFile, match="vanished"):
        read(path)


def test_no_read_permission_is_unreadable() -> None:
    """A file without read permission is unreadable (checked as nobody when run as root)."""
    import shutil

    from tests.unprivileged import as_unprivileged, shared_tmp

    base = shared_tmp()
    try:
        path = write(base, "secret.jpg", jpeg_bytes(photo((32, 24))))
        path.chmod(0)
        code = (
            "import sys\n"
            "from pathlib import Path\n"
            "from resnet_watch.imaging import ImageLimits, read_image\n"
            "try:\n"
            "    read_image(Path(sys.argv[1]), ImageLimits(10**8, 10**8), 224)\n"
            "except Exception as exc:\n"
            "    print(type(exc).__name__, exc)\n"
        )
        done = subprocess.run(
            as_unprivileged([sys.executable, "-c", code, str(path)]),
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            timeout=120,
        )
        assert done.stdout.startswith("UnreadableFile"), done.stdout + done.stderr
        assert "permission denied" in done.stdout
    finally:
        shutil.rmtree(base)


def test_permission_error_is_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EACCES on open (simulated, so it also runs as root) is unreadable: permission denied."""
    path = write(tmp_path, "secret.jpg", jpeg_bytes(photo((32, 24))))
    real_open = os.open

    def deny(file: object, flags: int, *args: object) -> int:
        if Path(str(file)) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, flags, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", deny)
    with pytest.raises(UnreadableFile, match="permission denied"):
        read(path)


def test_name_with_nul_byte_is_unreadable(tmp_path: Path) -> None:
    """A path with a NUL byte is unreadable, not a ValueError."""
    with pytest.raises(UnreadableFile):
        read(tmp_path / "bad\x00name.jpg")


def test_decodes_the_bytes_it_hashed(tmp_path: Path) -> None:
    """sha256 and size describe exactly the bytes that were decoded."""
    path = write(tmp_path, "p.png", png_bytes(photo((64, 48))))
    decoded = read(path)
    assert decoded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert decoded.size_bytes == len(path.read_bytes())


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
def test_hostile_corpus_outcomes_and_files_untouched(tmp_path: Path) -> None:
    """Every hostile case gives its expected outcome, only ImageErrors escape, files unchanged."""
    corpus = make_hostile_corpus(tmp_path / "inbox")
    before = {case: sha256(p) for case, p in corpus.items() if p.is_file() and not p.is_symlink()}
    for case, path in corpus.items():
        try:
            decoded = read(path)
        except ImageError as exc:
            assert exc.kind == EXPECTED_KIND[case], (case, exc)
        else:
            assert EXPECTED_KIND[case] is None, case
            assert decoded.image.mode == "RGB", case
            assert preprocess(decoded.image, IMAGENET).shape == (3, 224, 224), case
    after = {case: sha256(p) for case, p in corpus.items() if p.is_file() and not p.is_symlink()}
    assert before == after


# --- preprocess -----------------------------------------------------------------------------


def test_preprocess_uniform_colour_is_exact() -> None:
    """A uniform colour becomes exactly (c - mean) / std per channel, float32 CHW."""
    colour = (200, 100, 50)
    array = preprocess(Image.new("RGB", (300, 200), colour), IMAGENET)
    assert array.shape == (3, 224, 224) and array.dtype == np.float32
    assert array.flags.c_contiguous
    for c in range(3):
        expected = (np.float32(colour[c]) - np.float32(IMAGENET.mean[c])) / np.float32(
            IMAGENET.std[c]
        )
        assert np.all(array[c] == expected)
        assert expected == pytest.approx((colour[c] - IMAGENET.mean[c]) / IMAGENET.std[c], 1e-6)


def test_preprocess_accepts_non_rgb_input() -> None:
    """A greyscale image passed directly is treated as RGB."""
    array = preprocess(Image.new("L", (300, 300), 128), IMAGENET)
    assert array.shape == (3, 224, 224)


def torchvision_reference(image: Image.Image, spec: Preprocess) -> np.ndarray:
    transforms = pytest.importorskip("torchvision.transforms")
    resample = {
        "bicubic": transforms.InterpolationMode.BICUBIC,
        "bilinear": transforms.InterpolationMode.BILINEAR,
    }[spec.resample]
    pipeline = transforms.Compose(
        [
            transforms.Resize(spec.resize_short, interpolation=resample),
            transforms.CenterCrop(spec.crop),
            transforms.ToTensor(),
            transforms.Normalize([m / 255 for m in spec.mean], [s / 255 for s in spec.std]),
        ]
    )
    return np.asarray(pipeline(image).numpy())


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("chelsea.png", IMAGENET),
        ("coffee.png", Preprocess(256, 224, "bilinear", IMAGENET.mean, IMAGENET.std)),
        ("astronaut.png", Preprocess(232, 224, "bicubic", IMAGENET.mean, IMAGENET.std)),
        ("chelsea.png", Preprocess(200, 224, "bilinear", IMAGENET.mean, IMAGENET.std)),
    ],
)
def test_preprocess_matches_torchvision_on_real_photos(name: str, spec: Preprocess) -> None:
    """Resize + CenterCrop + Normalize match torchvision on real photos, padding included."""
    image = skimage_photo(name)
    for variant in (image, image.transpose(Image.Transpose.TRANSPOSE)):  # landscape, portrait
        ours = preprocess(variant, spec)
        reference = torchvision_reference(variant, spec)
        assert ours.shape == reference.shape
        # Same pixels; only float32 rounding of the two normalisation formulas differs.
        np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-5)


def test_preprocess_matches_torchvision_on_thin_strip() -> None:
    """A 2000x20 strip (crop window only) matches torchvision within a rounding step or two."""
    strip = photo((2000, 20), seed=3)
    difference = np.abs(preprocess(strip, IMAGENET) - torchvision_reference(strip, IMAGENET))
    # One 8-bit step is 1/std ~ 0.0175 here.
    assert difference.max() <= 2.01 / min(IMAGENET.std)
    assert difference.mean() < 0.01


def test_imaging_does_not_import_torch() -> None:
    """Importing and using imaging never pulls in torch (only models/ may)."""
    code = (
        "import sys; from PIL import Image; import resnet_watch.imaging as m; "
        "from resnet_watch.models.spec import Preprocess; "
        "m.preprocess(Image.new('RGB', (50, 40)), Preprocess(32, 24, 'bilinear', (0, 0, 0), "
        "(1, 1, 1))); sys.exit('torch' in sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, timeout=60, check=False)
    assert result.returncode == 0


def test_file_replaced_while_being_read_gives_one_consistent_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file swapped (rename over it) mid-read is decoded and hashed as the version opened."""
    import resnet_watch.imaging.files as imaging_files

    target = tmp_path / "photo.jpg"
    first = jpeg_bytes(photo((640, 480), seed=1))
    second = jpeg_bytes(photo((300, 200), seed=2))
    target.write_bytes(first)
    replacement = tmp_path / "incoming.jpg"
    replacement.write_bytes(second)
    real_fstat = os.fstat
    swapped = []

    def fstat_then_swap(fd: int) -> os.stat_result:
        if not swapped:
            os.replace(replacement, target)  # what rsync/scp do to a file being read
            swapped.append(True)
        return real_fstat(fd)

    monkeypatch.setattr(imaging_files.os, "fstat", fstat_then_swap)
    decoded = read_image(target, LIMITS, 224)
    assert swapped
    assert decoded.sha256 == hashlib.sha256(first).hexdigest()
    assert (decoded.width, decoded.height) == (640, 480)
    assert target.read_bytes() == second  # the new version is left for the next event


def test_file_growing_while_read_is_hashed_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file appended to after its size was taken is read to its end, hash and all."""
    import resnet_watch.imaging.files as imaging_files

    target = tmp_path / "photo.png"
    body = png_bytes(photo((700, 500)))  # several read chunks
    target.write_bytes(body)
    tail = b"\0" * 300_000  # bytes after IEND: PNG readers ignore them
    real_fstat = os.fstat

    def fstat_then_grow(fd: int) -> os.stat_result:
        result = real_fstat(fd)
        if target.stat().st_size == len(body):
            with target.open("ab") as grown:
                grown.write(tail)
        return result

    monkeypatch.setattr(imaging_files.os, "fstat", fstat_then_grow)
    decoded = read_image(target, LIMITS, 224)
    assert decoded.size_bytes == len(body) + len(tail)
    assert decoded.sha256 == hashlib.sha256(body + tail).hexdigest()


def test_file_shrinking_while_read_keeps_only_its_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file cut shorter after its size was taken is hashed and decoded as what is left."""
    import resnet_watch.imaging.files as imaging_files

    target = tmp_path / "photo.png"
    body = png_bytes(photo((700, 500)))
    target.write_bytes(body + b"\xff" * 300_000)
    real_fstat = os.fstat

    def fstat_then_shrink(fd: int) -> os.stat_result:
        result = real_fstat(fd)
        os.truncate(target, len(body))
        return result

    monkeypatch.setattr(imaging_files.os, "fstat", fstat_then_shrink)
    decoded = read_image(target, LIMITS, 224)
    assert decoded.size_bytes == len(body)
    assert decoded.sha256 == hashlib.sha256(body).hexdigest()


def test_file_growing_past_the_limit_while_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that grows past limits.max_bytes while being read is too_large, not cut short."""
    import resnet_watch.imaging.files as imaging_files

    target = tmp_path / "photo.png"
    body = png_bytes(photo((64, 48)))
    target.write_bytes(body)
    real_fstat = os.fstat

    def fstat_then_grow(fd: int) -> os.stat_result:
        result = real_fstat(fd)
        with target.open("ab") as grown:
            grown.write(b"\0" * 2_000_000)
        return result

    monkeypatch.setattr(imaging_files.os, "fstat", fstat_then_grow)
    with pytest.raises(ImageTooLarge):
        read_image(target, ImageLimits(1_000_000, LIMITS.max_pixels), 224)
