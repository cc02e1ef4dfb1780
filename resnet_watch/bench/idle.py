"""The real daemon, started on an empty inbox: its ready time and idle CPU."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from resnet_watch.config import Config

__all__ = ["idle_daemon"]


def idle_daemon(cfg: Config, seconds: float = 10.0) -> dict[str, Any]:
    """Start the real daemon on an empty inbox; its ready time and CPU use while idle.

    Idle CPU should be ~0%: inotify wakes it only for events, and its own loops
    tick a few times a second.
    """
    import signal
    import subprocess
    import tempfile

    import yaml

    ticks = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory(prefix="rw-bench-idle-") as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "inbox": {"paths": [str(Path(tmp) / "inbox")]},
                    "model": {"name": cfg.model.name, "weights_dir": str(cfg.model.weights_dir)},
                    "log": {"file": None, "format": "json"},
                }
            )
        )
        log = Path(tmp) / "stderr.log"
        with open(log, "wb") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "resnet_watch", "run", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"},
            )
            try:
                ready_ms = None
                while time.perf_counter() - started < 120 and proc.poll() is None:
                    for line in log.read_text(errors="replace").splitlines():
                        if '"daemon_started"' in line:
                            ready_ms = json.loads(line).get("ready_ms")
                    if ready_ms is not None:
                        break
                    time.sleep(0.05)
                wall_to_ready = (time.perf_counter() - started) * 1000

                def cpu_s() -> float:
                    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                    return (int(fields[11]) + int(fields[12])) / ticks

                before, t0 = cpu_s(), time.perf_counter()
                time.sleep(seconds)
                used, span = cpu_s() - before, time.perf_counter() - t0
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return {
        "ready_ms_in_daemon": ready_ms,
        "process_start_to_ready_ms": wall_to_ready,
        "idle_cpu_percent": 100 * used / span,
        "idle_seconds": span,
    }
