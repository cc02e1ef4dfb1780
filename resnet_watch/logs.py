"""structlog setup: JSON lines into a size-capped rotating file, readable lines on a TTY.

Events are snake_case verbs with fields (``image_classified path=... top1=...``).
Third-party stdlib logging (watchdog, PIL) goes through the same processors via
``ProcessorFormatter`` so one file holds everything. The file handler rotates by
bytes, so the log on disk never exceeds ``max_bytes * (backups + 1)``.

Under systemd (``JOURNAL_STREAM`` set) logs go to stderr only, as JSON, and
journald does the keeping; a file log is written there only if configured
explicitly with ``log.format: json`` and a file.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import structlog

__all__ = ["configure_logging", "get_logger", "under_systemd"]

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_LEVELS["error"] = logging.ERROR


def under_systemd(environ: Mapping[str, str] | None = None) -> bool:
    """True when stderr is connected to the journal (systemd sets JOURNAL_STREAM)."""
    environ = os.environ if environ is None else environ
    return bool(environ.get("JOURNAL_STREAM"))


class _CappedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """RotatingFileHandler whose every line fits in a quarter of the file (min 256 bytes).

    The stdlib one rotates an oversized record into a file of its own, breaking the cap.
    Such a line is not dropped either: its longest fields are shortened until it fits and
    it says ``"truncated": true``, so every event still reaches the log as JSON.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if self.maxBytes <= 0:
            return line
        return _fit_json_line(line, max(256, self.maxBytes // 4))


_KEEP = ("event", "level", "timestamp", "logger")


def _fit_json_line(line: str, limit: int) -> str:
    """``line`` (one JSON object) within ``limit`` UTF-8 bytes, longest fields cut first."""
    if _size(line) <= limit:
        return line
    try:
        event = json.loads(line)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        event = {"event": "log_line_truncated", "text": line}
    event["truncated"] = True
    while True:
        text = json.dumps(event, ensure_ascii=False)
        excess = _size(text) - limit
        if excess <= 0:
            return text
        longest = max(
            (k for k in event if k not in _KEEP and k != "truncated"),
            key=lambda k: _size(json.dumps(event[k], ensure_ascii=False)),
            default=None,
        )
        if longest is None:
            kept = {k: str(event[k])[:64] for k in _KEEP if k in event}
            return json.dumps({**kept, "truncated": True}, ensure_ascii=False)
        value = event[longest]
        value = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        room = len(value) - excess - 8
        event[longest] = value[: max(0, room)] + "..." if room > 16 else "..."
        if room <= 16 and value == "...":
            del event[longest]


def _size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
    ]


def configure_logging(
    *,
    level: str = "info",
    file: Path | None = None,
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 3,
    fmt: str = "auto",
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Route structlog and stdlib logging to ``stream`` (default stderr) and ``file``.

    ``fmt``: "json", "console", or "auto" (console on a TTY, JSON otherwise).
    """
    stream = sys.stderr if stream is None else stream
    journal = under_systemd(environ)
    if fmt == "auto":
        fmt = "console" if (stream.isatty() and not journal) else "json"
    shared = _shared_processors()

    def formatter(renderer: Any) -> logging.Formatter:
        return structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )

    json_renderer = structlog.processors.JSONRenderer(sort_keys=False)
    stream_renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=stream.isatty()) if fmt == "console" else json_renderer
    )
    handlers: list[logging.Handler] = []
    stream_handler = logging.StreamHandler(stream)
    stream_handler.setFormatter(formatter(stream_renderer))
    handlers.append(stream_handler)
    if file is not None and not journal:
        file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = _CappedRotatingFileHandler(
            file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True
        )
        file_handler.setFormatter(formatter(json_renderer))
        handlers.append(file_handler)

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(_LEVELS.get(level, logging.INFO))
    logging.captureWarnings(True)  # Pillow's "Corrupt EXIF data" etc. land in the log
    for noisy in ("watchdog", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def get_logger(name: str = "resnet_watch") -> Any:
    """A structlog logger; configure_logging decides where its events go."""
    return structlog.get_logger(name)
