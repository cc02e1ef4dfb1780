"""weights fetch / import / status and the load-time checks, on FIXTURE weights.

Fixture weights are random (see tests/fixtures_models.py): these tests check plumbing,
formats and refusals, never labels.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from resnet_watch.errors import WeightsError, WeightsInvalid
from resnet_watch.models import (
    fetch_weights,
    import_weights,
    load_classifier,
    weights_status,
)
from resnet_watch.models.manifest import sha256_file
from tests.fixtures_models import (
    FileServer,
    calibration_dir,
    file_server,
    fixture_fp32_resnet18,
    fixture_int8_resnet18,
    isolated_torch_home,
)

__all__ = [  # pytest fixtures used below
    "calibration_dir",
    "file_server",
    "fixture_fp32_resnet18",
    "fixture_int8_resnet18",
    "isolated_torch_home",
]

pytestmark = pytest.mark.usefixtures("isolated_torch_home")


def installed_files(weights_dir: Path) -> list[str]:
    return sorted(p.name for p in weights_dir.iterdir()) if weights_dir.exists() else []


def test_import_int8_file_then_auto_selects_resnet18(
    tmp_path: Path, fixture_int8_resnet18: Path
) -> None:
    """An imported torchvision-format int8 file makes `auto` pick int8 ResNet-18."""
    installed = import_weights(fixture_int8_resnet18, tmp_path, allow_fixture=True)
    assert installed.precision == "int8" and installed.fixture
    assert installed.sha256 == sha256_file(fixture_int8_resnet18)
    record = json.loads((tmp_path / "installed.json").read_text())["models"]["resnet18"]
    assert record["sha256"] == installed.sha256 and record["fixture"] is True

    classifier, reason = load_classifier(
        "auto", tmp_path, threads=1, runtime="torch", allow_fixture=True
    )
    info = classifier.info
    assert (info.name, info.precision, info.engine) == ("resnet18", "int8", "x86")
    assert info.fixture and info.weights_sha256 == installed.sha256
    assert "fixture" in reason
    out = classifier.predict(np.zeros((2, 3, 224, 224), np.float32), 5)
    assert [len(row) for row in out] == [5, 5]


def test_import_fp32_file_is_calibrated_and_converted_to_int8(
    tmp_path: Path, fixture_fp32_resnet18: Path, calibration_dir: Path
) -> None:
    """An fp32 state dict goes through PTQ on real photos and runs as int8."""
    installed = import_weights(fixture_fp32_resnet18, tmp_path, calibration_dir, allow_fixture=True)
    assert installed.method == "import+ptq" and installed.precision == "int8"
    record = json.loads((tmp_path / "installed.json").read_text())["models"]["resnet18"]
    assert record["derived_from_sha256"] == sha256_file(fixture_fp32_resnet18)
    assert record["calibration"]["photos"] == 10

    classifier, _ = load_classifier("resnet18", tmp_path, threads=1, allow_fixture=True)
    assert (classifier.info.precision, classifier.info.fixture) == ("int8", True)
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
    scores = [label.score for label in classifier.predict(batch, 1000)[0]]
    assert abs(sum(scores) - 1) < 1e-3


def test_import_builds_an_int8_onnx_model_that_onnxruntime_serves(
    tmp_path: Path, fixture_fp32_resnet18: Path, calibration_dir: Path
) -> None:
    """The import ends with a verified int8 ONNX build, its hash and its agreement figures."""
    import_weights(fixture_fp32_resnet18, tmp_path, calibration_dir, allow_fixture=True)
    record = json.loads((tmp_path / "installed.json").read_text())["models"]["resnet18"]
    onnx = tmp_path / record["onnx_file"]
    assert record["onnx_sha256"] == sha256_file(onnx)
    check = record["onnx_check"]
    assert check["agreement_photos"] >= 200 and 0 <= check["top1_agreement"] <= 1
    assert check["calibration"]["photos"] == 10 and check["reference"] == "torch fp32"

    classifier, reason = load_classifier(
        "resnet18", tmp_path, threads=1, runtime="onnxruntime", allow_fixture=True
    )
    info = classifier.info
    assert (info.runtime, info.precision, info.fixture) == ("onnxruntime", "int8", True)
    assert info.weights_sha256 == sha256_file(fixture_fp32_resnet18)  # the real source file
    assert "runtime onnxruntime" in reason
    batch = np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)
    first, second = classifier.classify(batch, 1000)
    assert abs(sum(label.score for label in first.labels) - 1) < 1e-3
    assert first.features.shape == (512,) and not np.allclose(first.features, second.features)

    onnx.write_bytes(onnx.read_bytes()[:-100])  # damaged after install
    with pytest.raises(WeightsInvalid, match="corrupt or was replaced"):
        load_classifier("resnet18", tmp_path, threads=1, allow_fixture=True)


def test_an_onnx_build_that_disagrees_with_torch_installs_nothing(
    tmp_path: Path,
    fixture_int8_resnet18: Path,
    calibration_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Below the agreement bar the import fails and the weights directory stays as it was."""
    from resnet_watch.models import onnx_build

    monkeypatch.setattr(onnx_build, "MIN_AGREEMENT", 1.01)  # no build can reach it
    weights_dir = tmp_path / "weights"
    with pytest.raises(WeightsInvalid, match="agrees with torch int8"):
        onnx_build.build_resnet18_onnx(fixture_int8_resnet18, weights_dir, calibration_dir)
    assert installed_files(weights_dir) == []


