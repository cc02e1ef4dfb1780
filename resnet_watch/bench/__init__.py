"""``resnet-watch bench``: the naive tutorial pipeline and resnet-watch's own, side by side.

Why a built-in benchmark: on real 12 MP photos decoding, not the network, is most of the
cost, so only an end-to-end figure measured on the user's own machine, in one run, says
whether the product is fast. Every line runs in this process, on the same corpus and cores:

- baseline: full ``Image.open().convert`` + torchvision Resize/CenterCrop/ToTensor/Normalize
  + fp32 eager ResNet-18 (random weights: speed only), one image at a time;
- decode only: the pipeline's decode stage (``imaging.read_image`` + ``preprocess``);
- resnet-watch: ``pipeline.Pipeline`` (the daemon's worker code, daemon settings) with the
  bundled EfficientNet-Lite0 and with int8 ResNet-18. Without real ResNet-18 weights the
  int8 line runs FIXTURE weights (random; speed only): those classifiers are built here and
  only ever see the benchmark corpus, and no line writes a sidecar, so nothing is tagged.

Nothing heavy is imported at module level: ``resnet-watch --help`` stays torch-free.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from resnet_watch import __version__

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from resnet_watch.config import Config
    from resnet_watch.models.spec import Classifier
    from resnet_watch.pipeline import PipelineSettings

__all__ = [
    "BenchOptions",
    "Corpus",
    "Line",
    "add_arguments",
    "default_cache_dir",
    "main",
    "make_corpus",
    "options_from_args",
    "render_text",
    "run_bench",
    "run_soak",
]

CORPUS_VERSION = 1  # bump when the generator changes: a new cache folder is made
PHOTO_SIZE = (4032, 3024)  # 12.2 MP, a phone camera's 4:3 frame
SCREENSHOT_SIZES = ((1170, 2532), (1080, 2400))  # iPhone 12-15, common Android
FIXTURE_NOTE = "FIXTURE weights (random; speed only)"
RANDOM_NOTE = "random weights; speed only"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".tif", ".tiff", ".bmp")
INT8_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)
_MB = 1024 * 1024


# --- options ------------------------------------------------------------------------------


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
    idle_seconds: float = 10.0  # how long to watch an idle daemon's CPU (0: skip)
    soak: int = 0  # > 0: only the soak: N images through the daemon's path
    model: str | None = None  # soak / default line; None: the config's model.name
    config: Path | None = None


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/resnet-watch/bench``, else ``~/.cache/resnet-watch/bench``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "resnet-watch" / "bench"


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
        "--idle-seconds",
        type=float,
        default=d.idle_seconds,
        metavar="S",
        help="watch an idle daemon's CPU this long (0: skip)",
    )
    parser.add_argument("--soak", type=int, default=0, metavar="N", help="memory soak only")
    parser.add_argument("--model", choices=["auto", "resnet18", "efficientnet_lite0"])
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")


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
        idle_seconds=args.idle_seconds,
        soak=args.soak,
        model=args.model,
        config=Path(config) if config else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point (the CLI wires the same options as ``resnet-watch bench``)."""
    parser = argparse.ArgumentParser(prog="resnet-watch bench", description=__doc__)
    parser.add_argument("--config", metavar="PATH")
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run_from_args(args)


