"""Question operations. They change the session and flush; the caller commits and broadcasts."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from qa_live.core import ratelimit
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import events, presence, serialize
from qa_live.live.models import (
    QUESTION_TRANSITIONS,
    Question,
    QuestionSource,
    QuestionStatus,
    Vote,
)
from qa_live.live.sensitive import screen_question
from qa_live.live.validation import QuestionInput
from qa_live.planning.models import (
    Department,
    LiveSession,
    ModerationMode,
    SessionState,
    session_departments,
)


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
    if source == QuestionSource.LIVE:
        if session.state != SessionState.LIVE:
            raise QuestionRefused(_("This session is not live; questions are closed."),
                                  "not_live")
        _check_pace(session, visitor_id, now)
    departments = session.departments
    verdict = screen_question(data.text, data.nickname)
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
        department_id=departments[0].id if len(departments) == 1 else None,
        **verdict.columns,
    )
    db.session.add(question)
    db.session.flush()
    # In an open session a clean question is published at once; a flagged one waits.
    if (source == QuestionSource.LIVE and session.moderation_mode == ModerationMode.OPEN
            and not verdict.flagged):
        set_question_status(question, QuestionStatus.APPROVED, now)
    announce(question, was_public=False, now=now)
    session_id = session.id
    events.after_commit(lambda: presence.mark_counts(session_id))
    return question, True


_questions: Table = Question.__table__  # type: ignore[assignment]
_sessions: Table = LiveSession.__table__  # type: ignore[assignment]
_departments: Table = Department.__table__  # type: ignore[assignment]
# The statements of a live question, built once (Core on the connection, compiled once).
_PACE = select(func.count(_questions.c.id), func.max(_questions.c.created_at)).where(
    _questions.c.session_id == bindparam("session_id"),
    _questions.c.visitor_id == bindparam("visitor"),
    _questions.c.source == QuestionSource.LIVE)
_links = session_departments
_asked_live = and_(_questions.c.session_id == bindparam("session_id"),
                   _questions.c.visitor_id == bindparam("visitor"),
                   _questions.c.source == QuestionSource.LIVE)
_only_department = (select(func.min(_links.c.department_id))
                    .where(_links.c.session_id == _sessions.c.id).scalar_subquery())
# Everything a live question is checked against, in one statement: the session's state and
# moderation, a question already under this client_id, the visitor's pace, and the session's
# department when it has exactly one.
_ASK_CHECKS = select(
    _sessions.c.state,
    _sessions.c.moderation_mode,
    select(_questions.c.id).where(
        _questions.c.session_id == _sessions.c.id,
        _questions.c.client_id == bindparam("client_id")).scalar_subquery().label("existing"),
    select(func.count(_questions.c.id)).where(_asked_live).scalar_subquery().label("asked"),
    select(func.max(_questions.c.created_at)).where(_asked_live).scalar_subquery().label("last"),
    select(func.count()).select_from(_links).where(
        _links.c.session_id == _sessions.c.id).scalar_subquery().label("departments"),
    _only_department.label("department_id"),
    select(_departments.c.name).where(_departments.c.id == _only_department)
    .scalar_subquery().label("department_name"),
).where(_sessions.c.id == bindparam("session_id"))
# A client_id taken meanwhile (by another worker) inserts nothing: then it goes the general way.
_INSERT = {
    "sqlite": sqlite_insert(_questions).on_conflict_do_nothing(
        index_elements=["session_id", "client_id"]).returning(_questions.c.id),
    "postgresql": pg_insert(_questions).on_conflict_do_nothing(
        index_elements=["session_id", "client_id"]).returning(_questions.c.id),
}


def submit_live_question(session_id: int, visitor_id: str, data: QuestionInput,
                         now: datetime | None = None) -> tuple[Question, bool]:
    """`submit_question` for a question asked live, on the hot path of a busy session.

    The same rules, outcome and messages as ``submit_question(..., QuestionSource.LIVE)``, in
    two statements and no ORM unit of work: the checks (the session's state and department, the
    client_id, the visitor's pace) and the insert. The question returned is a detached copy of
    the stored row (with its department and no answers), for serialising only. A client_id
    already used goes the general way (the stored question, or "forbidden").
    """
    now = now or utcnow()
    connection = db.session.connection()
    checks = connection.execute(_ASK_CHECKS, {"session_id": session_id, "visitor": visitor_id,
                                              "client_id": data.client_id}).one_or_none()
    if checks is None:
        raise QuestionRefused(_("There is no such session."), "not_found")
    if checks.existing is not None:
        session = db.session.get(LiveSession, session_id)
        assert session is not None
        return submit_question(session, visitor_id, data, QuestionSource.LIVE, now)
    if checks.state != SessionState.LIVE:
        raise QuestionRefused(_("This session is not live; questions are closed."), "not_live")
    _pace_verdict(checks.asked, checks.last, now)
    verdict = screen_question(data.text, data.nickname)
    department = (Department(id=checks.department_id, name=checks.department_name)
                  if checks.departments == 1 else None)
    published = checks.moderation_mode == ModerationMode.OPEN and not verdict.flagged
    values = {
        "session_id": session_id, "client_id": data.client_id, "visitor_id": visitor_id,
        "access_token": secrets.token_urlsafe(24), "nickname": data.nickname,
        "phone": data.phone, "source": QuestionSource.LIVE, "original_text": data.text,
        "text": data.text,
        "status": QuestionStatus.APPROVED if published else QuestionStatus.PENDING,
        "created_at": now, "published_at": now if published else None,
        "department_id": department.id if department else None,
        **verdict.columns, "upvotes": 0, "pinned": False,
        "needs_follow_up": False,
    }
    question_id = connection.execute(_INSERT[connection.dialect.name], values).scalar()
    if question_id is None:
        session = db.session.get(LiveSession, session_id)
        assert session is not None
        return submit_question(session, visitor_id, data, QuestionSource.LIVE, now)
    question = Question(id=question_id, **values)
    set_committed_value(question, "department", department)
    set_committed_value(question, "answers", [])
    events.tell_staff(session_id, "question", serialize.staff_question(question, now),
                      department_id=question.department_id)
    if published:
        events.publish_to(session_id, "question", serialize.public_question(question))
    events.tell_visitor(visitor_id, "mine",
                        serialize.own_question(question, status_label(question)))
    events.after_commit(lambda: presence.mark_counts(session_id))
    return question, True


def _check_pace(session: LiveSession, visitor_id: str, now: datetime) -> None:
    """Per-visitor limits on asking live: an interval between questions and a total."""
    count, last = db.session.connection().execute(
        _PACE, {"session_id": session.id, "visitor": visitor_id}).one()
    _pace_verdict(count, last, now)


def _pace_verdict(count: int, last: datetime | None, now: datetime) -> None:
    cap = current_app.config["QUESTION_MAX_PER_VISITOR"]
    if count >= cap:
        raise QuestionRefused(
            _("You have asked %(n)d questions in this session, the most one visitor may.", n=cap),
            "too_many_questions",
        )
    interval = current_app.config["QUESTION_MIN_INTERVAL_S"]
    if last is not None:
        last = last if last.tzinfo else last.replace(tzinfo=now.tzinfo)
        wait = interval - (now - last).total_seconds()
        if wait > 0:
            raise QuestionRefused(
                _("Please wait %(s)d seconds before asking again.", s=max(1, round(wait))),
                "too_fast",
            )


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
        from qa_live.live.highlight import after_change

        after_change(question)
    # Review and answers move the pending, answered and median-time counters.
    session_id = question.session_id
    events.after_commit(lambda: presence.mark_counts(session_id))


def vote(question: Question, visitor_id: str) -> int:
    """Add the visitor's one upvote to a published question; return the new count."""
    if not serialize.is_public(question):
        raise QuestionRefused(_("Only published questions can be voted on."), "not_found")
    if question.session.state != SessionState.LIVE:
        raise QuestionRefused(_("Voting is closed: the session is not live."), "not_live")
    if not ratelimit.allow(current_app.config["VOTE_RATE_LIMIT"], "vote", visitor_id):
        raise QuestionRefused(_("You are voting too fast; please wait a moment."), "too_fast")
    try:
        with db.session.begin_nested():
            db.session.execute(insert(Vote).values(question_id=question.id,
                                                   visitor_id=visitor_id, created_at=utcnow()))
    except IntegrityError as exc:
        raise QuestionRefused(_("You have already voted for this question."),
                              "already_voted") from exc
    db.session.execute(update(Question).where(Question.id == question.id)
                       .values(upvotes=Question.upvotes + 1))
    db.session.refresh(question, ["upvotes"])
    return question.upvotes


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
