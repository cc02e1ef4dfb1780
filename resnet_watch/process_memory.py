"""This process's memory: how big it is, and handing freed heap back to the system.

The daemon runs for months and the status page, /metrics and the benches all report
RSS; glibc keeps the buffers of freed decodes unless asked, so the daemon's main loop
trims after bursts of work. Leaf module: stdlib only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable

__all__ = ["memory_trimmer", "rss_bytes"]


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def memory_trimmer() -> Callable[[], None]:
    """glibc keeps freed decode buffers; returning them keeps RSS flat over months."""
    name = ctypes.util.find_library("c")
    if not name:
        return lambda: None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return lambda: None

    def run() -> None:
        trim(0)

    return run
