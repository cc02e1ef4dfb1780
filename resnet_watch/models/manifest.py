"""Which weights files are real, and what is installed where; no torch import.

Everything here runs before torch is imported, so a missing or corrupt file is reported in
well under a second. The shipped manifest (``resnet_watch.weights/manifest.json``) lists
the only weights we accept; the install record (``<weights_dir>/installed.json``) says what
``weights fetch`` / ``weights import`` put in a user's weights directory and its full sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from resnet_watch import fsutil
from resnet_watch.errors import WeightsInvalid

__all__ = [
    "INSTALL_RECORD",
    "InstallRecord",
    "ManifestEntry",
    "bundled_file",
    "hub_checkpoints_dir",
    "manifest",
    "manifest_entry",
    "match_manifest",
    "read_install_records",
    "sha256_file",
    "write_install_record",
]

INSTALL_RECORD = "installed.json"


@dataclass(frozen=True)
class ManifestEntry:
    """One known real weights file (see weights/manifest.json)."""

    key: str
    model: str
    file: str
    sha256: str | None
    sha256_prefix: str
    size: int | None
    size_mb: float
    format: str
    precision: str
    source: str
    url: str
    license: str
    acc1: float | None
    acc5: float | None
    derived_from: str | None = None  # key of the weights entry a built model was made from

    def matches(self, sha256: str) -> bool:
        """Full hash when we know it, else torchvision's published prefix (its hub check)."""
        if self.sha256 is not None:
            return sha256 == self.sha256
        return sha256.startswith(self.sha256_prefix)


@dataclass(frozen=True)
class InstallRecord:
    """What ``weights fetch`` / ``weights import`` installed, kept beside the file."""

    model: str
    file: str  # relative to weights_dir
    sha256: str
    size: int
    format: str
    precision: str
    manifest_key: str  # which manifest entry vouches for it ("fixture" for test fixtures)
    source: str  # URL or the path the user imported
    method: str  # "fetch" | "import" | "import+ptq"
    installed_at: str
    derived_from_sha256: str | None = None  # the fp32 file a PTQ build came from
    calibration: dict[str, Any] = field(default_factory=dict)
    fixture: bool = False
    onnx_file: str | None = None  # the int8 ONNX build onnxruntime serves, relative
    onnx_sha256: str | None = None
    onnx_check: dict[str, Any] = field(default_factory=dict)  # agreement with torch, calibration


def manifest() -> list[ManifestEntry]:
    """The shipped list of known real weights."""
    entries = []
    for raw in json.loads(_manifest_text())["weights"]:
        acc = raw.get("accuracy") or {}
        entries.append(
            ManifestEntry(
                key=raw["key"],
                model=raw["model"],
                file=raw["file"],
                sha256=raw.get("sha256"),
                sha256_prefix=raw["sha256_prefix"],
                size=raw.get("size"),
                size_mb=float(raw["size_mb"]),
                format=raw["format"],
                precision=raw["precision"],
                source=raw["source"],
                url=raw["url"],
                license=raw["license"],
                acc1=acc.get("acc1"),
                acc5=acc.get("acc5"),
                derived_from=raw.get("derived_from"),
            )
        )
    return entries


def _manifest_text() -> str:
    """Installed: package data of ``resnet_watch.weights``; from a source checkout (not
    installed, e.g. tests run in the repo), the repo-root ``weights/`` directory it maps to."""
    try:
        return resources.files("resnet_watch.weights").joinpath("manifest.json").read_text("utf-8")
    except ModuleNotFoundError:
        checkout = Path(__file__).resolve().parents[2] / "weights" / "manifest.json"
        return checkout.read_text("utf-8")


def _own_file(name: str) -> Path | None:
    """A file of our ``resnet_watch.weights`` package, or of the checkout's ``weights/``."""
    try:
        path = Path(str(resources.files("resnet_watch.weights").joinpath(name)))
    except ModuleNotFoundError:
        path = Path(__file__).resolve().parents[2] / "weights" / name
    return path if path.is_file() else None


def manifest_entry(key: str) -> ManifestEntry:
    """The manifest entry with this key (a KeyError here is a packaging bug)."""
    for entry in manifest():
        if entry.key == key:
            return entry
    raise KeyError(key)


def match_manifest(sha256: str, model: str) -> ManifestEntry | None:
    """The known weights file of ``model`` that has this hash, if any."""
    for entry in manifest():
        if entry.model == model and entry.matches(sha256):
            return entry
    return None


def sha256_file(path: Path) -> str:
    """Full sha256 of a file, read in chunks (weights are tens of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hub_checkpoints_dir() -> Path:
    """Where torch.hub keeps downloads: ``$TORCH_HOME/hub/checkpoints``, as torch computes it
    (``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch``)."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        torch_home = os.path.join(cache, "torch")
    return Path(os.path.expanduser(torch_home)) / "hub" / "checkpoints"


def bundled_file(entry: ManifestEntry) -> Path | None:
    """Path of a file that ships inside an installed package: ``package/rest`` for another
    package's (efficientnet_lite0's .pth), a bare name for our own ``resnet_watch.weights``."""
    if "/" not in entry.file:
        return _own_file(entry.file)
    package, _, rest = entry.file.partition("/")
    spec = find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / rest
    return path if path.is_file() else None


def read_install_records(weights_dir: Path) -> dict[str, InstallRecord]:
    """Install records by model name; an unreadable record is a stop, not a silent skip."""
    path = weights_dir / INSTALL_RECORD
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text("utf-8"))
        return {name: InstallRecord(**rec) for name, rec in raw["models"].items()}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WeightsInvalid(
            f"install record {path} is unreadable ({exc}); remove it and run "
            "`resnet-watch weights fetch resnet18` or `resnet-watch weights import FILE` again"
        ) from exc


def write_install_record(weights_dir: Path, record: InstallRecord) -> None:
    """Add or replace one model's record, atomically (temp file + fsync + rename)."""
    records = read_install_records(weights_dir)
    records[record.model] = record
    payload = {"version": 1, "models": {name: asdict(rec) for name, rec in records.items()}}
    fsutil.atomic_write_bytes(
        weights_dir / INSTALL_RECORD, (json.dumps(payload, indent=2) + "\n").encode()
    )
