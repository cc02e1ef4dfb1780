"""Find ResNet-18 weights and prove they are real, before torch is imported.

Why before: ``model: resnet18`` with nothing installed must fail in well under 5 s, and a
corrupt or unknown file must stop start-up with a message that names the file. Order:
install record in weights_dir > torchvision files copied into weights_dir by hand >
torchvision's own files in the torch hub cache (int8 first, then fp32).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from resnet_watch.errors import WeightsInvalid
from resnet_watch.models.manifest import (
    InstallRecord,
    ManifestEntry,
    hub_checkpoints_dir,
    manifest_entry,
    match_manifest,
    read_install_records,
    sha256_file,
)

__all__ = ["FIX_HINT", "Found", "find_resnet18"]

FIX_HINT = (
    "run `resnet-watch weights fetch resnet18` (needs internet once) or, on an air-gapped "
    "machine, copy torchvision's resnet18_fbgemm_16fa66dd.pth or resnet18-f37072fd.pth over "
    "and run `resnet-watch weights import FILE`"
)


@dataclass(frozen=True)
class Found:
    """Verified ResNet-18 weights: ``precision`` is that of the file ("fp32" needs PTQ)."""

    path: Path
    sha256: str
    precision: str  # "int8" | "fp32"
    source: str
    reason: str
    fixture: bool = False
    record: InstallRecord | None = None
    onnx: Path | None = None  # verified int8 ONNX build, when ``weights import/fetch`` made one

    @property
    def weights_sha256(self) -> str:
        """The real weights file behind what is served (the fp32 file for our own PTQ build):
        the same for every runtime, so switching runtime does not re-tag the library."""
        if self.record is not None and self.record.derived_from_sha256:
            return self.record.derived_from_sha256
        return self.sha256


def find_resnet18(weights_dir: Path, allow_fixture: bool = False) -> Found | None:
    """The ResNet-18 weights to use, or None; raises WeightsInvalid for a bad file."""
    record = read_install_records(weights_dir).get("resnet18")
    if record is not None:
        return _verify_record(weights_dir, record, allow_fixture)
    for folder, where in ((weights_dir, "weights dir"), (hub_checkpoints_dir(), "torch hub cache")):
        for key in ("resnet18_fbgemm", "resnet18_fp32"):
            entry = manifest_entry(key)
            path = folder / entry.file
            if path.is_file():
                return _verify_known_file(path, entry, where)
    return None


def _installed_file(
    weights_dir: Path, name: str, expected: str | None, noun: str, *, plural: bool
) -> Path:
    """A file an install record lists, present and with the recorded sha256."""
    path = weights_dir / name
    verb, past = ("are", "were") if plural else ("is", "was")
    if not path.is_file():
        raise WeightsInvalid(
            f"resnet18 {noun} {path} {verb} listed in {weights_dir / 'installed.json'} but "
            f"missing; {FIX_HINT}"
        )
    actual = sha256_file(path)
    if actual != expected:
        raise WeightsInvalid(
            f"resnet18 {noun} {path} {verb} corrupt or {past} replaced: sha256 {actual} but "
            f"installed as {expected}; {FIX_HINT}"
        )
    return path


def _verify_record(weights_dir: Path, record: InstallRecord, allow_fixture: bool) -> Found:
    path = _installed_file(weights_dir, record.file, record.sha256, "weights", plural=True)
    actual = record.sha256
    if record.fixture:
        if not allow_fixture:
            raise WeightsInvalid(
                f"{path} is a test fixture (random weights), never used to tag photos; {FIX_HINT}"
            )
        return Found(
            path=path,
            sha256=actual,
            precision=record.precision,
            source=f"fixture:{record.source}",
            reason="resnet18 test fixture (random weights)",
            fixture=True,
            record=record,
            onnx=_verify_onnx(weights_dir, record),
        )
    vouched = record.derived_from_sha256 if record.method == "import+ptq" else actual
    entry = match_manifest(vouched or "", "resnet18")
    expected = "resnet18_fp32" if record.method == "import+ptq" else "resnet18_fbgemm"
    if entry is None or entry.key != expected:
        raise WeightsInvalid(
            f"resnet18 weights {path} are not known real weights (sha256 {actual}, "
            f"from {record.source}); {FIX_HINT}"
        )
    how = "int8 PTQ of torchvision IMAGENET1K_V1" if expected == "resnet18_fp32" else "int8"
    reason = f"resnet18 weights installed ({how})"
    onnx = _verify_onnx(weights_dir, record)
    return Found(path, actual, record.precision, record.source, reason, record=record, onnx=onnx)


def _verify_onnx(weights_dir: Path, record: InstallRecord) -> Path | None:
    """The record's ONNX build, checked like the weights (None when it has none)."""
    if not record.onnx_file:
        return None
    return _installed_file(
        weights_dir, record.onnx_file, record.onnx_sha256, "ONNX model", plural=False
    )


def _verify_known_file(path: Path, entry: ManifestEntry, where: str) -> Found:
    actual = sha256_file(path)
    if not entry.matches(actual):
        raise WeightsInvalid(
            f"{path} has torchvision's file name but not its content (sha256 {actual[:16]}..., "
            f"expected {entry.sha256_prefix}...): the file is corrupt or truncated; delete it "
            f"and {FIX_HINT}"
        )
    reason = f"resnet18 {entry.precision} weights found in {where}"
    if entry.precision == "fp32":
        reason += " (quantized at start; `weights import` keeps the int8 build)"
    return Found(path, actual, entry.precision, f"{entry.source} ({path})", reason)
