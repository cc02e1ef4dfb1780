"""Every error resnet-watch raises on purpose, in one hierarchy.

ResnetWatchError
├── ConfigError            config.yaml / environment override is invalid (names the key)
├── WeightsError           model weights are missing, unknown or corrupt
│   ├── WeightsMissing     the requested model has no installed weights
│   └── WeightsInvalid     a weights file fails its manifest check (hash, size, format)
├── ImageError             one image cannot be classified; ``kind`` says why
│   ├── UnsupportedImage   not an image format we read (sniffed by content)
│   ├── ImageTooLarge      over the configured byte, pixel or frame limit (bombs included)
│   ├── CorruptImage       truncated or undecodable data
│   └── UnreadableFile     permission denied, vanished, not a regular file, symlink out
├── SidecarError           the sidecar could not be written (disk full, read-only dir, name)
├── InstallRefused         install-service cannot do what was asked (needs root, ...)
└── HeadError              a custom-class head is missing, damaged or for another model

``ImageError.kind`` is the short, stable string recorded in failure sidecars.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "CorruptImage",
    "HeadError",
    "ImageError",
    "ImageTooLarge",
    "InstallRefused",
    "ResnetWatchError",
    "SidecarError",
    "UnreadableFile",
    "UnsupportedImage",
    "WeightsError",
    "WeightsInvalid",
    "WeightsMissing",
]


class ResnetWatchError(Exception):
    """Base class: anything resnet-watch raises on purpose."""


class ConfigError(ResnetWatchError):
    """The configuration is invalid; the message names the offending key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"invalid config: {key}: {message}")
        self.key = key


class WeightsError(ResnetWatchError):
    """Model weights cannot be used."""


class WeightsMissing(WeightsError):
    """The requested model has no installed weights."""


class WeightsInvalid(WeightsError):
    """A weights file does not match its manifest entry."""


class ImageError(ResnetWatchError):
    """One image cannot be classified. ``kind`` is recorded in its failure sidecar."""

    kind = "image_error"


class UnsupportedImage(ImageError):
    kind = "unsupported_format"


class ImageTooLarge(ImageError):
    kind = "too_large"


class CorruptImage(ImageError):
    kind = "corrupt_image"


class UnreadableFile(ImageError):
    kind = "unreadable_file"


class SidecarError(ResnetWatchError):
    """A sidecar could not be written; the image is left as it was."""

    kind = "sidecar_write_failed"


class InstallRefused(ResnetWatchError):
    """install-service cannot do what was asked; the message says what it needs."""


class HeadError(ResnetWatchError):
    """A custom-class head cannot be used; the message says why and what to run."""
