"""The web app in-process: pages, uploads and their limits, file access, auth, ops endpoints."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from resnet_watch.config import Config
from resnet_watch.errors import ConfigError
from resnet_watch.sidecar import TEMP_PREFIX
from resnet_watch.web.app import build_app
from resnet_watch.web.uploads import safe_name
from tests.web_helpers import CAT, COFFEE, FakeDaemon, make_config, small_library

HTML = {"accept": "text/html"}
Setup = tuple[TestClient, FakeDaemon, dict[str, Path]]


class Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, object]]] = []

    def info(self, event: str, **kw: object) -> None:
        self.events.append((event, kw))

    warning = error = debug = info


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    return tmp_path / "inbox"


def client_for(cfg: Config, daemon: FakeDaemon, **kw: object) -> TestClient:
    return TestClient(build_app(cfg, daemon, Log()), base_url="http://127.0.0.1:8642", **kw)


@pytest.fixture
def setup(tmp_path: Path, inbox: Path) -> Iterator[Setup]:
    cfg = make_config(tmp_path)
    daemon = FakeDaemon(inbox)
    files = small_library(inbox)
    with client_for(cfg, daemon) as client:
        yield client, daemon, files


def csrf_of(client: TestClient) -> str:
    page = client.get("/upload", headers=HTML).text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found
    return found.group(1)


def inbox_files(inbox: Path) -> set[str]:
    return {p.relative_to(inbox).as_posix() for p in inbox.rglob("*") if p.is_file()}


# --- pages -------------------------------------------------------------------------------


def test_status_page_shows_model_counts_events_and_failures(setup: Setup) -> None:
    """The status page names the model and weights hash, counts, events and failed files."""
    client, daemon, _ = setup
    daemon.activity.record("classified", "/x/cat.png", "tiger cat 39%", 55.0)
    daemon.activity.record("failed", "/x/broken.jpg", "corrupt_image: truncated")
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert "efficientnet_lite0" in text and "abababababababab" in text
    assert ">7</span> classified" in text and "1 failed" in text and "2 skipped" in text
    assert "1m 30s" in text  # uptime
    assert "tiger cat 39%" in text and "corrupt_image: truncated" in text
    assert "broken.jpg" in text and "truncated JPEG" in text and ">Retry</button>" in text


def test_every_answer_has_the_security_headers(setup: Setup) -> None:
    """Pages, images and errors all carry no-store, CSP, nosniff, no-referrer, DENY."""
    client, _, _ = setup
    for url in ("/", "/albums", "/thumb?p=0/coffee.png", "/original?p=0/../x", "/static/app.js"):
        h = client.get(url).headers
        assert h["cache-control"] == "no-store", url
        assert "default-src 'self'" in h["content-security-policy"]
        assert "script-src 'self'" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        assert h["x-frame-options"] == "DENY"


def test_pages_have_no_inline_script_or_style(setup: Setup) -> None:
    """Every page works under the CSP: scripts and styles come from /static only."""
    client, _, _ = setup
    for url in (
        "/",
        "/upload",
        "/albums",
        "/album?name=Cats",
        "/image?p=0/2024/cat.png",
        "/search?q=cat",
    ):
        text = client.get(url, headers=HTML).text
        assert "<script>" not in text and "style=" not in text and "onclick" not in text, url


def test_albums_album_and_image_pages(setup: Setup) -> None:
    """Albums show counts and covers; album pages link photos; image pages show it all."""
    client, _, _ = setup
    albums = client.get("/albums", headers=HTML).text
    assert "Cats" in albums and "Drinks" in albums and "1 photo<" in albums
    assert "/thumb?p=0/2024/cat.png" in albums
    album = client.get("/album?name=Cats", headers=HTML).text
    assert "cat.png" in album and "coffee.png" not in album
    image = client.get("/image?p=0/2024/cat.png", headers=HTML).text
    assert "tiger cat" in image and "39.0%" in image and "fill w39" in image
    assert "Pets/Cats/tabby" in image and "/album?name=Cats" in image
    assert "&#34;schema_version&#34;: 1" in image  # the sidecar JSON, escaped
    assert client.get("/album?name=Nope", headers=HTML).status_code == 404


def test_search_over_labels_tags_and_albums(setup: Setup) -> None:
    """The search box finds photos by label, tag path or album, case-insensitively."""
    client, _, _ = setup
    assert "cat.png" in client.get("/search?q=TABBY").text
    assert "coffee.png" in client.get("/search?q=drinks").text
    hits = client.get("/search?q=cat").text
    assert "cat.png" in hits and "coffee.png" not in hits
    assert "0 photo(s)" in client.get("/search?q=zebra").text


def test_pages_answer_from_the_daemons_index(tmp_path: Path, inbox: Path) -> None:
    """With the daemon's index, albums, album pages and search come from it: a deleted photo
    the daemon dropped from the index no longer counts, even with its sidecar still there."""
    from resnet_watch.index import open_index

    cfg = make_config(tmp_path)
    files = small_library(inbox)
    index, _ = open_index(cfg.library.index, cfg.inbox.paths, cfg.sidecar.suffix)
    with index:
        index.forget(files["coffee"])
    with client_for(cfg, FakeDaemon(inbox)) as client:
        albums = client.get("/albums", headers=HTML).text
        assert "Cats" in albums and "Drinks" not in albums
        assert client.get("/album?name=Drinks", headers=HTML).status_code == 404
        assert "coffee.png" not in client.get("/search?q=cup").text
        assert "cat.png" in client.get("/search?q=tabby").text


def test_thumbnails_are_cached_in_the_state_dir_and_bounded(tmp_path: Path, inbox: Path) -> None:
    """Thumbnails are JPEGs made once, kept in web.state_dir (not the inbox), pruned to the cap."""
    cfg = make_config(tmp_path, {"thumbnail_cache_mb": 1})
    small_library(inbox)
    with client_for(cfg, FakeDaemon(inbox)) as client:
        before = inbox_files(inbox)
        first = client.get("/thumb?p=0/2024/cat.png&s=s")
        assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
        assert first.content[:3] == b"\xff\xd8\xff"
        cached = list((tmp_path / "state").rglob("*.jpg"))
        assert len(cached) == 1 and inbox_files(inbox) == before
        mtime = cached[0].stat().st_mtime_ns
        os.utime(cached[0], ns=(mtime - 10**9, mtime - 10**9))
        client.get("/thumb?p=0/2024/cat.png&s=s")
        assert list((tmp_path / "state").rglob("*.jpg")) == cached  # reused, touched
        assert cached[0].stat().st_mtime_ns > mtime - 10**9
        # 1 MiB cap: many distinct large thumbnails push the oldest out
        from PIL import Image

        for i in range(12):
            noisy = inbox / f"noise{i}.png"
            Image.effect_noise((1400, 1400), 80 + i).convert("RGB").save(noisy)
            assert client.get(f"/thumb?p=0/noise{i}.png&s=l").status_code == 200
        total = sum(p.stat().st_size for p in (tmp_path / "state").rglob("*.jpg"))
        assert total <= 1024 * 1024


def test_a_crafted_sidecar_does_not_break_the_pages(setup: Setup, inbox: Path) -> None:
    """A planted sidecar naming ../../../etc/passwd is ignored; every page still renders."""
    import json

    client, _, _ = setup
    record = json.loads((inbox / "coffee.png.resnet-watch.json").read_text())
    record["file"]["name"] = "../../../etc/passwd"
    record["albums"] = ["Drinks", "Planted"]
    (inbox / "2024" / "evil.png.resnet-watch.json").write_text(json.dumps(record))
    for page in ("/", "/albums", "/album?name=Drinks", "/search?q=cup"):
        res = client.get(page, headers=HTML)
        assert res.status_code == 200, (page, res.status_code)
        assert "passwd" not in res.text and "Planted" not in res.text
    assert "Drinks" in client.get("/albums", headers=HTML).text


# --- uploads -----------------------------------------------------------------------------


def test_upload_lands_in_the_inbox_atomically(setup: Setup, inbox: Path) -> None:
    """An upload becomes <inbox>/<name> by rename; no temp file is left; the result page follows."""
    client, daemon, _ = setup
    before = inbox_files(inbox)
    token = csrf_of(client)
    with CAT.open("rb") as fh:
        res = client.post(
            f"/upload?csrf={token}",  # as the page's form posts it
            files=[("files", ("kitty.png", fh, "image/png"))],
            headers=HTML,
            follow_redirects=False,
        )
    assert res.status_code == 303 and res.headers["location"] == "/uploaded?f=0%2Fkitty.png"
    assert inbox_files(inbox) - before == {"kitty.png"}
    assert (inbox / "kitty.png").read_bytes() == CAT.read_bytes()
    assert daemon.uploads == [inbox / "kitty.png"]
    assert not [p for p in inbox.rglob(TEMP_PREFIX + "*")]
    page = client.get(res.headers["location"], headers=HTML).text
    assert "classifying" in page and 'http-equiv="refresh"' in page


def test_upload_names_never_collide_and_follow_the_content(setup: Setup, inbox: Path) -> None:
    """A repeated name gets ' (1)'; a PNG named .jpg or with no extension gets .png."""
    client, _, _ = setup
    token = csrf_of(client)
    names = []
    for name in ("coffee.png", "photo.jpg", "noext"):
        res = client.post(
            "/upload",
            files=[("files", (name, COFFEE.read_bytes(), "image/png"))],
            headers={"accept": "application/json", "x-csrf-token": token},
        )
        assert res.status_code == 200, res.text
        names.append(res.json()["files"][0]["name"])
    assert names == ["coffee (1).png", "photo.jpg.png", "noext.png"]


def test_oversize_upload_is_refused_early_with_413(tmp_path: Path, inbox: Path) -> None:
    """Over web.max_upload_bytes: 413 by Content-Length or mid-stream; nothing is left behind."""
    cfg = make_config(tmp_path, {"max_upload_bytes": 50_000})
    daemon = FakeDaemon(inbox)
    with client_for(cfg, daemon) as client:
        token = csrf_of(client)
        big = CAT.read_bytes() * 2  # ~ 2 x 470 KB
        res = client.post(
            "/upload",
            files=[("files", ("big.png", big, "image/png"))],
            headers={"x-csrf-token": token, "accept": "application/json"},
        )
        assert res.status_code == 413 and "too large" in res.json()["error"]

        # no Content-Length (chunked): refused as the stream crosses the limit
        boundary = "XyZ"

        def chunks() -> Iterator[bytes]:
            yield (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
                f'filename="stream.png"\r\nContent-Type: image/png\r\n\r\n'
            ).encode()
            for _ in range(100):
                yield big[:10_000]
            yield f"\r\n--{boundary}--\r\n".encode()

        res = client.post(
            "/upload",
            content=chunks(),
            headers={
                "content-type": f"multipart/form-data; boundary={boundary}",
                "x-csrf-token": token,
            },
        )
        assert res.status_code == 413
    assert inbox_files(inbox) == set()
    assert daemon.uploads == []


def test_non_image_is_refused_with_a_clear_message(setup: Setup, inbox: Path) -> None:
    """A text file named .jpg is refused (415) by its content, with a message saying why."""
    client, _, _ = setup
    before = inbox_files(inbox)
    res = client.post(
        f"/upload?csrf={csrf_of(client)}",
        files=[("files", ("notes.jpg", b"#!/bin/sh\necho hello\n" * 10, "image/jpeg"))],
        headers=HTML,
    )
    assert res.status_code == 415
    assert "is not a photo resnet-watch can read" in res.text and "notes" in res.text
    assert inbox_files(inbox) == before


def test_traversal_names_are_stored_safely_inside_the_inbox(
    setup, inbox: Path, tmp_path: Path
) -> None:
    """../../ and absolute names land as a plain file directly in the inbox."""
    client, _, _ = setup
    token = csrf_of(client)
    for name in ("../../evil.png", "/etc/cron.d/evil.png", "..\\..\\win.png", ".hidden.png"):
        res = client.post(
            "/upload",
            files=[("files", (name, COFFEE.read_bytes(), "image/png"))],
            headers={"accept": "application/json", "x-csrf-token": token},
        )
        assert res.status_code == 200, res.text
    landed = sorted(p.name for p in inbox.iterdir() if p.name.endswith(".png") and p.is_file())
    assert {"evil.png", "evil (1).png", "win.png", "hidden.png"} <= set(landed)
    assert not (tmp_path / "evil.png").exists() and not Path("/etc/cron.d/evil.png").exists()


def test_upload_without_csrf_token_is_refused(setup: Setup, inbox: Path) -> None:
    """A cross-site form cannot drop files in: no CSRF token, or a foreign Origin, is 403."""
    client, _, _ = setup
    before = inbox_files(inbox)
    files = [("files", ("x.png", COFFEE.read_bytes(), "image/png"))]
    assert client.post("/upload", files=files).status_code == 403
    assert client.post("/upload", files=files, data={"csrf": "0" * 64}).status_code == 403
    # a valid token only in the body is not enough: it would be read after the files
    assert client.post("/upload", files=files, data={"csrf": csrf_of(client)}).status_code == 403
    evil = {"origin": "http://evil.example", "x-csrf-token": csrf_of(client)}
    assert client.post("/upload", files=files, headers=evil).status_code == 403
    assert inbox_files(inbox) == before


def test_cross_site_upload_is_refused_before_its_body_is_written(
    tmp_path: Path, inbox: Path
) -> None:
    """Origin: null, no token, a 150 MB body: 403 at once, nothing written to the inbox."""
    import socket

    import structlog

    from resnet_watch.web.server import WebServer
    from tests.daemon_helpers import wait_until

    cfg = make_config(tmp_path, {"port": 0})
    server = WebServer(cfg, FakeDaemon(inbox), structlog.get_logger("test"))
    server.start()
    boundary = "XyZ"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="big.png"\r\nContent-Type: image/png\r\n\r\n'
    ).encode()
    request = (
        f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nOrigin: null\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {150 * 1024 * 1024}\r\n\r\n"
    ).encode()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
            conn.sendall(request + head + b"\0" * (1024 * 1024))  # the rest never comes
            conn.setblocking(False)
            answer = bytearray()

            def answered_or_written() -> bool:
                with contextlib.suppress(BlockingIOError):
                    answer.extend(conn.recv(65536))
                return b"\r\n\r\n" in answer or bool(list(inbox.rglob(TEMP_PREFIX + "*")))

            wait_until(answered_or_written, 30, "an answer, or the body landing in the inbox")
            assert not list(inbox.rglob(TEMP_PREFIX + "*"))
            assert answer.startswith(b"HTTP/1.1 403")
    finally:
        server.stop()


def test_safe_name() -> None:
    """Names lose folders, control/shell characters, leading dots; the extension fits the bytes."""
    assert safe_name("../../a b.JPG", "JPEG") == "a b.JPG"
    assert safe_name("C:\\Users\\x\\IMG_1.heic", "HEIF") == "IMG_1.heic"
    assert safe_name("IMG_2.NEF", "TIFF") == "IMG_2.NEF"  # a RAW upload keeps its name
    assert safe_name("IMG_3.CR3", "RAW") == "IMG_3.CR3"
    assert safe_name("x\x00y\n.png", "PNG") == "x_y_.png"
    assert safe_name("$(rm -rf).png", "PNG") == "_(rm -rf).png"
    assert safe_name("...", "PNG") == "upload.png"
    assert safe_name("~lock.gif", "GIF") == "_lock.gif"
    assert safe_name("a.resnet-watch.json", "PNG") == "a.resnet-watch.json.png"
    assert len(safe_name("é" * 400 + ".jpg", "JPEG").encode()) <= 200
    assert safe_name("x.png", "PNG", accept=lambda n: False) == "upload.png"


# --- files -------------------------------------------------------------------------------


def test_files_outside_the_inbox_are_never_served(
    setup: Setup, inbox: Path, tmp_path: Path
) -> None:
    """Traversal, absolute paths, symlinks out of the inbox and non-images are refused."""
    client, _, _ = setup
    outside = tmp_path / "secret.png"
    outside.write_bytes(COFFEE.read_bytes())
    (inbox / "link.png").symlink_to(outside)
    (inbox / "dirlink").symlink_to(tmp_path)
    assert client.get("/original?p=0/coffee.png").status_code == 200
    for ref in (
        "0/../secret.png",
        "0/2024/../../secret.png",
        f"0/{outside}",
        f"0//{outside}",
        "0/link.png",
        "0/dirlink/secret.png",
        "1/coffee.png",
        "x/coffee.png",
        f"{outside}",
    ):
        for url in ("/original", "/thumb", "/image"):
            res = client.get(url, params={"p": ref})
            assert res.status_code in (403, 404), (url, ref)
            assert COFFEE.read_bytes()[:8] not in res.content
    # inside the inbox but not an image: a sidecar, a text file named .png
    (inbox / "fake.png").write_text("hello")
    for ref in ("0/coffee.png.resnet-watch.json", "0/fake.png", "0/2024"):
        assert client.get("/original", params={"p": ref}).status_code == 404


def test_original_is_served_with_its_sniffed_type(setup: Setup) -> None:
    """The original's Content-Type comes from its bytes, and it is never cached."""
    client, _, _ = setup
    res = client.get("/original?p=0/coffee.png")
    assert res.headers["content-type"] == "image/png" and res.content == COFFEE.read_bytes()


