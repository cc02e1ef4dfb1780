"""Which XMP keyword entries are whose, and the merge that never hides a user's tag.

Photo apps read ONE tag field, the first non-empty one in their own order (digiKam:
TagsList > MicrosoftPhoto > lr:hierarchicalSubject > mediapro > dc:subject; Immich:
TagsList > HierarchicalSubject > Keywords; darktable: hierarchicalSubject, else dc:subject).
So writing our tags into a field the user left empty would hide the tags the app used to read
from the next field. Whenever we write TagsList and hierarchicalSubject, each therefore also
carries a copy of every tag the user has in the other fields (``|`` <-> ``/``, plus flat
dc:subject keywords no hierarchical tag already names). Every app then shows all the user's
tags, plus ours.

What is ours is recorded, never guessed: our paths live under one root (``resnet-watch/...``),
our dc:subject entries are listed in ``rw:Keywords`` and the copies we made in
``rw:TagsListCopies`` / ``rw:HierarchicalCopies`` (a private namespace). Each merge first
takes all of that out, then derives it again from what the user's fields hold now. So
re-running changes nothing, re-tagging replaces only our subtree, a tag the user deletes in
one app is not resurrected from our copy, and removing our keywords restores the user's
fields as they were.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from resnet_watch.xmp_tree import Doc, Misc, Node, Refused

__all__ = [
    "DESC",
    "NS",
    "OURS",
    "TAGS",
    "ImageTags",
    "XmpKeywords",
    "clean_text",
    "items",
    "merge",
    "rdf_root",
]

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "MicrosoftPhoto": "http://ns.microsoft.com/photo/1.0/",
    "mediapro": "http://ns.iview-multimedia.com/mediapro/1.0/",
    # Private: what we wrote. ".invalid" can never be a real domain.
    "rw": "https://resnet-watch.invalid/ns/1.0/",
}


def _q(prefix: str, local: str) -> str:
    return f"{{{NS[prefix]}}}{local}"


RDF = _q("rdf", "RDF")
DESC = _q("rdf", "Description")
LI = _q("rdf", "li")
SUBJECT = _q("dc", "subject")
HIER = _q("lr", "hierarchicalSubject")
TAGS = _q("digiKam", "TagsList")
OURS = _q("rw", "Keywords")
TAG_COPIES = _q("rw", "TagsListCopies")
HIER_COPIES = _q("rw", "HierarchicalCopies")
# read, never written: more places digiKam looks for the user's tag paths
MS_KEYWORDS = _q("MicrosoftPhoto", "LastKeywordXMP")  # "a/b"
MEDIAPRO_SETS = _q("mediapro", "CatalogSets")  # "a|b"
# property -> container it gets when we create it
CONTAINER = {
    SUBJECT: "Bag",
    HIER: "Bag",
    TAGS: "Seq",
    OURS: "Bag",
    TAG_COPIES: "Bag",
    HIER_COPIES: "Bag",
}


def clean_text(text: str) -> str:
    """XML 1.0 has no control characters; keywords have no line breaks either."""
    return " ".join("".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text).split())


@dataclass(frozen=True)
class XmpKeywords:
    """Our keywords: flat ``leaves`` for dc:subject, ``paths`` like ``Pets/Dogs/beagle``."""

    leaves: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()

    @classmethod
    def from_tags(cls, tags: Iterable[str]) -> XmpKeywords:
        """From ``AlbumResult.tags``: every path, and each path's last segment as a leaf."""
        paths = tuple(dict.fromkeys(p for p in (clean_text(t).strip("/") for t in tags) if p))
        leaves = tuple(dict.fromkeys(p.rsplit("/", 1)[-1] for p in paths))
        return cls(leaves, paths)

    def __bool__(self) -> bool:
        return bool(self.leaves or self.paths)


@dataclass(frozen=True)
class ImageTags:
    """The user's tags embedded in the image file itself: ``a/b`` paths and flat keywords.

    Immich and digiKam prefer the sidecar's TagsList over these once it exists, so they are
    copied into it like the sidecar's own fields.
    """

    paths: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    @classmethod
    def from_xmp(cls, doc: Doc | None, root: str, iptc: Sequence[str] = ()) -> ImageTags:
        """From the image's XMP packet (None if it has none) and its IPTC keywords."""
        descriptions = list(rdf_root(doc).elements(DESC)) if doc is not None else []

        def field(tag: str) -> list[str]:
            return _field(descriptions, tag)

        paths = [
            *field(TAGS),
            *field(MS_KEYWORDS),
            *map(_pipes_to_slashes, (*field(HIER), *field(MEDIAPRO_SETS))),
        ]
        ours = f"{root}/"
        return cls(
            tuple(_dedupe(p for p in paths if p != root and not p.startswith(ours))),
            tuple(_dedupe([*field(SUBJECT), *iptc])),
        )


