"""Smart albums: roll ImageNet labels up the WordNet hierarchy into albums and tag paths.

An album's score for an image is the summed probability of the image's top-k labels that fall
under the album's synsets: softmax classes are disjoint, so a photo whose top five are five dog
breeds at 0.2 each is a dog at >= 1.0, even though no single breed passes 0.3. An album is
assigned when that sum reaches ``min_score``.

Tags are hierarchical paths ``Group/Album/label`` (``Animals/Dogs/golden retriever``) for each
label that contributes to an assigned album with at least ``label_min_score``, plus the album's
best label, so the keyword names what the model saw without listing every 2% guess. Labels that
fall under no album's synsets appear as ``Other/<label>`` only when the model is confident
(``other_min_score``, default 0.5): a sure "umbrella" is worth searching for, a 6% guess
outside every album is noise. A label that matches an album but misses its ``min_score`` is
dropped, never demoted to Other: the rule already said how sure it wants to be.

``assign`` is pure. The default album set's YAML lives in ``album_defaults``; album folders
of links are ``album_links``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from resnet_watch.album_defaults import DEFAULT_ALBUMS_YAML
from resnet_watch.taxonomy import Taxonomy, load_taxonomy

__all__ = [
    "DEFAULT_ALBUMS",
    "AlbumResult",
    "AlbumRule",
    "assign",
    "check_album_name",
    "parse_album_rules",
]

OTHER_GROUP = "Other"
_RULE_KEYS = frozenset({"any_of", "none_of", "min_score", "group"})


@dataclass(frozen=True)
class AlbumRule:
    """An album: labels under any ``any_of`` synset and no ``none_of`` synset count towards it."""

    name: str
    any_of: tuple[str, ...]
    min_score: float
    group: str = ""  # the parent in tag paths: "Animals" -> "Animals/Dogs/golden retriever"
    none_of: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return f"{self.group}/{self.name}" if self.group else self.name

    def matches(self, ancestors: Collection[str]) -> bool:
        return any(s in ancestors for s in self.any_of) and not any(
            s in ancestors for s in self.none_of
        )


@dataclass(frozen=True)
class AlbumResult:
    albums: tuple[str, ...]  # album names, in rule order
    tags: tuple[str, ...]  # "Group/Album/label" and "Other/label" paths, no duplicates


def check_album_name(value: object, what: str) -> str:
    """Album and group names become folder names and keyword path segments."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if value != value.strip() or value in (".", "..") or value.startswith("."):
        raise ValueError(f"{what} {value!r}: no leading/trailing spaces or leading dot")
    if any(c in value for c in "/|\\") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{what} {value!r}: must not contain '/', '|', '\\\\' or control chars")
    if value == OTHER_GROUP:
        raise ValueError(f"{what} {value!r} is reserved for labels outside every album")
    return value


def _names(album: str, key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"album {album!r}: {key} must be a list of synset or class names")
    return tuple(value)


def _parse(mapping: Mapping[str, Any], resolve: Callable[[str], str]) -> tuple[AlbumRule, ...]:
    if not isinstance(mapping, Mapping):
        raise ValueError(f"albums must be a mapping of album name to rule, got {mapping!r}")
    rules = []
    for name, spec in mapping.items():
        check_album_name(name, "album name")
        if not isinstance(spec, Mapping):
            raise ValueError(f"album {name!r}: expected a mapping with any_of and min_score")
        unknown = set(spec) - _RULE_KEYS
        if unknown:
            raise ValueError(f"album {name!r}: unknown key(s) {', '.join(sorted(unknown))}")
        if "any_of" not in spec:
            raise ValueError(f"album {name!r}: any_of is required")
        any_of = _names(name, "any_of", spec["any_of"])
        if not any_of:
            raise ValueError(f"album {name!r}: any_of must not be empty")
        none_of = _names(name, "none_of", spec.get("none_of", []))
        score = spec.get("min_score", 0.3)
        if isinstance(score, bool) or not isinstance(score, int | float) or math.isnan(score):
            raise ValueError(f"album {name!r}: min_score must be a number, got {score!r}")
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"album {name!r}: min_score must be within 0..1, got {score}")
        group = spec.get("group", "")
        if group != "":
            check_album_name(group, f"album {name!r}: group")

        def resolved(names: tuple[str, ...], album: str = name) -> tuple[str, ...]:
            out = []
            for n in names:
                try:
                    out.append(resolve(n))
                except ValueError as exc:
                    raise ValueError(f"album {album!r}: {exc}") from None
            return tuple(dict.fromkeys(out))

        rules.append(AlbumRule(name, resolved(any_of), float(score), group, resolved(none_of)))
    return tuple(rules)


def parse_album_rules(
    mapping: Mapping[str, Any], taxonomy: Taxonomy | None = None
) -> tuple[AlbumRule, ...]:
    """Validate config's ``albums:`` mapping. ValueError names the album and the bad value."""
    tax = taxonomy or load_taxonomy()
    return _parse(mapping, tax.resolve)


# Default names are canonical synset names already, so they need no taxonomy at import time;
# tests/test_albums.py checks each one resolves to itself.
DEFAULT_ALBUMS: tuple[AlbumRule, ...] = _parse(
    yaml.safe_load(DEFAULT_ALBUMS_YAML)["albums"], lambda n: n
)


def _leaf(name: str) -> str:
    """A label as a keyword path segment."""
    clean = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in name)
    return " ".join(clean.replace("/", "-").replace("|", "-").split()) or "?"


def assign(
    labels: Sequence[tuple[int, str, float]],
    rules: Sequence[AlbumRule],
    taxonomy: Taxonomy,
    *,
    label_min_score: float = 0.1,
    other_min_score: float | None = 0.5,
) -> AlbumResult:
    """Albums and tag paths for one image's top-k ``(index, name, score)`` labels."""
    ancestors = [taxonomy.ancestors(index) for index, _, _ in labels]
    albums: list[str] = []
    tags: list[str] = []
    matched_any = [False] * len(labels)
    for rule in rules:
        hits = [i for i, anc in enumerate(ancestors) if rule.matches(anc)]
        for i in hits:
            matched_any[i] = True
        if not hits or sum(labels[i][2] for i in hits) < rule.min_score:
            continue
        albums.append(rule.name)
        hits.sort(key=lambda i: -labels[i][2])
        for rank, i in enumerate(hits):
            if rank == 0 or labels[i][2] >= label_min_score:
                tags.append(f"{rule.path}/{_leaf(labels[i][1])}")
    if other_min_score is not None:
        for i, (_, name, score) in enumerate(labels):
            if not matched_any[i] and score >= other_min_score:
                tags.append(f"{OTHER_GROUP}/{_leaf(name)}")
    return AlbumResult(tuple(albums), tuple(dict.fromkeys(tags)))
