"""watchdog events turned into small records on a queue, on watchdog's own thread.

watchdog runs handlers on its observer thread under its lock: a slow handler stalls every
watch and an exception kills the thread silently. So the handler here only records
``(kind, path, destination)`` and returns; the watcher's settle thread does the work.
"""

from __future__ import annotations

import os
import queue

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)

__all__ = [
    "EVENT_FILTER",
    "GONE",
    "GONE_DIR",
    "MOVED",
    "SCAN_DIR",
    "TOUCH",
    "QueuedEvent",
    "QueueingHandler",
]

EVENT_FILTER = (
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
)
"""Only these reach the handler: no open/close-nowrite/attrib noise when the pipeline reads."""

TOUCH = "touch"
GONE = "gone"
MOVED = "moved"
GONE_DIR = "gone_dir"
SCAN_DIR = "scan_dir"

QueuedEvent = tuple[str, str, str]  # (kind, path, destination of a move or "")


class QueueingHandler(FileSystemEventHandler):
    """Runs on watchdog's observer thread: records the event and returns, nothing else.

    ``dispatched`` counts calls, so a health check can tell a stuck observer from an idle one.
    """

    def __init__(self, sink: queue.SimpleQueue[QueuedEvent]) -> None:
        super().__init__()
        self._sink = sink
        self.dispatched = 0

    def dispatch(self, event: FileSystemEvent) -> None:
        self.dispatched += 1
        put = self._sink.put
        src = os.fsdecode(event.src_path)
        if isinstance(event, FileMovedEvent):
            put((MOVED, src, os.fsdecode(event.dest_path)))
        elif isinstance(event, FileClosedEvent | FileModifiedEvent | FileCreatedEvent):
            put((TOUCH, src, ""))
        elif isinstance(event, FileDeletedEvent):
            put((GONE, src, ""))
        elif isinstance(event, DirMovedEvent):
            # watchdog follows it with one FileMovedEvent per file inside (renames keep tags)
            put((SCAN_DIR, os.fsdecode(event.dest_path), ""))
        elif isinstance(event, DirCreatedEvent):
            put((SCAN_DIR, src, ""))
        elif isinstance(event, DirDeletedEvent):
            put((GONE_DIR, src, ""))
