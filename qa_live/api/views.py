"""/api/v1: sessions, streams, asking and voting for citizens; planning and live actions for
staff, with personal API tokens (Authorization: Bearer …) or the staff login cookie + CSRF.

docs/api.md and the OpenAPI document at /api/v1/openapi.json describe every endpoint.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from qa_live.auth.models import Role, User
from qa_live.auth.tokens import user_for_token
from qa_live.core.access import staff_network_allowed
from qa_live.core.timeutil import local_year, utcnow
from qa_live.core.visitor import read_visitor_id, visitor_id
from qa_live.extensions import csrf, db
from qa_live.followup import api as followup_api
from qa_live.followup import services as followups
from qa_live.followup.services import FollowUpError
from qa_live.live import access, commands, events, presence, serialize
from qa_live.live import services as live
from qa_live.live.models import Question, QuestionSource
from qa_live.live.socket_common import EventError
from qa_live.live.sockets import get_live_session_or_error, my_questions, snapshot
from qa_live.live.staff_sockets import console_snapshot
from qa_live.live.validation import InvalidInput, parse_question
from qa_live.planning import services as planning
from qa_live.planning.models import Department, LiveSession, ModerationMode, SessionState

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

STATUS = {
    "invalid": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404,
    "rate_limited": 429, "too_fast": 429, "too_many_questions": 429,
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


@bp.errorhandler(planning.PlanningError)
def _planning(exc: planning.PlanningError) -> ResponseReturnValue:
    db.session.rollback()
    return api_error("invalid", str(exc), {exc.field: str(exc)} if exc.field else None)


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
        db.session.commit()  # keeps the token's last use
    elif current_user.is_authenticated:
        g.api_user = current_user._get_current_object()
        if request.method in WRITE_METHODS:
            csrf.protect()
    if request.method in WRITE_METHODS and not request.is_json:
        return api_error("invalid", _("Send a JSON body (Content-Type: application/json)."),
                         status=415)
    return None


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EventError("invalid", _("The data sent must be an object."))
    return data


def _staff(*roles: Role) -> User:
    user: User | None = g.get("api_user")
    if user is None:
        raise EventError("unauthorized", _("Log in or send an API token."))
    if roles and not user.has_role(*roles):
        raise EventError("forbidden", _("You do not have permission to do this."))
    return user


def _visitor() -> str:
    """The citizen: X-Visitor-Token header (for clients without cookies), else the cookie."""
    header = request.headers.get("X-Visitor-Token")
    if header:
        found = read_visitor_id(header)
        if found is None:
            raise EventError("unauthorized", _("The visitor token is not valid."))
        return found
    return visitor_id()


# Citizens ------------------------------------------------------------------------------------


@bp.get("/visitor")
def visitor_token() -> ResponseReturnValue:
    """Issue (or repeat) the visitor token a client without cookies sends as X-Visitor-Token."""
    from qa_live.core.visitor import _serializer

    return jsonify(visitor_token=_serializer().dumps(_visitor()))


@bp.get("/sessions")
def list_sessions() -> ResponseReturnValue:
    """Public sessions of a year (default: this year), optionally of one state."""
    try:
        year = int(request.args.get("year", local_year(utcnow())))
    except ValueError:
        return api_error("invalid", _("year must be a whole number."), {"year": "int"})
    state = request.args.get("state")
    if state is not None and state not in {s.value for s in SessionState}:
        return api_error("invalid", _("Unknown state."), {"state": state})
    sessions = [s for s in planning.sessions_of_year(year, public_only=True)
                if state is None or s.state.value == state]
    return jsonify(sessions=[serialize.session_info(s) for s in sessions])


@bp.get("/sessions/<slug>")
def get_session(slug: str) -> ResponseReturnValue:
    """One public session."""
    session = get_live_session_or_error(slug)
    return jsonify(session=serialize.session_info(session),
                   counts=presence.counts(session.id))


@bp.get("/sessions/<slug>/stream")
def stream(slug: str) -> ResponseReturnValue:
    """What a page shows: the events after ?since=N, or a snapshot (same rule as the socket)."""
    session = get_live_session_or_error(slug)
    since = request.args.get("since")
    if since is not None:
        if not since.isdigit():
            return api_error("invalid", _("since must be a whole number."), {"since": since})
        replay = events.events_since(session.id, int(since), current_app.config["REPLAY_LIMIT"])
        if replay is not None:
            return jsonify(mode="replay", events=replay,
                           seq=replay[-1]["seq"] if replay else int(since),
                           counts=presence.counts(session.id))
    return jsonify(mode="snapshot", snapshot=snapshot(session))


@bp.post("/sessions/<slug>/questions")
def ask(slug: str) -> ResponseReturnValue:
    """Ask: live while the session is live, in advance while the collection window is open."""
    session = get_live_session_or_error(slug)
    data = parse_question(_json())
    # Only an announced session collects in advance; any other is asked live, so a session that
    # is over answers not_live (not precollect_closed).
    source = (QuestionSource.ADVANCE if session.state == SessionState.ANNOUNCED
              else QuestionSource.LIVE)
    question, created = live.submit_question(session, _visitor(), data, source)
    events.commit_and_send()
    body = serialize.own_question(question, live.status_label(question))
    return jsonify(question=body, duplicate=not created), 201 if created else 200


@bp.get("/sessions/<slug>/questions/mine")
def mine(slug: str) -> ResponseReturnValue:
    """The visitor's own questions in the session, with their status."""
    session = get_live_session_or_error(slug)
    return jsonify(questions=my_questions(session, _visitor()))


