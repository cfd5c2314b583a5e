"""Error pages and JSON errors: every failure gets a clear message, never a bare 500."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from qa_live.core.outages import (
    RETRY_AFTER_S,
    UNAVAILABLE,
    is_unavailable,
    troubles,
    unavailable_message,
)


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        403: _("You do not have permission to do this."),
        404: _("The page you are looking for does not exist."),
        405: _("This action is not allowed here."),
        408: _("Your request took too long to arrive. Please try again."),
        413: _("What you sent is too large."),
        429: _("Too many attempts. Please wait a moment and try again."),
        500: _("Something went wrong on our side. Please try again."),
        503: unavailable_message(),
    }


def wants_json() -> bool:
    """JSON for the API and for clients that ask for it; HTML pages for browsers."""
    if request.path.startswith(("/api/", "/socket.io/")):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes[
        "text/html"
    ]


def error_response(code: int, message: str | None = None, error: str | None = None):
    """Render the error as JSON or as the site's error page."""
    message = message or _messages().get(code, _messages()[500])
    if wants_json():
        return jsonify(error=error or str(code), message=message), code
    return render_template("errors/error.html", code=code, message=message), code


def render_refusal(app: Flask, environ: dict[str, Any], code: int
                   ) -> tuple[str, list[tuple[str, str]], bytes]:
    """The error answer for a request the HTTP edge refuses before the app sees it.

    Rendered as any other error (JSON or the error page, in the visitor's language); the body
    of the request is never touched.
    """
    with app.request_context(environ):
        response = app.make_response(error_response(code))
    return response.status, list(response.headers.items()), response.get_data()


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> ResponseReturnValue:
        return error_response(
            400, _("The form expired or was sent from elsewhere. Please reload and try again."),
            "csrf",
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        return error_response(code)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        from qa_live.extensions import db

        try:
            db.session.rollback()
        except Exception:  # noqa: S110 - the database may be the very problem
            pass
        if is_unavailable(exc):
            # The database or Redis is unreachable: a retryable 503, one log line per outage.
            troubles().failed("requests", exc)
            try:
                response = make_response(error_response(503, unavailable_message(), UNAVAILABLE))
            except Exception:  # the error page itself needed the database
                response = make_response(unavailable_message(), 503)
                response.mimetype = "text/plain"
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
            return response
        app.logger.exception("unhandled error")
        return error_response(500, error="server_error")
