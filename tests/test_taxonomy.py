"""WordNet ancestry of the ImageNet-1k classes: coverage, roll-ups, name resolution, rebuild."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_watch.taxonomy import Taxonomy, load_taxonomy
from tests.requirements import need

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "resnet_watch" / "data" / "imagenet_taxonomy.json"
TSV = REPO / "resnet_watch" / "models" / "imagenet_classes.tsv"
WORDNET = Path("/usr/share/wordnet")


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return load_taxonomy()


def index_of(tax: Taxonomy, name: str) -> int:
    synset = tax.resolve(name)
    return next(i for i in range(len(tax)) if tax.chain(i)[0] == synset)


def test_covers_all_1000_classes_in_imagenet_order(tax: Taxonomy) -> None:
    """Every ImageNet-1k class has an entry, in sorted-wnid (model output) order."""
    assert len(tax) == 1000
    assert list(tax.wnids) == sorted(set(tax.wnids))
    for i in range(1000):
        chain = tax.chain(i)
        assert chain[-1] == "entity.n.01"
        assert tax.synset_wnids[chain[0]] == tax.wnids[i]
        assert set(chain) <= tax.ancestors(i)


def test_class_order_matches_the_model_label_file(tax: Taxonomy) -> None:
    """Index i here is index i in models/imagenet_classes.tsv, so labels map to ancestors."""
    need(TSV.exists(), "models/imagenet_classes.tsv is missing")
    rows = [line.split("\t") for line in TSV.read_text(encoding="utf-8").splitlines()[1:]]
    assert [r[1] for r in rows] == list(tax.wnids)
    assert [int(r[0]) for r in rows] == list(range(1000))


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        ("golden retriever", {"dog.n.01", "carnivore.n.01", "mammal.n.01", "animal.n.01"}),
        ("alp", {"mountain.n.01", "geological_formation.n.01"}),
        ("espresso", {"food.n.01", "beverage.n.01", "coffee.n.01"}),
        ("tabby", {"domestic_cat.n.01", "cat.n.01", "mammal.n.01"}),
        ("pizza", {"dish.n.02", "food.n.01"}),
    ],
)
def test_classes_roll_up_to_their_everyday_categories(
    tax: Taxonomy, cls: str, expected: set[str]
) -> None:
    """The acceptance facts: breed -> dog -> mammal -> animal, alp -> mountain, espresso -> food."""
    assert expected <= tax.ancestors(index_of(tax, cls))


def test_primary_chain_of_golden_retriever_is_the_first_hypernym_path(tax: Taxonomy) -> None:
    """The stored chain reads from the class up, for tag display."""
    chain = tax.chain(index_of(tax, "golden retriever"))
    assert chain[:5] == (
        "golden_retriever.n.01",
        "retriever.n.01",
        "sporting_dog.n.01",
        "hunting_dog.n.01",
        "dog.n.01",
    )
    assert tax.lemma(index_of(tax, "golden retriever")) == "golden retriever"


@pytest.mark.parametrize(
    ("name", "synset"),
    [
        ("dog.n.01", "dog.n.01"),
        ("Mountain.n.01", "mountain.n.01"),
        ("n02084071", "dog.n.01"),
        ("golden retriever", "golden_retriever.n.01"),
        ("Golden_Retriever", "golden_retriever.n.01"),
        ("tabby cat", "tabby.n.01"),
        ("valley", "valley.n.01"),
    ],
)
def test_resolve_accepts_synset_names_wnids_and_class_names(
    tax: Taxonomy, name: str, synset: str
) -> None:
    """Album rules may name a synset, a wnid or an ImageNet class."""
    assert tax.resolve(name) == synset


def test_resolve_names_the_unknown_name(tax: Taxonomy) -> None:
    """A typo fails config validation with the name and a suggestion."""
    with pytest.raises(ValueError, match=r"'dgo\.n\.01'.*dog\.n\.01"):
        tax.resolve("dgo.n.01")
    with pytest.raises(ValueError, match="'unicorn'"):
        tax.resolve("unicorn")


def test_resolve_refuses_ambiguous_class_names(tax: Taxonomy) -> None:
    """'crane' is a bird and a machine: the user must pick a synset."""
    with pytest.raises(ValueError, match=r"crane\.n\.04, crane\.n\.05"):
        tax.resolve("crane")


def test_data_file_is_compact() -> None:
    """The committed file stays small enough to ship in the wheel."""
    assert DATA.stat().st_size < 400_000
    data = json.loads(DATA.read_text(encoding="utf-8"))
    assert "WordNet 3.0 Copyright 2006 by Princeton University" in data["wordnet_license"]


def test_build_script_reproduces_the_committed_file(tmp_path: Path) -> None:
    """scripts/build_taxonomy.py turns wordnet-base into exactly the committed data file."""
    if not (WORDNET / "data.noun").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("wordnet-base is required in CI (apt-get install wordnet-base)")
        pytest.skip("wordnet-base not installed (apt-get install wordnet-base)")
    wnids = tmp_path / "wnids.txt"
    committed = json.loads(DATA.read_text(encoding="utf-8"))
    wnids.write_text("\n".join(row[0] for row in committed["classes"]) + "\n")
    out = tmp_path / "taxonomy.json"
    cmd = [sys.executable, str(REPO / "scripts" / "build_taxonomy.py")]
    subprocess.run(
        [*cmd, "--wnids", str(wnids), "--out", str(out)], check=True, capture_output=True
    )
    assert out.read_bytes() == DATA.read_bytes()
    if TSV.exists():  # the default input, the model's own label file, gives the same bytes
        out.unlink()
        subprocess.run([*cmd, "--out", str(out)], check=True, capture_output=True)
        assert out.read_bytes() == DATA.read_bytes()
