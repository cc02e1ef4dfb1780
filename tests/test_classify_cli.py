"""The classify command: JSON and table output, exit codes, --write-sidecars."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PIL import Image

from tests.daemon_helpers import (
    DaemonProcess,
    read_sidecar_json,
    run_cli,
    shipped_photo,
    wait_until,
)


def test_classify_folder_prints_results_and_errors(tmp_path: Path) -> None:
    """classify DIR prints one JSON line per image, an error line per bad file, exit 1."""
    photos = tmp_path / "photos"
    (photos / "sub").mkdir(parents=True)
    shutil.copy(shipped_photo("skimage", "data", "chelsea.png"), photos / "cat.png")
    Image.open(shipped_photo("skimage", "data", "coffee.png")).save(photos / "sub" / "c.jpg")
    (photos / "bad.jpg").write_bytes(b"garbage" * 100)
    (photos / "notes.txt").write_text("not included by name")
    result = run_cli("classify", "--json", str(photos), cwd=tmp_path)
    assert result.returncode == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    by_name = {Path(r["path"]).name: r for r in rows}
    assert set(by_name) == {"cat.png", "c.jpg", "bad.jpg"}
    assert by_name["cat.png"]["status"] == "ok" and by_name["cat.png"]["labels"][0]["name"]
    assert by_name["bad.jpg"]["status"] == "failed"
    assert "bad.jpg" in result.stderr and "unsupported_format" in result.stderr
    assert not list(photos.rglob("*.resnet-watch.json"))  # classify alone writes nothing


def test_classify_write_sidecars_then_run_matches_the_daemon_alone(tmp_path: Path) -> None:
    """classify --write-sidecars writes the daemon's tags, albums and XMP; run then skips it."""
    for name in ("first", "alone"):
        (tmp_path / name / "inbox").mkdir(parents=True)
    first, alone = DaemonProcess(tmp_path / "first"), DaemonProcess(tmp_path / "alone")
    photo = shipped_photo("skimage", "data", "chelsea.png")
    cat = first.inbox / "cat.png"
    shutil.copy(photo, cat)
    result = run_cli("classify", "--write-sidecars", "--config", str(first.config), str(cat))
    assert result.returncode == 0, result.stderr
    with first:
        # the start-up scan finds cat.png done; a photo dropped after it is classified
        # after anything that scan submitted, so cat.png's fate is known by then
        wait_until(lambda: first.events("backlog_scanned"), 120, "the start-up scan")
        later = first.inbox / "later.png"
        shutil.copy(shipped_photo("skimage", "data", "coffee.png"), later)
        wait_until(lambda: read_sidecar_json(later), 120, "a later photo's sidecar")
        assert first.classified_count(cat) == 0
    shutil.copy(photo, alone.inbox / "cat.png")
    with alone:
        wait_until(lambda: read_sidecar_json(alone.inbox / "cat.png"), 120, "daemon sidecar")
    by_classify, by_daemon = read_sidecar_json(cat), read_sidecar_json(alone.inbox / "cat.png")
    assert by_classify is not None and by_daemon is not None
    assert by_classify["tags"], "a cat photo gets tags"
    for key in ("labels", "tags", "albums", "model", "image"):
        assert by_classify[key] == by_daemon[key], key
    xmp = (first.inbox / "cat.png.xmp").read_bytes()
    assert xmp == (alone.inbox / "cat.png.xmp").read_bytes()


def test_classify_table_exit_zero(tmp_path: Path) -> None:
    """Without --json a readable line per image; all good means exit 0."""
    shutil.copy(shipped_photo("skimage", "data", "chelsea.png"), tmp_path / "cat.png")
    result = run_cli("classify", str(tmp_path / "cat.png"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cat.png" in result.stdout and "%" in result.stdout
