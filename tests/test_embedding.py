"""The sidecar's compact embedding: small, faithful to cosine, tagged with its model."""

from __future__ import annotations

import json

import numpy as np

from resnet_watch.embedding import cosine_matrix, decode, encode
from tests.fakes import FAKE_INFO


def _features(seed: int, dim: int = 1280) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.maximum(rng.normal(0, 1, dim), 0).astype(np.float32) * 3


def test_round_trip_keeps_direction_in_under_two_kilobytes() -> None:
    """1280 values come back with cosine >= 0.999 from a field under 2 kB of JSON."""
    features = _features(1)
    field = encode(features, FAKE_INFO)
    back = decode(json.loads(json.dumps(field)))
    assert back is not None
    assert float(cosine_matrix(features[None], back.vector[None])[0, 0]) >= 0.999
    assert len(json.dumps(field)) < 2048


def test_embedding_names_the_model_that_made_it() -> None:
    """The decoded embedding matches its own model and weights only."""
    back = decode(encode(_features(2), FAKE_INFO))
    assert back is not None
    assert back.matches(FAKE_INFO.name, FAKE_INFO.weights_sha256)
    assert not back.matches("resnet18", FAKE_INFO.weights_sha256)
    assert not back.matches(FAKE_INFO.name, "1" * 64)


def test_damaged_fields_decode_to_nothing() -> None:
    """Truncated data, bad base64, wrong dims or a foreign encoding give None, not garbage."""
    good = encode(_features(3), FAKE_INFO)
    damaged = [
        None,
        "text",
        {**good, "data": good["data"][:-8]},
        {**good, "data": "!!!not base64!!!"},
        {**good, "dim": 7},
        {**good, "encoding": "float16"},
        {k: v for k, v in good.items() if k != "scale"},
        {**good, "scale": "nan"},
    ]
    assert [decode(x) for x in damaged] == [None] * len(damaged)
