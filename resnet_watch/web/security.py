"""Who may talk to the web UI, and the headers every answer carries.

On loopback without a token the UI is open to this machine's users, but the Host header
must name a loopback address (a DNS-rebinding page cannot read it) and every POST needs
the page's CSRF token. With ``web.token`` every request needs either
``Authorization: Bearer <token>`` or the session cookie the login form sets (HttpOnly,
SameSite=Strict); cookie-authenticated POSTs still need the CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

__all__ = ["SESSION_COOKIE", "Guard", "SecurityPolicy"]

SESSION_COOKIE = "rw_session"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
PUBLIC_PATHS = ("/login", "/static/", "/healthz")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityPolicy:
    """The token, the session cookie value derived from it, and the CSRF token."""

    def __init__(self, token: str | None, bind: str, loopback: bool) -> None:
        self.token = token
        self._secret = secrets.token_bytes(32)
        self.csrf = hmac.new(self._secret, b"csrf", hashlib.sha256).hexdigest()
        key = (token or "").encode()
        self.session = hmac.new(key, b"resnet-watch-session", hashlib.sha256).hexdigest()
        self.allowed_hosts = (LOOPBACK_HOSTS | {bind.lower()}) if loopback else None

    def token_ok(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.csrf.encode())

    def bearer(self, headers: dict[bytes, bytes]) -> bool:
        auth = headers.get(b"authorization", b"").decode("latin-1")
        scheme, _, value = auth.partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(value.strip())

    def has_session(self, headers: dict[bytes, bytes]) -> bool:
        for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
            name, _, value = part.strip().partition("=")
            if name == SESSION_COOKIE and hmac.compare_digest(
                value.encode(), self.session.encode()
            ):
                return True
        return False


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """ASGI middleware: Host check, authentication, same-origin POSTs, security headers."""

    def __init__(self, app: ASGIApp, policy: SecurityPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        path: str = scope.get("path", "/")
        policy = self.policy
        if policy.allowed_hosts is not None:
            host = _host_name(headers.get(b"host", b"").decode("latin-1"))
            if host not in policy.allowed_hosts:
                await _plain(send_with_headers, 421, "unexpected Host header")
                return
        if scope.get("method") == "POST":
            origin = headers.get(b"origin", b"").decode("latin-1")
            host = headers.get(b"host", b"").decode("latin-1")
            if origin and origin != "null" and origin.split("://", 1)[-1] != host:
                await _plain(send_with_headers, 403, "cross-origin request refused")
                return
        bearer = policy.bearer(headers)
        scope.setdefault("state", {})["bearer"] = bearer
        needs_login = policy.token is not None and not path.startswith(PUBLIC_PATHS)
        if needs_login and not bearer and not policy.has_session(headers):
            accept = headers.get(b"accept", b"").decode("latin-1")
            if scope.get("method") == "GET" and "text/html" in accept:
                target = path + (
                    "?" + scope["query_string"].decode() if scope.get("query_string") else ""
                )
                location = "/login?next=" + quote(target, safe="")
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 303,
                        "headers": [
                            (b"location", location.encode()),
                            (b"content-length", b"0"),
                        ],
                    }
                )
                await send_with_headers({"type": "http.response.body", "body": b""})
                return
            await _plain(send_with_headers, 401, "authentication required", bearer_challenge=True)
            return
        await self.app(scope, receive, send_with_headers)


async def _plain(send: Send, status: int, text: str, *, bearer_challenge: bool = False) -> None:
    body = (text + "\n").encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    if bearer_challenge:
        headers.append((b"www-authenticate", b'Bearer realm="resnet-watch"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
