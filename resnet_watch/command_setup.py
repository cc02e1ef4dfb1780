"""What every command does first: find config.yaml, load it, set up logging from it.

Shared by cli.py and the command modules beside it (classify_cli, custom_cli), so they find
the same config file and none of them imports another for it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from resnet_watch.config import Config, load_config

__all__ = ["configure_command_logging", "default_config_path", "load_command_config"]


def default_config_path() -> Path | None:
    env = os.environ.get("RESNET_WATCH_CONFIG")
    if env:
        return Path(env)
    here = Path("config.yaml")
    return here if here.exists() else None


def load_command_config(args: argparse.Namespace, *, prepare_inbox: bool = True) -> Config:
    path = Path(args.config) if args.config else default_config_path()
    return load_config(path, prepare_inbox=prepare_inbox)


def configure_command_logging(
    cfg: Config, *, to_file: bool = True, level: str | None = None
) -> None:
    from resnet_watch.logs import configure_logging

    configure_logging(
        level=level or cfg.log.level,
        file=cfg.log.file if to_file else None,
        max_bytes=cfg.log.max_bytes,
        backups=cfg.log.backups,
        fmt=cfg.log.format,
    )
