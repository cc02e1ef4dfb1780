"""startup: the start-up steps keep the daemon starting, and say what they found."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import structlog
from structlog.testing import capture_logs

from resnet_watch.config import Config, load_config
from resnet_watch.fsutil import TEMP_PREFIX
from resnet_watch.startup import open_library, remove_temp_files
from tests.fakes import FAKE_INFO


def config(tmp_path: Path, index: Path) -> Config:
    cfg = load_config(None, environ={}, prepare_inbox=False)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return dataclasses.replace(
        cfg,
        inbox=dataclasses.replace(cfg.inbox, paths=(inbox,)),
        library=dataclasses.replace(cfg.library, index=index),
    )


def test_an_unwritable_index_location_falls_back_to_memory(tmp_path: Path) -> None:
    """An index whose folder cannot be made is kept in memory, and the log says so."""
    blocker = tmp_path / "state"
    blocker.write_text("a file where the index folder should be")
    cfg = config(tmp_path, blocker / "library.sqlite")
    with capture_logs() as logs:
        index, _catalog = open_library(cfg, FAKE_INFO, structlog.get_logger(), None)
    try:
        assert str(index.path) == ":memory:"
        events = [e["event"] for e in logs]
        assert "index_unavailable" in events and "index_opened" in events
        assert blocker.read_text() == "a file where the index folder should be"
    finally:
        index.close()


def test_leftover_temp_files_are_removed_and_photos_kept(tmp_path: Path) -> None:
    """A temp file from a killed write is removed and logged; the user's files stay."""
    cfg = config(tmp_path, tmp_path / "state" / "library.sqlite")
    inbox = cfg.inbox.paths[0]
    leftover = inbox / f"{TEMP_PREFIX}photo.jpg.json"
    leftover.write_text("{")
    photo = inbox / "photo.jpg"
    photo.write_bytes(b"\xff\xd8 not really a jpeg")
    with capture_logs() as logs:
        remove_temp_files(cfg, structlog.get_logger())
    assert not leftover.exists()
    assert photo.read_bytes() == b"\xff\xd8 not really a jpeg"
    removed = [e for e in logs if e["event"] == "temp_file_removed"]
    assert [e["path"] for e in removed] == [str(leftover)]
