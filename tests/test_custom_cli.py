"""The learn, similar and dupes commands, and reindex's report, on real photos."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from resnet_watch.cli import main
from resnet_watch.models.photos import ai_benchmark_photos
from resnet_watch.sidecar import read_sidecar, sidecar_path, write_sidecar
from tests.custom_helpers import data_dir, make_examples
from tests.daemon_helpers import shipped_photo

SUFFIX = ".resnet-watch.json"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A config, a learned head, and an inbox of classified photos (sidecars written)."""
    tmp = tmp_path_factory.mktemp("custom")
    inbox = tmp / "inbox"
    inbox.mkdir()
    config = tmp / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inbox": {"paths": [str(inbox)]},
                "model": {"weights_dir": str(tmp / "weights")},
                "custom": {"head": str(tmp / "head.json")},
                "log": {"file": None},
            }
        )
    )
    photos = {
        # a cat in plain view (20.jpg, backlit behind a person, is below the head's 0.5)
        "cat.jpg": data_dir() / "segmentation" / "14.jpg",
        "street.jpg": data_dir() / "enhancement" / "64.jpg",
        "piano.jpg": ai_benchmark_photos()[36],
        "astronaut.png": shipped_photo("skimage", "data", "astronaut.png"),
    }
    for name, src in photos.items():
        shutil.copy(src, inbox / name)
    shutil.copy(photos["cat.jpg"], inbox / "cat copy.jpg")
    from PIL import Image

    with Image.open(photos["street.jpg"]) as im:
        im.resize((im.width // 2, im.height // 2)).save(inbox / "street small.jpg", quality=70)
    assert main(["classify", "--config", str(config), "--write-sidecars", str(inbox)]) == 0
    return {"tmp": tmp, "inbox": inbox, "config": config}


def test_learn_writes_a_head_and_apply_tags_the_library(
    library: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """learn EXAMPLES --apply: a head file with its manifest, then Custom/<Class> tags on the
    already-classified photos from their stored embeddings, with a rate printed."""
    examples = make_examples(library["tmp"] / "examples")
    cfg = str(library["config"])
    assert main(["learn", "--config", cfg, str(examples), "--apply"]) == 0
    out = capsys.readouterr().out
    assert "learned 2 classes for efficientnet_lite0: Cats (10), Streets (10)" in out
    assert "negatives (_none): 10" in out and "images/s, no decode, no model" in out
    head = json.loads((library["tmp"] / "head.json").read_text())
    assert head["classes"] == ["Cats", "Streets"] and head["examples"] == {
        "Cats": 10,
        "Streets": 10,
    }
    assert head["model"]["name"] == "efficientnet_lite0" and head["created_at"]
    inbox = library["inbox"]

    def tags(name: str) -> list[str]:
        record = read_sidecar(sidecar_path(inbox / name, SUFFIX))
        assert record is not None
        return list(record["tags"])

    assert "Custom/Cats" in tags("cat.jpg") and "Custom/Streets" in tags("street.jpg")
    assert not any(t.startswith("Custom/") for t in tags("piano.jpg") + tags("astronaut.png"))
    xmp = (inbox / "cat.jpg.xmp").read_text()
    assert "resnet-watch/Custom/Cats" in xmp and "Cats" in xmp


def test_dupes_groups_copies_and_leaves_the_rest(
    library: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """dupes: the byte copy is exact, the half-size re-encode is near; nothing is deleted."""
    inbox = library["inbox"]
    before = sorted(p.name for p in inbox.iterdir())
    assert main(["dupes", "--config", str(library["config"])]) == 0
    captured = capsys.readouterr()
    blocks = captured.out.split("\n")
    exact = blocks.index(next(b for b in blocks if b.startswith("exact")))
    assert {blocks[exact + 1].strip(), blocks[exact + 2].strip()} == {
        str(inbox / "cat copy.jpg"),
        str(inbox / "cat.jpg"),
    }
    near = blocks.index(next(b for b in blocks if b.startswith("near")))
    assert {blocks[near + 1].strip(), blocks[near + 2].strip()} == {
        str(inbox / "street small.jpg"),
        str(inbox / "street.jpg"),
    }
    assert "nothing was moved or deleted" in captured.err
    assert sorted(p.name for p in inbox.iterdir()) == before


def test_similar_lists_the_nearest_first(
    library: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """similar PATH: the resized copy of a street scene ranks first."""
    inbox = library["inbox"]
    assert main(["similar", "--config", str(library["config"]), str(inbox / "street.jpg")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith(str(inbox / "street small.jpg"))


def test_reindex_after_a_model_change_names_the_images_needing_the_model(
    library: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """An image whose embedding came from another model is listed by reindex."""
    inbox = library["inbox"]
    target = sidecar_path(inbox / "astronaut.png", SUFFIX)
    record = read_sidecar(target)
    assert record is not None
    record["embedding"]["model"] = "resnet18"
    write_sidecar(target, record)
    assert main(["reindex", "--config", str(library["config"])]) == 0
    out = capsys.readouterr().out
    assert "1 image(s) have embeddings from another model and need efficientnet_lite0" in out
    assert str(inbox / "astronaut.png") in out
    cat = read_sidecar(sidecar_path(inbox / "cat.jpg", SUFFIX))
    assert cat is not None and "Custom/Cats" in cat["tags"]  # reindex kept custom tags


def test_classify_write_sidecars_applies_the_custom_head_of_this_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """classify --write-sidecars tags like the daemon: the configured head's class in the
    sidecar, tags and XMP; a head for another model is refused on stderr and no photo gets
    a class from it (the labels are still written)."""
    head = tmp_path / "head.json"
    photos = tmp_path / "photos"
    photos.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inbox": {"paths": [str(photos)]},
                "model": {"weights_dir": str(tmp_path / "weights")},
                "custom": {"head": str(head)},
                "log": {"file": None},
            }
        )
    )
    examples = make_examples(tmp_path / "examples")
    assert main(["learn", "--config", str(config), str(examples)]) == 0
    cat = photos / "cat.jpg"
    shutil.copy(data_dir() / "segmentation" / "17.jpg", cat)
    assert main(["classify", "--config", str(config), "--write-sidecars", str(cat)]) == 0
    record = read_sidecar(sidecar_path(cat, SUFFIX))
    assert record is not None and record["custom"]["class"] == "Cats"
    assert "Custom/Cats" in record["tags"] and "Cats" in record["albums"]
    assert "resnet-watch/Custom/Cats" in cat.with_name(cat.name + ".xmp").read_text()

    doc = json.loads(head.read_text())
    doc["model"] = {"name": "resnet18", "weights_sha256": "5" * 64}
    head.write_text(json.dumps(doc))
    other = photos / "other cat.jpg"
    shutil.copy(data_dir() / "segmentation" / "18.jpg", other)
    capsys.readouterr()
    assert main(["classify", "--config", str(config), "--write-sidecars", str(other)]) == 0
    assert "learned with resnet18" in capsys.readouterr().err
    record = read_sidecar(sidecar_path(other, SUFFIX))
    assert record is not None and record["labels"] and "class" not in record["custom"]


def test_learn_without_negatives_keeps_the_centroid_head_and_says_what_helps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No _none folder: the head file is the nearest-centroid kind, and learn says that
    5+ photos of none of the classes give the better head."""
    examples = make_examples(tmp_path / "examples")
    shutil.rmtree(examples / "_none")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"model": {"weights_dir": str(tmp_path / "w")}}))
    out_path = tmp_path / "head.json"
    assert main(["learn", "--config", str(config), str(examples), "--out", str(out_path)]) == 0
    out = capsys.readouterr().out
    assert "nearest centroid, thresholds Cats" in out and "5+ photos" in out
    assert json.loads(out_path.read_text())["method"].startswith("nearest-centroid")


def test_learn_evaluate_scores_a_held_out_folder_per_class(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """learn EXAMPLES --evaluate HELDOUT prints precision/recall per class and the share of
    HELDOUT/_none photos given no class."""
    examples = make_examples(tmp_path / "examples")
    held = tmp_path / "held"
    picks = {
        "Cats": [data_dir() / "segmentation" / f"{i}.jpg" for i in (12, 17)],
        "Streets": [data_dir() / "enhancement" / f"{i}.jpg" for i in (64, 66)],
        "_none": [ai_benchmark_photos()[i] for i in (36, 65)],  # a piano, an old car
    }
    for name, photos in picks.items():
        (held / name).mkdir(parents=True)
        for photo in photos:
            shutil.copy(photo, held / name / photo.name)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"model": {"weights_dir": str(tmp_path / "w")}}))
    args = ["learn", "--config", str(config), str(examples), "--out", str(tmp_path / "h.json")]
    assert main([*args, "--evaluate", str(held)]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()}
    assert rows["Cats"][1:5] == ["100.0%", "100.0%", "2", "2"]
    assert rows["Streets"][1:5] == ["100.0%", "100.0%", "2", "2"]
    assert rows["none-of-the-classes"][-3:] == ["100.0%", "of", "2"]
