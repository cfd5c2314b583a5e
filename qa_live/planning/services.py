"""Planning operations: departments, sessions and their states. They flush; callers commit.

Each operation checks its input by the rules here (the office's form and the JSON API hand in
the same SessionDraft, so they accept and refuse the same drafts) and writes its audit entry.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from qa_live.audit import services as audit
from qa_live.auth.models import Role, User
from qa_live.core.signals import session_facts_changed
from qa_live.core.timeutil import local_year, utcnow
from qa_live.extensions import db
from qa_live.planning import streams
from qa_live.planning.approval import check_planner, check_planner_edit, reopen_after_edit
from qa_live.planning.errors import PlanningError
from qa_live.planning.models import (
    ANNOUNCEABLE,
    SESSION_TRANSITIONS,
    AnnualPlan,
    ApprovalState,
    Department,
    Duty,
    LiveSession,
    ModerationMode,
    SessionGuest,
    SessionStaff,
    SessionState,
    session_departments,
)

MAX_SESSION_HOURS = 12
#: A session's theme, stripped: this many characters.
TITLE_LENGTH = (2, 120)
#: A session's introduction: at most this many characters.
DESCRIPTION_MAX = 4000
#: A session's own address (/s/<slug>): lower-case letters, digits and '-', not first.
SLUG_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")
SLUG_LENGTH = (3, 64)


# Departments ---------------------------------------------------------------------------------

#: Longest department name and short name (the form and the API check the same).
DEPARTMENT_NAME_MAX = 80
DEPARTMENT_SHORT_NAME_MAX = 20


def _department_names(name: object, short_name: object) -> tuple[str, str]:
    """Check a department's names (type, presence, length); return them stripped."""
    if not isinstance(name, str) or not name.strip():
        raise PlanningError(_("Give the department a name."), "name")
    if len(name.strip()) > DEPARTMENT_NAME_MAX:
        raise PlanningError(_("A department name may have at most %(n)d characters.",
                              n=DEPARTMENT_NAME_MAX), "name")
    if not isinstance(short_name, str):
        raise PlanningError(_("The short name must be text."), "short_name")
    if len(short_name.strip()) > DEPARTMENT_SHORT_NAME_MAX:
        raise PlanningError(_("A short name may have at most %(n)d characters.",
                              n=DEPARTMENT_SHORT_NAME_MAX), "short_name")
    return name.strip(), short_name.strip()


def create_department(name: str, short_name: str = "", actor: User | None = None) -> Department:
    """Add a department, with its audit entry (the office's form and the API alike)."""
    name, short_name = _department_names(name, short_name)
    if db.session.scalar(select(Department).where(Department.name == name)):
        raise PlanningError(_("A department with this name exists already."), "name")
    department = Department(name=name, short_name=short_name)
    db.session.add(department)
    db.session.flush()
    audit.record("department_create", user=actor, target_type="department",
                 target_id=department.id, detail={"name": department.name})
    return department


def rename_department(department: Department, name: str, short_name: str,
                      actor: User | None = None) -> Department:
    """Change a department's names, with its audit entry."""
    name, short_name = _department_names(name, short_name)
    clash = db.session.scalar(
        select(Department).where(Department.name == name, Department.id != department.id)
    )
    if clash:
        raise PlanningError(_("A department with this name exists already."), "name")
    old = department.name
    renamed = old != name
    department.name = name
    department.short_name = short_name
    db.session.flush()
    audit.record("department_update", user=actor, target_type="department",
                 target_id=department.id, detail={"name": department.name, "old_name": old})
    if renamed:  # every session page naming it shows the new name
        session_ids = list(db.session.scalars(
            select(session_departments.c.session_id)
            .where(session_departments.c.department_id == department.id)))
        for session_id in session_ids:
            session_facts_changed.send(session_id, reason="department_renamed")
    return department