def run_from_args(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Run what the options ask for and print it (table, or JSON with ``--json``)."""
    out = out or sys.stdout
    opts = options_from_args(args)
    progress = None if args.json else _stderr_progress
    report = run_soak(opts, progress) if opts.soak > 0 else run_bench(opts, progress)
    if args.json:
        out.write(json.dumps(report, indent=2) + "\n")
    else:
        out.write(render_text(report))
    return 0


def _stderr_progress(message: str) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\x1b[K{message}")
        sys.stderr.flush()


def _quiet(_message: str) -> None:
    pass


Progress = Callable[[str], None]


# --- corpus -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    photos: list[Path]  # the 12 MP JPEGs (or the user's photos)
    screenshots: list[Path]  # PNG and WebP at phone-screen sizes
    folder: Path
    generated: bool  # False: --images DIR
    made_now: int = 0  # files generated in this run (0: all cached)
    generate_s: float = 0.0

    def describe(self) -> dict[str, Any]:
        sizes = [p.stat().st_size for p in self.photos]
        return {
            "folder": str(self.folder),
            "generated": self.generated,
            "photos": len(self.photos),
            "photo_mb_mean": round(sum(sizes) / max(1, len(sizes)) / 1e6, 2),
            "screenshots": len(self.screenshots),
            "made_now": self.made_now,
            "generate_s": round(self.generate_s, 1),
        }


def make_corpus(
    folder: Path,
    photos: int = 40,
    screenshots: int = 4,
    photo_size: tuple[int, int] = PHOTO_SIZE,
    workers: int = 0,
) -> Corpus:
    """Generate (once; cached by content parameters) photo-like JPEGs and screenshots.

    Deterministic: file ``i`` depends only on ``i`` and the size. Work runs in spawned
    processes, so it uses every core and leaves no decode buffers in this process's heap
    (that would pollute the memory figures)."""
    w, h = photo_size
    root = folder / f"corpus-v{CORPUS_VERSION}-{w}x{h}"
    root.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, int, tuple[int, int], Path]] = []
    photo_paths = [root / f"photo-{i:03d}.jpg" for i in range(photos)]
    jobs += [("photo", i, photo_size, p) for i, p in enumerate(photo_paths)]
    shot_paths: list[Path] = []
    for i in range(screenshots):
        for ext in ("png", "webp"):
            size = SCREENSHOT_SIZES[i % len(SCREENSHOT_SIZES)]
            path = root / f"screen-{i:03d}.{ext}"
            shot_paths.append(path)
            jobs.append(("screen", i, size, path))
    todo = [j for j in jobs if not j[3].exists()]
    started = time.perf_counter()
    if todo:
        import multiprocessing

        n = workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(1, min(n, len(todo))), mp_context=ctx) as ex:
            list(ex.map(_generate_one, todo))
    return Corpus(photo_paths, shot_paths, root, True, len(todo), time.perf_counter() - started)


def _generate_one(job: tuple[str, int, tuple[int, int], Path]) -> None:
    kind, index, size, path = job
    image = _photo(index, size) if kind == "photo" else _screenshot(index, size)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if kind == "photo":
        exif = image.getexif()
        exif[0x0112] = 6 if index % 4 == 3 else 1  # every 4th: a portrait shot, rotated by EXIF
        image.save(tmp, "JPEG", quality=90, exif=exif.tobytes())
    elif path.suffix == ".png":
        image.save(tmp, "PNG")
    else:
        image.save(tmp, "WEBP", quality=80)
    os.replace(tmp, path)


def _photo(seed: int, size: tuple[int, int]) -> Any:
    """A photo-like picture: smooth sky over a textured ground, lit unevenly, with objects.

    JPEG cost follows compressed bytes, so what matters is a realistic mix of smooth
    regions (cheap) and fine texture (expensive): q90 gives ~2 MB at 12 MP, like a phone."""
    import numpy as np
    from PIL import Image, ImageDraw

    w, h = size
    rng = np.random.default_rng(1000 + seed)

    def smooth(grid: tuple[int, int], mode: str = "L") -> npt.NDArray[np.float32]:
        small = (rng.random(grid) * 255).astype(np.uint8)
        return np.asarray(
            Image.fromarray(small, mode).resize((w, h), Image.Resampling.BICUBIC), np.float32
        )

    top, bottom = rng.uniform(60, 230, 3), rng.uniform(20, 160, 3)
    horizon = rng.uniform(0.3, 0.7)
    ys = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    ground = (1 / (1 + np.exp(-(ys - horizon) * 12))).astype(np.float32)  # (h, 1)
    img = np.empty((h, w, 3), np.float32)
    img[:] = (top * (1 - ground) + bottom * ground)[:, None, :]
    img *= (0.7 + 0.6 / 255 * smooth((5, 6)))[..., None]  # uneven light
    img += (0.35 * (smooth((45, 60)) - 128) * ground)[..., None]  # clutter below the horizon
    picture = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(picture)
    for _ in range(int(rng.integers(6, 14))):  # objects
        x, y = int(rng.integers(0, w)), int(rng.integers(h // 4, h))
        s = int(rng.integers(max(1, h // 16), max(2, h // 3)))
        colour = tuple(int(c) for c in rng.uniform(0.3, 1.0) * rng.integers(40, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + s, y + int(s * rng.uniform(0.5, 1.5))), fill=colour)
        else:
            corners = [
                (x + int(rng.integers(-s, s)), y + int(rng.integers(-s, s))) for _ in "12345"
            ]
            draw.polygon(corners, fill=colour)
    img = np.asarray(picture, np.float32)
    texture = np.clip(smooth((6, 8)) / 255 * 1.6 - 0.4, 0, 1) * ground  # smooth sky
    grain = rng.standard_normal((max(1, h // 2), max(1, w // 2)), dtype=np.float32)
    grain_full = np.asarray(
        Image.fromarray(grain, "F").resize((w, h), Image.Resampling.BILINEAR), np.float32
    )
    img += (grain_full * (3.0 + 30.0 * texture))[..., None]
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def _screenshot(seed: int, size: tuple[int, int]) -> Any:
    """A phone screenshot: flat UI panels, lines of "text", one photo thumbnail."""
    import numpy as np
    from PIL import Image, ImageDraw

    w, h = size
    rng = np.random.default_rng(2000 + seed)
    dark = bool(seed % 2)
    shot = Image.new("RGB", size, (18, 18, 20) if dark else (246, 246, 248))
    draw = ImageDraw.Draw(shot)
    ink = (230, 230, 230) if dark else (20, 20, 24)
    draw.rectangle((0, 0, w, h // 20), fill=(40, 40, 44) if dark else (230, 230, 235))
    y = h // 16
    while y < h - 80:
        if rng.random() < 0.15:  # a photo thumbnail
            thumb = _photo(int(rng.integers(0, 1 << 30)), (w - 80, h // 5))
            shot.paste(thumb, (40, y))
            y += h // 5 + 30
            continue
        card = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.rounded_rectangle(
            (30, y, w - 30, y + 150),
            24,
            fill=card if rng.random() < 0.2 else None,
            outline=(90, 90, 96),
        )
        for line in range(3):  # text: runs of short dark bars
            x = 60
            while x < w - 120:
                word = int(rng.integers(20, 110))
                draw.rectangle((x, y + 25 + line * 38, x + word, y + 45 + line * 38), fill=ink)
                x += word + 14
        y += 180
    return shot


def _user_corpus(folder: Path) -> Corpus:
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    jpegs = [p for p in files if p.suffix.lower() in (".jpg", ".jpeg")]
    others = [p for p in files if p not in set(jpegs)]
    if not files:
        raise SystemExit(f"resnet-watch bench: no images in {folder}")
    return Corpus(jpegs or others, others if jpegs else [], folder, False)


def _corpus(opts: BenchOptions) -> Corpus:
    if opts.images is not None:
        return _user_corpus(opts.images)
    return make_corpus(
        opts.cache_dir or default_cache_dir(), opts.photos, opts.screenshots, opts.photo_size
    )


# --- measurement helpers ------------------------------------------------------------------


def _rss() -> int:
    from resnet_watch.daemon import rss_bytes

    return rss_bytes()


class RssSampler:
    """Peak RSS over a block, sampled every few ms (``ru_maxrss`` never goes down, so it
    would report the import or corpus peak instead of this block's)."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = self.start = 0
        self.began = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.start = self.peak = _rss()
        self.began = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    def timing(
        self, done_at: list[float], latencies: list[float]
    ) -> tuple[float, list[float], list[float]]:
        return self.began, done_at, latencies

    def rss(self, import_rss: int) -> tuple[int, int, int]:
        return import_rss, self.start, self.peak


def _percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class Line:
    """One row of the end-to-end table."""

    key: str
    name: str
    note: str
    images: int  # counted (after warm-up)
    images_per_s: float
    p50_ms: float
    p95_ms: float
    peak_rss_mb: float
    peak_above_import_mb: float
    peak_above_line_start_mb: float  # what this line itself added
    failed: int = 0
    ratio: float | None = None  # images/s over the baseline's
    extra: dict[str, Any] = field(default_factory=dict)


def _line(
    key: str,
    name: str,
    note: str,
    timing: tuple[float, list[float], list[float]],
    warmup: int,
    rss: tuple[int, int, int],
    failed: int = 0,
) -> Line:
    """Steady-state rate: the results after the first ``warmup`` over the time they took.

    ``timing`` is (start, completion times, latencies); ``rss`` is (after imports, at the
    line's start, peak). Results of one batch complete together, so the clock starts at
    the last warm-up result and counts what completed strictly after it; when nothing did
    (a tiny run), the whole run from ``start`` is counted."""
    start, done_at, latencies_ms = timing
    done_at = sorted(done_at)
    warm = min(max(0, warmup), len(done_at))
    t0 = done_at[warm - 1] if warm else start
    counted = sum(1 for t in done_at if t > t0)
    if counted == 0 or done_at[-1] <= t0:
        t0, counted = start, len(done_at)
    lat = latencies_ms[warm:] if len(latencies_ms) > warm else latencies_ms
    import_rss, line_rss, peak = rss
    return Line(
        key,
        name,
        note,
        counted,
        counted / max(1e-9, done_at[-1] - t0) if done_at else 0.0,
        _percentile(lat, 50),
        _percentile(lat, 95),
        peak / _MB,
        (peak - import_rss) / _MB,
        (peak - line_rss) / _MB,
        failed,
    )


def _cycle(paths: Sequence[Path], n: int) -> list[Path]:
    if not paths:
        return []
    return [paths[i % len(paths)] for i in range(n)]


# --- environment --------------------------------------------------------------------------


def _cpu_info() -> dict[str, Any]:
    model, flags = platform.processor() or platform.machine(), set[str]()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for row in fh:
                key, _, value = row.partition(":")
                if key.strip() == "model name" and model in ("", platform.machine()):
                    model = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return {
        "model": model,
        "int8_flags": [f for f in INT8_FLAGS if f in flags],
        "missing_int8_flags": [f for f in INT8_FLAGS if f not in flags],
        "cpus_usable": len(cpus) or (os.cpu_count() or 1),
        "affinity": cpus,
        "load_avg": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else [],
    }


def _software_info() -> dict[str, Any]:
    import PIL
    import torch
    import torchvision
    from PIL import features

    cuda = torch.version.cuda
    return {
        "python": platform.python_version(),
        "resnet_watch": __version__,
        "torch": torch.__version__,
        "torch_build": f"CUDA {cuda} build (running on CPU)" if cuda else "CPU-only build",
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "quantized_engine": torch.backends.quantized.engine,
        "torchvision": torchvision.__version__,
        "pillow": PIL.__version__,
        "libjpeg_turbo": features.version("jpg")
        if features.check_feature("libjpeg_turbo")
        else None,
    }


def _config(opts: BenchOptions) -> Config:
    from resnet_watch.config import load_config

    path = opts.config
    if path is None:
        env = os.environ.get("RESNET_WATCH_CONFIG")
        path = Path(env) if env else (Path("config.yaml") if Path("config.yaml").exists() else None)
    return load_config(path, prepare_inbox=False)


def _threads(opts: BenchOptions, cfg: Config) -> tuple[int, int]:
    from resnet_watch.config import auto_threads

    return auto_threads(
        opts.decode_threads or cfg.pipeline.decode_threads, opts.threads or cfg.model.threads
    )


# --- the lines ----------------------------------------------------------------------------


def _naive_transform() -> Any:
    from torchvision import transforms

    return transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
        ]
    )


