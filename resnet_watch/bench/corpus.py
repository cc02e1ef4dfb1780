"""The corpus: deterministic photo-like 12 MP JPEGs and phone screenshots, generated once
into a cache folder, or the user's own photos (``--images DIR``)."""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from resnet_watch.bench.options import BenchOptions

__all__ = [
    "CORPUS_VERSION",
    "IMAGE_SUFFIXES",
    "PHOTO_SIZE",
    "SCREENSHOT_SIZES",
    "Corpus",
    "corpus_for",
    "default_cache_dir",
    "make_corpus",
]


CORPUS_VERSION = 1  # bump when the generator changes: a new cache folder is made
PHOTO_SIZE = (4032, 3024)  # 12.2 MP, a phone camera's 4:3 frame
SCREENSHOT_SIZES = ((1170, 2532), (1080, 2400))  # iPhone 12-15, common Android
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".tif", ".tiff", ".bmp")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/resnet-watch/bench``, else ``~/.cache/resnet-watch/bench``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "resnet-watch" / "bench"


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


def corpus_for(opts: BenchOptions) -> Corpus:
    if opts.images is not None:
        return _user_corpus(opts.images)
    return make_corpus(
        opts.cache_dir or default_cache_dir(), opts.photos, opts.screenshots, opts.photo_size
    )
