"""Model selection, labels and the bundled EfficientNet-Lite0 on real photos."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from resnet_watch.errors import ConfigError, WeightsInvalid, WeightsMissing
from resnet_watch.models import labels, load_classifier
from resnet_watch.models.photos import load_batch
from tests.fixtures_models import (
    effnet_classifier,
    held_out_photos,
    isolated_torch_home,
    skimage_photo,
)
from tests.requirements import need

__all__ = ["effnet_classifier", "isolated_torch_home"]  # pytest fixtures used below

CATS = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat", "lynx"}


def top_names(classifier: Any, photo: Path, k: int = 5) -> list[str]:
    batch = load_batch([photo], classifier.preprocess)
    return [label.name for label in classifier.predict(batch, k)[0]]


def test_importing_models_does_not_import_torch() -> None:
    """Importing the package stays cheap: torch loads only when a model is."""
    code = "import sys, resnet_watch.models; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.strip() == "False"


def test_labels_are_the_1000_imagenet_classes_in_standard_order() -> None:
    """Labels carry the ILSVRC index, WordNet id and a readable name."""
    table = labels()
    assert len(table) == 1000
    assert [row[0] for row in table] == list(range(1000))
    wnids = [row[1] for row in table]
    assert wnids == sorted(wnids) and len(set(wnids)) == 1000
    assert table[0] == (0, "n01440764", "tench")
    assert table[281] == (281, "n02123045", "tabby")


@pytest.mark.usefixtures("isolated_torch_home")
def test_resnet18_without_weights_fails_fast_naming_both_commands(tmp_path: Path) -> None:
    """model: resnet18 with nothing installed stops at once and says how to get weights."""
    with pytest.raises(WeightsMissing) as err:
        load_classifier("resnet18", tmp_path, threads=1)
    assert "resnet-watch weights fetch resnet18" in str(err.value)
    assert "resnet-watch weights import FILE" in str(err.value)


def test_unknown_model_name_is_a_config_error(tmp_path: Path) -> None:
    """A typo in `model:` names the config key."""
    with pytest.raises(ConfigError, match="model"):
        load_classifier("resnet50", tmp_path, threads=1)


@pytest.mark.usefixtures("isolated_torch_home")
def test_auto_without_resnet18_weights_runs_the_bundled_model(tmp_path: Path) -> None:
    """A fresh offline install tags with the real bundled model and says why."""
    classifier, reason = load_classifier("auto", tmp_path, threads=1)
    info = classifier.info
    assert info.name == "efficientnet_lite0"
    assert (info.precision, info.runtime, info.fixture) == ("fp32", "onnxruntime", False)
    assert info.weights_sha256.startswith("579344248a93e230")
    assert "fallback" in reason


def test_corrupt_bundled_weights_stop_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A damaged bundled file is refused, never loaded."""
    from resnet_watch.models import loader, manifest

    real = manifest.bundled_file(manifest.manifest_entry("efficientnet_lite0"))
    assert real is not None
    damaged = tmp_path / "damaged.pth"
    shutil.copy(real, damaged)
    with damaged.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"\x00" * 16)
    monkeypatch.setattr(loader, "bundled_file", lambda entry: damaged)
    with pytest.raises(WeightsInvalid, match="corrupt"):
        load_classifier("efficientnet_lite0", tmp_path, threads=1)


def test_bundled_model_sees_the_cat_in_chelsea(effnet_classifier: Any) -> None:
    """scikit-image's chelsea.png (a tabby cat) gets a cat class in the top 5."""
    assert CATS & set(top_names(effnet_classifier, skimage_photo("chelsea.png")))


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (51, "macaw"),
        (55, "black swan"),
        (64, "fiddler crab"),
        (74, "pelican"),
        (76, "killer whale"),
        (83, "lynx"),
        (88, "American black bear"),
        (95, "Arabian camel"),
        (99, "binoculars"),
    ],
)
def test_bundled_model_names_obvious_subjects(
    effnet_classifier: Any, number: int, expected: str
) -> None:
    """Held-out real photos (ai-benchmark 50..99) get their obvious subject in the top 3."""
    photos = held_out_photos()
    need(number in photos, "ai-benchmark==0.1.2 photos are not installed")
    assert expected in top_names(effnet_classifier, photos[number], k=3)


def test_predict_returns_ranked_softmax_labels_per_image(effnet_classifier: Any) -> None:
    """Each image gets top_k labels, best first, scores are probabilities; batching is exact."""
    photos = [skimage_photo("chelsea.png"), skimage_photo("coffee.png")]
    batch = load_batch(photos, effnet_classifier.preprocess)
    together = effnet_classifier.predict(batch, 5)
    alone = [effnet_classifier.predict(batch[i : i + 1], 5)[0] for i in range(2)]
    assert [len(row) for row in together] == [5, 5]
    for row, single in zip(together, alone, strict=True):
        assert [label.rank for label in row] == [1, 2, 3, 4, 5]
        scores = [label.score for label in row]
        assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1.0001
        assert [label.index for label in row] == [label.index for label in single]
        np.testing.assert_allclose(scores, [label.score for label in single], atol=1e-4)
    assert together[1][0].name == "espresso"
    assert together[1][0].wnid == labels()[together[1][0].index][1]


def test_predict_rejects_a_batch_of_the_wrong_shape(effnet_classifier: Any) -> None:
    """A batch not made per the model's Preprocess is a programming error, not a label."""
    with pytest.raises(ValueError, match="224"):
        effnet_classifier.predict(np.zeros((1, 3, 256, 256), np.float32), 5)
    assert effnet_classifier.predict(np.zeros((0, 3, 224, 224), np.float32), 5) == []