def rdf_root(doc: Doc) -> Node:
    """The rdf:RDF element, at the root or under x:xmpmeta; Refused otherwise."""
    root = doc.root
    if root.tag == RDF:
        return root
    if root.tag == _q("x", "xmpmeta"):
        found = next(root.elements(RDF), None)
        if found is not None:
            return found
    raise Refused("not an XMP packet (no x:xmpmeta/rdf:RDF)")


def items(prop: Node) -> list[str]:
    """A property's entries, whether it holds a container or (invalidly) plain text."""
    container = next(prop.elements(), None)
    if container is None:
        text = prop.text().strip()
        return [text] if text else []
    return [li.text() for li in container.elements(LI)]


def _field(descriptions: Iterable[Node], tag: str) -> list[str]:
    """Every entry of property ``tag``, written as an element or (invalidly) an attribute."""
    found: list[str] = []
    for desc in descriptions:
        found += [v for v in (clean_text(desc.attrs.get(tag, "")),) if v]
        found += [item for prop in desc.elements(tag) for item in items(prop)]
    return found


def _li(text: str) -> Node:
    return Node(LI, children=[text])


def _indent(node: Node, depth: int) -> None:
    """Lay out ``node``'s element children one per line at ``depth`` spaces."""
    kids = [c for c in node.children if not (isinstance(c, str) and not c.strip())]
    laid: list[Node | Misc | str] = []
    for kid in kids:
        laid += ["\n" + " " * (depth + 1), kid]
    node.children = [*laid, "\n" + " " * depth] if laid else []


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def _pipes_to_slashes(tag: str) -> str:
    """lr:hierarchicalSubject -> TagsList form, as digiKam converts it."""
    return tag.replace("|", "/")


def _slashes_to_pipes(tag: str) -> str:
    """TagsList -> lr:hierarchicalSubject form, as digiKam writes it."""
    return tag.replace("/", "|")


@dataclass(frozen=True)
class _UserTags:
    """The user's entries per field (ours and our copies taken out)."""

    tags_list: list[str]  # digiKam:TagsList, "a/b"
    hierarchical: list[str]  # lr:hierarchicalSubject, "a|b"
    subject: list[str]  # dc:subject, flat
    other_paths: list[str]  # MicrosoftPhoto, mediapro and the image's own, as "a/b"
    other_flat: list[str]  # flat keywords embedded in the image (dc:subject, IPTC)

    def copies(self) -> tuple[list[str], list[str]]:
        """What TagsList and hierarchicalSubject must gain so each holds all the user's tags."""
        paths = _dedupe(
            [
                *self.tags_list,
                *(_pipes_to_slashes(h) for h in self.hierarchical),
                *self.other_paths,
            ]
        )
        named = set(paths) | {p.rsplit("/", 1)[-1] for p in paths}
        flat = [s for s in _dedupe([*self.subject, *self.other_flat]) if s not in named]
        for_tags = [p for p in _dedupe([*paths, *flat]) if p not in self.tags_list]
        as_pipes = [_slashes_to_pipes(p) for p in (*self.tags_list, *self.other_paths)]
        for_hier = [h for h in _dedupe([*as_pipes, *flat]) if h not in self.hierarchical]
        return for_tags, for_hier


