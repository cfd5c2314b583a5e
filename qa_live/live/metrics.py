"""The SQL definitions of a session's figures (docs/metrics.md), shared by every surface.

The live counters (counters.py: citizens' pages, the console, the transcript, the API) and the
statistics (qa_live/stats: pages, downloads, the report paragraph) count with these, so "valid",
"answered" and "time to the first answer" mean one thing everywhere.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, exists, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from qa_live.extensions import db
from qa_live.live.models import Answer, Question, QuestionStatus
from qa_live.planning.models import LiveSession

# Seconds between two timestamps, in SQL, on both databases ------------------------------------


class seconds_between(FunctionElement[float]):
    """Whole seconds from `start` to `end` (each truncated to the second)."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_postgresql(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    return (f"EXTRACT(EPOCH FROM (date_trunc('second', {end}) - "
            f"date_trunc('second', {start})))")


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    end, start = (compiler.process(c, **kw) for c in element.clauses)
    if sqlite3.sqlite_version_info >= (3, 38):  # unixepoch() truncates alike, about 30% faster
        return f"(unixepoch({end}) - unixepoch({start}))"
    return (f"(CAST(strftime('%s', {end}) AS INTEGER) - "
            f"CAST(strftime('%s', {start}) AS INTEGER))")


# Building blocks ------------------------------------------------------------------------------


def first_answer_at() -> ColumnElement[Any]:
    """When a question got its first published answer.

    live.services.set_question_status stamps answered_at when a question first becomes
    answered, live or by a second reply (live.answers.publish_answer goes through it for
    both), so the column is read directly: no correlated subquery per row over a year.
    """
    return Question.answered_at.expression


def is_valid(at: datetime | None = None) -> ColumnElement[bool]:
    """有效提问: not rejected (a merged duplicate is rejected); as of ``at``: not rejected then."""
    if at is None:
        return Question.status != QuestionStatus.REJECTED
    # Review happens only while a session is announced or live, so a question rejected now was
    # rejected from its (last) rejected_at on; docs/metrics.md names the one case this misses.
    return or_(Question.status != QuestionStatus.REJECTED, Question.rejected_at > at)


def is_rejected(at: datetime | None = None) -> ColumnElement[bool]:
    """Rejected (as of ``at``)."""
    if at is None:
        return Question.status == QuestionStatus.REJECTED
    return and_(Question.status == QuestionStatus.REJECTED, Question.rejected_at <= at)


def is_answered(at: datetime | None = None) -> ColumnElement[bool]:
    """A valid question with at least one published answer, live or second reply.

    As of ``at``: answered by then, and its answer recorded by then (an answer given orally
    and recorded later, 补录, counts from when it was recorded).
    """
    if at is None:
        return Question.status == QuestionStatus.ANSWERED
    recorded = exists().where(Answer.question_id == Question.id, Answer.created_at <= at)
    return and_(Question.status == QuestionStatus.ANSWERED, Question.answered_at <= at, recorded)


def is_pending(at: datetime | None = None) -> ColumnElement[bool]:
    """Waiting for review (as of ``at``: not yet published, rejected or answered then)."""
    if at is None:
        return Question.status == QuestionStatus.PENDING
    return and_(is_valid(at), ~is_answered(at),
                or_(Question.published_at.is_(None), Question.published_at > at))


def answered_after_session(at: datetime | None = None) -> ColumnElement[bool]:
    """Answered, and the first answer came after the session had ended (by a second reply)."""
    return and_(is_answered(at), LiveSession.ended_at.is_not(None),
                first_answer_at() > LiveSession.ended_at)


def asked_by(at: datetime | None) -> list[ColumnElement[bool]]:
    """The questions that existed at ``at`` (all, without a cutoff)."""
    return [] if at is None else [Question.created_at <= at]


WaitKey = tuple[int, int | None, int]  # (session id, department id, seconds waited)


def wait_counts(session_ids: Sequence[int], department_id: int | None = None,
                at: datetime | None = None) -> dict[WaitKey, int]:
    """How many answered questions waited how long, per (session, department, whole seconds).

    Waits are whole seconds (docs/metrics.md), so a session has a few thousand of these rows
    at most; percentiles are read off their sum (core.figures.answer_time_percentiles), and no
    question row leaves the database.
    """
    if not session_ids:
        return {}
    wait = seconds_between(first_answer_at(), Question.created_at)
    query = (select(Question.session_id, Question.department_id, wait, func.count())
             .where(Question.session_id.in_(session_ids), is_answered(at),
                    first_answer_at().is_not(None), *asked_by(at))
             .group_by(Question.session_id, Question.department_id, wait))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    return {(s, d, int(w)): n for s, d, w, n in db.session.execute(query)}


def wait_histogram(session_id: int) -> list[tuple[int, int]]:
    """(seconds waited, answered questions) of one session, shortest wait first."""
    totals: dict[int, int] = defaultdict(int)
    for (_session, _department, seconds), n in wait_counts([session_id]).items():
        totals[seconds] += n
    return sorted(totals.items())
