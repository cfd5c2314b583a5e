"""Follow-up operations: create, update, close with a second reply, notify.

The lists and a form's choices are in lists.py, the dates in dates.py.

Each function takes the acting user, checks the move against the follow-up's state and the
input (access is checked by the caller, at the edge, with live.access's rule), changes
rows, records every change as a FollowUpChange, flushes and queues broadcasts. The caller
commits with events.commit_and_send().
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.followup import calendar
from qa_live.followup.dates import OPEN_STATUSES, default_due_date
from qa_live.followup.models import (
    FOLLOW_UP_TRANSITIONS,
    FollowUp,
    FollowUpChange,
    FollowUpStatus,
    NotifyState,
)
from qa_live.followup.notify import citizen_contact, notify_citizen, reachable
from qa_live.live import access, answers, review
from qa_live.live.models import Answer, AnswerKind, Question, QuestionStatus
from qa_live.live.services import QuestionRefused
from qa_live.live.validation import clean_text
from qa_live.planning.models import Department

TEXT_MAX = 5000


class FollowUpError(QuestionRefused):
    """A follow-up change that cannot be made; the message is for people, field names the input.

    A QuestionRefused, so the socket and API error handlers already turn it into
    ``{"error": code, "message": ...}``.
    """

    def __init__(self, message: str, code: str = "invalid", field: str | None = None) -> None:
        super().__init__(message, code)
        self.field = field


class _Unset(enum.Enum):
    UNSET = 0


UNSET = _Unset.UNSET


# Making and changing ------------------------------------------------------------------------


def _record(follow_up: FollowUp, actor: User | None, field: str, old: Any = "",
            new: Any = "") -> None:
    follow_up.changes.append(FollowUpChange(
        user_id=actor.id if actor is not None else None, at=utcnow(), field=field,
        old=_shown(old), new=_shown(new)))


def _shown(value: Any) -> str:
    """A value as the history keeps it."""
    if value is None:
        return ""
    if isinstance(value, Department):
        return value.name
    if isinstance(value, User):
        return value.display_name
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _text(value: object, field: str, required: bool = False) -> str:
    text = clean_text(value) if value is not None else ""
    if required and not text:
        raise FollowUpError(_("This field is required."), "invalid", field)
    if len(text) > TEXT_MAX:
        raise FollowUpError(_("At most %(n)d characters.", n=TEXT_MAX), "invalid", field)
    return text


def _department(actor: User, department_id: int | None) -> Department | None:
    if department_id is None:
        if not access.sees_all(actor):
            raise FollowUpError(_("Choose one of your departments."), "invalid", "department_id")
        return None
    department = db.session.get(Department, department_id)
    if department is None:
        raise FollowUpError(_("There is no such department."), "invalid", "department_id")
    if not access.works_for(actor, department.id):
        raise FollowUpError(_("You may only hand follow-ups to your own departments."),
                            "forbidden", "department_id")
    return department


def _assignee(assignee_id: int | None, department: Department | None) -> User | None:
    if assignee_id is None:
        return None
    user = db.session.get(User, assignee_id)
    if user is None or not user.active:
        raise FollowUpError(_("There is no such staff member."), "invalid", "assignee_id")
    if department is None:
        raise FollowUpError(_("Choose the department before the assignee."), "invalid",
                            "assignee_id")
    if department.id not in user.department_ids:
        raise FollowUpError(_("%(name)s does not belong to %(department)s.",
                              name=user.display_name, department=department.name),
                            "invalid", "assignee_id")
    return user


def _due(value: date, today: date | None) -> date:
    if value < (today or calendar.local_today()):
        raise FollowUpError(_("The due date is in the past."), "invalid", "due_date")
    return value


def _default_department(question: Question) -> int | None:
    if question.department_id is not None:
        return question.department_id
    departments = question.session.departments
    return departments[0].id if len(departments) == 1 else None


def follow_up_of(question: Question) -> FollowUp | None:
    """The question's follow-up, if it has one (there is at most one)."""
    return db.session.scalar(select(FollowUp).where(FollowUp.question_id == question.id))


