"""The ``resnet-watch`` command. Uses only the package's public API.

Heavy imports (torch, Pillow, watchdog) happen inside the subcommands, so
``resnet-watch --help`` and config errors answer instantly.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from resnet_watch import __version__
from resnet_watch.classify_cli import cmd_classify
from resnet_watch.command_setup import (
    configure_command_logging,
    default_config_path,
    load_command_config,
)
from resnet_watch.errors import ConfigError, ResnetWatchError
from resnet_watch.weights_cli import cmd_weights

__all__ = ["main"]


# --- run ----------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    cfg = load_command_config(args)
    configure_command_logging(cfg)
    import faulthandler

    from resnet_watch.custom import CustomTagger
    from resnet_watch.daemon import Daemon
    from resnet_watch.extras import build_extras

    faulthandler.enable()  # a watchdog SIGABRT then leaves every thread's stack in the log
    enrich, write_extras, extras = build_extras(cfg)
    custom = CustomTagger(tag_group=cfg.custom.tag_group, screenshots=cfg.custom.screenshots)
    extras = dataclasses.replace(extras, extra_albums=custom.album_names)
    daemon = Daemon(
        cfg,
        enrich=enrich,
        write_extras=write_extras,
        housekeeping=extras.prune,
        reconfigure_logging=lambda new: configure_command_logging(new),
        custom=custom,
    )
    return daemon.run()


# --- worker (several machines) ----------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    cfg = load_command_config(args, prepare_inbox=False)
    if not cfg.queue.url:
        raise ConfigError("queue.url", "is not set: a worker needs the watcher's Redis URL")
    if args.processes:
        import dataclasses

        cfg = dataclasses.replace(
            cfg, queue=dataclasses.replace(cfg.queue, processes=args.processes)
        )
    configure_command_logging(cfg)
    from resnet_watch.queue.connection import require_extra

    require_extra()
    from resnet_watch.queue.worker import run_worker

    return run_worker(cfg)


# --- albums / tags / reindex --------------------------------------------------------------


def cmd_albums(args: argparse.Namespace) -> int:
    cfg = load_command_config(args, prepare_inbox=False)
    from resnet_watch.extras import album_rules
    from resnet_watch.library import album_counts

    rules = album_rules(cfg)
    counts = album_counts(cfg.inbox.paths, cfg.sidecar.suffix, cfg.library.index)
    width = max((len(r.path) for r in rules), default=10)
    for rule in rules:
        print(f"{rule.path:<{width}}  {counts.get(rule.name, 0):>6}")
    for name in sorted(set(counts) - {r.name for r in rules}):
        print(f"{name + ' (no longer configured)':<{width}}  {counts[name]:>6}")
    return 0


def cmd_tags(args: argparse.Namespace) -> int:
    cfg = load_command_config(args, prepare_inbox=False)
    from resnet_watch.sidecar import read_sidecar, sidecar_path
    from resnet_watch.taxonomy import load_taxonomy

    status = 0
    for raw in args.paths:
        image = Path(raw)
        record = read_sidecar(sidecar_path(image, cfg.sidecar.suffix))
        if record is None:
            print(f"{image}: no sidecar yet", file=sys.stderr)
            status = 1
            continue
        if record.get("status") != "ok":
            err = record.get("error") or {}
            print(f"{image}: failed: {err.get('kind')}: {err.get('message')}")
            status = 1
            continue
        print(f"{image}")
        for label in record.get("labels", []):
            print(f"  {label['score']:6.1%}  {label['name']} ({label['wnid']})")
        print("  albums: " + (", ".join(record.get("albums") or []) or "-"))
        for tag in record.get("tags") or []:
            print(f"  tag: {cfg.sidecar.xmp_root}/{tag}")
        labels = record.get("labels") or []
        if labels:
            chain = load_taxonomy().chain(int(labels[0]["index"]))
            print("  wordnet: " + " > ".join(chain))
    return status


def cmd_reindex(args: argparse.Namespace) -> int:
    cfg = load_command_config(args, prepare_inbox=False)
    configure_command_logging(cfg, to_file=False)  # warnings (sidecar_ignored) go to stderr
    from resnet_watch.extras import build_extras
    from resnet_watch.library import reindex

    _enrich, _after, extras = build_extras(cfg)
    from resnet_watch.custom_cli import custom_tagger, report_stale_embeddings

    tagger = custom_tagger(cfg)
    extras = dataclasses.replace(extras, extra_albums=tagger.album_names)
    updated, errors = reindex(
        cfg.inbox.paths, cfg.sidecar.suffix, extras, tagger.fields, cfg.library.index
    )
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    print(f"reindexed: {updated} sidecar(s) changed, {len(errors)} error(s)")
    report_stale_embeddings(cfg, tagger)
    return 1 if errors else 0


# --- service ------------------------------------------------------------------------------


def cmd_install_service(args: argparse.Namespace) -> int:
    from resnet_watch.service import install_service

    config = Path(args.config) if args.config else default_config_path()
    if config is None:
        print("resnet-watch: install-service needs --config PATH", file=sys.stderr)
        return 2
    if args.worker:
        return _install_worker_service(args, config)
    result = install_service(
        args.user, config.absolute(), Path(args.dest) if args.dest else None, args.dry_run
    )
    if args.dry_run:
        print(result.unit_text)
    print(result.report())
    return 0


def _install_worker_service(args: argparse.Namespace, config: Path) -> int:
    if args.user:
        print("resnet-watch: --worker installs a system unit; drop --user", file=sys.stderr)
        return 2
    from resnet_watch.queue.unit import install_worker_service

    result = install_worker_service(
        config.absolute(), Path(args.dest) if args.dest else None, args.dry_run
    )
    if args.dry_run:
        print(result.unit_text)
    print(result.report())
    return 0


def cmd_reload(args: argparse.Namespace) -> int:
    """The unit's ExecReload=: SIGHUP the daemon and wait until it has reloaded."""
    from resnet_watch.reloading import request_reload, runtime_dir

    directory = runtime_dir()
    if directory is None:
        print(
            "resnet-watch: reload waits on $RUNTIME_DIRECTORY, which systemd sets for the "
            f"service (RuntimeDirectory=); outside systemd use: kill -HUP {args.pid}",
            file=sys.stderr,
        )
        return 2
    try:
        result = request_reload(args.pid, directory, args.timeout)
    except (OSError, TimeoutError) as exc:
        print(f"resnet-watch: reload: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0 if result.ok else 1


# --- doctor / retry -----------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace) -> int:
    from resnet_watch.doctor import run_doctor

    path = Path(args.config) if args.config else default_config_path()
    return run_doctor(path, sys.stdout)


def cmd_retry(args: argparse.Namespace) -> int:
    cfg = load_command_config(args, prepare_inbox=False)
    from resnet_watch.doctor import reset_failures

    roots = [Path(p) for p in args.paths] or list(cfg.inbox.paths)
    inboxes = [Path(os.path.realpath(p)) for p in cfg.inbox.paths]
    refused = 0
    for path in roots:
        real = Path(os.path.realpath(path))
        if not os.path.lexists(path):
            print(f"resnet-watch: retry: {path}: no such file or folder", file=sys.stderr)
            refused += 1
        elif not any(real == inbox or inbox in real.parents for inbox in inboxes):
            print(
                f"resnet-watch: retry: {path} is not inside the inbox "
                f"({', '.join(map(str, cfg.inbox.paths))}); nothing to retry there",
                file=sys.stderr,
            )
            refused += 1
    if refused:
        return 1
    n = reset_failures(roots, cfg.sidecar.suffix)
    print(
        f"cleared {n} failure record(s); a running daemon retries them at its next rescan "
        "(or now: systemctl reload resnet-watch / kill -HUP <pid>)"
    )
    return 0


# --- parser -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $RESNET_WATCH_CONFIG, else ./config.yaml, else built-ins)",
    )
    parser = argparse.ArgumentParser(
        prog="resnet-watch",
        description="Watch a folder of photos and tag them with ImageNet labels "
        "(JSON/XMP sidecars).",
    )
    parser.add_argument("--version", action="version", version=f"resnet-watch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", parents=[common], help="run the daemon (Ctrl-C to stop)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "worker", parents=[common], help="classify photos queued by a watcher (queue.url)"
    )
    p.add_argument("--processes", type=int, default=0, help="default: queue.processes")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("classify", parents=[common], help="classify files or folders once")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--top-k", type=int, default=0, help="labels per image (default: config)")
    p.add_argument("--model", choices=["auto", "resnet18", "efficientnet_lite0"])
    p.add_argument("--write-sidecars", action="store_true", help="also write sidecars")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser("doctor", parents=[common], help="check the setup and say how to fix it")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("retry", parents=[common], help="clear failure records so files retry")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: inbox)")
    p.set_defaults(func=cmd_retry)

    w = sub.add_parser("weights", parents=[common], help="model weights: status, fetch, import")
    wsub = w.add_subparsers(dest="weights_cmd", required=True, metavar="ACTION")
    wsub.add_parser("status", parents=[common], help="what is installed and where from")
    f = wsub.add_parser("fetch", parents=[common], help="download official weights (internet)")
    f.add_argument("name", choices=["resnet18"])
    f.add_argument("--url", help="download from this URL instead (a mirror)")
    i = wsub.add_parser("import", parents=[common], help="install a weights file copied by hand")
    i.add_argument("file")
    i.add_argument(
        "--calibrate", metavar="DIR", help="50-200 real photos for int8 calibration (fp32 files)"
    )
    w.set_defaults(func=cmd_weights)

    p = sub.add_parser("albums", parents=[common], help="list albums with image counts")
    p.set_defaults(func=cmd_albums)
    p = sub.add_parser("tags", parents=[common], help="show labels, tags and albums of images")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.set_defaults(func=cmd_tags)
    p = sub.add_parser(
        "reindex", parents=[common], help="recompute tags/albums/XMP from sidecars (no model)"
    )
    p.set_defaults(func=cmd_reindex)

    from resnet_watch import custom_cli

    custom_cli.add_parsers(sub, common)

    from resnet_watch import bench

    p = sub.add_parser("bench", parents=[common], help="measure speed and memory on this machine")
    bench.add_arguments(p)
    p.set_defaults(func=bench.run_from_args)

    p = sub.add_parser(
        "reload", help="reload a running daemon's config and wait until it is applied"
    )
    p.add_argument("--pid", type=int, required=True, help="the daemon's pid ($MAINPID)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (default 60)")
    p.set_defaults(func=cmd_reload)

    p = sub.add_parser(
        "install-service", parents=[common], help="write a systemd unit for this install"
    )
    p.add_argument("--user", action="store_true", help="a user unit (no root needed)")
    p.add_argument("--dest", metavar="PATH", help="write the unit here instead")
    p.add_argument("--dry-run", action="store_true", help="print the unit, write nothing")
    p.add_argument("--worker", action="store_true", help="the unit for `resnet-watch worker`")
    p.set_defaults(func=cmd_install_service)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: Any = args.func(args)
        return int(result or 0)
    except ConfigError as exc:
        print(f"resnet-watch: {exc}", file=sys.stderr)
        return 2
    except ResnetWatchError as exc:
        print(f"resnet-watch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `resnet-watch doctor | head -2`: the reader left. Point stdout at /dev/null so
        # the interpreter's final flush does not print a second traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # as a shell reports death by SIGPIPE
