"""The web UI as a Starlette app: status, upload, albums, image pages, search, ops.

Pages are rendered on the server (Jinja2, autoescaped) and work without JavaScript;
``static/app.js`` only adds drag-and-drop and one-request-per-photo uploads. Everything
that names a file goes through ``files.resolve_ref``; everything that changes something
is a POST carrying the CSRF token.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from resnet_watch.component_settings import image_limits
from resnet_watch.config import Config, is_loopback
from resnet_watch.errors import ImageError
from resnet_watch.sidecar import read_sidecar, sidecar_path
from resnet_watch.web.activity import StatusProvider, StatusSnapshot
from resnet_watch.web.files import MEDIA_TYPES, Refused, ref_for, resolve_ref
from resnet_watch.web.groups import GroupCache
from resnet_watch.web.index import Entry, LibraryIndex
from resnet_watch.web.metrics import CONTENT_TYPE, metrics_registry, render_metrics
from resnet_watch.web.security import SESSION_COOKIE, Guard, SecurityPolicy
from resnet_watch.web.thumbs import SIZES, ThumbCache
from resnet_watch.web.uploads import UploadError, receive_upload, watcher_filter

__all__ = ["build_app"]

HERE = Path(__file__).parent
HEARTBEAT_STALE_SECONDS = 60.0


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes}m"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


def _pct(score: float) -> int:
    return max(0, min(100, round(score * 100)))


class WebApp:
    """Holds what the handlers share; ``app`` is the ASGI app with its guard."""

    def __init__(self, cfg: Config, provider: StatusProvider, log: Any) -> None:
        self.cfg = cfg
        self.web = cfg.web
        self.provider = provider
        self.log = log
        self.roots = list(cfg.inbox.paths)
        self.suffix = cfg.sidecar.suffix
        self.policy = SecurityPolicy(cfg.web.token, cfg.web.bind, is_loopback(cfg.web.bind))
        self.index = LibraryIndex(self.roots, self.suffix, index_path=cfg.library.index)
        self.groups = GroupCache(self.roots, self.suffix)
        self.thumbs = ThumbCache(
            cfg.web.state_dir / "thumbs",
            cfg.web.thumbnail_cache_mb * 1024 * 1024,
            image_limits(cfg),
        )
        self.filter = watcher_filter(cfg.inbox.include, cfg.inbox.ignore, self.suffix)
        self.registry = metrics_registry(provider.status_snapshot)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.globals.update(duration=_duration, clock=_clock, pct=_pct, ref=self.ref)
        ops: list[Route | Mount] = [
            Route("/healthz", self.healthz),
            Route("/metrics", self.metrics),
        ]
        pages: list[Route | Mount] = [
            Route("/", self.status_page),
            Route("/login", self.login_page, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/upload", self.upload_page, methods=["GET"]),
            Route("/upload", self.upload, methods=["POST"]),
            Route("/uploaded", self.uploaded_page),
            Route("/albums", self.albums_page),
            Route("/album", self.album_page),
            Route("/image", self.image_page),
            Route("/search", self.search_page),
            Route("/similar", self.similar_page),
            Route("/thumb", self.thumb),
            Route("/original", self.original),
            Route("/retry", self.retry, methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
        routes = ops if self.web.ops_only else ops + pages
        self.starlette = Starlette(routes=routes)
        self.app = Guard(self.starlette, self.policy)

    # --- helpers ----------------------------------------------------------------------

    def ref(self, image: Path) -> str:
        return ref_for(image, self.roots) or ""

    def render(self, request: Request, template: str, status: int = 200, **ctx: Any) -> Response:
        page = self.env.get_template(template).render(
            csrf=self.policy.csrf,
            auth=self.policy.token is not None,
            query=request.query_params.get("q", ""),
            path=request.url.path,
            **ctx,
        )
        return HTMLResponse(page, status_code=status)

    def error(self, request: Request, status: int, message: str) -> Response:
        if "text/html" in request.headers.get("accept", ""):
            return self.render(request, "error.html", status, title="Error", message=message)
        return PlainTextResponse(message + "\n", status_code=status)

    def _csrf_ok(self, request: Request, form_value: str | None) -> bool:
        if request.scope.get("state", {}).get("bearer"):
            return True  # no ambient credentials: a script with the token
        given = request.headers.get("x-csrf-token") or form_value
        return self.policy.csrf_ok(given)

    def _resolve(self, request: Request) -> tuple[Path, str]:
        return resolve_ref(request.query_params.get("p", ""), self.roots)

    # --- ops --------------------------------------------------------------------------

    def healthz(self, request: Request) -> Response:
        s = self.provider.status_snapshot()
        beat_age = None if s.last_heartbeat is None else time.time() - s.last_heartbeat
        healthy = s.ready and beat_age is not None and beat_age < HEARTBEAT_STALE_SECONDS
        body = {
            "ready": s.ready,
            "healthy": healthy,
            "last_heartbeat": s.last_heartbeat,
            "heartbeat_age_seconds": None if beat_age is None else round(beat_age, 3),
            "queue_depth": s.queue_depth,
            "in_flight": s.in_flight,
            "uptime_seconds": round(s.uptime_seconds, 1),
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    def metrics(self, request: Request) -> Response:
        return Response(render_metrics(self.registry), media_type=CONTENT_TYPE)

    # --- pages ------------------------------------------------------------------------

    def status_page(self, request: Request) -> Response:
        s: StatusSnapshot = self.provider.status_snapshot()
        peak = max(s.throughput or (0,)) or 1
        bars = [(n, _pct(n / peak)) for n in s.throughput]
        failures = self.index.failures()
        beat_age = None if s.last_heartbeat is None else time.time() - s.last_heartbeat
        return self.render(
            request,
            "status.html",
            title="Status",
            s=s,
            bars=bars,
            per_minute=sum(s.throughput[-5:]) / 5 if s.throughput else 0.0,
            failures=failures[:200],
            failure_count=len(failures),
            events=s.events[:50],
            beat_age=beat_age,
            retried=request.query_params.get("retried", ""),
            mean_ms=(s.latency_sum / s.latency_count * 1000) if s.latency_count else None,
        )

    async def login_page(self, request: Request) -> Response:
        nxt = request.query_params.get("next", "/")
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        if self.policy.token is None:
            return RedirectResponse(nxt, status_code=303)
        if request.method == "GET":
            return self.render(request, "login.html", title="Log in", next=nxt, message="")
        form = await request.form(max_files=0, max_fields=5)
        given = str(form.get("token") or "")
        if not self.policy.token_ok(given):
            self.log.warning(
                "web_login_failed", client=request.client.host if request.client else ""
            )
            return self.render(
                request, "login.html", 401, title="Log in", next=nxt, message="Wrong token."
            )
        response = RedirectResponse(nxt, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            self.policy.session,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            max_age=30 * 86400,
        )
        return response

    async def logout(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        if not self._csrf_ok(request, str(form.get("csrf") or "")):
            return self.error(request, 403, "This page has expired: reload it and try again.")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    def upload_page(self, request: Request) -> Response:
        return self.render(
            request,
            "upload.html",
            title="Upload",
            limit_mb=self.web.max_upload_bytes / (1024 * 1024),
            message="",
        )

    async def upload(self, request: Request) -> Response:
        wants_json = "application/json" in request.headers.get("accept", "")
        # The token travels in a header (app.js) or the form's action URL, never only in
        # the body: a cross-site POST (Origin: null from a sandboxed frame) is refused
        # before a byte of its body is read, let alone written to the inbox.
        token = request.headers.get("x-csrf-token") or request.query_params.get("csrf")
        if not self._csrf_ok(request, token):
            self.log.warning("web_upload_refused", status=403, reason="csrf_token")
            return self._upload_refused(
                request, wants_json, 403, "This page has expired: reload it and try again."
            )
        try:
            saved = await receive_upload(
                request.headers,
                request.stream(),
                self.roots[0],
                self.web.max_upload_bytes,
                accept_name=lambda name: self.filter.is_candidate(
                    self.roots[0] / name, self.roots[0]
                ),
            )
        except UploadError as exc:
            self.log.warning("web_upload_refused", status=exc.status, reason=exc.message)
            return self._upload_refused(request, wants_json, exc.status, exc.message)
        for item in saved:
            self.provider.note_upload(item.path)
            self.log.info(
                "web_upload_saved", path=str(item.path), bytes=item.size, format=item.format
            )
        refs = [self.ref(item.path) for item in saved]
        if wants_json:
            return JSONResponse(
                {
                    "files": [
                        {"ref": r, "name": i.path.name} for r, i in zip(refs, saved, strict=True)
                    ]
                }
            )
        return RedirectResponse("/uploaded?" + urlencode([("f", r) for r in refs]), 303)

    def _upload_refused(
        self, request: Request, wants_json: bool, status: int, message: str
    ) -> Response:
        if wants_json:
            return JSONResponse({"error": message}, status_code=status)
        if "text/html" in request.headers.get("accept", ""):
            return self.render(
                request,
                "upload.html",
                status,
                title="Upload",
                limit_mb=self.web.max_upload_bytes / (1024 * 1024),
                message=message,
            )
        return PlainTextResponse(message + "\n", status_code=status)

    def uploaded_page(self, request: Request) -> Response:
        rows: list[tuple[str, str, Entry | None]] = []
        for ref in request.query_params.getlist("f")[:100]:
            try:
                image, _fmt = resolve_ref(ref, self.roots)
            except Refused:
                rows.append((ref, ref.rsplit("/", 1)[-1], None))
                continue
            rows.append((ref, image.name, self.index.lookup(image)))
        pending = any(entry is None for _, _, entry in rows)
        return self.render(request, "uploaded.html", title="Uploaded", rows=rows, pending=pending)

    def albums_page(self, request: Request) -> Response:
        return self.render(
            request,
            "albums.html",
            title="Albums",
            albums=self.index.albums(),
            total=self.index.classified_count(),
        )

    def album_page(self, request: Request) -> Response:
        name = request.query_params.get("name", "")
        entries = self.index.album(name)
        if not entries:
            return self.error(request, 404, f"No album called {name!r} has any photos.")
        return self.render(
            request, "grid.html", title=name, heading=f"Album: {name}", entries=entries[:1000]
        )

    def search_page(self, request: Request) -> Response:
        q = request.query_params.get("q", "").strip()
        entries = self.index.search(q) if q else []
        return self.render(
            request,
            "grid.html",
            title=f"Search: {q}" if q else "Search",
            heading=f"{len(entries)} photo(s) matching {q!r}" if q else "Search labels and tags",
            entries=entries,
        )

    def similar_page(self, request: Request) -> Response:
        groups, missing = self.groups.groups()
        groups = [g for g in groups if all(self.ref(p) for p in g.images)]
        return self.render(request, "groups.html", title="Similar", groups=groups, missing=missing)

    def image_page(self, request: Request) -> Response:
        try:
            image, fmt = self._resolve(request)
        except Refused as exc:
            return self.error(request, exc.status, f"Not shown: {exc}.")
        record = read_sidecar(sidecar_path(image, self.suffix))
        entry = self.index.lookup(image)
        return self.render(
            request,
            "image.html",
            title=image.name,
            image=image,
            image_ref=self.ref(image),
            fmt=fmt,
            entry=entry,
            sidecar_json=json.dumps(record, indent=2, ensure_ascii=False) if record else "",
        )

    def thumb(self, request: Request) -> Response:
        size = SIZES.get(request.query_params.get("s", "s"), SIZES["s"])
        try:
            image, _fmt = self._resolve(request)
            cached = self.thumbs.get(image, size)
        except Refused as exc:
            return PlainTextResponse(f"{exc}\n", status_code=exc.status)
        except (ImageError, OSError) as exc:
            return PlainTextResponse(f"no thumbnail: {exc}\n", status_code=422)
        return FileResponse(cached, media_type="image/jpeg")

    def original(self, request: Request) -> Response:
        try:
            image, fmt = self._resolve(request)
        except Refused as exc:
            return PlainTextResponse(f"{exc}\n", status_code=exc.status)
        return FileResponse(
            image,
            media_type=MEDIA_TYPES[fmt],
            content_disposition_type="inline",
            filename=image.name,
        )

    async def retry(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        if not self._csrf_ok(request, str(form.get("csrf") or "")):
            return self.error(request, 403, "This page has expired: reload it and try again.")
        try:
            image, _fmt = resolve_ref(str(form.get("p") or ""), self.roots)
        except Refused as exc:
            return self.error(request, exc.status, f"Cannot retry: {exc}.")
        queued = self.provider.retry(image)
        self.index.refresh(force=True)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"queued": queued})
        return RedirectResponse("/?" + urlencode({"retried": image.name}), 303)


def build_app(cfg: Config, provider: StatusProvider, log: Any) -> Guard:
    """The ASGI app for ``cfg.web`` over ``provider`` (the daemon, or a fake in tests)."""
    return WebApp(cfg, provider, log).app