def set_department_active(department: Department, active: bool,
                          actor: User | None = None) -> Department:
    """Deactivate (or reactivate) a department, with its audit entry; past sessions keep it."""
    department.active = active
    db.session.flush()
    audit.record("department_active", user=actor, target_type="department",
                 target_id=department.id, detail={"active": department.active})
    return department


# Sessions ------------------------------------------------------------------------------------


@dataclass
class SessionDraft:
    """What the office (or a department's planner) types in to plan a session."""

    title: str
    description: str
    scheduled_start: datetime
    scheduled_end: datetime
    department_ids: Sequence[int]
    host_ids: Sequence[int] = ()
    answerer_ids: Sequence[int] = ()
    editor_ids: Sequence[int] = ()
    reviewer_ids: Sequence[int] = ()
    director_ids: Sequence[int] = ()
    guests: Sequence[tuple[str, str]] = ()
    moderation_mode: ModerationMode = ModerationMode.PRE
    # Answers and host posts wait for a reviewer (审核) before they are published.
    reviewed: bool = False
    precollect_opens_at: datetime | None = None
    precollect_closes_at: datetime | None = None
    slug: str = ""
    stream_url: str = ""


def new_slug(start: datetime) -> str:
    """A public slug: the date and a short random part, unguessable before it is announced."""
    return f"{start:%Y%m%d}-{secrets.token_hex(3)}"


def _check_text(draft: SessionDraft) -> None:
    """The theme, the introduction and the address: the rules the form and the API share."""
    low, high = TITLE_LENGTH
    if not low <= len(draft.title.strip()) <= high:
        raise PlanningError(_("The theme needs %(low)d to %(high)d characters.", low=low,
                              high=high), "title")
    if len(draft.description) > DESCRIPTION_MAX:
        raise PlanningError(_("The introduction may have at most %(n)d characters.",
                              n=DESCRIPTION_MAX), "description")
    if draft.slug:
        low, high = SLUG_LENGTH
        if not SLUG_PATTERN.fullmatch(draft.slug):
            raise PlanningError(_("Lower-case letters, digits and '-' only."), "slug")
        if not low <= len(draft.slug) <= high:
            raise PlanningError(_("The address needs %(low)d to %(high)d characters.",
                                  low=low, high=high), "slug")
    try:
        draft.stream_url = streams.check_stream_url(draft.stream_url)
    except streams.StreamAddressError as exc:
        raise PlanningError(str(exc), "stream_url") from exc


#: Each duty, the draft's field naming who does it, and the form field its errors go to.
DUTY_FIELDS: tuple[tuple[Duty, str, str], ...] = (
    (Duty.HOST, "host_ids", "hosts"), (Duty.ANSWERER, "answerer_ids", "answerers"),
    (Duty.EDITOR, "editor_ids", "editors"), (Duty.REVIEWER, "reviewer_ids", "reviewers"),
    (Duty.DIRECTOR, "director_ids", "directors"),
)

Staffing = dict[Duty, list[User]]


