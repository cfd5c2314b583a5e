"""The citizen's visitor token: a signed, long-lived cookie instead of an account."""

from __future__ import annotations

import secrets

from flask import Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "qa_visitor"
MAX_AGE = 365 * 24 * 3600


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="qa_live.visitor")


def sign_visitor_id(value: str) -> str:
    """The cookie value carrying a visitor id (what `read_visitor_id` reads back)."""
    return _serializer().dumps(value)


def read_visitor_id(raw: str | None) -> str | None:
    """Return the visitor id inside a signed cookie value, or None when absent or forged."""
    if not raw:
        return None
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) and 16 <= len(value) <= 64 else None


def visitor_id() -> str:
    """Return this request's visitor id, making a new one (set on the response) if needed."""
    if "visitor_id" not in g:
        existing = read_visitor_id(request.cookies.get(COOKIE))
        g.visitor_id = existing or secrets.token_urlsafe(18)
        g.visitor_is_new = existing is None
    return g.visitor_id


def remember_visitor(response: Response) -> Response:
    """Set the visitor cookie on the response when this request made a new visitor id."""
    if g.get("visitor_is_new"):
        response.set_cookie(
            COOKIE,
            sign_visitor_id(g.visitor_id),
            max_age=MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
