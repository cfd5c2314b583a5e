"""Supplementary records (补录): an answer given orally in a session, typed in after it ended.

Guests often answer a question by voice (in the studio or the broadcast) without anyone typing
it. Afterwards the staff who may answer the question record it here: the answer is stored as
kind ``oral``, with the moment it was given (``given_at``, within the session) and who recorded
it when (``author_id``, ``created_at``). It counts as answered in the session (the live answer
rate) from the moment it was recorded: a report as of an earlier day does not include it
(docs/metrics.md). The transcript shows it marked 补录.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import access, claims
from qa_live.live.answers import answer_text, publish_answer
from qa_live.live.models import Answer, AnswerKind, Question, QuestionStatus
from qa_live.live.services import QuestionRefused
from qa_live.planning.models import LiveSession, SessionState

#: Sessions whose answers may be recorded afterwards: over, with a known start and end.
OVER = (SessionState.ENDED, SessionState.ARCHIVED)


def can_record(user: User, question: Question) -> bool:
    """Who may record an oral answer: whoever may answer the question (docs/transcript.md); a
    question no moderator published, only a host or the office (live/claims.py's rule)."""
    return access.can_answer(user, question) and claims.may_publish(question, user)


def unanswered_questions(session: LiveSession) -> list[Question]:
    """The session's valid questions without any answer, in the order they were asked."""
    return list(db.session.scalars(
        select(Question)
        .where(Question.session_id == session.id,
               Question.status.in_([QuestionStatus.PENDING, QuestionStatus.APPROVED]))
        .order_by(Question.created_at, Question.id)))


def add_oral_answer(question: Question, actor: User, body: object, given_at: datetime | None,
                    department_id: int | None = None, now: datetime | None = None) -> Answer:
    """Record an answer given orally in the session (补录), with its audit entry.

    Checks: the session is over; the question is valid and has no answer yet; the text; the
    moment it was given lies within the session and not before the question; the answering
    department is one of the session's. The question becomes published (if it was pending)
    when recorded and answered as of the moment the answer was given.
    """
    session = question.session
    if session.state not in OVER or session.started_at is None or session.ended_at is None:
        raise QuestionRefused(_("An answer given orally is recorded after the session ended."),
                              "bad_transition")
    if question.status == QuestionStatus.REJECTED:
        raise QuestionRefused(_("A rejected question cannot be answered."), "bad_transition")
    if question.status == QuestionStatus.ANSWERED:
        raise QuestionRefused(_("This question has an answer already; correct it, or reply "
                                "through its follow-up."), "bad_transition")
    answer_text(body)  # checked first, as the form shows it first
    if given_at is None or given_at.tzinfo is None:
        raise QuestionRefused(_("Give the time the answer was given in the session."), "invalid")
    if not session.started_at <= given_at <= session.ended_at:
        raise QuestionRefused(_("The answer must have been given during the session."),
                              "invalid")
    if given_at < question.created_at:
        raise QuestionRefused(_("The answer cannot have been given before the question was "
                                "asked."), "invalid")
    if department_id is None:
        department_id = question.department_id or (
            session.departments[0].id if len(session.departments) == 1 else None)
    if department_id is not None and department_id not in {d.id for d in session.departments}:
        raise QuestionRefused(_("Choose one of the session's departments."), "invalid")
    answer = publish_answer(question, actor, body, kind=AnswerKind.ORAL,
                            department_id=department_id, now=now or utcnow(), given_at=given_at)
    audit.record("answer_oral", user=actor, target_type="question", target_id=question.id,
                 session_id=session.id, detail={"answer_id": answer.id,
                                                "given_at": given_at.isoformat()})
    return answer

