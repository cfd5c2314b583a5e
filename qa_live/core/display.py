"""The elder-friendly mode (适老化): larger type, higher contrast, bigger targets, fewer parts.

A switch on every page sets a cookie for a year; pages are rendered with ``<html
class="elder">`` from it, so the choice applies before the first paint, without a script and
without a flash of the standard page. Dark mode and reduced motion follow the system's setting
in CSS (static/css/app.css) and need nothing here.
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, request, url_for
from flask.typing import ResponseReturnValue

from qa_live.core.i18n import safe_next

DISPLAY_COOKIE = "display"
MODES = ("standard", "elder")
bp = Blueprint("display", __name__)


def elder_mode() -> bool:
    """Whether this visitor chose the elder-friendly mode."""
    return request.cookies.get(DISPLAY_COOKIE) == "elder"


@bp.get("/display/<mode>")
def set_display(mode: str) -> ResponseReturnValue:
    """Switch between the standard and the elder-friendly mode; go back where the visitor was."""
    response = redirect(safe_next(request.args.get("next"), url_for("planning.home")))
    if mode == "elder":
        response.set_cookie(DISPLAY_COOKIE, "elder", max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True)
    elif mode == "standard":
        response.delete_cookie(DISPLAY_COOKIE, samesite="Lax", httponly=True)
    return response


def init_app(app: Flask) -> None:
    """Register the switch and tell every template which mode to draw."""
    app.register_blueprint(bp)

    @app.context_processor
    def _display() -> dict[str, bool]:
        return {"elder_mode": elder_mode()}
