"""What each photo app shows from an XMP sidecar: its field order, re-implemented from its source.

Values come from exiftool (what Immich itself runs) and field presence/counts are cross-checked
with exiv2 (the library digiKam and darktable read sidecars with). Each ``*_tags`` function
returns tags as ``a/b`` paths, the form the app shows them in.

- digiKam ``DMetadata::getItemTagsPath`` over ``DMetadataSettingsContainer::defaultTagValues``:
  the FIRST non-empty of TagsList, MicrosoftPhoto:LastKeywordXMP, lr:hierarchicalSubject,
  mediapro:CatalogSets, (acdsee), dc:subject.
- Immich ``metadata.service.ts`` ``getTagList``: TagsList, else HierarchicalSubject, else Keywords.
- darktable ``src/common/exif.cc`` ``_exif_decode_xmp_data``: lr:hierarchicalSubject, else
  dc:subject.
- PhotoPrism ``internal/meta/xmp_document.go`` ``Keywords()``: the rdf:Seq under dc:subject only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

FIELDS = {
    "TagsList": "XMP-digiKam:TagsList",
    "LastKeywordXMP": "XMP-microsoft:LastKeywordXMP",
    "HierarchicalSubject": "XMP-lr:HierarchicalSubject",
    "CatalogSets": "XMP-mediapro:CatalogSets",
    "Subject": "XMP-dc:Subject",
    "Keywords": "Keywords",
}
EXIV2_KEYS = {
    "TagsList": "Xmp.digiKam.TagsList",
    "HierarchicalSubject": "Xmp.lr.hierarchicalSubject",
    "Subject": "Xmp.dc.subject",
}


def tool(name: str, package: str) -> str:
    """The tool's path; in CI a missing tool fails (scripts/dev installs it), elsewhere skips."""
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI (apt-get install {package})")
        pytest.skip(f"{name} not installed (apt-get install {package})")
    return found


def read_fields(xmp: Path) -> dict[str, list[str]]:
    """Every tag field's entries as exiftool reads them (absent fields are empty lists)."""
    exiftool = tool("exiftool", "libimage-exiftool-perl")
    args = [exiftool, "-json", "-struct", *(f"-{t}" for t in FIELDS.values()), str(xmp)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    [record] = json.loads(out)
    fields: dict[str, list[str]] = {}
    for name in FIELDS:
        value = record.get(name, [])
        fields[name] = [str(v) for v in (value if isinstance(value, list) else [value])]
    return fields


def merged_fields(image: Path, xmp: Path) -> dict[str, list[str]]:
    """The image's own fields with the sidecar's spread over them, field by field, as Immich
    does (``{...mediaTags, ...sidecarTags}``) and digiKam does when it reads sidecars."""
    fields = read_fields(image)
    if xmp.exists():
        fields.update({name: v for name, v in read_fields(xmp).items() if v})
    return fields


def _paths(entries: list[str], separator: str) -> set[str]:
    return {e.replace(separator, "/") for e in entries}


def digikam_tags(fields: dict[str, list[str]]) -> set[str]:
    order = [
        ("TagsList", "/"),
        ("LastKeywordXMP", "/"),
        ("HierarchicalSubject", "|"),
        ("CatalogSets", "|"),
        ("Subject", "/"),
    ]
    for name, separator in order:
        if fields[name]:
            return _paths(fields[name], separator)
    return set()


def immich_tags(fields: dict[str, list[str]]) -> set[str]:
    if fields["TagsList"]:
        return set(fields["TagsList"])
    if fields["HierarchicalSubject"]:
        return {
            "/".join(part.replace("/", "|") for part in tag.split("|"))
            for tag in fields["HierarchicalSubject"]
        }
    return set(fields["Keywords"])


def darktable_tags(fields: dict[str, list[str]]) -> set[str]:
    if fields["HierarchicalSubject"]:
        return _paths(fields["HierarchicalSubject"], "|")
    return set(fields["Subject"])


APPS = {"digiKam": digikam_tags, "Immich": immich_tags, "darktable": darktable_tags}


def photoprism_keywords(xmp: Path) -> list[str]:
    """Go's encoding/xml matches local names: xmpmeta/RDF/Description/subject/Seq/li."""
    root = ET.fromstring(xmp.read_bytes())

    def local(element: ET.Element) -> str:
        return element.tag.rsplit("}", 1)[-1]

    if local(root) != "xmpmeta":
        return []
    found: list[str] = []
    for rdf in (e for e in root if local(e) == "RDF"):
        for desc in (e for e in rdf if local(e) == "Description"):
            for subject in (e for e in desc if local(e) == "subject"):
                for seq in (e for e in subject if local(e) == "Seq"):
                    found += [li.text or "" for li in seq if local(li) == "li"]
    return found


def exiftool_validate(xmp: Path) -> str:
    """exiftool's verdict ("OK" or "N Warnings (...)") on the file's XMP structure."""
    exiftool = tool("exiftool", "libimage-exiftool-perl")
    args = [exiftool, "-json", "-validate", "-warning", "-error", "-a", str(xmp)]
    [record] = json.loads(subprocess.run(args, capture_output=True, text=True).stdout)
    problems = [f"{k}: {v}" for k, v in record.items() if k.startswith(("Warning", "Error"))]
    return str(record.get("Validate")) + ("; " + "; ".join(problems) if problems else "")


def exiv2_counts(xmp: Path) -> dict[str, int]:
    """How many entries exiv2 (digiKam's and darktable's reader) sees per tag field.

    Fails the test if exiv2 exits non-zero or prints anything on stderr (a warning).
    """
    exiv2 = tool("exiv2", "exiv2")
    run = subprocess.run([exiv2, "-px", str(xmp)], capture_output=True, text=True)
    assert run.returncode == 0 and not run.stderr, (run.returncode, run.stderr)
    counts = {}
    for line in run.stdout.splitlines():
        key, _type, count, *_ = [*line.split(None, 3), "", "", ""]
        for name, exiv2_key in EXIV2_KEYS.items():
            if key == exiv2_key:
                counts[name] = int(count)
    return counts
