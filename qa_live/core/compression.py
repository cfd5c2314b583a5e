"""Pages and API answers compressed (brotli, else gzip) by Flask-Compress, as the browser accepts.

Static files are compressed ahead of time instead (qa_live/core/assets.py). Socket.IO's long
polling is compressed by Engine.IO itself, before Flask.

Pages for a signed-in staff member are sent uncompressed: they carry the CSRF token next to text
that citizens typed, the setting in which compression lets an eavesdropper who can also make the
browser send requests recover a secret from the response sizes (BREACH). Staff work on the
office network; citizens, who need the bytes saved, carry no such secret in their pages.
"""

from __future__ import annotations

from flask import Flask, Response
from flask_compress import Compress
from flask_login import current_user

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


def _compress(response: Response) -> Response:
    if current_user and current_user.is_authenticated:
        response.vary.add("Cookie")
        return response
    return compress.after_request(response)
