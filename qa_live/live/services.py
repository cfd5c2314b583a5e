"""Question operations: status moves, announcing a change, votes, a citizen's own questions.

They change the session and flush; the caller commits and broadcasts. Taking a question is in
intake.py, answering it in answers.py, moderating it in moderation.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Connection, Table, bindparam, select, update

from qa_live.core import ratelimit
from qa_live.core.db_setup import dialect_insert
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import events, serialize, summaries
from qa_live.live.models import (
    QUESTION_TRANSITIONS,
    Question,
    QuestionStatus,
    Vote,
)
from qa_live.planning.models import (
    LiveSession,
    SessionState,
)


class QuestionRefused(ValueError):
    """The question cannot be taken now (window closed, session over); message for the citizen."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def announce(question: Question, was_public: bool, now: datetime | None = None) -> None:
    """Queue what a change to a question means for staff, the public and its asker."""
    now = now or utcnow()
    events.tell_staff(question.session_id, "question", serialize.staff_question(question, now),
                      department_id=question.department_id)
    if serialize.is_public(question):
        events.publish(question.session, "question", serialize.public_question(question))
    elif was_public:
        events.publish(question.session, "question.removed", {"id": question.id})
    events.tell_visitor(question.visitor_id, "mine",
                        serialize.own_question(question, status_label(question)))
    if question.session.highlighted_question_id == question.id:  # answered: off the projector
        from qa_live.live.screen import after_change

        after_change(question)
    # Review and answers move the pending, answered and median-time counters.
    session_id = question.session_id
    events.after_commit(lambda: summaries.mark_counts(session_id))


_questions: Table = Question.__table__  # type: ignore[assignment]
_sessions: Table = LiveSession.__table__  # type: ignore[assignment]
_votes: Table = Vote.__table__  # type: ignore[assignment]
# A vote's three statements, built once (Core, cached compiled): the question's state and its
# session's, the vote itself (a repeat inserts nothing), the count (returned by the UPDATE).
_VOTE_TARGET = (select(_questions.c.session_id, _questions.c.status, _sessions.c.state)
                .join_from(_questions, _sessions, _sessions.c.id == _questions.c.session_id)
                .where(_questions.c.id == bindparam("question_id")))
_COUNT_VOTE = (update(_questions).where(_questions.c.id == bindparam("question_id"))
               .values(upvotes=_questions.c.upvotes + 1).returning(_questions.c.upvotes))
_insert_vote: dict[str, Any] = {}


def _vote_insert(connection: Connection) -> Any:
    """INSERT a vote, nothing on a repeat (ON CONFLICT DO NOTHING), for the database in use;
    it returns a row only when the vote was inserted."""
    statement = _insert_vote.get(connection.dialect.name)
    if statement is None:
        statement = _insert_vote[connection.dialect.name] = (
            dialect_insert(connection)(_votes)
            .values(question_id=bindparam("question_id"), visitor_id=bindparam("visitor_id"),
                    created_at=bindparam("created_at"))
            .on_conflict_do_nothing(index_elements=["question_id", "visitor_id"])
            .returning(_votes.c.question_id))  # rowcount is not reliable (psycopg: -1)
    return statement


def cast_vote(question_id: int, visitor_id: str, session_id: int) -> int:
    """Add the visitor's one upvote to a published question of the session; the new count.

    Three small statements on the session's connection, no ORM object loaded: a vote flood's
    first votes (each a real write) made every other page wait for its turn (issue 12). The
    caller commits. Refusals: not_found (no such question in the session, or not published),
    not_live, too_fast, already_voted.
    """
    connection = db.session.connection()
    target = connection.execute(_VOTE_TARGET, {"question_id": question_id}).one_or_none()
    if target is None or target.session_id != session_id:
        raise QuestionRefused(_("There is no such question."), "not_found")
    if target.status not in (QuestionStatus.APPROVED, QuestionStatus.ANSWERED):
        raise QuestionRefused(_("Only published questions can be voted on."), "not_found")
    if target.state != SessionState.LIVE:
        raise QuestionRefused(_("Voting is closed: the session is not live."), "not_live")
    if not ratelimit.allow(current_app.config["VOTE_RATE_LIMIT"], "vote", visitor_id):
        raise QuestionRefused(_("You are voting too fast; please wait a moment."), "too_fast")
    cast = connection.execute(_vote_insert(connection), {
        "question_id": question_id, "visitor_id": visitor_id, "created_at": utcnow()})
    if cast.first() is None:  # a repeat: nothing inserted, nothing returned
        raise QuestionRefused(_("You have already voted for this question."), "already_voted")
    count: int = connection.execute(_COUNT_VOTE, {"question_id": question_id}).scalar_one()
    return count


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


def claim_window() -> timedelta:
    """How long a claim on a question holds before others may take it."""
    return timedelta(minutes=current_app.config["CLAIM_MINUTES"])


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
