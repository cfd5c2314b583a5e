"""The grouped SQL queries behind every figure (docs/metrics.md); no loop over question rows.

Each query groups by session (and department) in the database and returns a few rows per
session; figures.py adds those rows up to departments, months and the period. Distinct counts
and percentiles, which do not add up, are their own queries over the whole period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, distinct, exists, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from qa_live.core.timeutil import from_local, to_local, utcnow
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
from qa_live.planning.models import Department, LiveSession, SessionState, session_departments
from qa_live.stats.figures import (
    Counts,
    DepartmentFigures,
    MonthFigures,
    SessionFigures,
    Summary,
    needed_ranks,
    percentile,
)

PERCENTILES = (0.5, 0.9)


@dataclass(frozen=True)
class Scope:
    """Which sessions a report covers: those starting (local date) from start to end inclusive.

    With a department, only the sessions it went online in, and only the questions (and
    follow-ups) attributed to it.
    """

    start: date
    end: date
    department_id: int | None = None

    @classmethod
    def year(cls, year: int, department_id: int | None = None) -> Scope:
        """The calendar year."""
        return cls(date(year, 1, 1), date(year, 12, 31), department_id)


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


def _local_day_bounds(scope: Scope) -> tuple[datetime, datetime]:
    start = from_local(datetime.combine(scope.start, time()))
    end = from_local(datetime.combine(scope.end + timedelta(days=1), time()))
    return start, end


# The queries ----------------------------------------------------------------------------------


def sessions_in(scope: Scope) -> list[SessionFigures]:
    """The sessions of the period (and department), in time order, with their departments."""
    start, end = _local_day_bounds(scope)
    query = (select(LiveSession.id, LiveSession.title, LiveSession.slug, LiveSession.state,
                    LiveSession.scheduled_start, LiveSession.started_at, LiveSession.ended_at,
                    LiveSession.peak_online)
             .where(LiveSession.scheduled_start >= start, LiveSession.scheduled_start < end)
             .order_by(LiveSession.scheduled_start, LiveSession.id))
    if scope.department_id is not None:
        query = query.where(exists().where(
            session_departments.c.session_id == LiveSession.id,
            session_departments.c.department_id == scope.department_id))
    sessions = []
    for row in db.session.execute(query):
        local = to_local(row.scheduled_start)
        assert local is not None
        sessions.append(SessionFigures(
            id=row.id, title=row.title, slug=row.slug, state=SessionState(row.state),
            scheduled_start=row.scheduled_start, local_date=local.date(),
            started_at=row.started_at, ended_at=row.ended_at, peak_online=row.peak_online or 0,
            department_ids=[]))
    if sessions:
        by_id = {s.id: s for s in sessions}
        links = db.session.execute(
            select(session_departments.c.session_id, session_departments.c.department_id)
            .where(session_departments.c.session_id.in_(by_id))
        )
        for session_id, department_id in links:
            by_id[session_id].department_ids.append(department_id)
    return sessions


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


def answer_time_percentiles(session_ids: Sequence[int], answered: int,
                            department_id: int | None = None,
                            ps: tuple[float, ...] = PERCENTILES) -> dict[float, float | None]:
    """Percentiles of seconds from asking to the first answer, over answered valid questions.

    Waits are whole seconds, so the database groups them into (wait, how many) rows — a few
    thousand at most for a year — and the ranks are found by walking those counts; no
    question row leaves the database.
    """
    if not session_ids or answered <= 0:
        return {p: None for p in ps}
    wait = seconds_between(first_answer_at(), Question.created_at).label("wait")
    query = (select(wait, func.count())
             .where(Question.session_id.in_(session_ids), is_answered())
             .group_by(wait).order_by(wait))
    if department_id is not None:
        query = query.where(Question.department_id == department_id)
    ranks = sorted(needed_ranks(answered, ps))
    values: dict[int, float] = {}
    seen = 0
    for value, count in db.session.execute(query):
        while ranks and ranks[0] <= seen + count:
            values[ranks.pop(0)] = float(value)
        seen += count
        if not ranks:
            break
    if ranks:  # the questions changed between the two queries; say nothing
        return {p: None for p in ps}
    return {p: percentile(values, answered, p) for p in ps}


def department_names() -> dict[int, str]:
    """Every department's name by id."""
    return {dept_id: name for dept_id, name in
            db.session.execute(select(Department.id, Department.name))}


# Putting a period together --------------------------------------------------------------------


