"""Extras: the config's XMP and album settings applied to one result."""

from __future__ import annotations

from pathlib import Path

from resnet_watch.config import load_config
from resnet_watch.extras import Extras, album_rules
from resnet_watch.xmp import sidecar_path
from tests import photo_apps

RECORD = {"tags": ["Pets/Dogs/beagle", "Other/umbrella"], "albums": ["Dogs"]}


def extras_for(tmp_path: Path, sidecar_yaml: str) -> Extras:
    cfg_file = tmp_path / "c.yaml"
    inbox = tmp_path / "inbox"
    cfg_file.write_text(f"inbox:\n  paths: [{inbox}]\nsidecar:\n{sidecar_yaml}")
    cfg = load_config(cfg_file, environ={})
    return Extras(cfg, album_rules(cfg))


def test_photoprism_seq_setting_reaches_the_xmp(tmp_path: Path) -> None:
    """sidecar.xmp_photoprism_seq: PhotoPrism's reader finds labels and album names."""
    extras = extras_for(tmp_path, "  xmp_photoprism_seq: true\n")
    image = tmp_path / "inbox" / "IMG_1.jpg"
    image.write_bytes(b"\xff\xd8\xff never read")
    extras.write_files(image, RECORD)
    got = photo_apps.photoprism_keywords(sidecar_path(image))
    assert got == ["beagle", "umbrella", "Dogs"]


def test_default_xmp_keeps_the_spec_bag(tmp_path: Path) -> None:
    """By default dc:subject stays the XMP spec's rdf:Bag (PhotoPrism's reader sees none)."""
    extras = extras_for(tmp_path, "  xmp: true\n")
    image = tmp_path / "inbox" / "IMG_1.jpg"
    image.write_bytes(b"\xff\xd8\xff never read")
    extras.write_files(image, RECORD)
    xmp = sidecar_path(image)
    assert photo_apps.photoprism_keywords(xmp) == []
    assert photo_apps.read_fields(xmp)["Subject"] == ["beagle", "umbrella", "Dogs"]