# --- retry -------------------------------------------------------------------------------


def test_retry_button_calls_the_daemon(setup: Setup, inbox: Path) -> None:
    """POST /retry with the page's token asks the daemon to retry that one file."""
    client, daemon, files = setup
    page = client.get("/", headers=HTML).text
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert token
    assert client.post("/retry", data={"p": "0/broken.jpg"}).status_code == 403
    res = client.post(
        "/retry", data={"p": "0/broken.jpg", "csrf": token.group(1)}, follow_redirects=False
    )
    assert res.status_code == 303 and daemon.retried == [files["broken"]]


# --- auth --------------------------------------------------------------------------------


def test_non_loopback_bind_requires_a_token(tmp_path: Path) -> None:
    """web.bind 0.0.0.0 without web.token is a config error naming web.token."""
    with pytest.raises(ConfigError, match=r"web\.token.*required"):
        make_config(tmp_path, {"bind": "0.0.0.0"})
    with pytest.raises(ConfigError, match=r"web\.token.*16"):
        make_config(tmp_path, {"bind": "0.0.0.0", "token": "short"})
    with pytest.raises(ConfigError, match=r"web\.state_dir"):
        make_config(tmp_path, {"state_dir": str(tmp_path / "inbox" / "thumbs")})
    with pytest.raises(ConfigError, match=r"web\.port"):
        make_config(tmp_path, {"port": 70000})