@bp.post("/sessions/<slug>/questions/<int:question_id>/vote")
def vote(slug: str, question_id: int) -> ResponseReturnValue:
    """Upvote a published question, once per visitor."""
    session = get_live_session_or_error(slug)
    question = db.session.get(Question, question_id)
    if question is None or question.session_id != session.id:
        raise EventError("not_found", _("There is no such question."))
    count = live.vote(question, _visitor())
    db.session.commit()
    presence.mark_vote(session.id, question.id)
    return jsonify(question_id=question.id, upvotes=count)


@bp.post("/sessions/<slug>/questions/<int:question_id>/answers/<int:answer_id>/rating")
def rate_answer(slug: str, question_id: int, answer_id: int) -> ResponseReturnValue:
    """The asker rates an answer to their own question: satisfied, basic or unsatisfied."""
    from qa_live.transcript import ratings

    session = get_live_session_or_error(slug)
    question = db.session.get(Question, question_id)
    if question is None or question.session_id != session.id:
        raise EventError("not_found", _("There is no such question."))
    if not ratings.is_asker(question, _visitor()):
        raise EventError("forbidden", _("Only the citizen who asked this question may rate "
                                        "its answers."))
    answer = next((a for a in question.answers if a.id == answer_id), None)
    if answer is None:
        raise EventError("not_found", _("There is no such answer to this question."))
    value = _json().get("value")
    try:
        parsed = ratings.parse_value(value)
    except live.QuestionRefused as exc:
        raise EventError("invalid", str(exc), {"value": "satisfied|basic|unsatisfied"}) from exc
    rating, created = ratings.rate_answer(question, answer, parsed)
    db.session.commit()
    return jsonify(rating=ratings.rating_json(rating), created=created), 201 if created else 200


# Staff ---------------------------------------------------------------------------------------


@bp.get("/staff/me")
def me() -> ResponseReturnValue:
    """Who the token or login belongs to, with roles and departments."""
    user = _staff()
    return jsonify(id=user.id, login=user.login, display_name=user.display_name,
                   roles=sorted(r.value for r in user.roles),
                   departments=[{"id": d.id, "name": d.name} for d in user.departments])


