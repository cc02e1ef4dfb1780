"""The store: sidecars as state, one log event per image, write failures retried."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from structlog.testing import capture_logs

from resnet_watch.embedding import decode
from resnet_watch.models.spec import Label
from resnet_watch.outcomes import Classified, Failed, Skipped
from resnet_watch.sidecar import FileFacts, read_sidecar
from resnet_watch.store import SidecarStore, StoreSettings
from tests.fakes import FAKE_INFO

LABELS = [Label(1, 281, "n02123045", "tabby", 0.9)]


def store(**kw) -> SidecarStore:
    import structlog

    return SidecarStore(StoreSettings(**kw), FAKE_INFO, structlog.get_logger("t"))


def classified(path: Path, features: np.ndarray | None = None) -> Classified:
    st = path.stat()
    facts = FileFacts(path.name, st.st_size, st.st_mtime_ns, "a" * 64)
    return Classified(path, facts, 4, 3, "JPEG", LABELS, 5.0, features)


def test_result_is_written_and_logged_once(tmp_path: Path) -> None:
    """A classified image gets its sidecar and exactly one image_classified event."""
    image = tmp_path / "a.jpg"
    image.write_bytes(b"x")
    s = store()
    with capture_logs() as logs:
        assert s.sink(classified(image)) is None
    assert [e["event"] for e in logs] == ["image_classified"]
    assert logs[0]["top1"] == "tabby"
    record = read_sidecar(tmp_path / "a.jpg.resnet-watch.json")
    assert record is not None and record["labels"][0]["name"] == "tabby"
    st = image.stat()
    assert s.gate(image, FileFacts("a.jpg", st.st_size, st.st_mtime_ns)).action == "skip"


def test_disk_full_is_an_event_and_a_retry_not_a_partial_file(tmp_path: Path, monkeypatch) -> None:
    """ENOSPC while writing: sidecar_write_failed, no file left, a retry delay returned."""
    image = tmp_path / "a.jpg"
    image.write_bytes(b"x")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    s = store(backoff_seconds=5)
    with capture_logs() as logs:
        delay = s.sink(classified(image))
    assert delay == 5
    assert any(e["event"] == "sidecar_write_failed" and "No space" in e["error"] for e in logs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg"]
    with capture_logs():
        assert s.sink(classified(image)) == 10  # backs off
        assert s.sink(classified(image)) is None  # gives up after `retries`


def test_failure_counts_attempts_across_calls(tmp_path: Path) -> None:
    """Each failure of the same file version bumps attempts in its record."""
    image = tmp_path / "bad.jpg"
    image.write_bytes(b"junk")
    st = image.stat()
    facts = FileFacts("bad.jpg", st.st_size, st.st_mtime_ns)
    s = store(retries=3, backoff_seconds=1)
    with capture_logs():
        assert s.sink(Failed(image, facts, "corrupt_image", "truncated", 1.0)) == 1
        assert s.sink(Failed(image, facts, "corrupt_image", "truncated", 1.0)) == 2
        assert s.sink(Failed(image, facts, "corrupt_image", "truncated", 1.0)) is None
    record = read_sidecar(tmp_path / "bad.jpg.resnet-watch.json")
    assert record is not None and record["attempts"] == 3 and record["gave_up"] is True
    assert image.read_bytes() == b"junk"


def test_failure_of_a_vanished_file_writes_nothing(tmp_path: Path) -> None:
    """A file deleted before its failure is recorded leaves no orphan sidecar."""
    gone = tmp_path / "gone.jpg"
    with capture_logs() as logs:
        s = store()
        s.sink(Failed(gone, None, "unreadable_file", "vanished", 0.0))
    assert not list(tmp_path.iterdir())
    assert logs[0]["reason"] == "vanished"


def test_same_content_refreshes_the_recorded_mtime(tmp_path: Path) -> None:
    """A plain cp (same bytes, new mtime) updates the sidecar's facts, no re-classify."""
    image = tmp_path / "a.jpg"
    image.write_bytes(b"x")
    s = store()
    with capture_logs():
        s.sink(classified(image))
        os.utime(image, ns=(1, 2))
        st = image.stat()
        s.sink(
            Skipped(image, "same_content", FileFacts("a.jpg", st.st_size, st.st_mtime_ns, "a" * 64))
        )
    record = read_sidecar(tmp_path / "a.jpg.resnet-watch.json")
    assert record is not None and record["file"]["mtime_ns"] == 2


def test_the_embedding_is_stored_once_with_its_model(tmp_path: Path) -> None:
    """A classified image's features land in its sidecar, tagged with the model."""
    image = tmp_path / "a.jpg"
    image.write_bytes(b"x")
    features = np.linspace(0, 6, 48, dtype=np.float32)
    store().sink(classified(image, features))
    record = read_sidecar(tmp_path / "a.jpg.resnet-watch.json")
    assert record is not None
    embedding = decode(record["embedding"])
    assert embedding is not None and embedding.matches(FAKE_INFO.name, FAKE_INFO.weights_sha256)
    assert np.allclose(embedding.vector, features, atol=0.03)


def test_keep_embeddings_off_stores_none(tmp_path: Path) -> None:
    """custom.keep_embeddings: false leaves the field out."""
    image = tmp_path / "a.jpg"
    image.write_bytes(b"x")
    store(keep_embeddings=False).sink(classified(image, np.ones(48, np.float32)))
    record = read_sidecar(tmp_path / "a.jpg.resnet-watch.json")
    assert record is not None and "embedding" not in record


def test_a_failing_custom_hook_costs_the_custom_tags_not_the_sidecar(tmp_path: Path) -> None:
    """An exception while adding custom classes is logged; labels are still written."""
    import structlog

    image = tmp_path / "a.jpg"
    image.write_bytes(b"x")

    def broken(path: Path, record: object) -> dict[str, object]:
        raise ValueError("damaged head")

    s = SidecarStore(StoreSettings(), FAKE_INFO, structlog.get_logger("t"), customize=broken)
    with capture_logs() as logs:
        s.sink(classified(image, np.ones(48, np.float32)))
    assert any(e["event"] == "custom_tags_failed" for e in logs)


def test_failing_enrich_still_writes_the_labels_and_says_so(tmp_path: Path) -> None:
    """A tag/album rule that raises costs the extras, not the sidecar: JSON written, logged."""
    image = tmp_path / "a.jpg"
    image.write_bytes(b"x")

    def broken(labels: list[Label]) -> dict[str, object]:
        raise KeyError("album rule bug")

    s = SidecarStore(
        StoreSettings(), FAKE_INFO, __import__("structlog").get_logger("t"), enrich=broken
    )
    with capture_logs() as logs:
        assert s.sink(classified(image)) is None
    events = [e["event"] for e in logs]
    assert "sidecar_extras_failed" in events and "image_classified" in events
    failed = next(e for e in logs if e["event"] == "sidecar_extras_failed")
    assert failed["stage"] == "enrich" and "album rule bug" in failed["error"]
    record = read_sidecar(tmp_path / "a.jpg.resnet-watch.json")
    assert record is not None and record["labels"][0]["name"] == "tabby"
