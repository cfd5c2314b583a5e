"""Who may do what in a live session: one place, used by views, sockets and the API alike."""

from __future__ import annotations

from qa_live.auth.models import Role, User
from qa_live.live.models import Question
from qa_live.planning.models import Duty, LiveSession, SessionState

#: Sessions still being prepared (or called off): their console is for hosts and the office.
PREPARING = (SessionState.DRAFT, SessionState.CANCELLED)


def on_duty(user: User, session: LiveSession, duty: Duty | None = None) -> bool:
    """The user is on the session's duty list (as the given duty, if one is named)."""
    return any(row.user_id == user.id and (duty is None or row.duty == duty)
               for row in session.staff)


def can_open_console(user: User, session: LiveSession) -> bool:
    """Office, hosts, and answerers on duty or of a department going online.

    Answerers come in once the session is announced: a draft may still change its departments
    and staff, and has no questions yet; hosts and the office may look at it beforehand.
    """
    if not user.is_authenticated or not user.active:
        return False
    if user.has_role(Role.OFFICE, Role.HOST):
        return True
    if session.state in PREPARING:
        return False
    if user.has_role(Role.ANSWERER):
        session_depts = {d.id for d in session.departments}
        return on_duty(user, session) or bool(session_depts & user.department_ids)
    return False


def can_moderate(user: User, session: LiveSession) -> bool:
    """Approve, reject, merge, edit, pin, assign, post, start and end: hosts and the office."""
    return can_open_console(user, session) and user.has_role(Role.OFFICE, Role.HOST)


def can_answer(user: User, question: Question) -> bool:
    """Answer or claim: hosts and office on all; answerers on their own departments' questions.

    A question not yet assigned to a department is open to answerers of any department going
    online in the session.
    """
    session = question.session
    if not can_open_console(user, session):
        return False
    if user.has_role(Role.OFFICE, Role.HOST):
        return True
    if question.department_id is not None:
        return question.department_id in user.department_ids
    return bool({d.id for d in session.departments} & user.department_ids)


def staff_departments(user: User, session: LiveSession) -> list[int] | None:
    """The department rooms an answerer joins; None for those who see everything."""
    if user.has_role(Role.OFFICE, Role.HOST):
        return None
    session_depts = {d.id for d in session.departments}
    return sorted(session_depts & user.department_ids) + [0]
