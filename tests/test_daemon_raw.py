"""RAW files through the real daemon: a dropped DNG, a RAW+JPEG pair as one photo.

The DNGs are written from a real photo by tests/rawfiles.py (Bayer mosaic + embedded JPEG
preview); the ARW is a real camera file from a PyPI sdist (tests/rawfiles.camera_raw); the
hostile RAW/HEIC cases run with the rest of the corpus in test_reliability.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from resnet_watch.sidecar import validate_record
from tests.daemon_helpers import (
    CAT_CLASSES,
    DaemonProcess,
    read_sidecar_json,
    shipped_photo,
    wait_until,
)
from tests.rawfiles import camera_raw, dng_bytes
from tests.requirements import need

# A concert photo: a guitarist on a blue-lit stage (the bundled model's top-5 holds three)
CONCERT_CLASSES = {"stage", "electric guitar", "acoustic guitar", "banjo"}


def cat_photo() -> Image.Image:
    with Image.open(shipped_photo("skimage", "data", "chelsea.png")) as im:
        return im.convert("RGB").resize((1536, 1024), Image.Resampling.BICUBIC)


def land(inbox: Path, staging: Path, files: dict[str, bytes]) -> dict[str, Path]:
    """Write ``files`` outside the inbox, then rename them in together (as a card reader)."""
    staging.mkdir(parents=True, exist_ok=True)
    landed = {}
    for name, data in files.items():
        (staging / name).write_bytes(data)
    for name in files:
        os.rename(staging / name, inbox / name)
        landed[name] = inbox / name
    return landed


def test_dropped_dng_is_tagged_with_an_img_dng_xmp(tmp_path: Path) -> None:
    """A DNG gets a sidecar from its preview and IMG.DNG.xmp, never IMG.xmp; it is untouched."""
    with DaemonProcess(tmp_path) as d:
        data = dng_bytes(cat_photo())
        raw = land(d.inbox, tmp_path / "card", {"IMG_0001.DNG": data})["IMG_0001.DNG"]
        record = wait_until(lambda: read_sidecar_json(raw), 20, "the DNG's sidecar")
        assert record["status"] == "ok", record.get("error")
        assert validate_record(record) == []
        assert record["image"] == {
            "width": 1536,
            "height": 1024,
            "format": "DNG",
            "source": "preview",
        }
        assert {lab["name"] for lab in record["labels"]} & CAT_CLASSES
        xmp = raw.with_name("IMG_0001.DNG.xmp")
        assert "resnet-watch|Pets|Cats|" in xmp.read_text()
        assert not (d.inbox / "IMG_0001.xmp").exists()
        assert raw.read_bytes() == data


def test_raw_jpeg_pair_is_classified_once_and_both_are_tagged(tmp_path: Path) -> None:
    """IMG.DNG + IMG.JPG: one inference, the same labels and XMP for both, marked as a pair."""
    photo = cat_photo()
    jpeg = photo.copy()
    with DaemonProcess(tmp_path) as d:
        from io import BytesIO

        buf = BytesIO()
        jpeg.save(buf, "JPEG", quality=90)
        files = {"IMG_0002.DNG": dng_bytes(photo), "IMG_0002.JPG": buf.getvalue()}
        landed = land(d.inbox, tmp_path / "card", files)
        raw, jpg = landed["IMG_0002.DNG"], landed["IMG_0002.JPG"]
        raw_record = wait_until(lambda: read_sidecar_json(raw), 30, "the RAW's sidecar")
        jpg_record = wait_until(lambda: read_sidecar_json(jpg), 30, "the JPEG's sidecar")
        assert raw_record["status"] == jpg_record["status"] == "ok"
        pair = {"files": ["IMG_0002.DNG", "IMG_0002.JPG"], "classified": "IMG_0002.JPG"}
        assert raw_record["pair"] == jpg_record["pair"] == pair
        assert raw_record["labels"] == jpg_record["labels"]
        assert raw_record["image"]["format"] == "DNG"
        assert raw_record["image"]["source"] == "partner"
        assert raw_record["file"]["name"] == "IMG_0002.DNG"
        assert raw_record["file"]["size"] == raw.stat().st_size
        assert validate_record(raw_record) == []
        for image in (raw, jpg):
            keywords = image.with_name(image.name + ".xmp").read_text()
            assert "resnet-watch|Pets|Cats|" in keywords
        assert not (d.inbox / "IMG_0002.xmp").exists()
        d.wait_events("image_classified", jpg)
        d.wait_events("image_paired", raw)
        classified = [e["path"] for e in d.events("image_classified")]
        assert classified == [str(jpg)]  # the pair went through the model once
        assert [e["path"] for e in d.events("image_paired")] == [str(raw)]
        assert raw.read_bytes() == files["IMG_0002.DNG"]


def test_jpeg_landing_after_its_raw_was_tagged_reuses_the_raw_result(tmp_path: Path) -> None:
    """IMG.DNG tagged first, IMG.JPG later: the JPEG takes the DNG's labels, no second inference."""
    photo = cat_photo()
    with DaemonProcess(tmp_path) as d:
        from io import BytesIO

        raw_bytes = dng_bytes(photo)
        raw = land(d.inbox, tmp_path / "card", {"IMG_0003.DNG": raw_bytes})["IMG_0003.DNG"]
        raw_alone = wait_until(lambda: read_sidecar_json(raw), 30, "the RAW's sidecar")
        assert raw_alone["status"] == "ok" and raw_alone["image"]["source"] == "preview"
        buf = BytesIO()
        photo.save(buf, "JPEG", quality=90)
        jpg = land(d.inbox, tmp_path / "card", {"IMG_0003.JPG": buf.getvalue()})["IMG_0003.JPG"]
        jpg_record = wait_until(lambda: read_sidecar_json(jpg), 30, "the JPEG's sidecar")
        pair = {"files": ["IMG_0003.DNG", "IMG_0003.JPG"], "classified": "IMG_0003.DNG"}
        raw_record = wait_until(
            lambda: (r := read_sidecar_json(raw)) and r.get("pair") == pair and r,
            30,
            "the RAW's sidecar to name its pair",
        )
        assert jpg_record["status"] == "ok" and jpg_record["pair"] == pair
        assert jpg_record["labels"] == raw_record["labels"] == raw_alone["labels"]
        assert jpg_record["image"]["source"] == "partner"
        assert jpg_record["file"]["size"] == jpg.stat().st_size
        assert validate_record(jpg_record) == [] and validate_record(raw_record) == []
        keywords = jpg.with_name("IMG_0003.JPG.xmp").read_text()
        assert "resnet-watch|Pets|Cats|" in keywords
        d.wait_events("image_paired", jpg)
        assert [e["path"] for e in d.events("image_classified")] == [str(raw)]
        assert [e["path"] for e in d.events("image_paired")] == [str(jpg)]
        assert not (d.inbox / "IMG_0003.xmp").exists()
        assert raw.read_bytes() == raw_bytes


def test_dropped_real_sony_arw_is_tagged_from_its_preview(tmp_path: Path) -> None:
    """A camera's own ARW gets a sidecar from its embedded JPEG and DSC.ARW.xmp; untouched."""
    data = camera_raw()
    need(data is not None, "libraw-cffi 0.19.0's sdist (scripts/dev test downloads it)")
    assert data is not None
    with DaemonProcess(tmp_path) as d:
        raw = land(d.inbox, tmp_path / "card", {"DSC02164.ARW": data})["DSC02164.ARW"]
        record = wait_until(lambda: read_sidecar_json(raw), 30, "the ARW's sidecar")
        assert record["status"] == "ok", record.get("error")
        assert validate_record(record) == []
        assert record["image"] == {
            "width": 5184,
            "height": 3464,
            "format": "ARW",
            "source": "preview",
        }
        assert {lab["name"] for lab in record["labels"]} & CONCERT_CLASSES
        assert "resnet-watch|" in raw.with_name("DSC02164.ARW.xmp").read_text()
        assert not (d.inbox / "DSC02164.xmp").exists()
        assert raw.read_bytes() == data
