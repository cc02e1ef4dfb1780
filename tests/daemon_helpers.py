"""Run the real daemon as a subprocess on a temp inbox and read its JSON log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SUFFIX = ".resnet-watch.json"


def wait_until(predicate: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class DaemonProcess:
    """``resnet-watch run`` on ``tmp/inbox`` with a config written by the test."""

    def __init__(
        self,
        tmp: Path,
        overrides: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        *,
        module: str = "resnet_watch",
        python: str = sys.executable,
    ) -> None:
        self.tmp = tmp
        self.module = module  # tests.fixture_launcher: the ResNet-18 FIXTURE weights path
        self.python = python  # another venv's interpreter: the daemon as installed there
        self.inbox = tmp / "inbox"
        self.log_file = tmp / "logs" / "resnet-watch.log"
        config: dict[str, Any] = {
            "inbox": {"paths": [str(self.inbox)]},
            "watch": {"settle_seconds": 0.3, "rescan_interval": 0},
            "model": {"weights_dir": str(tmp / "weights")},
            "log": {"file": str(self.log_file), "format": "json", "level": "debug"},
            "pipeline": {"retry_backoff_seconds": 0.5},
        }
        for section, values in (overrides or {}).items():
            if isinstance(values, dict):
                config.setdefault(section, {}).update(values)
            else:
                config[section] = values
        self.config = tmp / "config.yaml"
        self.config.write_text(yaml.safe_dump(config))
        self.env = {**os.environ, **(env or {})}
        self.env.pop("JOURNAL_STREAM", None)
        if module.startswith("tests."):
            self.env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(ROOT), self.env.get("PYTHONPATH", "")) if p
            )
        self.proc: subprocess.Popen[bytes] | None = None
        self.stderr_path = tmp / "stderr.log"

    def start(self, wait_ready: bool = True, timeout: float = 120) -> DaemonProcess:
        self._offset_runs = len(self.events("daemon_started"))
        self.proc = subprocess.Popen(
            [self.python, "-m", self.module, "run", "--config", str(self.config)],
            cwd=self.tmp,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.stderr_path, "ab"),  # noqa: SIM115 - closed with the process
        )
        if wait_ready:
            wait_until(
                lambda: len(self.events("daemon_started")) > self._offset_runs or self._died(),
                timeout,
                "daemon_started",
            )
            assert not self._died(), self.stderr_path.read_text()[-3000:]
        return self

    def _died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = []
        files = sorted(self.log_file.parent.glob(self.log_file.name + "*"), reverse=True)
        for path in files:
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if name is None or event.get("event") == name:
                    out.append(event)
        return out

    def wait_events(
        self, name: str, path: Path | None = None, count: int = 1, timeout: float = 20
    ) -> list[dict[str, Any]]:
        """The ``name`` events (about ``path``, if given), once ``count`` of them are logged.

        The daemon logs what it did to an image just after the image's sidecar is in place, so
        a test that has seen the sidecar must still wait for the log line.
        """

        def logged() -> list[dict[str, Any]] | None:
            found = [e for e in self.events(name) if path is None or e.get("path") == str(path)]
            return found if len(found) >= count else None

        about = f" for {path.name}" if path is not None else ""
        found: list[dict[str, Any]] = wait_until(logged, timeout, f"{count} {name}{about}")
        return found

    def classified_counts(self) -> dict[str, int]:
        """image_classified events per path, over every run of this daemon."""
        counts: dict[str, int] = {}
        for e in self.events("image_classified"):
            counts[e["path"]] = counts.get(e["path"], 0) + 1
        return counts

    def classified_count(self, path: Path) -> int:
        return sum(1 for e in self.events("image_classified") if e.get("path") == str(path))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> DaemonProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop(signal.SIGKILL)


def sidecar(image: Path) -> Path:
    return image.with_name(image.name + SUFFIX)


def read_sidecar_json(image: Path) -> dict[str, Any] | None:
    try:
        return json.loads(sidecar(image).read_text())
    except (OSError, ValueError):
        return None


def shipped_photo(package: str, *parts: str) -> Path:
    """A real photo shipped inside an installed package (never downloaded)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.origin is not None, f"{package} is not installed"
    return Path(spec.origin).parent.joinpath(*parts)


CAT = shipped_photo("skimage", "data", "chelsea.png")  # the real photo most daemon tests tag
CAT_CLASSES = frozenset(
    {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx"}
)


def stage_photos(
    folder: Path, n: int, size: tuple[int, int] = (96, 96), quality: int = 80
) -> list[Path]:
    """``n`` distinct photo-like JPEGs written outside the inbox, to be moved in at once."""
    from tests.hostile import photo

    folder.mkdir(parents=True, exist_ok=True)
    base = photo(size, seed=1)
    out = []
    for i in range(n):
        path = folder / f"img_{i:05d}.jpg"
        base.rotate(i % 360).save(path, quality=quality)
        out.append(path)
    return out


def move_into(inbox: Path, paths: list[Path]) -> list[Path]:
    """Rename ``paths`` into ``inbox`` (a burst, as a sync tool lands it); the new paths."""
    moved = []
    for path in paths:
        target = inbox / path.name
        os.rename(path, target)
        moved.append(target)
    return moved


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m resnet_watch ARGS`` in a fresh process, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "resnet_watch", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )
