"""The office's approval of sessions a department plans: submit, approve, send back, history.

A department's planner (Role.PLANNER) drafts sessions of their own departments only; such a
session waits for the office's approval before it may be announced, and the office approves it
or sends it back with a reason. The office's own sessions need no approval (NOT_REQUIRED): the
office is the approver. Every step is kept (ApprovalStep, the history the office's queue shows)
and audited. Operations flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update

from qa_live.audit import services as audit
from qa_live.auth.models import Role, User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.planning.errors import PlanningError
from qa_live.planning.models import (
    ApprovalState,
    ApprovalStep,
    LiveSession,
    SessionState,
    session_departments,
)

REASON_MAX = 500
#: States a planner may send for approval from.
SENDABLE = frozenset({ApprovalState.DRAFT, ApprovalState.RETURNED})


# The planner's rule ------------------------------------------------------------------------------


def check_planner(actor: User | None, department_ids: Iterable[int]) -> None:
    """A department's planner plans for their own departments only; the office for all."""
    if actor is None or actor.has_role(Role.OFFICE):
        return
    if not actor.has_role(Role.PLANNER):
        raise PlanningError(_("Only the office and departments' planners plan sessions."),
                            code="forbidden")
    if set(department_ids) - actor.department_ids:
        raise PlanningError(_("You may plan sessions only for your own department."),
                            "departments", code="forbidden")


def check_planner_edit(session: LiveSession, actor: User | None) -> None:
    """A planner changes only drafts of their departments that are not the office's own."""
    if actor is None or actor.has_role(Role.OFFICE):
        return
    if session.state != SessionState.DRAFT or session.approval == ApprovalState.NOT_REQUIRED:
        raise PlanningError(_("Only the office may change this session."), code="forbidden")
    check_planner(actor, [d.id for d in session.departments])


def reopen_after_edit(session: LiveSession, actor: User | None) -> None:
    """A planner's change to a session sent or approved takes it back to draft (sent again)."""
    if actor is None or actor.has_role(Role.OFFICE):
        return
    if session.approval in (ApprovalState.SUBMITTED, ApprovalState.APPROVED):
        session.approval = ApprovalState.DRAFT
        _step(session, "reopened", actor, "", utcnow())


def may_edit(user: User, session: LiveSession) -> bool:
    """The office edits before the session goes live; a planner their departments' drafts."""
    if session.state not in (SessionState.DRAFT, SessionState.ANNOUNCED):
        return False
    try:
        check_planner_edit(session, user)
    except PlanningError:
        return False
    return user.has_role(Role.OFFICE, Role.PLANNER)


def may_view(user: User, session: LiveSession) -> bool:
    """A planner sees the sessions of their departments."""
    return bool({d.id for d in session.departments} & user.department_ids)


# The steps ------------------------------------------------------------------------------------


def _step(session: LiveSession, action: str, actor: User, reason: str,
          now: datetime) -> ApprovalStep:
    step = ApprovalStep(session_id=session.id, action=action, actor_id=actor.id, reason=reason,
                        at=now)
    db.session.add(step)
    db.session.flush()
    audit.record(f"session_{action}", user=actor, target_type="session", target_id=session.id,
                 session_id=session.id, detail={"reason": reason} if reason else None)
    return step


def _move(session: LiveSession, before: Iterable[ApprovalState], after: ApprovalState,
          refusal: str) -> None:
    """Change the approval state once: a conditional UPDATE (still in one of `before`?), so of
    two people acting on the same session at the same moment (two office staff, one approving
    and one sending back) the database lets one through and the other is refused."""
    result = db.session.execute(
        update(LiveSession)
        .where(LiveSession.id == session.id, LiveSession.state == SessionState.DRAFT,
               LiveSession.approval.in_(list(before)))
        .values(approval=after)
        .execution_options(synchronize_session=False))
    if not getattr(result, "rowcount", 0):
        raise PlanningError(refusal, code="bad_transition")
    session.approval = after


def submit(session: LiveSession, actor: User, now: datetime | None = None) -> LiveSession:
    """Send a department's draft to the office for approval."""
    check_planner_edit(session, actor)
    refusal = _("Only a draft that is not waiting for approval can be sent.")
    if session.state != SessionState.DRAFT or session.approval not in SENDABLE:
        raise PlanningError(refusal, code="bad_transition")
    _move(session, SENDABLE, ApprovalState.SUBMITTED, refusal)
    _step(session, "submitted", actor, "", now or utcnow())
    return session


