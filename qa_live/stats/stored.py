"""A set of sessions' grouped figures, from storage where fresh, else from the grouped queries.

A session's figures are stored (stats.models) once it is no longer live and its end is
``SETTLE`` behind us, stamped with the ``stats_version`` read *before* they were computed. The
database triggers raise that version on every later change, so a stored row is used only while
its version is the session's current one, and a change racing with the computation leaves the
row stale rather than wrong. Live sessions are always computed: their figures move every second.

Storing goes through its own connection and transaction, after the figures are in hand, so a
page that reads statistics never commits the request's work; when storing fails (another page
stored the same session a moment earlier) the figures are used anyway and nothing is lost.

Figures as of a date (``at``): a stored session whose every row settled before that moment
(``settled_at``) has the same figures then as now and is read from storage; any other (a second
reply, a rating, a 补录 since) is read from the days the round kept for it (stats.days), else
counted as of that moment once and kept for it (stats.past).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from qa_live.core.timeutil import utcnow
from qa_live.extensions import Model, db
from qa_live.live import metrics
from qa_live.planning.models import LiveSession, SessionState
from qa_live.stats import grouped, past, visitors
from qa_live.stats.figures import Counts, SessionFigures
from qa_live.stats.grouped import GroupKey
from qa_live.stats.models import (
    StatsAsOf,
    StatsGroup,
    StatsPeriod,
    StatsSession,
    StatsWait,
)

log = logging.getLogger(__name__)

#: How long after its end a session's figures are first stored: long enough that no write
#: begun while it was live (the triggers skip live sessions) can still be in flight.
SETTLE = timedelta(seconds=60)

#: The Counts fields kept in stats_groups (follow-ups depend on today's date: always queried).
STORED_FIELDS = past.STORED_FIELDS


_key, _department = past.department_key, past.department_of


def storable(session: SessionFigures, now: datetime) -> bool:
    """Whether a session's figures may be stored: not live, and its end has settled."""
    if session.state == SessionState.LIVE:
        return False
    return session.ended_at is None or session.ended_at <= now - SETTLE


@dataclass
class Computed:
    """One session's figures as the grouped queries gave them, for every department."""

    version: int
    groups: dict[int | None, Counts] = field(default_factory=dict)
    waits: dict[tuple[int | None, int], int] = field(default_factory=dict)
    participant_visits: int = 0
    unique_visitors: int = 0
    settled_at: datetime | None = None


@dataclass
class Numbers:
    """The grouped figures of a set of sessions (one department's share, with a filter)."""

    department_id: int | None
    at: datetime | None = None
    groups: dict[GroupKey, Counts] = field(default_factory=dict)
    visits: dict[int, tuple[int, int]] = field(default_factory=dict)
    stored_ids: set[int] = field(default_factory=set)
    visits_versions: dict[int, int] = field(default_factory=dict)
    computed_waits: dict[int, dict[int, int]] = field(default_factory=dict)
    settled: dict[int, datetime | None] = field(default_factory=dict)
    # Sessions whose figures are as of ``at`` (kept in stats_as_of), not their figures now.
    as_of_ids: set[int] = field(default_factory=set)

    def wait_histogram(self, session_ids: Iterable[int]) -> list[tuple[int, int]]:
        """(seconds waited, answered questions) over the given sessions, shortest wait first."""
        ids = set(session_ids)
        totals: dict[int, int] = defaultdict(int)
        from_storage = sorted(ids & self.stored_ids)
        if from_storage:
            query = (select(StatsWait.wait_seconds, func.sum(StatsWait.questions))
                     .where(StatsWait.session_id.in_(from_storage))
                     .group_by(StatsWait.wait_seconds))
            if self.department_id is not None:
                query = query.where(StatsWait.department_key == self.department_id)
            for seconds, n in db.session.execute(query):
                totals[seconds] += int(n)
        for session_id in ids - self.stored_ids:
            for seconds, n in self.computed_waits.get(session_id, {}).items():
                totals[seconds] += n
        return sorted(totals.items())

    def unique_visitors(self, session_ids: Sequence[int]) -> int:
        """Distinct visitors over the sessions, stored per set of (session, visits version).

        Sessions whose visits still move (a live one, or one counted as of an earlier moment)
        add only their visitors not seen at the others: the others' count is stored, and a
        page during a live session does not count a year of visits again.
        """
        if not session_ids:
            return 0
        settled = [s for s in session_ids if s in self.visits_versions]
        moving = [s for s in session_ids if s not in self.visits_versions]
        count = self._settled_visitors(settled)
        if moving:
            count += grouped.new_visitors(moving, settled, self.at)
        return count

    def _settled_visitors(self, session_ids: Sequence[int]) -> int:
        if not session_ids:
            return 0
        # A session counted as of a moment is named with it: its visits up to then.
        as_of = self.as_of_ids.intersection(session_ids)
        key = visitors.period_key(session_ids, self.visits_versions, as_of,
                                  self.at if as_of else None)
        known = db.session.scalar(select(StatsPeriod.unique_visitors)
                                  .where(StatsPeriod.key == key))
        if known is not None:
            return known
        if as_of:
            # The others settled before ``at`` (all their visits count): their stored count,
            # plus the visitors of these sessions by then not seen at the others.
            others = [s for s in session_ids if s not in as_of]
            self_now = Numbers(self.department_id, None, visits_versions=self.visits_versions)
            count = self_now._settled_visitors(others) + grouped.new_visitors(
                sorted(as_of), others, self.at)
        else:
            count = grouped.unique_visitors(session_ids)
        store_periods([{"key": key, "computed_at": utcnow(), "unique_visitors": count}])
        return count


