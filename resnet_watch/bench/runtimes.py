"""onnxruntime against torch, side by side: start-up, memory, install size, labels.

Start-up and memory are measured in a fresh interpreter per runtime, since a process that
has imported torch once can never show what the lean install costs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_watch.bench.lines import FIXTURE_NOTE

if TYPE_CHECKING:
    from resnet_watch.config import Config
    from resnet_watch.models.spec import Classifier

__all__ = [
    "install_sizes",
    "ort_int8_resnet18_fixture",
    "reencoded_copies",
    "runtime_agreement",
    "startup_probe",
]

_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import numpy as np
from resnet_watch import daemon, pipeline, imaging  # what `run` imports before the model
from resnet_watch.models import load_classifier
t1 = time.perf_counter()
c, reason = load_classifier(sys.argv[1], sys.argv[2], int(sys.argv[3]), runtime=sys.argv[4])
t2 = time.perf_counter()
c.classify(np.zeros((1, 3, 224, 224), np.float32), 5)
t3 = time.perf_counter()
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
kb = lambda k: int(status[k].split()[0]) / 1024
print(json.dumps({
    "imports_ms": (t1 - t0) * 1000, "model_load_ms": (t2 - t1) * 1000,
    "first_inference_ms": (t3 - t2) * 1000, "rss_mb": kb("VmRSS"), "peak_rss_mb": kb("VmHWM"),
    "torch_imported": "torch" in sys.modules, "runtime": c.info.runtime,
    "model": c.info.name, "precision": c.info.precision,
}))
"""


def startup_probe(runtime: str, model: str, weights_dir: Path, threads: int) -> dict[str, Any]:
    """Process start to first inference in a fresh interpreter, and its RSS after it."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, model, str(weights_dir), str(threads), runtime],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )
    wall = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        return {"runtime": runtime, "error": result.stderr.strip().splitlines()[-1:]}
    probe: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    probe["process_to_first_inference_ms"] = wall
    return probe


def _closure(requirement: str, extras: tuple[str, ...] = ()) -> set[str]:
    """Installed distributions a distribution pulls in (markers honoured, extras given)."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [(requirement, extras)]
    while todo:
        name, want = todo.pop()
        key = name.lower().replace("_", "-")
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if key in seen and not want:
            continue
        seen.add(key)
        envs = [{"extra": e} for e in (want or ("",))]
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, tuple(req.extras)))
    return seen


def _size_mb(names: set[str]) -> float:
    total = 0
    for name in names:
        dist = metadata.distribution(name)
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                total += path.stat().st_size
    return total / (1 << 20)


def install_sizes() -> dict[str, Any]:
    """Bytes on disk of the lean install and of what the [torch] extra adds (as installed
    here; the venv's own pip and setuptools are not counted)."""
    try:
        lean = _closure("resnet-watch")
        full = _closure("resnet-watch", ("torch",))
    except Exception as exc:  # packaging missing or odd metadata: report, do not fail
        return {"error": str(exc)}
    return {
        "lean_mb": round(_size_mb(lean), 1),
        "lean_packages": len(lean),
        "torch_extra_adds_mb": round(_size_mb(full - lean), 1),
    }


def ort_int8_resnet18_fixture(fp32: Any, calibration: list[Path], threads: int) -> Classifier:
    """FIXTURE int8 ResNet-18 for onnxruntime: the random fp32 model through the product's
    own export + quantization (onnx_export, onnx_quant), served by OrtClassifier."""
    from resnet_watch.models.inputs import RESNET18_PREPROCESS
    from resnet_watch.models.onnx_export import export_onnx
    from resnet_watch.models.onnx_quant import quantize_int8
    from resnet_watch.models.ort import OrtClassifier
    from resnet_watch.models.photos import load_batch
    from resnet_watch.models.spec import ModelInfo

    folder = Path(tempfile.mkdtemp(prefix="resnet-watch-bench-"))
    export_onnx(fp32, RESNET18_PREPROCESS, folder / "fp32.onnx")
    batches = [load_batch(calibration, RESNET18_PREPROCESS)]
    quantize_int8(folder / "fp32.onnx", folder / "int8.onnx", batches)
    info = ModelInfo(
        name="resnet18",
        precision="int8",
        runtime="onnxruntime",
        engine="qdq-uint8",
        weights_sha256="fixture",
        weights_source=FIXTURE_NOTE,
        fixture=True,
    )
    return OrtClassifier(folder / "int8.onnx", info, RESNET18_PREPROCESS, threads)


