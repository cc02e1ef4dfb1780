"""The worker pipeline with a fake classifier: batching, backpressure, outcomes, stop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from resnet_watch.imaging import ImageLimits
from resnet_watch.outcomes import Classified, Failed, Outcome, Skipped
from resnet_watch.pipeline import Pipeline, PipelineSettings
from resnet_watch.policy import Decision
from tests.fakes import FakeClassifier

LIMITS = ImageLimits(max_bytes=50_000_000, max_pixels=100_000_000)


def make(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> Path:
    Image.new("RGB", size, colour).save(path)
    return path


class Collector:
    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()

    def __call__(self, outcome: Outcome) -> float | None:
        with self.lock:
            self.outcomes.append(outcome)
        return None

    def by_path(self) -> dict[Path, Outcome]:
        return {o.path: o for o in self.outcomes}


def run(paths: list[Path], model: FakeClassifier | None = None, **kw) -> Collector:
    sink = Collector()
    settings = PipelineSettings(limits=LIMITS, **kw)
    p = Pipeline(model or FakeClassifier(), settings, sink)
    p.start()
    for path in paths:
        p.submit(path)
    assert p.wait_idle(30)
    assert p.stop(10)
    return sink


def test_each_image_gets_its_own_labels(tmp_path: Path) -> None:
    """Images go through decode and the model and come back to the right path."""
    red = make(tmp_path / "red.png", (250, 10, 10))
    blue = make(tmp_path / "blue.jpg", (10, 10, 250))
    got = run([red, blue]).by_path()
    assert isinstance(got[red], Classified) and got[red].labels[0].name == "reddish"
    assert isinstance(got[blue], Classified) and got[blue].labels[0].name == "bluish"
    assert got[blue].format == "JPEG" and (got[blue].width, got[blue].height) == (64, 48)
    assert got[red].facts.sha256 is not None and len(got[red].facts.sha256) == 64


def test_each_image_carries_its_own_feature_vector(tmp_path: Path) -> None:
    """The model's feature vector reaches the sink with the image it belongs to."""
    red = make(tmp_path / "red.png", (250, 10, 10))
    blue = make(tmp_path / "blue.png", (10, 10, 250))
    got = run([red, blue]).by_path()
    red_out, blue_out = got[red], got[blue]
    assert isinstance(red_out, Classified) and isinstance(blue_out, Classified)
    assert red_out.features is not None and blue_out.features is not None
    assert red_out.features.shape == (48,)
    assert red_out.features[:16].mean() > blue_out.features[:16].mean()  # the red channel


def test_bursts_are_batched(tmp_path: Path) -> None:
    """A burst is classified in batches up to batch_size, not one by one."""
    paths = [make(tmp_path / f"{i}.png", (i * 10, 0, 0)) for i in range(20)]
    model = FakeClassifier()
    model.gate.clear()  # hold the model so decoded images pile up
    sink = Collector()
    p = Pipeline(model, PipelineSettings(limits=LIMITS, batch_size=8, queue_size=64), sink)
    p.start()
    for path in paths:
        p.submit(path)
    time.sleep(0.3)
    model.gate.set()
    assert p.wait_idle(30)
    p.stop()
    assert sum(model.batch_sizes) == 20
    assert max(model.batch_sizes) == 8


def test_bad_file_fails_alone(tmp_path: Path) -> None:
    """A broken file becomes a Failed outcome; its neighbours are classified."""
    good = make(tmp_path / "good.png", (0, 200, 0))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image at all" * 10)
    got = run([good, bad]).by_path()
    assert isinstance(got[good], Classified)
    assert isinstance(got[bad], Failed) and got[bad].kind == "unsupported_format"


def test_vanished_file_is_skipped(tmp_path: Path) -> None:
    """A file deleted before it is read is skipped quietly, not failed."""
    got = run([tmp_path / "gone.jpg"]).by_path()
    assert isinstance(got[tmp_path / "gone.jpg"], Skipped)


def test_symlink_is_not_followed(tmp_path: Path) -> None:
    """A symlink is recorded as not followed, even when it points at a real image."""
    target = make(tmp_path / "real.png", (1, 2, 3))
    link = tmp_path / "link.png"
    link.symlink_to(target)
    got = run([link]).by_path()
    assert isinstance(got[link], Failed) and got[link].kind == "symlink_not_followed"


def test_duplicate_submissions_are_ignored(tmp_path: Path) -> None:
    """The same path submitted while queued is processed once."""
    path = make(tmp_path / "a.png", (9, 9, 9))
    model = FakeClassifier()
    model.gate.clear()
    sink = Collector()
    p = Pipeline(model, PipelineSettings(limits=LIMITS), sink)
    p.start()
    assert p.submit(path) is True
    assert p.submit(path) is False
    model.gate.set()
    p.wait_idle(10)
    p.stop()
    assert len(sink.outcomes) == 1


def test_full_queue_blocks_submit(tmp_path: Path) -> None:
    """Backpressure: with the model stalled, submit blocks once the queue is full."""
    paths = [make(tmp_path / f"{i}.png", (i, i, i)) for i in range(40)]
    model = FakeClassifier()
    model.gate.clear()
    sink = Collector()
    p = Pipeline(
        model, PipelineSettings(limits=LIMITS, queue_size=4, batch_size=2, decode_threads=1), sink
    )
    p.start()
    accepted = []

    def feed() -> None:
        for path in paths:
            p.submit(path)
            accepted.append(path)

    t = threading.Thread(target=feed)
    t.start()
    time.sleep(0.5)
    # queue (4) + ready buffer (4) + one in each decoder + one batch held by the model
    assert len(accepted) < 15
    model.gate.set()
    t.join(30)
    assert p.wait_idle(30)
    p.stop()
    assert len(sink.outcomes) == 40


