"""Rate limits for socket events, on the same storage as Flask-Limiter's HTTP limits.

Flask-Limiter only sees HTTP requests; Socket.IO events after the handshake never pass
through it, so the socket handlers ask this limiter directly.
"""

from __future__ import annotations

from flask import current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

_EXT = "qa_live.socket_limiter"


def _limiter() -> MovingWindowRateLimiter:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    limiter = app.extensions.get(_EXT)
    if limiter is None:
        storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
        limiter = MovingWindowRateLimiter(storage)
        app.extensions[_EXT] = limiter
    return limiter


def allow(limit: str, *keys: str) -> bool:
    """Count one hit against `limit` (e.g. "30/minute") for the keys; False when over it."""
    return _limiter().hit(parse(limit), "socket", *keys)
