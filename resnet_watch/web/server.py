"""Run the web app inside the daemon: uvicorn on its own event loop in a background thread.

The listening socket is bound in the caller's thread before the thread starts, so a
port already in use is a clean ``WebStartError`` at start-up (the daemon then exits 2)
instead of a traceback in a thread nobody watches. Uvicorn installs no signal handlers
outside the main thread; the daemon's main thread keeps SIGTERM/SIGINT/SIGHUP.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from resnet_watch.config import Config
from resnet_watch.web.activity import StatusProvider
from resnet_watch.web.app import build_app

__all__ = ["WebServer", "WebStartError"]


class WebStartError(Exception):
    """The web server could not listen (port in use, address not available)."""


def _bind(host: str, port: int) -> socket.socket:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    if not infos:
        raise WebStartError(f"cannot resolve {host}")
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise WebStartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(False)
    return sock


class WebServer:
    """The app on ``web.bind:web.port``; ``start`` returns once it accepts connections."""

    def __init__(self, cfg: Config, provider: StatusProvider, log: Any) -> None:
        self._cfg = cfg
        self._log = log
        self._app = build_app(cfg, provider, log)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.port = cfg.web.port

    def start(self, timeout: float = 10.0) -> None:
        web = self._cfg.web
        self._sock = _bind(web.bind, web.port)
        self.port = int(self._sock.getsockname()[1])
        config = uvicorn.Config(
            self._app,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=3,
            ws="none",
        )
        self._server = uvicorn.Server(config)
        sock = self._sock
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="rw-web", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise WebStartError("the web server did not start")
            time.sleep(0.02)
        host = web.bind if ":" not in web.bind else f"[{web.bind}]"
        self._log.info(
            "web_started",
            url=f"http://{host}:{self.port}/",
            ops_only=web.ops_only,
            auth="token" if web.token else "none",
        )

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
        self._log.info("web_stopped")