def test_token_login_cookie_and_bearer(tmp_path: Path, inbox: Path) -> None:
    """With a token: pages redirect to the login form; the right token sets a strict cookie."""
    token = "correct-horse-battery-staple"
    cfg = make_config(tmp_path, {"bind": "0.0.0.0", "token": token})
    small_library(inbox)
    with client_for(cfg, FakeDaemon(inbox)) as client:
        res = client.get("/albums", headers=HTML, follow_redirects=False)
        assert res.status_code == 303 and res.headers["location"] == "/login?next=%2Falbums"
        assert client.get("/metrics").status_code == 401
        assert client.get("/original?p=0/coffee.png").status_code == 401
        assert client.get("/healthz").status_code == 200  # liveness stays public
        bad = client.post("/login?next=/albums", data={"token": "wrong" * 4})
        assert bad.status_code == 401
        ok = client.post("/login?next=/albums", data={"token": token}, follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == "/albums"
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and token not in cookie
        assert client.get("/albums", headers=HTML).status_code == 200
        offsite = client.post(
            "/login?next=//evil.example", data={"token": token}, follow_redirects=False
        )
        assert offsite.headers["location"] == "/"
    with client_for(cfg, FakeDaemon(inbox)) as fresh:
        bearer = {"authorization": f"Bearer {token}"}
        assert fresh.get("/metrics", headers=bearer).status_code == 200
        res = fresh.post(
            "/upload",
            files=[("files", ("b.png", COFFEE.read_bytes(), "image/png"))],
            headers={**bearer, "accept": "application/json"},
        )
        assert res.status_code == 200  # a script with the token needs no CSRF token


def test_loopback_server_checks_the_host_header(setup: Setup) -> None:
    """Bound to loopback, a request for another Host name is refused (DNS rebinding)."""
    client, _, _ = setup
    assert client.get("/", headers={"host": "evil.example:8642"}).status_code == 421
    assert client.get("/", headers={"host": "localhost:8642"}).status_code == 200


# --- ops ---------------------------------------------------------------------------------


def test_metrics_parse_with_prometheus_client(setup: Setup) -> None:
    """/metrics is Prometheus text: counters, queue depth, RSS and a latency histogram."""
    client, daemon, _ = setup
    daemon.activity.record("classified", "/a.jpg", "x", 40.0)
    daemon.activity.record("classified", "/b.jpg", "x", 700.0)
    res = client.get("/metrics")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(res.text)}
    value = {f: families[f].samples[0].value for f in families}
    assert value["resnet_watch_images_classified"] == 7
    assert value["resnet_watch_images_failed"] == 1
    assert value["resnet_watch_queue_depth"] == 3
    assert value["resnet_watch_resident_memory_bytes"] == 123_456_789
    hist = {
        (s.name, s.labels.get("le")): s.value
        for s in families["resnet_watch_image_latency_seconds"].samples
    }
    assert hist[("resnet_watch_image_latency_seconds_bucket", "0.05")] == 1
    assert hist[("resnet_watch_image_latency_seconds_bucket", "1.0")] == 2
    assert hist[("resnet_watch_image_latency_seconds_count", None)] == 2
    assert "process_resident_memory_bytes" in families


