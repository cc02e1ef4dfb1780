"""End to end: the real daemon process, a temp inbox, real photos, real signals."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from PIL import Image

from resnet_watch.sidecar import TEMP_PREFIX, validate_record
from tests.daemon_helpers import (
    CAT_CLASSES,
    DaemonProcess,
    move_into,
    read_sidecar_json,
    shipped_photo,
    stage_photos,
    wait_until,
)


@pytest.fixture()
def daemon(tmp_path: Path):
    d = DaemonProcess(tmp_path)
    d.start()
    yield d
    if d.proc is not None and d.proc.poll() is None:
        d.stop()


def test_cat_photo_gets_a_cat_label(daemon: DaemonProcess) -> None:
    """A real cat photo copied into the inbox gets a sidecar with a cat in its top 5."""
    cat = daemon.inbox / "chelsea.png"
    shutil.copy(shipped_photo("skimage", "data", "chelsea.png"), cat)
    # how fast: `resnet-watch bench` measures it; a timed unit test only measures the CI load
    record = wait_until(lambda: read_sidecar_json(cat), 60, "the cat's sidecar")
    names = {label["name"] for label in record["labels"]}
    assert names & CAT_CLASSES, names
    assert validate_record(record) == []
    assert record["model"]["name"] == "efficientnet_lite0" and not record["model"]["fixture"]
    assert "Cats" in record["albums"]
    assert any(tag.startswith("Pets/Cats/") for tag in record["tags"])
    xmp = cat.with_name(cat.name + ".xmp").read_text()
    assert "resnet-watch|Pets|Cats|" in xmp and "resnet-watch/Pets/Cats/" in xmp
    event = wait_until(lambda: daemon.events("image_classified"), 5, "image_classified")[0]
    assert event["path"] == str(cat) and event["top1"] in names and event["ms"] > 0


def test_slow_writer_is_classified_once_when_complete(tmp_path: Path) -> None:
    """A file grown 64 KB every 100 ms for ~10 s (slow scp) is read once, after the last byte.

    settle_seconds is 3 here, thirty times the writer's pauses: a loaded machine that
    stalls the writer for a second must not turn this into the documented early-read case
    (a writer pausing longer than settle_seconds), which test_reliability covers."""
    import numpy as np

    noise = np.random.default_rng(7).integers(0, 256, (1460, 1460, 3), dtype=np.uint8)
    src = tmp_path / "noise.png"
    Image.fromarray(noise).save(src, compress_level=0)
    data = src.read_bytes()
    assert len(data) >= 6_000_000  # ~100 chunks of 64 KB: about 10 s
    daemon = DaemonProcess(tmp_path, {"watch": {"settle_seconds": 3.0}}).start()
    target = daemon.inbox / "slow.png"
    with open(target, "wb") as fh:
        for i in range(0, len(data), 64 * 1024):
            fh.write(data[i : i + 64 * 1024])
            fh.flush()
            time.sleep(0.1)
    record = wait_until(lambda: read_sidecar_json(target), 30, "slow file's sidecar")
    assert record["status"] == "ok" and record["file"]["size"] == len(data)
    assert daemon.stop() == 0  # anything still in flight is finished and logged
    assert daemon.classified_count(target) == 1
    assert not [e for e in daemon.events("image_failed") if e["path"] == str(target)]


def test_part_file_renamed_into_place_is_classified_once(daemon: DaemonProcess) -> None:
    """A sync tool's name.part -> name.jpg rename gives one sidecar, for the .jpg only."""
    part = daemon.inbox / "photo.jpg.part"
    hidden = daemon.inbox / ".photo2.jpg.XXXX"
    Image.open(shipped_photo("skimage", "data", "astronaut.png")).convert("RGB").save(part, "JPEG")
    shutil.copy(part, hidden)
    time.sleep(0.8)
    final = daemon.inbox / "photo.jpg"
    os.rename(part, final)
    os.rename(hidden, daemon.inbox / "photo2.jpg")
    wait_until(lambda: read_sidecar_json(final), 10, "renamed file's sidecar")
    wait_until(lambda: read_sidecar_json(daemon.inbox / "photo2.jpg"), 10, "second rename")
    assert daemon.stop() == 0  # anything still in flight is finished and logged
    assert daemon.classified_count(final) == 1
    names = sorted(p.name for p in daemon.inbox.iterdir())
    assert names == [  # XMP is on by default: each photo has its JSON and its XMP
        "photo.jpg",
        "photo.jpg.resnet-watch.json",
        "photo.jpg.xmp",
        "photo2.jpg",
        "photo2.jpg.resnet-watch.json",
        "photo2.jpg.xmp",
    ]