def create_follow_up(question: Question, actor: User | None, *,
                     department_id: int | None | _Unset = UNSET,
                     assignee_id: int | None = None, due_date: date | None = None,
                     notes: str = "", automatic: bool = False,
                     today: date | None = None) -> FollowUp:
    """Open a follow-up on a question; department, due date and notes have defaults.

    By default the department is the question's (or the session's only one) and the due date
    FOLLOW_UP_WORKING_DAYS working days after the session. A person's due date may not lie in
    the past; an automatic one may (a session ended long ago).
    """
    if question.status == QuestionStatus.REJECTED:
        raise FollowUpError(_("A rejected question gets no follow-up."), "bad_transition",
                            "question_id")
    if follow_up_of(question) is not None:
        raise FollowUpError(_("This question already has a follow-up."), "bad_transition",
                            "question_id")
    if department_id is UNSET:
        department_id = _default_department(question)
        if (actor is not None and not automatic and not access.sees_all(actor)
                and department_id not in actor.department_ids):
            department_id = min(actor.department_ids
                                & {d.id for d in question.session.departments}, default=None)
    if automatic or actor is None:
        department = db.session.get(Department, department_id) if department_id else None
    else:
        department = _department(actor, department_id)
    assignee = _assignee(assignee_id, department)
    if due_date is None:
        due = default_due_date(question.session, today)
    else:
        due = due_date if automatic else _due(due_date, today)
    follow_up = FollowUp(
        question_id=question.id, session_id=question.session_id,
        department_id=department.id if department else None,
        assignee_id=assignee.id if assignee else None, due_date=due,
        status=FollowUpStatus.OPEN, notes=_text(notes, "notes"), automatic=automatic,
        notify_state=NotifyState.NONE, created_by_id=actor.id if actor else None,
        created_at=utcnow(),
    )
    db.session.add(follow_up)
    _record(follow_up, actor, "created", "",
            _("automatically, at the end of the session") if automatic else "")
    db.session.flush()
    if not automatic:  # automatic ones are part of the action that ended the session
        _audit("follow_up_create", follow_up, actor, question_id=question.id,
               department_id=follow_up.department_id)
    return follow_up


def update_follow_up(follow_up: FollowUp, actor: User, *,
                     department_id: int | None | _Unset = UNSET,
                     assignee_id: int | None | _Unset = UNSET,
                     due_date: date | _Unset = UNSET, notes: str | _Unset = UNSET,
                     status: FollowUpStatus | _Unset = UNSET,
                     today: date | None = None) -> list[str]:
    """Change what is given (department, assignee, due date, notes, open ⇄ in progress).

    Returns the names of the fields that changed; each change is recorded with who and when.
    All input is checked before anything changes.
    """
    if follow_up.is_closed:
        raise FollowUpError(_("This follow-up is closed."), "bad_transition")
    department = follow_up.department
    if department_id is not UNSET and department_id != follow_up.department_id:
        department = _department(actor, department_id)
    new_assignee_id = follow_up.assignee_id if assignee_id is UNSET else assignee_id
    if new_assignee_id is not None and assignee_id is UNSET and department is not None \
            and follow_up.assignee is not None \
            and department.id not in follow_up.assignee.department_ids:
        new_assignee_id = None  # the department changed and the assignee is not in the new one
    assignee = _assignee(new_assignee_id, department)
    new_due = follow_up.due_date
    if due_date is not UNSET and due_date != follow_up.due_date:
        new_due = _due(due_date, today)
    new_notes = follow_up.notes if notes is UNSET else _text(notes, "notes")
    if status is not UNSET and status != follow_up.status:
        if status not in OPEN_STATUSES:
            raise FollowUpError(_("Close a follow-up with its second reply or a reason."),
                                "bad_transition", "status")
        _check_transition(follow_up, status)

    changed: list[str] = []
    if (department.id if department else None) != follow_up.department_id:
        _record(follow_up, actor, "department", follow_up.department, department)
        follow_up.department_id = department.id if department else None
        changed.append("department_id")
    if (assignee.id if assignee else None) != follow_up.assignee_id:
        _record(follow_up, actor, "assignee", follow_up.assignee, assignee)
        follow_up.assignee_id = assignee.id if assignee else None
        changed.append("assignee_id")
    if new_due != follow_up.due_date:
        _record(follow_up, actor, "due_date", follow_up.due_date, new_due)
        follow_up.due_date = new_due
        changed.append("due_date")
    if new_notes != follow_up.notes:
        _record(follow_up, actor, "notes", follow_up.notes, new_notes)
        follow_up.notes = new_notes
        changed.append("notes")
    if status is not UNSET and status != follow_up.status:
        _set_status(follow_up, status, actor)
        changed.append("status")
    db.session.flush()
    db.session.expire(follow_up, ["department", "assignee"])
    if changed:
        _audit("follow_up_update", follow_up, actor, fields=changed)
    return changed


