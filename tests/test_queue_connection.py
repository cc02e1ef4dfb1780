"""The [queue] extra stays optional: nothing of it loads without queue.url, and a missing
extra is one clear error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from resnet_watch.queue.connection import broker_url, redact
from tests.daemon_helpers import ROOT

QUEUE_MODULES = ("celery", "kombu", "redis", "billiard", "resnet_watch.queue")


def test_without_queue_url_nothing_of_the_queue_extra_is_imported() -> None:
    """The single-machine path (cli, daemon, watcher, pipeline, doctor) imports no Celery,
    kombu, redis or resnet_watch.queue module."""
    script = f"""
import sys
import resnet_watch.cli, resnet_watch.daemon, resnet_watch.doctor, resnet_watch.watcher
import resnet_watch.pipeline, resnet_watch.store, resnet_watch.web.server
from resnet_watch.config import load_config
cfg = load_config(None, {{}}, prepare_inbox=False)
assert cfg.queue.url is None
resnet_watch.doctor.check_queue(cfg)
resnet_watch.cli.build_parser().parse_args(["run"])
loaded = sorted(m for m in sys.modules if m.startswith({QUEUE_MODULES!r}))
print(loaded)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_queue_url_without_the_extra_names_the_extra_and_exits_2(tmp_path: Path) -> None:
    """`run` and `worker` with queue.url set but celery/redis missing stop at once with the
    pip command to fix it."""
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inbox": {"paths": [str(tmp_path / "inbox")]},
                "queue": {"url": "redis://127.0.0.1:1/0"},
                "log": {"file": None},
            }
        )
    )
    for command in ("run", "worker"):
        script = (
            "import sys; sys.modules['celery'] = None; sys.modules['redis'] = None\n"
            "from resnet_watch.cli import main\n"
            f"raise SystemExit(main([{command!r}, '--config', {str(config)!r}]))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
        )
        assert out.returncode == 2, (command, out.stderr[-2000:])
        assert "resnet-watch[queue]" in out.stderr, (command, out.stderr[-2000:])


def test_urls_are_translated_for_celery_and_passwords_never_logged() -> None:
    """A unix socket becomes Celery's redis+socket://; a password is masked in logs."""
    assert broker_url("unix:///run/redis/redis.sock") == "redis+socket:///run/redis/redis.sock"
    assert broker_url("redis://nas:6379/0") == "redis://nas:6379/0"
    assert redact("redis://:s3cret@nas:6379/0") == "redis://:***@nas:6379/0"
    assert redact("redis://nas:6379/0") == "redis://nas:6379/0"
