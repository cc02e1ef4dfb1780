"""Large decodes one at a time, and their memory handed back to the system afterwards.

A 225 MP PNG costs ~1 GB while decoded (Pillow keeps RGB at 4 bytes a pixel), and DCT
scaling, which keeps JPEGs small, exists for no other format. Decode threads and the web
UI's thumbnails would otherwise hold several such buffers at once (six /thumb requests
peaked at 2.27 GB), so every decode whose full-resolution buffer is at least
``LARGE_DECODE_PIXELS`` takes one process-wide slot, and glibc is asked to return the freed
arena pages once it is done.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import threading
from collections.abc import Callable, Iterator
from typing import Final

__all__ = ["LARGE_DECODE_PIXELS", "large_decode", "large_decodes_running"]

LARGE_DECODE_PIXELS: Final = 16_000_000
"""A decode buffer this big (64 MB in Pillow) or bigger waits for the single slot."""

_slot = threading.BoundedSemaphore(1)
_count_lock = threading.Lock()
_running = 0


def _load_trim() -> Callable[[], None]:
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is None:
        return lambda: None

    def run() -> None:
        trim(0)

    return run


_trim = _load_trim()


@contextlib.contextmanager
def large_decode(pixels: int) -> Iterator[None]:
    """Hold the single large-decode slot while decoding ``pixels`` (a no-op below the bar)."""
    if pixels < LARGE_DECODE_PIXELS:
        yield
        return
    global _running
    with _slot:
        with _count_lock:
            _running += 1
        try:
            yield
        finally:
            with _count_lock:
                _running -= 1
    _trim()


def large_decodes_running() -> int:
    """How many large decodes hold the slot now (0 or 1); for tests and metrics."""
    with _count_lock:
        return _running
