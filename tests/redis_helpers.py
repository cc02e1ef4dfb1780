"""A private ``redis-server`` (Debian package) and ``resnet-watch worker`` processes for tests.

Each test owns its Redis: a unix socket in a fresh temp folder (``--port 0``: no
TCP at all), started and stopped by the test, so tests never share state and
never touch a system Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from tests.daemon_helpers import ROOT, wait_until


class RedisServer:
    """``redis-server --port 0 --unixsocket DIR/redis.sock``; ``restart`` keeps the socket."""

    def __init__(self, *, persistent: bool = False) -> None:
        # a short path: unix socket names are limited to ~107 bytes
        self.dir = Path(tempfile.mkdtemp(prefix="rw-redis-"))
        self.socket = self.dir / "redis.sock"
        self.persistent = persistent
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is missing: scripts/dev test installs it (apt redis-server)"
        args = [binary, "--port", "0", "--unixsocket", str(self.socket)]
        args += ["--unixsocketperm", "700", "--dir", str(self.dir), "--save", ""]
        args += ["--appendonly", "yes" if self.persistent else "no"]
        args += ["--logfile", str(self.dir / "redis.log"), "--daemonize", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, 20, "redis-server to answer")
        return self

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:
            return False

    def client(self) -> Any:
        import redis

        return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=5)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class WorkerProcess:
    """``resnet-watch worker`` in its own process group (so a test can kill all of it)."""

    def __init__(
        self,
        tmp: Path,
        name: str,
        redis_url: str,
        overrides: dict[str, Any] | None = None,
        *,
        processes: int = 1,
        module: str = "resnet_watch",
        env: dict[str, str] | None = None,
    ) -> None:
        self.dir = tmp / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_file = self.dir / "worker.log"
        config: dict[str, Any] = {
            "inbox": {"paths": [str(tmp / "inbox")]},
            "model": {"weights_dir": str(tmp / "weights")},
            "log": {"file": str(self.log_file), "format": "json", "level": "debug"},
            "queue": {"url": redis_url},
        }
        for section, values in (overrides or {}).items():
            config.setdefault(section, {}).update(values)
        self.config = self.dir / "config.yaml"
        self.config.write_text(yaml.safe_dump(config))
        self.processes = processes
        self.module = module
        self.env = {**os.environ, **(env or {})}
        self.env.pop("JOURNAL_STREAM", None)
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), self.env.get("PYTHONPATH", "")) if p
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        cmd = [sys.executable, "-m", self.module, "worker", "--config", str(self.config)]
        cmd += ["--processes", str(self.processes)]
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.dir,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "stderr.log", "ab"),  # noqa: SIM115 - closed with the process
            start_new_session=True,
        )
        wait_until(
            lambda: len(self.children()) >= self.processes or self.proc.poll() is not None,  # type: ignore[union-attr]
            60,
            "worker pool processes",
        )
        assert self.proc.poll() is None, (self.dir / "stderr.log").read_text()[-3000:]
        return self

    def children(self) -> list[int]:
        """The prefork pool's process ids."""
        if self.proc is None:
            return []
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(x) for x in text.split()]

    def kill_all(self) -> None:
        """SIGKILL the worker and its pool at once: a machine that vanished."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self, timeout: float = 60) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""
