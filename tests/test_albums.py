"""Album rules and tag paths."""

from __future__ import annotations

import pytest
import yaml

from resnet_watch.album_defaults import DEFAULT_ALBUMS_YAML
from resnet_watch.albums import DEFAULT_ALBUMS, AlbumRule, assign, parse_album_rules
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