def test_import_refuses_weights_that_are_not_torchvisions(
    tmp_path: Path, fixture_int8_resnet18: Path, fixture_fp32_resnet18: Path
) -> None:
    """Without the test-only switch, an unknown file (here a fixture) is never installed."""
    weights_dir = tmp_path / "weights"
    for path in (fixture_int8_resnet18, fixture_fp32_resnet18):
        with pytest.raises(WeightsInvalid, match="not torchvision's ResNet-18"):
            import_weights(path, weights_dir)
    assert installed_files(weights_dir) == []


def test_import_refuses_a_file_that_is_not_a_state_dict(tmp_path: Path) -> None:
    """Junk bytes are reported as invalid weights, not a traceback."""
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint" * 100)
    with pytest.raises(WeightsInvalid):
        import_weights(junk, tmp_path / "weights", allow_fixture=True)
    assert installed_files(tmp_path / "weights") == []


def test_loader_rejects_installed_file_whose_hash_changed(
    tmp_path: Path, fixture_int8_resnet18: Path
) -> None:
    """A corrupted install stops start-up (auto does not silently fall back)."""
    installed = import_weights(fixture_int8_resnet18, tmp_path, allow_fixture=True)
    with installed.path.open("r+b") as fh:
        fh.seek(4096)
        fh.write(b"\xff" * 8)
    for name in ("auto", "resnet18"):
        with pytest.raises(WeightsInvalid, match="corrupt"):
            load_classifier(name, tmp_path, threads=1, allow_fixture=True)


def test_loader_never_runs_fixture_weights_for_users(
    tmp_path: Path, fixture_int8_resnet18: Path
) -> None:
    """An installed fixture is refused unless a test explicitly allows it."""
    import_weights(fixture_int8_resnet18, tmp_path, allow_fixture=True)
    for name in ("auto", "resnet18"):
        with pytest.raises(WeightsInvalid, match="fixture"):
            load_classifier(name, tmp_path, threads=1)
    row = weights_status(tmp_path)[0]
    assert row.model == "resnet18" and not row.available and "fixture" in row.note


@pytest.mark.parametrize("where", ["weights_dir", "hub_cache"])
def test_file_with_torchvisions_name_but_other_content_is_refused(
    tmp_path: Path, fixture_int8_resnet18: Path, isolated_torch_home: Path, where: str
) -> None:
    """resnet18_fbgemm_16fa66dd.pth that is not torchvision's file stops start-up."""
    folder = tmp_path if where == "weights_dir" else isolated_torch_home
    shutil.copy(fixture_int8_resnet18, folder / "resnet18_fbgemm_16fa66dd.pth")
    with pytest.raises(WeightsInvalid, match="corrupt or truncated"):
        load_classifier("auto", tmp_path, threads=1, allow_fixture=True)


def test_fetch_installs_a_file_with_the_expected_hash(
    tmp_path: Path, file_server: FileServer, fixture_int8_resnet18: Path
) -> None:
    """A download with the right hash is verified, loaded once and installed with a record."""
    file_server.files["r18.pth"] = fixture_int8_resnet18.read_bytes()
    sha = sha256_file(fixture_int8_resnet18)
    installed = fetch_weights(
        "resnet18", tmp_path, file_server.url("r18.pth"), progress=False, fixture_sha256=sha
    )
    assert installed.sha256 == sha == sha256_file(installed.path)
    record = json.loads((tmp_path / "installed.json").read_text())["models"]["resnet18"]
    assert installed_files(tmp_path) == sorted(
        ["installed.json", installed.path.name, record["onnx_file"]]
    )
    status = weights_status(tmp_path)[0]
    assert not status.available  # a fixture is never offered to users
    classifier, _ = load_classifier("resnet18", tmp_path, threads=1, allow_fixture=True)
    assert classifier.info.weights_source == "fixture:" + file_server.url("r18.pth")


