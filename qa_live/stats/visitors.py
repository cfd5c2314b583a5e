"""Distinct visitors over a set of sessions: the key they are stored under (stats_periods),
and the counts the refresh round stores ahead for every earlier part of a year (asof17c).

Distinct counts do not add up, so each set of sessions has its own count, keyed by its sessions
and their ``visits_version`` (and, for a session counted as of a moment whose visits then were
fewer than now, that moment). A report as of a past day covers the sessions held by then: with
the sessions of a year (or a department's share) in the order they started, that is the first
so many of them. The round stores the count of each such beginning of the order, in one pass
over the year's visits (each visitor counted at the first session they came to), so the first
report as of any past day finds its count stored instead of counting a year of visits again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import case, func, select

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.models import Visit
from qa_live.planning.models import LiveSession
from qa_live.stats.models import StatsPeriod


def period_key(session_ids: Iterable[int], visits_versions: dict[int, int],
               as_of: Iterable[int] = (), at: datetime | None = None) -> str:
    """The stats_periods key of a set of sessions (those in ``as_of`` named with ``at``)."""
    moment = f"@{at.isoformat()}" if at is not None else ""
    named = set(as_of)
    return hashlib.sha256(",".join(
        f"{s}:{visits_versions[s]}{moment if s in named else ''}"
        for s in sorted(session_ids)).encode()).hexdigest()


def store_beginnings(session_ids: Sequence[int]) -> int:
    """Store the distinct visitors of every beginning of these sessions in start order.

    Give settled, held sessions (their visits no longer move). Nothing is counted when every
    count is stored already. Returns how many counts were stored.
    """
    if not session_ids:
        return 0
    rows = db.session.execute(
        select(LiveSession.id, LiveSession.visits_version, LiveSession.started_at)
        .where(LiveSession.id.in_(session_ids), LiveSession.started_at.is_not(None))).all()
    order = [s for s, _v, _started in sorted(rows, key=lambda r: (r[2], r[0]))]
    versions = {s: version for s, version, _started in rows}
    keys = [period_key(order[:n], versions) for n in range(1, len(order) + 1)]
    known = set(db.session.scalars(select(StatsPeriod.key).where(StatsPeriod.key.in_(keys))))
    if len(known) == len(set(keys)):
        return 0
    rank = case({s: n for n, s in enumerate(order)}, value=Visit.session_id)
    first = (select(func.min(rank).label("first"))
             .where(Visit.session_id.in_(order), Visit.visitor_id.is_not(None))
             .group_by(Visit.visitor_id).subquery())
    new: dict[int, int] = {int(n): int(count) for n, count in db.session.execute(
        select(first.c.first, func.count()).group_by(first.c.first))}
    values, total, now = [], 0, utcnow()
    for n, key in enumerate(keys):
        total += new.get(n, 0)
        if key not in known:
            values.append({"key": key, "computed_at": now, "unique_visitors": total})
            known.add(key)
    from qa_live.stats.stored import store_periods  # stats.stored reads these keys

    store_periods(values)
    return len(values)
