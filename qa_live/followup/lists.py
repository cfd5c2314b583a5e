"""The follow-up lists staff see (open, due soon, overdue, closed) and the choices on a form."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, select

from qa_live.auth.models import Role, User
from qa_live.extensions import db
from qa_live.followup import calendar
from qa_live.followup.dates import CLOSED_STATUSES, OPEN_STATUSES, due_soon_limit
from qa_live.followup.models import FollowUp, NotifyState
from qa_live.live import access
from qa_live.live.models import Question, QuestionStatus
from qa_live.planning.models import Department, LiveSession

VIEWS = ("open", "due_soon", "overdue", "done", "all")


def department_choices(user: User) -> list[Department]:
    """The departments a user may hand a follow-up to: all active ones, or an answerer's own."""
    rows = db.session.scalars(select(Department).where(Department.active)
                              .order_by(Department.name)).all()
    if access.sees_all(user):
        return list(rows)
    return [d for d in rows if d.id in user.department_ids]


def assignee_choices(department_ids: set[int] | None = None) -> list[User]:
    """Active staff who belong to a department (of the given ones, when given)."""
    users = db.session.scalars(select(User).where(User.active)
                               .order_by(User.display_name)).all()
    return [u for u in users if u.departments and (
        department_ids is None or u.department_ids & department_ids)]




def visible(user: User) -> Select[FollowUp]:
    """The follow-ups a user may see: all for office and hosts, an answerer's departments'."""
    query = select(FollowUp)
    if not access.sees_all(user):
        query = query.where(FollowUp.department_id.in_(sorted(user.department_ids) or [-1]))
    return query


def filtered(query: Select[FollowUp], view: str, today: date,
             department_id: int | None = None,
             session_id: int | None = None) -> Select[FollowUp]:
    """Narrow a follow-up query to one list (open, due soon, overdue, done, all)."""
    if department_id is not None:
        query = query.where(FollowUp.department_id == department_id)
    if session_id is not None:
        query = query.where(FollowUp.session_id == session_id)
    if view == "open":
        query = query.where(FollowUp.status.in_(OPEN_STATUSES))
    elif view == "due_soon":
        query = query.where(FollowUp.status.in_(OPEN_STATUSES), FollowUp.due_date >= today,
                            FollowUp.due_date <= due_soon_limit(today))
    elif view == "overdue":
        query = query.where(FollowUp.status.in_(OPEN_STATUSES), FollowUp.due_date < today)
    elif view == "done":
        query = query.where(FollowUp.status.in_(CLOSED_STATUSES))
    if view == "done":
        return query.order_by(FollowUp.closed_at.desc(), FollowUp.id.desc())
    return query.order_by(FollowUp.due_date, FollowUp.id)


def list_follow_ups(user: User, view: str = "open", department_id: int | None = None,
                    session_id: int | None = None, today: date | None = None,
                    limit: int = 500) -> list[FollowUp]:
    """One of the lists, as the user may see it."""
    today = today or calendar.local_today()
    query = filtered(visible(user), view, today, department_id, session_id).limit(limit)
    return list(db.session.scalars(query).unique())


def list_counts(user: User, department_id: int | None = None, session_id: int | None = None,
                today: date | None = None) -> dict[str, int]:
    """How many follow-ups each list holds, for the tabs."""
    today = today or calendar.local_today()
    counts = {}
    for view in VIEWS:
        query = filtered(visible(user), view, today, department_id, session_id)
        counts[view] = db.session.scalar(
            select(db.func.count()).select_from(query.order_by(None).subquery())) or 0
    return counts


def overdue(today: date | None = None, department_id: int | None = None) -> list[FollowUp]:
    """Every overdue follow-up (for the cron job), oldest due date first."""
    today = today or calendar.local_today()
    return list(db.session.scalars(filtered(select(FollowUp), "overdue", today, department_id))
                .unique())


def to_notify(user: User) -> list[FollowUp]:
    """Second replies out whose citizen still has to be told, oldest first."""
    query = visible(user).where(FollowUp.notify_state == NotifyState.PENDING)
    return list(db.session.scalars(query.order_by(FollowUp.closed_at, FollowUp.id)).unique())


def session_questions(session: LiveSession) -> list[tuple[Question, FollowUp | None]]:
    """A session's valid questions with their follow-up, if any (for the office's overview)."""
    questions = db.session.scalars(
        select(Question).where(Question.session_id == session.id,
                               Question.status != QuestionStatus.REJECTED)
        .order_by(Question.id)).all()
    follow_ups = {f.question_id: f for f in db.session.scalars(
        select(FollowUp).where(FollowUp.session_id == session.id)).unique()}
    return [(q, follow_ups.get(q.id)) for q in questions]


def any_visible(user: User) -> bool:
    """Whether the user may see follow-ups at all (staff with a role that has them)."""
    return access.sees_all(user) or bool(user.has_role(Role.ANSWERER) and user.department_ids)
