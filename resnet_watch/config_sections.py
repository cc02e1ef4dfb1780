"""The sections of ``config.yaml``: each key, its type and its default.

Kept apart from loading so the schema reads as one list of what a user may set; the
annotations are the contract ``config_build`` checks values against, so a type written
here is what a wrong value's error message names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "DEFAULT_INCLUDE",
    "AlbumFoldersConfig",
    "CustomConfig",
    "InboxConfig",
    "LibraryConfig",
    "LimitsConfig",
    "LogConfig",
    "ModelConfig",
    "PipelineConfig",
    "QueueConfig",
    "SidecarConfig",
    "TagsConfig",
    "WatchConfig",
    "WebConfig",
]

DEFAULT_INCLUDE = (
    "*.jpg",
    "*.jpeg",
    "*.jpe",
    "*.png",
    "*.webp",
    "*.gif",
    "*.bmp",
    "*.tif",
    "*.tiff",
    "*.heic",
    "*.heif",
    # camera RAW (issue 18): decoded through LibRaw, from the embedded preview
    "*.dng",
    "*.cr2",
    "*.cr3",
    "*.nef",
    "*.nrw",
    "*.arw",
    "*.srf",
    "*.sr2",
    "*.raf",
    "*.orf",
    "*.rw2",
    "*.pef",
    "*.srw",
    "*.erf",
    "*.3fr",
    "*.mef",
    "*.mos",
    "*.kdc",
    "*.dcr",
)


@dataclass(frozen=True)
class InboxConfig:
    paths: tuple[Path, ...] = (Path("inbox"),)
    create: bool = True
    recursive: bool = True
    include: tuple[str, ...] = DEFAULT_INCLUDE
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class WatchConfig:
    settle_seconds: float = 1.0
    polling: Literal["auto", "on", "off"] = "auto"
    poll_interval: float = 5.0
    rescan_interval: float = 300.0


@dataclass(frozen=True)
class ModelConfig:
    name: Literal["auto", "resnet18", "efficientnet_lite0"] = "auto"
    runtime: Literal["auto", "onnxruntime", "torch"] = "auto"
    weights_dir: Path = Path("weights")
    top_k: int = 5
    min_score: float = 0.0
    threads: int = 0  # 0: pick from the CPUs this process may use
    reclassify_on_change: bool = True


@dataclass(frozen=True)
class PipelineConfig:
    decode_threads: int = 0  # 0: pick from the CPUs this process may use
    batch_size: int = 0  # 0: the model's measured best (models.preferred_batch)
    batch_wait_ms: int = 20
    queue_size: int = 64
    retries: int = 3
    retry_backoff_seconds: float = 10.0
    stop_timeout_seconds: float = 20.0


@dataclass(frozen=True)
class LimitsConfig:
    max_file_bytes: int = 200 * 1024 * 1024
    max_pixels: int = 250_000_000
    max_frames: int = 1000


@dataclass(frozen=True)
class SidecarConfig:
    suffix: str = ".resnet-watch.json"
    xmp: bool = True
    xmp_root: str = "resnet-watch"
    # dc:subject as rdf:Seq, the form PhotoPrism's released XMP reader imports (docs/photo-apps.md)
    xmp_photoprism_seq: bool = False


@dataclass(frozen=True)
class TagsConfig:
    label_min_score: float = 0.1
    other_min_score: float | None = 0.5


@dataclass(frozen=True)
class AlbumFoldersConfig:
    enabled: bool = False
    dir: Path = Path("albums")
    mode: Literal["symlink", "hardlink"] = "symlink"


@dataclass(frozen=True)
class LogConfig:
    file: Path | None = Path("logs/resnet-watch.log")
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 3
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = False
    ops_only: bool = False  # serve only /healthz and /metrics
    bind: str = "127.0.0.1"
    port: int = 8642  # 0: any free port (logged in web_started)
    token: str | None = None  # required when bind is not a loopback address
    max_upload_bytes: int = 200 * 1024 * 1024
    state_dir: Path = Path("state/web")
    thumbnail_cache_mb: int = 256

    @property
    def serving(self) -> bool:
        """Whether the daemon starts the HTTP server: ``ops_only`` alone is enough."""
        return self.enabled or self.ops_only


@dataclass(frozen=True)
class CustomConfig:
    """Your own categories (issue 16): the head ``resnet-watch learn`` writes, and whether
    sidecars keep the feature vector that custom classes, ``similar`` and ``dupes`` read."""

    head: Path | None = Path("custom-head.json")  # absent file: no custom classes
    keep_embeddings: bool = True
    tag_group: str = "Custom"  # tags are <xmp_root>/<tag_group>/<Class>
    screenshots: bool = True  # the "Screenshots" album from model-free evidence


@dataclass(frozen=True)
class QueueConfig:
    """Several machines: with ``url`` set, ``run`` enqueues and ``worker`` classifies."""

    url: str | None = None  # redis://host:6379/0 or unix:///path/redis.sock; null: local
    name: str = "resnet-watch"  # the Celery queue; also the prefix of our Redis keys
    max_in_flight: int = 64  # tasks the watcher has in Redis at once (back-pressure)
    processes: int = 0  # worker processes; 0: one per CPU
    visibility_timeout_seconds: float = 3600.0  # a lost worker's task returns after this
    result_timeout_seconds: float = 900.0  # no result by then: the watcher sends it again
    path_map: Mapping[str, Any] | None = None  # watcher path prefix -> this machine's


@dataclass(frozen=True)
class LibraryConfig:
    # A rebuildable SQLite cache of the sidecars (they stay the truth): rescans, albums,
    # search and the web UI read it instead of every JSON file.
    index: Path = Path("state/library.sqlite")
