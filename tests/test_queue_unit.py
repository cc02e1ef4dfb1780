"""The worker's systemd unit: shipped, valid, sandboxed like the watcher's, Redis only."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from resnet_watch.queue.unit import (
    WORKER_UNIT_NAME,
    default_worker_unit,
    install_worker_service,
    load_worker_template,
    redis_allow_list,
    render_worker_unit,
)
from tests.systemd_helpers import MAX_EXPOSURE, assert_verifies, exposure

REPO = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)


def rendered_unit(tmp_path: Path, photos: Path) -> Path:
    config = tmp_path / "etc" / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("{}\n", encoding="utf-8")
    text = render_worker_unit(
        load_worker_template(),
        exec_python_or_cmd=PYTHON,
        config_path=config,
        photo_paths=[photos],
        redis_allow=["192.168.1.10"],
    )
    unit = tmp_path / "units" / WORKER_UNIT_NAME
    unit.parent.mkdir(parents=True)
    unit.write_text(text, encoding="utf-8")
    return unit


def test_repo_worker_unit_is_the_template_with_example_paths() -> None:
    """systemd/resnet-watch-worker.service is exactly what the packaged template renders to."""
    shipped = (REPO / "systemd" / WORKER_UNIT_NAME).read_text(encoding="utf-8")
    assert shipped == default_worker_unit()


def test_worker_unit_passes_verify_and_is_rated_ok(tmp_path: Path) -> None:
    """systemd-analyze verify is silent about the worker unit and rates it at most 2.0."""
    unit = rendered_unit(tmp_path, tmp_path / "photos")
    assert_verifies(unit)
    assert exposure(unit) <= MAX_EXPOSURE


def test_worker_unit_reads_photos_writes_nothing_and_reaches_only_redis(tmp_path: Path) -> None:
    """No writable photo path, a home share bound read-only, IP traffic to Redis alone."""
    unit = rendered_unit(tmp_path, Path("/home/alice/nas photos")).read_text()
    assert 'BindReadOnlyPaths="-/home/alice/nas photos"' in unit
    assert "ReadWritePaths" not in unit and "BindPaths=" not in unit
    assert "ProtectHome=tmpfs" in unit and "ProtectSystem=strict" in unit
    assert "IPAddressDeny=any\nIPAddressAllow=192.168.1.10\n" in unit
    assert "worker --config" in unit


def test_install_worker_dry_run_uses_path_map_targets_and_the_redis_host(tmp_path: Path) -> None:
    """`install-service --worker --dry-run` waits for the mapped share and allows Redis's IP."""
    photos = tmp_path / "mnt" / "photos"
    photos.mkdir(parents=True)
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "inbox": {"paths": ["/srv/photos/inbox"]},
                "queue": {
                    "url": "redis://:pw@10.0.0.5:6379/0",
                    "path_map": {"/srv/photos/inbox": str(photos)},
                },
            }
        )
    )
    result = install_worker_service(config, dest=tmp_path / "unit", dry_run=True)
    assert f"RequiresMountsFor={photos}" in result.unit_text
    assert "IPAddressAllow=10.0.0.5" in result.unit_text
    assert not (tmp_path / "unit").exists()


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("unix:///run/redis/redis.sock", []),
        ("redis://localhost:6379/0", ["localhost"]),
        ("redis://[fd00::5]:6379/0", ["fd00::5"]),
        ("rediss://user:pw@10.1.2.3/1", ["10.1.2.3"]),
    ],
)
def test_redis_allow_list_names_only_the_redis_host(url: str, allow: list[str]) -> None:
    """A socket needs no IP at all; a literal address or localhost is allowed as it is."""
    assert redis_allow_list(url)[0] == allow


def test_watcher_unit_with_queue_url_reaches_the_redis_host_only(tmp_path: Path) -> None:
    """`install-service` for a watcher with queue.url opens IP traffic to Redis alone, and
    the unit still verifies."""
    from resnet_watch.service import install_service

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"inbox": {"paths": [str(inbox)]}, "queue": {"url": "redis://10.0.0.5/0"}})
    )
    result = install_service(
        False, config, dest=tmp_path / "units" / "resnet-watch.service", executable=PYTHON
    )
    text = result.unit_text
    assert "\nPrivateNetwork=yes" not in text
    assert "IPAddressDeny=any\nIPAddressAllow=10.0.0.5\n" in text
    assert "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" in text
    assert_verifies(tmp_path / "units" / "resnet-watch.service")
