"""Model input from a decoded picture: torchvision's Resize + CenterCrop + Normalize, exactly."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from resnet_watch.models.spec import Preprocess

__all__ = ["preprocess"]

_RESAMPLE: Final = {
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
}
# Up to this aspect ratio the full resized image is made, exactly as torchvision.
_FULL_RESIZE_MAX_ASPECT: Final = 4


def preprocess(image: Image.Image, spec: Preprocess) -> npt.NDArray[np.float32]:
    """Model input (3, crop, crop) float32: torchvision's Resize + CenterCrop + Normalize.

    Rounding follows torchvision: the short side becomes ``resize_short`` and the long side
    ``int(resize_short * long / short)``; the crop starts at ``int(round((size - crop) / 2))``
    and is zero-padded (black) if the resized image is smaller than the crop; the result is
    identical to torchvision's for any photo up to 4:1.

    Beyond 4:1 a full resize would be huge (a 20000x20 strip becomes 256000x256, 196 MB), so
    only the crop window is resampled, with ``resize(box=...)`` placing the filter exactly
    where the full resize would. Pillow may then run its two passes in the other order,
    which can move some pixels by a rounding step or two; memory stays O(crop^2).
    """
    if image.mode != "RGB":
        image = image.convert("RGB")
    width, height = image.size
    new_w, new_h = _resized_size(width, height, spec.resize_short)
    x0, crop_w, pad_x = _crop_plan(new_w, spec.crop)
    y0, crop_h, pad_y = _crop_plan(new_h, spec.crop)
    window = (x0, y0, x0 + crop_w, y0 + crop_h)
    resample = _RESAMPLE[spec.resample]
    if (new_w, new_h) == (width, height):
        region = image.crop(window)
    elif max(new_w, new_h) <= _FULL_RESIZE_MAX_ASPECT * spec.resize_short:
        region = image.resize((new_w, new_h), resample).crop(window)
    else:
        box = (
            x0 * width / new_w,
            y0 * height / new_h,
            (x0 + crop_w) * width / new_w,
            (y0 + crop_h) * height / new_h,
        )
        region = image.resize((crop_w, crop_h), resample, box=box)
    pixels = np.asarray(region)
    if (crop_w, crop_h) != (spec.crop, spec.crop):
        canvas = np.zeros((spec.crop, spec.crop, 3), dtype=np.uint8)
        canvas[pad_y : pad_y + crop_h, pad_x : pad_x + crop_w] = pixels
        pixels = canvas
    out = pixels.transpose(2, 0, 1).astype(np.float32, order="C")
    out -= np.asarray(spec.mean, dtype=np.float32).reshape(3, 1, 1)
    out /= np.asarray(spec.std, dtype=np.float32).reshape(3, 1, 1)
    return out


def _resized_size(width: int, height: int, short: int) -> tuple[int, int]:
    """torchvision.transforms.functional.resize with an int size."""
    if width <= height:
        return short, int(short * height / width)
    return int(short * width / height), short


def _crop_plan(size: int, crop: int) -> tuple[int, int, int]:
    """(start in the resized image, length taken, offset in the output) for one axis."""
    if size >= crop:
        return round((size - crop) / 2.0), crop, 0  # half to even, as torchvision
    return 0, size, (crop - size) // 2
