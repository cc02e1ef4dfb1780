"""What a head sees: the prepared embedding and the ancestry of the stored labels."""

from __future__ import annotations

import numpy as np

from resnet_watch.head_input import (
    Samples,
    head_input,
    labels_from_record,
    semantic,
    vocabulary_sha256,
)
from resnet_watch.heads import train_head
from resnet_watch.models.labels import labels as imagenet_labels

SHA = "ab" * 32


def index_of(name: str) -> int:
    return next(index for index, _wnid, n in imagenet_labels() if n == name)


def test_labels_of_related_species_share_ancestry_unrelated_do_not() -> None:
    """A zebra and a brown bear overlap (mammals); a zebra and a laptop hardly do."""
    zebra, bear, laptop = (((index_of(n), 0.9),) for n in ("zebra", "brown bear", "laptop"))
    rows = semantic([zebra, bear, laptop])
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > 2 * (unit[0] @ unit[2])


def test_a_broad_class_is_learned_from_labels_of_other_species() -> None:
    """Ten wild mammals of ten species teach "wild mammal": a species not among the
    examples gets the class, a bird and an object do not (embeddings carry no signal)."""
    rng = np.random.default_rng(0)

    def samples(names: list[str]) -> Samples:
        vectors = rng.random((len(names), 32), dtype=np.float32)
        return Samples(vectors, tuple(((index_of(n), 0.8),) for n in names))

    mammals = ["zebra", "brown bear", "lion", "hippopotamus", "impala", "ice bear"]
    mammals += ["giant panda", "orangutan", "gazelle", "bison"]
    birds = ["goldfinch", "robin", "jay", "magpie", "bald eagle", "flamingo", "pelican"]
    birds += ["ostrich", "peacock", "toucan"]
    others = [
        "laptop",
        "cassette",
        "grand piano",
        "fire engine",
        "golf ball",
        "mitten",
        "lampshade",
    ]
    others += ["padlock", "magnetic compass", "microphone"]
    head, _ = train_head(
        {"Wild mammals": samples(mammals), "Birds": samples(birds)},
        model="m",
        weights_sha256=SHA,
        negatives=samples(others),
    )
    probe = samples(["tiger", "hummingbird", "cellular telephone"])
    got = [head.match(v, lab) for v, lab in zip(probe.vectors, probe.labels, strict=True)]
    assert [m.name if m else None for m in got] == ["Wild mammals", "Birds", None]


def test_without_labels_the_input_is_the_prepared_embedding() -> None:
    """Samples without labels (synthetic tests, sidecars without labels) use looks only."""
    vectors = np.abs(np.random.default_rng(1).normal(size=(3, 16))).astype(np.float32)
    plain = head_input(Samples(vectors), weight=0.0)
    joined = head_input(Samples(vectors))
    assert np.allclose(joined[:, :16], plain, atol=1e-6) and np.allclose(joined[:, 16:], 0)


def test_labels_are_read_from_a_record_best_first_and_damage_is_skipped() -> None:
    """index and score of each label, sorted by score; a malformed entry is left out."""
    record = {
        "labels": [
            {"index": 3, "score": 0.1},
            {"index": 285, "score": 0.7},
            {"index": "x", "score": 0.2},
            {"name": "no index"},
        ]
    }
    assert labels_from_record(record) == ((285, 0.7), (3, 0.1))
    assert labels_from_record({}) == ()


def test_the_vocabulary_is_identified_by_a_stable_hash() -> None:
    """The same taxonomy gives the same id (a head file checks it on load)."""
    assert vocabulary_sha256() == vocabulary_sha256() and len(vocabulary_sha256()) == 64