def collect(sessions: Sequence[SessionFigures], department_id: int | None = None,
            at: datetime | None = None) -> Numbers:
    """The grouped figures of these sessions; stores those of settled sessions not yet stored.

    With ``at``, the figures as of that moment: stored ones where the session settled before
    it, the others counted afresh as of it (and not stored).
    """
    numbers = Numbers(department_id, at)
    now = utcnow()
    settled = [s.id for s in sessions if storable(s, now)]
    moving = [s.id for s in sessions if not storable(s, now)]
    rows = db.session.execute(
        select(LiveSession.id, LiveSession.stats_version, LiveSession.visits_version)
        .where(LiveSession.id.in_(settled))
    ).all() if settled else []
    versions = {s: version for s, version, _visits in rows}
    fresh = set(db.session.scalars(
        select(StatsSession.session_id)
        .join(LiveSession, and_(LiveSession.id == StatsSession.session_id,
                                LiveSession.stats_version == StatsSession.version))
        .where(StatsSession.session_id.in_(settled))
    )) if settled else set()
    numbers.stored_ids = fresh
    numbers.visits_versions = {s: visits for s, _version, visits in rows}
    _read_stored(numbers, sorted(fresh))
    stale = [s for s in settled if s not in fresh]
    if stale:
        computed = compute(stale, versions)
        for session in sessions:
            if session.id in computed:
                one = computed[session.id]
                one.settled_at = latest_of(one.settled_at, session.started_at, session.ended_at)
        save(computed)
        for session_id, one in computed.items():
            _add_computed(numbers, session_id, one)
            numbers.settled[session_id] = one.settled_at
    if at is not None:
        changed_since = [s for s in settled if _changed_after(numbers.settled.get(s), at)]
        visits_now = {s: numbers.visits[s][0] for s in changed_since if s in numbers.visits}
        _forget(numbers, changed_since)
        if at <= now - SETTLE:  # the past: kept days, else count as of then once and keep
            _as_of(numbers, changed_since, at, {s: (v, visits) for s, v, visits in rows},
                   visits_now)
        else:
            moving += changed_since
    if moving:
        for session_id, one in compute(moving, {}, department_id, at).items():
            _add_computed(numbers, session_id, one)
    return numbers