def _check(draft: SessionDraft, session: LiveSession | None,
           actor: User | None) -> tuple[list[Department], Staffing]:
    _check_text(draft)
    if draft.scheduled_end <= draft.scheduled_start:
        raise PlanningError(_("The end must be after the start."), "scheduled_end")
    if draft.scheduled_end - draft.scheduled_start > timedelta(hours=MAX_SESSION_HOURS):
        raise PlanningError(
            _("A session lasts at most %(n)d hours.", n=MAX_SESSION_HOURS), "scheduled_end"
        )
    opens, closes = draft.precollect_opens_at, draft.precollect_closes_at
    if (opens is None) != (closes is None):
        raise PlanningError(
            _("Give both the opening and the closing time for questions in advance."),
            "precollect_closes_at",
        )
    if opens is not None and closes is not None:
        if closes <= opens:
            raise PlanningError(
                _("Questions in advance must close after they open."), "precollect_closes_at"
            )
        if closes > draft.scheduled_end:
            raise PlanningError(
                _("Questions in advance must close before the session ends."),
                "precollect_closes_at",
            )
    if draft.slug:
        clash = select(LiveSession.id).where(LiveSession.slug == draft.slug)
        if session is not None:
            clash = clash.where(LiveSession.id != session.id)
        if db.session.scalar(clash):
            raise PlanningError(_("This address is used by another session."), "slug")

    dept_ids = set(draft.department_ids)
    if not dept_ids:
        raise PlanningError(_("Choose at least one department."), "departments")
    departments = list(db.session.scalars(select(Department).where(Department.id.in_(dept_ids))))
    if len(departments) != len(dept_ids):
        raise PlanningError(_("Unknown department."), "departments")
    check_planner(actor, dept_ids)
    staffing = {duty: _staff(getattr(draft, name), Role(duty.value), field)
                for duty, name, field in DUTY_FIELDS}
    if draft.reviewed and not staffing[Duty.REVIEWER]:
        raise PlanningError(_("A reviewed session needs at least one reviewer on duty."),
                            "reviewers")
    return departments, staffing


def _staff(ids: Iterable[int], role: Role, field_name: str) -> list[User]:
    ids = set(ids)
    if not ids:
        return []
    users = list(db.session.scalars(select(User).where(User.id.in_(ids))))
    if len(users) != len(ids) or not all(u.active and u.has_role(role) for u in users):
        raise PlanningError(_("Choose active staff who hold this role."), field_name)
    return users


def _apply(session: LiveSession, draft: SessionDraft, departments: list[Department],
           staffing: Staffing) -> None:
    session.title = draft.title.strip()
    session.description = draft.description.strip()
    session.scheduled_start = draft.scheduled_start
    session.scheduled_end = draft.scheduled_end
    session.plan_year = local_year(draft.scheduled_start)
    session.moderation_mode = draft.moderation_mode
    session.reviewed = draft.reviewed
    session.precollect_opens_at = draft.precollect_opens_at
    session.precollect_closes_at = draft.precollect_closes_at
    if draft.slug:
        session.slug = draft.slug
    session.stream_url = draft.stream_url
    session.departments = departments
    session.staff = [SessionStaff(user_id=u.id, duty=duty)
                     for duty, _name, _field in DUTY_FIELDS for u in staffing[duty]]
    session.guests = [
        SessionGuest(position=i, name=name.strip(), title=title.strip())
        for i, (name, title) in enumerate(draft.guests)
        if name.strip()
    ]


def create_session(draft: SessionDraft, actor: User | None) -> LiveSession:
    """Plan a new session (state draft) in the year its start falls in.

    A department's planner drafts it for the office's approval (planning/approval.py); the
    office's own sessions need none.
    """
    departments, staffing = _check(draft, None, actor)
    session = LiveSession(slug=draft.slug or new_slug(draft.scheduled_start),
                          created_by_id=actor.id if actor else None)
    _apply(session, draft, departments, staffing)
    session.approval = (ApprovalState.NOT_REQUIRED if actor is None or actor.has_role(Role.OFFICE)
                        else ApprovalState.DRAFT)
    ensure_plan(session.plan_year)
    db.session.add(session)
    db.session.flush()
    audit.record("session_create", user=actor, target_type="session", target_id=session.id,
                 session_id=session.id, detail={"title": session.title})
    return session


EDITABLE_STATES = frozenset({SessionState.DRAFT, SessionState.ANNOUNCED})


def update_session(session: LiveSession, draft: SessionDraft,
                   actor: User | None = None) -> LiveSession:
    """Change a planned session (only before it goes live).

    A planner changes only their departments' drafts; a change to one sent for approval or
    approved takes it back to draft, to be sent again.
    """
    if session.state not in EDITABLE_STATES:
        raise PlanningError(_("A session can be edited only before it goes live."))
    check_planner_edit(session, actor)
    departments, staffing = _check(draft, session, actor)
    _apply(session, draft, departments, staffing)
    ensure_plan(session.plan_year)
    reopen_after_edit(session, actor)
    db.session.flush()
    audit.record("session_update", user=actor, target_type="session", target_id=session.id,
                 session_id=session.id, detail={"title": session.title})
    session_facts_changed.send(session.id, reason="updated")
    return session


