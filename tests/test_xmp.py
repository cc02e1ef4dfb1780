"""XMP sidecars: what photo apps read back, merging into foreign sidecars, safety."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from resnet_watch.errors import SidecarError
from resnet_watch.xmp import (
    XmpKeywords,
    read_keywords,
    remove_keywords,
    sidecar_path,
    write_xmp,
)
from tests import photo_apps
from tests.daemon_helpers import (
    DaemonProcess,
    read_sidecar_json,
    run_cli,
    shipped_photo,
    wait_until,
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
    # TagsList is new, so it carries the user's tags too: digiKam and Immich read only it
    users = ["Places/Italy & Rome", "holiday", "golden retriever"]
    assert got["TagsList"] == [*users, *(f"resnet-watch/{t}" for t in TAGS)]
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
    assert got["HierarchicalSubject"] == [
        "Places|Italy & Rome",
        "holiday",
        "golden retriever",
        "resnet-watch|Pets|Cats|tabby",
    ]
    assert got["TagsList"] == [
        "Places/Italy & Rome",
        "holiday",
        "golden retriever",
        "resnet-watch/Pets/Cats/tabby",
    ]
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
    assert "umbrella" not in text and "TagsList" not in text and "rw:" not in text
    assert text.count("<rdf:li>holiday</rdf:li>") == 1 and 'xmp:Rating="4"' in text


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


# --- what each photo app shows, on sidecars the real daemon wrote -------------------------

ROOT = "resnet-watch"
DARKTABLE_STYLE = """\
<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
   xmp:Rating="1"
   darktable:xmp_version="5"
   darktable:history_end="1">
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Holiday</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>Places|Beach</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:num="0" darktable:operation="exposure" darktable:enabled="1"
      darktable:modversion="6" darktable:params="0000803f"/>
    </rdf:Seq>
   </darktable:history>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""
LIGHTROOM_ARGS = ["-XMP-dc:Subject=Holiday", "-XMP-dc:Subject=Beach trip", "-XMP-xmp:Rating=2"]
DIGIKAM_ARGS = [
    "-XMP-digiKam:TagsList=People/Anna",
    "-XMP-digiKam:TagsList=Places/Beach",
    "-XMP-lr:HierarchicalSubject=People|Anna",
    "-XMP-lr:HierarchicalSubject=Places|Beach",
    "-XMP-dc:Subject=Anna",
    "-XMP-dc:Subject=Beach",
    "-XMP-xmp:Rating=4",
    "-XMP-digiKam:ColorLabel=1",
    "-XMP-xmp:Label=Red",
]
# style -> the user's own tags in it, as a/b paths
USER_TAGS = {
    "none": set(),
    "darktable": {"Places/Beach", "Holiday"},
    "lightroom": {"Holiday", "Beach trip"},
    "digikam": {"People/Anna", "Places/Beach"},
    "retagged": {"Holiday", "Beach trip"},
    "root_deleted": {"People/Anna", "Places/Beach"},
    "embedded": {"Trips/Rome", "Embedded", "Iptckw"},  # inside the JPEG, no sidecar
}
EMBEDDED_ARGS = ["-XMP-dc:Subject=Embedded", "-XMP-lr:HierarchicalSubject=Trips|Rome"]
OLD_RUN = XmpKeywords.from_tags(["Food/Drinks/espresso", "Other/umbrella"])


def exiftool_write(xmp: Path, args: list[str]) -> None:
    tool = photo_apps.tool("exiftool", "libimage-exiftool-perl")
    where = ["-o", str(xmp)] if not xmp.exists() else ["-overwrite_original", str(xmp)]
    subprocess.run([tool, "-q", *args, *where], check=True, cwd=xmp.parent)


def delete_our_root_like_digikam(xmp: Path) -> None:
    """digiKam deleting the resnet-watch tag rewrites every field without it."""
    fields = photo_apps.read_fields(xmp)
    ours = set(OLD_RUN.leaves)
    args = []
    for name, sep in (("TagsList", "/"), ("HierarchicalSubject", "|")):
        args += [
            f"-{photo_apps.FIELDS[name]}=" + v for v in fields[name] if v.split(sep)[0] != ROOT
        ]
    args += [f"-XMP-dc:Subject={v}" for v in fields["Subject"] if v not in ours]
    clear = [f"-{photo_apps.FIELDS[n]}=" for n in ("TagsList", "HierarchicalSubject", "Subject")]
    exiftool_write(xmp, [*clear, *args])


def prior_sidecar(style: str, image: Path) -> None:
    """The sidecar a user's photo app left before the daemon sees ``image``."""
    xmp = sidecar_path(image)
    if style == "darktable":
        xmp.write_text(DARKTABLE_STYLE, encoding="utf-8")
    elif style in ("lightroom", "retagged"):
        exiftool_write(xmp, LIGHTROOM_ARGS)
    elif style in ("digikam", "root_deleted"):
        exiftool_write(xmp, DIGIKAM_ARGS)
    if style in ("retagged", "root_deleted"):
        write_xmp(image, OLD_RUN)  # our earlier run, with other labels (a model change)
    if style == "root_deleted":
        delete_our_root_like_digikam(xmp)
    if style == "embedded":
        tool = photo_apps.tool("exiftool", "libimage-exiftool-perl")
        args = [*EMBEDDED_ARGS, "-IPTC:Keywords=Iptckw", "-overwrite_original", str(image)]
        subprocess.run([tool, "-q", *args], check=True)


