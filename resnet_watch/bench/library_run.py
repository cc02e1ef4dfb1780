"""``bench --library N``: the real daemon on a big, already-tagged library.

What a NAS owner cares about: how long start-up takes with N photos, that a rescan of N
unchanged photos re-submits and re-classifies nothing and is quick, that memory does not
grow with N, and that 1,000 renames and 1,000 deletions settle (sidecars and index agree
with the files) long before the next periodic rescan.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from resnet_watch.bench.corpus import default_cache_dir
from resnet_watch.bench.library_build import LIBRARY_VERSION, PER_FOLDER, BenchLibrary
from resnet_watch.bench.machine import cpu_info, load_bench_config, software_info
from resnet_watch.bench.options import BenchOptions, Progress, quiet
from resnet_watch.sidecar import sidecar_path

__all__ = ["render_library", "run_library"]

CHANGED = 1000  # renamed, and as many deleted
MB = 1024 * 1024


class _Daemon:
    """``resnet-watch run`` on the bench library, read through its JSON log."""

    def __init__(self, work: Path, inbox: Path, cfg_model: dict[str, Any], index: Path) -> None:
        import yaml

        work.mkdir(parents=True, exist_ok=True)
        self.log = work / "daemon.log"
        self.log.unlink(missing_ok=True)
        self.config = work / "config.yaml"
        self.config.write_text(
            yaml.safe_dump(
                {
                    "inbox": {"paths": [str(inbox)]},
                    "watch": {"rescan_interval": 0},  # rescans on SIGHUP, timed one by one
                    "model": cfg_model,
                    "sidecar": {"xmp": False},
                    "library": {"index": str(index)},
                    "log": {"file": str(self.log), "format": "json", "level": "debug"},
                }
            )
        )
        self._offset = 0
        self._events: list[dict[str, Any]] = []
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "resnet_watch", "run", "--config", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )

    def events(self, name: str) -> list[dict[str, Any]]:
        try:
            with open(self.log, "rb") as fh:
                fh.seek(self._offset)
                chunk = fh.read()
        except FileNotFoundError:
            chunk = b""
        end = chunk.rfind(b"\n") + 1
        self._offset += end
        for line in chunk[:end].splitlines():
            try:
                self._events.append(json.loads(line))
            except ValueError:
                continue
        return [e for e in self._events if e.get("event") == name]

    def wait_event(self, name: str, count: int = 1, timeout: float = 3600) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(name)
            if len(found) >= count:
                return found[count - 1]
            if self.proc.poll() is not None:
                raise RuntimeError(f"the daemon exited ({self.proc.returncode}) before {name}")
            time.sleep(0.05)
        raise TimeoutError(f"no {name} event within {timeout} s")

    def rescan(self) -> dict[str, Any]:
        """SIGHUP (reload + full rescan); its rescan_completed event, plus the daemon's CPU
        seconds meanwhile (``cpu_s``: a fairer figure than wall time on a shared machine)."""
        before = len(self.events("rescan_completed"))
        cpu = self.cpu_s()
        self.proc.send_signal(signal.SIGHUP)
        event = dict(self.wait_event("rescan_completed", before + 1))
        event["cpu_s"] = self.cpu_s() - cpu
        return event

    def cpu_s(self) -> float:
        """User + system CPU seconds of the daemon so far."""
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def submitted(self) -> int:
        """Images that went through the pipeline (classified, failed or skipped by its gate)."""
        return sum(len(self.events(n)) for n in ("image_classified", "image_failed")) + len(
            [e for e in self.events("image_skipped") if e.get("reason") != "vanished"]
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _settled(lib: BenchLibrary, renamed: dict[int, Path], deleted: list[int]) -> bool:
    for number, new in renamed.items():
        if not sidecar_path(new, lib.suffix).exists():
            return False
        if sidecar_path(lib.image(number), lib.suffix).exists():
            return False
    return not any(sidecar_path(lib.image(n), lib.suffix).exists() for n in deleted)


def _model_and_labels(cfg: Any) -> tuple[Any, list[tuple[Any, Any]]]:
    from resnet_watch.bench.library_build import LABELS
    from resnet_watch.extras import build_extras
    from resnet_watch.models import load_classifier

    classifier, _ = load_classifier(cfg.model.name, cfg.model.weights_dir, 1)
    enrich, _, _ = build_extras(cfg)
    return classifier.info, [(label, dict(enrich([label]))) for label in LABELS]


def run_library(opts: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Build or reuse the library, then measure the daemon on it (see the module docstring)."""
    say = progress or quiet
    wall = time.perf_counter()
    cfg = load_bench_config(opts)
    model, labels = _model_and_labels(cfg)
    size = opts.library
    cache = (opts.cache_dir or default_cache_dir()) / (
        f"library-v{LIBRARY_VERSION}-{size}-{model.weights_sha256[:12]}"
    )
    lib = BenchLibrary(cache, size, model, labels)
    built_at = time.perf_counter()
    made = lib.ensure(say)
    build_s = time.perf_counter() - built_at
    model_cfg = {"name": cfg.model.name, "weights_dir": str(cfg.model.weights_dir.absolute())}
    work = cache / "run"
    empty = work / "empty-inbox"
    empty.mkdir(parents=True, exist_ok=True)

    say("library: the daemon on an empty inbox (RSS baseline)")
    base = _Daemon(work / "empty", empty, model_cfg, work / "empty" / "library.sqlite")
    try:
        base.wait_event("daemon_started")
        base.rescan()
        rss_empty = base.rss_mb()
    finally:
        base.stop()

    index = work / "library.sqlite"
    for leftover in (index, Path(f"{index}-wal"), Path(f"{index}-shm")):
        leftover.unlink(missing_ok=True)  # start-up includes rebuilding it from the sidecars
    renamed: dict[int, Path] = {}
    deleted: list[int] = []
    say(f"library: the daemon on {size} tagged images")
    d = _Daemon(work / "full", lib.inbox, model_cfg, index)
    try:
        opened = d.wait_event("index_opened")
        backlog = d.wait_event("backlog_scanned")
        started = d.wait_event("daemon_started")
        ready_wall_ms = (time.perf_counter() - d.started) * 1000
        first = d.rescan()
        submitted_before = d.submitted()
        second = d.rescan()
        resubmitted = d.submitted() - submitted_before
        rss_full = d.rss_mb()
    finally:
        d.stop()
    say("library: a restart with the index in place")
    r = _Daemon(work / "restart", lib.inbox, model_cfg, index)
    try:
        r_opened = r.wait_event("index_opened")
        r_backlog = r.wait_event("backlog_scanned")
        r.wait_event("daemon_started")
        restart_wall_ms = (time.perf_counter() - r.started) * 1000
        restart_submitted = r.submitted()
        changed = min(CHANGED, size // 4)  # small libraries (tests): a quarter each
        say(f"library: renaming {changed} and deleting {changed}")
        step = max(1, size // (2 * changed))
        picks = list(range(0, size, step))[: 2 * changed]
        (lib.inbox / "sorted").mkdir(exist_ok=True)
        changed_at = time.perf_counter()
        for i, number in enumerate(picks[:changed]):
            old = lib.image(number)
            new = (
                old.with_name(f"renamed_{number:07d}.png")
                if i % 2
                else lib.inbox / "sorted" / f"img_{number:07d}.png"
            )
            os.rename(old, new)
            renamed[number] = new
        for number in picks[changed:]:
            os.unlink(lib.image(number))
            deleted.append(number)
        while not _settled(lib, renamed, deleted):
            if time.perf_counter() - changed_at > 600:
                break
            time.sleep(0.1)
        settle_s = time.perf_counter() - changed_at
        after = r.rescan()
        reclassified = len(d.events("image_classified")) + len(r.events("image_classified"))
        moved_events = len(r.events("image_moved"))
        removed_events = len(r.events("image_removed"))
        rss_after = r.rss_mb()
    finally:
        r.stop()
        say("library: putting the renamed and deleted images back")
        lib.restore(renamed, deleted)
    report: dict[str, Any] = {
        "mode": "library",
        "cpu": cpu_info(),
        "software": software_info(),
        "model": model.name,
        "images": size,
        "folders": (size + PER_FOLDER - 1) // PER_FOLDER,
        "library_dir": str(lib.root),
        "library_built_now": made,
        "library_build_s": build_s,
        "startup": {
            "ready_ms": started.get("ready_ms"),
            "process_start_to_ready_ms": ready_wall_ms,
            "index_rebuilt": opened.get("rebuilt"),
            "index_open_ms": opened.get("ms"),
            "backlog_scan_ms": backlog.get("ms"),
            "backlog_new": backlog.get("new"),
        },
        "restart": {
            "process_start_to_ready_ms": restart_wall_ms,
            "index_rebuilt": r_opened.get("rebuilt"),
            "index_open_ms": r_opened.get("ms"),
            "backlog_scan_ms": r_backlog.get("ms"),
            "backlog_new": r_backlog.get("new"),
            "resubmitted": restart_submitted,
        },
        "first_rescan": {"ms": first.get("ms"), "new": first.get("new"), "cpu_s": first["cpu_s"]},
        "second_rescan": {
            "ms": second.get("ms"),
            "new": second.get("new"),
            "cpu_s": second["cpu_s"],
        },
        "resubmitted_second_rescan": resubmitted,
        "reclassified": reclassified,
        "rss": {"empty_mb": rss_empty, "library_mb": rss_full, "growth_mb": rss_full - rss_empty},
        "changes": {
            "renamed": len(renamed),
            "deleted": len(deleted),
            "settled_s": settle_s,
            "moved_events": moved_events,
            "removed_events": removed_events,
            "rescan_after": after,
            "rss_after_mb": rss_after,
        },
    }
    rescan_ms = float(second.get("ms") or 0)
    report["targets"] = [
        _target("re-classified (whole run)", reclassified, 0, "", reclassified == 0),
        _target("re-submitted on the second rescan", resubmitted, 0, "", resubmitted == 0),
        _target(f"rescan of {size} unchanged files", rescan_ms / 1000, 60, "s", rescan_ms < 60e3),
        _target(
            f"RSS growth 0 -> {size} files",
            rss_full - rss_empty,
            150,
            "MB",
            rss_full - rss_empty < 150,
        ),
        _target(
            f"{len(renamed)} renames + {len(deleted)} deletes settled",
            settle_s,
            300,
            "s (one default rescan interval)",
            settle_s < 300 and after.get("moved") == 0 and after.get("removed") == 0,
        ),
    ]
    report["wall_s"] = time.perf_counter() - wall
    return report


def _target(name: str, value: float, goal: float, unit: str, met: bool) -> dict[str, Any]:
    return {"target": name, "value": value, "goal": goal, "unit": unit, "met": met}


def render_library(report: dict[str, Any]) -> str:
    """The report as text."""
    st, rss, ch = report["startup"], report["rss"], report["changes"]
    out = [
        f"resnet-watch bench --library {report['images']} ({report['folders']} folders, "
        f"model {report['model']}; library in {report['library_dir']})",
        f"start-up  ready in {st['process_start_to_ready_ms']:.0f} ms from process start "
        f"(index {'rebuilt from sidecars' if st['index_rebuilt'] else 'reused'} in "
        f"{st['index_open_ms']} ms, backlog scan {st['backlog_scan_ms']} ms, "
        f"{st['backlog_new']} new)",
        f"restart   ready in {report['restart']['process_start_to_ready_ms']:.0f} ms with the "
        f"index in place (opened in {report['restart']['index_open_ms']} ms, backlog scan "
        f"{report['restart']['backlog_scan_ms']} ms, {report['restart']['backlog_new']} new, "
        f"{report['restart']['resubmitted']} re-submitted)",
        f"rescan    first {report['first_rescan']['ms']} ms "
        f"({report['first_rescan']['cpu_s']:.1f} s CPU, {report['first_rescan']['new']} new), "
        f"second {report['second_rescan']['ms']} ms "
        f"({report['second_rescan']['cpu_s']:.1f} s CPU, {report['second_rescan']['new']} new)",
        f"work      re-submitted on the second rescan {report['resubmitted_second_rescan']}, "
        f"re-classified {report['reclassified']}",
        f"memory    RSS empty inbox {rss['empty_mb']:.0f} MB, with the library "
        f"{rss['library_mb']:.0f} MB (growth {rss['growth_mb']:.0f} MB)",
        f"changes   {ch['renamed']} renamed + {ch['deleted']} deleted: settled in "
        f"{ch['settled_s']:.1f} s ({ch['moved_events']} moved, {ch['removed_events']} removed; "
        f"the rescan after found {ch['rescan_after'].get('moved')} moved, "
        f"{ch['rescan_after'].get('removed')} removed, {ch['rescan_after'].get('new')} new)",
        "",
        "targets",
    ]
    for t in report["targets"]:
        mark = "ok  " if t["met"] else "MISS"
        out.append(f"  {mark} {t['target']}: {t['value']:.1f} (goal {t['goal']} {t['unit']})")
    out.append(f"\nwall {report['wall_s']:.0f} s")
    return "\n".join(out) + "\n"
