"""The citizen's visitor token: a signed, long-lived cookie instead of an account.

An anonymous visitor's cookie carries only the visitor id. A citizen who signed in through the
bureau's identity service (qa_live/auth/oidc.py) carries, in the same signed cookie, the id of
their citizen identity and when the sign-in lapses; the visitor id is then the one their
identity keeps for every device, so their questions, votes and private links are one asker's.
The pages, the /qa socket and the JSON API all read it here.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from flask import Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "qa_visitor"
MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who is on the page: a visitor id, and the citizen identity when signed in."""

    id: str
    citizen_id: int | None = None
    signed_in_until: int = 0  # Unix time the sign-in lapses (0: not signed in)

    @property
    def signed_in(self) -> bool:
        """Signed in through the identity service, and the sign-in has not lapsed."""
        return self.citizen_id is not None and self.signed_in_until > time.time()


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="qa_live.visitor")


def _valid_id(value: object) -> bool:
    return isinstance(value, str) and 16 <= len(value) <= 64


def sign_visitor(visitor: Visitor) -> str:
    """The cookie (or X-Visitor-Token) value carrying a visitor (what `read_visitor` reads)."""
    if visitor.citizen_id is None:
        return _serializer().dumps(visitor.id)
    return _serializer().dumps([visitor.id, visitor.citizen_id, visitor.signed_in_until])


def sign_visitor_id(value: str) -> str:
    """The cookie value carrying an anonymous visitor id."""
    return sign_visitor(Visitor(value))


def read_visitor(raw: str | None) -> Visitor | None:
    """Return the visitor inside a signed cookie value, or None when absent or forged.

    A lapsed sign-in reads as the same visitor id, not signed in (the device keeps its id).
    """
    if not raw:
        return None
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return None
    if _valid_id(value):
        return Visitor(value)
    if (isinstance(value, list) and len(value) == 3 and _valid_id(value[0])
            and type(value[1]) is int and type(value[2]) is int):
        visitor = Visitor(value[0], value[1], value[2])
        return visitor if visitor.signed_in else Visitor(visitor.id)
    return None


def read_visitor_id(raw: str | None) -> str | None:
    """Return the visitor id inside a signed cookie value, or None when absent or forged."""
    visitor = read_visitor(raw)
    return visitor.id if visitor else None


def current_visitor() -> Visitor:
    """Return this request's visitor, making a new anonymous one (set on the response) if needed."""
    if "visitor" not in g:
        existing = read_visitor(request.cookies.get(COOKIE))
        g.visitor = existing or Visitor(secrets.token_urlsafe(18))
        g.visitor_changed = existing is None
    return g.visitor


def visitor_id() -> str:
    """Return this request's visitor id, making a new one (set on the response) if needed."""
    return current_visitor().id


def sign_in_visitor(visitor_id_: str, citizen_id: int, seconds: int) -> Visitor:
    """From this response on, the device is this citizen's: their visitor id, signed in."""
    g.visitor = Visitor(visitor_id_, citizen_id, int(time.time()) + seconds)
    g.visitor_changed = True
    return g.visitor


def sign_out_visitor() -> Visitor:
    """From this response on, the device is a new anonymous visitor (a shared device forgets)."""
    g.visitor = Visitor(secrets.token_urlsafe(18))
    g.visitor_changed = True
    return g.visitor


def remember_visitor(response: Response) -> Response:
    """Set the visitor cookie on the response when this request made or changed the visitor."""
    if g.get("visitor_changed"):
        response.set_cookie(
            COOKIE,
            sign_visitor(g.visitor),
            max_age=MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response
