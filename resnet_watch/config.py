"""Load and validate ``config.yaml`` into frozen dataclasses.

Every problem is reported as one ``ConfigError`` naming the dotted key
(``model.top_k``), so a typo is found at start-up, not after a week of
silently ignored settings. Unknown keys are errors for the same reason.

Precedence, lowest first: built-in defaults, the YAML file, then environment
variables ``RESNET_WATCH_<SECTION>__<KEY>`` (double underscore between levels,
values parsed as YAML scalars), e.g. ``RESNET_WATCH_MODEL__NAME=resnet18``.
Relative paths are resolved against the config file's directory, so the
same file works from a shell and from systemd.

What each section holds (keys, types, defaults) is ``config_sections``; turning a
mapping into those dataclasses, value by value, is ``config_build``. This module
reads the sources, checks ranges and cross-key rules, and prepares the inbox.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from resnet_watch.config_build import build_dataclass, resolve_paths
from resnet_watch.config_sections import (
    AlbumFoldersConfig,
    CustomConfig,
    InboxConfig,
    LibraryConfig,
    LimitsConfig,
    LogConfig,
    ModelConfig,
    PipelineConfig,
    QueueConfig,
    SidecarConfig,
    TagsConfig,
    WatchConfig,
    WebConfig,
)
from resnet_watch.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "ENV_PREFIX",
    "Config",
    "auto_threads",
    "is_loopback",
    "load_config",
]

ENV_PREFIX = "RESNET_WATCH_"
DEFAULT_CONFIG_PATH = Path("config.yaml")


@dataclass(frozen=True)
class Config:
    inbox: InboxConfig = field(default_factory=InboxConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    sidecar: SidecarConfig = field(default_factory=SidecarConfig)
    log: LogConfig = field(default_factory=LogConfig)
    tags: TagsConfig = field(default_factory=TagsConfig)
    album_folders: AlbumFoldersConfig = field(default_factory=AlbumFoldersConfig)
    web: WebConfig = field(default_factory=WebConfig)
    custom: CustomConfig = field(default_factory=CustomConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    library: LibraryConfig = field(default_factory=LibraryConfig)
    albums: Mapping[str, Any] | None = None  # None: the built-in default albums
    source: Path | None = None  # the file this was loaded from, if any


def auto_threads(decode_threads: int, torch_threads: int) -> tuple[int, int]:
    """Resolve 0 ("auto") thread counts from the CPUs this process may use.

    On 2 cores one torch thread beside two decode threads beats two torch
    threads (the OpenMP pool fights the decoders), so torch gets half.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = max(1, cpus or 1)
    decode = decode_threads or cpus
    torch_n = torch_threads or max(1, cpus // 2)
    return decode, torch_n


# --- validation -------------------------------------------------------------------------


def _check_ranges(cfg: Config) -> None:
    def need(ok: bool, key: str, message: str) -> None:
        if not ok:
            raise ConfigError(key, message)

    need(cfg.model.top_k >= 1 and cfg.model.top_k <= 1000, "model.top_k", "must be 1..1000")
    need(0.0 <= cfg.model.min_score < 1.0, "model.min_score", "must be in [0, 1)")
    need(cfg.model.threads >= 0, "model.threads", "must be >= 0 (0 = auto)")
    need(cfg.pipeline.decode_threads >= 0, "pipeline.decode_threads", "must be >= 0 (0 = auto)")
    need(0 <= cfg.pipeline.batch_size <= 256, "pipeline.batch_size", "must be 0..256 (0 = auto)")
    need(cfg.pipeline.batch_wait_ms >= 0, "pipeline.batch_wait_ms", "must be >= 0")
    need(cfg.pipeline.queue_size >= 1, "pipeline.queue_size", "must be >= 1")
    need(cfg.pipeline.retries >= 1, "pipeline.retries", "must be >= 1")
    need(cfg.pipeline.retry_backoff_seconds >= 0, "pipeline.retry_backoff_seconds", "must be >= 0")
    need(cfg.watch.settle_seconds >= 0, "watch.settle_seconds", "must be >= 0")
    need(cfg.watch.poll_interval > 0, "watch.poll_interval", "must be > 0")
    need(cfg.watch.rescan_interval >= 0, "watch.rescan_interval", "must be >= 0 (0 = off)")
    need(cfg.limits.max_file_bytes > 0, "limits.max_file_bytes", "must be > 0")
    need(cfg.limits.max_pixels > 0, "limits.max_pixels", "must be > 0")
    need(cfg.limits.max_frames >= 1, "limits.max_frames", "must be >= 1")
    need(cfg.log.max_bytes >= 1024, "log.max_bytes", "must be >= 1024")
    need(cfg.log.backups >= 0, "log.backups", "must be >= 0")
    suffix = cfg.sidecar.suffix
    need(
        suffix.startswith(".") and "/" not in suffix and len(suffix) <= 64,
        "sidecar.suffix",
        "must start with '.', contain no '/', and be at most 64 characters",
    )
    # IMG.jpg.xmp is the XMP sidecar; PhotoPrism parses IMG.jpg.json as the photo's own metadata
    need(
        suffix.lower() not in (".xmp", ".json"),
        "sidecar.suffix",
        "must not be .xmp or .json: photo apps read IMG.jpg.xmp and IMG.jpg.json as their own",
    )
    need(bool(cfg.inbox.paths), "inbox.paths", "must name at least one folder")
    root = cfg.sidecar.xmp_root
    need(
        bool(root) and not any(c in root for c in "/|\\"),
        "sidecar.xmp_root",
        "must be a non-empty name without '/', '|' or '\\'",
    )
    need(0 <= cfg.tags.label_min_score <= 1, "tags.label_min_score", "must be in [0, 1]")
    other = cfg.tags.other_min_score
    need(other is None or 0 <= other <= 1, "tags.other_min_score", "must be in [0, 1] or null")
    if cfg.album_folders.enabled:
        folders = cfg.album_folders.dir.resolve()
        for inbox in cfg.inbox.paths:
            inside = folders == inbox.resolve() or inbox.resolve() in folders.parents
            need(not inside, "album_folders.dir", f"must not be inside the inbox {inbox}")
    _check_web(cfg.web, cfg.inbox.paths)
    _check_queue(cfg.queue)
    index = cfg.library.index.resolve()
    for inbox in cfg.inbox.paths:
        inside = inbox.resolve() in index.parents
        need(not inside, "library.index", f"must not be inside the inbox {inbox}")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``: addresses only this machine reaches."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_web(web: WebConfig, inboxes: tuple[Path, ...]) -> None:
    def need(ok: bool, key: str, message: str) -> None:
        if not ok:
            raise ConfigError(key, message)

    need(0 <= web.port <= 65535, "web.port", "must be 0..65535 (0 = any free port)")
    need(bool(web.bind.strip()), "web.bind", "must be an address, e.g. 127.0.0.1")
    need(web.max_upload_bytes > 0, "web.max_upload_bytes", "must be > 0")
    need(web.thumbnail_cache_mb >= 1, "web.thumbnail_cache_mb", "must be >= 1")
    if web.token is not None:
        need(len(web.token) >= 16, "web.token", "must be at least 16 characters")
    if web.serving and not is_loopback(web.bind):
        need(
            web.token is not None,
            "web.token",
            f"is required when web.bind is {web.bind!r} (not loopback): set a long random "
            "token, e.g. RESNET_WATCH_WEB__TOKEN=$(openssl rand -hex 24)",
        )
    state = web.state_dir.resolve()
    for inbox in inboxes:
        inside = state == inbox.resolve() or inbox.resolve() in state.parents
        need(not inside, "web.state_dir", f"must not be inside the inbox {inbox}")


def _check_queue(q: QueueConfig) -> None:
    def need(ok: bool, key: str, message: str) -> None:
        if not ok:
            raise ConfigError(key, message)

    if q.url is not None:
        scheme = q.url.split("://", 1)[0] if "://" in q.url else ""
        need(
            scheme in ("redis", "rediss", "unix"),
            "queue.url",
            f"must be redis://host:port/db, rediss://... or unix:///path.sock, got {q.url!r}",
        )
    need(
        bool(q.name) and q.name.replace("-", "").replace("_", "").replace(".", "").isalnum(),
        "queue.name",
        "must be letters, digits, '-', '_' or '.'",
    )
    need(q.max_in_flight >= 1, "queue.max_in_flight", "must be >= 1")
    need(q.processes >= 0, "queue.processes", "must be >= 0 (0 = one per CPU)")
    need(q.visibility_timeout_seconds > 0, "queue.visibility_timeout_seconds", "must be > 0")
    need(q.result_timeout_seconds > 0, "queue.result_timeout_seconds", "must be > 0")
    for source, target in (q.path_map or {}).items():
        ok = isinstance(target, str) and os.path.isabs(source) and os.path.isabs(target)
        need(ok, f"queue.path_map.{source}", "must map an absolute path to an absolute path")


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``RESNET_WATCH_MODEL__TOP_K=3`` -> ``{"model": {"top_k": 3}}``."""
    out: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in (f"{ENV_PREFIX}CONFIG",):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError as exc:
            raise ConfigError(".".join(parts), f"environment variable {name}: {exc}") from None
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(".".join(parts), f"environment variable {name} conflicts")
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    prepare_inbox: bool = True,
) -> Config:
    """Read ``path`` (or built-in defaults when ``None``), apply env overrides, validate.

    With ``prepare_inbox`` the inbox folders are created when ``inbox.create``
    is on, and a missing inbox is an error otherwise.
    """
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    base = Path.cwd()
    if path is not None:
        path = Path(path).expanduser().absolute()
        base = path.parent
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("--config", f"file not found: {path}") from None
        except OSError as exc:
            raise ConfigError("--config", f"cannot read {path}: {exc.strerror}") from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(str(path), f"not valid YAML{where}") from None
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(str(path), "must hold a mapping of keys")
        data = loaded
    data = _merge(data, _env_overrides(environ))
    cfg: Config = resolve_paths(build_dataclass(Config, data, "", base), base)
    cfg = dataclasses.replace(cfg, source=path)
    _check_ranges(cfg)
    if prepare_inbox:
        _prepare_inbox(cfg.inbox)
    return cfg


def _prepare_inbox(inbox: InboxConfig) -> None:
    for i, folder in enumerate(inbox.paths):
        key = f"inbox.paths[{i}]"
        if folder.is_dir():
            continue
        if folder.exists():
            raise ConfigError(key, f"{folder} exists but is not a folder")
        if not inbox.create:
            raise ConfigError(key, f"inbox folder {folder} does not exist (or set inbox.create)")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(key, f"cannot create inbox folder {folder}: {exc.strerror}") from None
