"""TEST ONLY: run the CLI with a watcher that hangs on one file, as on a hung NFS mount.

``lstat`` of any path whose name starts with ``hung-mount`` blocks forever in the
watcher's settle thread (exactly what a dead NFS server does to ``stat``), so a test can
check that the daemon stops telling systemd it is alive when its watcher is wedged.
"""

from __future__ import annotations

import functools
import sys
import threading
from pathlib import Path

import resnet_watch.settle as settle
from resnet_watch.cli import main

_real_lstat = settle._lstat
_never = threading.Event()


def _hanging_lstat(path: Path) -> settle.StatLike:
    if Path(path).name.startswith("hung-mount"):
        _never.wait()
    return _real_lstat(path)


settle.StabilityTracker.__init__ = functools.partialmethod(  # type: ignore[method-assign]
    settle.StabilityTracker.__init__, stat_fn=_hanging_lstat
)

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