def _office_decides(session: LiveSession, actor: User) -> str:
    """Refuse anyone but the office, and a session not waiting; the refusal's text if it was."""
    if not actor.has_role(Role.OFFICE):
        raise PlanningError(_("Only the office approves sessions."), code="forbidden")
    refusal = _("Only a session sent for approval can be approved or sent back.")
    if session.state != SessionState.DRAFT or session.approval != ApprovalState.SUBMITTED:
        raise PlanningError(refusal, code="bad_transition")
    return refusal


def approve(session: LiveSession, actor: User, now: datetime | None = None) -> LiveSession:
    """The office approves a department's session: it may now be announced."""
    refusal = _office_decides(session, actor)
    _move(session, [ApprovalState.SUBMITTED], ApprovalState.APPROVED, refusal)
    _step(session, "approved", actor, "", now or utcnow())
    return session


def send_back(session: LiveSession, actor: User, reason: object,
              now: datetime | None = None) -> LiveSession:
    """The office sends a department's session back, saying what to change."""
    refusal = _office_decides(session, actor)
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise PlanningError(_("Say what the department should change."), "reason")
    if len(text) > REASON_MAX:
        raise PlanningError(_("A reason may have at most %(n)d characters.", n=REASON_MAX),
                            "reason")
    _move(session, [ApprovalState.SUBMITTED], ApprovalState.RETURNED, refusal)
    _step(session, "returned", actor, text, now or utcnow())
    return session


# Reading --------------------------------------------------------------------------------------


def awaiting() -> list[LiveSession]:
    """The office's queue: sessions sent for approval, the longest waiting first."""
    rows = db.session.scalars(
        select(LiveSession).where(LiveSession.approval == ApprovalState.SUBMITTED,
                                  LiveSession.state == SessionState.DRAFT)
    ).all()
    sent = {s.id: _last(s, "submitted") for s in rows}
    return sorted(rows, key=lambda s: (sent[s.id], s.id))


def _last(session: LiveSession, action: str) -> datetime:
    at = db.session.scalar(select(db.func.max(ApprovalStep.at)).where(
        ApprovalStep.session_id == session.id, ApprovalStep.action == action))
    return at or session.created_at


def history(session: LiveSession) -> list[ApprovalStep]:
    """Every step of a session's approval, oldest first."""
    return list(db.session.scalars(select(ApprovalStep).where(
        ApprovalStep.session_id == session.id).order_by(ApprovalStep.at, ApprovalStep.id)))


def departments_drafts(user: User) -> list[LiveSession]:
    """The drafts of a planner's departments, soonest first (their workbench)."""
    if not user.department_ids:
        return []
    ids = select(session_departments.c.session_id).where(
        session_departments.c.department_id.in_(user.department_ids))
    return list(db.session.scalars(
        select(LiveSession).where(LiveSession.id.in_(ids),
                                  LiveSession.state == SessionState.DRAFT,
                                  LiveSession.approval != ApprovalState.NOT_REQUIRED)
        .order_by(LiveSession.scheduled_start)))


def state_label(state: ApprovalState) -> str:
    """The translated name of an approval state."""
    return {
        ApprovalState.NOT_REQUIRED: _("planned by the office"),
        ApprovalState.DRAFT: _("department's draft, not sent yet"),
        ApprovalState.SUBMITTED: _("waiting for the office's approval"),
        ApprovalState.APPROVED: _("approved by the office"),
        ApprovalState.RETURNED: _("sent back to the department"),
    }[state]


def action_label(action: str) -> str:
    """The translated name of a step."""
    return {
        "submitted": _("sent for approval"), "approved": _("approved"),
        "returned": _("sent back"), "reopened": _("changed after sending: to be sent again"),
    }.get(action, action)


def step_json(step: ApprovalStep) -> dict[str, object]:
    """A step for the API."""
    return {"action": step.action, "actor": step.actor.display_name if step.actor else None,
            "actor_id": step.actor_id, "reason": step.reason, "at": step.at.isoformat()}
