"""Flask's signed-cookie session, opened once per socket rather than once per socket event.

Flask-SocketIO runs every socket event in a request context built on the environ its socket
connected with, and Flask opens the session of each context it pushes: a new signing
serializer, the Cookie header parsed, the cookie's signature checked, on every ask and vote,
although a socket's cookies never change (and with ``manage_session=False`` what an event does
to the session is not saved). Here the opened session is kept in the environ with the Cookie
header it came from, so a socket's later events reuse it; an HTTP request has an environ of its
own, so it opens (and saves) its session as before.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

#: Where the environ keeps its opened session: (the Cookie header it was read from, session).
KEY = "qa_live.cookie_session"


class OncePerSocket(SecureCookieSessionInterface):
    """The default session interface, opening a given environ's cookie once."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        environ: dict[str, Any] = request.environ
        cookie = environ.get("HTTP_COOKIE")
        kept = environ.get(KEY)
        if kept is not None and kept[0] == cookie:
            session: SecureCookieSession | None = kept[1]
            return session
        session = super().open_session(app, request)
        if session is not None:
            environ[KEY] = (cookie, session)
        return session


def init_app(app: Flask) -> None:
    """Use it for this app's sessions."""
    app.session_interface = OncePerSocket()
