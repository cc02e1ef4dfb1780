"""Shared fixtures for the models tests: FIXTURE weights (random init, fixed seed) in
torchvision's on-disk formats, real photos shipped by packages, and a 127.0.0.1 file server.

The fixture weights are generated into tmp dirs, never committed, and are named as fixtures
everywhere; the loader accepts them only with ``allow_fixture=True``, which no user path sets.
"""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from resnet_watch.models.photos import ai_benchmark_photos
from tests.requirements import need

__all__ = [
    "FileServer",
    "calibration_dir",
    "effnet_classifier",
    "file_server",
    "fixture_fp32_resnet18",
    "fixture_int8_resnet18",
    "held_out_photos",
    "isolated_torch_home",
    "skimage_calibration_dir",
    "skimage_photo",
]

SEED = 0


def _save_state(state: object, path: Path) -> Path:
    import torch

    from resnet_watch.models import quant

    with quant.quiet():
        torch.save(state, path)
    return path


@pytest.fixture(scope="session")
def fixture_int8_resnet18(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FIXTURE: random-weight int8 ResNet-18 state dict in torchvision's fbgemm format."""
    import torch

    from resnet_watch.models import quant

    torch.manual_seed(SEED)
    model = quant.int8_resnet18()  # random init, quantized with torchvision's own recipe
    folder = tmp_path_factory.mktemp("fixture-int8")
    return _save_state(model.state_dict(), folder / "resnet18_fixture_int8.pth")


@pytest.fixture(scope="session")
def fixture_fp32_resnet18(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """FIXTURE: random-weight fp32 ResNet-18 state dict in torchvision's format."""
    import torch
    from torchvision.models import resnet18

    torch.manual_seed(SEED)
    folder = tmp_path_factory.mktemp("fixture-fp32")
    return _save_state(resnet18(weights=None).state_dict(), folder / "resnet18_fixture_fp32.pth")


@pytest.fixture(scope="session")
def calibration_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten of the calibration photos (ai-benchmark 0..9), never ones whose labels we test."""
    photos = ai_benchmark_photos()
    need(len(photos) == 100, "ai-benchmark==0.1.2 photos are not installed")
    folder = tmp_path_factory.mktemp("calibrate")
    for photo in photos[:10]:
        shutil.copy(photo, folder / photo.name)
    return folder


@pytest.fixture(scope="session")
def skimage_calibration_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight colour photos scikit-image ships: enough to calibrate FIXTURE weights, whose
    labels mean nothing, without the ai-benchmark package."""
    folder = tmp_path_factory.mktemp("calibrate-skimage")
    names = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "retina.jpg")
    names += ("motorcycle_left.png", "hubble_deep_field.jpg", "color.png")
    for name in names:
        shutil.copy(skimage_photo(name), folder / name)
    return folder


def held_out_photos() -> dict[int, Path]:
    """ai-benchmark photos 50..99 by number: held out from calibration, used for labels."""
    photos = ai_benchmark_photos()
    return {int(p.stem): p for p in photos if int(p.stem) >= 50}


def skimage_photo(name: str) -> Path:
    """A real photo shipped by scikit-image (e.g. chelsea.png, a cat)."""
    from tests.daemon_helpers import shipped_photo

    return shipped_photo("skimage", "data", name)


@pytest.fixture
def isolated_torch_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A private $TORCH_HOME, so a developer's real hub cache cannot change what is found."""
    home = tmp_path_factory.mktemp("torch-home")
    (home / "hub" / "checkpoints").mkdir(parents=True)
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home / "hub" / "checkpoints"


@pytest.fixture(scope="session")
def effnet_classifier(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The bundled EfficientNet-Lite0, loaded once per session (it takes about a second)."""
    from resnet_watch.models import load_classifier

    classifier, _ = load_classifier(
        "efficientnet_lite0", tmp_path_factory.mktemp("no-weights"), threads=2
    )
    return classifier


@dataclass
class FileServer:
    """Serves ``files`` on 127.0.0.1; ``/truncated/NAME`` promises all bytes, sends half."""

    files: dict[str, bytes]
    port: int = 0

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


@pytest.fixture
def file_server() -> Iterator[FileServer]:
    """A real HTTP server in a thread, stopped after the test."""
    server_state = FileServer(files={})

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            truncated = self.path.startswith("/truncated/")
            name = self.path.removeprefix("/truncated/").lstrip("/")
            body = server_state.files.get(name)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if truncated else body)
            if truncated:
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
