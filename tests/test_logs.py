"""Logging: JSON events in a file whose total size never exceeds the cap."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import structlog

from resnet_watch.logs import configure_logging, get_logger


def teardown_function() -> None:
    structlog.reset_defaults()
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()


def test_events_are_json_lines_with_fields(tmp_path: Path) -> None:
    """An event is one JSON object with its name, fields, level and UTC timestamp."""
    log_file = tmp_path / "rw.log"
    configure_logging(file=log_file, fmt="json", environ={})
    get_logger("t").info("image_classified", path="/x.jpg", top1="tabby", ms=3.2)
    logging.getLogger("watchdog.observers").warning("from a library")
    lines = [json.loads(x) for x in log_file.read_text().splitlines()]
    assert lines[0]["event"] == "image_classified" and lines[0]["top1"] == "tabby"
    assert lines[0]["level"] == "info" and lines[0]["timestamp"].endswith("Z")
    assert lines[1]["event"] == "from a library" and lines[1]["level"] == "warning"


def test_log_on_disk_never_exceeds_the_cap(tmp_path: Path) -> None:
    """A flood of failures keeps the log under max_bytes * (backups + 1)."""
    log_file = tmp_path / "rw.log"
    configure_logging(file=log_file, fmt="json", max_bytes=4096, backups=2, environ={})
    log = get_logger("t")
    for i in range(3000):
        log.warning(
            "image_failed", path=f"/inbox/{i}.jpg", kind="corrupt_image", error="x" * (i % 50)
        )
    log.error("image_failed", path="/huge", error="y" * 100_000)  # one absurd record
    files = list(tmp_path.glob("rw.log*"))
    total = sum(f.stat().st_size for f in files)
    assert len(files) <= 3
    assert total <= 4096 * 3


def test_under_systemd_logs_go_to_stderr_only(tmp_path: Path, capsys) -> None:
    """With JOURNAL_STREAM set there is no file log: journald keeps the logs."""
    log_file = tmp_path / "rw.log"
    configure_logging(file=log_file, fmt="auto", environ={"JOURNAL_STREAM": "8:1234"})
    get_logger("t").info("daemon_started", pid=1)
    assert not log_file.exists()
    err = capsys.readouterr().err
    assert json.loads(err.strip().splitlines()[-1])["event"] == "daemon_started"


def test_an_oversized_event_is_truncated_not_dropped(tmp_path: Path, capsys) -> None:
    """A 100 KB field: the event still lands, as JSON, short fields intact, marked truncated."""
    log_file = tmp_path / "rw.log"
    configure_logging(file=log_file, fmt="json", max_bytes=4096, backups=2, environ={})
    log = get_logger("t")
    log.error("image_failed", path="/inbox/huge.jpg", kind="corrupt_image", error="y" * 100_000)
    log.info("image_classified", path="/inbox/next.jpg")
    lines = [json.loads(x) for x in log_file.read_text().splitlines()]
    assert [e["event"] for e in lines] == ["image_failed", "image_classified"]
    first = lines[0]
    assert first["truncated"] is True and first["path"] == "/inbox/huge.jpg"
    assert first["kind"] == "corrupt_image" and first["error"].startswith("yyyy")
    assert all(len(x.encode()) <= 1024 for x in log_file.read_text().splitlines())
    assert "Logging error" not in capsys.readouterr().err