def _as_of(numbers: Numbers, session_ids: Sequence[int], at: datetime,
           versions: dict[int, tuple[int, int]], visits_now: dict[int, int]) -> None:
    """Figures as of ``at`` of sessions that changed since: from their kept days (stats.days),
    else kept for that moment, else counted and kept.

    A session whose visits by then are all its visits now (as many) has the same visitors then
    as now: it is named without the moment in the distinct visitors' key, which the round
    stored (stats.visitors); the others are named with it.
    """
    kept = past.read_kept(session_ids, at)
    kept |= past.read([s for s in session_ids if s not in kept], at)
    missing = [s for s in session_ids if s not in kept]
    computed = compute(missing, {s: versions[s][0] for s in missing}, None, at) if missing else {}
    if computed:
        _store({StatsAsOf: [past.row(s, at, one.version, past.encode(
            one.groups, one.waits, (one.participant_visits, one.unique_visitors)))
            for s, one in computed.items()]}, replace_as_of=(list(computed), at))
    for s, (groups, waits, visits) in kept.items():
        computed[s] = Computed(version=versions[s][0], groups=groups, waits=waits,
                               participant_visits=visits[0], unique_visitors=visits[1])
    for s, one in computed.items():
        _add_computed(numbers, s, one)
        numbers.visits_versions[s] = versions[s][1]
        if visits_now.get(s) != one.participant_visits:
            numbers.as_of_ids.add(s)


def _changed_after(settled_at: datetime | None, at: datetime) -> bool:
    """Whether a stored session's rows changed after ``at`` (None: it has no rows at all)."""
    return settled_at is not None and settled_at > at


def latest_of(*moments: datetime | None) -> datetime | None:
    """The latest of these moments that are known (None when none is)."""
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def _forget(numbers: Numbers, session_ids: Sequence[int]) -> None:
    """Drop sessions' stored figures from numbers (to be counted afresh as of a moment)."""
    gone = set(session_ids)
    if not gone:
        return
    numbers.groups = {k: v for k, v in numbers.groups.items() if k[0] not in gone}
    for session_id in gone:
        numbers.visits.pop(session_id, None)
        numbers.computed_waits.pop(session_id, None)
        numbers.visits_versions.pop(session_id, None)
    numbers.stored_ids -= gone


def _read_stored(numbers: Numbers, session_ids: list[int]) -> None:
    if not session_ids:
        return
    query = select(StatsGroup).where(StatsGroup.session_id.in_(session_ids))
    if numbers.department_id is not None:
        query = query.where(StatsGroup.department_key == numbers.department_id)
    for row in db.session.scalars(query):
        numbers.groups[(row.session_id, _department(row.department_key))] = Counts(
            **{name: getattr(row, name) for name in STORED_FIELDS})
    for header in db.session.scalars(
            select(StatsSession).where(StatsSession.session_id.in_(session_ids))):
        numbers.visits[header.session_id] = (header.participant_visits, header.unique_visitors)
        numbers.settled[header.session_id] = header.settled_at


def _add_computed(numbers: Numbers, session_id: int, one: Computed) -> None:
    wanted = numbers.department_id
    for department_id, counts in one.groups.items():
        if wanted is None or department_id == wanted:
            numbers.groups[(session_id, department_id)] = counts
    waits = numbers.computed_waits.setdefault(session_id, {})
    for (department_id, seconds), n in one.waits.items():
        if wanted is None or department_id == wanted:
            waits[seconds] = waits.get(seconds, 0) + n
    numbers.visits[session_id] = (one.participant_visits, one.unique_visitors)


def compute(session_ids: Sequence[int], versions: dict[int, int],
            department_id: int | None = None, at: datetime | None = None) -> dict[int, Computed]:
    """The sessions' figures from the grouped queries (versions read before, by the caller).

    Each Computed also says when the session's rows last changed (``settled_at``; the caller
    adds the session's own start and end), for figures as of a later date.
    """
    result = {s: Computed(version=versions.get(s, 0)) for s in session_ids}
    counts, latest = grouped.question_counts_and_latest(session_ids, department_id, at)
    for (s, d), group in counts.items():
        result[s].groups[d] = group
    for (s, d), n in grouped.second_reply_counts(session_ids, department_id, at).items():
        result[s].groups.setdefault(d, Counts()).second_replies += n
    for (s, d), values in grouped.rating_counts(session_ids, department_id, at, latest).items():
        result[s].groups.setdefault(d, Counts()).add(Counts(**values))
    for (s, d, seconds), n in metrics.wait_counts(session_ids, department_id, at).items():
        result[s].waits[(d, seconds)] = n
    for s, (n, unique) in grouped.visit_counts(session_ids, at, latest).items():
        result[s].participant_visits, result[s].unique_visitors = n, unique
    if at is None:
        for s, moment in grouped.latest_answers(session_ids).items():
            latest[s] = max(latest.get(s, moment), moment)
        for s, computed in result.items():
            computed.settled_at = latest.get(s)
    return result