def _check_transition(follow_up: FollowUp, new: FollowUpStatus) -> None:
    if new not in FOLLOW_UP_TRANSITIONS[follow_up.status]:
        raise FollowUpError(_("This follow-up cannot change that way."), "bad_transition",
                            "status")


def _set_status(follow_up: FollowUp, new: FollowUpStatus, actor: User | None) -> None:
    """Move a follow-up to a new status: the one place that sets FollowUp.status."""
    _check_transition(follow_up, new)
    _record(follow_up, actor, "status", follow_up.status, new)
    follow_up.status = new


def _audit(action: str, follow_up: FollowUp, actor: User | None, **detail: object) -> None:
    """The audit entry of a follow-up operation (HTML page, API or socket alike)."""
    audit.record(action, user=actor, target_type="follow_up", target_id=follow_up.id,
                 session_id=follow_up.session_id, detail=detail)


def close_done(follow_up: FollowUp, actor: User, reply: str, outcome: str = "",
               now: datetime | None = None) -> Answer:
    """Close as done and publish the second reply (二次答复) under the question.

    The reply is published like a live answer (live.answers.publish_answer: the same checks,
    status moves and events), whatever state the session is in, except while a reviewed session
    is open (its answers go through the reviewer, live/review.py); an unanswered question becomes
    answered. A citizen who left a phone number (or a contact when signing in) is put on the
    "to notify" list.
    """
    now = now or utcnow()
    _check_transition(follow_up, FollowUpStatus.DONE)
    session = follow_up.question.session
    if session.reviewed and session.state in review.OPEN_STATES:
        raise FollowUpError(_("This session is reviewed and still open: answer the question "
                              "in the console to send the answer for review, or publish the "
                              "second reply after the session."), "review_required", "reply")
    outcome_text = _text(outcome, "outcome")
    try:
        answer = answers.publish_answer(follow_up.question, actor, reply,
                                        kind=AnswerKind.FOLLOW_UP,
                                        department_id=follow_up.department_id, now=now)
    except QuestionRefused as exc:  # the text's problems are the reply field's
        raise FollowUpError(str(exc), exc.code,
                            "reply" if exc.code == "invalid" else None) from exc
    _set_status(follow_up, FollowUpStatus.DONE, actor)
    _record(follow_up, actor, "reply", "", answer.body)
    if outcome_text != follow_up.outcome:
        _record(follow_up, actor, "outcome", follow_up.outcome, outcome_text)
    follow_up.outcome = outcome_text
    follow_up.answer_id = answer.id
    follow_up.closed_at = now
    if reachable(follow_up.question):
        follow_up.notify_state = NotifyState.PENDING
    db.session.flush()
    _audit("follow_up_close", follow_up, actor, status=FollowUpStatus.DONE.value,
           question_id=follow_up.question_id, answer_id=answer.id)
    return answer


