"""Shared pieces of the web tests: a fake daemon, a library with sidecars, a test client."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import yaml

from resnet_watch.config import Config, load_config
from resnet_watch.models.spec import Label, ModelInfo
from resnet_watch.sidecar import (
    FileFacts,
    failure_record,
    result_record,
    sidecar_path,
    write_sidecar,
)
from resnet_watch.web.activity import Activity, StatusSnapshot
from tests.daemon_helpers import CAT, shipped_photo

MODEL = ModelInfo("efficientnet_lite0", "fp32", "onnxruntime", "none", "ab" * 32, "test")
COFFEE = shipped_photo("skimage", "data", "coffee.png")


class FakeDaemon:
    """What the web app sees of the daemon: a snapshot, a retry hook, upload notes."""

    def __init__(self, inbox: Path) -> None:
        self.inbox = inbox
        self.activity = Activity()
        self.retried: list[Path] = []
        self.uploads: list[Path] = []
        self.ready = True
        self.activity.heartbeat()

    def status_snapshot(self) -> StatusSnapshot:
        buckets, total, count = self.activity.latency()
        return StatusSnapshot(
            model=MODEL.name,
            precision=MODEL.precision,
            weights_sha256=MODEL.weights_sha256,
            version="0.1.0",
            observer="inotify",
            inbox=(self.inbox,),
            started_at=time.time() - 90,
            uptime_seconds=90.0,
            ready=self.ready,
            last_heartbeat=self.activity.last_heartbeat(),
            queue_depth=3,
            in_flight=4,
            submitted=12,
            classified=7,
            failed=1,
            skipped=2,
            rss_bytes=123_456_789,
            throughput=self.activity.throughput(),
            latency_buckets=buckets,
            latency_sum=total,
            latency_count=count,
            events=self.activity.events(),
        )

    def retry(self, image: Path) -> bool:
        self.retried.append(image)
        return True

    def note_upload(self, image: Path) -> None:
        self.uploads.append(image)


def make_config(tmp: Path, web: dict[str, Any] | None = None, **sections: Any) -> Config:
    data: dict[str, Any] = {
        "inbox": {"paths": [str(tmp / "inbox")]},
        "web": {"enabled": True, "state_dir": str(tmp / "state"), **(web or {})},
        "log": {"file": None},
        **sections,
    }
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_config(path, environ={})


def classified(
    image: Path, labels: list[tuple[str, float]], albums: list[str], tags: list[str]
) -> None:
    """Write a result sidecar for ``image`` as the daemon would."""
    st = image.stat()
    record = result_record(
        FileFacts.from_stat(image, st),
        width=451,
        height=300,
        fmt="PNG",
        labels=[
            Label(i + 1, 280 + i, f"n0{i}", name, score) for i, (name, score) in enumerate(labels)
        ],
        model=MODEL,
        elapsed_ms=42.0,
        extra={"tags": tags, "albums": albums},
    )
    write_sidecar(sidecar_path(image, ".resnet-watch.json"), record)


def failed(image: Path, message: str) -> None:
    st = image.stat()
    record = failure_record(
        FileFacts.from_stat(image, st),
        kind="corrupt_image",
        message=message,
        attempts=3,
        gave_up=True,
        next_retry_at=None,
        model=MODEL,
    )
    write_sidecar(sidecar_path(image, ".resnet-watch.json"), record)


def small_library(inbox: Path) -> dict[str, Path]:
    """A cat and a coffee with sidecars, and one broken file with a failure record."""
    (inbox / "2024").mkdir(parents=True, exist_ok=True)
    cat = inbox / "2024" / "cat.png"
    coffee = inbox / "coffee.png"
    shutil.copy(CAT, cat)
    shutil.copy(COFFEE, coffee)
    classified(
        cat,
        [("tiger cat", 0.39), ("Egyptian cat", 0.35), ("tabby", 0.17)],
        ["Cats"],
        ["Pets/Cats/tiger cat", "Pets/Cats/Egyptian cat", "Pets/Cats/tabby"],
    )
    classified(coffee, [("cup", 0.62), ("espresso", 0.2)], ["Drinks"], ["Food/Drinks/cup"])
    broken = inbox / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    failed(broken, "truncated JPEG")
    return {"cat": cat, "coffee": coffee, "broken": broken}
