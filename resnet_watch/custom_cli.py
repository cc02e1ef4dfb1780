"""The ``learn``, ``similar`` and ``dupes`` commands (your own categories, issue 16).

Kept out of cli.py so that file stays a router; heavy imports happen inside the commands.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from resnet_watch.command_setup import default_config_path
from resnet_watch.config import Config, load_config

__all__ = ["add_parsers", "checked_tagger", "custom_tagger", "report_stale_embeddings"]

RECOMMENDED_EXAMPLES = 5


def _load(args: argparse.Namespace) -> Config:
    path = Path(args.config) if args.config else default_config_path()
    return load_config(path, prepare_inbox=False)


class _Bar:
    """A one-line progress bar with a rate on stderr (TTY only)."""

    def __init__(self, total: int, what: str, stream: TextIO | None = None) -> None:
        self.total, self.what = total, what
        self.stream = stream or sys.stderr  # looked up now: sys.stderr may have been replaced
        self.enabled = self.stream.isatty() and total > 5
        self.started = time.monotonic()

    def show(self, done: int) -> None:
        if not self.enabled:
            return
        filled = int(30 * done / max(1, self.total))
        rate = done / max(1e-6, time.monotonic() - self.started)
        bar = "#" * filled + "." * (30 - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total} {self.what} {rate:.0f}/s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 70 + "\r")
            self.stream.flush()


def _classifier(cfg: Config, model: str | None) -> Any:
    from resnet_watch.config import auto_threads
    from resnet_watch.models import load_classifier

    _decode, threads = auto_threads(cfg.pipeline.decode_threads, cfg.model.threads)
    classifier, _reason = load_classifier(
        model or cfg.model.name, cfg.model.weights_dir, threads, runtime=cfg.model.runtime
    )
    return classifier


def custom_tagger(cfg: Config) -> Any:
    """A CustomTagger with the configured head, if any (no model loaded: the head's own
    model is what stored embeddings are checked against)."""
    from resnet_watch.custom import CustomTagger
    from resnet_watch.heads import load_head

    tagger = CustomTagger(tag_group=cfg.custom.tag_group, screenshots=cfg.custom.screenshots)
    if cfg.custom.head is not None and cfg.custom.head.exists():
        tagger.set_head(load_head(cfg.custom.head))
    return tagger


def checked_tagger(cfg: Config, info: Any) -> Any:
    """A CustomTagger with the configured head checked against ``info`` (the model about to
    classify, for ``classify --write-sidecars``): a head for another model is refused on
    stderr, as the daemon does, and custom classes stay off; screenshots still apply."""
    from resnet_watch.custom import CustomTagger

    tagger = CustomTagger(tag_group=cfg.custom.tag_group, screenshots=cfg.custom.screenshots)
    status = tagger.load(cfg.custom.head, info.name, info.weights_sha256)
    if status.error:
        print(f"resnet-watch: {status.error}; no custom classes", file=sys.stderr)
    return tagger


def report_stale_embeddings(cfg: Config, tagger: Any) -> None:
    """After ``reindex``: which images the custom head cannot judge without the model."""
    from resnet_watch.relabel import relabel_library

    if tagger.head is None:
        return
    report = relabel_library(cfg.inbox.paths, cfg.sidecar.suffix, tagger)
    _report_needs_model(report.needs_model, report.no_embedding, tagger.head.model)


# --- learn --------------------------------------------------------------------------------


def cmd_learn(args: argparse.Namespace) -> int:
    cfg = _load(args)
    if args.examples is None:
        if args.evaluate is None:
            print("resnet-watch: learn needs EXAMPLES (a folder of class folders)", file=sys.stderr)
            return 2
        from resnet_watch.custom_eval import run_packaged_evaluation

        return run_packaged_evaluation(_classifier(cfg, args.model), sys.stdout)
    from resnet_watch.heads import LOGISTIC, MIN_NEGATIVES, save_head, train_head
    from resnet_watch.learn import embed_samples, evaluate_head, example_folders

    classes, negatives = example_folders(Path(args.examples))
    for name, photos in classes.items():
        if len(photos) < RECOMMENDED_EXAMPLES:
            print(f"  note: {name} has {len(photos)} photos; 5-50 per class work best")
    classifier = _classifier(cfg, args.model)
    info = classifier.info
    paths = [p for name in sorted(classes) for p in classes[name]] + negatives
    bar = _Bar(len(paths), "photos")
    done = [0]

    def step(n: int) -> None:
        done[0] += n
        bar.show(done[0])

    samples = embed_samples(classifier, paths, suffix=cfg.sidecar.suffix, progress=step)
    bar.close()

    examples, at = {}, 0
    for name in sorted(classes):
        examples[name] = samples.take(range(at, at + len(classes[name])))
        at += len(classes[name])
    head, cal = train_head(
        examples,
        model=info.name,
        weights_sha256=info.weights_sha256,
        negatives=samples.take(range(at, len(paths))) if negatives else None,
    )
    out = Path(args.out) if args.out else cfg.custom.head
    if out is None:
        print("resnet-watch: custom.head is null; pass --out PATH", file=sys.stderr)
        return 2
    save_head(head, out)
    counts = ", ".join(f"{n} ({c})" for n, c in head.examples.items())
    print(f"learned {len(head.classes)} classes for {info.name}: {counts}")
    if negatives:
        print(f"  negatives (_none): {len(negatives)}")
    limits = ", ".join(f"{n} {t:.2f}" for n, t in zip(head.classes, head.thresholds, strict=True))
    if head.method == LOGISTIC:
        print("  logistic regression on embeddings + label ancestry")
        print(f"  thresholds (probability) {limits} ({cal.kind} recall ", end="")
    else:
        print(f"  nearest centroid, thresholds {limits} (leave-one-out recall ", end="")
    print(f"{cal.loo_recall:.0%}", end="")
    if cal.negatives_rejected is not None:
        print(f", negatives rejected {cal.negatives_rejected:.0%}", end="")
    print(")")
    if not cal.separable:
        print("  warning: some _none photos look like your classes; add more examples")
    if len(negatives) < MIN_NEGATIVES:
        print(
            f"  note: with {MIN_NEGATIVES}+ photos in {args.examples}/_none (photos that are none "
            "of your classes) learn fits a head that rejects unrelated photos much better"
        )
    print(f"  wrote {out}; a running daemon picks it up on SIGHUP (systemctl reload resnet-watch)")
    if args.evaluate:
        held, truth = example_folders(Path(args.evaluate))
        held_vectors = {
            name: embed_samples(classifier, photos, suffix=cfg.sidecar.suffix)
            for name, photos in held.items()
        }
        if truth:
            held_vectors["_none"] = embed_samples(classifier, truth, suffix=cfg.sidecar.suffix)
        for line in evaluate_head(head, held_vectors).lines():
            print(line)
    if args.apply:
        return _apply(cfg, head)
    return 0


def _apply(cfg: Config, head: Any) -> int:
    from resnet_watch.custom import CustomTagger
    from resnet_watch.extras import build_extras
    from resnet_watch.library import iter_sidecars
    from resnet_watch.relabel import relabel_library

    tagger = CustomTagger(tag_group=cfg.custom.tag_group, screenshots=cfg.custom.screenshots)
    tagger.set_head(head)
    _enrich, write_files, _extras = build_extras(cfg)
    total = sum(1 for _ in iter_sidecars(cfg.inbox.paths, cfg.sidecar.suffix))
    bar = _Bar(total, "images")
    report = relabel_library(
        cfg.inbox.paths, cfg.sidecar.suffix, tagger, write_files=write_files, progress=bar.show
    )
    bar.close()
    print(
        f"applied to {report.seen} image(s): {report.updated} changed, "
        f"{report.per_second:.0f} images/s, no decode, no model"
    )
    _report_needs_model(report.needs_model, report.no_embedding, head.model)
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if report.errors else 0


def _report_needs_model(needs: list[Path], none: list[Path], model: str) -> None:
    if needs:
        print(
            f"{len(needs)} image(s) have embeddings from another model and need {model} again "
            "(`resnet-watch classify --write-sidecars PATH`, or `retry` and let the daemon run):"
        )
        for path in needs[:20]:
            print(f"  {path}")
        if len(needs) > 20:
            print(f"  ... and {len(needs) - 20} more")
    if none:
        print(f"{len(none)} image(s) were classified before embeddings were kept; same remedy:")
        for path in none[:20]:
            print(f"  {path}")


# --- similar / dupes ----------------------------------------------------------------------


def cmd_similar(args: argparse.Namespace) -> int:
    cfg = _load(args)
    from resnet_watch.sidecar import read_sidecar, sidecar_path
    from resnet_watch.similar import exif_time, item_from_record, load_items, most_similar

    image = Path(args.path).absolute()
    record = read_sidecar(sidecar_path(image, cfg.sidecar.suffix))
    target = item_from_record(image, record, exif_time(image)) if record else None
    if target is None:
        print(f"{image}: no sidecar with an embedding yet (classify it first)", file=sys.stderr)
        return 1
    items, _missing = load_items(cfg.inbox.paths, cfg.sidecar.suffix)
    for item, cos in most_similar(target, items, args.top):
        same = " (same file content)" if item.sha256 and item.sha256 == target.sha256 else ""
        print(f"{cos:6.3f}  {item.image}{same}")
    return 0


def cmd_dupes(args: argparse.Namespace) -> int:
    cfg = _load(args)
    if args.evaluate:
        from resnet_watch.dupes_eval import run_dupes_evaluation

        return run_dupes_evaluation(_classifier(cfg, args.model), sys.stdout, near=args.near)
    from resnet_watch.similar import find_groups, load_items

    roots = [Path(p) for p in args.paths] or list(cfg.inbox.paths)
    items, missing = load_items(roots, cfg.sidecar.suffix)
    groups = find_groups(items, near=args.near, burst=args.burst, seconds=args.seconds)
    wanted = set(args.kind or ["exact", "near", "burst"])
    for group in (g for g in groups if g.kind in wanted):
        print(f"{group.kind} ({len(group.images)} images, similarity >= {group.similarity:.3f})")
        for path in group.images:
            print(f"  {path}")
    counts = {k: sum(g.kind == k for g in groups) for k in ("exact", "near", "burst")}
    print(
        f"{len(items)} image(s): {counts['exact']} exact, {counts['near']} near-duplicate, "
        f"{counts['burst']} burst group(s); nothing was moved or deleted",
        file=sys.stderr,
    )
    if missing:
        print(f"{missing} image(s) have no embedding yet (classified before v0.2)", file=sys.stderr)
    return 0


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register ``learn``, ``similar`` and ``dupes`` on the main parser."""
    from resnet_watch.similar import BURST_COSINE, BURST_SECONDS, NEAR_COSINE

    p = sub.add_parser(
        "learn", parents=[common], help="learn your own classes from folders of example photos"
    )
    p.add_argument("examples", nargs="?", metavar="EXAMPLES", help="EXAMPLES/<Class>/*.jpg")
    p.add_argument("--out", metavar="PATH", help="head file (default: custom.head)")
    p.add_argument(
        "--evaluate",
        nargs="?",
        const="",
        metavar="HELDOUT",
        help="precision/recall on HELDOUT/<Class>/* (and HELDOUT/_none); alone: on the "
        "labelled photos shipped in PyPI packages",
    )
    p.add_argument("--apply", action="store_true", help="re-tag the library from its sidecars")
    p.add_argument("--model", choices=["auto", "resnet18", "efficientnet_lite0"])
    p.set_defaults(func=cmd_learn)

    p = sub.add_parser("similar", parents=[common], help="images most like one image")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--top", type=int, default=10)
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser(
        "dupes", parents=[common], help="exact duplicates, near-duplicates, bursts (no deleting)"
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="folders (default: inbox)")
    p.add_argument("--kind", action="append", choices=["exact", "near", "burst"])
    p.add_argument("--near", type=float, default=NEAR_COSINE, help="near-duplicate cosine")
    p.add_argument("--burst", type=float, default=BURST_COSINE, help="burst cosine")
    p.add_argument("--seconds", type=float, default=BURST_SECONDS, help="burst time window")
    p.add_argument(
        "--evaluate", action="store_true", help="measure grouping on generated copies of photos"
    )
    p.add_argument("--model", choices=["auto", "resnet18", "efficientnet_lite0"])
    p.set_defaults(func=cmd_dupes)
