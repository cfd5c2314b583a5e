"""Pages and API answers compressed (brotli, else gzip) by Flask-Compress, as the browser accepts.

Static files are compressed ahead of time instead (qa_live/core/assets.py). Socket.IO's long
polling is compressed by Engine.IO itself, before Flask.

Pages for a signed-in staff member are sent uncompressed: they carry the CSRF token next to text
that citizens typed, the setting in which compression lets an eavesdropper who can also make the
browser send requests recover a secret from the response sizes (BREACH). Staff work on the
office network; citizens, who need the bytes saved, carry no such secret in their pages.
"""

from __future__ import annotations

from flask import Flask, Response, g, session
from flask_compress import Compress

compress = Compress()


def init_app(app: Flask) -> None:
    """Compress responses of the app after every other after-request hook has run."""
    app.config.setdefault("COMPRESS_REGISTER", False)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    compress.init_app(app)
    # Registered first, so Flask runs it last (after-request hooks run in reverse order).
    app.after_request_funcs.setdefault(None, []).insert(0, _compress)


def _staff_signed_in() -> bool:
    """Whether a staff member is signed in, without loading them: after the response, the
    database may be the very thing that failed (an outage answered 503 must stay 503)."""
    user = g.get("_login_user")  # Flask-Login's, when the request loaded the user
    if user is not None:
        return bool(getattr(user, "is_authenticated", False))
    return "_user_id" in session  # Flask-Login's key in a signed-in session


def _compress(response: Response) -> Response:
    if _staff_signed_in():
        response.vary.add("Cookie")
        return response
    return compress.after_request(response)
