"""/api/v1/staff/follow-ups: follow-ups (线下落实) and second replies; docs/followups.md."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from qa_live.api.common import api_error, bp, json_body, staff_user
from qa_live.extensions import db
from qa_live.followup import api as followup_api
from qa_live.followup import lists as followup_lists
from qa_live.followup import services as followups
from qa_live.live import events


@bp.get("/staff/follow-ups")
def list_follow_ups() -> ResponseReturnValue:
    """Follow-ups the caller may see: ?view=open|due_soon|overdue|done|all, department, session."""
    user = staff_user()
    view = request.args.get("view", "open")
    if view not in followup_lists.VIEWS:
        return api_error("invalid", _("Unknown list."), {"view": "|".join(followup_lists.VIEWS)})
    rows = followup_lists.list_follow_ups(user, view,
                                     request.args.get("department_id", type=int),
                                     request.args.get("session_id", type=int))
    return jsonify(follow_ups=[followup_api.follow_up_json(f) for f in rows])


@bp.post("/staff/follow-ups")
def create_follow_up() -> ResponseReturnValue:
    """Open a follow-up on a question."""
    follow_up = followup_api.create(staff_user(), json_body())
    db.session.commit()
    return jsonify(follow_up=followup_api.follow_up_json(follow_up, history=True)), 201


@bp.get("/staff/follow-ups/<int:follow_up_id>")
def get_follow_up(follow_up_id: int) -> ResponseReturnValue:
    """One follow-up with its history."""
    follow_up = followup_api.get_follow_up(staff_user(), follow_up_id)
    return jsonify(follow_up=followup_api.follow_up_json(follow_up, history=True))


@bp.patch("/staff/follow-ups/<int:follow_up_id>")
def update_follow_up(follow_up_id: int) -> ResponseReturnValue:
    """Change department, assignee, due date, notes, or status (open, in_progress)."""
    user = staff_user()
    follow_up = followup_api.get_follow_up(user, follow_up_id)
    followup_api.update(user, follow_up, json_body())
    db.session.commit()
    return jsonify(follow_up=followup_api.follow_up_json(follow_up, history=True))


@bp.post("/staff/follow-ups/<int:follow_up_id>/close")
def close_follow_up(follow_up_id: int) -> ResponseReturnValue:
    """Close: done with a second reply (published), or impossible with a reason."""
    user = staff_user()
    follow_up = followup_api.get_follow_up(user, follow_up_id)
    followup_api.close(user, follow_up, json_body())
    events.commit_and_send()
    if followups.deliver_notification(follow_up):
        db.session.commit()
    return jsonify(follow_up=followup_api.follow_up_json(follow_up, history=True))