def change_state(session: LiveSession, new_state: SessionState,
                 now: datetime | None = None) -> LiveSession:
    """Move a session to a new state: the one place that sets LiveSession.state."""
    if new_state not in SESSION_TRANSITIONS[session.state]:
        raise PlanningError(
            _("A session that is %(old)s cannot become %(new)s.",
              old=state_label(session.state), new=state_label(new_state))
        )
    now = now or utcnow()
    stamp = {
        SessionState.ANNOUNCED: "announced_at",
        SessionState.LIVE: "started_at",
        SessionState.ENDED: "ended_at",
        SessionState.CANCELLED: "cancelled_at",
    }.get(new_state)
    if stamp:
        setattr(session, stamp, now)
    session.state = new_state
    db.session.flush()
    return session


def announce_session(session: LiveSession, now: datetime | None = None,
                     actor: User | None = None) -> LiveSession:
    """Publish a planned session to citizens; its start must still be ahead."""
    now = now or utcnow()
    if session.state == SessionState.DRAFT and session.approval not in ANNOUNCEABLE:
        raise PlanningError(_("The office must approve this session before it is announced."),
                            code="bad_transition")
    if session.state == SessionState.DRAFT and session.scheduled_start <= now:
        raise PlanningError(_("The start time has passed; change it before announcing."))
    change_state(session, SessionState.ANNOUNCED, now)
    audit.record("session_announce", user=actor, target_type="session", target_id=session.id,
                 session_id=session.id)
    session_facts_changed.send(session.id, reason="announced")
    return session


def cancel_session(session: LiveSession, reason: str, now: datetime | None = None,
                   actor: User | None = None) -> LiveSession:
    """Cancel a planned or announced session, with a reason citizens will see."""
    reason = reason.strip()
    if not reason:
        raise PlanningError(_("Give a reason for the cancellation."), "reason")
    change_state(session, SessionState.CANCELLED, now)
    session.cancel_reason = reason[:200]
    db.session.flush()
    audit.record("session_cancel", user=actor, target_type="session", target_id=session.id,
                 session_id=session.id, detail={"reason": reason})
    session_facts_changed.send(session.id, reason="cancelled")
    return session


def ensure_plan(year: int) -> AnnualPlan:
    """Return the year's plan, creating an empty one the first time a session falls in it."""
    plan = db.session.get(AnnualPlan, year)
    if plan is None:
        plan = AnnualPlan(year=year, title="")
        db.session.add(plan)
        db.session.flush()
    return plan


def sessions_of_year(year: int, public_only: bool = False) -> list[LiveSession]:
    """The sessions of a year's plan in time order."""
    query = select(LiveSession).where(LiveSession.plan_year == year)
    if public_only:
        query = query.where(LiveSession.state != SessionState.DRAFT)
    return list(db.session.scalars(query.order_by(LiveSession.scheduled_start)))


def plan_years() -> list[int]:
    """Years that hold at least one session, newest first."""
    return list(
        db.session.scalars(
            select(LiveSession.plan_year).group_by(LiveSession.plan_year)
            .order_by(func.max(LiveSession.plan_year).desc())
        )
    )


def state_label(state: SessionState) -> str:
    """The translated name of a session state."""
    return {
        SessionState.DRAFT: _("draft"),
        SessionState.ANNOUNCED: _("announced"),
        SessionState.LIVE: _("live now"),
        SessionState.ENDED: _("ended"),
        SessionState.ARCHIVED: _("archived"),
        SessionState.CANCELLED: _("cancelled"),
    }[state]
