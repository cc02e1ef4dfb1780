#!/usr/bin/env python3
"""Build resnet_watch/data/imagenet_taxonomy.json from the WordNet 3.0 database files.

ImageNet-1k class ids ("n02099601") are WordNet 3.0 noun synset offsets, so each class's
ancestors come straight from WordNet's hypernym pointers. Input is Debian's ``wordnet-base``
(``apt-get install wordnet-base`` puts ``data.noun`` and ``index.noun`` in /usr/share/wordnet)
plus the 1000 class wnids, from the first of:

  --wnids FILE   a text file with one wnid per line, a TSV whose columns include a wnid
                 (``index<TAB>wnid<TAB>name``), or a timm wheel (``pip download --no-deps timm``;
                 its ``timm/data/_info/imagenet_synsets.txt`` is read from inside the zip)
  resnet_watch/models/imagenet_classes.tsv, when it exists

The output is deterministic (byte-for-byte reproducible); tests/test_taxonomy.py rebuilds it
and compares. Synset names follow the usual ``lemma.n.NN`` convention: the first lemma of the
synset, lowercased, and its sense rank for that lemma in index.noun.

Usage: python scripts/build_taxonomy.py [--wordnet-dir DIR] [--wnids FILE] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORDNET = Path("/usr/share/wordnet")
DEFAULT_TSV = REPO / "resnet_watch" / "models" / "imagenet_classes.tsv"
DEFAULT_OUT = REPO / "resnet_watch" / "data" / "imagenet_taxonomy.json"
TIMM_SYNSETS = "timm/data/_info/imagenet_synsets.txt"
FORMAT = 1
WNID = re.compile(r"n\d{8}")
ROOT = "entity.n.01"


@dataclass(frozen=True)
class Synset:
    offset: str  # 8 digits
    lemmas: tuple[str, ...]  # as written in data.noun, underscores for spaces
    hypernyms: tuple[str, ...]  # offsets of '@' and '@i' pointers, in file order


def parse_data_noun(path: Path) -> tuple[dict[str, Synset], str]:
    """All noun synsets by offset, and the licence text from the file header."""
    synsets: dict[str, Synset] = {}
    licence: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("  "):
                # Header: "  N text  ". Keep the text, so the notice travels with the data.
                text = line.strip().split(" ", 1)
                licence.append(text[1] if len(text) > 1 else "")
                continue
            fields = line.split(" | ", 1)[0].split()
            offset, pos = fields[0], fields[2]
            if pos != "n":
                raise ValueError(f"{path}: synset {offset} has pos {pos!r}, expected 'n'")
            w_cnt = int(fields[3], 16)
            lemmas = tuple(fields[4 + 2 * i] for i in range(w_cnt))
            at = 4 + 2 * w_cnt
            p_cnt = int(fields[at])
            hypernyms = []
            for i in range(p_cnt):
                symbol, target, target_pos = fields[at + 1 + 4 * i : at + 4 + 4 * i]
                if symbol in ("@", "@i") and target_pos == "n":
                    hypernyms.append(target)
            synsets[offset] = Synset(offset, lemmas, tuple(hypernyms))
    return synsets, "\n".join(licence).strip()


def parse_index_noun(path: Path) -> dict[str, tuple[str, ...]]:
    """lemma -> synset offsets in sense order (sense 1 first)."""
    senses: dict[str, tuple[str, ...]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("  "):
                continue
            fields = line.split()
            lemma, synset_cnt, p_cnt = fields[0], int(fields[2]), int(fields[3])
            offsets = fields[4 + p_cnt + 2 :]
            if len(offsets) != synset_cnt:
                raise ValueError(f"{path}: malformed entry for {lemma!r}")
            senses[lemma] = tuple(offsets)
    return senses


def synset_name(synset: Synset, senses: dict[str, tuple[str, ...]]) -> str:
    lemma = synset.lemmas[0].lower()
    rank = senses[lemma].index(synset.offset) + 1
    return f"{lemma}.n.{rank:02d}"


def primary_chain(offset: str, synsets: dict[str, Synset]) -> list[str]:
    """Class first, entity last, following the first hypernym pointer at every step."""
    chain = [offset]
    while synsets[chain[-1]].hypernyms:
        nxt = synsets[chain[-1]].hypernyms[0]
        if nxt in chain:
            raise ValueError(f"hypernym cycle at {nxt}")
        chain.append(nxt)
    return chain


def all_ancestors(offset: str, synsets: dict[str, Synset]) -> set[str]:
    """The class itself and every synset reachable through hypernym pointers."""
    seen = {offset}
    todo = [offset]
    while todo:
        for parent in synsets[todo.pop()].hypernyms:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def read_wnids(source: Path) -> list[str]:
    """The 1000 wnids from a text file, a TSV with a wnid column, or a timm wheel."""
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as whl:
            text = whl.read(TIMM_SYNSETS).decode("utf-8")
    else:
        text = source.read_text(encoding="utf-8")
    wnids = []
    for line in text.splitlines():
        found = [cell for cell in line.strip().split("\t") if WNID.fullmatch(cell.strip())]
        if found:
            wnids.append(found[0].strip())
    if len(wnids) != 1000 or len(set(wnids)) != 1000:
        raise ValueError(f"{source}: expected 1000 distinct wnids, found {len(set(wnids))}")
    if wnids != sorted(wnids):
        raise ValueError(f"{source}: wnids are not in ImageNet-1k (sorted) order")
    return wnids


def build(wordnet_dir: Path, wnids: Sequence[str]) -> str:
    """The data file's exact text."""
    synsets, licence = parse_data_noun(wordnet_dir / "data.noun")
    senses = parse_index_noun(wordnet_dir / "index.noun")

    rows = []
    used: set[str] = set()
    for wnid in wnids:
        offset = wnid[1:]
        if offset not in synsets:
            raise ValueError(f"{wnid} is not a WordNet 3.0 noun synset")
        chain = primary_chain(offset, synsets)
        extra = sorted(all_ancestors(offset, synsets) - set(chain))
        used.update(chain, extra)
        rows.append((wnid, chain, extra))

    # String table: every synset any class mentions, sorted by name, referenced by position.
    names = {off: synset_name(synsets[off], senses) for off in used}
    table = sorted(used, key=lambda off: names[off])
    position = {off: i for i, off in enumerate(table)}

    def ids(offsets: Iterable[str]) -> str:
        return json.dumps([position[o] for o in offsets], separators=(",", ":"))

    lines = [
        "{",
        f'"format": {FORMAT},',
        '"source": "WordNet 3.0 noun hierarchy (Debian wordnet-base data.noun, index.noun);'
        ' built by scripts/build_taxonomy.py",',
        '"layout": "synsets: [name, wnid, lemmas]; classes: [wnid, primary chain from the class'
        " up to entity.n.01, other ancestors] as positions in synsets; classes are in"
        ' ImageNet-1k index order",',
        f'"wordnet_license": {json.dumps(licence)},',
        '"synsets": [',
    ]
    synset_rows = []
    for off in table:
        lemmas = [lemma.replace("_", " ") for lemma in synsets[off].lemmas]
        synset_rows.append(json.dumps([names[off], "n" + off, lemmas], ensure_ascii=False))
    lines.append(",\n".join(synset_rows))
    lines.append("],")
    lines.append('"classes": [')
    class_rows = [f'["{wnid}",{ids(chain)},{ids(extra)}]' for wnid, chain, extra in rows]
    lines.append(",\n".join(class_rows))
    lines.append("]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # the hand-assembled layout must stay valid JSON
    if names[rows[0][1][-1]] != ROOT:
        raise ValueError("primary chains do not end at entity.n.01")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--wordnet-dir", type=Path, default=DEFAULT_WORDNET)
    parser.add_argument("--wnids", type=Path, help="txt, tsv or timm .whl with the 1000 wnids")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    source = args.wnids or (DEFAULT_TSV if DEFAULT_TSV.exists() else None)
    if source is None:
        parser.error(f"no {DEFAULT_TSV.relative_to(REPO)} yet: pass --wnids FILE")
    if not (args.wordnet_dir / "data.noun").exists():
        parser.error(f"{args.wordnet_dir}/data.noun missing: apt-get install wordnet-base")
    text = build(args.wordnet_dir, read_wnids(source))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.out)
    print(f"wrote {args.out} ({len(text.encode())} bytes) from {source}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
