"""What travels through Redis: tasks, replies and the worker's view of a path."""

from __future__ import annotations

import json
from pathlib import Path

from resnet_watch.models.spec import Label
from resnet_watch.queue.task import Reply, Task, map_path
from resnet_watch.sidecar import FileFacts
from tests.fakes import FAKE_INFO


def test_path_map_uses_the_longest_matching_prefix() -> None:
    """The most specific mapping wins, and only on whole path components."""
    mapping = {"/srv/photos": "/mnt/nas", "/srv/photos/inbox/": "/mnt/fast-inbox"}
    assert map_path("/srv/photos/inbox/a/IMG_1.jpg", mapping) == Path("/mnt/fast-inbox/a/IMG_1.jpg")
    assert map_path("/srv/photos/other.jpg", mapping) == Path("/mnt/nas/other.jpg")
    assert map_path("/srv/photos-old/x.jpg", mapping) == Path("/srv/photos-old/x.jpg")
    assert map_path("/srv/photos", mapping) == Path("/mnt/nas")


def test_unmapped_paths_are_used_as_they_are() -> None:
    """A worker with the share at the same place needs no path_map."""
    assert map_path("/srv/inbox/a.jpg", None) == Path("/srv/inbox/a.jpg")
    assert map_path("/srv/inbox/a.jpg", {}) == Path("/srv/inbox/a.jpg")


def test_a_task_carries_path_and_facts_never_bytes() -> None:
    """A task survives JSON unchanged and holds only the path and the file's facts."""
    task = Task("/srv/inbox/a.jpg", 1234, 1795440448924926082, None, "resnet-watch:results")
    wire = json.loads(json.dumps(task.to_json()))
    assert Task.from_json(wire) == task
    assert set(wire) == {"path", "size", "mtime_ns", "sha256", "reply_to"}


def test_a_reply_survives_json_with_labels_and_model() -> None:
    """The watcher rebuilds exactly what the worker found, model included."""
    reply = Reply(
        "/srv/inbox/a.jpg",
        "ok",
        FileFacts("a.jpg", 10, 20, "ab" * 32),
        FAKE_INFO,
        "box:42",
        12.5,
        640,
        480,
        "JPEG",
        (Label(1, 281, "n02123045", "tabby", 0.75), Label(2, 282, "n02123159", "tiger cat", 0.2)),
    )
    assert Reply.from_json(json.loads(json.dumps(reply.to_json()))) == reply


def test_a_reply_carries_the_embedding_and_old_replies_without_one_still_parse() -> None:
    """The worker's encoded feature vector survives JSON; a reply without it is still read."""
    import numpy as np

    from resnet_watch.embedding import decode, encode

    vector = np.linspace(0, 2, 1280, dtype=np.float32)
    facts = FileFacts("a.jpg", 10, 20, "ab" * 32)
    label = (Label(1, 281, "n02123045", "tabby", 0.75),)
    reply = Reply("/a.jpg", "ok", facts, FAKE_INFO, "w", 1.0, 8, 8, "JPEG", label)
    with_vector = Reply(**{**reply.__dict__, "embedding": encode(vector, FAKE_INFO)})
    back = Reply.from_json(json.loads(json.dumps(with_vector.to_json())))
    stored = decode(back.embedding)
    assert stored is not None and stored.matches(FAKE_INFO.name, FAKE_INFO.weights_sha256)
    assert float(np.abs(stored.vector - vector).max()) < 0.01
    old = reply.to_json()
    old.pop("embedding")
    assert Reply.from_json(old).embedding is None
