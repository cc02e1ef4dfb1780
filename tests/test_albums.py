"""Album rules, tag paths and album folders of links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from resnet_watch.albums import (
    DEFAULT_ALBUMS,
    DEFAULT_ALBUMS_YAML,
    MARKER,
    AlbumRule,
    assign,
    link_name,
    parse_album_rules,
    prune_album_links,
    sync_album_links,
)
from resnet_watch.taxonomy import Taxonomy, load_taxonomy


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return load_taxonomy()


def label(tax: Taxonomy, name: str, score: float) -> tuple[int, str, float]:
    synset = tax.resolve(name)
    index = next(i for i in range(len(tax)) if tax.chain(i)[0] == synset)
    return (index, name, score)


def rules(mapping: dict[str, object]) -> tuple[AlbumRule, ...]:
    return parse_album_rules(mapping)


# --- defaults -----------------------------------------------------------------------------


def test_default_albums_are_the_documented_yaml() -> None:
    """The constant and the paste-ready YAML are one album set of 15-30 albums."""
    assert 15 <= len(DEFAULT_ALBUMS) <= 30
    assert parse_album_rules(yaml.safe_load(DEFAULT_ALBUMS_YAML)["albums"]) == DEFAULT_ALBUMS


def test_default_album_names_are_canonical_synsets(tax: Taxonomy) -> None:
    """Every default name resolves to itself, so DEFAULT_ALBUMS needs no lookup at import."""
    for rule in DEFAULT_ALBUMS:
        for name in rule.any_of + rule.none_of:
            assert tax.resolve(name) == name, (rule.name, name)


@pytest.mark.parametrize(
    ("cls", "album"),
    [
        ("golden retriever", "Dogs"),
        ("tabby", "Cats"),
        ("lion", "Mammals"),
        ("goldfinch", "Birds"),
        ("alp", "Mountains"),
        ("valley", "Mountains"),
        ("seashore", "Beach & water"),
        ("pizza", "Food"),
        ("banana", "Food"),
        ("espresso", "Drinks"),
        ("sports car", "Cars & trucks"),
        ("mountain bike", "Bikes & motorbikes"),
        ("steam locomotive", "Trains & trams"),
        ("canoe", "Boats & ships"),
        ("airliner", "Aircraft"),
        ("web site", "Documents"),
        ("laptop", "Screens & gadgets"),
        ("church", "Buildings & landmarks"),
        ("grocery store", "City & shops"),
        ("suit", "People & fashion"),
        ("daisy", "Plants & mushrooms"),
        ("acoustic guitar", "Music"),
    ],
)
def test_default_albums_catch_what_people_photograph(tax: Taxonomy, cls: str, album: str) -> None:
    """A confident label lands in the album a person would file it under."""
    result = assign([label(tax, cls, 0.9)], DEFAULT_ALBUMS, tax)
    assert album in result.albums


def test_default_pets_are_not_also_wildlife(tax: Taxonomy) -> None:
    """none_of keeps dogs and cats out of Mammals; a lion is not a pet."""
    assert assign([label(tax, "beagle", 0.9)], DEFAULT_ALBUMS, tax).albums == ("Dogs",)
    assert "Cats" not in assign([label(tax, "lion", 0.9)], DEFAULT_ALBUMS, tax).albums


# --- assignment ---------------------------------------------------------------------------


def test_tags_are_group_album_label_paths(tax: Taxonomy) -> None:
    """lr:hierarchicalSubject needs resnet-watch|Animals|Dogs|golden retriever."""
    r = rules({"Dogs": {"group": "Animals", "any_of": ["dog.n.01"], "min_score": 0.3}})
    result = assign([label(tax, "golden retriever", 0.8)], r, tax)
    assert result.albums == ("Dogs",)
    assert result.tags == ("Animals/Dogs/golden retriever",)


def test_min_score_is_respected(tax: Taxonomy) -> None:
    """Below the album's min_score the album is not assigned and no tag is written."""
    r = rules({"Dogs": {"any_of": ["dog.n.01"], "min_score": 0.3}})
    result = assign([label(tax, "beagle", 0.25)], r, tax, other_min_score=None)
    assert result.albums == ()
    assert result.tags == ()


def test_album_score_sums_labels_under_the_album(tax: Taxonomy) -> None:
    """Five breeds at 0.15 each are a dog at 0.75, though no single breed passes 0.3."""
    breeds = ["beagle", "basset", "bloodhound", "Walker hound", "English foxhound"]
    labels = [label(tax, b, 0.15) for b in breeds]
    r = rules({"Dogs": {"group": "Pets", "any_of": ["dog.n.01"], "min_score": 0.3}})
    result = assign(labels, r, tax)
    assert result.albums == ("Dogs",)
    assert result.tags == tuple(f"Pets/Dogs/{b}" for b in breeds)