def reencoded_copies(photos: list[Path], folder: Path, quality: int) -> list[Path]:
    """Each photo saved again as a JPEG of ``quality`` (what a sync or upload app does to
    a photo): the yardstick for how many top-1 labels an invisible change moves."""
    from PIL import Image

    copies = []
    for i, photo in enumerate(photos):
        copy = folder / f"{i:04d}.jpg"
        with Image.open(photo) as image:
            image.convert("RGB").save(copy, "JPEG", quality=quality)
        copies.append(copy)
    return copies


def runtime_agreement(cfg: Config, threads: int, limit: int = 0) -> dict[str, str]:
    """Top-1 agreement on held-out real photos: onnxruntime vs torch for the fp32 bundled
    model, and an int8 ORT build of it vs fp32 (the evidence for shipping fp32)."""
    import numpy as np

    from resnet_watch.models import load_classifier
    from resnet_watch.models.photos import agreement_photos, calibration_photos, load_batch

    photos = agreement_photos()
    if not photos:
        return {"efficientnet_lite0": "n/a: ai-benchmark photos not installed"}
    photos = photos[:limit] if limit else photos
    ort, _ = load_classifier("efficientnet_lite0", cfg.model.weights_dir, threads)
    torch_c, _ = load_classifier(
        "efficientnet_lite0", cfg.model.weights_dir, threads, runtime="torch"
    )
    pre = ort.preprocess
    batches = [load_batch(photos[i : i + 15], pre) for i in range(0, len(photos), 15)]

    def top1(c: Classifier) -> Any:
        return np.array([p[0].index for b in batches for p in c.predict(b, 1)])

    served = top1(ort)
    out = {
        "efficientnet_lite0 fp32, onnxruntime vs torch": (
            f"{np.mean(served == top1(torch_c)):.1%} of {len(photos)} real photos"
        )
    }
    with tempfile.TemporaryDirectory() as tmp:
        copies = reencoded_copies(photos, Path(tmp), quality=95)
        again = [load_batch(copies[i : i + 15], pre) for i in range(0, len(copies), 15)]
        stable = np.array([p[0].index for b in again for p in ort.predict(b, 1)])
    out["efficientnet_lite0 fp32 vs itself on the same photos saved again as JPEG q95"] = (
        f"{np.mean(stable == served):.1%} of {len(photos)} real photos (how stable the "
        "set's top-1 is under an invisible change)"
    )
    try:
        from resnet_watch.models.manifest import bundled_file, manifest_entry
        from resnet_watch.models.onnx_quant import quantize_int8
        from resnet_watch.models.ort import OrtClassifier

        source = bundled_file(manifest_entry("efficientnet_lite0_onnx"))
        assert source is not None
        with tempfile.TemporaryDirectory() as tmp:
            int8_path = Path(tmp) / "lite0_int8.onnx"
            calib = calibration_photos(None)
            quantize_int8(
                source, int8_path, [load_batch(calib[i : i + 10], pre) for i in range(0, 50, 10)]
            )
            int8 = OrtClassifier(int8_path, ort.info, pre, threads)
            agree = np.mean(top1(int8) == served)
        out["efficientnet_lite0 int8 (ORT QDQ) vs fp32"] = (
            f"{agree:.1%} of {len(photos)} real photos (ships fp32: needs >= 95%)"
        )
    except ImportError as exc:
        out["efficientnet_lite0 int8 (ORT QDQ) vs fp32"] = f"n/a: {exc}"
    return out
