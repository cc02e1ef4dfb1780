"""Keywords embedded in the image itself: read from its header, never fatal."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image

from resnet_watch.image_keywords import read_image_tags
from resnet_watch.xmp_merge import ImageTags
from tests import photo_apps


def tagged_jpeg(tmp_path: Path, *args: str) -> Path:
    path = tmp_path / "IMG_1.jpg"
    Image.new("RGB", (64, 48), "teal").save(path)
    tool = photo_apps.tool("exiftool", "libimage-exiftool-perl")
    subprocess.run([tool, "-q", "-overwrite_original", *args, str(path)], check=True)
    return path


def test_embedded_xmp_and_iptc_keywords_are_read(tmp_path: Path) -> None:
    """A Lightroom-style export: hierarchical XMP paths, flat dc:subject and IPTC keywords."""
    path = tagged_jpeg(
        tmp_path,
        "-XMP-lr:HierarchicalSubject=Trips|Rome",
        "-XMP-digiKam:TagsList=People/Anna",
        "-XMP-dc:Subject=Embedded",
        "-IPTC:Keywords=Iptckw",
    )
    assert read_image_tags(path, "resnet-watch") == ImageTags(
        ("People/Anna", "Trips/Rome"), ("Embedded", "Iptckw")
    )


def test_our_own_root_inside_the_image_is_not_the_users(tmp_path: Path) -> None:
    """An image exported with our tags embedded does not get them copied back as the user's."""
    path = tagged_jpeg(
        tmp_path, "-XMP-digiKam:TagsList=resnet-watch/Pets/Cats/tabby", "-XMP-digiKam:TagsList=A"
    )
    assert read_image_tags(path, "resnet-watch").paths == ("A",)


def test_image_without_metadata_or_unreadable_has_no_tags(tmp_path: Path) -> None:
    """No embedded metadata, or a file Pillow cannot open, simply means no embedded tags."""
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    garbage = tmp_path / "bad.jpg"
    garbage.write_bytes(b"\xff\xd8\xff" + b"\x00" * 100)
    assert read_image_tags(plain, "resnet-watch") == ImageTags()
    assert read_image_tags(garbage, "resnet-watch") == ImageTags()
    assert read_image_tags(tmp_path / "missing.jpg", "resnet-watch") == ImageTags()


def test_embedded_xmp_with_a_dtd_is_ignored(tmp_path: Path) -> None:
    """Embedded XMP goes through the sidecar parser: an entity declaration yields no tags."""
    path = tmp_path / "IMG_1.jpg"
    hostile = (
        b'<!DOCTYPE x [<!ENTITY a "Boom">]><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b"<dc:subject><rdf:Bag><rdf:li>&a;</rdf:li></rdf:Bag></dc:subject>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    Image.new("RGB", (8, 8)).save(path, xmp=hostile)
    assert Image.open(path).info.get("xmp") == hostile
    assert read_image_tags(path, "resnet-watch") == ImageTags()
