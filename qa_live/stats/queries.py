"""A period's figures: its sessions, then their grouped figures added up (docs/metrics.md).

The grouped SQL queries are in stats.grouped; stats.stored keeps their rows for sessions that
are over, so a year of a million questions adds up a few hundred stored rows. Here those rows
become departments, months and the period's totals; no function here sees a question row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import exists, select

from qa_live.core.figures import answer_time_percentiles
from qa_live.core.timeutil import from_local, to_local
from qa_live.extensions import db
from qa_live.planning.models import Department, LiveSession, SessionState, session_departments
from qa_live.stats import grouped, stored
from qa_live.stats.asof import AsOf, state_at
from qa_live.stats.figures import (
    Counts,
    DepartmentFigures,
    MonthFigures,
    SessionFigures,
    Summary,
)
from qa_live.stats.grouped import GroupKey


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


# Sessions of a period ------------------------------------------------------------------------


def day_bounds(scope: Scope) -> tuple[datetime, datetime]:
    """The period's first and last local days as aware UTC bounds [start, end)."""
    start = from_local(datetime.combine(scope.start, time()))
    end = from_local(datetime.combine(scope.end + timedelta(days=1), time()))
    return start, end



def sessions_in(scope: Scope, as_of: AsOf | None = None) -> list[SessionFigures]:
    """The sessions of the period (and department), in time order, with their departments.

    As of a date: the sessions that existed then, each in the state it was in then.
    """
    start, end = day_bounds(scope)
    query = (select(LiveSession.id, LiveSession.title, LiveSession.slug, LiveSession.state,
                    LiveSession.scheduled_start, LiveSession.started_at, LiveSession.ended_at,
                    LiveSession.peak_online, LiveSession.created_at, LiveSession.announced_at,
                    LiveSession.cancelled_at, LiveSession.participants_given)
             .where(LiveSession.scheduled_start >= start, LiveSession.scheduled_start < end)
             .order_by(LiveSession.scheduled_start, LiveSession.id))
    if scope.department_id is not None:
        query = query.where(exists().where(
            session_departments.c.session_id == LiveSession.id,
            session_departments.c.department_id == scope.department_id))
    sessions = []
    for row in db.session.execute(query):
        figures = _session_figures(row, as_of)
        if figures is not None:
            sessions.append(figures)
    if sessions:
        by_id = {s.id: s for s in sessions}
        links = db.session.execute(
            select(session_departments.c.session_id, session_departments.c.department_id)
            .where(session_departments.c.session_id.in_(by_id))
        )
        for session_id, department_id in links:
            by_id[session_id].department_ids.append(department_id)
    return sessions


def _session_figures(row: Any, as_of: AsOf | None) -> SessionFigures | None:
    """A session row as SessionFigures, in its state now or as of a date (None: not yet made)."""
    state = SessionState(row.state)
    started, ended = row.started_at, row.ended_at
    if as_of is not None:
        then = state_at(state, as_of.at, row.created_at, row.announced_at, started, ended,
                        row.cancelled_at)
        if then is None:
            return None
        state = then
        started = started if started is not None and started <= as_of.at else None
        ended = ended if ended is not None and ended <= as_of.at else None
    local = to_local(row.scheduled_start)
    assert local is not None
    return SessionFigures(
        id=row.id, title=row.title, slug=row.slug, state=state,
        scheduled_start=row.scheduled_start, local_date=local.date(),
        started_at=started, ended_at=ended,
        peak_online=(row.peak_online or 0) if started is not None else 0, department_ids=[],
        participants_given=bool(row.participants_given))


def department_names() -> dict[int, str]:
    """Every department's name by id."""
    return {dept_id: name for dept_id, name in
            db.session.execute(select(Department.id, Department.name))}


# Putting a period together --------------------------------------------------------------------


def _group_counts(sessions: Sequence[SessionFigures], department_id: int | None,
                  today: date | None, as_of: AsOf | None = None,
                  ) -> tuple[dict[GroupKey, Counts], stored.Numbers]:
    at = as_of.at if as_of is not None else None
    if as_of is not None:
        today = as_of.day
    numbers = stored.collect(sessions, department_id, at)
    groups: dict[GroupKey, Counts] = defaultdict(Counts)
    for key, counts in numbers.groups.items():
        groups[key].add(counts)
    follow_ups = grouped.follow_up_counts([s.id for s in sessions], department_id, today, at)
    for key, values in follow_ups.items():
        groups[key].add(Counts(**values))
    return groups, numbers


def summarize(scope: Scope, today: date | None = None, as_of: AsOf | None = None) -> Summary:
    """Every figure of a period: its sessions, departments, months and totals.

    ``today`` is the day overdue follow-ups are judged by (default: today); ``as_of`` takes
    every figure as it was at the end of that day instead (and judges overdue by it).
    """
    sessions = sessions_in(scope, as_of)
    held = [s for s in sessions if s.held]
    held_ids = [s.id for s in held]
    groups, numbers = _group_counts(sessions, scope.department_id, today, as_of)
    visits = numbers.visits
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
    times = answer_time_percentiles(numbers.wait_histogram(held_ids), total.answered)
    ordered_departments = sorted(
        departments.values(), key=lambda d: (d.id is None, -d.counts.valid, d.name))
    return Summary(
        start=scope.start, end=scope.end, department_id=scope.department_id,
        sessions=sessions, departments=ordered_departments,
        months=[months[k] for k in sorted(months)], counts=total,
        departments_online=len({d for s in held for d in s.department_ids
                                if scope.department_id in (None, d)}),
        participant_visits=sum(s.participant_visits for s in held),
        unique_visitors=numbers.unique_visitors(held_ids),
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


def session_report(session: LiveSession, today: date | None = None,
                   as_of: AsOf | None = None) -> SessionReport:
    """The figures of one session (any state), with its departments' shares.

    As of a date before the session was planned, it is reported as a draft with no figures.
    """
    figures = _session_figures(session, as_of)
    if figures is None:  # not planned yet then
        figures = _session_figures(session, None)
        assert figures is not None
        figures.state, figures.started_at, figures.ended_at = SessionState.DRAFT, None, None
        figures.peak_online = 0
    figures.department_ids = [d.id for d in session.departments]
    groups, numbers = _group_counts([figures], None, today, as_of)
    names = {d.id: d.name for d in session.departments} | department_names()
    rows: dict[int | None, DepartmentFigures] = {
        d.id: DepartmentFigures(d.id, d.name, sessions_online=1) for d in session.departments}
    for (_sid, dept_id), counts in groups.items():
        figures.counts.add(counts)
        row = rows.setdefault(dept_id, DepartmentFigures(
            dept_id, names.get(dept_id, "") if dept_id is not None else ""))
        row.counts.add(counts)
    n, unique = numbers.visits.get(session.id, (0, 0))
    figures.participant_visits, figures.unique_visitors = n, unique
    times = answer_time_percentiles(numbers.wait_histogram([session.id]), figures.counts.answered)
    ordered = sorted(rows.values(), key=lambda d: (d.id is None, d.name))
    return SessionReport(figures, ordered, times[0.5], times[0.9])
