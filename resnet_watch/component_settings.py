"""The config turned into each part's own settings: the pipeline, the watcher, the store.

The parts take small settings records, not the whole Config, so they can be built and
tested without a config file; the daemon, ``classify`` and the benches build them the
same way from here.
"""

from __future__ import annotations

from resnet_watch.config import Config
from resnet_watch.imaging import ImageLimits
from resnet_watch.pipeline import PipelineSettings
from resnet_watch.store import StoreSettings
from resnet_watch.watcher import WatchSettings

__all__ = ["build_pipeline_settings", "image_limits", "store_settings", "watch_settings"]


def image_limits(cfg: Config) -> ImageLimits:
    """The ``limits`` section as the decoders take it (daemon, worker and web UI alike)."""
    return ImageLimits(
        max_bytes=cfg.limits.max_file_bytes,
        max_pixels=cfg.limits.max_pixels,
        max_frames=cfg.limits.max_frames,
    )


def build_pipeline_settings(
    cfg: Config, decode_threads: int, model: str | None = None
) -> PipelineSettings:
    """The pipeline's settings; ``pipeline.batch_size: 0`` takes ``model``'s measured best."""
    from resnet_watch.models import preferred_batch

    return PipelineSettings(
        limits=image_limits(cfg),
        top_k=cfg.model.top_k,
        min_score=cfg.model.min_score,
        decode_threads=decode_threads,
        batch_size=cfg.pipeline.batch_size or preferred_batch(model),
        batch_wait=cfg.pipeline.batch_wait_ms / 1000,
        queue_size=cfg.pipeline.queue_size,
    )


def watch_settings(cfg: Config) -> WatchSettings:
    """What the watcher watches, and how patiently."""
    return WatchSettings(
        roots=cfg.inbox.paths,
        recursive=cfg.inbox.recursive,
        include=cfg.inbox.include,
        ignore=cfg.inbox.ignore,
        settle_seconds=cfg.watch.settle_seconds,
        polling=cfg.watch.polling,
        poll_interval=cfg.watch.poll_interval,
        rescan_interval=cfg.watch.rescan_interval,
        sidecar_suffixes=(cfg.sidecar.suffix, ".xmp"),
    )


def store_settings(cfg: Config) -> StoreSettings:
    """How the store names sidecars and when it retries or reclassifies an image."""
    return StoreSettings(
        suffix=cfg.sidecar.suffix,
        retries=cfg.pipeline.retries,
        backoff_seconds=cfg.pipeline.retry_backoff_seconds,
        reclassify_on_model_change=cfg.model.reclassify_on_change,
        keep_embeddings=cfg.custom.keep_embeddings,
    )