def _fp32_resnet18() -> Any:
    """torchvision's fp32 ResNet-18 with random weights (fixed seed): speed only."""
    import torch
    from torchvision.models import resnet18

    torch.manual_seed(0)
    return resnet18(weights=None).eval()


def _baseline(paths: list[Path], model: Any, warmup: int, import_rss: int) -> Line:
    """The tutorial pipeline, one image at a time, with torch's default thread count."""
    import torch
    from PIL import Image

    transform = _naive_transform()
    done_at: list[float] = []
    latencies: list[float] = []
    with RssSampler() as rss, torch.no_grad():
        for path in paths:
            started = time.perf_counter()
            image = Image.open(path).convert("RGB")
            batch = transform(image).unsqueeze(0)
            torch.softmax(model(batch), dim=1).topk(5)
            done = time.perf_counter()
            done_at.append(done)
            latencies.append((done - started) * 1000)
            del image, batch
    name = "baseline: tutorial pipeline, fp32 ResNet-18 eager"
    note = f"{RANDOM_NOTE}; full decode; 1 image at a time; torch threads {torch.get_num_threads()}"
    return _line(
        "baseline", name, note, rss.timing(done_at, latencies), warmup, rss.rss(import_rss)
    )


def _decode_only(
    paths: list[Path], threads: int, cfg: Config, warmup: int, import_rss: int
) -> Line:
    """The pipeline's decode stage alone (read + sha256 + draft decode + EXIF + preprocess)."""
    from resnet_watch.daemon import build_pipeline_settings
    from resnet_watch.imaging import preprocess, read_image
    from resnet_watch.models.build import RESNET18_PREPROCESS

    limits = build_pipeline_settings(cfg, threads).limits
    spec = RESNET18_PREPROCESS
    done_at: list[float] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def one(path: Path) -> None:
        started = time.perf_counter()
        preprocess(read_image(path, limits, spec.resize_short).image, spec)
        done = time.perf_counter()
        with lock:
            done_at.append(done)
            latencies.append((done - started) * 1000)

    with RssSampler() as rss, ThreadPoolExecutor(max_workers=threads) as ex:
        list(ex.map(one, paths))
    name = f"decode + preprocess only ({threads} threads)"
    note = "imaging.read_image + preprocess, ResNet-18 input; no model"
    timing, mem = rss.timing(done_at, latencies), rss.rss(import_rss)
    return _line("decode_only", name, note, timing, warmup, mem)


