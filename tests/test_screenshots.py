"""The Screenshots album: real screenshots in, real photos out, a camera's EXIF vetoes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from resnet_watch.models.photos import ai_benchmark_photos
from resnet_watch.screenshots import screenshot_evidence, screenshot_score
from tests.daemon_helpers import shipped_photo

CHROMIUM = shutil.which("chromium")


def record_for(image: Path, labels: list[dict[str, object]] | None = None) -> dict[str, object]:
    with Image.open(image) as im:
        width, height, fmt = im.width, im.height, im.format
    return {
        "file": {"name": image.name},
        "image": {"width": width, "height": height, "format": fmt},
        "labels": labels or [],
    }


@pytest.fixture(scope="module")
def real_screenshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A page rendered and captured by headless chromium, as a desktop screenshot is."""
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("needs Debian's chromium (scripts/dev installs it)")
        pytest.skip("needs chromium")
    folder = tmp_path_factory.mktemp("shots")
    page = folder / "page.html"
    page.write_text("<h1>Invoice 2024-117</h1><p>Total due: 42.00 EUR</p><ul><li>Menu</li></ul>")
    shot = folder / "capture.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,720",
         f"--screenshot={shot}", f"--user-data-dir={folder / 'profile'}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return shot


def test_a_real_screenshot_is_one(real_screenshot: Path) -> None:
    """Chromium's 1280x720 PNG capture is a screenshot (PNG + a screen's size)."""
    evidence = screenshot_evidence(real_screenshot, record_for(real_screenshot))
    assert evidence.is_screenshot, evidence
    assert {"png", "screen_size"} <= set(evidence.reasons)


def test_screenshot_names_in_several_languages_count(real_screenshot: Path, tmp_path: Path) -> None:
    """A JPEG re-save of a capture still counts when its name says screenshot."""
    for name in ("Screenshot_20240101-101010.jpg", "Bildschirmfoto 2024-01-01 um 10.10.10.jpg",
                 "Capture d’écran 2024.jpg", "スクリーンショット 2024.jpg"):  # fmt: skip
        target = tmp_path / name
        with Image.open(real_screenshot) as im:
            im.convert("RGB").resize((1000, 563)).save(target, quality=85)
        evidence = screenshot_evidence(target, record_for(target))
        assert evidence.is_screenshot and "name" in evidence.reasons, name


def test_real_photos_are_not_screenshots(tmp_path: Path) -> None:
    """ai-benchmark JPEG photos and scikit-image PNG photos stay photos, even as PNG."""
    photos = ai_benchmark_photos()[:30] + [
        shipped_photo("skimage", "data", n) for n in ("astronaut.png", "chelsea.png", "coffee.png")
    ]
    assert len(photos) == 33
    as_png = tmp_path / "photo.png"
    Image.open(photos[0]).save(as_png)
    for photo in [*photos, as_png]:
        evidence = screenshot_evidence(photo, record_for(photo))
        assert not evidence.is_screenshot, (photo, evidence)


def test_camera_exif_vetoes_even_a_screenshot_name(tmp_path: Path) -> None:
    """A phone photo of a screen, named like a screenshot, is still a photo."""
    image = tmp_path / "Screenshot_2024.png"
    exif = Image.Exif()
    exif[0x010F] = "Google"
    exif[0x0110] = "Pixel 7"
    Image.new("RGB", (1080, 2400), "white").save(image, exif=exif)
    evidence = screenshot_evidence(image, record_for(image))
    assert not evidence.is_screenshot and "camera_exif" in evidence.reasons


def test_an_imagenet_web_site_hint_tips_a_png_over() -> None:
    """A PNG of an odd size counts only with ImageNet's "web site" among its labels."""
    plain = screenshot_score("a.png", "PNG", 1000, 700, [], camera=False)
    hinted = screenshot_score("a.png", "PNG", 1000, 700, [("n06359193", 0.4)], camera=False)
    assert not plain.is_screenshot and hinted.is_screenshot
