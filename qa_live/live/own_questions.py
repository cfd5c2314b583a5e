"""A citizen's own question while it waits for review: change its wording, or withdraw it.

One operation each, whatever the way in: the /qa socket's ``edit`` and ``withdraw`` events, the
JSON API, and the plain forms of the live page and of the private status link call these after
checking, each in its own way, that the caller owns the question (the visitor who asked, or the
holder of its private link). They change the database, flush, queue their broadcasts (staff's
console, the asker's pages) and the audit entry; the caller commits with
``events.commit_and_send()``.

Only a pending question of a session that is announced or live can be changed: once staff have
reviewed it, its wording is the record. The change is made by a statement conditioned on the
status, so a citizen's edit and a moderator's approval arriving together cannot both win.

A withdrawn question is deleted with what hangs on it (nothing yet: it was never published, so
it has no votes, answers or follow-ups), and counts nowhere: it is neither asked nor valid in
any figure (docs/metrics.md). The audit log keeps that question N of session S was withdrawn by
its asker, without its text.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, update

from qa_live.audit import services as audit
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import events, summaries
from qa_live.live.models import Question, QuestionStatus
from qa_live.live.sensitive import find_hits
from qa_live.live.services import QuestionRefused, announce
from qa_live.live.validation import InvalidInput, clean_text, text_problem
from qa_live.planning.models import SessionState

EDITABLE_STATES = (SessionState.ANNOUNCED, SessionState.LIVE)


def check_owner(question: Question | None, visitor_id: str | None,
                session_id: int | None = None) -> Question:
    """The question if this visitor asked it (in that session, when given), else refused."""
    if question is None or (session_id is not None and question.session_id != session_id):
        raise QuestionRefused(_("There is no such question."), "not_found")
    if visitor_id is None or question.visitor_id != visitor_id:
        raise QuestionRefused(_("Only the citizen who asked this question may change it."),
                              "forbidden")
    return question


def can_change(question: Question) -> bool:
    """Whether the asker may still edit or withdraw the question (pages show the controls)."""
    return (question.status == QuestionStatus.PENDING
            and question.session.state in EDITABLE_STATES)


def _require_changeable(question: Question) -> None:
    if question.session.state not in EDITABLE_STATES:
        raise QuestionRefused(_("The session is over; your question can no longer be changed."),
                              "not_open")
    if question.status != QuestionStatus.PENDING:
        raise _reviewed()


def _rows(result: object) -> int:
    """Rows an UPDATE or DELETE matched (a CursorResult's rowcount)."""
    return int(getattr(result, "rowcount", 0) or 0)


def _reviewed() -> QuestionRefused:
    return QuestionRefused(
        _("Your question has been reviewed already, so it can no longer be changed."),
        "not_pending")


def edit_own_question(question: Question, text: object, now: datetime | None = None) -> Question:
    """Replace the wording of the asker's pending question (both the original and the shown)."""
    _require_changeable(question)
    if text is not None and not isinstance(text, str):
        raise InvalidInput({"text": _("The question must be text.")})
    cleaned = clean_text(text)
    problem = text_problem(cleaned)
    if problem:
        raise InvalidInput({"text": problem})
    if cleaned == question.original_text and cleaned == question.text:
        return question
    hits = "\n".join(find_hits(cleaned))[:500]
    result = db.session.execute(
        update(Question)
        .where(Question.id == question.id, Question.status == QuestionStatus.PENDING)
        .values(original_text=cleaned, text=cleaned, sensitive_hits=hits)
        .execution_options(synchronize_session=False)
    )
    if _rows(result) != 1:
        raise _reviewed()
    db.session.refresh(question)
    audit.record("question.edited_by_asker", target_type="question", target_id=question.id,
                 session_id=question.session_id)
    announce(question, was_public=False, now=now or utcnow())
    return question


def withdraw_own_question(question: Question) -> int:
    """Take back the asker's pending question; return its id (it no longer exists)."""
    _require_changeable(question)
    question_id, session_id = question.id, question.session_id
    visitor_id, department_id = question.visitor_id, question.department_id
    result = db.session.execute(
        delete(Question)
        .where(Question.id == question_id, Question.status == QuestionStatus.PENDING)
        .execution_options(synchronize_session=False)
    )
    if _rows(result) != 1:
        raise _reviewed()
    db.session.expunge(question)
    audit.record("question.withdrawn_by_asker", target_type="question", target_id=question_id,
                 session_id=session_id)
    events.tell_staff(session_id, "question.withdrawn", {"id": question_id},
                      department_id=department_id)
    events.tell_visitor(visitor_id, "mine.withdrawn", {"id": question_id,
                                                       "session_id": session_id})
    events.after_commit(lambda: summaries.mark_counts(session_id))
    return question_id
