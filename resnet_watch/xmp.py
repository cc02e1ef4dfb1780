"""XMP sidecars (``IMG_1.jpg.xmp``) carrying our tags for digiKam, darktable, Immich & co.

The same keywords go into three fields, because each app reads a different one:
``dc:subject`` (flat leaf names), ``lr:hierarchicalSubject`` (``resnet-watch|Pets|Dogs|beagle``)
and ``digiKam:TagsList`` (``resnet-watch/Pets/Dogs/beagle``). Every hierarchical keyword lives
under one root so a user can drop them all at once.

The sidecar is often not ours: darktable keeps its edit history in it, digiKam and the user
keep ratings and their own keywords. So an existing file is merged, never regenerated: every
foreign element, attribute, comment and keyword is kept, and only our subtree changes. Which
``dc:subject`` entries are ours is recorded in ``rw:Keywords`` (a private namespace), so a
user keyword that happens to equal one of our labels is never removed.

An existing sidecar is untrusted input: DTDs and entity declarations are refused, and so is a
file that is not well-formed XMP. Such a file is left exactly as it is and ``SidecarError``
says why -- losing a user's ratings or edit history is worse than missing tags. Writes are
atomic (temp file in the same folder, fsync, rename, fsync folder) and keep the old file's
mode; the image itself is never opened.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import xml.parsers.expat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from resnet_watch import fsutil
from resnet_watch.errors import SidecarError
from resnet_watch.fsutil import TEMP_PREFIX

__all__ = [
    "DEFAULT_ROOT",
    "NS",
    "XmpKeywords",
    "read_keywords",
    "remove_keywords",
    "sidecar_path",
    "write_xmp",
]

DEFAULT_ROOT = "resnet-watch"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    # Private: which dc:subject entries we wrote. ".invalid" can never be a real domain.
    "rw": "https://resnet-watch.invalid/ns/1.0/",
}
_XML_NS = "http://www.w3.org/XML/1998/namespace"
_MAX_BYTES = 32 * 1024 * 1024
_RETRIES = 3


def _q(prefix: str, local: str) -> str:
    return f"{{{NS[prefix]}}}{local}"


_RDF = _q("rdf", "RDF")
_DESC = _q("rdf", "Description")
_LI = _q("rdf", "li")
_SUBJECT = _q("dc", "subject")
_HIER = _q("lr", "hierarchicalSubject")
_TAGS = _q("digiKam", "TagsList")
_OURS = _q("rw", "Keywords")
# property -> container it gets when we create it
_CONTAINER = {_SUBJECT: "Bag", _HIER: "Bag", _TAGS: "Seq", _OURS: "Bag"}

_TEMPLATE = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    f'<x:xmpmeta xmlns:x="{NS["x"]}" x:xmptk="resnet-watch">\n'
    f' <rdf:RDF xmlns:rdf="{NS["rdf"]}">\n'
    '  <rdf:Description rdf:about="">\n'
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>\n'
)


def _clean(text: str) -> str:
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
        paths = tuple(dict.fromkeys(p for p in (_clean(t).strip("/") for t in tags) if p))
        leaves = tuple(dict.fromkeys(p.rsplit("/", 1)[-1] for p in paths))
        return cls(leaves, paths)


def sidecar_path(image_path: Path) -> Path:
    """``IMG_1.jpg`` -> ``IMG_1.jpg.xmp``, the name darktable, digiKam and Immich look for."""
    return image_path.with_name(image_path.name + ".xmp")


# --- a tiny namespace-preserving XML tree -------------------------------------------------


@dataclass
class _Node:
    tag: str  # "{uri}local" or "local"
    attrs: dict[str, str] = field(default_factory=dict)  # same key form, document order
    nsdecls: list[tuple[str, str]] = field(default_factory=list)  # (prefix or "", uri)
    children: list[_Node | _Misc | str] = field(default_factory=list)

    def elements(self, tag: str | None = None) -> Iterator[_Node]:
        for c in self.children:
            if isinstance(c, _Node) and (tag is None or c.tag == tag):
                yield c

    def text(self) -> str:
        return "".join(c for c in self.children if isinstance(c, str))


@dataclass
class _Misc:
    markup: str  # a comment or processing instruction, serialised verbatim


@dataclass
class _Doc:
    prolog: list[str]
    root: _Node
    epilog: list[str]


class _Refused(Exception):
    pass


def _parse(data: bytes) -> _Doc:
    """Parse with expat; DTDs and entity declarations are refused outright."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_Node] = []
    pending: list[tuple[str, str]] = []
    prolog: list[str] = []
    epilog: list[str] = []
    roots: list[_Node] = []

    def clark(name: str) -> str:
        return "{" + name if "}" in name else name

    def refuse(*_: object) -> None:
        raise _Refused("DTDs and entity declarations are not allowed in XMP")

    def refuse_external(*_: object) -> int:
        raise _Refused("external entities are not allowed in XMP")

    def xml_decl(version: str | None, encoding: str | None, standalone: int) -> None:
        prolog.append('<?xml version="1.0" encoding="UTF-8"?>')

    def start_ns(prefix: str | None, uri: str | None) -> None:
        pending.append((prefix or "", uri or ""))

    def start(name: str, attrs: dict[str, str]) -> None:
        node = _Node(clark(name), {clark(k): v for k, v in attrs.items()}, pending[:])
        pending.clear()
        if stack:
            stack[-1].children.append(node)
        else:
            roots.append(node)
        stack.append(node)

    def end(name: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if not stack:
            return
        kids = stack[-1].children
        if kids and isinstance(kids[-1], str):
            kids[-1] += data
        else:
            kids.append(data)

    def misc(markup: str) -> None:
        if stack:
            stack[-1].children.append(_Misc(markup))
        else:
            (epilog if roots else prolog).append(markup)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.NotationDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse_external
    parser.XmlDeclHandler = xml_decl
    parser.StartNamespaceDeclHandler = start_ns
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.CommentHandler = lambda text: misc(f"<!--{text}-->")
    parser.ProcessingInstructionHandler = lambda target, data: misc(
        f"<?{target} {data}?>" if data else f"<?{target}?>"
    )
    parser.ordered_attributes = False
    parser.Parse(data, True)
    return _Doc(prolog, roots[0], epilog)


def _escape(text: str, attr: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attr:
        text = text.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
        text = text.replace("\t", "&#9;")
    else:
        text = text.replace("\r", "&#13;")
    return text


_PREFERRED = {uri: prefix for prefix, uri in NS.items()}


def _serialise(doc: _Doc) -> bytes:
    out: list[str] = []

    def qualify(name: str, scope: dict[str, str], decls: list[tuple[str, str]], attr: bool) -> str:
        if not name.startswith("{"):
            if not attr and scope.get("", ""):
                decls.append(("", ""))
                scope[""] = ""
            return name
        uri, local = name[1:].split("}", 1)
        if uri == _XML_NS:
            return f"xml:{local}"
        for prefix, bound in scope.items():
            if bound == uri and (prefix or not attr):
                return f"{prefix}:{local}" if prefix else local
        prefix = _PREFERRED.get(uri, "ns")
        base, n = prefix, 0
        while prefix in scope:
            n += 1
            prefix = f"{base}{n}"
        decls.append((prefix, uri))
        scope[prefix] = uri
        return f"{prefix}:{local}"

    def emit(node: _Node, outer: dict[str, str]) -> None:
        scope = dict(outer)
        decls = list(node.nsdecls)
        for prefix, uri in decls:
            scope[prefix] = uri
        tag = qualify(node.tag, scope, decls, attr=False)
        attrs = [(qualify(k, scope, decls, attr=True), v) for k, v in node.attrs.items()]
        parts = [tag]
        parts += [f'xmlns:{p}="{_escape(u, True)}"' if p else f'xmlns="{_escape(u, True)}"'
                  for p, u in decls]  # fmt: skip
        parts += [f'{k}="{_escape(v, True)}"' for k, v in attrs]
        if not node.children:
            out.append(f"<{' '.join(parts)}/>")
            return
        out.append(f"<{' '.join(parts)}>")
        for child in node.children:
            if isinstance(child, str):
                out.append(_escape(child))
            elif isinstance(child, _Misc):
                out.append(child.markup)
            else:
                emit(child, scope)
        out.append(f"</{tag}>")

    prolog = [m for m in doc.prolog if not m.startswith("<?xml ")]
    if len(prolog) != len(doc.prolog):
        out.append('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.extend(m + "\n" for m in prolog)
    emit(doc.root, {})
    out.append("\n")
    out.extend(m + "\n" for m in doc.epilog)
    return "".join(out).encode("utf-8")


# --- the merge ----------------------------------------------------------------------------


def _rdf(doc: _Doc) -> _Node:
    root = doc.root
    if root.tag == _RDF:
        return root
    if root.tag == _q("x", "xmpmeta"):
        found = next(root.elements(_RDF), None)
        if found is not None:
            return found
    raise _Refused("not an XMP packet (no x:xmpmeta/rdf:RDF)")


def _items(prop: _Node) -> list[str]:
    container = next(prop.elements(), None)
    if container is None:
        text = prop.text().strip()
        return [text] if text else []
    return [li.text() for li in container.elements(_LI)]


def _li(text: str) -> _Node:
    return _Node(_LI, children=[text])


def _indent(node: _Node, depth: int) -> None:
    """Lay out ``node``'s element children one per line at ``depth`` spaces."""
    kids = [c for c in node.children if not (isinstance(c, str) and not c.strip())]
    laid: list[_Node | _Misc | str] = []
    for kid in kids:
        laid += ["\n" + " " * (depth + 1), kid]
    node.children = [*laid, "\n" + " " * depth] if laid else []


def _merge(doc: _Doc, keywords: XmpKeywords, root: str) -> None:
    rdf = _rdf(doc)
    descriptions = list(rdf.elements(_DESC))
    props: dict[str, list[tuple[_Node, _Node]]] = {p: [] for p in _CONTAINER}
    for desc in descriptions:
        for tag in _CONTAINER:
            if tag in desc.attrs:  # a simple-valued array (not valid XMP): make it a real one
                value = desc.attrs.pop(tag)
                desc.children.append(
                    _Node(tag, children=[_Node(_q("rdf", _CONTAINER[tag]), children=[_li(value)])])
                )
            props[tag] += [(desc, prop) for prop in desc.elements(tag)]

    previous = {item for _, prop in props[_OURS] for item in _items(prop)}
    foreign_leaves = [
        item for _, prop in props[_SUBJECT] for item in _items(prop) if item not in previous
    ]
    leaves = [leaf for leaf in keywords.leaves if leaf not in foreign_leaves]
    wanted = {
        _SUBJECT: leaves,
        _HIER: [f"{root}|{p.replace('/', '|')}" for p in keywords.paths],
        _TAGS: [f"{root}/{p}" for p in keywords.paths],
        _OURS: leaves,
    }

    def ours(tag: str, item: str) -> bool:
        if tag == _SUBJECT:
            return item in previous
        if tag == _HIER:
            return item == root or item.startswith(root + "|")
        if tag == _TAGS:
            return item == root or item.startswith(root + "/")
        return True

    home = next((d for d, _ in props[_SUBJECT]), descriptions[0] if descriptions else None)
    if home is None:
        home = _Node(_DESC, {_q("rdf", "about"): ""})
        rdf.children.append(home)
        _indent(rdf, 1)
    for tag, new in wanted.items():
        placed = False
        for desc, prop in props[tag]:
            container = next(prop.elements(), None)
            if container is None:  # plain text value: rebuild as the proper container
                keep = [_li(t) for t in _items(prop) if not ours(tag, t)]
                container = _Node(_q("rdf", _CONTAINER[tag]), children=list(keep))
                prop.children = [container]
            container.children = [
                c
                for c in container.children
                if not (isinstance(c, _Node) and c.tag == _LI and ours(tag, c.text()))
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
            container = _Node(_q("rdf", _CONTAINER[tag]), children=[_li(t) for t in new])
            prop = _Node(tag, children=[container])
            home.children.append(prop)
            _indent(container, 4)
            _indent(prop, 3)
            _indent(home, 2)
    for uri_prefix in ("dc", "lr", "digiKam", "rw"):
        uri = NS[uri_prefix]
        used = any(
            isinstance(c, _Node) and c.tag.startswith("{" + uri + "}") for c in home.children
        )
        declared = any(u == uri for n in (doc.root, rdf, home) for _, u in n.nsdecls)
        taken = {p for n in (doc.root, rdf, home) for p, _ in n.nsdecls}
        if used and not declared and uri_prefix not in taken:
            home.nsdecls.append((uri_prefix, uri))


def _check_root(root: str) -> str:
    if not root or root != _clean(root) or "/" in root or "|" in root:
        raise ValueError(f"XMP keyword root {root!r} must be a single plain path segment")
    return root


def _load(path: Path) -> tuple[_Doc | None, os.stat_result | None, bytes]:
    """The existing sidecar parsed (None if absent or empty), its stat and its bytes."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return None, None, b""
    if not stat.S_ISREG(st.st_mode):
        raise SidecarError(f"{path}: exists but is not a regular file; left untouched")
    if st.st_size > _MAX_BYTES:
        raise SidecarError(f"{path}: {st.st_size} bytes is too large for an XMP; left untouched")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(_MAX_BYTES + 1)
    if not data.strip():
        return None, st, data
    try:
        doc = _parse(data)
        _rdf(doc)
    except (_Refused, xml.parsers.expat.ExpatError, IndexError) as exc:
        raise SidecarError(
            f"{path}: existing XMP cannot be merged safely ({exc}); left untouched -- "
            "fix or remove it to get resnet-watch keywords"
        ) from None
    return doc, st, data


def _same(a: os.stat_result | None, b: os.stat_result | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.st_ino, a.st_size, a.st_mtime_ns) == (b.st_ino, b.st_size, b.st_mtime_ns)


def _replace(path: Path, data: bytes, expected: os.stat_result | None) -> bool:
    """Atomically put ``data`` at ``path`` unless ``path`` changed since it was read."""
    # The shared prefix: the watcher ignores it, sidecar.sweep_temp_files cleans up after a crash.
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if expected is not None:
                os.fchmod(fh.fileno(), stat.S_IMODE(expected.st_mode))
                with contextlib.suppress(PermissionError):
                    os.fchown(fh.fileno(), expected.st_uid, expected.st_gid)
            else:
                os.fchmod(fh.fileno(), 0o666 & ~fsutil.process_umask())
            os.fsync(fh.fileno())
        try:
            now: os.stat_result | None = path.lstat()
        except FileNotFoundError:
            now = None
        if not _same(now, expected):
            return False  # someone (darktable, digiKam, the user) wrote it meanwhile: re-merge
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsutil.fsync_dir(path.parent)
    return True


def write_xmp(image_path: Path, keywords: XmpKeywords, root: str = DEFAULT_ROOT) -> Path:
    """Merge ``keywords`` into ``<image name>.xmp`` under ``root``; returns the sidecar path.

    Empty ``keywords`` remove our subtree (and create no file if there is none). Raises
    SidecarError when the existing sidecar cannot be merged safely or cannot be written; the
    existing file is then left exactly as it was.
    """
    _check_root(root)
    keywords = XmpKeywords(
        tuple(dict.fromkeys(c for c in (_clean(x) for x in keywords.leaves) if c)),
        tuple(dict.fromkeys(c for c in (_clean(x).strip("/") for x in keywords.paths) if c)),
    )
    path = sidecar_path(image_path)
    try:
        for _ in range(_RETRIES):
            doc, st, old = _load(path)
            if doc is None:
                if not keywords.leaves and not keywords.paths:
                    return path
                doc = _parse(_TEMPLATE.encode("utf-8"))
            _merge(doc, keywords, root)
            new = _serialise(doc)
            if new == old:
                return path  # unchanged: leave the file (and its mtime) alone
            if _replace(path, new, st):
                return path
        raise SidecarError(f"{path}: kept changing while we merged; try again later")
    except OSError as exc:
        raise SidecarError(f"{path}: cannot write XMP sidecar: {exc}") from exc


def read_keywords(image_path: Path, root: str = DEFAULT_ROOT) -> XmpKeywords:
    """Our keywords as currently stored in the image's XMP sidecar (empty if none)."""
    _check_root(root)
    doc, _, _ = _load(sidecar_path(image_path))
    if doc is None:
        return XmpKeywords()
    leaves: list[str] = []
    paths: list[str] = []
    for desc in _rdf(doc).elements(_DESC):
        for prop in desc.elements(_OURS):
            leaves += _items(prop)
        for prop in desc.elements(_TAGS):
            paths += [i[len(root) + 1 :] for i in _items(prop) if i.startswith(root + "/")]
    return XmpKeywords(tuple(dict.fromkeys(leaves)), tuple(dict.fromkeys(paths)))


def _nothing_but_shell(doc: _Doc) -> bool:
    """True when only the empty packet we would create is left: no property, no comment."""
    rdf = _rdf(doc)
    shells = (doc.root, rdf) if doc.root is not rdf else (rdf,)
    for node in shells:
        if any(isinstance(c, _Misc) for c in node.children):
            return False
    if doc.root is not rdf and list(doc.root.elements()) != [rdf]:
        return False
    for child in rdf.children:
        if isinstance(child, _Misc) or (isinstance(child, _Node) and child.tag != _DESC):
            return False
        if isinstance(child, _Node) and (
            any(True for _ in child.elements())
            or any(isinstance(c, _Misc) for c in child.children)
            or set(child.attrs) - {_q("rdf", "about")}
        ):
            return False
    return True


def remove_keywords(image_path: Path, root: str = DEFAULT_ROOT) -> bool:
    """Take our subtree out of ``image_path``'s XMP; delete the file if nothing else is left.

    For a photo that was deleted or moved out of the inbox: a user's ratings, edit history
    or own keywords stay (the file is kept and only our keywords go). Returns True when the
    file was deleted. Raises SidecarError like :func:`write_xmp` for a file we must not touch.
    """
    _check_root(root)
    path = sidecar_path(image_path)
    try:
        for _ in range(_RETRIES):
            doc, st, old = _load(path)
            if st is None:
                return False
            if doc is not None:
                _merge(doc, XmpKeywords(), root)
            if doc is None or _nothing_but_shell(doc):
                fresh = path.lstat()
                if _same(fresh, st):
                    path.unlink()
                    return True
                continue
            new = _serialise(doc)
            if new == old or _replace(path, new, st):
                return False
        raise SidecarError(f"{path}: kept changing while we removed our keywords")
    except OSError as exc:
        raise SidecarError(f"{path}: cannot update XMP sidecar: {exc}") from exc
