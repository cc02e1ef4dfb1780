"""The lean install (`pip install resnet-watch`, no extras) from a built wheel in a fresh
venv: no torch anywhere, and the daemon and `classify` tag a real photo with it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.daemon_helpers import ROOT, SUFFIX, wait_until
from tests.fixtures_models import skimage_photo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built from this checkout."""
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build-src")
    src = build / "src"  # a copy: building must not leave build/ or egg-info in the checkout
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git", ".venv*", "*.egg-info", "build", "dist", "__pycache__", ".*_cache"
        ),
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(src)],
        check=True,
    )  # fmt: skip
    (found,) = out.glob("resnet_watch-*.whl")
    return found


@pytest.fixture(scope="module")
def lean_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with only the wheel and its declared dependencies."""
    venv = tmp_path_factory.mktemp("lean") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", str(wheel)],
        check=True,
    )  # fmt: skip
    return venv


def test_the_wheel_ships_every_package_and_the_bundled_model_but_no_pth(wheel: Path) -> None:
    """Every package of the tree is in the wheel, with the ONNX model; no torch weights."""
    names = zipfile.ZipFile(wheel).namelist()
    packages = {
        str(p.parent.relative_to(ROOT)).replace(os.sep, "/")
        for p in (ROOT / "resnet_watch").rglob("__init__.py")
    }
    for package in packages:
        assert f"{package}/__init__.py" in names, package
    assert "resnet_watch/weights/efficientnet_lite0.onnx" in names
    assert "resnet_watch/weights/manifest.json" in names
    assert not [n for n in names if n.endswith((".pth", ".pt"))]
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = [
        line for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]  # fmt: skip
    assert not [r for r in requires if "torch" in r], requires


def test_lean_install_has_no_torch_and_classifies_a_photo(lean_venv: Path, tmp_path: Path) -> None:
    """`resnet-watch classify` from the lean venv names the cat; torch is not installed."""
    python = lean_venv / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import torch"], capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'torch'" in probe.stderr
    photo = tmp_path / "cat.png"
    shutil.copy(skimage_photo("chelsea.png"), photo)
    before = photo.read_bytes()
    result = subprocess.run(
        [str(lean_venv / "bin" / "resnet-watch"), "classify", "--json", str(photo)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip().splitlines()[0])
    names = {label["name"] for label in record["labels"][:3]}
    assert names & {"tabby", "tiger cat", "Egyptian cat"}, names
    assert record["runtime"] == "onnxruntime"
    assert photo.read_bytes() == before


def test_lean_daemon_tags_a_dropped_photo(lean_venv: Path, tmp_path: Path) -> None:
    """`resnet-watch run` from the lean venv writes a sidecar for a photo dropped in."""
    inbox = tmp_path / "inbox"
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inbox": {"paths": [str(inbox)]},
                "watch": {"settle_seconds": 0.3},
                "model": {"weights_dir": str(tmp_path / "weights")},
                "log": {"file": str(tmp_path / "log.jsonl"), "format": "json"},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NOTIFY_SOCKET")}
    proc = subprocess.Popen(
        [str(lean_venv / "bin" / "resnet-watch"), "run", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        log = tmp_path / "log.jsonl"
        wait_until(lambda: log.exists() and "daemon_started" in log.read_text(), 60, "ready")
        shutil.copy(skimage_photo("chelsea.png"), inbox / "cat.png")
        sidecar = inbox / f"cat.png{SUFFIX}"
        wait_until(sidecar.exists, 60, "the sidecar")
        record = json.loads(sidecar.read_text())
        assert record["status"] == "ok" and record["model"]["runtime"] == "onnxruntime"
        assert record["labels"][0]["name"] in {"tabby", "tiger cat", "Egyptian cat"}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