def _pipeline_line(
    key: str,
    name: str,
    note: str,
    classifier: Classifier,
    paths: list[Path],
    settings: PipelineSettings,
    warmup: int,
    import_rss: int,
    torch_threads: int,
) -> Line:
    """``paths`` through the daemon's Pipeline (no gate, no sidecars), all queued at once."""
    import torch

    from resnet_watch.pipeline import Classified, Outcome, Pipeline

    torch.set_num_threads(torch_threads)
    done_at: list[float] = []
    latencies: list[float] = []
    failed = 0
    finished = threading.Event()

    def sink(outcome: Outcome) -> None:
        nonlocal failed
        done_at.append(time.perf_counter())
        if isinstance(outcome, Classified):
            latencies.append(outcome.elapsed_ms)
        else:
            failed += 1
        if len(done_at) >= len(paths):
            finished.set()
        return None

    with RssSampler() as rss:
        _feed(Pipeline(classifier, settings, sink), paths, finished)
    timing, mem = rss.timing(done_at, latencies), rss.rss(import_rss)
    line = _line(key, name, note, timing, warmup, mem, failed)
    line.extra = {
        "decode_threads": settings.decode_threads,
        "torch_threads": torch_threads,
        "batch_size": settings.batch_size,
        "latency": "submit-to-result inside the pipeline, queueing included",
    }
    return line


def _feed(pipeline: Any, paths: list[Path], finished: threading.Event) -> None:
    """Submit every path (a path still in flight is resubmitted once it is done: the
    pipeline refuses duplicates, and the corpus is cycled), then wait for all results."""
    pipeline.start()
    try:
        for path in paths:
            while not pipeline.submit(path):
                time.sleep(0.002)
        while not finished.wait(0.5):
            if not pipeline.alive:
                raise RuntimeError("the pipeline's inference thread died")
    finally:
        pipeline.stop()


def _fixture_int8_resnet18(fp32: Any, calibration: list[Path], cfg: Config) -> Classifier:
    """FIXTURE int8 ResNet-18: the random fp32 model, quantized with the product's own recipe
    (quant.ptq_resnet18) on a few corpus images and frozen as resnet18_classifier does."""
    import numpy as np
    import torch

    from resnet_watch.daemon import build_pipeline_settings
    from resnet_watch.imaging import preprocess, read_image
    from resnet_watch.models import quant
    from resnet_watch.models.build import RESNET18_PREPROCESS, RUNTIME
    from resnet_watch.models.classifier import TorchClassifier
    from resnet_watch.models.spec import ModelInfo

    spec = RESNET18_PREPROCESS
    limits = build_pipeline_settings(cfg, 1).limits
    arrays = [preprocess(read_image(p, limits, spec.resize_short).image, spec) for p in calibration]
    batch = torch.from_numpy(np.stack(arrays))
    model = quant.ptq_resnet18(fp32.state_dict(), [batch])
    frozen = quant.freeze(model, torch.zeros(1, 3, spec.crop, spec.crop))
    info = ModelInfo(
        name="resnet18",
        precision="int8",
        runtime=RUNTIME,
        engine=quant.ENGINE,
        weights_sha256="fixture",
        weights_source=FIXTURE_NOTE,
        fixture=True,
    )
    return TorchClassifier(frozen, info, spec)


def _real_resnet18(cfg: Config, threads: int) -> Classifier | None:
    from resnet_watch.errors import WeightsError
    from resnet_watch.models import load_classifier
    from resnet_watch.models.resolve import find_resnet18

    try:
        if find_resnet18(cfg.model.weights_dir) is None:
            return None
        classifier, _ = load_classifier("resnet18", cfg.model.weights_dir, threads)
    except WeightsError:
        return None
    return classifier


def _model_only(
    models: list[tuple[str, str, Callable[[Any], Any]]],
    batch_n: int,
    thread_counts: list[int],
    repeats: int,
) -> list[dict[str, Any]]:
    """Median ms/image of the forward pass (+ softmax top-5) on random input."""
    import torch

    rows = []
    for threads in thread_counts:
        torch.set_num_threads(threads)
        for key, name, run in models:
            for size in sorted({1, batch_n}):
                x = torch.randn(size, 3, 224, 224)
                times = []
                with torch.inference_mode():
                    for i in range(repeats + 2):
                        started = time.perf_counter()
                        run(x)
                        if i >= 2:  # two warm-up calls
                            times.append(time.perf_counter() - started)
                ms = 1000 * _percentile(times, 50) / size
                rows.append({"key": key, "name": name, "threads": threads, "batch": size, "ms": ms})
    return rows


