"""Rescans and repair through the real daemon: retry, lost sidecars, changes missed while down."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from watchdog.events import FileOpenedEvent, FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from resnet_watch.album_links import link_name
from tests.daemon_helpers import (
    CAT,
    DaemonProcess,
    read_sidecar_json,
    sidecar,
    wait_until,
)
from tests.hostile import photo


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    d = DaemonProcess(tmp_path_factory.mktemp("scan"))
    d.start()
    yield d
    if d.proc is not None and d.proc.poll() is None:
        d.stop()


def attempts(d: DaemonProcess, image: Path, event: str) -> int:
    return sum(1 for e in d.events(event) if e.get("path") == str(image))


def classified(d: DaemonProcess, name: str) -> Path:
    image = d.inbox / name
    shutil.copy(CAT, image)
    wait_until(lambda: d.classified_count(image), 30, f"{name} classified")  # and indexed
    return image


def test_retry_command_on_a_running_daemon_processes_the_file_again(daemon: DaemonProcess) -> None:
    """`resnet-watch retry` clears a given-up failure and the running daemon tries again."""
    broken = daemon.inbox / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    wait_until(lambda: (read_sidecar_json(broken) or {}).get("gave_up"), 30, "given up")
    assert attempts(daemon, broken, "image_failed") == 1
    subprocess.run(
        [sys.executable, "-m", "resnet_watch", "retry", "--config", str(daemon.config)],
        check=True,
        capture_output=True,
        cwd=daemon.tmp,
    )
    wait_until(lambda: attempts(daemon, broken, "image_failed") == 2, 30, "a second attempt")


def test_deleted_sidecar_is_written_again(daemon: DaemonProcess) -> None:
    """Deleting an image's sidecar on a running daemon gets the image classified again."""
    image = classified(daemon, "lost-sidecar.png")
    sidecar(image).unlink()
    wait_until(lambda: daemon.classified_count(image) == 2, 30, "classified again")
    assert read_sidecar_json(image)["status"] == "ok"


def test_corrupt_sidecar_is_redone_at_once_on_sighup(daemon: DaemonProcess) -> None:
    """A sidecar garbled in place (no event we act on) is redone when the daemon gets SIGHUP."""
    image = classified(daemon, "garbled.png")
    sidecar(image).write_text("{ not json")
    assert daemon.proc is not None
    daemon.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: daemon.classified_count(image) == 2, 30, "classified again on SIGHUP")
    assert read_sidecar_json(image)["status"] == "ok"


def _big_slow_png(path: Path) -> None:
    """A 48 MP PNG: decoding it takes a second or more, long enough to change it meanwhile."""
    w, h = 8000, 6000
    x = np.linspace(0, 255, w, dtype=np.float32)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    planes = [np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)), (x + y) % 256]
    Image.fromarray(np.stack(planes, axis=-1).astype(np.uint8)).save(path, compress_level=1)


class _Opened(FileSystemEventHandler):
    def __init__(self, target: Path) -> None:
        self.target = str(target)
        self.seen = threading.Event()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if isinstance(event, FileOpenedEvent) and os.fsdecode(event.src_path) == self.target:
            self.seen.set()


def test_file_changed_while_being_decoded_is_classified_again(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    """A file replaced while the daemon decodes it ends with a sidecar for the new content."""
    staged, replacement = tmp_path / "big.png", tmp_path / "small.jpg"
    _big_slow_png(staged)
    photo((320, 240), seed=5).save(replacement, quality=90)
    new_sha = hashlib.sha256(replacement.read_bytes()).hexdigest()
    target = daemon.inbox / "changing.png"
    opened = _Opened(target)
    observer = Observer()
    observer.schedule(opened, str(daemon.inbox))
    observer.start()
    try:
        os.rename(staged, target)  # a rename: the only open is the daemon's read
        assert opened.seen.wait(30), "the daemon never opened the file"
        os.replace(replacement, target)
    finally:
        observer.stop()
        observer.join()
    wait_until(lambda: daemon.classified_count(target) == 2, 60, "the new content classified")
    assert read_sidecar_json(target)["file"]["sha256"] == new_sha


def test_corrupt_sidecar_is_redone_within_one_rescan_interval(tmp_path: Path) -> None:
    """With rescan_interval set, a garbled sidecar is redone by the next periodic rescan."""
    with DaemonProcess(tmp_path, {"watch": {"rescan_interval": 2}}) as d:
        image = classified(d, "garbled.png")
        sidecar(image).write_text("[]")
        wait_until(lambda: d.classified_count(image) == 2, 30, "classified again by a rescan")
        assert read_sidecar_json(image)["status"] == "ok"
        assert d.events("rescan_completed")


def test_renames_and_deletes_while_down_are_settled_at_start(tmp_path: Path) -> None:
    """Renamed, copied-then-deleted and deleted while stopped: tags follow, orphans go."""
    albums = tmp_path / "albums"
    d = DaemonProcess(tmp_path, {"album_folders": {"enabled": True, "dir": str(albums)}})
    d.start()
    renamed, copied, deleted = (classified(d, n) for n in ("a.png", "b.png", "c.png"))
    before = {p: read_sidecar_json(p) for p in (renamed, copied)}
    assert d.stop() == 0
    (d.inbox / "sorted").mkdir()
    renamed_to = d.inbox / "sorted" / "a-renamed.png"
    os.rename(renamed, renamed_to)
    copied_to = d.inbox / "sorted" / "b-copy.png"
    shutil.copy(copied, copied_to)  # another disk: new inode and mtime, same content
    copied.unlink()
    deleted.unlink()
    d.start()
    for old, new in ((renamed, renamed_to), (copied, copied_to)):
        record = wait_until(lambda new=new: read_sidecar_json(new), 30, f"{new.name} sidecar")
        assert record["classified_at"] == before[old]["classified_at"]
        assert d.classified_count(new) == 0
        assert not sidecar(old).exists() and not old.with_name(old.name + ".xmp").exists()
        assert (albums / "Cats" / link_name(new)).is_symlink()
        assert not (albums / "Cats" / link_name(old)).exists()
    wait_until(lambda: not sidecar(deleted).exists(), 30, "the deleted photo's sidecar gone")
    assert not deleted.with_name(deleted.name + ".xmp").exists()
    assert not (albums / "Cats" / link_name(deleted)).exists()
    assert d.stop() == 0
