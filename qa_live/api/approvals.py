"""/api/v1/staff: the office's approval of sessions its departments plan (planning/approval.py).

The operations check who may act (only the office approves or sends back; a planner sends their
departments' drafts) and answer a refusal with its own message.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from qa_live.api.common import bp, get_session_or_404, json_body, staff_user
from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.live import serialize
from qa_live.live.socket_common import EventError
from qa_live.planning import approval
from qa_live.planning.models import LiveSession


def approval_json(session: LiveSession) -> dict[str, Any]:
    """A session's approval state and its history, oldest step first."""
    return {"state": session.approval.value, "label": approval.state_label(session.approval),
            "history": [approval.step_json(step) for step in approval.history(session)]}


def _answer(session: LiveSession) -> ResponseReturnValue:
    return jsonify(session=serialize.session_info(session), approval=approval_json(session))


@bp.get("/staff/approvals")
def approvals() -> ResponseReturnValue:
    """The office's queue: sessions sent for approval, each with its history."""
    staff_user(Role.OFFICE)
    return jsonify(sessions=[
        {"session": serialize.session_info(s), "approval": approval_json(s)}
        for s in approval.awaiting()])


@bp.get("/staff/sessions/<int:session_id>/approval")
def approval_of(session_id: int) -> ResponseReturnValue:
    """A session's approval state and history (the office, or a planner of its departments)."""
    user = staff_user(Role.OFFICE, Role.PLANNER)
    session = get_session_or_404(session_id)
    if not (user.has_role(Role.OFFICE) or approval.may_view(user, session)):
        raise EventError("forbidden", _("You do not have permission to do this."))
    return jsonify(approval_json(session))


@bp.post("/staff/sessions/<int:session_id>/submit")
def submit(session_id: int) -> ResponseReturnValue:
    """Send a department's draft to the office for approval (its planner)."""
    user = staff_user()
    session = get_session_or_404(session_id)
    approval.submit(session, user)
    db.session.commit()
    return _answer(session)


@bp.post("/staff/sessions/<int:session_id>/approve")
def approve(session_id: int) -> ResponseReturnValue:
    """Approve a session sent for approval (the office only)."""
    user = staff_user()
    session = get_session_or_404(session_id)
    approval.approve(session, user)
    db.session.commit()
    return _answer(session)


@bp.post("/staff/sessions/<int:session_id>/return")
def send_back(session_id: int) -> ResponseReturnValue:
    """Send a session back to its department with a reason (the office only)."""
    user = staff_user()
    session = get_session_or_404(session_id)
    approval.send_back(session, user, json_body().get("reason"))
    db.session.commit()
    return _answer(session)