def test_gate_skip_and_wait(tmp_path: Path) -> None:
    """The gate can skip a file or schedule it for later; nothing is decoded then."""
    a = make(tmp_path / "a.png", (1, 1, 1))
    b = make(tmp_path / "b.png", (1, 1, 1))
    sink = Collector()

    def gate(path: Path, facts) -> Decision:
        return Decision("skip", "up_to_date") if path == a else Decision("wait", "later", 60)

    p = Pipeline(FakeClassifier(), PipelineSettings(limits=LIMITS), sink, gate=gate)
    p.start()
    p.submit(a)
    p.submit(b)
    p.wait_idle(10)
    assert p.pending_retries() == 1
    p.stop()
    got = sink.by_path()
    assert isinstance(got[a], Skipped) and got[a].reason == "up_to_date"
    assert b not in got  # waiting is the pipeline's business, not the sink's


def test_retry_is_resubmitted_when_due(tmp_path: Path) -> None:
    """A sink that asks for a retry gets the path again after the delay."""
    path = make(tmp_path / "a.png", (5, 5, 5))
    calls: list[Outcome] = []

    def sink(outcome: Outcome) -> float | None:
        calls.append(outcome)
        return 0.05 if len(calls) == 1 else None

    p = Pipeline(FakeClassifier(), PipelineSettings(limits=LIMITS), sink)
    p.start()
    p.submit(path)
    deadline = time.monotonic() + 10
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    p.stop()
    assert len(calls) == 2


def test_stop_finishes_in_flight_work(tmp_path: Path) -> None:
    """Stopping lets images already being classified finish and reach the sink."""
    paths = [make(tmp_path / f"{i}.png", (i, 0, 0)) for i in range(6)]
    model = FakeClassifier(delay=0.2)
    sink = Collector()
    p = Pipeline(model, PipelineSettings(limits=LIMITS, batch_size=2), sink)
    p.start()
    for path in paths:
        p.submit(path)
    while not model.batch_sizes:
        time.sleep(0.01)
    assert p.stop(10)
    finished = sum(model.batch_sizes)
    assert len([o for o in sink.outcomes if isinstance(o, Classified)]) == finished
    assert p.submit(paths[0]) is False


def test_model_error_fails_the_batch_not_the_pipeline(tmp_path: Path) -> None:
    """An exception from the model fails that batch's images; later images still work."""
    first = make(tmp_path / "a.png", (1, 1, 1))
    later = make(tmp_path / "b.png", (1, 1, 1))
    model = FakeClassifier()
    original = model.classify
    calls = {"n": 0}

    def flaky(batch, top_k):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return original(batch, top_k)

    model.classify = flaky  # type: ignore[method-assign]
    sink = Collector()
    p = Pipeline(model, PipelineSettings(limits=LIMITS), sink)
    p.start()
    p.submit(first)
    p.wait_idle(10)
    p.submit(later)
    p.wait_idle(10)
    p.stop()
    got = sink.by_path()
    assert isinstance(got[first], Failed) and got[first].kind == "model_error"
    assert isinstance(got[later], Classified)


def test_a_sink_that_raises_fails_the_image_for_a_retry(tmp_path: Path) -> None:
    """A bug while recording a result becomes an internal_error failure, counted and retried."""
    path = make(tmp_path / "a.png", (200, 0, 0))
    calls: list[Outcome] = []

    def sink(outcome: Outcome) -> float | None:
        calls.append(outcome)
        if isinstance(outcome, Classified):
            raise ValueError("enrich bug")
        return 30.0

    p = Pipeline(FakeClassifier(), PipelineSettings(limits=LIMITS), sink)
    p.start()
    p.submit(path)
    assert p.wait_idle(30)
    p.stop()
    assert [type(o).__name__ for o in calls] == ["Classified", "Failed"]
    failed = calls[1]
    assert isinstance(failed, Failed) and failed.kind == "internal_error"
    assert "enrich bug" in failed.message and failed.facts is not None
    assert (p.counters.classified, p.counters.failed) == (0, 1)
    assert p.pending_retries() == 1


def test_a_bug_in_decoding_is_an_internal_error_with_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An exception from our own code after decoding is internal_error (logged with its
    traceback), not the user's corrupt_image."""
    import structlog.testing

    import resnet_watch.imaging.decode as decode

    def broken(im: Image.Image, target: int) -> Image.Image:
        raise KeyError("a bug of ours")

    monkeypatch.setattr(decode, "_to_rgb_reduced", broken)
    image = make(tmp_path / "fine.png", (10, 200, 10))
    with structlog.testing.capture_logs() as logs:
        got = run([image]).by_path()[image]
    assert isinstance(got, Failed) and got.kind == "internal_error", got
    assert "KeyError" in got.message
    event = next(e for e in logs if e["event"] == "image_internal_error")
    assert event["path"] == str(image) and event.get("exc_info") is True
