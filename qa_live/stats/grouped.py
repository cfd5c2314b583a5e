"""The grouped SQL queries behind every figure (docs/metrics.md); no loop over question rows.

What "valid", "answered" and the wait to the first answer mean in SQL is live.metrics', which the
live counters read too.

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

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Select,
    String,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from qa_live.core.timeutil import to_local, utcnow
from qa_live.extensions import db
from qa_live.followup.models import FollowUp, FollowUpChange, FollowUpStatus
from qa_live.live.metrics import (
    answered_after_session,
    asked_by,
    is_answered,
    is_pending,
    is_rejected,
    is_valid,
)
from qa_live.live.models import (
    Answer,
    AnswerKind,
    Question,
    QuestionSource,
    Rating,
    RatingChange,
    RatingValue,
    RejectReason,
    Visit,
)
from qa_live.planning.models import LiveSession
from qa_live.stats.figures import Counts


class unindexed(FunctionElement[Any]):
    """A column the planner must not look up by its own index (SQLite: ``+column``).

    SQLite keeps no statistics of how values spread: as of a moment it walked the answers' time
    index over a year of live answers (3.4 s at 1,000,000; 0.15 s scanning them without it).
    PostgreSQL knows the kinds' shares and gets the column as it is.
    """

    inherit_cache = True
    name = "unindexed"

    def __init__(self, column: ColumnElement[Any]) -> None:
        super().__init__(column)
        self.type = column.type  # the column's own, so bound values are converted alike


@compiles(unindexed)
def _unindexed(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(next(iter(element.clauses)), **kw)


@compiles(unindexed, "sqlite")
def _unindexed_sqlite(element: unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(next(iter(element.clauses)), **kw)


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


# The queries ----------------------------------------------------------------------------------


GroupKey = tuple[int, int | None]  # (session id, department id)
Ids = Sequence[int] | BindParameter[Any]  # a list, or an expanding parameter


def question_counts(session_ids: Sequence[int], department_id: int | None = None,
                    at: datetime | None = None) -> dict[GroupKey, Counts]:
    """Question figures per (session, department) in one grouped pass over the questions."""
    return question_counts_and_latest(session_ids, department_id, at)[0]


def question_counts_and_latest(
        session_ids: Sequence[int], department_id: int | None = None,
        at: datetime | None = None,
) -> tuple[dict[GroupKey, Counts], dict[int, datetime]]:
    """question_counts, and per session the latest moment any of its questions changed.

    The latest moment (asked, published, rejected or first answered) comes from the same pass;
    stats.stored keeps it, so figures as of a later date can use the stored figures.
    """
    if not session_ids:
        return {}, {}
    return read_question_counts(db.session.execute(
        question_counts_query(session_ids, department_id, at)))


MOMENTS = (Question.created_at, Question.published_at, Question.answered_at, Question.rejected_at)


def question_counts_query(session_ids: Ids, department_id: int | None = None,
                          at: datetime | None = None, question_ids: Ids | None = None) -> Select:
    """The statement of question_counts_and_latest (ids as lists, or expanding parameters
    for a statement built once: stats.partial, counting a few changed questions by id)."""
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
    query = (select(Question.session_id, Question.department_id,
                    *(c.label(name) for name, c in columns.items()),
                    *(func.max(m).label(f"latest_{n}") for n, m in enumerate(MOMENTS)))
             .join(LiveSession, LiveSession.id == Question.session_id)
             .where(Question.session_id.in_(session_ids), *asked_by(at))
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    if question_ids is not None:
        query = query.where(Question.id.in_(question_ids))
    return query


def read_question_counts(
        rows: Iterable[Row[Any]]) -> tuple[dict[GroupKey, Counts], dict[int, datetime]]:
    """The figures and latest moments from the rows of question_counts_query."""
    result: dict[GroupKey, Counts] = {}
    latest: dict[int, datetime] = {}
    for row in rows:
        values = row._mapping
        result[(row.session_id, row.department_id)] = Counts(
            **{name: n for name, n in values.items()
               if name not in ("session_id", "department_id") and not name.startswith("latest_")})
        _later(latest, row.session_id, *(values[f"latest_{n}"] for n in range(len(MOMENTS))))
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
    query = second_reply_query(session_ids, department_id, at)
    return {(s, d): n for s, d, n in db.session.execute(query)}


def second_reply_query(session_ids: Ids, department_id: int | None = None,
                       at: datetime | None = None, question_ids: Ids | None = None) -> Select:
    """The statement of second_reply_counts."""
    # Driven from the second replies (the (kind, question_id) index), which are few, rather
    # than from every question of the sessions: a live session's page reads none of them.
    replied = (select(Answer.question_id)
               .where(Answer.kind == AnswerKind.FOLLOW_UP,
                      *([] if at is None else [unindexed(Answer.created_at.expression) <= at])))
    query = (select(Question.session_id, Question.department_id, func.count(Question.id))
             .where(Question.id.in_(replied), Question.session_id.in_(session_ids),
                    is_valid(at), *asked_by(at))
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    if question_ids is not None:
        query = query.where(Question.id.in_(question_ids))
    return query


def latest_answers(session_ids: Sequence[int]) -> dict[int, datetime]:
    """Per session, when its latest second reply or supplementary answer (补录) was recorded.

    Other answers are first answers, whose time is the question's answered_at; these two kinds
    are found through the (kind, question_id) index without reading every answer.
    """
    if not session_ids:
        return {}
    rows = db.session.execute(latest_answers_query(session_ids))
    return {s: moment for s, moment in rows if moment is not None}


def latest_answers_query(session_ids: Ids, question_ids: Ids | None = None) -> Select:
    """The statement of latest_answers."""
    query = (select(Question.session_id, func.max(Answer.created_at))
             .join(Question, Question.id == Answer.question_id)
             .where(Answer.kind.in_([AnswerKind.FOLLOW_UP, AnswerKind.ORAL]),
                    Question.session_id.in_(session_ids))
             .group_by(Question.session_id))
    if question_ids is not None:
        query = query.where(Question.id.in_(question_ids))
    return query


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
    return read_ratings(db.session.execute(rating_query(session_ids, department_id, at)), latest)


def rating_query(session_ids: Ids, department_id: int | None = None,
                 at: datetime | None = None, question_ids: Ids | None = None) -> Select:
    """The statement of rating_counts."""
    value = rating_value(at)
    query = (select(Question.session_id, Question.department_id, func.max(Rating.updated_at),
                    *(_count(value == v) for v in RatingValue))
             .join(Question, Question.id == Rating.question_id)
             .where(Question.session_id.in_(session_ids),
                    *([] if at is None else [Rating.created_at <= at]))
             .group_by(Question.session_id, Question.department_id))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    if question_ids is not None:
        query = query.where(Question.id.in_(question_ids))
    return query


def read_ratings(rows: Iterable[Row[Any]],
                 latest: dict[int, datetime] | None) -> dict[GroupKey, dict[str, int]]:
    """The ratings per value from the rows of rating_query (and the latest change, noted)."""
    result = {}
    for row in rows:
        s, d, changed, *values = tuple(row)
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


def new_visitors(session_ids: Sequence[int], seen_at: Sequence[int],
                 at: datetime | None = None) -> int:
    """Distinct visitors of some sessions not among the visitors of others (as of ``at``).

    unique_visitors(A + B) = unique_visitors(A) + new_visitors(B, A): with A's count stored,
    a live session B costs a look-up per visit of B (the (session, visitor) index), not a
    count of A's visits.
    """
    if not session_ids:
        return 0
    if not seen_at:
        return unique_visitors(session_ids, at)
    earlier = aliased(Visit)
    return db.session.scalar(
        select(func.count(distinct(Visit.visitor_id)))
        .where(Visit.session_id.in_(session_ids),
               *([] if at is None else [Visit.started_at <= at]),
               ~exists().where(earlier.session_id.in_(seen_at),
                               earlier.visitor_id == Visit.visitor_id))
    ) or 0