def merge(
    doc: Doc,
    keywords: XmpKeywords,
    root: str,
    *,
    subject_seq: bool = False,
    image: ImageTags | None = None,
) -> None:
    """Put ``keywords`` under ``root`` into ``doc``, in place; see the module docstring.

    ``image`` are the tags embedded in the image itself, copied like the sidecar's own.
    ``subject_seq`` stores dc:subject as an rdf:Seq (what PhotoPrism's released reader
    looks for) instead of the spec's rdf:Bag; the entries stay the same.
    """
    rdf = rdf_root(doc)
    descriptions = list(rdf.elements(DESC))
    props: dict[str, list[tuple[Node, Node]]] = {p: [] for p in CONTAINER}
    for desc in descriptions:
        for tag in CONTAINER:
            if tag in desc.attrs:  # a simple-valued array (not valid XMP): make it a real one
                value = desc.attrs.pop(tag)
                desc.children.append(
                    Node(tag, children=[Node(_q("rdf", CONTAINER[tag]), children=[_li(value)])])
                )
            props[tag] += [(desc, prop) for prop in desc.elements(tag)]

    def values(tag: str) -> list[str]:
        if tag in props:
            return [item for _, prop in props[tag] for item in items(prop)]
        return _field(descriptions, tag)

    previous = {
        OURS: set(values(OURS)),
        TAG_COPIES: set(values(TAG_COPIES)),
        HIER_COPIES: set(values(HIER_COPIES)),
    }

    def ours(tag: str, item: str) -> bool:
        if tag == SUBJECT:
            return item in previous[OURS]
        if tag == HIER:
            return item == root or item.startswith(root + "|") or item in previous[HIER_COPIES]
        if tag == TAGS:
            return item == root or item.startswith(root + "/") or item in previous[TAG_COPIES]
        return True  # the rw: bookkeeping is ours entirely

    def is_root(tag: str) -> bool:
        return tag == root or tag.startswith(root + "/")

    user = _UserTags(
        tags_list=[t for t in values(TAGS) if not ours(TAGS, t)],
        hierarchical=[h for h in values(HIER) if not ours(HIER, h)],
        subject=[s for s in values(SUBJECT) if not ours(SUBJECT, s)],
        other_paths=[
            p
            for p in (*values(MS_KEYWORDS), *map(_pipes_to_slashes, values(MEDIAPRO_SETS)))
            if not is_root(p)
        ]
        + list(image.paths if image else ()),
        other_flat=list(image.keywords if image else ()),
    )
    leaves = [leaf for leaf in keywords.leaves if leaf not in user.subject]
    tag_copies, hier_copies = user.copies() if keywords else ([], [])
    wanted = {
        SUBJECT: leaves,
        HIER: [*hier_copies, *(f"{root}|{_slashes_to_pipes(p)}" for p in keywords.paths)],
        TAGS: [*tag_copies, *(f"{root}/{p}" for p in keywords.paths)],
        OURS: leaves,
        TAG_COPIES: tag_copies,
        HIER_COPIES: hier_copies,
    }
    home = next((d for d, _ in props[SUBJECT]), descriptions[0] if descriptions else None)
    if home is None:
        home = Node(DESC, {_q("rdf", "about"): ""})
        rdf.children.append(home)
        _indent(rdf, 1)
    for tag, new in wanted.items():
        kind = "Seq" if tag == SUBJECT and subject_seq else CONTAINER[tag]
        mine = functools.partial(ours, tag)
        _place(tag, new, props[tag], home, kind, mine, retype=tag == SUBJECT and subject_seq)
    _declare(doc, rdf, home)


def _place(
    tag: str,
    new: Sequence[str],
    found: list[tuple[Node, Node]],
    home: Node,
    kind: str,
    ours: Callable[[str], bool],
    *,
    retype: bool,
) -> None:
    """Drop our entries from every ``tag`` property, then append ``new`` to the first one.

    ``retype`` turns an existing container into ``kind`` (dc:subject Bag -> Seq).
    """
    placed = False
    for desc, prop in found:
        container = next(prop.elements(), None)
        if container is None:  # plain text value: rebuild as the proper container
            keep = [_li(t) for t in items(prop) if not ours(t)]
            container = Node(_q("rdf", CONTAINER[tag]), children=list(keep))
            prop.children = [container]
        if retype:
            container.tag = _q("rdf", kind)
        container.children = [
            c
            for c in container.children
            if not (isinstance(c, Node) and c.tag == LI and ours(c.text()))
        ]
        if not placed:
            container.children += [_li(t) for t in new]
            placed = True
        if any(container.elements()):
            _indent(container, 4)
            _indent(prop, 3)
        else:
            desc.children = [c for c in desc.children if c is not prop]
            _indent(desc, 2)
    if not placed and new:
        container = Node(_q("rdf", kind), children=[_li(t) for t in new])
        prop = Node(tag, children=[container])
        home.children.append(prop)
        _indent(container, 4)
        _indent(prop, 3)
        _indent(home, 2)


def _uses(node: Node, uri: str) -> bool:
    prefix = "{" + uri + "}"
    if node.tag.startswith(prefix) or any(k.startswith(prefix) for k in node.attrs):
        return True
    return any(_uses(child, uri) for child in node.elements())


def _declare(doc: Doc, rdf: Node, home: Node) -> None:
    """Bind our prefixes once on the Description instead of on every element; drop our
    private namespace's binding once nothing of ours is left."""
    if not _uses(doc.root, NS["rw"]):
        for node in (doc.root, rdf, *rdf.elements(DESC)):
            node.nsdecls = [(p, u) for p, u in node.nsdecls if u != NS["rw"]]
    for prefix in ("dc", "lr", "digiKam", "rw"):
        uri = NS[prefix]
        used = any(isinstance(c, Node) and c.tag.startswith("{" + uri + "}") for c in home.children)
        declared = any(u == uri for n in (doc.root, rdf, home) for _, u in n.nsdecls)
        taken = {p for n in (doc.root, rdf, home) for p, _ in n.nsdecls}
        if used and not declared and prefix not in taken:
            home.nsdecls.append((prefix, uri))