def test_healthz_reports_ready_heartbeat_and_queue(setup: Setup) -> None:
    """/healthz is 200 with ready, heartbeat age and queue depth; 503 when not ready or stale."""
    client, daemon, _ = setup
    body = client.get("/healthz").json()
    assert body["ready"] and body["healthy"] and body["queue_depth"] == 3
    assert 0 <= body["heartbeat_age_seconds"] < 5
    daemon.ready = False
    assert client.get("/healthz").status_code == 503
    daemon.ready = True
    daemon.activity._heartbeat = time.time() - 3600  # a hung worker
    assert client.get("/healthz").status_code == 503


def test_ops_only_serves_just_healthz_and_metrics(tmp_path: Path, inbox: Path) -> None:
    """web.ops_only: /healthz and /metrics, and no pages or uploads at all."""
    cfg = make_config(tmp_path, {"ops_only": True})
    with client_for(cfg, FakeDaemon(inbox)) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/").status_code == 404
        assert client.post("/upload").status_code == 404


def test_ops_only_alone_starts_the_server_in_the_daemon(tmp_path: Path) -> None:
    """web.ops_only: true without web.enabled: the real daemon serves /healthz."""
    import httpx2

    from tests.daemon_helpers import DaemonProcess, wait_until

    web = {"ops_only": True, "port": 0, "state_dir": str(tmp_path / "state")}
    with DaemonProcess(tmp_path, {"web": web}) as d:
        started = wait_until(lambda: d.events("web_started"), 30, "web_started")[-1]
        assert started["ops_only"] is True
        url = str(started["url"]).rstrip("/")
        health = wait_until(
            lambda: (r := httpx2.get(url + "/healthz", timeout=10)).status_code == 200 and r,
            30,
            "healthy",
        )
        assert health.json()["ready"] is True
        assert httpx2.get(url + "/", timeout=10).status_code == 404
        assert d.stop() == 0


def test_shipped_config_has_the_default_web_section() -> None:
    """config.yaml documents exactly the built-in web defaults (off, loopback, no token)."""
    from resnet_watch.config import load_config

    root = Path(__file__).resolve().parent.parent
    shipped = load_config(root / "config.yaml", environ={}, prepare_inbox=False).web
    assert shipped == load_config(None, environ={}, prepare_inbox=False).web
    assert not shipped.enabled and shipped.bind == "127.0.0.1" and shipped.token is None