@bp.get("/staff/departments")
def departments() -> ResponseReturnValue:
    """All departments."""
    _staff()
    rows = db.session.scalars(select(Department).order_by(Department.name))
    return jsonify(departments=[{"id": d.id, "name": d.name, "short_name": d.short_name,
                                 "active": d.active} for d in rows])


def _get_session_or_404(session_id: int) -> LiveSession:
    session = db.session.get(LiveSession, session_id)
    if session is None:
        raise EventError("not_found", _("There is no such session."))
    return session


def _time(data: dict[str, Any], name: str, required: bool = True) -> datetime | None:
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


def _ids(data: dict[str, Any], name: str) -> list[int]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise EventError("invalid", _("%(name)s must be a list of ids.", name=name),
                         {name: "[int]"})
    return value


def _draft(data: dict[str, Any]) -> planning.SessionDraft:
    title = data.get("title")
    if not isinstance(title, str) or not 2 <= len(title.strip()) <= 120:
        raise EventError("invalid", _("The theme needs 2 to 120 characters."), {"title": "str"})
    description = data.get("description", "")
    if not isinstance(description, str) or len(description) > 4000:
        raise EventError("invalid", _("The introduction may have at most 4000 characters."),
                         {"description": "str"})
    guests = data.get("guests", [])
    if not isinstance(guests, list) or not all(
        isinstance(g_, dict) and isinstance(g_.get("name"), str)
        and isinstance(g_.get("title", ""), str) for g_ in guests
    ):
        raise EventError("invalid", _("guests must be a list of {name, title}."),
                         {"guests": "[{name, title}]"})
    mode = data.get("moderation_mode", ModerationMode.PRE.value)
    if mode not in {m.value for m in ModerationMode}:
        raise EventError("invalid", _("Unknown moderation mode."), {"moderation_mode": "pre|open"})
    slug = data.get("slug", "")
    if not isinstance(slug, str) or len(slug) > 64 or (
        slug and not all(c.islower() or c.isdigit() or c == "-" for c in slug)
    ):
        raise EventError("invalid", _("Lower-case letters, digits and '-' only."), {"slug": slug})
    return planning.SessionDraft(
        title=title, description=description,
        scheduled_start=_time(data, "scheduled_start"),  # type: ignore[arg-type]
        scheduled_end=_time(data, "scheduled_end"),  # type: ignore[arg-type]
        department_ids=_ids(data, "department_ids"), host_ids=_ids(data, "host_ids"),
        answerer_ids=_ids(data, "answerer_ids"),
        guests=[(g_["name"][:64], g_.get("title", "")[:120]) for g_ in guests],
        moderation_mode=ModerationMode(mode),
        precollect_opens_at=_time(data, "precollect_opens_at", required=False),
        precollect_closes_at=_time(data, "precollect_closes_at", required=False),
        slug=slug,
    )


@bp.post("/staff/sessions")
def create_session() -> ResponseReturnValue:
    """Plan a session (office)."""
    user = _staff(Role.OFFICE)
    session = planning.create_session(_draft(_json()), user)
    db.session.commit()
    return jsonify(session=serialize.session_info(session)), 201


@bp.get("/staff/sessions/<int:session_id>")
def staff_session(session_id: int) -> ResponseReturnValue:
    """A session with every question the caller may see (the console's snapshot)."""
    user = _staff()
    session = _get_session_or_404(session_id)
    if not access.can_open_console(user, session):
        raise EventError("forbidden", _("You do not have permission to do this."))
    return jsonify(console_snapshot(session, user))


@bp.patch("/staff/sessions/<int:session_id>")
def update_session(session_id: int) -> ResponseReturnValue:
    """Change a planned session (office; before it goes live)."""
    _staff(Role.OFFICE)
    session = _get_session_or_404(session_id)
    planning.update_session(session, _draft(_json()))
    db.session.commit()
    return jsonify(session=serialize.session_info(session))


