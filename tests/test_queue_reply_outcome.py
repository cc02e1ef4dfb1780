"""A worker's reply as the record the watcher writes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from resnet_watch.embedding import encode
from resnet_watch.models.spec import Label, ModelInfo
from resnet_watch.queue.reply_outcome import classified_from
from resnet_watch.queue.task import Reply
from resnet_watch.sidecar import FileFacts
from tests.fakes import FAKE_INFO

LABEL = Label(1, 0, "n00000000", "reddish", 0.9)
FACTS = FileFacts("a.jpg", 10, 20, "cd" * 32)
VECTOR = np.linspace(-1.0, 1.0, 48, dtype=np.float32)


def _reply(embedding_model: ModelInfo = FAKE_INFO) -> Reply:
    """An ok reply from a worker serving FAKE_INFO, its vector made by ``embedding_model``."""
    embedding = encode(VECTOR, embedding_model)
    return Reply(
        "/in/a.jpg", "ok", FACTS, FAKE_INFO, "w1", 12.5, 64, 48, "JPEG", (LABEL,), "", "", embedding
    )


def test_an_ok_reply_becomes_the_classified_record_with_its_features() -> None:
    """Labels, size, format, time and the worker's feature vector reach the sidecar."""
    out = classified_from(_reply())
    assert (out.path, out.facts, out.width, out.height, out.format) == (
        Path("/in/a.jpg"),
        FACTS,
        64,
        48,
        "JPEG",
    )
    assert out.labels == [LABEL] and out.elapsed_ms == 12.5
    assert out.features is not None
    assert np.allclose(out.features, VECTOR, atol=0.01)


def test_features_from_another_model_are_dropped() -> None:
    """A vector the named model did not make is not kept (it would mislead custom classes)."""
    other = dataclasses.replace(FAKE_INFO, weights_sha256="1" * 64)
    assert classified_from(_reply(other)).features is None
