"""The ``classify`` command: files or folders classified once, results printed.

The command runs the daemon's pipeline (and, with --write-sidecars, its store) over a list of
files and reports each outcome; kept out of cli.py so that file stays a router.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from resnet_watch.command_setup import configure_command_logging, load_command_config
from resnet_watch.config import Config

__all__ = ["cmd_classify"]


def _iter_images(paths: Sequence[str], cfg: Config) -> Iterator[Path]:
    """Files named on the command line always; files inside folders by the include rules."""
    from resnet_watch.pathfilter import PathFilter

    filt = PathFilter(
        include=cfg.inbox.include,
        ignore=cfg.inbox.ignore,
        sidecar_suffixes=(cfg.sidecar.suffix, ".xmp"),
    )
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            yield path
            continue
        for folder, dirs, files in os.walk(path):
            dirs.sort()
            dirs[:] = [d for d in dirs if not filt.is_ignored_dir(Path(folder) / d, path)]
            for name in sorted(files):
                candidate = Path(folder) / name
                if filt.is_candidate(candidate, path):
                    yield candidate


class _Progress:
    """A one-line progress bar on stderr, only on a TTY and for more than a few files."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.enabled = stream.isatty() and total > 5
        self.started = time.monotonic()

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / self.total)
        rate = self.done / max(1e-6, time.monotonic() - self.started)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {rate:.1f}/s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()


def cmd_classify(args: argparse.Namespace) -> int:
    cfg = load_command_config(args, prepare_inbox=False)
    configure_command_logging(cfg, to_file=False, level="warning")
    from resnet_watch.component_settings import build_pipeline_settings
    from resnet_watch.config import auto_threads
    from resnet_watch.models import load_classifier
    from resnet_watch.outcomes import Classified, Failed, Outcome
    from resnet_watch.pipeline import Pipeline

    images = list(_iter_images(args.paths, cfg))
    decode_threads, torch_threads = auto_threads(cfg.pipeline.decode_threads, cfg.model.threads)
    classifier, _reason = load_classifier(
        args.model or cfg.model.name,
        cfg.model.weights_dir,
        torch_threads,
        runtime=cfg.model.runtime,
    )
    settings = build_pipeline_settings(cfg, decode_threads, classifier.info.name)
    if args.top_k:
        settings = dataclasses.replace(settings, top_k=args.top_k)
    out: TextIO = sys.stdout
    progress = _Progress(len(images), sys.stderr)
    failures = 0
    store = None
    if args.write_sidecars:
        # The daemon's own tagging path: same store settings, same tags, albums and XMP, so
        # a sidecar written here is one the daemon treats as done, rightly.
        from resnet_watch.component_settings import store_settings
        from resnet_watch.custom_cli import checked_tagger
        from resnet_watch.extras import build_extras
        from resnet_watch.logs import get_logger
        from resnet_watch.store import SidecarStore

        enrich, write_extras, _extras = build_extras(cfg)
        store = SidecarStore(
            store_settings(cfg),
            classifier.info,
            get_logger("resnet_watch.images"),
            enrich=enrich,
            write_extras=write_extras,
            customize=checked_tagger(cfg, classifier.info).fields,
        )
    results: dict[Path, Outcome] = {}

    def sink(outcome: Outcome) -> None:
        results[outcome.path] = outcome
        if store is not None:
            store.sink(outcome)
        progress.step()
        return None

    pipeline = Pipeline(classifier, settings, sink)
    pipeline.start()
    try:
        for image in images:
            pipeline.submit(image)
        pipeline.wait_idle()
    finally:
        pipeline.stop()
        progress.close()
    info = classifier.info
    for image in images:
        outcome = results.get(image)
        if isinstance(outcome, Classified):
            if args.json:
                row = {
                    "path": str(image),
                    "status": "ok",
                    "labels": [
                        {
                            "rank": x.rank,
                            "index": x.index,
                            "wnid": x.wnid,
                            "name": x.name,
                            "score": round(x.score, 6),
                        }
                        for x in outcome.labels
                    ],
                    "image": {
                        "width": outcome.width,
                        "height": outcome.height,
                        "format": outcome.format,
                        "source": outcome.source,
                    },
                    "model": info.name,
                    "precision": info.precision,
                    "runtime": info.runtime,
                    "ms": round(outcome.elapsed_ms, 1),
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            else:
                tops = ", ".join(f"{x.name} {x.score:.0%}" for x in outcome.labels[:3])
                out.write(f"{image}\t{tops}\n")
        else:
            failures += 1
            if isinstance(outcome, Failed):
                kind, message = outcome.kind, outcome.message
            elif outcome is None:
                kind, message = "not_processed", "no result"
            else:
                kind, message = "skipped", outcome.reason
            if args.json:
                out.write(
                    json.dumps(
                        {
                            "path": str(image),
                            "status": "failed",
                            "error": {"kind": kind, "message": message},
                        }
                    )
                    + "\n"
                )
            print(f"error: {image}: {kind}: {message}", file=sys.stderr)
    out.flush()
    return 1 if failures else 0