def save(computed: dict[int, Computed]) -> None:
    """Store computed figures (all departments) under the versions they were computed at."""
    now = utcnow()
    headers: list[dict[str, object]] = []
    groups: list[dict[str, object]] = []
    waits: list[dict[str, object]] = []
    for session_id, one in computed.items():
        headers.append({"session_id": session_id, "version": one.version, "computed_at": now,
                        "participant_visits": one.participant_visits,
                        "unique_visitors": one.unique_visitors, "settled_at": one.settled_at})
        groups.extend({"session_id": session_id, "department_key": _key(d),
                       **{name: getattr(c, name) for name in STORED_FIELDS}}
                      for d, c in one.groups.items())
        waits.extend({"session_id": session_id, "department_key": _key(d),
                      "wait_seconds": seconds, "questions": n}
                     for (d, seconds), n in one.waits.items())
    _store({StatsSession: headers, StatsGroup: groups, StatsWait: waits}, replace=list(computed))


#: Set while figures are counted inside a writer's transaction (stats.refresh.in_transaction):
#: they are then stored in that same transaction, and vanish with it if it rolls back.
_writer: ContextVar[Session | None] = ContextVar("stats_writer", default=None)


@contextmanager
def storing_in(session: Session) -> Iterator[None]:
    """Store figures through this session (in its transaction) instead of one of their own."""
    token = _writer.set(session)
    try:
        yield
    finally:
        _writer.reset(token)


def store_periods(rows: list[dict[str, object]]) -> None:
    """Store distinct visitors' counts of sets of sessions (stats_periods rows)."""
    _store({StatsPeriod: rows})


def keep_as_of(rows: list[dict[str, object]], session_ids: Sequence[int]) -> None:
    """Replace these sessions' kept figures as of past moments by these rows (stats.days)."""
    _store({StatsAsOf: rows}, replace_kept=session_ids)


def _write(session: Session, rows: dict[type[Model], list[dict[str, object]]],
           replace: Sequence[int], replace_as_of: tuple[Sequence[int], datetime] | None,
           replace_kept: Sequence[int]) -> None:
    if replace_kept:
        session.execute(delete(StatsAsOf).where(StatsAsOf.session_id.in_(replace_kept)))
    if replace_as_of is not None:
        ids, at = replace_as_of
        session.execute(delete(StatsAsOf).where(StatsAsOf.session_id.in_(ids),
                                                StatsAsOf.at == at))
    if replace:
        for stale in (StatsWait, StatsGroup, StatsSession):
            session.execute(delete(stale).where(stale.session_id.in_(replace)))
    for model, values in rows.items():
        if values:
            session.execute(insert(model), values)


def _store(rows: dict[type[Model], list[dict[str, object]]], replace: Sequence[int] = (),
           replace_as_of: tuple[Sequence[int], datetime] | None = None,
           replace_kept: Sequence[int] = ()) -> None:
    writer = _writer.get()
    try:
        if writer is not None:
            with writer.begin_nested():  # a failure here must not undo the writer's work
                _write(writer, rows, replace, replace_as_of, replace_kept)
            return
        with Session(db.engine) as session, session.begin():
            _write(session, rows, replace, replace_as_of, replace_kept)
    except SQLAlchemyError as error:  # stored by another page meanwhile; the figures stand
        log.info("statistics not stored: %s", error.__class__.__name__)


def forget(session_ids: Sequence[int] | None = None) -> int:
    """Throw stored figures away (all, or these sessions'); return how many sessions had some."""
    with Session(db.engine) as session, session.begin():
        counted = select(func.count()).select_from(StatsSession)
        if session_ids is not None:
            counted = counted.where(StatsSession.session_id.in_(session_ids))
        n = session.scalar(counted) or 0
        for model in (StatsWait, StatsGroup, StatsSession, StatsAsOf):
            query = delete(model)
            if session_ids is not None:
                query = query.where(model.session_id.in_(session_ids))
            session.execute(query)
        if session_ids is None:
            session.execute(delete(StatsPeriod))
    return n
