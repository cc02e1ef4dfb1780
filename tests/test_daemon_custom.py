"""The daemon and custom classes: a foreign head refused, a new head taken on SIGHUP,
custom classes written as tags, albums and XMP keywords."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import numpy as np

from resnet_watch.cli import main
from resnet_watch.heads import save_head, train_head
from tests.custom_helpers import data_dir, make_examples
from tests.daemon_helpers import DaemonProcess, read_sidecar_json, wait_until


def test_foreign_head_refused_then_learned_head_loaded_on_sighup(tmp_path: Path) -> None:
    """A head for resnet18 is refused (logged, stderr); after `learn` and SIGHUP the new head
    tags a new cat photo Custom/Cats in the sidecar and its XMP."""
    head_path = tmp_path / "head.json"
    rng = np.random.default_rng(0)
    foreign, _ = train_head(
        {"Cats": rng.random((3, 512), np.float32), "Dogs": rng.random((3, 512), np.float32)},
        model="resnet18",
        weights_sha256="5" * 64,
    )
    save_head(foreign, head_path)
    daemon = DaemonProcess(tmp_path, {"custom": {"head": str(head_path)}})
    with daemon:
        refused = wait_until(lambda: daemon.events("custom_head_refused"), 30, "refusal")
        assert "learned with resnet18" in refused[0]["error"]
        assert "learned with resnet18" in daemon.stderr_path.read_text()
        examples = make_examples(tmp_path / "examples")
        config = ["--config", str(daemon.config)]
        assert main(["learn", *config, str(examples), "--out", str(head_path)]) == 0
        assert daemon.proc is not None
        daemon.proc.send_signal(signal.SIGHUP)
        loaded = wait_until(lambda: daemon.events("custom_head_loaded"), 30, "head loaded")
        assert loaded[-1]["classes"] == ["Cats", "Streets"]
        cat = daemon.inbox / "cat.jpg"
        # a cat in plain view (25.jpg, a cat small in a cluttered room, is below 0.5)
        shutil.copy(data_dir() / "segmentation" / "17.jpg", cat)
        record = wait_until(lambda: read_sidecar_json(cat), 30, "the cat's sidecar")
        assert "Custom/Cats" in record["tags"] and "Cats" in record["albums"]
        assert record["custom"]["class"] == "Cats"
        assert record["embedding"]["model"] == "efficientnet_lite0"
        xmp = cat.with_name(cat.name + ".xmp").read_text()
        assert "resnet-watch|Custom|Cats" in xmp
