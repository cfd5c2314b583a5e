"""Who may do what, by role and department: one place, for the console, the socket, the API,
follow-ups and the statistics alike.

The department rule: the office and hosts work on everything; an answerer on their own
departments' questions, and on questions not yet given to a department when one of theirs is
online in the session. Live sessions add when a console may be opened (can_open_console).

The studio's duties (text editor, reviewer, director) need both: the account holds the role,
and the session lists the account on duty in it (planning's SessionStaff). A role alone opens no
session's console; a duty alone, without the role, does nothing either.
"""

from __future__ import annotations

from qa_live.auth.models import Role, User
from qa_live.live.models import Question
from qa_live.planning.models import Duty, LiveSession, SessionState

#: Sessions still being prepared (or called off): their console is for hosts and the office.
PREPARING = (SessionState.DRAFT, SessionState.CANCELLED)


# The department rule ----------------------------------------------------------------------------


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.active)


def sees_all(user: User) -> bool:
    """The office and hosts: every department's questions, follow-ups and figures."""
    return _active(user) and user.has_role(Role.OFFICE, Role.HOST)


def _answerer(user: User) -> bool:
    return _active(user) and user.has_role(Role.ANSWERER)


def works_for(user: User, department_id: int | None) -> bool:
    """The user works on what belongs to this department (None: to no department yet)."""
    if sees_all(user):
        return True
    return _answerer(user) and department_id is not None and department_id in user.department_ids


def in_session(user: User, session: LiveSession) -> bool:
    """One of the user's departments goes online in the session (or the user sees all)."""
    if sees_all(user):
        return True
    return _answerer(user) and bool({d.id for d in session.departments} & user.department_ids)


def handles(user: User, question: Question) -> bool:
    """The department rule for a question: answer it, claim it, open its follow-up."""
    if question.department_id is not None:
        return works_for(user, question.department_id)
    return in_session(user, question.session)


# Live sessions ----------------------------------------------------------------------------------

#: The studio's duties: they see the whole session, as hosts do, each for their own work.
STUDIO_DUTIES = (Duty.EDITOR, Duty.REVIEWER, Duty.DIRECTOR)


def on_duty(user: User, session: LiveSession, duty: Duty | None = None) -> bool:
    """The user is on the session's duty list (as the given duty, if one is named)."""
    return any(row.user_id == user.id and (duty is None or row.duty == duty)
               for row in session.staff)


def works_as(user: User, session: LiveSession, duty: Duty) -> bool:
    """The user holds the duty's role and is on the session's duty list for it."""
    return _active(user) and user.has_role(Role(duty.value)) and on_duty(user, session, duty)


def in_studio(user: User, session: LiveSession) -> bool:
    """A text editor, reviewer or director on duty in the session."""
    return any(works_as(user, session, duty) for duty in STUDIO_DUTIES)


def can_open_console(user: User, session: LiveSession) -> bool:
    """Office, hosts, and answerers on duty or of a department going online.

    Answerers come in once the session is announced: a draft may still change its departments
    and staff, and has no questions yet; hosts and the office may look at it beforehand.
    """
    if not _active(user):
        return False
    if sees_all(user):
        return True
    if session.state in PREPARING:
        return False
    if in_studio(user, session):
        return True
    if not _answerer(user):
        return False
    return on_duty(user, session) or in_session(user, session)


def can_moderate(user: User, session: LiveSession) -> bool:
    """Approve, reject, merge, edit, pin, assign, post, start and end: hosts and the office."""
    return can_open_console(user, session) and sees_all(user)


def can_answer(user: User, question: Question) -> bool:
    """Answer or claim in the console: its console is open to the user, and the rule allows.

    A text editor on duty works on every question, but answers only in a guest's name
    (answers_as_self says who may answer in their own).
    """
    session = question.session
    return can_open_console(user, session) and (
        handles(user, question) or works_as(user, session, Duty.EDITOR))


def answers_as_self(user: User, question: Question) -> bool:
    """The department rule: answer a question in one's own name (the unit's answer)."""
    return can_open_console(user, question.session) and handles(user, question)


def can_type_for_guests(user: User, session: LiveSession) -> bool:
    """Publish an answer in a guest's name: text editors on duty, hosts and the office."""
    return can_moderate(user, session) or (can_open_console(user, session)
                                           and works_as(user, session, Duty.EDITOR))


def can_review(user: User, session: LiveSession) -> bool:
    """Approve or send back what waits for review: reviewers on duty and the office.

    Hosts are not reviewers: what they post is among what the reviewer checks.
    """
    if not can_open_console(user, session):
        return False
    return user.has_role(Role.OFFICE) or works_as(user, session, Duty.REVIEWER)


def can_direct(user: User, session: LiveSession) -> bool:
    """Choose what the projector shows: directors on duty, hosts and the office."""
    return can_moderate(user, session) or (can_open_console(user, session)
                                           and works_as(user, session, Duty.DIRECTOR))


def staff_departments(user: User, session: LiveSession) -> list[int] | None:
    """The department rooms an answerer joins; None for those who see everything."""
    if sees_all(user) or in_studio(user, session):
        return None
    session_depts = {d.id for d in session.departments}
    return sorted(session_depts & user.department_ids) + [0]


def can_see_figures(user: User, session: LiveSession) -> bool:
    """A session's statistics: office and hosts; answerers of a department that went online."""
    return in_session(user, session)


# Photo live and materials -----------------------------------------------------------------------

#: States in which photos may be posted: announced (before the start), live, and ended
#: (补录: photos added to the record afterwards).
MEDIA_STATES = (SessionState.ANNOUNCED, SessionState.LIVE, SessionState.ENDED)


def can_post_media(user: User, session: LiveSession) -> bool:
    """Post photos, edit their captions, remove them, and keep the session's materials.

    The editors of a session: its text editors on duty (文字编辑), hosts and the office.
    """
    return can_type_for_guests(user, session)
