"""Question operations. They change the session and flush; the caller commits and broadcasts."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.models import (
    QUESTION_TRANSITIONS,
    Question,
    QuestionSource,
    QuestionStatus,
)
from qa_live.live.validation import QuestionInput
from qa_live.planning.models import LiveSession, SessionState


class QuestionRefused(ValueError):
    """The question cannot be taken now (window closed, session over); message for the citizen."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def find_question(session: LiveSession, client_id: str) -> Question | None:
    """The question this session already has under the page's client_id, if any."""
    return db.session.scalar(
        select(Question).where(Question.session_id == session.id, Question.client_id == client_id)
    )


def submit_question(
    session: LiveSession,
    visitor_id: str,
    data: QuestionInput,
    source: QuestionSource,
    now: datetime | None = None,
) -> tuple[Question, bool]:
    """Store a citizen's question; return it and whether it is new.

    A retry with the same client_id returns the stored question instead of a duplicate.
    """
    existing = find_question(session, data.client_id)
    if existing is not None:
        if existing.visitor_id != visitor_id:
            raise QuestionRefused(_("This question id belongs to someone else."), "forbidden")
        return existing, False
    now = now or utcnow()
    if source == QuestionSource.ADVANCE and not session.precollect_open(now):
        raise QuestionRefused(
            _("Questions in advance are not being collected for this session now."),
            "precollect_closed",
        )
    if source == QuestionSource.LIVE and session.state != SessionState.LIVE:
        raise QuestionRefused(_("This session is not live; questions are closed."), "not_live")
    question = Question(
        session_id=session.id,
        client_id=data.client_id,
        visitor_id=visitor_id,
        access_token=secrets.token_urlsafe(24),
        nickname=data.nickname,
        phone=data.phone,
        source=source,
        original_text=data.text,
        text=data.text,
        status=QuestionStatus.PENDING,
        created_at=now,
    )
    db.session.add(question)
    db.session.flush()
    return question, True


def set_question_status(question: Question, new: QuestionStatus,
                        now: datetime | None = None) -> Question:
    """Move a question to a new status: the one place that sets Question.status."""
    if new not in QUESTION_TRANSITIONS[question.status]:
        raise QuestionRefused(_("This question cannot change that way."), "bad_transition")
    now = now or utcnow()
    if new == QuestionStatus.APPROVED and question.published_at is None:
        question.published_at = now
    elif new == QuestionStatus.ANSWERED and question.answered_at is None:
        question.answered_at = now
    elif new == QuestionStatus.REJECTED:
        question.rejected_at = now
    question.status = new
    db.session.flush()
    return question


def question_by_token(token: str) -> Question | None:
    """The question behind a citizen's private status link."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(Question).where(Question.access_token == token))


def questions_of_visitor(session: LiveSession, visitor_id: str) -> list[Question]:
    """A visitor's own questions in a session, newest first."""
    return list(
        db.session.scalars(
            select(Question)
            .where(Question.session_id == session.id, Question.visitor_id == visitor_id)
            .order_by(Question.created_at.desc(), Question.id.desc())
        )
    )


def status_label(question: Question) -> str:
    """What the citizen reads about the state of their question."""
    from qa_live.live.models import RejectReason

    if question.status == QuestionStatus.PENDING:
        return _("Waiting for review")
    if question.status == QuestionStatus.APPROVED:
        return _("Published, waiting for an answer")
    if question.status == QuestionStatus.ANSWERED:
        return _("Answered")
    reasons = {
        RejectReason.SPAM: _("advertising or spam"),
        RejectReason.OFF_TOPIC: _("not on the session's theme"),
        RejectReason.ABUSIVE: _("abusive language"),
        RejectReason.DUPLICATE: _("the same question was asked already"),
        RejectReason.PERSONAL_INFO: _("it contains personal information"),
    }
    reason = reasons.get(question.reject_reason) if question.reject_reason else None
    if reason:
        return _("Not published: %(reason)s", reason=reason)
    return _("Not published")