def test_weak_labels_in_an_album_are_not_tagged(tax: Taxonomy) -> None:
    """Below label_min_score only the album's best label is tagged, not every 2% guess."""
    labels = [label(tax, "beagle", 0.6), label(tax, "basset", 0.02)]
    r = rules({"Dogs": {"any_of": ["dog.n.01"], "min_score": 0.3}})
    assert assign(labels, r, tax).tags == ("Dogs/beagle",)


def test_ancestor_matching_and_none_of(tax: Taxonomy) -> None:
    """any_of matches any ancestor; none_of removes a subtree."""
    r = rules(
        {
            "Animals": {"any_of": ["animal.n.01"], "none_of": ["dog.n.01"], "min_score": 0.1},
            "Carnivores": {"any_of": ["carnivore.n.01"], "min_score": 0.1},
        }
    )
    assert assign([label(tax, "golden retriever", 0.9)], r, tax).albums == ("Carnivores",)
    assert assign([label(tax, "lion", 0.9)], r, tax).albums == ("Animals", "Carnivores")
    assert assign([label(tax, "goldfinch", 0.9)], r, tax).albums == ("Animals",)


def test_rule_by_class_name(tax: Taxonomy) -> None:
    """A rule may list ImageNet class names; they are resolved to synsets at parse time."""
    r = rules({"Goldies": {"any_of": ["golden retriever"], "min_score": 0.5}})
    assert r[0].any_of == ("golden_retriever.n.01",)
    assert assign([label(tax, "golden retriever", 0.7)], r, tax).albums == ("Goldies",)
    assert assign([label(tax, "beagle", 0.7)], r, tax, other_min_score=None).albums == ()


def test_confident_labels_outside_every_album_go_to_other(tax: Taxonomy) -> None:
    """A sure 'umbrella' is kept as Other/umbrella; a weak one, or a weak dog, is not."""
    r = rules({"Dogs": {"any_of": ["dog.n.01"], "min_score": 0.5}})
    result = assign([label(tax, "umbrella", 0.7), label(tax, "beagle", 0.2)], r, tax)
    assert result.albums == ()
    assert result.tags == ("Other/umbrella",)
    assert assign([label(tax, "umbrella", 0.3)], r, tax).tags == ()
    assert assign([label(tax, "umbrella", 0.9)], r, tax, other_min_score=None).tags == ()


def test_label_names_cannot_break_the_tag_hierarchy(tax: Taxonomy) -> None:
    """A '/' or '|' in a label would split a keyword path; they become '-'."""
    r = rules({"Dogs": {"any_of": ["dog.n.01"], "min_score": 0.1}})
    index = label(tax, "beagle", 0.9)[0]
    assert assign([(index, "beagle/hound|x", 0.9)], r, tax).tags == ("Dogs/beagle-hound-x",)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"Dogs": {"any_of": ["dgo.n.01"], "min_score": 0.3}}, r"album 'Dogs'.*'dgo\.n\.01'"),
        ({"Dogs": {"any_of": ["dog.n.01"], "none_of": ["zzz"]}}, r"album 'Dogs'.*'zzz'"),
        ({"Dogs": {"any_of": [], "min_score": 0.3}}, "any_of must not be empty"),
        ({"Dogs": {"min_score": 0.3}}, "any_of is required"),
        ({"Dogs": {"any_of": ["dog.n.01"], "min_score": 1.5}}, "within 0..1"),
        ({"Dogs": {"any_of": ["dog.n.01"], "min_score": "high"}}, "must be a number"),
        ({"Dogs": {"any_of": ["dog.n.01"], "min_scor": 0.3}}, "unknown key.*min_scor"),
        ({"Dogs/Cats": {"any_of": ["dog.n.01"]}}, "must not contain"),
        ({"..": {"any_of": ["dog.n.01"]}}, "leading dot"),
        ({"Dogs": {"any_of": ["dog.n.01"], "group": "A|B"}}, "must not contain"),
        ({"Dogs": ["dog.n.01"]}, "expected a mapping"),
    ],
)
def test_parse_rejects_bad_rules_naming_the_album(mapping: dict[str, object], message: str) -> None:
    """Config validation gets a ValueError that names the album and the bad value."""
    with pytest.raises(ValueError, match=message):
        parse_album_rules(mapping)


# --- album folders ------------------------------------------------------------------------


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    image = inbox / "IMG_1.jpg"
    image.write_bytes(b"\xff\xd8 not really a jpeg")
    return image


def test_symlinks_follow_the_album_set(tmp_path: Path, photo: Path) -> None:
    """Links appear in the albums given and disappear from albums no longer given."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs", "Pets"})
    for album in ("Dogs", "Pets"):
        link = albums / album / link_name(photo)
        assert link.is_symlink()
        assert os.readlink(link) == str(photo.absolute())
        assert link.read_bytes() == photo.read_bytes()
    sync_album_links(albums, photo, {"Pets"})
    assert not (albums / "Dogs" / link_name(photo)).exists()
    assert (albums / "Pets" / link_name(photo)).is_symlink()
    assert (albums / MARKER).exists()


def test_sync_is_idempotent(tmp_path: Path, photo: Path) -> None:
    """Syncing the same albums again leaves the existing link untouched."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs"})
    link = albums / "Dogs" / link_name(photo)
    before = link.lstat()
    sync_album_links(albums, photo, {"Dogs"})
    after = link.lstat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert sorted(p.name for p in (albums / "Dogs").iterdir()) == [link_name(photo)]


