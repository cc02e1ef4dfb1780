"""Sidecar naming, schema and atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from resnet_watch.errors import SidecarError
from resnet_watch.models.spec import Label
from resnet_watch.sidecar import (
    TEMP_PREFIX,
    FileFacts,
    failure_record,
    read_sidecar,
    result_record,
    sidecar_path,
    sweep_temp_files,
    validate_record,
    write_sidecar,
)
from tests.fakes import FAKE_INFO

LABELS = [Label(1, 281, "n02123045", "tabby", 0.7), Label(2, 282, "n02123159", "tiger cat", 0.2)]


def record() -> dict:
    return result_record(
        FileFacts("IMG_1.jpg", 10, 1, "a" * 64),
        width=4,
        height=3,
        fmt="JPEG",
        labels=LABELS,
        model=FAKE_INFO,
        elapsed_ms=12.345,
    )


def test_sidecar_name_is_image_name_plus_suffix(tmp_path: Path) -> None:
    """IMG_1.jpg gets IMG_1.jpg.resnet-watch.json beside it."""
    assert sidecar_path(tmp_path / "IMG_1.jpg", ".resnet-watch.json") == (
        tmp_path / "IMG_1.jpg.resnet-watch.json"
    )


def test_long_names_get_a_short_unique_sidecar_name(tmp_path: Path) -> None:
    """A name near NAME_MAX still gets a sidecar name that fits and is unique."""
    a = sidecar_path(tmp_path / ("x" * 250 + "a.jpg"), ".resnet-watch.json")
    b = sidecar_path(tmp_path / ("x" * 250 + "b.jpg"), ".resnet-watch.json")
    assert len(os.fsencode(a.name)) <= 255 and a != b
    assert a.name.endswith(".resnet-watch.json")
    write_sidecar(a, record())  # the filesystem accepts it
    assert read_sidecar(a) is not None


def test_result_record_has_every_documented_field() -> None:
    """A result sidecar carries file facts, image facts, labels, model and timing."""
    rec = record()
    assert validate_record(rec) == []
    assert rec["file"] == {"name": "IMG_1.jpg", "size": 10, "mtime_ns": 1, "sha256": "a" * 64}
    assert rec["image"] == {"width": 4, "height": 3, "format": "JPEG"}
    assert rec["labels"][0] == {
        "rank": 1,
        "index": 281,
        "wnid": "n02123045",
        "name": "tabby",
        "score": 0.7,
    }
    assert rec["model"]["name"] == FAKE_INFO.name and rec["model"]["precision"] == "fp32"
    assert rec["model"]["weights_sha256"] == FAKE_INFO.weights_sha256
    assert rec["elapsed_ms"] == 12.35 and rec["classified_at"].endswith("Z")
    assert rec["schema_version"] == 1 and rec["status"] == "ok"


def test_failure_record_is_schema_valid() -> None:
    """A failure record names the error kind, message and attempts."""
    rec = failure_record(
        FileFacts("b.jpg", 0, 1),
        kind="corrupt_image",
        message="empty file",
        attempts=1,
        gave_up=False,
        next_retry_at=None,
        model=FAKE_INFO,
    )
    assert validate_record(rec) == []
    assert rec["error"] == {"kind": "corrupt_image", "message": "empty file"}


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    """What is written is read back identically, as UTF-8 JSON."""
    path = tmp_path / "ünïcode name.jpg.resnet-watch.json"
    write_sidecar(path, record())
    assert read_sidecar(path) == json.loads(path.read_text(encoding="utf-8"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


def test_corrupt_sidecar_reads_as_missing(tmp_path: Path) -> None:
    """Corrupt JSON or a foreign JSON file is treated as no sidecar (re-classify)."""
    bad = tmp_path / "a.jpg.resnet-watch.json"
    bad.write_text('{"status": "ok", "lab')
    assert read_sidecar(bad) is None
    bad.write_text('{"hello": 1}')
    assert read_sidecar(bad) is None
    assert read_sidecar(tmp_path / "missing.json") is None


def test_failed_write_leaves_old_sidecar_and_no_temp(tmp_path: Path, monkeypatch) -> None:
    """A write that fails mid-way (disk full) keeps the old sidecar whole and no temp file."""
    path = tmp_path / "a.jpg.resnet-watch.json"
    write_sidecar(path, record())
    before = path.read_bytes()

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SidecarError, match="No space left"):
        write_sidecar(path, {**record(), "status": "ok", "labels": []})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_read_only_folder_gives_a_clear_error() -> None:
    """A read-only folder gives SidecarError, not a crash (as nobody when run as root)."""
    import shutil
    import subprocess
    import sys

    from tests.unprivileged import as_unprivileged, shared_tmp

    base = shared_tmp()
    folder = base / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from resnet_watch.sidecar import atomic_write_bytes\n"
        "try:\n"
        "    atomic_write_bytes(Path(sys.argv[1]), b'{}')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    try:
        done = subprocess.run(
            as_unprivileged([sys.executable, "-c", code, str(folder / "x.json")]),
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
            timeout=120,
        )
        assert done.stdout.startswith("SidecarError"), done.stdout + done.stderr
        assert "cannot write" in done.stdout
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)
        shutil.rmtree(base)


def test_sweep_removes_only_our_temp_files(tmp_path: Path) -> None:
    """Start-up removes temp files a killed writer left, and nothing else."""
    (tmp_path / "sub").mkdir()
    stray = tmp_path / "sub" / f"{TEMP_PREFIX}abc"
    stray.write_text("half")
    keep = tmp_path / "sub" / ".hidden.jpg"
    keep.write_text("user file")
    assert list(sweep_temp_files([tmp_path])) == [stray]
    assert keep.exists() and not stray.exists()
