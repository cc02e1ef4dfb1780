"""Real photos for calibration and checks, turned into model input; no torch import.

Post-training quantization must see the same input the model sees at run time, so the
decoding and preprocessing are the imaging package's, called without the pipeline.
"""

from __future__ import annotations

import re
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import numpy.typing as npt

from resnet_watch.errors import WeightsError
from resnet_watch.models.spec import Preprocess

__all__ = [
    "IMAGE_SUFFIXES",
    "agreement_photos",
    "ai_benchmark_photos",
    "calibration_photos",
    "load_batch",
]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
MAX_CALIBRATION_PHOTOS = 200


def load_batch(paths: list[Path], pre: Preprocess) -> npt.NDArray[np.float32]:
    """Files -> one float32 NCHW batch, decoded and preprocessed by the daemon's own code
    (imaging.read_image + imaging.preprocess), so calibration sees what inference sees."""
    from resnet_watch.imaging import ImageLimits, preprocess, read_image

    limits = ImageLimits(max_bytes=1 << 30, max_pixels=1 << 30)
    arrays = [preprocess(read_image(path, limits, pre.resize_short).image, pre) for path in paths]
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


def agreement_photos() -> list[Path]:
    """Real photos to compare two builds of a model on, none of them calibration photos:
    ai-benchmark's classification 50..99, then its segmentation street scenes and its
    enhancement phone photos (210 in all)."""
    photos = ai_benchmark_photos()
    if not photos:
        return []
    data = photos[0].parent.parent
    more = sorted((data / "segmentation").glob("*.jpg")) + sorted(
        (data / "enhancement").glob("*.jpg")
    )
    return photos[50:] + [p for p in more if p.is_file()]


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