def test_same_named_images_in_different_folders_do_not_collide(tmp_path: Path) -> None:
    """Two IMG_1.jpg from different folders get two links, each to its own original."""
    a, b = tmp_path / "a" / "IMG_1.jpg", tmp_path / "b" / "IMG_1.jpg"
    for image in (a, b):
        image.parent.mkdir()
        image.write_bytes(image.parent.name.encode())
    albums = tmp_path / "albums"
    sync_album_links(albums, a, {"Dogs"})
    sync_album_links(albums, b, {"Dogs"})
    links = sorted((albums / "Dogs").iterdir())
    assert len(links) == 2
    assert sorted(link.read_bytes() for link in links) == [b"a", b"b"]
    assert all(link.name.startswith("IMG_1~") and link.suffix == ".jpg" for link in links)


def test_prune_removes_links_to_vanished_images(tmp_path: Path, photo: Path) -> None:
    """When the original goes away its dangling symlinks are pruned, emptied albums too."""
    albums = tmp_path / "albums"
    other = photo.with_name("IMG_2.jpg")
    other.write_bytes(b"2")
    sync_album_links(albums, photo, {"Dogs", "Pets"})
    sync_album_links(albums, other, {"Dogs"})
    photo.unlink()
    assert prune_album_links(albums) == 2
    assert [p.name for p in (albums / "Dogs").iterdir()] == [link_name(other)]
    assert not (albums / "Pets").exists()  # nobody left in it: no empty folder lingers


def test_sync_of_a_vanished_image_removes_its_links(tmp_path: Path, photo: Path) -> None:
    """A deleted image is taken out of every album even before a prune."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs"})
    photo.unlink()
    sync_album_links(albums, photo, {"Dogs"})
    assert list((albums / "Dogs").iterdir()) == []


def test_hardlink_mode_links_the_same_inode(tmp_path: Path, photo: Path) -> None:
    """Hardlinks share the original's inode (no pixel copy) and are pruned with it."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs", "Pets"}, mode="hardlink")
    link = albums / "Dogs" / link_name(photo)
    assert not link.is_symlink()
    assert os.path.samefile(link, photo)
    assert photo.stat().st_nlink == 3
    assert prune_album_links(albums) == 0  # the original still exists
    photo.unlink()
    assert prune_album_links(albums) == 2
    assert not (albums / "Dogs").exists()


def test_hardlink_is_refreshed_when_the_original_is_replaced(tmp_path: Path, photo: Path) -> None:
    """An editor that saves by rename gives a new inode; the album follows it."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs"}, mode="hardlink")
    new = photo.with_name("new.tmp")
    new.write_bytes(b"edited")
    new.replace(photo)
    sync_album_links(albums, photo, {"Dogs"}, mode="hardlink")
    assert (albums / "Dogs" / link_name(photo)).read_bytes() == b"edited"


def test_switching_modes_replaces_links(tmp_path: Path, photo: Path) -> None:
    """Changing link mode in config converts existing links on the next sync."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs"}, mode="symlink")
    sync_album_links(albums, photo, {"Dogs"}, mode="hardlink")
    link = albums / "Dogs" / link_name(photo)
    assert not link.is_symlink() and os.path.samefile(link, photo)


def test_prune_retires_albums_no_longer_configured(tmp_path: Path, photo: Path) -> None:
    """Links in folders of removed albums go, and every emptied folder with them."""
    albums = tmp_path / "albums"
    sync_album_links(albums, photo, {"Dogs", "Old"})
    (albums / "Old" / "notes.txt").write_text("user file")
    sync_album_links(albums, photo, {"Gone"})
    assert prune_album_links(albums, albums={"Dogs"}) == 1
    assert not (albums / "Gone").exists()
    assert (albums / "Old" / "notes.txt").read_text() == "user file"
    assert not (albums / "Dogs").exists()  # its only image moved to "Gone"


def test_refuses_to_manage_a_foreign_folder(tmp_path: Path, photo: Path) -> None:
    """albums_dir pointed at a folder of real photos is refused, and prune does nothing."""
    pictures = tmp_path / "Pictures"
    (pictures / "Dogs").mkdir(parents=True)
    dangling = pictures / "Dogs" / link_name(photo)
    dangling.symlink_to(tmp_path / "missing.jpg")
    with pytest.raises(ValueError, match="not empty"):
        sync_album_links(pictures, photo, {"Dogs"})
    assert prune_album_links(pictures) == 0
    assert dangling.is_symlink()


def test_bad_album_name_is_refused(tmp_path: Path, photo: Path) -> None:
    """An album name cannot escape albums_dir."""
    with pytest.raises(ValueError):
        sync_album_links(tmp_path / "albums", photo, {"../etc"})
