"""Skip/retry decisions from an image's existing sidecar."""

from __future__ import annotations

import datetime as dt

from resnet_watch.policy import decide, plan_retry
from resnet_watch.sidecar import FileFacts, failure_record, result_record
from tests.fakes import FAKE_INFO

FACTS = FileFacts("a.jpg", 100, 5, "ab" * 32)


def ok_record(facts: FileFacts = FACTS) -> dict:
    return result_record(
        facts, width=1, height=1, fmt="JPEG", labels=[], model=FAKE_INFO, elapsed_ms=1.0
    )


def test_no_sidecar_means_process() -> None:
    """An image without a sidecar is classified."""
    assert decide(None, FACTS, FAKE_INFO, retries=3, reclassify_on_model_change=True).action == (
        "process"
    )


def test_same_file_same_model_is_skipped() -> None:
    """A restart skips images whose sidecar matches their size, mtime and model."""
    d = decide(
        ok_record(),
        FileFacts("a.jpg", 100, 5),
        FAKE_INFO,
        retries=3,
        reclassify_on_model_change=True,
    )
    assert (d.action, d.reason) == ("skip", "up_to_date")


def test_touched_file_is_hashed_then_skipped_if_same_content() -> None:
    """A new mtime asks for the hash; the same hash means skip, another means process."""
    touched = FileFacts("a.jpg", 100, 6)
    assert (
        decide(ok_record(), touched, FAKE_INFO, retries=3, reclassify_on_model_change=True).action
        == "check_hash"
    )
    same = FileFacts("a.jpg", 100, 6, FACTS.sha256)
    assert (
        decide(ok_record(), same, FAKE_INFO, retries=3, reclassify_on_model_change=True).action
        == "skip"
    )
    other = FileFacts("a.jpg", 100, 6, "cd" * 32)
    assert (
        decide(ok_record(), other, FAKE_INFO, retries=3, reclassify_on_model_change=True).action
        == "process"
    )


def test_model_change_reclassifies_unless_disabled() -> None:
    """Another model's sidecar is redone only when reclassify_on_change is on."""
    import dataclasses

    other = dataclasses.replace(FAKE_INFO, weights_sha256="f" * 64)
    facts = FileFacts("a.jpg", 100, 5)
    assert (
        decide(ok_record(), facts, other, retries=3, reclassify_on_model_change=True).reason
        == "model_changed"
    )
    assert (
        decide(ok_record(), facts, other, retries=3, reclassify_on_model_change=False).action
        == "skip"
    )


def failed(attempts: int, gave_up: bool, next_retry_at: str | None) -> dict:
    return failure_record(
        FileFacts("a.jpg", 100, 5),
        kind="corrupt_image",
        message="x",
        attempts=attempts,
        gave_up=gave_up,
        next_retry_at=next_retry_at,
        model=FAKE_INFO,
    )


def test_poison_file_is_left_alone_after_retries() -> None:
    """A file that failed `retries` times is skipped until it changes."""
    facts = FileFacts("a.jpg", 100, 5)
    d = decide(failed(3, True, None), facts, FAKE_INFO, retries=3, reclassify_on_model_change=True)
    assert (d.action, d.reason) == ("skip", "failed_before")
    changed = FileFacts("a.jpg", 101, 9)
    assert (
        decide(
            failed(3, True, None), changed, FAKE_INFO, retries=3, reclassify_on_model_change=True
        ).action
        == "process"
    )


def test_retry_waits_for_its_time() -> None:
    """A failure with a future next_retry_at waits; a past one is retried."""
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    facts = FileFacts("a.jpg", 100, 5)
    d = decide(
        failed(1, False, "2026-01-01T00:00:30Z"),
        facts,
        FAKE_INFO,
        retries=3,
        reclassify_on_model_change=True,
        now=now,
    )
    assert d.action == "wait" and 29 <= d.wait_seconds <= 30
    d = decide(
        failed(1, False, "2025-12-31T23:59:00Z"),
        facts,
        FAKE_INFO,
        retries=3,
        reclassify_on_model_change=True,
        now=now,
    )
    assert d.action == "process"


def test_backoff_doubles_and_gives_up() -> None:
    """Attempts count up for the same file version with doubling back-off, then give up."""
    facts = FileFacts("a.jpg", 100, 5)
    p1 = plan_retry(None, facts, "corrupt_image", retries=3, backoff_seconds=10)
    assert (p1.attempts, p1.gave_up, p1.retry_in) == (1, False, 10)
    p2 = plan_retry(failed(1, False, None), facts, "corrupt_image", retries=3, backoff_seconds=10)
    assert (p2.attempts, p2.retry_in) == (2, 20)
    p3 = plan_retry(failed(2, False, None), facts, "corrupt_image", retries=3, backoff_seconds=10)
    assert p3.gave_up and p3.retry_in is None


def test_permanent_failures_are_not_retried() -> None:
    """Unsupported formats and oversize files give up at once."""
    p = plan_retry(None, FACTS, "unsupported_format", retries=3, backoff_seconds=10)
    assert p.gave_up and p.attempts == 1


def test_result_without_the_configured_extras_is_redone() -> None:
    """A result lacking tags/albums (an old classify --write-sidecars) is not up to date."""
    bare = ok_record()
    d = decide(
        bare,
        FACTS,
        FAKE_INFO,
        retries=3,
        reclassify_on_model_change=True,
        required_fields=("tags", "albums"),
    )
    assert (d.action, d.reason) == ("process", "extras_missing")
    enriched = {**bare, "tags": [], "albums": []}
    d = decide(
        enriched,
        FACTS,
        FAKE_INFO,
        retries=3,
        reclassify_on_model_change=True,
        required_fields=("tags", "albums"),
    )
    assert (d.action, d.reason) == ("skip", "up_to_date")
