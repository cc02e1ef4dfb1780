"""XMP sidecars: what photo apps read back, merging into foreign sidecars, safety."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from resnet_watch.errors import SidecarError
from resnet_watch.xmp import (
    XmpKeywords,
    read_keywords,
    remove_keywords,
    sidecar_path,
    write_xmp,
)

TAGS = ["Pets/Dogs/golden retriever", "Pets/Dogs/Labrador retriever", "Other/umbrella"]
KEYWORDS = XmpKeywords.from_tags(TAGS)

DARKTABLE_XMP = """\
<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
   xmp:Rating="4"
   darktable:history_end="1">
   <!-- kept by hand -->
   <dc:subject>
    <rdf:Bag>
     <rdf:li>holiday</rdf:li>
     <rdf:li>golden retriever</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>Places|Italy &amp; Rome</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1" darktable:params="00003f"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def exiftool() -> str:
    found = shutil.which("exiftool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("exiftool is required in CI (apt-get install libimage-exiftool-perl)")
        pytest.skip("exiftool not installed (apt-get install libimage-exiftool-perl)")
    return found


def read_with_exiftool(xmp: Path, *tags: str) -> dict[str, list[str]]:
    """Each requested tag's values, as exiftool (the reference XMP reader) sees them."""
    args = [exiftool(), "-json", *(f"-{t}" for t in tags), str(xmp)]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    [record] = json.loads(out)
    return {
        k: [str(x) for x in v] if isinstance(v, list) else [str(v)]
        for k, v in record.items()
        if k != "SourceFile"
    }


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "IMG_1.jpg"
    path.write_bytes(b"\xff\xd8\xff pixels we must never touch")
    return path


def test_sidecar_name_is_image_name_plus_xmp(image: Path) -> None:
    """IMG_1.jpg gets IMG_1.jpg.xmp, the name darktable, digiKam and Immich read."""
    assert write_xmp(image, KEYWORDS) == image.with_name("IMG_1.jpg.xmp")
    assert sidecar_path(image) == image.with_name("IMG_1.jpg.xmp")


def test_exiftool_reads_our_keywords_in_all_three_fields(image: Path) -> None:
    """dc:subject has leaves; lr and digiKam fields have the paths under one root."""
    xmp = write_xmp(image, KEYWORDS)
    got = read_with_exiftool(
        xmp, "XMP-dc:Subject", "XMP-lr:HierarchicalSubject", "XMP-digiKam:TagsList"
    )
    assert got["Subject"] == ["golden retriever", "Labrador retriever", "umbrella"]
    assert got["HierarchicalSubject"] == [
        "resnet-watch|Pets|Dogs|golden retriever",
        "resnet-watch|Pets|Dogs|Labrador retriever",
        "resnet-watch|Other|umbrella",
    ]
    assert got["TagsList"] == [f"resnet-watch/{t}" for t in TAGS]


def test_merge_keeps_foreign_keywords_rating_and_darktable_history(image: Path) -> None:
    """A darktable/digiKam sidecar keeps every foreign field and keyword after our write."""
    xmp = sidecar_path(image)
    xmp.write_text(DARKTABLE_XMP, encoding="utf-8")
    write_xmp(image, KEYWORDS)
    got = read_with_exiftool(
        xmp,
        "XMP-xmp:Rating",
        "XMP-dc:Subject",
        "XMP-lr:HierarchicalSubject",
        "XMP-digiKam:TagsList",
        "XMP-darktable:HistoryOperation",
        "XMP-darktable:HistoryParams",
    )
    assert got["Rating"] == ["4"]
    assert got["Subject"] == ["holiday", "golden retriever", "Labrador retriever", "umbrella"]
    assert got["HierarchicalSubject"][0] == "Places|Italy & Rome"
    assert "resnet-watch|Pets|Dogs|golden retriever" in got["HierarchicalSubject"]
    assert got["TagsList"] == [f"resnet-watch/{t}" for t in TAGS]
    assert got["HistoryOperation"] == ["exposure"]
    assert got["HistoryParams"] == ["00003f"]
    text = xmp.read_text(encoding="utf-8")
    assert "<!-- kept by hand -->" in text
    assert 'darktable:history_end="1"' in text


def test_rewrite_replaces_only_our_subtree(image: Path) -> None:
    """New tags replace our old ones; a user keyword equal to our old label survives."""
    xmp = sidecar_path(image)
    xmp.write_text(DARKTABLE_XMP, encoding="utf-8")
    write_xmp(image, KEYWORDS)
    write_xmp(image, XmpKeywords.from_tags(["Pets/Cats/tabby"]))
    got = read_with_exiftool(
        xmp, "XMP-dc:Subject", "XMP-lr:HierarchicalSubject", "XMP-digiKam:TagsList"
    )
    # "golden retriever" was the user's before we came: it is theirs and stays.
    assert got["Subject"] == ["holiday", "golden retriever", "tabby"]
    assert got["HierarchicalSubject"] == ["Places|Italy & Rome", "resnet-watch|Pets|Cats|tabby"]
    assert got["TagsList"] == ["resnet-watch/Pets/Cats/tabby"]
    assert read_keywords(image) == XmpKeywords(("tabby",), ("Pets/Cats/tabby",))


def test_writing_twice_is_byte_identical_and_leaves_the_file_alone(image: Path) -> None:
    """Idempotent: no duplicate keywords, and an unchanged sidecar is not rewritten."""
    xmp = sidecar_path(image)
    xmp.write_text(DARKTABLE_XMP, encoding="utf-8")
    write_xmp(image, KEYWORDS)
    first = xmp.read_bytes()
    st = xmp.stat()
    write_xmp(image, KEYWORDS)
    assert xmp.read_bytes() == first
    assert (xmp.stat().st_ino, xmp.stat().st_mtime_ns) == (st.st_ino, st.st_mtime_ns)
    assert first.count(b"<rdf:li>umbrella</rdf:li>") == 2  # dc:subject and rw:Keywords


def test_empty_keywords_remove_our_subtree_only(image: Path) -> None:
    """Removing all our tags returns the foreign content; no sidecar is created for nothing."""
    xmp = sidecar_path(image)
    write_xmp(image, XmpKeywords())
    assert not xmp.exists()
    xmp.write_text(DARKTABLE_XMP, encoding="utf-8")
    write_xmp(image, KEYWORDS)
    write_xmp(image, XmpKeywords())
    text = xmp.read_text(encoding="utf-8")
    assert "resnet-watch|" not in text and "resnet-watch/" not in text
    assert "umbrella" not in text
    assert "<rdf:li>holiday</rdf:li>" in text and 'xmp:Rating="4"' in text


def test_removing_a_photos_keywords_deletes_only_a_sidecar_that_was_all_ours(
    image: Path, tmp_path: Path
) -> None:
    """When a photo goes: an XMP holding only our tags is deleted; one with a user's rating,
    keywords or edit history keeps all of that and loses only our subtree."""
    write_xmp(image, KEYWORDS)
    assert remove_keywords(image) is True and not sidecar_path(image).exists()
    other = tmp_path / "IMG_2.jpg"
    sidecar_path(other).write_text(DARKTABLE_XMP, encoding="utf-8")
    write_xmp(other, KEYWORDS)
    assert remove_keywords(other) is False
    text = sidecar_path(other).read_text(encoding="utf-8")
    assert "resnet-watch|" not in text and "umbrella" not in text
    assert "<rdf:li>holiday</rdf:li>" in text and 'xmp:Rating="4"' in text
    assert remove_keywords(tmp_path / "IMG_3.jpg") is False  # no sidecar: nothing to do


@pytest.mark.parametrize(
    "content",
    [
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaaaaaa">]>\n<x:xmpmeta '
        'xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>\n',
        '<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
        "<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF",  # truncated
        "<html><body>not xmp</body></html>",
    ],
    ids=["entities", "external-dtd", "truncated", "not-xmp"],
)
def test_unsafe_or_corrupt_sidecar_is_left_untouched(image: Path, content: str) -> None:
    """A sidecar we cannot merge safely is refused with SidecarError and not modified."""
    xmp = sidecar_path(image)
    xmp.write_text(content, encoding="utf-8")
    with pytest.raises(SidecarError, match="left untouched"):
        write_xmp(image, KEYWORDS)
    assert xmp.read_text(encoding="utf-8") == content
    assert sorted(p.name for p in image.parent.iterdir()) == ["IMG_1.jpg", "IMG_1.jpg.xmp"]


def test_existing_permissions_are_kept(image: Path) -> None:
    """A sidecar the user made private stays private after our rewrite."""
    xmp = sidecar_path(image)
    xmp.write_text(DARKTABLE_XMP, encoding="utf-8")
    xmp.chmod(0o640)
    write_xmp(image, KEYWORDS)
    assert xmp.stat().st_mode & 0o777 == 0o640


def test_symlinked_sidecar_is_refused(image: Path, tmp_path: Path) -> None:
    """We never write through a symlink to somewhere else."""
    target = tmp_path / "elsewhere.xmp"
    target.write_text(DARKTABLE_XMP, encoding="utf-8")
    sidecar_path(image).symlink_to(target)
    with pytest.raises(SidecarError, match="not a regular file"):
        write_xmp(image, KEYWORDS)
    assert target.read_text(encoding="utf-8") == DARKTABLE_XMP


def test_image_is_never_touched_and_no_temp_files_remain(image: Path) -> None:
    """Only the sidecar changes: image bytes and mtime are as before, no temp litter."""
    before = (image.read_bytes(), image.stat().st_mtime_ns)
    write_xmp(image, KEYWORDS)
    write_xmp(image, XmpKeywords.from_tags(["Pets/Cats/tabby"]))
    assert (image.read_bytes(), image.stat().st_mtime_ns) == before
    assert sorted(p.name for p in image.parent.iterdir()) == ["IMG_1.jpg", "IMG_1.jpg.xmp"]


def test_keywords_with_markup_characters_round_trip(image: Path) -> None:
    """Labels with &, < or quotes are escaped, and control characters dropped."""
    xmp = write_xmp(image, XmpKeywords.from_tags(['Food/Snacks/fish & "chips" <hot>\x07']))
    got = read_with_exiftool(xmp, "XMP-dc:Subject")
    assert got["Subject"] == ['fish & "chips" <hot>']


def test_custom_root(image: Path) -> None:
    """The root is configurable, and must be a single path segment."""
    write_xmp(image, KEYWORDS, root="auto")
    assert read_keywords(image, root="auto").paths == tuple(TAGS)
    with pytest.raises(ValueError):
        write_xmp(image, KEYWORDS, root="a/b")


def test_merges_into_a_sidecar_written_by_exiftool(image: Path, tmp_path: Path) -> None:
    """A real third-party sidecar (exiftool's layout, xpacket wrapper) merges cleanly."""
    tool = exiftool()
    xmp = sidecar_path(image)
    subprocess.run(
        [tool, "-q", "-o", str(xmp), "-XMP-xmp:Rating=3", "-XMP-dc:Subject=mine",
         "-XMP-lr:HierarchicalSubject=People|Anna", "-XMP-dc:Title=Walk"],
        check=True,
        cwd=tmp_path,
    )  # fmt: skip
    write_xmp(image, KEYWORDS)
    got = read_with_exiftool(
        xmp, "XMP-xmp:Rating", "XMP-dc:Title", "XMP-dc:Subject", "XMP-lr:HierarchicalSubject"
    )
    assert got["Rating"] == ["3"]
    assert got["Title"] == ["Walk"]
    assert got["Subject"] == ["mine", "golden retriever", "Labrador retriever", "umbrella"]
    assert got["HierarchicalSubject"][0] == "People|Anna"
    assert xmp.read_text(encoding="utf-8").startswith("<?xpacket begin=")
