"""What every /api/v1 route shares: the blueprint, errors as JSON, who is calling."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import lazyload

from qa_live.auth.models import Role, User
from qa_live.auth.tokens import user_for_token
from qa_live.core.access import staff_network_allowed
from qa_live.core.visitor import Visitor, current_visitor, read_visitor
from qa_live.extensions import csrf, db
from qa_live.followup.services import FollowUpError
from qa_live.live import services as live
from qa_live.live.socket_common import EventError
from qa_live.live.validation import InvalidInput
from qa_live.planning.errors import PlanningError
from qa_live.planning.models import LiveSession

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

STATUS = {
    "invalid": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404,
    "rate_limited": 429, "too_fast": 429, "too_many_questions": 429, "too_large": 413,
    "sign_in_required": 401,
}
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


def api_error(code: str, message: str, fields: dict[str, str] | None = None,
              status: int | None = None) -> ResponseReturnValue:
    """A JSON error: {"error": code, "message": text, "fields": {...}?}."""
    body: dict[str, Any] = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify(body), status or STATUS.get(code, 409)


@bp.errorhandler(EventError)
def _event_error(exc: EventError) -> ResponseReturnValue:
    db.session.rollback()
    return api_error(exc.code, exc.message, exc.fields)


@bp.errorhandler(InvalidInput)
def _invalid(exc: InvalidInput) -> ResponseReturnValue:
    db.session.rollback()
    return api_error("invalid", next(iter(exc.errors.values())), exc.errors)


@bp.errorhandler(live.QuestionRefused)
def _refused(exc: live.QuestionRefused) -> ResponseReturnValue:
    db.session.rollback()
    return api_error(exc.code, str(exc))


@bp.errorhandler(PlanningError)
def _planning(exc: PlanningError) -> ResponseReturnValue:
    db.session.rollback()
    return api_error(exc.code, str(exc), {exc.field: str(exc)} if exc.field else None)


@bp.errorhandler(FollowUpError)
def _follow_up_error(exc: FollowUpError) -> ResponseReturnValue:
    db.session.rollback()
    return api_error(exc.code, str(exc), {exc.field: str(exc)} if exc.field else None)


@bp.before_request
def _authenticate() -> ResponseReturnValue | None:
    """Bearer tokens act as their owner; cookie logins must send the CSRF token on writes."""
    header = request.headers.get("Authorization", "")
    g.api_user = None
    if request.path.startswith("/api/v1/staff") and not staff_network_allowed():
        return api_error("forbidden", _("Staff functions are reachable only from the office "
                                        "network."))
    if header:
        scheme, _sep, secret = header.partition(" ")
        user = user_for_token(secret.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            return api_error("unauthorized", _("The API token is missing, wrong or revoked."))
        g.api_user = user
        if db.session.dirty:  # the token's last use, noted once a minute (auth/tokens.py)
            db.session.commit()  # not on other calls: a commit expires the user just loaded
    elif current_user.is_authenticated:
        g.api_user = current_user._get_current_object()
        if request.method in WRITE_METHODS:
            csrf.protect()
    # No body at all reads as {} (announce, vote, start: the docs define none); a body is JSON.
    if (request.method in WRITE_METHODS and not request.is_json and _has_body()
            and not _takes_files()):
        return api_error("invalid", _("Send a JSON body (Content-Type: application/json)."),
                         status=415)
    return None


def _takes_files() -> bool:
    """The route takes multipart uploads (core.uploads.upload_limit marks it)."""
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "upload_limit_keys", None)) and (
        request.mimetype == "multipart/form-data")


def _has_body() -> bool:
    return bool(request.content_length) or "chunked" in request.headers.get(
        "Transfer-Encoding", "").lower()


def json_body() -> dict[str, Any]:
    """The request's JSON object (an empty one when there is no body)."""
    data = request.get_json(silent=True)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EventError("invalid", _("The data sent must be an object."))
    return data


def staff_user(*roles: Role) -> User:
    """The token's or login's staff member, holding one of the roles when any are named."""
    user: User | None = g.get("api_user")
    if user is None:
        raise EventError("unauthorized", _("Log in or send an API token."))
    if roles and not user.has_role(*roles):
        raise EventError("forbidden", _("You do not have permission to do this."))
    return user


def calling_visitor() -> Visitor:
    """The citizen: X-Visitor-Token header (for clients without cookies), else the cookie.

    Either carries the citizen's sign-in when they signed in on the site (docs/api.md).
    """
    header = request.headers.get("X-Visitor-Token")
    if header:
        found = read_visitor(header)
        if found is None:
            raise EventError("unauthorized", _("The visitor token is not valid."))
        return found
    return current_visitor()


def visitor() -> str:
    """The calling citizen's visitor id."""
    return calling_visitor().id


#: A session's departments, staff and guests load when a route reads them, not with the
#: session: an answer published through the API reads one or two of them, often none.
_SESSION_ONLY = (lazyload(LiveSession.departments), lazyload(LiveSession.staff),
                 lazyload(LiveSession.guests))


def get_session_or_404(session_id: int) -> LiveSession:
    """A session by id (any state, for staff), or not_found."""
    session = db.session.get(LiveSession, session_id, options=_SESSION_ONLY)
    if session is None:
        raise EventError("not_found", _("There is no such session."))
    return session


def time_field(data: dict[str, Any], name: str, required: bool = True) -> datetime | None:
    """An ISO 8601 time with a zone from the payload (None when optional and absent)."""
    value = data.get(name)
    if value is None and not required:
        return None
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise EventError("invalid", _("%(name)s must be an ISO 8601 time with a zone, such as "
                                      "2026-05-20T09:30:00+08:00.", name=name),
                         {name: "ISO 8601 with offset"})
    return parsed
