"""What a result sidecar gets beyond labels: tags, albums, XMP, album folders.

Built from the config once at start; the store calls ``enrich`` before writing
the JSON sidecar and ``after_write`` after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from resnet_watch.config import Config
from resnet_watch.store import AfterWrite, Enricher

__all__ = ["build_extras"]


def build_extras(cfg: Config) -> tuple[Enricher | None, AfterWrite | None]:
    """No extras until smart albums are configured."""
    del cfg

    def after_write(path: Path, record: Mapping[str, Any]) -> None:
        del path, record

    return None, None