def _group_counts(session_ids: list[int], department_id: int | None,
                  today: date | None) -> dict[GroupKey, Counts]:
    groups: dict[GroupKey, Counts] = defaultdict(Counts)
    for key, counts in question_counts(session_ids, department_id).items():
        groups[key].add(counts)
    for key, n in second_reply_counts(session_ids, department_id).items():
        groups[key].second_replies += n
    for extra in (follow_up_counts(session_ids, department_id, today),
                  rating_counts(session_ids, department_id)):
        for key, values in extra.items():
            groups[key].add(Counts(**values))
    return groups


def summarize(scope: Scope, today: date | None = None) -> Summary:
    """Every figure of a period: its sessions, departments, months and totals."""
    sessions = sessions_in(scope)
    all_ids = [s.id for s in sessions]
    held = [s for s in sessions if s.held]
    held_ids = [s.id for s in held]
    groups = _group_counts(all_ids, scope.department_id, today)
    visits = visit_counts(all_ids)
    by_id = {s.id: s for s in sessions}
    for (session_id, _dept), counts in groups.items():
        by_id[session_id].counts.add(counts)
    for session_id, (n, unique) in visits.items():
        by_id[session_id].participant_visits = n
        by_id[session_id].unique_visitors = unique

    total = Counts()
    for s in held:
        total.add(s.counts)

    names = department_names()
    departments: dict[int | None, DepartmentFigures] = {}

    def department(dept_id: int | None) -> DepartmentFigures:
        if dept_id not in departments:
            departments[dept_id] = DepartmentFigures(dept_id, names.get(dept_id, "")
                                                     if dept_id is not None else "")
        return departments[dept_id]

    for s in held:
        for dept_id in s.department_ids:
            if scope.department_id is None or dept_id == scope.department_id:
                row = department(dept_id)
                row.sessions_online += 1
                row.participant_visits += s.participant_visits
    held_set = set(held_ids)
    for (group_session, group_dept), counts in groups.items():
        if group_session in held_set:
            department(group_dept).counts.add(counts)

    months: dict[tuple[int, int], MonthFigures] = {}
    if scope.start.year == scope.end.year:
        for m in range(scope.start.month, scope.end.month + 1):
            months[(scope.start.year, m)] = MonthFigures(scope.start.year, m)
    for s in held:
        key = (s.local_date.year, s.local_date.month)
        month = months.setdefault(key, MonthFigures(*key))
        month.sessions_held += 1
        month.participant_visits += s.participant_visits
        month.counts.add(s.counts)

    peak = max(held, key=lambda s: s.peak_online, default=None)
    times = answer_time_percentiles(held_ids, total.answered, scope.department_id)
    ordered_departments = sorted(
        departments.values(), key=lambda d: (d.id is None, -d.counts.valid, d.name))
    return Summary(
        start=scope.start, end=scope.end, department_id=scope.department_id,
        sessions=sessions, departments=ordered_departments,
        months=[months[k] for k in sorted(months)], counts=total,
        departments_online=len({d for s in held for d in s.department_ids
                                if scope.department_id in (None, d)}),
        participant_visits=sum(s.participant_visits for s in held),
        unique_visitors=unique_visitors(held_ids),
        peak_online=peak.peak_online if peak else 0,
        peak_session=peak if peak and peak.peak_online else None,
        median_answer_seconds=times[0.5], p90_answer_seconds=times[0.9],
    )


@dataclass
class SessionReport:
    """One session's figures, by department, with its answer times."""

    session: SessionFigures
    departments: list[DepartmentFigures]
    median_answer_seconds: float | None
    p90_answer_seconds: float | None


def session_report(session: LiveSession, today: date | None = None) -> SessionReport:
    """The figures of one session (any state), with its departments' shares."""
    local = to_local(session.scheduled_start)
    assert local is not None
    figures = SessionFigures(
        id=session.id, title=session.title, slug=session.slug, state=session.state,
        scheduled_start=session.scheduled_start, local_date=local.date(),
        started_at=session.started_at, ended_at=session.ended_at,
        peak_online=session.peak_online or 0, department_ids=[d.id for d in session.departments])
    groups = _group_counts([session.id], None, today)
    names = {d.id: d.name for d in session.departments} | department_names()
    rows: dict[int | None, DepartmentFigures] = {
        d.id: DepartmentFigures(d.id, d.name, sessions_online=1) for d in session.departments}
    for (_sid, dept_id), counts in groups.items():
        figures.counts.add(counts)
        row = rows.setdefault(dept_id, DepartmentFigures(
            dept_id, names.get(dept_id, "") if dept_id is not None else ""))
        row.counts.add(counts)
    n, unique = visit_counts([session.id]).get(session.id, (0, 0))
    figures.participant_visits, figures.unique_visitors = n, unique
    times = answer_time_percentiles([session.id], figures.counts.answered)
    ordered = sorted(rows.values(), key=lambda d: (d.id is None, d.name))
    return SessionReport(figures, ordered, times[0.5], times[0.9])
