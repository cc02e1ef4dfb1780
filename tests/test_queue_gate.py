"""The dispatcher's sidecar checks: which photos become tasks, which replies are duplicates."""

from __future__ import annotations

import os
from pathlib import Path

from resnet_watch.models.spec import Label
from resnet_watch.outcomes import Classified, Failed, Skipped
from resnet_watch.queue.gate import TaskGate
from resnet_watch.queue.task import Task
from resnet_watch.sidecar import FileFacts
from resnet_watch.store import SidecarStore, StoreSettings
from tests.daemon_helpers import stage_photos
from tests.fakes import FAKE_INFO, RecordingLog

GATE = TaskGate(".resnet-watch.json", retries=3, reclassify_on_model_change=True, reply_to="rw:r")


def _write_sidecar(photo: Path) -> FileFacts:
    """The sidecar the watcher writes for a classified ``photo``; returns its facts."""
    st = os.stat(photo)
    facts = FileFacts(photo.name, st.st_size, st.st_mtime_ns, "ab" * 32)
    label = Label(1, 0, "n00000000", "reddish", 0.9)
    outcome = Classified(photo, facts, 8, 8, "JPEG", [label], 1.0)
    SidecarStore(StoreSettings(), FAKE_INFO, RecordingLog()).sink(outcome)
    return facts


def test_a_photo_without_a_sidecar_becomes_a_task_naming_its_version(tmp_path: Path) -> None:
    """A new photo is sent: the task carries its path, size, mtime and the reply list."""
    (photo,) = stage_photos(tmp_path, 1, size=(32, 32))
    task = GATE.task_for(photo, FAKE_INFO)
    st = os.stat(photo)
    assert task == Task(str(photo), st.st_size, st.st_mtime_ns, None, "rw:r")


def test_a_vanished_photo_is_skipped_not_sent(tmp_path: Path) -> None:
    """A path deleted before it was sent is recorded as vanished."""
    outcome = GATE.task_for(tmp_path / "gone.jpg", FAKE_INFO)
    assert isinstance(outcome, Skipped) and outcome.reason == "vanished"


def test_a_photo_with_a_current_sidecar_is_not_sent_again(tmp_path: Path) -> None:
    """A photo whose sidecar matches its size and mtime costs no round trip to a worker."""
    (photo,) = stage_photos(tmp_path, 1, size=(32, 32))
    _write_sidecar(photo)
    outcome = GATE.task_for(photo, FAKE_INFO)
    assert isinstance(outcome, Skipped) and outcome.retry_in is None


def test_a_changed_photo_is_sent_again(tmp_path: Path) -> None:
    """A photo edited after its sidecar was written becomes a task again."""
    (photo,) = stage_photos(tmp_path, 1, size=(32, 32))
    _write_sidecar(photo)
    photo.write_bytes(photo.read_bytes() + b"\0" * 10)
    assert isinstance(GATE.task_for(photo, FAKE_INFO), Task)


def test_an_unreadable_path_fails_visibly(tmp_path: Path) -> None:
    """A path that cannot be stat'ed is a failure the user sees, not a silent skip."""
    outcome = GATE.task_for(tmp_path / ("x" * 300), FAKE_INFO)
    assert isinstance(outcome, Failed) and outcome.kind == "unreadable_file"


def test_a_second_reply_for_a_written_sidecar_is_a_duplicate(tmp_path: Path) -> None:
    """Once a reply's result is on disk, the same version's next reply writes nothing."""
    (photo,) = stage_photos(tmp_path, 1, size=(32, 32))
    assert not GATE.already_written(photo, FileFacts(photo.name, 1, 1), FAKE_INFO)
    facts = _write_sidecar(photo)
    assert GATE.already_written(photo, facts, FAKE_INFO)
    assert not GATE.already_written(photo, facts, None)
