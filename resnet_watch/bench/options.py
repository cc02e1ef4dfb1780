"""What one ``resnet-watch bench`` run measures and how much, and its progress callback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from resnet_watch.bench.corpus import PHOTO_SIZE

__all__ = ["BenchOptions", "Progress", "quiet"]


@dataclass(frozen=True)
class BenchOptions:
    """What to measure and how much; the defaults take under a minute on 2 cores
    (plus about half a minute to generate the corpus the first time)."""

    images: Path | None = None  # --images DIR: the user's photos instead of the corpus
    cache_dir: Path | None = None  # default: default_cache_dir()
    photos: int = 40  # generated 12 MP JPEGs
    photo_size: tuple[int, int] = PHOTO_SIZE
    screenshots: int = 4  # generated PNGs, and as many WebPs
    baseline_images: int = 20
    line_images: int = 160  # per resnet-watch line (the corpus is cycled)
    warmup: int = 8  # first results per line not counted (start-up excluded)
    threads: int = 0  # torch threads, 0: auto (config.auto_threads)
    decode_threads: int = 0  # 0: auto
    batch: int = 0  # model-only batch N, 0: the config's pipeline.batch_size
    repeats: int = 10  # model-only timed calls per figure
    sweep: bool = True  # thread placement sweep on the int8 line
    agreement_photos: int = 0  # real photos for runtime/int8 label agreement, 0: all
    idle_seconds: float = 10.0  # how long to watch an idle daemon's CPU (0: skip)
    soak: int = 0  # > 0: only the soak: N images through the daemon's path
    workers: int = 0  # > 0: only the queue: local pipeline vs Redis with 1..N processes
    library: int = 0  # > 0: only the library bench: the daemon on N tagged images
    model: str | None = None  # soak / default line; None: the config's model.name
    config: Path | None = None
    formats: bool = False  # --formats: only HEIC/RAW preview vs full decode (bench/formats.py)
    format_photos: int = 100  # real photos made into HEICs (and 2/5 as many DNGs)


Progress = Callable[[str], None]


def quiet(_message: str) -> None:
    """The progress callback for ``--json`` and library callers: prints nothing."""
