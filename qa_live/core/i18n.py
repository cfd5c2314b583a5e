"""Language choice: Simplified Chinese by default, English on request, remembered in a cookie."""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from babel import Locale
from flask import Blueprint, Flask, current_app, has_request_context, redirect, request, url_for
from flask.typing import ResponseReturnValue

from qa_live.extensions import babel

LANG_COOKIE = "lang"
bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """Pick the locale: ?lang=, then the cookie, then the configured default (zh_CN)."""
    supported = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and background work speak the default
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate is not None and candidate in supported:
            return candidate
    return current_app.config["BABEL_DEFAULT_LOCALE"]


@functools.lru_cache(maxsize=16)
def _parsed(code: str) -> Locale:
    return Locale.parse(code)


def babel_locale() -> Locale:
    """`select_locale` as the Locale Flask-Babel wants, parsed once per code.

    Flask-Babel parses what the selector returns once per request context, and every Socket.IO
    event is one: parsing a code looks up locale files on disk each time.
    """
    return _parsed(select_locale())


def select_timezone() -> str:
    """Every page shows times in the configured zone (Asia/Shanghai)."""
    return current_app.config["QA_LIVE_TIMEZONE"]


def safe_next(target: str | None, fallback: str) -> str:
    """Return target if it is a path on this site, else fallback (no open redirects)."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target:
        return fallback
    return target


@bp.get("/lang/<code>")
def set_language(code: str) -> ResponseReturnValue:
    """Switch the interface language and go back where the visitor was."""
    target = safe_next(request.args.get("next"), url_for("planning.home"))
    response = redirect(target)
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
        )
    return response


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with our selectors and register the language switch."""
    babel.init_app(
        app,
        locale_selector=babel_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(app.root_path + "/translations"),
    )
    app.register_blueprint(bp)