def close_impossible(follow_up: FollowUp, actor: User, reason: str, outcome: str = "",
                     now: datetime | None = None) -> FollowUp:
    """Close as cannot be done, with the reason (nothing is published)."""
    _check_transition(follow_up, FollowUpStatus.IMPOSSIBLE)
    reason_text = _text(reason, "reason", required=True)
    outcome_text = _text(outcome, "outcome")
    _set_status(follow_up, FollowUpStatus.IMPOSSIBLE, actor)
    _record(follow_up, actor, "reason", follow_up.reason, reason_text)
    if outcome_text != follow_up.outcome:
        _record(follow_up, actor, "outcome", follow_up.outcome, outcome_text)
    follow_up.reason = reason_text
    follow_up.outcome = outcome_text
    follow_up.closed_at = now or utcnow()
    db.session.flush()
    _audit("follow_up_close", follow_up, actor, status=FollowUpStatus.IMPOSSIBLE.value,
           question_id=follow_up.question_id)
    return follow_up


def edit_reply(follow_up: FollowUp, actor: User, body: str) -> Answer:
    """Reword the published second reply; the earlier wording is kept as a revision."""
    answer = follow_up.answer
    if answer is None:
        raise FollowUpError(_("This follow-up has no second reply yet."), "bad_transition",
                            "reply")
    old = answer.body
    try:
        answers.edit_answer(answer, actor, body)  # works after the session ended
    except QuestionRefused as exc:
        raise FollowUpError(str(exc), exc.code, "reply") from exc
    if answer.body != old:
        _record(follow_up, actor, "reply", old, answer.body)
        db.session.flush()
        _audit("follow_up_reply", follow_up, actor, answer_id=answer.id)
    return answer


def reveal_phone(follow_up: FollowUp, actor: User) -> str:
    """The citizen's full number (or signed-in contact) for the staff member who will call.

    The reveal is recorded and audited, saying which of the two was shown.
    """
    phone, source = follow_up.question.phone, "question"
    if not phone and (identity := citizen_contact(follow_up.question)) is not None:
        phone, source = identity.contact, "sign_in"
    if not phone:
        raise FollowUpError(_("The citizen left no phone number (or it was erased)."),
                            "not_found")
    _record(follow_up, actor, "phone_revealed")
    db.session.flush()
    _audit("reveal_phone", follow_up, actor, question_id=follow_up.question_id, source=source)
    return phone


def mark_notified(follow_up: FollowUp, actor: User | None,
                  now: datetime | None = None) -> FollowUp:
    """The citizen has been told of the second reply (by a call, or by notify_citizen)."""
    if follow_up.notify_state != NotifyState.PENDING:
        raise FollowUpError(_("Nobody is waiting to be told about this follow-up."),
                            "bad_transition")
    follow_up.notify_state = NotifyState.DONE
    follow_up.notified_at = now or utcnow()
    follow_up.notified_by_id = actor.id if actor else None
    _record(follow_up, actor, "notified", NotifyState.PENDING, NotifyState.DONE)
    db.session.flush()
    _audit("follow_up_notified", follow_up, actor)
    return follow_up


def deliver_notification(follow_up: FollowUp) -> bool:
    """After the second reply is committed, let notify_citizen try; mark it done if it sent.

    The caller commits again when this returns True.
    """
    if follow_up.notify_state != NotifyState.PENDING or not reachable(follow_up.question):
        return False
    try:
        sent = bool(notify_citizen(follow_up))
    except Exception:  # a gateway failure must not lose the reply: staff call instead
        current_app.logger.exception("notify_citizen failed for follow-up %s", follow_up.id)
        return False
    if sent:
        mark_notified(follow_up, None)
    return sent
