"""Real photos for calibration and checks, turned into model input; no torch import.

Why here and not imaging.py: post-training quantization must see the same input the model
sees at run time, and ``weights import`` / ``weights build`` run without the pipeline. This is
the plain reference transform of ``spec.Preprocess`` (PIL resize, centre crop, normalise).
"""

from __future__ import annotations

import re
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from resnet_watch.errors import WeightsError
from resnet_watch.models.spec import Preprocess

__all__ = [
    "IMAGE_SUFFIXES",
    "ai_benchmark_photos",
    "calibration_photos",
    "load_batch",
    "preprocess_image",
]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
MAX_CALIBRATION_PHOTOS = 200
_RESAMPLE = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}


def preprocess_image(image: Image.Image, pre: Preprocess) -> npt.NDArray[np.float32]:
    """One decoded picture -> float32 (3, crop, crop) per ``pre``."""
    image = ImageOps.exif_transpose(image).convert("RGB")
    width, height = image.size
    scale = pre.resize_short / min(width, height)
    size = (max(pre.crop, round(width * scale)), max(pre.crop, round(height * scale)))
    image = image.resize(size, _RESAMPLE[pre.resample])
    left, top = (size[0] - pre.crop) // 2, (size[1] - pre.crop) // 2
    image = image.crop((left, top, left + pre.crop, top + pre.crop))
    pixels: npt.NDArray[np.float32] = np.asarray(image, dtype=np.float32)
    mean, std = np.asarray(pre.mean, np.float32), np.asarray(pre.std, np.float32)
    return np.ascontiguousarray(((pixels - mean) / std).transpose(2, 0, 1), dtype=np.float32)


def load_batch(paths: list[Path], pre: Preprocess) -> npt.NDArray[np.float32]:
    """Files -> one float32 NCHW batch."""
    arrays = []
    for path in paths:
        with Image.open(path) as image:
            arrays.append(preprocess_image(image, pre))
    return np.stack(arrays).astype(np.float32, copy=False)


def ai_benchmark_photos() -> list[Path]:
    """The 100 real 512x512 photos shipped by PyPI's ai-benchmark, in numeric order.

    Found without importing ai_benchmark (that import needs tensorflow). Photos 0..49 are
    our default calibration set; 50..99 are held out for label tests."""
    spec = find_spec("ai_benchmark")
    if spec is None or spec.origin is None:
        return []
    folder = Path(spec.origin).parent / "data" / "classification"
    photos = [p for p in folder.glob("*.jpg") if re.fullmatch(r"\d+", p.stem)]
    return sorted(photos, key=lambda p: int(p.stem))


def calibration_photos(calibrate_dir: Path | None) -> list[Path]:
    """Photos to calibrate int8 ranges on: the given directory, else ai-benchmark 0..49."""
    if calibrate_dir is None:
        photos = ai_benchmark_photos()[:50]
        if not photos:
            raise WeightsError(
                "no calibration photos: pass --calibrate DIR (a folder of real photos, "
                "e.g. 50-200 of your own) or install ai-benchmark==0.1.2"
            )
        return photos
    if not calibrate_dir.is_dir():
        raise WeightsError(f"calibration folder {calibrate_dir} does not exist")
    photos = sorted(p for p in calibrate_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        raise WeightsError(f"calibration folder {calibrate_dir} has no photos")
    return photos[:MAX_CALIBRATION_PHOTOS]
