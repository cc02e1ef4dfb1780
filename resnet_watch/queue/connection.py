"""Reaching Redis: one URL in the config, the right form for redis-py and for Celery.

``queue.url`` accepts ``redis://``, ``rediss://`` and ``unix:///path.sock``;
Celery's Redis transport spells a socket ``redis+socket://``. Everything here
imports the ``[queue]`` extra lazily and turns its absence into one clear error.
"""

from __future__ import annotations

from typing import Any

from resnet_watch.errors import ConfigError

__all__ = ["QUEUE_EXTRA_HINT", "broker_url", "ping", "redact", "redis_client", "require_extra"]

QUEUE_EXTRA_HINT = "pip install 'resnet-watch[queue]' (celery and redis)"
# Connection errors from redis-py; the dispatcher treats these as "Redis is down".
CONNECT_TIMEOUT = 5.0


def require_extra() -> None:
    """Raise ConfigError naming the extra when celery/redis are not installed."""
    try:
        import celery  # noqa: F401
        import redis  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "queue.url", f"needs the queue extra: {QUEUE_EXTRA_HINT} ({exc})"
        ) from None


def broker_url(url: str) -> str:
    """The URL Celery's Redis transport understands."""
    if url.startswith("unix://"):
        return "redis+socket://" + url[len("unix://") :]
    return url


def redact(url: str) -> str:
    """``url`` without a password, for logs and doctor output."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    creds, host = rest.split("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else f"{scheme}://***@{host}"


def redis_client(url: str, *, timeout: float = CONNECT_TIMEOUT) -> Any:
    """A redis-py client for ``url`` with bounded connect/read timeouts."""
    import redis

    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        health_check_interval=30,
    )


def ping(url: str, timeout: float = 2.0) -> str | None:
    """None when Redis at ``url`` answers; otherwise the reason, in one line."""
    try:
        client = redis_client(url, timeout=timeout)
    except ImportError:
        return f"the queue extra is not installed: {QUEUE_EXTRA_HINT}"
    except ValueError as exc:
        return f"bad queue.url: {exc}"
    try:
        client.ping()
    except Exception as exc:  # redis.ConnectionError, TimeoutError, AuthenticationError ...
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None
