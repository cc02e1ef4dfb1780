"""pairs + the store: a RAW+JPEG pair is one photo, classified once from the JPEG."""

from __future__ import annotations

import os
import time
from pathlib import Path

import structlog
from structlog.testing import capture_logs

from resnet_watch.models.spec import Label
from resnet_watch.outcomes import Classified, Failed, Skipped
from resnet_watch.pairs import pair_of, partner_jpeg, partner_raw
from resnet_watch.sidecar import FileFacts, read_sidecar
from resnet_watch.store import PAIR_WAIT_SECONDS, SidecarStore, StoreSettings
from tests.fakes import FAKE_INFO

LABELS = [Label(1, 281, "n02123045", "tabby", 0.9)]


def store() -> SidecarStore:
    return SidecarStore(StoreSettings(), FAKE_INFO, structlog.get_logger("t"))


def facts(path: Path) -> FileFacts:
    st = path.stat()
    return FileFacts(path.name, st.st_size, st.st_mtime_ns)


def touch(folder: Path, *names: str) -> list[Path]:
    paths = []
    for name in names:
        (folder / name).write_bytes(name.encode())
        paths.append(folder / name)
    return paths


def test_partners_are_found_by_stem_in_any_case(tmp_path: Path) -> None:
    """IMG_1.CR2 pairs with IMG_1.JPG, img_2.nef with img_2.jpeg; a lone file has no pair."""
    cr2, jpg, nef, jpeg, lone = touch(
        tmp_path, "IMG_1.CR2", "IMG_1.JPG", "img_2.nef", "img_2.jpeg", "IMG_3.DNG"
    )
    assert partner_jpeg(cr2) == jpg and partner_raw(jpg) == cr2
    assert partner_jpeg(nef) == jpeg and partner_raw(jpeg) == nef
    assert partner_jpeg(lone) is None and pair_of(lone) is None
    assert pair_of(jpg) == (cr2, jpg) and pair_of(cr2) == (cr2, jpg)


def test_raw_waits_for_its_jpeg_then_takes_its_labels(tmp_path: Path) -> None:
    """The RAW waits while the JPEG is unclassified, then gets the JPEG's labels, no model."""
    raw, jpg = touch(tmp_path, "IMG_1.CR2", "IMG_1.JPG")
    s = store()
    assert s.gate(raw, facts(raw)).action == "wait"
    s.sink(Classified(jpg, facts(jpg), 4, 3, "JPEG", LABELS, 5.0))
    decision = s.gate(raw, facts(raw))
    assert (decision.action, decision.reason) == ("skip", "paired")
    with capture_logs() as logs:
        assert s.sink(Skipped(raw, "paired", facts(raw))) is None
    assert [e["event"] for e in logs] == ["image_paired"]
    record = read_sidecar(tmp_path / "IMG_1.CR2.resnet-watch.json")
    assert record is not None and record["status"] == "ok"
    assert record["labels"][0]["name"] == "tabby"
    assert record["file"]["name"] == "IMG_1.CR2" and record["file"]["size"] == 9
    assert record["image"]["source"] == "partner" and record["image"]["format"] == "CR2"
    pair = {"files": ["IMG_1.CR2", "IMG_1.JPG"], "classified": "IMG_1.JPG"}
    assert record["pair"] == pair
    jpeg_record = read_sidecar(tmp_path / "IMG_1.JPG.resnet-watch.json")
    assert jpeg_record is not None and jpeg_record["pair"] == pair
    assert s.gate(raw, facts(raw)).action == "skip"  # up to date from now on


def test_raw_goes_alone_when_its_jpeg_failed(tmp_path: Path) -> None:
    """A JPEG that cannot be decoded does not hold the RAW back: the RAW is classified."""
    raw, jpg = touch(tmp_path, "IMG_1.NEF", "IMG_1.JPG")
    s = store()
    s.sink(Failed(jpg, facts(jpg), "corrupt_image", "truncated", 1.0))
    assert s.gate(raw, facts(raw)).action == "process"


def test_raw_goes_alone_when_an_old_jpeg_never_got_a_sidecar(tmp_path: Path) -> None:
    """A JPEG that has sat unclassified for long (ignored, unreadable) stops the wait."""
    raw, jpg = touch(tmp_path, "IMG_1.DNG", "IMG_1.JPG")
    old = time.time() - PAIR_WAIT_SECONDS - 60
    os.utime(jpg, (old, old))
    assert store().gate(raw, facts(raw)).action == "process"


def test_raw_classified_alone_still_says_it_is_half_of_a_pair(tmp_path: Path) -> None:
    """A RAW classified itself (its JPEG failed) records the pair, classified from the RAW."""
    raw, _ = touch(tmp_path, "IMG_1.ARW", "IMG_1.JPG")
    store().sink(Classified(raw, facts(raw), 4, 3, "ARW", LABELS, 5.0, source="preview"))
    record = read_sidecar(tmp_path / "IMG_1.ARW.resnet-watch.json")
    assert record is not None and record["image"]["source"] == "preview"
    assert record["pair"] == {"files": ["IMG_1.ARW", "IMG_1.JPG"], "classified": "IMG_1.ARW"}


def test_jpeg_arriving_after_its_raw_was_classified_takes_the_raw_labels(tmp_path: Path) -> None:
    """A JPEG landing after its RAW was tagged reuses the RAW's result; both say "pair"."""
    (raw,) = touch(tmp_path, "IMG_1.CR2")
    s = store()
    s.sink(Classified(raw, facts(raw), 4, 3, "CR2", LABELS, 5.0, source="preview"))
    (jpg,) = touch(tmp_path, "IMG_1.JPG")
    decision = s.gate(jpg, facts(jpg))
    assert (decision.action, decision.reason) == ("skip", "paired")
    with capture_logs() as logs:
        assert s.sink(Skipped(jpg, "paired", facts(jpg))) is None
    assert [e["event"] for e in logs] == ["image_paired"]
    record = read_sidecar(tmp_path / "IMG_1.JPG.resnet-watch.json")
    assert record is not None and record["status"] == "ok"
    assert record["labels"][0]["name"] == "tabby"
    assert record["file"]["name"] == "IMG_1.JPG" and record["file"]["size"] == 9
    assert record["image"]["source"] == "partner" and record["image"]["format"] == "JPEG"
    pair = {"files": ["IMG_1.CR2", "IMG_1.JPG"], "classified": "IMG_1.CR2"}
    assert record["pair"] == pair
    raw_record = read_sidecar(tmp_path / "IMG_1.CR2.resnet-watch.json")
    assert raw_record is not None and raw_record["pair"] == pair
    assert raw_record["image"]["source"] == "preview"
    assert s.gate(jpg, facts(jpg)).action == "skip"  # up to date from now on


def test_jpeg_that_failed_before_is_not_given_its_raw_labels(tmp_path: Path) -> None:
    """A JPEG with a failure record of its own is retried, not hidden behind the RAW's labels."""
    raw, jpg = touch(tmp_path, "IMG_1.NEF", "IMG_1.JPG")
    s = store()
    s.sink(Failed(jpg, facts(jpg), "corrupt_image", "truncated", 1.0))
    s.sink(Classified(raw, facts(raw), 4, 3, "NEF", LABELS, 5.0, source="preview"))
    os.utime(jpg, (time.time() + 5, time.time() + 5))  # a new version: retried at once
    assert s.gate(jpg, facts(jpg)).action == "process"
