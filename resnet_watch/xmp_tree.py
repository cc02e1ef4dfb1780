"""A tiny namespace-preserving XML tree for XMP packets: parse with expat, serialise back.

Foreign sidecars must survive our edits untouched: darktable's history, digiKam's ratings,
comments, namespace prefixes and attribute order. ElementTree would rename prefixes and drop
comments, so this keeps everything it read and writes it back the same way. DTDs and entity
declarations are refused while parsing (``Refused``): an XMP never needs them and they are
the classic XML attack surface.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

__all__ = ["XML_NS", "Doc", "Misc", "Node", "Refused", "parse", "serialise"]

XML_NS = "http://www.w3.org/XML/1998/namespace"


@dataclass
class Node:
    """An element: Clark-notation names keep the namespace, ``nsdecls`` keep the prefixes."""

    tag: str  # "{uri}local" or "local"
    attrs: dict[str, str] = field(default_factory=dict)  # same key form, document order
    nsdecls: list[tuple[str, str]] = field(default_factory=list)  # (prefix or "", uri)
    children: list[Node | Misc | str] = field(default_factory=list)

    def elements(self, tag: str | None = None) -> Iterator[Node]:
        for c in self.children:
            if isinstance(c, Node) and (tag is None or c.tag == tag):
                yield c

    def text(self) -> str:
        return "".join(c for c in self.children if isinstance(c, str))


@dataclass
class Misc:
    """A comment or processing instruction, kept where it was."""

    markup: str  # a comment or processing instruction, serialised verbatim


@dataclass
class Doc:
    """The root element plus whatever comments/PIs (the xpacket wrapper) surround it."""

    prolog: list[str]
    root: Node
    epilog: list[str]


class Refused(Exception):
    """The data is not something we may merge into (a DTD, an entity, not XMP)."""


def parse(data: bytes) -> Doc:
    """Parse with expat; DTDs and entity declarations are refused outright."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[Node] = []
    pending: list[tuple[str, str]] = []
    prolog: list[str] = []
    epilog: list[str] = []
    roots: list[Node] = []

    def clark(name: str) -> str:
        return "{" + name if "}" in name else name

    def refuse(*_: object) -> None:
        raise Refused("DTDs and entity declarations are not allowed in XMP")

    def refuse_external(*_: object) -> int:
        raise Refused("external entities are not allowed in XMP")

    def xml_decl(version: str | None, encoding: str | None, standalone: int) -> None:
        prolog.append('<?xml version="1.0" encoding="UTF-8"?>')

    def start_ns(prefix: str | None, uri: str | None) -> None:
        pending.append((prefix or "", uri or ""))

    def start(name: str, attrs: dict[str, str]) -> None:
        node = Node(clark(name), {clark(k): v for k, v in attrs.items()}, pending[:])
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
            stack[-1].children.append(Misc(markup))
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
    return Doc(prolog, roots[0], epilog)


def _escape(text: str, attr: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attr:
        text = text.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;")
        text = text.replace("\t", "&#9;")
    else:
        text = text.replace("\r", "&#13;")
    return text


def serialise(doc: Doc, prefixes: Mapping[str, str]) -> bytes:
    """The document as UTF-8; a namespace without a binding in scope gets ``prefixes[uri]``."""
    out: list[str] = []

    def qualify(name: str, scope: dict[str, str], decls: list[tuple[str, str]], attr: bool) -> str:
        if not name.startswith("{"):
            if not attr and scope.get("", ""):
                decls.append(("", ""))
                scope[""] = ""
            return name
        uri, local = name[1:].split("}", 1)
        if uri == XML_NS:
            return f"xml:{local}"
        for prefix, bound in scope.items():
            if bound == uri and (prefix or not attr):
                return f"{prefix}:{local}" if prefix else local
        prefix = prefixes.get(uri, "ns")
        base, n = prefix, 0
        while prefix in scope:
            n += 1
            prefix = f"{base}{n}"
        decls.append((prefix, uri))
        scope[prefix] = uri
        return f"{prefix}:{local}"

    def emit(node: Node, outer: dict[str, str]) -> None:
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
            elif isinstance(child, Misc):
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