@bp.post("/staff/sessions/<int:session_id>/announce")
def announce(session_id: int) -> ResponseReturnValue:
    """Announce a planned session to the public (office)."""
    _staff(Role.OFFICE)
    session = _get_session_or_404(session_id)
    planning.announce_session(session)
    db.session.commit()
    return jsonify(session=serialize.session_info(session))


@bp.post("/staff/sessions/<int:session_id>/cancel")
def cancel(session_id: int) -> ResponseReturnValue:
    """Cancel a planned or announced session, with a reason (office)."""
    _staff(Role.OFFICE)
    session = _get_session_or_404(session_id)
    reason = _json().get("reason")
    if not isinstance(reason, str):
        raise EventError("invalid", _("Give a reason for the cancellation."), {"reason": "str"})
    planning.cancel_session(session, reason)
    db.session.commit()
    return jsonify(session=serialize.session_info(session))


@bp.post("/staff/sessions/<int:session_id>/actions/<name>")
def action(session_id: int, name: str) -> ResponseReturnValue:
    """Any live-session command of the console (approve, reject, answer, post, start, end…)."""
    user = _staff()
    session = _get_session_or_404(session_id)
    result = commands.run(name, user, session, _json())
    events.commit_and_send()
    return jsonify(ok=True, **result)


# Follow-ups (线下落实) and second replies; docs/followups.md ----------------------------------


@bp.errorhandler(FollowUpError)
def _follow_up_error(exc: FollowUpError) -> ResponseReturnValue:
    db.session.rollback()
    return api_error(exc.code, str(exc), {exc.field: str(exc)} if exc.field else None)


@bp.get("/staff/follow-ups")
def list_follow_ups() -> ResponseReturnValue:
    """Follow-ups the caller may see: ?view=open|due_soon|overdue|done|all, department, session."""
    user = _staff()
    view = request.args.get("view", "open")
    if view not in followups.VIEWS:
        return api_error("invalid", _("Unknown list."), {"view": "|".join(followups.VIEWS)})
    rows = followups.list_follow_ups(user, view,
                                     request.args.get("department_id", type=int),
                                     request.args.get("session_id", type=int))
    return jsonify(follow_ups=[followup_api.follow_up_json(f) for f in rows])


@bp.post("/staff/follow-ups")
def create_follow_up() -> ResponseReturnValue:
    """Open a follow-up on a question."""
    follow_up = followup_api.create(_staff(), _json())
    db.session.commit()
    return jsonify(follow_up=followup_api.follow_up_json(follow_up, history=True)), 201


@bp.get("/staff/follow-ups/<int:follow_up_id>")
def get_follow_up(follow_up_id: int) -> ResponseReturnValue:
    """One follow-up with its history."""
    follow_up = followup_api.get_follow_up(_staff(), follow_up_id)
    return jsonify(follow_up=followup_api.follow_up_json(follow_up, history=True))


@bp.patch("/staff/follow-ups/<int:follow_up_id>")
def update_follow_up(follow_up_id: int) -> ResponseReturnValue:
    """Change department, assignee, due date, notes, or status (open, in_progress)."""
    user = _staff()
    follow_up = followup_api.get_follow_up(user, follow_up_id)
    followup_api.update(user, follow_up, _json())
    db.session.commit()
    return jsonify(follow_up=followup_api.follow_up_json(follow_up, history=True))


@bp.post("/staff/follow-ups/<int:follow_up_id>/close")
def close_follow_up(follow_up_id: int) -> ResponseReturnValue:
    """Close: done with a second reply (published), or impossible with a reason."""
    user = _staff()
    follow_up = followup_api.get_follow_up(user, follow_up_id)
    followup_api.close(user, follow_up, _json())
    events.commit_and_send()
    if followups.deliver_notification(follow_up):
        db.session.commit()
    return jsonify(follow_up=followup_api.follow_up_json(follow_up, history=True))


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """The OpenAPI description of this API."""
    from qa_live.api.openapi import spec

    return jsonify(spec())
