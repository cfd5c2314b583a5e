"""The office's approval pages: the queue of departments' sessions, and the steps of approval.

On the office blueprint (office_views.py); the rules are planning/approval.py's, the same the
JSON API applies.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from qa_live.auth.access import role_required, staff_required
from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.planning import approval
from qa_live.planning.errors import PlanningError
from qa_live.planning.forms import ActionForm, ReturnForm
from qa_live.planning.office_views import bp, get_session_or_404


@bp.get("/approvals")
@role_required(Role.OFFICE)
def approvals() -> ResponseReturnValue:
    """Sessions the departments sent for approval, the longest waiting first, with history."""
    sessions = approval.awaiting()
    return render_template(
        "office/approvals.html", sessions=sessions,
        histories={s.id: approval.history(s) for s in sessions},
        action_form=ActionForm(), return_form=ReturnForm(),
        action_label=approval.action_label,
    )


def _back(session_id: int, to_queue: bool = False) -> ResponseReturnValue:
    if to_queue:
        return redirect(url_for("office.approvals"))
    return redirect(url_for("office.session_detail", session_id=session_id))


@bp.post("/sessions/<int:session_id>/submit")
@staff_required
def session_submit(session_id: int) -> ResponseReturnValue:
    """A department's planner sends the draft to the office."""
    session = get_session_or_404(session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        approval.submit(session, current_user)
    except PlanningError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Sent to the office for approval."), "success")
    return _back(session.id)


@bp.post("/sessions/<int:session_id>/approve")
@role_required(Role.OFFICE)
def session_approve(session_id: int) -> ResponseReturnValue:
    """The office approves a department's session."""
    session = get_session_or_404(session_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        approval.approve(session, current_user)
    except PlanningError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Approved: the session may now be announced."), "success")
    return _back(session.id)


@bp.post("/sessions/<int:session_id>/return")
@role_required(Role.OFFICE)
def session_return(session_id: int) -> ResponseReturnValue:
    """The office sends a department's session back with the reason."""
    session = get_session_or_404(session_id)
    form = ReturnForm()
    if not form.validate_on_submit():
        flash(_("Say what the department should change."), "error")
        return _back(session.id)
    try:
        approval.send_back(session, current_user, form.reason.data)
    except PlanningError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("Sent back to the department."), "success")
    return _back(session.id, to_queue=True)