def test_fetch_refuses_a_download_that_is_not_torchvisions_file(
    tmp_path: Path, file_server: FileServer, fixture_int8_resnet18: Path
) -> None:
    """Without the test-only hash, only torchvision's published hash is accepted."""
    file_server.files["r18.pth"] = fixture_int8_resnet18.read_bytes()
    with pytest.raises(WeightsInvalid, match="hash"):
        fetch_weights("resnet18", tmp_path, file_server.url("r18.pth"), progress=False)
    assert installed_files(tmp_path) == []


def test_fetch_with_bad_hash_installs_nothing(
    tmp_path: Path, file_server: FileServer, fixture_int8_resnet18: Path
) -> None:
    """A download whose hash is wrong is deleted; the weights dir is unchanged."""
    file_server.files["r18.pth"] = fixture_int8_resnet18.read_bytes()
    with pytest.raises(WeightsInvalid, match="hash"):
        fetch_weights(
            "resnet18", tmp_path, file_server.url("r18.pth"), False, fixture_sha256="0" * 64
        )
    assert installed_files(tmp_path) == []


def test_fetch_of_truncated_download_installs_nothing(
    tmp_path: Path, file_server: FileServer, fixture_int8_resnet18: Path
) -> None:
    """A connection that ends early leaves nothing half-installed."""
    file_server.files["r18.pth"] = fixture_int8_resnet18.read_bytes()
    sha = sha256_file(fixture_int8_resnet18)
    with pytest.raises(WeightsError):
        fetch_weights(
            "resnet18", tmp_path, file_server.url("truncated/r18.pth"), False, fixture_sha256=sha
        )
    assert installed_files(tmp_path) == []


def test_fetch_when_server_is_gone_installs_nothing(tmp_path: Path) -> None:
    """No server at the address: a clear error, nothing installed."""
    with socket.socket() as sock:  # a port that was free a moment ago and now has no server
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(WeightsError, match="could not download"):
        fetch_weights("resnet18", tmp_path, f"http://127.0.0.1:{port}/r18.pth", progress=False)
    assert installed_files(tmp_path) == []


def test_fetch_of_the_bundled_model_explains_it_is_bundled(tmp_path: Path) -> None:
    """efficientnet_lite0 ships with the package: nothing to fetch."""
    with pytest.raises(WeightsError, match="ships with resnet-watch"):
        fetch_weights("efficientnet_lite0", tmp_path)


def test_status_without_resnet18_lists_the_bundled_model(tmp_path: Path) -> None:
    """weights status says what runs, from where, its hash and published accuracy."""
    resnet, lite = weights_status(tmp_path)
    assert not resnet.available and "weights fetch resnet18" in resnet.note
    assert resnet.acc1 == 69.494
    assert lite.available and lite.precision == "fp32" and lite.runtime == "onnxruntime"
    assert lite.sha256.startswith("57934424") and lite.acc1 is not None


def test_a_file_whose_full_hash_is_in_the_manifest_is_accepted_as_real(
    tmp_path: Path, fixture_int8_resnet18: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accept path users take: a manifest entry with the file's full sha256 (here patched
    to a fixture file's) lets import and load run without allow_fixture, as real weights."""
    from resnet_watch.models import manifest as manifest_mod

    full = sha256_file(fixture_int8_resnet18)
    shipped = json.loads(manifest_mod._manifest_text())
    for entry in shipped["weights"]:
        if entry["key"] == "resnet18_fbgemm":
            entry["sha256"] = full
            entry["sha256_prefix"] = full[:8]
    monkeypatch.setattr(manifest_mod, "_manifest_text", lambda: json.dumps(shipped))
    # random weights have no stable top-1 to agree on (~97% here): the 98% bar is tested
    # on its own in test_an_onnx_build_that_disagrees_with_torch_installs_nothing
    from resnet_watch.models import onnx_build

    monkeypatch.setattr(onnx_build, "MIN_AGREEMENT", 0.0)

    installed = import_weights(fixture_int8_resnet18, tmp_path)  # no allow_fixture
    assert not installed.fixture and installed.sha256 == full
    record = json.loads((tmp_path / "installed.json").read_text())["models"]["resnet18"]
    assert record["manifest_key"] == "resnet18_fbgemm" and record["fixture"] is False
    assert record["onnx_check"]["agreement_photos"] >= 200  # measured and recorded
    for runtime in ("onnxruntime", "torch"):
        classifier, _reason = load_classifier("auto", tmp_path, threads=1, runtime=runtime)
        info = classifier.info
        assert (info.name, info.precision) == ("resnet18", "int8") and not info.fixture
        assert info.weights_sha256 == full and info.runtime == runtime