def _stages(paths: list[Path], cfg: Config, fp32: Any) -> list[dict[str, Any]]:
    """Per-image cost of each step, one thread: what each product change buys."""
    import torch
    from PIL import Image

    from resnet_watch.daemon import build_pipeline_settings
    from resnet_watch.imaging import preprocess, read_image
    from resnet_watch.models.build import RESNET18_PREPROCESS

    torch.set_num_threads(1)
    limits = build_pipeline_settings(cfg, 1).limits
    spec = RESNET18_PREPROCESS
    transform = _naive_transform()
    totals: dict[str, list[float]] = {}

    def timed(key: str, fn: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        result = fn(*args)
        totals.setdefault(key, []).append((time.perf_counter() - started) * 1000)
        return result

    def full_decode(path: Path) -> Any:
        return Image.open(path).convert("RGB")

    for path in paths:
        full = timed("full_decode", full_decode, path)
        timed("torchvision_transforms", transform, full)
        del full
        decoded = timed("read_image", read_image, path, limits, spec.resize_short)
        timed("preprocess", preprocess, decoded.image, spec)
    names = {
        "full_decode": "baseline: Image.open().convert('RGB'), full 12 MP",
        "torchvision_transforms": "baseline: Resize(256)/CenterCrop/ToTensor/Normalize",
        "read_image": "resnet-watch: read + sha256 + draft decode + reduce + EXIF",
        "preprocess": "resnet-watch: resize + crop + normalise (numpy)",
    }
    return [
        {"key": k, "name": names[k], "ms_p50": _percentile(v, 50), "images": len(v)}
        for k, v in totals.items()
    ]


def _labels_agreement(cfg: Config, real_int8: Classifier | None) -> dict[str, str]:
    """int8 vs fp32 top-1 on held-out real photos, for every model with real weights."""
    out = {"efficientnet_lite0": "n/a: runs fp32 only (no int8 path); trivially 100%"}
    if real_int8 is None:
        out["resnet18"] = "n/a: no real weights"
        return out
    import numpy as np
    import torch

    from resnet_watch.daemon import build_pipeline_settings
    from resnet_watch.imaging import preprocess, read_image
    from resnet_watch.models.build import RESNET18_PREPROCESS, load_state_dict
    from resnet_watch.models.manifest import hub_checkpoints_dir, manifest_entry
    from resnet_watch.models.photos import ai_benchmark_photos

    entry = manifest_entry("resnet18_fp32")
    fp32_path = next(
        (
            d / entry.file
            for d in (cfg.model.weights_dir, hub_checkpoints_dir())
            if (d / entry.file).is_file()
        ),
        None,
    )
    photos = ai_benchmark_photos()[50:]  # held out from calibration
    if fp32_path is None or not photos:
        why = "fp32 reference weights" if fp32_path is None else "ai-benchmark photos"
        out["resnet18"] = f"n/a: {why} not installed"
        return out
    model = _fp32_resnet18()
    model.load_state_dict(load_state_dict(fp32_path))
    limits = build_pipeline_settings(cfg, 1).limits
    spec = RESNET18_PREPROCESS
    batch = np.stack([preprocess(read_image(p, limits, 256).image, spec) for p in photos])
    with torch.inference_mode():
        reference = model(torch.from_numpy(batch)).argmax(1).tolist()
    got = [labels[0].index for labels in real_int8.predict(batch, 1)]
    agree = sum(a == b for a, b in zip(reference, got, strict=True)) / len(photos)
    out["resnet18"] = f"{agree:.1%} of {len(photos)} real photos (ai-benchmark 50..99)"
    return out


# --- bench --------------------------------------------------------------------------------


def run_bench(opts: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Every figure of the benchmark as a JSON-ready dict (``render_text`` prints it)."""
    say = progress or _quiet
    wall = time.perf_counter()
    cpu = _cpu_info()
    say("corpus: generating (first run only) ...")
    corpus = _corpus(opts)
    cfg = _config(opts)
    decode_threads, torch_threads = _threads(opts, cfg)

    # Start-up to ready, as the daemon does it: imports, then the model.
    say("start-up: importing torch and loading the model ...")
    started = time.perf_counter()
    import torch  # timed: most of a cold start

    from resnet_watch.daemon import build_pipeline_settings
    from resnet_watch.models import load_classifier
    from resnet_watch.pipeline import Pipeline  # noqa: F401

    imported = time.perf_counter()
    import_rss = _rss()
    default_name = opts.model or cfg.model.name
    default, reason = load_classifier(default_name, cfg.model.weights_dir, torch_threads)
    ready = time.perf_counter()
    startup = {
        "imports_ms": (imported - started) * 1000,
        "model_load_ms": (ready - imported) * 1000,
        "ready_ms": (ready - started) * 1000,
        "model": default.info.name,
        "reason": reason,
    }
    settings = build_pipeline_settings(cfg, decode_threads, "efficientnet_lite0")
    int8_settings = build_pipeline_settings(cfg, decode_threads, "resnet18")
    photos = corpus.photos

    say("baseline ...")
    fp32 = _fp32_resnet18()
    torch.set_num_threads(max(1, cpu["cpus_usable"]))  # what a tutorial user gets
    base_n = min(len(photos), opts.baseline_images + 2)
    baseline = _baseline(photos[:base_n], fp32, min(2, base_n - 1), import_rss)

    say("decode only ...")
    n = max(opts.line_images, opts.warmup + 2)
    lines = [baseline]
    lines.append(_decode_only(_cycle(photos, n), decode_threads, cfg, opts.warmup, import_rss))

    say("resnet-watch lines ...")
    if default.info.name == "efficientnet_lite0":
        lite = default
    else:
        lite, _ = load_classifier("efficientnet_lite0", cfg.model.weights_dir, torch_threads)
    real = default if default.info.name == "resnet18" else _real_resnet18(cfg, torch_threads)
    int8 = real or _fixture_int8_resnet18(fp32, photos[:4], cfg)
    int8_note = "real weights" if real else FIXTURE_NOTE
    lite_note = "bundled fallback" + ("; the default model" if lite is default else "")
    thread_note = f"decode {decode_threads} + torch {torch_threads} threads"
    lines.append(
        _pipeline_line(
            "resnet_watch_default",
            "resnet-watch: EfficientNet-Lite0 fp32",
            f"{lite_note}; {thread_note}",
            lite,
            _cycle(photos, n),
            settings,
            opts.warmup,
            import_rss,
            torch_threads,
        )
    )
    lines.append(
        _pipeline_line(
            "resnet_watch_int8",
            "resnet-watch: ResNet-18 int8",
            f"{int8_note}; {thread_note}",
            int8,
            _cycle(photos, n),
            int8_settings,
            opts.warmup,
            import_rss,
            torch_threads,
        )
    )
    if corpus.screenshots:
        m = max(len(corpus.screenshots) * 2, opts.warmup + 2)
        lines.append(
            _pipeline_line(
                "screenshots_default",
                "resnet-watch: EfficientNet-Lite0, PNG/WebP screenshots",
                f"phone-screen sizes; {thread_note}",
                lite,
                _cycle(corpus.screenshots, m),
                settings,
                min(opts.warmup, m // 2),
                import_rss,
                torch_threads,
            )
        )
    for line in lines:
        if line.key != "screenshots_default":  # another corpus: no ratio
            line.ratio = line.images_per_s / baseline.images_per_s

    sweep: list[dict[str, Any]] = []
    if opts.sweep:
        say("thread placement sweep ...")
        cpus = cpu["cpus_usable"]
        combos = [(decode_threads, torch_threads), (cpus, max(1, cpus // 2)), (cpus, cpus)]
        combos += [(max(1, cpus // 2), max(1, cpus // 2)), (cpus + 1, 1)]
        for dec, tor in dict.fromkeys(combos):
            row = _pipeline_line(
                "sweep",
                f"int8 decode {dec} / torch {tor}",
                int8_note,
                int8,
                _cycle(photos, max(n // 2, opts.warmup + 2)),
                dataclasses.replace(int8_settings, decode_threads=dec),
                opts.warmup // 2,
                import_rss,
                tor,
            )
            sweep.append(
                {"decode_threads": dec, "torch_threads": tor, "images_per_s": row.images_per_s}
            )

    say("stage costs ...")
    stages = _stages(photos[: min(8, len(photos))], cfg, fp32)

    say("model only ...")
    batch_n = opts.batch or cfg.pipeline.batch_size or 8

    def eager(x: Any) -> Any:
        return torch.softmax(fp32(x), dim=1).topk(5)

    def via(c: Classifier) -> Callable[[Any], Any]:
        return lambda x: c.predict(x.numpy(), 5)

    model_rows = _model_only(
        [
            ("resnet18_fp32_eager", f"ResNet-18 fp32 eager (torchvision; {RANDOM_NOTE})", eager),
            ("resnet18_int8", f"ResNet-18 int8 frozen ({int8_note})", via(int8)),
            ("efficientnet_lite0_fp32", "EfficientNet-Lite0 fp32 frozen (bundled)", via(lite)),
        ],
        batch_n,
        sorted({torch_threads, cpu["cpus_usable"]}),
        opts.repeats,
    )
    torch.set_num_threads(torch_threads)

    say("labels ...")
    labels = _labels_agreement(cfg, real)
    idle = None
    if opts.idle_seconds > 0:
        say("idle daemon ...")
        idle = _idle_daemon(cfg, opts.idle_seconds)
    say("")
    report: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "cpu": cpu,
        "software": _software_info(),
        "threads": {
            "decode": decode_threads,
            "torch": torch_threads,
            "how": "auto from os.sched_getaffinity (config.auto_threads)"
            if not (opts.threads or opts.decode_threads)
            else "--threads/--decode-threads",
        },
        "corpus": corpus.describe(),
        "startup": startup,
        "idle_daemon": idle,
        "memory": {
            "import_rss_mb": import_rss / _MB,
            "end_rss_mb": _rss() / _MB,
        },
        "lines": [dataclasses.asdict(x) for x in lines],
        "thread_sweep": sweep,
        "stages": stages,
        "model_only": model_rows,
        "labels": labels,
        "fixture": real is None,
    }
    report["targets"] = _targets(report)
    report["wall_s"] = time.perf_counter() - wall
    return report


def _idle_daemon(cfg: Config, seconds: float = 10.0) -> dict[str, Any]:
    """Start the real daemon on an empty inbox; its ready time and CPU use while idle.

    Idle CPU should be ~0%: inotify wakes it only for events, and its own loops
    tick a few times a second.
    """
    import signal
    import subprocess
    import tempfile

    import yaml

    ticks = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory(prefix="rw-bench-idle-") as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "inbox": {"paths": [str(Path(tmp) / "inbox")]},
                    "model": {"name": cfg.model.name, "weights_dir": str(cfg.model.weights_dir)},
                    "log": {"file": None, "format": "json"},
                }
            )
        )
        log = Path(tmp) / "stderr.log"
        with open(log, "wb") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "resnet_watch", "run", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"},
            )
            try:
                ready_ms = None
                while time.perf_counter() - started < 120 and proc.poll() is None:
                    for line in log.read_text(errors="replace").splitlines():
                        if '"daemon_started"' in line:
                            ready_ms = json.loads(line).get("ready_ms")
                    if ready_ms is not None:
                        break
                    time.sleep(0.05)
                wall_to_ready = (time.perf_counter() - started) * 1000

                def cpu_s() -> float:
                    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                    return (int(fields[11]) + int(fields[12])) / ticks

                before, t0 = cpu_s(), time.perf_counter()
                time.sleep(seconds)
                used, span = cpu_s() - before, time.perf_counter() - t0
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return {
        "ready_ms_in_daemon": ready_ms,
        "process_start_to_ready_ms": wall_to_ready,
        "idle_cpu_percent": 100 * used / span,
        "idle_seconds": span,
    }


def _targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    lines = {x["key"]: x for x in report["lines"]}
    rows: list[dict[str, Any]] = []

    def add(name: str, value: float | None, goal: float, unit: str = "x") -> None:
        ok = None if value is None else value >= goal
        rows.append({"target": name, "value": value, "goal": goal, "unit": unit, "met": ok})

    add("end-to-end ResNet-18 int8 vs baseline", lines["resnet_watch_int8"]["ratio"], 10)
    add("end-to-end bundled fallback vs baseline", lines["resnet_watch_default"]["ratio"], 5)
    decode = lines["decode_only"]["images_per_s"]
    add(
        "end-to-end ResNet-18 int8 / decode-only",
        lines["resnet_watch_int8"]["images_per_s"] / decode,
        2 / 3,
    )
    by = {(r["key"], r["threads"], r["batch"]): r["ms"] for r in report["model_only"]}
    threads = report["threads"]["torch"]
    fp32, int8 = by.get(("resnet18_fp32_eager", threads, 1)), by.get(("resnet18_int8", threads, 1))
    add("model int8 vs fp32 eager, batch 1", fp32 / int8 if fp32 and int8 else None, 4)
    return rows


# --- soak ---------------------------------------------------------------------------------


def run_soak(opts: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """N images through the daemon's path (its Pipeline, settings, model and housekeeping),
    with RSS after imports, at image 500 (or N/4 when N < 1000) and at the end."""
    import gc

    say = progress or _quiet
    wall = time.perf_counter()
    corpus = _corpus(opts)
    cfg = _config(opts)
    decode_threads, torch_threads = _threads(opts, cfg)
    import torch  # noqa: F401

    from resnet_watch.daemon import build_pipeline_settings, memory_trimmer
    from resnet_watch.models import load_classifier
    from resnet_watch.pipeline import Classified, Outcome, Pipeline

    gc.collect()
    import_rss = _rss()
    started = time.perf_counter()
    classifier, reason = load_classifier(
        opts.model or cfg.model.name, cfg.model.weights_dir, torch_threads
    )
    ready_ms = (time.perf_counter() - started) * 1000
    loaded_rss = _rss()
    total = opts.soak
    mark = 500 if total >= 1000 else max(1, total // 4)
    marks: dict[str, float] = {}
    count = failed = 0
    finished = threading.Event()
    trim = memory_trimmer()

    def sink(outcome: Outcome) -> None:
        nonlocal count, failed
        count += 1
        failed += not isinstance(outcome, Classified)
        if count == mark:
            marks["at_mark_mb"] = _rss() / _MB
        if count % 100 == 0:
            say(f"soak: {count}/{total} images, RSS {_rss() / _MB:.0f} MB")
        if count >= total:
            marks["at_end_mb"] = _rss() / _MB
            finished.set()
        return None

    settings = build_pipeline_settings(cfg, decode_threads, classifier.info.name)
    pipeline = Pipeline(classifier, settings, sink)
    housekeeping_stop = threading.Event()

    def housekeeping() -> None:  # what Daemon._main_loop does every second
        last = 0
        while not housekeeping_stop.wait(1.0):
            if count - last >= 200 or (count != last and pipeline.in_flight() == 0):
                gc.collect()
                trim()
                last = count

    keeper = threading.Thread(target=housekeeping, name="bench-housekeeping", daemon=True)
    keeper.start()
    t0 = time.perf_counter()
    with RssSampler() as rss:
        _feed(pipeline, _cycle(corpus.photos + corpus.screenshots, total), finished)
    elapsed = time.perf_counter() - t0
    housekeeping_stop.set()
    keeper.join()
    say("")
    at_mark, at_end = marks.get("at_mark_mb", 0.0), marks.get("at_end_mb", 0.0)
    growth = (at_end - at_mark) / at_mark if at_mark else None
    peak_above = (rss.peak - import_rss) / _MB
    report: dict[str, Any] = {
        "mode": "soak",
        "cpu": _cpu_info(),
        "software": _software_info(),
        "corpus": corpus.describe(),
        "model": classifier.info.name,
        "precision": classifier.info.precision,
        "reason": reason,
        "threads": {"decode": decode_threads, "torch": torch_threads},
        "images": total,
        "failed": failed,
        "images_per_s": total / elapsed,
        "ready_ms": ready_ms,
        "memory": {
            "import_rss_mb": import_rss / _MB,
            "model_loaded_rss_mb": loaded_rss / _MB,
            "mark_image": mark,
            "rss_at_mark_mb": at_mark,
            "rss_at_end_mb": at_end,
            "growth_mark_to_end": growth,
            "peak_rss_mb": rss.peak / _MB,
            "peak_above_import_mb": peak_above,
        },
        "targets": [
            {
                "target": "peak RSS above post-import baseline",
                "value": peak_above,
                "goal": 250,
                "unit": "MB",
                "met": peak_above <= 250,
            },
            {
                "target": f"RSS growth image {mark} -> {total}",
                "value": None if growth is None else growth * 100,
                "goal": 5,
                "unit": "%",
                "met": None if growth is None else growth <= 0.05,
            },
        ],
    }
    report["wall_s"] = time.perf_counter() - wall
    return report


# --- text ---------------------------------------------------------------------------------


def _fmt_target(row: dict[str, Any]) -> str:
    value, goal, unit = row["value"], row["goal"], row["unit"]
    verdict = {True: "met", False: "NOT met", None: "n/a"}[row["met"]]
    shown = (
        "n/a" if value is None else f"{value:.2f}{unit}" if unit == "x" else f"{value:.1f} {unit}"
    )
    sign = ">=" if unit == "x" else "<="
    goal_s = f"{goal:.2f}x" if unit == "x" else f"{goal:g} {unit}"
    return f"  {row['target']:<44} {shown:>10}  (target {sign} {goal_s}): {verdict}"


def _header(report: dict[str, Any]) -> list[str]:
    cpu, sw = report["cpu"], report["software"]
    missing = [f for f in cpu["missing_int8_flags"] if f.startswith("amx")]
    corpus = report["corpus"]
    cached = "cached" if corpus["made_now"] == 0 else f"{corpus['made_now']} files generated now"
    kind = "generated" if corpus["generated"] else "from --images"
    jpeg = "JPEG" if corpus["generated"] else "photos"
    return [
        f"resnet-watch bench {sw['resnet_watch']}  ({report.get('when', '')})",
        f"cpu      {cpu['model']}; {cpu['cpus_usable']} CPUs usable; load avg "
        f"{' '.join(map(str, cpu['load_avg']))}",
        f"int8     flags: {' '.join(cpu['int8_flags']) or 'none'}"
        + (f"; absent: {' '.join(missing)}" if missing else ""),
        f"torch    {sw['torch']} ({sw['torch_build']}), capability {sw['torch_cpu_capability']}, "
        f"quantized engine {sw['quantized_engine']}; torchvision {sw['torchvision']}; "
        f"Pillow {sw['pillow']} (libjpeg-turbo {sw['libjpeg_turbo']}); Python {sw['python']}",
        f"corpus   {corpus['photos']} {jpeg} (mean {corpus['photo_mb_mean']} MB) + "
        f"{corpus['screenshots']} screenshots, {kind}, {cached}: {corpus['folder']}",
    ]


def render_text(report: dict[str, Any]) -> str:
    """The report as the table ``resnet-watch bench`` prints."""
    if report.get("mode") == "soak":
        return _render_soak(report)
    out = _header(report)
    th, st, mem = report["threads"], report["startup"], report["memory"]
    out.append(f"threads  decode {th['decode']}, torch {th['torch']} ({th['how']})")
    out.append(
        f"start-up ready in {st['ready_ms']:.0f} ms (imports {st['imports_ms']:.0f} ms + "
        f"model load {st['model_load_ms']:.0f} ms), default model {st['model']}: {st['reason']}"
    )
    idle = report.get("idle_daemon")
    if idle:
        out.append(
            f"daemon   `resnet-watch run`: process start to ready "
            f"{idle['process_start_to_ready_ms']:.0f} ms (model loaded, observer running); "
            f"idle CPU {idle['idle_cpu_percent']:.2f}% over {idle['idle_seconds']:.0f} s"
        )
    out.append(f"memory   RSS after imports {mem['import_rss_mb']:.0f} MB")
    if report["fixture"]:
        out.append(f"NOTE     no real ResNet-18 weights: its lines use {FIXTURE_NOTE}")
    out += ["", "End to end, 12 MP JPEG corpus, steady state (warm-up and start-up excluded)"]
    out.append(
        f"  {'line':<54} {'images':>6} {'img/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'peak RSS':>9} {'+import':>8} {'+line':>8} {'x base':>7}"
    )
    for x in report["lines"]:
        ratio = "" if x["ratio"] is None else f"{x['ratio']:.2f}x"
        out.append(
            f"  {x['name']:<54} {x['images']:>6} {x['images_per_s']:>7.1f} {x['p50_ms']:>7.1f} "
            f"{x['p95_ms']:>7.1f} {x['peak_rss_mb']:>6.0f} MB "
            f"{x['peak_above_import_mb']:>+5.0f} MB {x['peak_above_line_start_mb']:>+5.0f} MB "
            f"{ratio:>7}"
        )
        out.append(f"      {x['note']}" + (f"; {x['failed']} FAILED" if x["failed"] else ""))
    out.append(
        "  (resnet-watch p50/p95 are per-image latencies inside the pipeline, queueing "
        "included; its cost per image is 1000 / img/s)"
    )
    if report["thread_sweep"]:
        out += ["", "Thread placement, ResNet-18 int8 end to end"]
        for row in report["thread_sweep"]:
            out.append(
                f"  decode {row['decode_threads']} / torch {row['torch_threads']}: "
                f"{row['images_per_s']:6.1f} img/s"
            )
    out += ["", "Stage cost per image, one thread (p50 ms)"]
    for row in report["stages"]:
        out.append(f"  {row['name']:<62} {row['ms_p50']:7.1f}")
    out += ["", "Model only, ms/image (median; forward + softmax top-5)"]
    for row in report["model_only"]:
        out.append(
            f"  {row['name']:<66} threads {row['threads']} batch {row['batch']:>2}: "
            f"{row['ms']:6.2f}"
        )
    out += ["", "Labels: int8 top-1 agreement with fp32 on real photos"]
    out += [f"  {k}: {v}" for k, v in report["labels"].items()]
    out += ["", "Targets"]
    out += [_fmt_target(row) for row in report["targets"]]
    out.append(f"\nbench took {report['wall_s']:.0f} s")
    return "\n".join(out) + "\n"


def _render_soak(report: dict[str, Any]) -> str:
    out = _header({**report, "when": time.strftime("%Y-%m-%d %H:%M:%S %z")})
    mem = report["memory"]
    out += [
        f"soak     {report['images']} images through the daemon's pipeline, model "
        f"{report['model']} {report['precision']} ({report['reason']}); decode "
        f"{report['threads']['decode']} + torch {report['threads']['torch']} threads",
        f"         {report['images_per_s']:.1f} img/s, {report['failed']} failed, "
        f"model ready in {report['ready_ms']:.0f} ms",
        f"RSS      after imports {mem['import_rss_mb']:.0f} MB, model loaded "
        f"{mem['model_loaded_rss_mb']:.0f} MB, at image {mem['mark_image']} "
        f"{mem['rss_at_mark_mb']:.0f} MB, at the end {mem['rss_at_end_mb']:.0f} MB, "
        f"peak {mem['peak_rss_mb']:.0f} MB ({mem['peak_above_import_mb']:+.0f} MB over imports)",
        "",
        "Targets",
    ]
    out += [_fmt_target(row) for row in report["targets"]]
    out.append(f"\nsoak took {report['wall_s']:.0f} s")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
