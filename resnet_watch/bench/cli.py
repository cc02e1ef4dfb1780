"""The ``bench`` subcommand's options, and running it from parsed arguments."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from resnet_watch.bench.options import BenchOptions
from resnet_watch.bench.report import render_text
from resnet_watch.bench.run import run_bench
from resnet_watch.bench.soak import run_soak

__all__ = ["add_arguments", "main", "options_from_args", "run_from_args"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``bench`` subcommand's options (``--config`` comes from the CLI's common parent)."""
    d = BenchOptions()
    parser.add_argument("--images", metavar="DIR", help="benchmark these photos instead")
    parser.add_argument("--cache-dir", metavar="DIR", help="corpus cache (default: XDG cache)")
    parser.add_argument("--photos", type=int, default=d.photos, help="generated 12 MP JPEGs")
    parser.add_argument("--screenshots", type=int, default=d.screenshots, help="PNGs and WebPs")
    parser.add_argument("--photo-size", default="x".join(map(str, d.photo_size)), metavar="WxH")
    parser.add_argument("--baseline-images", type=int, default=d.baseline_images, metavar="N")
    parser.add_argument("--line-images", type=int, default=d.line_images, metavar="N")
    parser.add_argument("--warmup", type=int, default=d.warmup, metavar="N")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: auto)")
    parser.add_argument("--decode-threads", type=int, default=0, help="0: auto")
    parser.add_argument("--batch", type=int, default=0, help="model-only batch N (0: config)")
    parser.add_argument("--repeats", type=int, default=d.repeats, metavar="N")
    parser.add_argument("--no-sweep", action="store_true", help="skip the thread sweep")
    parser.add_argument(
        "--agreement-photos",
        type=int,
        default=0,
        metavar="N",
        help="real photos for the runtime/int8 label agreement (0: all 210)",
    )
    parser.add_argument(
        "--idle-seconds",
        type=float,
        default=d.idle_seconds,
        metavar="S",
        help="watch an idle daemon's CPU this long (0: skip)",
    )
    parser.add_argument("--soak", type=int, default=0, metavar="N", help="memory soak only")
    parser.add_argument(
        "--workers", type=int, default=0, metavar="N", help="queue only: 1..N worker processes"
    )
    parser.add_argument(
        "--library",
        type=int,
        default=0,
        metavar="N",
        help="only the daemon on N already-tagged images (rescans, RSS, renames/deletes)",
    )
    parser.add_argument("--model", choices=["auto", "resnet18", "efficientnet_lite0"])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument(
        "--formats",
        action="store_true",
        help="only HEIC and RAW: preview vs full decode, label agreement and speed",
    )
    parser.add_argument("--format-photos", type=int, default=d.format_photos, metavar="N")


def options_from_args(args: argparse.Namespace) -> BenchOptions:
    width, _, height = str(args.photo_size).lower().partition("x")
    config = getattr(args, "config", None)
    return BenchOptions(
        images=Path(args.images) if args.images else None,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        photos=args.photos,
        photo_size=(int(width), int(height)),
        screenshots=args.screenshots,
        baseline_images=args.baseline_images,
        line_images=args.line_images,
        warmup=args.warmup,
        threads=args.threads,
        decode_threads=args.decode_threads,
        batch=args.batch,
        repeats=args.repeats,
        sweep=not args.no_sweep,
        agreement_photos=args.agreement_photos,
        idle_seconds=args.idle_seconds,
        soak=args.soak,
        workers=args.workers,
        library=args.library,
        model=args.model,
        config=Path(config) if config else None,
        formats=bool(getattr(args, "formats", False)),
        format_photos=getattr(args, "format_photos", BenchOptions.format_photos),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point (the CLI wires the same options as ``resnet-watch bench``)."""
    from resnet_watch import bench  # the package's docstring is the description

    parser = argparse.ArgumentParser(prog="resnet-watch bench", description=bench.__doc__)
    parser.add_argument("--config", metavar="PATH")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_from_args(args)


def run_from_args(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run what the options ask for and print it (table, or JSON with ``--json``)."""
    out = out or sys.stdout
    opts = options_from_args(args)
    progress = None if args.json else _stderr_progress
    if opts.workers > 0:
        from resnet_watch.bench.workers import render_workers_text, run_workers_bench

        report = run_workers_bench(opts, progress)
        out.write(json.dumps(report, indent=2) + "\n" if args.json else render_workers_text(report))
        return 0
    if opts.formats:
        from resnet_watch.bench.formats import render_formats, run_formats

        report = run_formats(opts, progress)
        out.write(json.dumps(report, indent=2) + "\n" if args.json else render_formats(report))
        return 0
    from resnet_watch.models.runtime import torch_installed

    if opts.soak <= 0 and opts.library <= 0 and not torch_installed():
        print(
            "resnet-watch: the full bench compares against torch (its baseline and the torch "
            "runtime): pip install 'resnet-watch[torch]'. `bench --soak N` runs without it.",
            file=sys.stderr,
        )
        return 2
    if opts.library > 0:
        from resnet_watch.bench.library_run import run_library

        report = run_library(opts, progress)
    elif opts.soak > 0:
        report = run_soak(opts, progress)
    else:
        report = run_bench(opts, progress)
    if args.json:
        out.write(json.dumps(report, indent=2) + "\n")
    else:
        out.write(render_text(report))
    return 0


def _stderr_progress(message: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\x1b[K{message}")
        sys.stderr.flush()
