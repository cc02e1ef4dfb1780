"""The web UI end to end: the real daemon, its watcher and model, driven by headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon_helpers import DaemonProcess, wait_until
from tests.web_helpers import CAT, COFFEE

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
)


def _need_chromium() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = (
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    _need_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _web_url(daemon: DaemonProcess) -> str:
    started = wait_until(lambda: daemon.events("web_started"), 30, "web_started")
    return str(started[-1]["url"]).rstrip("/")


def _screenshot(driver: object, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))  # type: ignore[attr-defined]
    keep = os.environ.get("WEB_UI_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def test_browser_status_upload_results_album_and_image(tmp_path: Path, browser: object) -> None:
    """Status page; upload two photos via the file input; see labels; open an album and an image."""
    from selenium.webdriver.common.by import By

    driver: object = browser
    shots = tmp_path / "screenshots"
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(CAT, photos / "chelsea.png")
    shutil.copy(COFFEE, photos / "coffee.png")
    web = {"enabled": True, "port": 0, "state_dir": str(tmp_path / "state")}
    with DaemonProcess(tmp_path, {"web": web}) as daemon:
        base = _web_url(daemon)
        d = driver  # selenium's WebDriver, untyped here to keep selenium out of mypy's way
        d.get(base + "/")  # type: ignore[attr-defined]
        body = d.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
        assert "ready" in body and ("efficientnet_lite0" in body or "resnet18" in body)
        assert "Failed files" in body and "Recent events" in body

        d.get(base + "/upload")  # type: ignore[attr-defined]
        picker = d.find_element(By.ID, "files")  # type: ignore[attr-defined]
        picker.send_keys(f"{photos / 'chelsea.png'}\n{photos / 'coffee.png'}")
        d.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()  # type: ignore[attr-defined]

        def results_shown() -> list[str] | None:
            if "/uploaded" not in d.current_url:  # type: ignore[attr-defined]
                return None
            labels = [
                e.get_attribute("data-label")
                for e in d.find_elements(By.CSS_SELECTOR, ".result.ok .top1")  # type: ignore[attr-defined]
            ]
            return labels if len(labels) == 2 and all(labels) else None

        labels = wait_until(results_shown, 120, "both upload results with a label")
        assert any("cat" in str(x).lower() or "tabby" in str(x).lower() for x in labels), labels
        assert (daemon.inbox / "chelsea.png").is_file() and (daemon.inbox / "coffee.png").is_file()
        assert not list(daemon.inbox.glob(".resnet-watch-tmp-*"))
        _screenshot(d, shots, "uploaded")

        d.find_element(By.LINK_TEXT, "Albums").click()  # type: ignore[attr-defined]
        cats = d.find_element(By.PARTIAL_LINK_TEXT, "Cats")  # type: ignore[attr-defined]
        cats.click()
        wait_until(lambda: "Album: Cats" in d.find_element(By.TAG_NAME, "h1").text, 20, "album")  # type: ignore[attr-defined]
        thumbs = d.find_elements(By.CSS_SELECTOR, ".grid img")  # type: ignore[attr-defined]
        assert thumbs and wait_until(
            lambda: all(d.execute_script("return arguments[0].naturalWidth", t) for t in thumbs),  # type: ignore[attr-defined]
            30,
            "thumbnails loaded",
        )
        _screenshot(d, shots, "album")

        d.find_element(By.CSS_SELECTOR, ".grid .card a").click()  # type: ignore[attr-defined]
        wait_until(
            lambda: "chelsea.png" in d.find_element(By.TAG_NAME, "h1").text, 20, "image page"
        )  # type: ignore[attr-defined]
        page = d.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
        assert "Labels" in page and "Albums" in page and "schema_version" in page
        assert "Pets/Cats/" in page
        assert len(d.find_elements(By.CSS_SELECTOR, ".bars li")) >= 1  # type: ignore[attr-defined]
        _screenshot(d, shots, "image")

        d.get(base + "/")  # type: ignore[attr-defined]
        body = d.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
        assert "uploaded" in body and "classified" in body
        _screenshot(d, shots, "status")

        # the ops endpoints of the same server, scraped like Prometheus would
        metrics = httpx2.get(base + "/metrics", timeout=10).text
        families = {f.name: f for f in text_string_to_metric_families(metrics)}
        assert families["resnet_watch_images_classified"].samples[0].value >= 2
        assert families["resnet_watch_image_latency_seconds"].samples
        assert families["resnet_watch_resident_memory_bytes"].samples[0].value > 10_000_000
        health = httpx2.get(base + "/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["ready"] is True
        assert daemon.stop() == 0
    assert not list((tmp_path / "inbox").rglob("*.jpg.jpg"))
    assert len(list((tmp_path / "state").rglob("*.jpg"))) >= 2  # thumbnails cached there


def test_port_in_use_stops_start_up(tmp_path: Path) -> None:
    """web.port already taken: web_bind_failed and exit code 2, never a half-started daemon."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        daemon = DaemonProcess(tmp_path, {"web": {"enabled": True, "port": port}})
        daemon.start(wait_ready=False)
        assert daemon.proc is not None
        assert daemon.proc.wait(120) == 2
    failed = daemon.events("web_bind_failed")
    assert failed and failed[0]["port"] == port and "in use" in failed[0]["error"]
    assert not daemon.events("daemon_started")


def test_web_module_is_not_imported_when_disabled() -> None:
    """With web off the daemon never imports Starlette or uvicorn."""
    code = (
        "import sys, resnet_watch.daemon;"
        "print(any(m in sys.modules for m in ('starlette', 'uvicorn', 'prometheus_client')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
