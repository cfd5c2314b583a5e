"""Per-route upload limits, applied before anything reads the body (CSRF checks read forms).

A view marked ``@upload_limit("PHOTO_MAX_BYTES")`` accepts a body of that setting plus room
for the form's other fields; every other route keeps the app's general limit. A larger body is
refused by Werkzeug with 413 while it is being read, before it is stored anywhere. The HTTP
edge (transport/edge.py) asks :func:`route_limit` first: it lets these routes' bodies through
unbuffered up to the same limit (every other route: HTTP_MAX_BODY_BYTES, read by the edge).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

F = TypeVar("F", bound=Callable[..., Any])
#: Room for the other fields of an upload form (caption, CSRF token, multipart boundaries).
FORM_SLACK = 256 * 1024


def upload_limit(*config_keys: str) -> Callable[[F], F]:
    """Mark a view as taking files up to the largest of these settings (in bytes)."""

    def mark(view: F) -> F:
        view.upload_limit_keys = config_keys  # type: ignore[attr-defined]
        return view

    return mark


def _limit_of(app: Flask, view: Any) -> int | None:
    keys = getattr(view, "upload_limit_keys", None)
    return max(app.config[k] for k in keys) + FORM_SLACK if keys else None


def route_limit(app: Flask, environ: dict[str, Any]) -> int | None:
    """For the HTTP edge (transport/edge.py), before any request exists: the body limit of the
    upload route `environ` asks for, None when it is not one (the general limit applies)."""
    try:
        endpoint, _args = app.url_map.bind_to_environ(environ).match()
    except (HTTPException, RequestRedirect):
        return None
    return _limit_of(app, app.view_functions.get(str(endpoint)))


def _apply_limit() -> None:
    limit = _limit_of(current_app, current_app.view_functions.get(request.endpoint or ""))
    if limit is not None:
        request.max_content_length = limit
        request.max_form_memory_size = FORM_SLACK


def init_app(app: Flask) -> None:
    """Register the limit first, so it runs before the CSRF check reads the form."""
    app.before_request_funcs.setdefault(None, []).insert(0, _apply_limit)
