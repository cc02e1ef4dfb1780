"""What each model was trained to see, as ``spec.Preprocess`` (no torch import)."""

from __future__ import annotations

from resnet_watch.models.spec import Preprocess

__all__ = ["EFFICIENTNET_PREPROCESS", "PREPROCESS", "RESNET18_PREPROCESS"]

# torchvision's ImageClassification transform for ResNet-18, in 0..255 pixel units.
RESNET18_PREPROCESS = Preprocess(
    resize_short=256,
    crop=224,
    resample="bilinear",
    mean=(0.485 * 255, 0.456 * 255, 0.406 * 255),
    std=(0.229 * 255, 0.224 * 255, 0.225 * 255),
)
# What EfficientNet-Lite was trained with (TF reference: (x - 127) / 128, bicubic).
EFFICIENTNET_PREPROCESS = Preprocess(
    resize_short=256, crop=224, resample="bicubic", mean=(127.0,) * 3, std=(128.0,) * 3
)
PREPROCESS = {"resnet18": RESNET18_PREPROCESS, "efficientnet_lite0": EFFICIENTNET_PREPROCESS}
