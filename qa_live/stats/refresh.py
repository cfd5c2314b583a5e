"""Counting the statistics ahead of the pages, so no page request counts a session's rows.

A session's stored figures (stats.stored) go stale when any row they come from changes (the
triggers of migration 0005 raise its ``stats_version``). Until now the next page to read them
counted the session again from its questions, answers and visits: after a bulk import of a
year of 1,000,000 questions that first page took about 3 s. Now the counting happens where the
rows are written or just after:

- an import (``flask sessions import``, the office's API) counts the sessions it records in its
  own transaction (``in_transaction``), before it commits: its figures are stored and committed
  with its rows, or vanish with them;
- the leader's background loop (``refresh_round``, every ``STATS_REFRESH_INTERVAL_S``) counts
  every other session whose stored figures are behind its rows once it is settled: a second
  reply, a rating, a 补录, a late moderation, a session that ended, rows written by plain SQL.

Each round then reads the year (and each department's share of it) once, so the distinct
visitors of those periods are stored too, with those of every beginning of their sessions in
start order (stats.visitors); and a stored session's figures as of each past day its rows
changed are kept with it (stats.days), so a report as of a past day counts nothing either.
Counting stays the grouped queries of stats.grouped, the same as a page's, so the stored
figures are the figures a page would count (the tests compare them with a count from scratch).
A page that arrives between a change and the next round still counts the changed session
itself, as before: exact, but not fast.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select

from qa_live.core.timeutil import local_year, utcnow
from qa_live.extensions import db
from qa_live.planning.models import LiveSession, SessionState, session_departments
from qa_live.stats import days, queries, stored, visitors
from qa_live.stats.models import StatsSession

log = logging.getLogger(__name__)

#: Sessions counted per batch (each batch stores its figures in one transaction).
BATCH = 8


def storable_sessions(plan_year: int | None = None) -> list[int]:
    """Every session whose figures may be stored now (not live, settled), of a plan year."""
    query = (select(LiveSession.id)
             .where(LiveSession.state != SessionState.LIVE,
                    or_(LiveSession.ended_at.is_(None),
                        LiveSession.ended_at <= utcnow() - stored.SETTLE))
             .order_by(LiveSession.id))
    if plan_year is not None:
        query = query.where(LiveSession.plan_year == plan_year)
    return list(db.session.scalars(query))


def stale_sessions(session_ids: Sequence[int] | None = None,
                   now: datetime | None = None) -> list[int]:
    """Sessions whose stored figures are missing or behind their rows, and may be stored now.

    Live sessions are never stored, nor those that ended less than ``stored.SETTLE`` ago.
    """
    now = now or utcnow()
    query = (select(LiveSession.id)
             .outerjoin(StatsSession, and_(StatsSession.session_id == LiveSession.id,
                                           StatsSession.version == LiveSession.stats_version))
             .where(StatsSession.session_id.is_(None), LiveSession.state != SessionState.LIVE,
                    or_(LiveSession.ended_at.is_(None),
                        LiveSession.ended_at <= now - stored.SETTLE))
             .order_by(LiveSession.id))
    if session_ids is not None:
        if not session_ids:
            return []
        query = query.where(LiveSession.id.in_(session_ids))
    return list(db.session.scalars(query))


def count_sessions(session_ids: Sequence[int]) -> int:
    """Count and store these sessions' figures; return how many were counted.

    Each batch replaces its sessions' stored rows in one transaction, so a page meanwhile reads
    the old rows or the new ones, never none. The versions are read before counting, so a
    change racing with the count leaves the stored row stale (counted again next round), never
    wrong. Give only sessions that may be stored (``storable_sessions``).
    """
    counted = 0
    for start in range(0, len(session_ids), BATCH):
        batch = list(session_ids[start:start + BATCH])
        rows = db.session.execute(
            select(LiveSession.id, LiveSession.stats_version, LiveSession.started_at,
                   LiveSession.ended_at).where(LiveSession.id.in_(batch))).all()
        versions = {s: version for s, version, _started, _ended in rows}
        computed = stored.compute(list(versions), versions)
        for s, _version, started, ended in rows:
            one = computed[s]
            one.settled_at = stored.latest_of(one.settled_at, started, ended)
        stored.save(computed)
        days.keep(list(computed), versions, {s: one.settled_at for s, one in computed.items()})
        counted += len(computed)
    return counted


def years_of(session_ids: Sequence[int]) -> set[int]:
    """The calendar years (local dates) the sessions are scheduled in."""
    if not session_ids:
        return set()
    return {local_year(start) for start in db.session.scalars(
        select(LiveSession.scheduled_start).where(LiveSession.id.in_(session_ids)))}


def read_periods(years: set[int]) -> None:
    """Read each year, and each department's share of it, so their visitors are stored: those
    of every beginning of its sessions in start order too, for reports as of a past day."""
    for year in sorted(years):
        scope = queries.Scope.year(year)
        _store_beginnings(scope)
        queries.summarize(scope)
        start, end = queries.day_bounds(scope)
        departments = db.session.scalars(
            select(session_departments.c.department_id).distinct()
            .join(LiveSession, LiveSession.id == session_departments.c.session_id)
            .where(LiveSession.scheduled_start >= start, LiveSession.scheduled_start < end))
        for department_id in sorted(departments):
            _store_beginnings(queries.Scope.year(year, department_id))
            queries.summarize(queries.Scope.year(year, department_id))


def _store_beginnings(scope: queries.Scope) -> None:
    now = utcnow()
    visitors.store_beginnings([s.id for s in queries.sessions_in(scope)
                               if s.held and stored.storable(s, now)])


def refresh_round() -> int:
    """One round of the background loop (on the leader only): count what went stale.

    Returns how many sessions were counted. The years they belong to are then read once, so
    their distinct visitors are stored before a page asks.
    """
    from qa_live.live.lease import lease

    if not lease().leading():
        return 0
    stale = stale_sessions()
    if stale:
        count_sessions(stale)
        db.session.rollback()  # a new snapshot: read the periods with what was just stored
        read_periods(years_of(stale))
        db.session.rollback()
        log.info("statistics: counted %d session(s) ahead of the pages", len(stale))
    # Sessions kept current by their changes (stats.maintained) need their past days again.
    kept = days.keep_unkept(BATCH)
    db.session.rollback()
    if kept:
        log.info("statistics: kept the past days of %d session(s)", kept)
    return len(stale)


def in_transaction(session_ids: Sequence[int]) -> None:
    """Count and store these sessions' figures inside the caller's transaction (an import).

    Called after the caller's last flush: the versions read then are the ones its commit makes
    current. The years they fall in are read too, so the first page after the import reads
    only stored rows.
    """
    with stored.storing_in(db.session()):
        count_sessions(stale_sessions(session_ids, utcnow()))
        read_periods(years_of(session_ids))
