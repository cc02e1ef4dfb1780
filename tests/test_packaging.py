"""The documented install works: the built wheel, installed into a fresh venv, runs.

That venv is the lean install (`pip install resnet-watch`, no extras): torch is not in it, so
these tests also prove the daemon and `classify` never import torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.daemon_helpers import ROOT, DaemonProcess, read_sidecar_json, shipped_photo, wait_until

pytestmark = pytest.mark.slow


def _tracked_tree(dest: Path) -> Path:
    """The repository as a fresh clone has it (tracked files only), in ``dest``."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a clean tree that also holds weights as `fetch` leaves them."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = _tracked_tree(tmp / "src")
    # what `resnet-watch weights fetch` writes into a checkout: must never be shipped
    (src / "weights" / "resnet18-f37072fd.pth").write_bytes(b"not shipped")
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*build, "-w", str(tmp / "dist"), str(src)],
        check=True,
        capture_output=True,
    )
    (built,) = (tmp / "dist").glob("resnet_watch-*.whl")
    return built


def test_wheel_holds_every_package_and_no_weights(wheel: Path) -> None:
    """Every package of the tree is in the wheel (bench included); no *.pth weights are."""
    names = zipfile.ZipFile(wheel).namelist()
    packages = {
        str(p.parent.relative_to(ROOT)).replace("/", ".")
        for p in (ROOT / "resnet_watch").rglob("__init__.py")
    }
    shipped = {n.rsplit("/", 1)[0].replace("/", ".") for n in names if n.endswith("__init__.py")}
    assert packages <= shipped, packages - shipped
    assert "resnet_watch/weights/manifest.json" in names
    assert "resnet_watch/weights/efficientnet_lite0.onnx" in names  # the bundled model
    assert not [n for n in names if n.endswith((".pth", ".pt"))]
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    requires = [
        line
        for line in metadata.decode().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert not [r for r in requires if "torch" in r], requires  # torch only in [torch]


def test_installed_wheel_runs_the_daemon_on_a_photo(wheel: Path, tmp_path: Path) -> None:
    """pip install <wheel> into a new venv: --help works and the daemon classifies a photo."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    helped = subprocess.run(
        [str(venv / "bin" / "resnet-watch"), "--help"], capture_output=True, text=True, cwd=tmp_path
    )
    assert helped.returncode == 0 and "COMMAND" in helped.stdout, helped.stderr
    where = subprocess.run(
        [str(python), "-c", "import resnet_watch; print(resnet_watch.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert str(venv) in where  # the installed copy, not this checkout
    no_torch = subprocess.run([str(python), "-c", "import torch"], capture_output=True, text=True)
    assert "No module named 'torch'" in no_torch.stderr  # the lean install

    photo = tmp_path / "cat.png"
    shutil.copy(shipped_photo("skimage", "data", "chelsea.png"), photo)
    before = photo.read_bytes()
    classified = subprocess.run(
        [str(venv / "bin" / "resnet-watch"), "classify", "--json", str(photo)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert classified.returncode == 0, classified.stderr
    row = json.loads(classified.stdout.splitlines()[0])
    assert row["runtime"] == "onnxruntime"
    assert {label["name"] for label in row["labels"][:3]} & {"tabby", "tiger cat", "Egyptian cat"}
    assert photo.read_bytes() == before

    (tmp_path / "run").mkdir()
    with DaemonProcess(tmp_path / "run", python=str(python)) as d:
        image = d.inbox / "chelsea.png"
        shutil.copy(shipped_photo("skimage", "data", "chelsea.png"), image)
        record = wait_until(lambda: read_sidecar_json(image), 120, "sidecar")
        assert record["status"] == "ok" and record["labels"]
        assert record["model"]["runtime"] == "onnxruntime"
        assert d.stop() == 0
