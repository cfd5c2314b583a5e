"""The grouped SQL queries behind every figure (docs/metrics.md); no loop over question rows.

Each query takes a list of sessions and groups by session (and department) in the database,
returning a few rows per session. stats.stored keeps these rows for sessions that are over;
stats.queries adds them up to departments, months and the period.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, distinct, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from qa_live.core.timeutil import to_local, utcnow
from qa_live.extensions import db
from qa_live.followup.models import FollowUp, FollowUpStatus
from qa_live.live.models import (
    Answer,
    AnswerKind,
    Question,
    QuestionSource,
    QuestionStatus,
    Rating,
    RatingValue,
    RejectReason,
    Visit,
)
from qa_live.planning.models import LiveSession
from qa_live.stats.figures import Counts

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
    answered, live or by a second reply (the follow-up service closes through it too), so the
    column is read directly: no correlated subquery per row over a year of questions.
    """
    return Question.answered_at.expression


def is_valid() -> ColumnElement[bool]:
    """有效提问: not rejected (a merged duplicate is rejected)."""
    return Question.status != QuestionStatus.REJECTED


def is_answered() -> ColumnElement[bool]:
    """A valid question with at least one published answer, live or second reply."""
    return Question.status == QuestionStatus.ANSWERED


def answered_after_session() -> ColumnElement[bool]:
    """Answered, and the first answer came after the session had ended (by a second reply)."""
    return and_(is_answered(), LiveSession.ended_at.is_not(None),
                first_answer_at() > LiveSession.ended_at)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


# The queries ----------------------------------------------------------------------------------


GroupKey = tuple[int, int | None]  # (session id, department id)


def question_counts(session_ids: Sequence[int],
                    department_id: int | None = None) -> dict[GroupKey, Counts]:
    """Question figures per (session, department) in one grouped pass over the questions."""
    if not session_ids:
        return {}
    status, reason = Question.status, Question.reject_reason
    rejected = status == QuestionStatus.REJECTED
    columns = {
        "asked": func.count(Question.id),
        "asked_advance": _count(Question.source == QuestionSource.ADVANCE),
        "asked_live": _count(Question.source == QuestionSource.LIVE),
        "valid": _count(is_valid()),
        "rejected": _count(rejected),
        **{f"rejected_{r.value}": _count(and_(rejected, reason == r)) for r in RejectReason},
        "merged": _count(and_(rejected, Question.merged_into_id.is_not(None))),
        "pending": _count(status == QuestionStatus.PENDING),
        "answered": _count(is_answered()),
        "answered_later": _count(answered_after_session()),
    }
    query = (select(Question.session_id, Question.department_id,
                    *(c.label(name) for name, c in columns.items()))
             .join(LiveSession, LiveSession.id == Question.session_id)
             .where(Question.session_id.in_(session_ids))
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    result: dict[GroupKey, Counts] = {}
    for row in db.session.execute(query):
        values = row._mapping
        result[(row.session_id, row.department_id)] = Counts(
            **{name: values[name] for name in columns})
    return result


def second_reply_counts(session_ids: Sequence[int],
                        department_id: int | None = None) -> dict[GroupKey, int]:
    """Valid questions with at least one second reply (二次答复), per (session, department)."""
    if not session_ids:
        return {}
    query = (select(Question.session_id, Question.department_id,
                    func.count(distinct(Answer.question_id)))
             .join(Question, Question.id == Answer.question_id)
             .where(Answer.kind == AnswerKind.FOLLOW_UP, Question.session_id.in_(session_ids),
                    is_valid())
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    return {(s, d): n for s, d, n in db.session.execute(query)}


def follow_up_counts(session_ids: Sequence[int], department_id: int | None = None,
                     today: date | None = None) -> dict[GroupKey, dict[str, int]]:
    """Follow-ups opened, done, impossible and overdue, per (session, department)."""
    if not session_ids:
        return {}
    if today is None:
        local_now = to_local(utcnow())
        assert local_now is not None
        today = local_now.date()
    still_open = FollowUp.status.in_([FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS])
    query = (select(FollowUp.session_id, FollowUp.department_id,
                    func.count(FollowUp.id),
                    _count(FollowUp.status == FollowUpStatus.DONE),
                    _count(FollowUp.status == FollowUpStatus.IMPOSSIBLE),
                    _count(and_(still_open, FollowUp.due_date < today)))
             .where(FollowUp.session_id.in_(session_ids))
             .group_by(FollowUp.session_id, FollowUp.department_id))
    if department_id is not None:
        query = query.where(FollowUp.department_id == department_id)
    return {
        (s, d): {"follow_ups_opened": n, "follow_ups_done": done,
                 "follow_ups_impossible": impossible, "follow_ups_overdue": overdue}
        for s, d, n, done, impossible, overdue in db.session.execute(query)
    }


def rating_counts(session_ids: Sequence[int],
                  department_id: int | None = None) -> dict[GroupKey, dict[str, int]]:
    """Ratings per value, per (session, department of the rated question)."""
    if not session_ids:
        return {}
    query = (select(Question.session_id, Question.department_id,
                    *(_count(Rating.value == v) for v in RatingValue))
             .join(Question, Question.id == Rating.question_id)
             .where(Question.session_id.in_(session_ids))
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    result = {}
    for row in db.session.execute(query):
        s, d, *values = row
        result[(s, d)] = {f"ratings_{v.value}": n
                          for v, n in zip(RatingValue, values, strict=True)}
    return result


def visit_counts(session_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Participant-visits and unique visitors per session."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(Visit.session_id, func.count(Visit.id), func.count(distinct(Visit.visitor_id)))
        .where(Visit.session_id.in_(session_ids)).group_by(Visit.session_id)
    )
    return {s: (n, unique) for s, n, unique in rows}


def unique_visitors(session_ids: Sequence[int]) -> int:
    """Distinct visitors over several sessions (someone at three sessions counts once)."""
    if not session_ids:
        return 0
    return db.session.scalar(
        select(func.count(distinct(Visit.visitor_id))).where(Visit.session_id.in_(session_ids))
    ) or 0




WaitKey = tuple[int, int | None, int]  # (session id, department id, seconds waited)


def wait_counts(session_ids: Sequence[int],
                department_id: int | None = None) -> dict[WaitKey, int]:
    """How many answered questions waited how long, per (session, department, whole seconds).

    Waits are whole seconds (docs/metrics.md), so a session has a few thousand of these rows
    at most; percentiles are read off their sum (stats.queries), and no question row leaves
    the database.
    """
    if not session_ids:
        return {}
    wait = seconds_between(first_answer_at(), Question.created_at)
    query = (select(Question.session_id, Question.department_id, wait, func.count())
             .where(Question.session_id.in_(session_ids), is_answered())
             .group_by(Question.session_id, Question.department_id, wait))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    return {(s, d, int(w)): n for s, d, w, n in db.session.execute(query)}
