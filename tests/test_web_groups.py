"""The web UI's Similar page: exact and near-duplicate groups, browsable, read-only."""

from __future__ import annotations

from pathlib import Path

import structlog
from starlette.testclient import TestClient

from resnet_watch.web.app import build_app
from tests.custom_helpers import classified_image, pattern
from tests.web_helpers import FakeDaemon, make_config


def test_similar_page_shows_exact_and_near_groups_and_deletes_nothing(tmp_path: Path) -> None:
    """Two byte copies show as exact, a near copy as near-duplicate; an unrelated photo
    is in no group; every file is still there afterwards."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    classified_image(inbox, "a.jpg", pattern(0, seed=1), sha256="1" * 64)
    classified_image(inbox, "a copy.jpg", pattern(0, seed=1), sha256="1" * 64)
    classified_image(inbox, "a small.jpg", pattern(0, seed=1) * 0.9 + 0.01, sha256="2" * 64)
    classified_image(inbox, "other.jpg", pattern(3, seed=2), sha256="3" * 64)
    before = sorted(p.name for p in inbox.iterdir())
    cfg = make_config(tmp_path)
    app = build_app(cfg, FakeDaemon(inbox), structlog.get_logger("t"))
    with TestClient(app, base_url="http://127.0.0.1:8642") as client:
        page = client.get("/similar")
    assert page.status_code == 200
    html = page.text
    exact = html.split("Exact duplicates")[1].split("Near-duplicates")[0]
    near = html.split("Near-duplicates")[1].split("Bursts")[0]
    assert "a copy.jpg" in exact and "a small.jpg" not in exact
    assert "a small.jpg" in near
    assert "other.jpg" not in html
    assert 'href="/similar"' in html  # in the navigation
    assert sorted(p.name for p in inbox.iterdir()) == before
