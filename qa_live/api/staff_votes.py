"""/api/v1/staff/votes: the office prepares, opens, closes and acts on public votes.

A department's staff may propose a session's themes (kind "theme"); the rest is the office's.
The rules are qa_live/votes/services.py's: the office's pages call the same operations.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from qa_live.api.common import bp, get_session_or_404, json_body, staff_user, time_field
from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import serialize
from qa_live.live.socket_common import EventError, int_field
from qa_live.votes import payloads, services
from qa_live.votes.models import Poll


def _vote(poll_id: int) -> Poll:
    poll = db.session.get(Poll, poll_id)
    if poll is None or poll.kind not in services.PUBLIC_KINDS:
        raise EventError("not_found", _("There is no such vote."))
    return poll


def _text(data: dict[str, Any], name: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise EventError("invalid", _("%(name)s must be text.", name=name), {name: "str"})
    return value


@bp.get("/staff/votes")
def staff_list_votes() -> ResponseReturnValue:
    """Every public vote, drafts included, with results (office)."""
    staff_user(Role.OFFICE)
    now = utcnow()
    return jsonify(votes=[payloads.vote_payload(p, now, staff=True)
                          for p in services.staff_votes()])


@bp.post("/staff/votes")
def staff_create_vote() -> ResponseReturnValue:
    """Prepare a departments vote (office) or propose a session's themes (office, department)."""
    user = staff_user()
    data = json_body()
    kind = data.get("kind")
    description = _text(data, "description", "")
    closes_at = time_field(data, "closes_at", required=False)
    if kind == "departments":
        ids = data.get("department_ids", [])
        if not isinstance(ids, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in ids):
            raise EventError("invalid", _("%(name)s must be a list of ids.",
                                          name="department_ids"), {"department_ids": "[int]"})
        # The operation checks the year's and the number's type and range.
        poll = services.create_departments_vote(
            data.get("year"), _text(data, "question"), ids,  # type: ignore[arg-type]
            data.get("max_choices", 1), user, description, closes_at)
    elif kind == "theme":
        session = get_session_or_404(int_field(data, "session_id"))  # type: ignore[arg-type]
        poll = services.create_theme_vote(session, _text(data, "question"), data.get("themes"),
                                          user, description, closes_at)
    else:
        raise EventError("invalid", _("Choose the kind of vote."),
                         {"kind": "departments, theme"})
    db.session.commit()
    return jsonify(vote=payloads.vote_payload(poll, utcnow(), staff=True)), 201


@bp.get("/staff/votes/<int:poll_id>")
def staff_get_vote(poll_id: int) -> ResponseReturnValue:
    """One vote with its results so far (office)."""
    staff_user(Role.OFFICE)
    return jsonify(vote=payloads.vote_payload(_vote(poll_id), utcnow(), staff=True))


@bp.post("/staff/votes/<int:poll_id>/open")
def staff_open_vote(poll_id: int) -> ResponseReturnValue:
    """Open the vote to citizens (office)."""
    poll = services.open_vote(_vote(poll_id), staff_user())
    db.session.commit()
    return jsonify(vote=payloads.vote_payload(poll, utcnow(), staff=True))


@bp.post("/staff/votes/<int:poll_id>/close")
def staff_close_vote(poll_id: int) -> ResponseReturnValue:
    """Close the vote; its results become public (office)."""
    poll = services.close_vote(_vote(poll_id), staff_user())
    db.session.commit()
    return jsonify(vote=payloads.vote_payload(poll, utcnow(), staff=True))


@bp.post("/staff/votes/<int:poll_id>/draft-plan")
def staff_draft_plan(poll_id: int) -> ResponseReturnValue:
    """Draft next year's sessions for the `top` departments by votes (office)."""
    top = int_field(json_body(), "top")
    sessions = services.draft_plan(_vote(poll_id), top, staff_user())  # type: ignore[arg-type]
    db.session.commit()
    return jsonify(sessions=[serialize.session_info(s) for s in sessions]), 201


@bp.post("/staff/votes/<int:poll_id>/apply-theme")
def staff_apply_theme(poll_id: int) -> ResponseReturnValue:
    """Make the winning theme (option_id: one of the tied leaders) the session's title."""
    option_id = int_field(json_body(), "option_id", required=False)
    session = services.apply_theme(_vote(poll_id), staff_user(), option_id)
    db.session.commit()
    return jsonify(session=serialize.session_info(session))
