"""Custom-class heads: training, open-set rejection, the head file, model checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from resnet_watch.errors import HeadError
from resnet_watch.head_input import PROBABILITY_MASS, ROOT_MASS, Samples, head_input
from resnet_watch.heads import CENTROID, LOGISTIC, MIN_NEGATIVES, load_head, save_head, train_head
from resnet_watch.softmax_regression import SoftmaxModel, probabilities

SHA = "ab" * 32


def cluster(center: np.ndarray, n: int, seed: int, spread: float = 0.25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.abs(center + rng.normal(0, spread, (n, center.size))).astype(np.float32)


def centers(dim: int = 64) -> dict[str, np.ndarray]:
    """Three well-separated non-negative "activation" patterns, like post-ReLU features."""
    out = {}
    for k, name in enumerate(["Rex", "Receipts", "Boat"]):
        c = np.zeros(dim, np.float32)
        c[k * 16 : k * 16 + 16] = 2.0
        out[name] = c
    return out


def trained(negatives: np.ndarray | None = None, spread: float = 0.8):
    examples = {
        name: cluster(c, 10, seed=i, spread=spread) for i, (name, c) in enumerate(centers().items())
    }
    return train_head(examples, model="efficientnet_lite0", weights_sha256=SHA, negatives=negatives)


def test_new_photos_of_a_class_get_that_class() -> None:
    """Most held-out members of each class get it (>= 70%), and none gets another class."""
    head, cal = trained(spread=0.5)
    for i, (name, c) in enumerate(centers().items()):
        matches = [head.match(row) for row in cluster(c, 20, seed=100 + i, spread=0.5)]
        assert sum(m is not None and m.name == name for m in matches) >= 14
        assert all(m is None or m.name == name for m in matches)
    assert cal.loo_recall >= 0.8


def test_a_photo_of_none_of_the_classes_gets_none() -> None:
    """A vector unlike every class is rejected by the calibrated thresholds."""
    head, _ = trained()
    other = np.zeros(64, np.float32)
    other[48:] = 2.0
    for row in cluster(other, 5, seed=7):
        assert head.match(row) is None


def test_negatives_raise_the_bar_for_lookalikes() -> None:
    """_none examples resembling a class make the thresholds reject that lookalike."""
    c = centers()
    lookalike = c["Rex"] + c["Receipts"] * 0.5
    probes = cluster(lookalike, 10, seed=11, spread=0.3)
    without, _ = trained()
    with_negatives, cal = trained(negatives=cluster(lookalike, 10, seed=12, spread=0.3))
    rejected_before = sum(without.match(p) is None for p in probes)
    rejected_after = sum(with_negatives.match(p) is None for p in probes)
    assert rejected_after >= 9 and rejected_after > rejected_before
    assert cal.negatives_rejected is not None and cal.negatives_rejected >= 0.9


def test_head_file_round_trips_with_its_manifest(tmp_path: Path) -> None:
    """The saved file names classes, model, thresholds, example counts and date."""
    head, _ = trained()
    path = tmp_path / "head.json"
    save_head(head, path)
    back = load_head(path)
    assert back.classes == ("Boat", "Receipts", "Rex")
    assert back.model == "efficientnet_lite0" and back.weights_sha256 == SHA
    assert back.thresholds == head.thresholds
    assert dict(back.examples) == {"Boat": 10, "Receipts": 10, "Rex": 10}
    assert back.created_at.endswith("Z")
    probe = cluster(centers()["Boat"], 1, seed=5, spread=0.8)[0]
    assert back.match(probe) == head.match(probe)


def test_a_head_for_another_model_is_refused_with_what_to_do() -> None:
    """check_model names both models and says to run learn again."""
    head, _ = trained()
    head.check_model("efficientnet_lite0", SHA)
    with pytest.raises(HeadError, match=r"learned with efficientnet_lite0.*resnet18.*learn"):
        head.check_model("resnet18", "cd" * 32)


def test_damaged_or_foreign_head_files_are_named(tmp_path: Path) -> None:
    """A missing, non-JSON or foreign file gives HeadError naming the file."""
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"format": "something-else"}')
    for path in (tmp_path / "missing.json", bad, foreign):
        with pytest.raises(HeadError, match=path.name):
            load_head(path)


def test_no_classes_is_an_error() -> None:
    """Training with no class folders says what is expected."""
    with pytest.raises(HeadError, match="one folder"):
        train_head({}, model="m", weights_sha256=SHA)


def test_an_unwritable_head_path_is_a_clear_error(tmp_path: Path) -> None:
    """Saving into a folder that does not exist names the path instead of a traceback."""
    head, _ = trained()
    with pytest.raises(HeadError, match="cannot write the head file"):
        save_head(head, tmp_path / "no" / "such" / "head.json")


def test_with_negatives_the_head_is_logistic_and_round_trips(tmp_path: Path) -> None:
    """Five or more _none examples give the logistic head; its file reloads to the same
    decisions, and a photo like the negatives gets no class."""
    c = centers()
    other = np.zeros(64, np.float32)
    other[48:] = 2.0
    head, cal = trained(negatives=cluster(other, 10, seed=21))
    assert head.method == LOGISTIC and cal.negatives_rejected == 1.0
    path = tmp_path / "head.json"
    save_head(head, path)
    back = load_head(path)
    assert back.method == LOGISTIC and json.loads(path.read_text())["version"] == 2
    probes = np.concatenate([cluster(c["Rex"], 5, seed=22), cluster(other, 5, seed=23)])
    assert [back.match(p) for p in probes] == [head.match(p) for p in probes]
    assert [m.name if m else None for m in map(back.match, probes)] == ["Rex"] * 5 + [None] * 5


def test_without_enough_negatives_the_head_is_the_centroid_one() -> None:
    """Fewer than MIN_NEGATIVES _none examples cannot describe "none of these": centroid."""
    few, _ = trained(negatives=cluster(centers()["Rex"] * 0.0 + 1.0, MIN_NEGATIVES - 1, seed=3))
    assert few.method == CENTROID and few.negatives == MIN_NEGATIVES - 1


def test_a_version_1_head_file_still_loads_and_decides_the_same(tmp_path: Path) -> None:
    """A head written by v0.2 (version 1, no "method") is read as the centroid head it is."""
    head, _ = trained()
    path = tmp_path / "v1.json"
    save_head(head, path)
    doc = json.loads(path.read_text())
    doc["version"] = 1
    for key in ("method", "rows"):
        doc.pop(key)
    path.write_text(json.dumps(doc))
    back = load_head(path)
    probe = cluster(centers()["Boat"], 1, seed=5, spread=0.8)[0]
    assert back.method == CENTROID and back.match(probe) == head.match(probe)


def test_a_head_from_a_newer_version_is_refused_with_what_to_do(tmp_path: Path) -> None:
    """An unknown head version names the versions this one reads and says to learn again."""
    head, _ = trained()
    path = tmp_path / "future.json"
    save_head(head, path)
    doc = json.loads(path.read_text())
    doc["version"] = 3
    path.write_text(json.dumps(doc))
    with pytest.raises(HeadError, match=r"head version 3.*versions 1 and 2.*learn"):
        load_head(path)


def test_a_head_learned_before_the_calibration_keeps_its_label_weighting(
    tmp_path: Path,
) -> None:
    """A version-2 head file without "ancestry" (v0.3) is read with the square-root label
    weighting it was learned with; a new file says which weighting it uses."""
    rng = np.random.default_rng(8)

    def samples(n: int, first: int) -> Samples:
        labels = tuple(((first + i % 3, 0.6), (400 + i, 0.3), (900, 0.1)) for i in range(n))
        return Samples(rng.random((n, 32), dtype=np.float32), labels)

    head, _ = train_head(
        {"Rex": samples(10, 150), "Boat": samples(10, 510)},
        model="m",
        weights_sha256=SHA,
        negatives=samples(10, 700),
    )
    path = tmp_path / "head.json"
    save_head(head, path)
    doc = json.loads(path.read_text())
    assert doc["input"]["labels"]["ancestry"] == PROBABILITY_MASS
    del doc["input"]["labels"]["ancestry"]
    path.write_text(json.dumps(doc))
    old = load_head(path)
    probe = samples(4, 150)
    model = SoftmaxModel(old.rows, old._intercept())
    learned_with = probabilities(model, head_input(probe, old.semantic_weight, ROOT_MASS))
    assert old.ancestry == ROOT_MASS
    assert np.allclose(old.scores(probe), learned_with[:, :2], atol=1e-6)
    assert not np.allclose(head.scores(probe), old.scores(probe), atol=1e-3)
