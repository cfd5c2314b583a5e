"""Each stored session's figures as of the end of every day its rows changed (asof17c).

A session's figures as of a moment change only at the moments of its rows' own times: a
question asked, published, rejected or answered, an answer or second reply recorded, a rating
given or changed, a visit begun (docs/metrics.md, "Figures as of a date"). So its figures as of
the end of any day D are its figures as of the end of the latest day at or before D on which
one of those times falls, or nothing when none is that early. The refresh round (and an import,
in its transaction) counts them for each such day once, when it stores the session, and keeps
them in ``stats_as_of`` under the session's ``stats_version``, with a marker row (``MARKER``,
empty figures) saying that the set is complete. A report as of a past day then reads the latest
kept row at or before it instead of counting the session as of then (stats.past.read_kept).

The day whose figures equal the session's figures now (the day of ``settled_at``, and after)
is not kept: a report as of it reads the stored figures. A change to the session raises its
version and leaves the set unread until the next round counts it again (``unkept_sessions``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from qa_live.core.timeutil import to_local, utcnow
from qa_live.extensions import db
from qa_live.live.models import Answer, Question, Rating, RatingChange, Visit
from qa_live.planning.models import LiveSession, SessionState
from qa_live.stats import past, stored
from qa_live.stats.asof import AsOf
from qa_live.stats.models import StatsAsOf, StatsSession

#: Times are grouped in quarters of an hour (every zone's day starts on one) before their days
#: are worked out, so a session's 100,000 questions give a few dozen rows, not 100,000.
QUARTER = 900


class quarter_hour(FunctionElement[int]):
    """The quarter of an hour since 1970 (UTC) a naive-UTC timestamp falls in."""

    type = BigInteger()
    inherit_cache = True
    name = "quarter_hour"


@compiles(quarter_hour)
def _quarter_postgresql(element: quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(floor(EXTRACT(EPOCH FROM {moment}) / {QUARTER}) AS BIGINT)"


@compiles(quarter_hour, "sqlite")
def _quarter_sqlite(element: quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST(strftime('%s', {moment}) AS INTEGER) / {QUARTER})"


def _days_of(quarter: int) -> list[date]:
    """The local days whose figures a time in this quarter can change.

    A time exactly at local midnight counts as of the day that ends then (``<= at``): a quarter
    starting at midnight names both days (one kept day too many is harmless).
    """
    local = to_local(datetime.fromtimestamp(quarter * QUARTER, UTC))
    assert local is not None
    day = local.date()
    if (local.hour, local.minute) == (0, 0):
        return [day - timedelta(days=1), day]
    return [day]


def event_days(session_ids: Sequence[int]) -> dict[int, set[date]]:
    """Per session, the local days on which any time its figures as of a moment read falls."""
    quarters: dict[int, set[int]] = defaultdict(set)
    if not session_ids:
        return {}
    moments = (Question.created_at, Question.published_at, Question.answered_at,
               Question.rejected_at)
    columns = [quarter_hour(m) for m in moments]
    statements = [
        select(Question.session_id, *columns).where(Question.session_id.in_(session_ids))
        .group_by(Question.session_id, *columns),
        select(Question.session_id, quarter_hour(Answer.created_at))
        .join(Question, Question.id == Answer.question_id)
        .where(Question.session_id.in_(session_ids))
        .group_by(Question.session_id, quarter_hour(Answer.created_at)),
        select(Question.session_id, quarter_hour(Rating.created_at),
               quarter_hour(Rating.updated_at))
        .join(Question, Question.id == Rating.question_id)
        .where(Question.session_id.in_(session_ids))
        .group_by(Question.session_id, quarter_hour(Rating.created_at),
                  quarter_hour(Rating.updated_at)),
        select(Question.session_id, quarter_hour(RatingChange.at))
        .join(Rating, Rating.id == RatingChange.rating_id)
        .join(Question, Question.id == Rating.question_id)
        .where(Question.session_id.in_(session_ids))
        .group_by(Question.session_id, quarter_hour(RatingChange.at)),
        select(Visit.session_id, quarter_hour(Visit.started_at))
        .where(Visit.session_id.in_(session_ids))
        .group_by(Visit.session_id, quarter_hour(Visit.started_at)),
    ]
    for statement in statements:
        for session_id, *found in db.session.execute(statement):
            quarters[session_id].update(q for q in found if q is not None)
    return {s: {d for q in qs for d in _days_of(int(q))} for s, qs in quarters.items()}


def keep(session_ids: Sequence[int], versions: dict[int, int],
         settled: dict[int, datetime | None]) -> int:
    """Count and keep these sessions' figures as of each day their rows changed before the day
    they settled, with the marker; replaces their kept rows. Returns how many days were counted.

    ``versions`` were read before the figures ``settled`` describes were counted (the caller's).
    """
    if not session_ids:
        return 0
    empty = past.encode({}, {}, (0, 0))
    rows = [past.row(s, past.MARKER, versions[s], empty) for s in session_ids]
    by_day: dict[date, list[int]] = defaultdict(list)
    for s, days in event_days(session_ids).items():
        until = settled.get(s)
        for day in days:
            if until is not None and AsOf.of_day(day).at < until:
                by_day[day].append(s)
    for day, ids in sorted(by_day.items()):
        at = AsOf.of_day(day).at
        for s, one in stored.compute(ids, versions, None, at).items():
            rows.append(past.row(s, at, versions[s], past.encode(
                one.groups, one.waits, (one.participant_visits, one.unique_visitors))))
    stored.keep_as_of(rows, list(session_ids))
    return len(by_day)


def unkept_sessions(limit: int) -> list[tuple[int, int, datetime | None]]:
    """Sessions whose stored figures are current but whose kept days are missing or behind:
    (id, version, settled_at), at most ``limit`` (a change kept current by stats.maintained,
    figures stored by a page, a deployment from before asof17c)."""
    marker = and_(StatsAsOf.session_id == LiveSession.id, StatsAsOf.at == past.MARKER,
                  StatsAsOf.version == LiveSession.stats_version)
    query = (select(LiveSession.id, LiveSession.stats_version, StatsSession.settled_at)
             .join(StatsSession, and_(StatsSession.session_id == LiveSession.id,
                                      StatsSession.version == LiveSession.stats_version))
             .outerjoin(StatsAsOf, marker)
             .where(StatsAsOf.session_id.is_(None), LiveSession.state != SessionState.LIVE,
                    LiveSession.ended_at.is_(None) | (LiveSession.ended_at
                                                      <= utcnow() - stored.SETTLE))
             .order_by(LiveSession.id).limit(limit))
    return [(s, version, settled) for s, version, settled in db.session.execute(query)]


def keep_unkept(limit: int) -> int:
    """Keep the days of up to ``limit`` sessions that lack them; returns how many sessions."""
    found = unkept_sessions(limit)
    if found:
        keep([s for s, _v, _settled in found], {s: v for s, v, _settled in found},
             {s: settled for s, _v, settled in found})
    return len(found)
