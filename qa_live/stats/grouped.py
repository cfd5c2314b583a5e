"""The grouped SQL queries behind every figure (docs/metrics.md); no loop over question rows.

Each query takes a list of sessions and groups by session (and department) in the database,
returning a few rows per session. stats.stored keeps these rows for sessions that are over;
stats.queries adds them up to departments, months and the period.

Every query takes an optional cutoff ``at`` (figures "as of" a date, docs/metrics.md): then it
counts what was true at that moment, from the rows' own timestamps: a question asked, published,
rejected or answered by then, an answer or second reply recorded by then, a rating's value then,
a visit begun by then. Without it (``at=None``) it counts what is true now, which is the same
but for the timestamp conditions, and cheaper.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from qa_live.core.timeutil import to_local, utcnow
from qa_live.extensions import db
from qa_live.followup.models import FollowUp, FollowUpChange, FollowUpStatus
from qa_live.live.models import (
    Answer,
    AnswerKind,
    Question,
    QuestionSource,
    QuestionStatus,
    Rating,
    RatingChange,
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


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


# The queries ----------------------------------------------------------------------------------


GroupKey = tuple[int, int | None]  # (session id, department id)


def question_counts(session_ids: Sequence[int], department_id: int | None = None,
                    at: datetime | None = None) -> dict[GroupKey, Counts]:
    """Question figures per (session, department) in one grouped pass over the questions."""
    return question_counts_and_latest(session_ids, department_id, at)[0]


def question_counts_and_latest(
        session_ids: Sequence[int], department_id: int | None = None,
        at: datetime | None = None) -> tuple[dict[GroupKey, Counts], dict[int, datetime]]:
    """question_counts, and per session the latest moment any of its questions changed.

    The latest moment (asked, published, rejected or first answered) comes from the same pass;
    stats.stored keeps it, so figures as of a later date can use the stored figures.
    """
    if not session_ids:
        return {}, {}
    reason = Question.reject_reason
    rejected = is_rejected(at)
    columns = {
        "asked": func.count(Question.id),
        "asked_advance": _count(Question.source == QuestionSource.ADVANCE),
        "asked_live": _count(Question.source == QuestionSource.LIVE),
        "valid": _count(is_valid(at)),
        "rejected": _count(rejected),
        **{f"rejected_{r.value}": _count(and_(rejected, reason == r)) for r in RejectReason},
        "merged": _count(and_(rejected, Question.merged_into_id.is_not(None))),
        "pending": _count(is_pending(at)),
        "answered": _count(is_answered(at)),
        "answered_later": _count(answered_after_session(at)),
    }
    moments = (Question.created_at, Question.published_at, Question.answered_at,
               Question.rejected_at)
    query = (select(Question.session_id, Question.department_id,
                    *(c.label(name) for name, c in columns.items()),
                    *(func.max(m).label(f"latest_{n}") for n, m in enumerate(moments)))
             .join(LiveSession, LiveSession.id == Question.session_id)
             .where(Question.session_id.in_(session_ids), *asked_by(at))
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    result: dict[GroupKey, Counts] = {}
    latest: dict[int, datetime] = {}
    for row in db.session.execute(query):
        values = row._mapping
        result[(row.session_id, row.department_id)] = Counts(
            **{name: values[name] for name in columns})
        _later(latest, row.session_id, *(values[f"latest_{n}"] for n in range(len(moments))))
    return result, latest


def _later(latest: dict[int, datetime], session_id: int, *moments: datetime | None) -> None:
    """Keep the latest of the given moments for the session."""
    for moment in moments:
        if moment is not None and (session_id not in latest or moment > latest[session_id]):
            latest[session_id] = moment


def second_reply_counts(session_ids: Sequence[int], department_id: int | None = None,
                        at: datetime | None = None) -> dict[GroupKey, int]:
    """Valid questions with at least one second reply (二次答复), per (session, department)."""
    if not session_ids:
        return {}
    query = (select(Question.session_id, Question.department_id,
                    func.count(distinct(Answer.question_id)))
             .join(Question, Question.id == Answer.question_id)
             .where(Answer.kind == AnswerKind.FOLLOW_UP, Question.session_id.in_(session_ids),
                    is_valid(at), *asked_by(at),
                    *([] if at is None else [Answer.created_at <= at]))
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    return {(s, d): n for s, d, n in db.session.execute(query)}


def latest_answers(session_ids: Sequence[int]) -> dict[int, datetime]:
    """Per session, when its latest second reply or supplementary answer (补录) was recorded.

    Other answers are first answers, whose time is the question's answered_at; these two kinds
    are found through the (kind, question_id) index without reading every answer.
    """
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(Question.session_id, func.max(Answer.created_at))
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.kind.in_([AnswerKind.FOLLOW_UP, AnswerKind.ORAL]),
               Question.session_id.in_(session_ids))
        .group_by(Question.session_id))
    return {s: moment for s, moment in rows if moment is not None}


def follow_up_counts(session_ids: Sequence[int], department_id: int | None = None,
                     today: date | None = None,
                     at: datetime | None = None) -> dict[GroupKey, dict[str, int]]:
    """Follow-ups opened, done, impossible and overdue, per (session, department).

    As of ``at``: those opened by then, closed by then, and overdue by the due date they had
    then (a due date changed later is read back from the follow-up's history).
    """
    if not session_ids:
        return {}
    if today is None:
        local_now = to_local(utcnow())
        assert local_now is not None
        today = local_now.date()
    if at is None:
        done = FollowUp.status == FollowUpStatus.DONE
        impossible = FollowUp.status == FollowUpStatus.IMPOSSIBLE
        still_open = FollowUp.status.in_([FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS])
        overdue = and_(still_open, FollowUp.due_date < today)
        existed: list[ColumnElement[bool]] = []
    else:
        closed_by = and_(FollowUp.closed_at.is_not(None), FollowUp.closed_at <= at)
        done = and_(FollowUp.status == FollowUpStatus.DONE, closed_by)
        impossible = and_(FollowUp.status == FollowUpStatus.IMPOSSIBLE, closed_by)
        later_change = (select(FollowUpChange.old)
                        .where(FollowUpChange.follow_up_id == FollowUp.id,
                               FollowUpChange.field == "due_date", FollowUpChange.at > at)
                        .order_by(FollowUpChange.at, FollowUpChange.id).limit(1)
                        .scalar_subquery())
        due_then = func.coalesce(later_change, cast(FollowUp.due_date, String))
        overdue = and_(~closed_by, due_then < literal(today.isoformat()))
        existed = [FollowUp.created_at <= at]
    query = (select(FollowUp.session_id, FollowUp.department_id,
                    func.count(FollowUp.id), _count(done), _count(impossible), _count(overdue))
             .where(FollowUp.session_id.in_(session_ids), *existed)
             .group_by(FollowUp.session_id, FollowUp.department_id))
    if department_id is not None:
        query = query.where(FollowUp.department_id == department_id)
    return {
        (s, d): {"follow_ups_opened": n, "follow_ups_done": n_done,
                 "follow_ups_impossible": n_impossible, "follow_ups_overdue": n_overdue}
        for s, d, n, n_done, n_impossible, n_overdue in db.session.execute(query)
    }


def rating_value(at: datetime | None = None) -> ColumnElement[Any]:
    """A rating's value (as of ``at``: the value before its first change after then)."""
    if at is None:
        return Rating.value.expression
    before = (select(RatingChange.old_value)
              .where(RatingChange.rating_id == Rating.id, RatingChange.at > at)
              .order_by(RatingChange.at, RatingChange.id).limit(1).scalar_subquery())
    return case((Rating.updated_at <= at, Rating.value), else_=func.coalesce(before, Rating.value))


def rating_counts(session_ids: Sequence[int], department_id: int | None = None,
                  at: datetime | None = None,
                  latest: dict[int, datetime] | None = None) -> dict[GroupKey, dict[str, int]]:
    """Ratings per value, per (session, department of the rated question).

    With ``latest``, also notes per session when a rating was last given or changed.
    """
    if not session_ids:
        return {}
    value = rating_value(at)
    query = (select(Question.session_id, Question.department_id, func.max(Rating.updated_at),
                    *(_count(value == v) for v in RatingValue))
             .join(Question, Question.id == Rating.question_id)
             .where(Question.session_id.in_(session_ids),
                    *([] if at is None else [Rating.created_at <= at]))
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    result = {}
    for row in db.session.execute(query):
        s, d, changed, *values = row
        if latest is not None:
            _later(latest, s, changed)
        result[(s, d)] = {f"ratings_{v.value}": n
                          for v, n in zip(RatingValue, values, strict=True)}
    return result


def visit_counts(session_ids: Sequence[int], at: datetime | None = None,
                 latest: dict[int, datetime] | None = None) -> dict[int, tuple[int, int]]:
    """Participant-visits and unique visitors per session (as of ``at``: visits begun by then)."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(Visit.session_id, func.count(Visit.id), func.count(distinct(Visit.visitor_id)),
               func.max(Visit.started_at))
        .where(Visit.session_id.in_(session_ids), *([] if at is None else [Visit.started_at <= at]))
        .group_by(Visit.session_id)
    )
    result = {}
    for s, n, unique, began in rows:
        if latest is not None:
            _later(latest, s, began)
        result[s] = (n, unique)
    return result


def unique_visitors(session_ids: Sequence[int], at: datetime | None = None) -> int:
    """Distinct visitors over several sessions (someone at three sessions counts once)."""
    if not session_ids:
        return 0
    return db.session.scalar(
        select(func.count(distinct(Visit.visitor_id)))
        .where(Visit.session_id.in_(session_ids), *([] if at is None else [Visit.started_at <= at]))
    ) or 0


WaitKey = tuple[int, int | None, int]  # (session id, department id, seconds waited)


def wait_counts(session_ids: Sequence[int], department_id: int | None = None,
                at: datetime | None = None) -> dict[WaitKey, int]:
    """How many answered questions waited how long, per (session, department, whole seconds).

    Waits are whole seconds (docs/metrics.md), so a session has a few thousand of these rows
    at most; percentiles are read off their sum (stats.queries), and no question row leaves
    the database.
    """
    if not session_ids:
        return {}
    wait = seconds_between(first_answer_at(), Question.created_at)
    query = (select(Question.session_id, Question.department_id, wait, func.count())
             .where(Question.session_id.in_(session_ids), is_answered(at), *asked_by(at))
             .group_by(Question.session_id, Question.department_id, wait))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    return {(s, d, int(w)): n for s, d, w, n in db.session.execute(query)}
