"""/api/v1/staff: the caller, departments, planning sessions and the console's commands.

A draft's rules are planning.services' (the office's form hands in the same SessionDraft);
this module only reads the JSON into one.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from qa_live.api.approvals import approval_json
from qa_live.api.common import bp, get_session_or_404, json_body, staff_user, time_field
from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.live import access, commands, events, serialize
from qa_live.live.snapshots import (
    console_snapshot,
)
from qa_live.live.socket_common import EventError
from qa_live.planning import services as planning
from qa_live.planning.models import Department, ModerationMode


@bp.get("/staff/me")
def me() -> ResponseReturnValue:
    """Who the token or login belongs to, with roles and departments."""
    user = staff_user()
    return jsonify(id=user.id, login=user.login, display_name=user.display_name,
                   roles=sorted(r.value for r in user.roles),
                   departments=[{"id": d.id, "name": d.name} for d in user.departments])


@bp.get("/staff/departments")
def departments() -> ResponseReturnValue:
    """All departments."""
    staff_user()
    rows = db.session.scalars(select(Department).order_by(Department.name))
    return jsonify(departments=[{"id": d.id, "name": d.name, "short_name": d.short_name,
                                 "active": d.active} for d in rows])


def _ids(data: dict[str, Any], name: str) -> list[int]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise EventError("invalid", _("%(name)s must be a list of ids.", name=name),
                         {name: "[int]"})
    return value


def _draft(data: dict[str, Any]) -> planning.SessionDraft:
    # Types only: what a draft may hold is planning.services' rule, the form's too.
    title = data.get("title")
    if not isinstance(title, str):
        raise EventError("invalid", _("%(name)s must be text.", name="title"), {"title": "str"})
    description = data.get("description", "")
    if not isinstance(description, str):
        raise EventError("invalid", _("%(name)s must be text.", name="description"),
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
    if not isinstance(slug, str):
        raise EventError("invalid", _("%(name)s must be text.", name="slug"), {"slug": "str"})
    reviewed = data.get("reviewed", False)
    if not isinstance(reviewed, bool):
        raise EventError("invalid", _("%(name)s must be true or false.", name="reviewed"),
                         {"reviewed": "bool"})
    stream_url = data.get("stream_url") or ""
    if not isinstance(stream_url, str):
        raise EventError("invalid", _("%(name)s must be text.", name="stream_url"),
                         {"stream_url": "str"})
    return planning.SessionDraft(
        title=title, description=description,
        scheduled_start=time_field(data, "scheduled_start"),  # type: ignore[arg-type]
        scheduled_end=time_field(data, "scheduled_end"),  # type: ignore[arg-type]
        department_ids=_ids(data, "department_ids"), host_ids=_ids(data, "host_ids"),
        answerer_ids=_ids(data, "answerer_ids"), editor_ids=_ids(data, "editor_ids"),
        reviewer_ids=_ids(data, "reviewer_ids"), director_ids=_ids(data, "director_ids"),
        reviewed=reviewed,
        guests=[(g_["name"][:64], g_.get("title", "")[:120]) for g_ in guests],
        moderation_mode=ModerationMode(mode),
        precollect_opens_at=time_field(data, "precollect_opens_at", required=False),
        precollect_closes_at=time_field(data, "precollect_closes_at", required=False),
        slug=slug, stream_url=stream_url,
    )


@bp.post("/staff/sessions")
def create_session() -> ResponseReturnValue:
    """Plan a session (office; a department's planner for their departments, to be approved)."""
    user = staff_user(Role.OFFICE, Role.PLANNER)
    session = planning.create_session(_draft(json_body()), user)
    db.session.commit()
    return jsonify(session=serialize.session_info(session), approval=approval_json(session)), 201


@bp.get("/staff/sessions/<int:session_id>")
def staff_session(session_id: int) -> ResponseReturnValue:
    """A session with every question the caller may see (the console's snapshot)."""
    user = staff_user()
    session = get_session_or_404(session_id)
    if not access.can_open_console(user, session):
        raise EventError("forbidden", _("You do not have permission to do this."))
    return jsonify(console_snapshot(session, user))


@bp.patch("/staff/sessions/<int:session_id>")
def update_session(session_id: int) -> ResponseReturnValue:
    """Change a planned session (office before it goes live; a planner their drafts)."""
    user = staff_user(Role.OFFICE, Role.PLANNER)
    session = get_session_or_404(session_id)
    planning.update_session(session, _draft(json_body()), actor=user)
    db.session.commit()
    return jsonify(session=serialize.session_info(session), approval=approval_json(session))


@bp.post("/staff/sessions/<int:session_id>/announce")
def announce(session_id: int) -> ResponseReturnValue:
    """Announce a planned session to the public (office)."""
    user = staff_user(Role.OFFICE)
    session = get_session_or_404(session_id)
    planning.announce_session(session, actor=user)
    db.session.commit()
    return jsonify(session=serialize.session_info(session))


@bp.post("/staff/sessions/<int:session_id>/cancel")
def cancel(session_id: int) -> ResponseReturnValue:
    """Cancel a planned or announced session, with a reason (office)."""
    user = staff_user(Role.OFFICE)
    session = get_session_or_404(session_id)
    reason = json_body().get("reason")
    if not isinstance(reason, str):
        raise EventError("invalid", _("Give a reason for the cancellation."), {"reason": "str"})
    planning.cancel_session(session, reason, actor=user)
    db.session.commit()
    return jsonify(session=serialize.session_info(session))


@bp.post("/staff/sessions/<int:session_id>/actions/<name>")
def action(session_id: int, name: str) -> ResponseReturnValue:
    """Any live-session command of the console (approve, reject, answer, post, start, end…)."""
    user = staff_user()
    session = get_session_or_404(session_id)
    result = commands.run(name, user, session, json_body())
    events.commit_and_send()
    return jsonify(ok=True, **result)
