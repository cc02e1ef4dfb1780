"""The daemon's start-up steps that find things out: the model, the custom head, the index.

Each step logs what it found, or why it could not, so a user reading the journal after
``systemctl start`` sees which model runs and why; daemon.py only decides their order and
what a failure costs (a missing model stops the start, a bad head or index does not).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from typing import Any

from resnet_watch.catalog import Catalog
from resnet_watch.config import Config
from resnet_watch.custom import CustomTagger
from resnet_watch.errors import WeightsError
from resnet_watch.index import FileIndex, open_index
from resnet_watch.logs import get_logger
from resnet_watch.models.spec import Classifier, ModelInfo
from resnet_watch.sidecar import sweep_temp_files

__all__ = ["load_head", "load_model", "open_library", "remove_temp_files", "runtime_version"]


def load_model(cfg: Config, threads: int, log: Any) -> Classifier | None:
    """The configured classifier, or None after saying why (missing or unverified weights)."""
    from resnet_watch.models import load_classifier

    try:
        classifier, reason = load_classifier(
            cfg.model.name, cfg.model.weights_dir, threads, runtime=cfg.model.runtime
        )
    except WeightsError as exc:
        log.error("model_unavailable", model=cfg.model.name, error=str(exc))
        print(f"resnet-watch: {exc}", file=sys.stderr)
        return None
    info = classifier.info
    log.info(
        "model_selected",
        name=info.name,
        reason=reason,
        precision=info.precision,
        runtime=info.runtime,
        weights_sha256=info.weights_sha256,
        fixture=info.fixture,
    )
    return classifier


def load_head(custom: CustomTagger | None, cfg: Config, info: ModelInfo | None, log: Any) -> None:
    """(Re)load the custom-class head; a bad or foreign head leaves custom classes off."""
    if custom is None or info is None:
        return
    custom.screenshots = cfg.custom.screenshots
    status = custom.load(cfg.custom.head, info.name, info.weights_sha256)
    if status.error:
        log.error("custom_head_refused", path=status.path, error=status.error)
        print(f"resnet-watch: {status.error}", file=sys.stderr)
    elif status.loaded:
        log.info("custom_head_loaded", path=status.path, classes=list(status.classes))


def open_library(
    cfg: Config, info: ModelInfo, log: Any, write_extras: Any
) -> tuple[FileIndex, Catalog]:
    """The sidecar index (rebuilt from the sidecars when missing or damaged)."""
    started = time.monotonic()
    roots, suffix = cfg.inbox.paths, cfg.sidecar.suffix
    try:
        index, rebuilt = open_index(cfg.library.index, roots, suffix)
    except (OSError, sqlite3.Error) as exc:
        # still correct without it (sidecars are the truth), only slower to start
        log.warning(
            "index_unavailable", path=str(cfg.library.index), error=str(exc), using="memory"
        )
        index, rebuilt = open_index(None, roots, suffix)
    log.info(
        "index_opened",
        path=str(index.path),
        files=index.count(),
        rebuilt=rebuilt,
        ms=round((time.monotonic() - started) * 1000),
    )
    catalog = Catalog(
        index,
        cfg,
        info.weights_sha256,
        get_logger("resnet_watch.images"),
        write_extras=write_extras,
    )
    return index, catalog


def remove_temp_files(cfg: Config, log: Any) -> None:
    """Remove, and log, the temp files a writer killed mid-write left in the inbox."""
    for removed in sweep_temp_files(cfg.inbox.paths, recursive=cfg.inbox.recursive):
        log.info("temp_file_removed", path=str(removed))


def runtime_version(runtime: str) -> str:
    """The serving runtime's version, read from package metadata (no import)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(runtime)
    except PackageNotFoundError:
        return "unknown"