def users_view(view: set[str]) -> set[str]:
    return {t for t in view if t != ROOT and not t.startswith(ROOT + "/")}


def test_every_app_shows_the_users_tags_and_ours_after_the_daemon(tmp_path: Path) -> None:
    """For each prior-sidecar style (and tags embedded in the JPEG), digiKam, Immich and
    darktable show all of the user's tags plus ours; exiftool -validate and exiv2 read the
    sidecar cleanly; reindex changes no byte."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cat = shipped_photo("skimage", "data", "chelsea.png")
    before: dict[str, dict[str, list[str]]] = {}
    images = {style: inbox / f"{style}.jpg" for style in USER_TAGS}
    for style, image in images.items():
        Image.open(cat).save(image, quality=90)
        prior_sidecar(style, image)
        before[style] = photo_apps.merged_fields(image, sidecar_path(image))
    with DaemonProcess(tmp_path) as daemon:
        wait_until(lambda: all(map(read_sidecar_json, images.values())), 180, "all sidecars")
        daemon.stop()
    written = {}
    for style, users in USER_TAGS.items():
        image = images[style]
        record = read_sidecar_json(image)
        assert record is not None and record["tags"], style
        ours = {f"{ROOT}/{t}" for t in record["tags"]}
        xmp = sidecar_path(image)
        after = photo_apps.merged_fields(image, xmp)
        for app, view in photo_apps.APPS.items():
            shown_before = users_view(view(before[style]))
            assert shown_before <= users, (style, app, "fixture", shown_before)
            assert view(after) == users | ours, (style, app)
        assert photo_apps.exiftool_validate(xmp) == "OK", style
        counts, fields = photo_apps.exiv2_counts(xmp), photo_apps.read_fields(xmp)
        for name in photo_apps.EXIV2_KEYS:
            assert counts.get(name, 0) == len(fields[name]), (style, name)
        assert len(fields["TagsList"]) == len(set(fields["TagsList"])), style
        written[xmp] = xmp.read_bytes()
    reindex = run_cli("reindex", "--config", str(daemon.config))
    assert reindex.returncode == 0, reindex.stderr
    assert "reindexed: 0 sidecar(s) changed" in reindex.stdout
    assert {xmp: xmp.read_bytes() for xmp in written} == written


def test_tag_deleted_in_another_app_does_not_come_back_from_our_copy(image: Path) -> None:
    """A tag the user deletes in darktable is gone after our next merge, not resurrected."""
    xmp = sidecar_path(image)
    exiftool_write(xmp, LIGHTROOM_ARGS)
    write_xmp(image, KEYWORDS)
    assert "Holiday" in photo_apps.read_fields(xmp)["TagsList"]  # our copy, for digiKam
    exiftool_write(xmp, ["-XMP-dc:Subject-=Holiday", "-XMP-lr:HierarchicalSubject-=Holiday"])
    write_xmp(image, KEYWORDS)
    fields = photo_apps.read_fields(xmp)
    assert not any("Holiday" in values for values in fields.values())
    for view in photo_apps.APPS.values():
        assert users_view(view(fields)) == {"Beach trip"}


def test_removing_our_keywords_gives_back_the_users_fields(image: Path) -> None:
    """Writing no keywords after a merge leaves the user's tag fields exactly as they were."""
    xmp = sidecar_path(image)
    exiftool_write(xmp, LIGHTROOM_ARGS)
    original = photo_apps.read_fields(xmp)
    write_xmp(image, KEYWORDS)
    write_xmp(image, XmpKeywords())
    assert photo_apps.read_fields(xmp) == original
    assert "resnet-watch.invalid" not in xmp.read_text(encoding="utf-8")


def test_released_photoprism_sees_no_keyword_in_the_default_bag(image: Path) -> None:
    """PhotoPrism's released reader takes only an rdf:Seq under dc:subject: a Bag is ignored."""
    xmp = write_xmp(image, KEYWORDS)
    assert photo_apps.photoprism_keywords(xmp) == []


@pytest.mark.parametrize("style", ["none", "darktable", "lightroom", "digikam"])
def test_photoprism_seq_option_is_read_by_photoprism_and_changes_no_other_app(
    tmp_path: Path, style: str
) -> None:
    """xmp_photoprism_seq: PhotoPrism imports every dc:subject keyword, the file stays valid
    for exiftool and exiv2, and digiKam, Immich and darktable show exactly what the Bag gives."""
    views = {}
    for seq in (False, True):
        folder = tmp_path / str(seq)
        folder.mkdir()
        image = folder / f"{style}.jpg"
        image.write_bytes(b"\xff\xd8\xff never read")
        prior_sidecar(style, image)
        xmp = write_xmp(image, KEYWORDS, subject_seq=seq)
        write_xmp(image, KEYWORDS, subject_seq=seq)  # twice: nothing grows
        fields = photo_apps.read_fields(xmp)
        views[seq] = {app: view(fields) for app, view in photo_apps.APPS.items()}
        assert photo_apps.exiftool_validate(xmp) == "OK"
        assert photo_apps.exiv2_counts(xmp)["Subject"] == len(fields["Subject"])
        assert len(fields["Subject"]) == len(set(fields["Subject"]))
        if seq:
            assert photo_apps.photoprism_keywords(xmp) == fields["Subject"]
            assert set(KEYWORDS.leaves) <= set(fields["Subject"])
    assert views[True] == views[False]
