"""The optional web UI and ops endpoints (/healthz, /metrics), served from the daemon.

Importing this package is cheap: ``activity`` is stdlib-only (the daemon records into it
whether or not the web server runs); Starlette, uvicorn and prometheus-client are imported
only by ``app`` and ``server``, which the daemon loads when ``web.enabled`` is on.
"""

from __future__ import annotations

__all__: list[str] = []