def test_bad_file_gets_a_failure_record_and_the_daemon_lives_on(daemon: DaemonProcess) -> None:
    """A broken file is recorded as failed, left untouched, and later files still work."""
    bad = daemon.inbox / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    before = bad.read_bytes()
    record = wait_until(lambda: read_sidecar_json(bad), 10, "failure record")
    assert record["status"] == "failed" and record["error"]["kind"] in {
        "corrupt_image",
        "unsupported_format",
    }
    assert bad.read_bytes() == before
    good = daemon.inbox / "good.png"
    shutil.copy(shipped_photo("skimage", "data", "chelsea.png"), good)
    assert wait_until(lambda: read_sidecar_json(good), 10, "next file")["status"] == "ok"
    assert daemon.proc is not None and daemon.proc.poll() is None


def test_sigterm_stops_cleanly_and_restart_skips_done_work(tmp_path: Path) -> None:
    """SIGTERM exits 0; a restart skips up-to-date images unread and classifies new ones."""
    d = DaemonProcess(tmp_path).start()
    first = d.inbox / "a.png"
    shutil.copy(shipped_photo("skimage", "data", "chelsea.png"), first)
    wait_until(lambda: read_sidecar_json(first), 10, "first sidecar")
    assert d.stop(signal.SIGTERM) == 0
    assert d.events("daemon_stopping") and d.events("daemon_stopped")
    # dropped while the daemon was down
    second = d.inbox / "b.png"
    shutil.copy(shipped_photo("skimage", "data", "coffee.png"), second)
    d.start()
    wait_until(lambda: read_sidecar_json(second), 10, "backlog file's sidecar")
    d.wait_events("image_classified", second)
    # the backlog scan ran before b.png was classified; it never submitted a.png
    assert d.classified_count(first) == 1  # skipped on restart: same file, same model
    assert d.classified_count(second) == 1
    backlog = d.events("backlog_scanned")[-1]
    assert backlog["files"] == 2 and backlog["new"] == 1  # the index knew a.png was done
    assert d.stop(signal.SIGINT) == 0


def test_sigterm_during_a_burst_loses_nothing(tmp_path: Path) -> None:
    """Kill with SIGTERM mid-burst of 200 images, restart: one complete sidecar each."""
    d = DaemonProcess(tmp_path, {"watch": {"settle_seconds": 0.2}}).start()
    images = move_into(d.inbox, stage_photos(tmp_path / "staging", 200, (256, 256)))
    wait_until(lambda: len(d.events("image_classified")) >= 20, 60, "20 classified")
    assert d.stop(signal.SIGTERM) == 0
    done_first = {e["path"] for e in d.events("image_classified")}
    assert len(done_first) < 200
    d.start()
    wait_until(lambda: all(read_sidecar_json(p) for p in images), 120, "every sidecar")
    assert d.stop() == 0
    counts = d.classified_counts()
    assert set(counts) == {str(p) for p in images}
    assert all(n == 1 for n in counts.values()), {k: v for k, v in counts.items() if v > 1}
    for p in images:
        assert validate_record(read_sidecar_json(p)) == []
    assert not list(d.inbox.glob(f"{TEMP_PREFIX}*"))
    assert not list(d.inbox.glob(f".*{TEMP_PREFIX}*"))
