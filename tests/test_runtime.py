"""Which runtime serves a model, and what a runtime change means for a tagged library."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_watch.models import runtime
from resnet_watch.models.runtime import choose_runtime, cpu_has_amx
from resnet_watch.models.spec import ModelInfo
from resnet_watch.policy import decide
from resnet_watch.sidecar import FileFacts

LITE = ModelInfo("efficientnet_lite0", "fp32", "torch", "none", "57" * 32, "pypi")


def test_auto_serves_the_bundled_model_with_onnxruntime() -> None:
    """The default model runs on the lean runtime even when torch is installed."""
    assert choose_runtime("auto", "efficientnet_lite0", onnx=True)[0] == "onnxruntime"


def test_auto_prefers_torch_for_int8_resnet18_only_on_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch's AMX int8 kernels win on such CPUs; elsewhere onnxruntime serves ResNet-18."""
    monkeypatch.setattr(runtime, "torch_installed", lambda: True)
    monkeypatch.setattr(runtime, "cpu_has_amx", lambda: True)
    assert choose_runtime("auto", "resnet18", onnx=True)[0] == "torch"
    monkeypatch.setattr(runtime, "cpu_has_amx", lambda: False)
    assert choose_runtime("auto", "resnet18", onnx=True)[0] == "onnxruntime"
    monkeypatch.setattr(runtime, "cpu_has_amx", lambda: True)
    monkeypatch.setattr(runtime, "torch_installed", lambda: False)
    assert choose_runtime("auto", "resnet18", onnx=True)[0] == "onnxruntime"


def test_auto_uses_torch_when_weights_have_no_onnx_build() -> None:
    """Weights copied in by hand (no ONNX yet) can still run where torch is installed."""
    assert choose_runtime("auto", "resnet18", onnx=False)[0] == "torch"


def test_configured_runtime_is_obeyed() -> None:
    """An explicit model.runtime is never second-guessed."""
    assert choose_runtime("torch", "efficientnet_lite0", onnx=True) == ("torch", "configured")


def test_amx_is_read_from_the_cpu_flags(tmp_path: Path) -> None:
    """Only the amx_int8 flag counts, not a CPU that merely has AVX-512."""
    with_amx = tmp_path / "a"
    with_amx.write_text("processor\t: 0\nflags\t\t: fpu avx512f amx_bf16 amx_int8 amx_tile\n")
    without = tmp_path / "b"
    without.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_vnni\n")
    assert cpu_has_amx(with_amx) and not cpu_has_amx(without)
    assert not cpu_has_amx(tmp_path / "missing")


def _record(model: ModelInfo, facts: FileFacts) -> dict[str, object]:
    return {
        "status": "ok",
        "file": {"size": facts.size, "mtime_ns": facts.mtime_ns, "sha256": "ab" * 32},
        "model": dataclasses.asdict(model),
    }


def test_a_runtime_change_does_not_reclassify_but_new_weights_do() -> None:
    """Switching torch -> onnxruntime keeps every sidecar; other weights re-tag."""
    facts = FileFacts(name="a.jpg", size=10, mtime_ns=5, sha256=None)
    record = _record(LITE, facts)
    now = dt.datetime.now(dt.UTC)
    served = dataclasses.replace(LITE, runtime="onnxruntime")
    kw = {"retries": 3, "reclassify_on_model_change": True, "now": now}
    assert decide(record, facts, served, **kw).action == "skip"  # type: ignore[arg-type]
    reweighted = dataclasses.replace(served, weights_sha256="cd" * 32)
    assert decide(record, facts, reweighted, **kw).action == "process"  # type: ignore[arg-type]


def test_serving_the_default_model_never_imports_torch(tmp_path: Path) -> None:
    """Loading and running the default model leaves torch out of the process."""
    code = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from resnet_watch.models import load_classifier\n"
        f"c, _ = load_classifier('auto', Path({str(tmp_path)!r}), 1)\n"
        "c.classify(np.zeros((1, 3, 224, 224), np.float32), 5)\n"
        "assert c.info.runtime == 'onnxruntime', c.info\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "torch-home")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
