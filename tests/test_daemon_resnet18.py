"""The daemon on the ResNet-18 path: imported torchvision-format weights are selected.

Real ResNet-18 weights cannot be had offline, so these tests import the FIXTURE weights
(random init, torchvision's on-disk format) through the test-only launcher; labels are
meaningless here and not asserted, everything else is.
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from PIL import Image

from resnet_watch.models import import_weights
from resnet_watch.sidecar import TEMP_PREFIX, validate_record
from tests.daemon_helpers import (
    DaemonProcess,
    move_into,
    read_sidecar_json,
    shipped_photo,
    stage_photos,
    wait_until,
)
from tests.fixtures_models import fixture_fp32_resnet18, skimage_calibration_dir  # noqa: F401


@pytest.fixture(scope="module")
def imported_weights(
    tmp_path_factory: pytest.TempPathFactory,
    fixture_fp32_resnet18: Path,  # noqa: F811
    skimage_calibration_dir: Path,  # noqa: F811
) -> Path:
    """`weights import` of an fp32 FIXTURE file: calibrated, converted to int8, installed.

    Calibrated on scikit-image's photos: random weights need no representative set, and
    so the guard test below runs without the ai-benchmark package."""
    weights = tmp_path_factory.mktemp("weights")
    installed = import_weights(
        fixture_fp32_resnet18, weights, skimage_calibration_dir, allow_fixture=True
    )
    assert installed.precision == "int8" and installed.fixture
    return weights


def start(tmp_path: Path, weights: Path) -> DaemonProcess:
    return DaemonProcess(
        tmp_path, {"model": {"weights_dir": str(weights)}}, module="tests.fixture_launcher"
    ).start()


def test_auto_selects_imported_resnet18_int8(tmp_path: Path, imported_weights: Path) -> None:
    """model: auto picks the imported int8 ResNet-18 and records it in every sidecar."""
    d = start(tmp_path, imported_weights)
    selected = d.events("model_selected")[-1]
    assert selected["name"] == "resnet18" and selected["precision"] == "int8"
    image = d.inbox / "cat.png"
    shutil.copy(shipped_photo("skimage", "data", "chelsea.png"), image)
    record = wait_until(lambda: read_sidecar_json(image), 10, "sidecar")
    assert validate_record(record) == []
    assert record["model"]["name"] == "resnet18" and record["model"]["precision"] == "int8"
    assert record["model"]["fixture"] is True  # named as a fixture wherever it appears
    assert len(record["labels"]) == 5
    assert d.stop() == 0


def test_resnet18_burst_sigterm_and_restart(tmp_path: Path, imported_weights: Path) -> None:
    """On ResNet-18 too: a .part rename, a bad file, SIGTERM mid-burst, restart, no loss."""
    d = start(tmp_path, imported_weights)
    staged = stage_photos(tmp_path / "staging", 120, (320, 240), quality=85)
    part = d.inbox / "late.jpg.part"
    Image.open(shipped_photo("skimage", "data", "coffee.png")).convert("RGB").save(part, "JPEG")
    bad = d.inbox / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    images = move_into(d.inbox, staged)
    os.rename(part, d.inbox / "late.jpg")
    images.append(d.inbox / "late.jpg")
    wait_until(lambda: len(d.events("image_classified")) >= 10, 60, "10 classified")
    assert d.stop(signal.SIGTERM) == 0
    d.start()
    wait_until(lambda: all(read_sidecar_json(p) for p in images), 120, "every sidecar")
    assert read_sidecar_json(bad)["status"] == "failed"
    assert d.stop() == 0  # finishes anything in flight: a duplicate would be logged by now
    counts = d.classified_counts()
    assert set(counts) == {str(p) for p in images}
    assert all(n == 1 for n in counts.values())
    assert not [n for n in os.listdir(d.inbox) if n.startswith(TEMP_PREFIX)]
    assert all(read_sidecar_json(p)["model"]["name"] == "resnet18" for p in images)


def test_plain_daemon_refuses_fixture_weights(tmp_path: Path, imported_weights: Path) -> None:
    """Without the test launcher, random FIXTURE weights stop start-up with a clear error."""
    d = DaemonProcess(tmp_path, {"model": {"weights_dir": str(imported_weights)}})
    d.start(wait_ready=False)
    assert d.proc is not None and d.proc.wait(120) == 2
    assert "fixture" in d.stderr_path.read_text().lower()
    assert not d.events("daemon_started")


def test_resnet18_without_weights_exits_fast_naming_the_fix(tmp_path: Path) -> None:
    """model: resnet18 with nothing installed exits non-zero before starting, naming the fix."""
    d = DaemonProcess(tmp_path, {"model": {"name": "resnet18"}})
    d.start(wait_ready=False)
    assert d.proc is not None and d.proc.wait(30) != 0
    assert not d.events("daemon_started")  # how fast: `resnet-watch bench`, not a test
    err = d.stderr_path.read_text()
    assert "weights fetch resnet18" in err and "weights import" in err
