"""Sessions' figures as of a past moment, kept once counted (stats_as_of, migration 0014b).

A report as of a past day reads the stored figures of every session that has not changed since
that day (stats.stored). A session that has (a second reply, a rating or a 补录 after it) is
counted as of that moment; these are kept here under the session's ``stats_version``, so the
next report for the same day reads them instead of counting again. A later change to the
session raises its version, and the kept figures are no longer read (the past can change: an
answer given orally is recorded with the time it was given).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, select

from qa_live.core.timeutil import to_local, utcnow
from qa_live.extensions import db
from qa_live.planning.models import LiveSession
from qa_live.stats.asof import AsOf
from qa_live.stats.figures import Counts
from qa_live.stats.models import UNASSIGNED, StatsAsOf

#: The Counts fields kept in stats_groups (follow-ups depend on today's date: always queried).
STORED_FIELDS = tuple(f.name for f in fields(Counts) if not f.name.startswith("follow_ups"))

#: The ``at`` of the marker row saying a session's kept days are complete (stats.days): before
#: its first kept day a session has no figures.
MARKER = datetime(1970, 1, 1, tzinfo=UTC)

Groups = dict[int | None, Counts]
Waits = dict[tuple[int | None, int], int]
Figures = tuple[Groups, Waits, tuple[int, int]]


def department_key(department_id: int | None) -> int:
    """The department_key a department is stored under (unassigned: UNASSIGNED)."""
    return UNASSIGNED if department_id is None else department_id


def department_of(key: int) -> int | None:
    """The department a department_key names."""
    return None if key == UNASSIGNED else key


def encode(groups: Groups, waits: Waits, visits: tuple[int, int]) -> str:
    """One session's figures as JSON (departments by key, the wait histogram, its visits)."""
    return json.dumps({
        "groups": [[department_key(d), vars(c)] for d, c in groups.items()],
        "waits": [[department_key(d), seconds, n] for (d, seconds), n in waits.items()],
        "visits": list(visits),
    }, separators=(",", ":"))


def decode(text: str) -> Figures:
    """The figures encode() wrote."""
    data: dict[str, Any] = json.loads(text)
    groups = {department_of(k): Counts(**values) for k, values in data["groups"]}
    waits = {(department_of(k), seconds): n for k, seconds, n in data["waits"]}
    visits = data["visits"]
    return groups, waits, (int(visits[0]), int(visits[1]))


def read(session_ids: Sequence[int], at: datetime) -> dict[int, Figures]:
    """The kept figures as of ``at`` of those sessions whose rows did not change since."""
    if not session_ids:
        return {}
    rows = db.session.execute(
        select(StatsAsOf.session_id, StatsAsOf.figures)
        .join(LiveSession, and_(LiveSession.id == StatsAsOf.session_id,
                                LiveSession.stats_version == StatsAsOf.version))
        .where(StatsAsOf.session_id.in_(session_ids), StatsAsOf.at == at))
    return {session_id: decode(text) for session_id, text in rows}


def read_kept(session_ids: Sequence[int], at: datetime) -> dict[int, Figures]:
    """Figures as of ``at`` (the end of a local day) of the sessions whose kept days are
    complete (stats.days): the latest kept row at or before it (the marker: nothing yet).

    Only for the end of a day: the kept rows are the figures as of the end of each day a row
    changed, so between two of them, and up to the end of the next day, nothing moved.
    """
    if not session_ids or not is_day_end(at):
        return {}
    rows = db.session.execute(
        select(StatsAsOf.session_id, StatsAsOf.at, StatsAsOf.figures)
        .join(LiveSession, and_(LiveSession.id == StatsAsOf.session_id,
                                LiveSession.stats_version == StatsAsOf.version))
        .where(StatsAsOf.session_id.in_(session_ids), StatsAsOf.at <= at)
        .order_by(StatsAsOf.session_id, StatsAsOf.at))
    complete: set[int] = set()
    latest: dict[int, str] = {}
    for session_id, moment, text in rows:
        if moment == MARKER:
            complete.add(session_id)
        latest[session_id] = text
    return {s: decode(latest[s]) for s in complete}


def is_day_end(at: datetime) -> bool:
    """Whether a moment is the end of a local day (what an as-of date names)."""
    local = to_local(at - timedelta(microseconds=1))
    assert local is not None
    return AsOf.of_day(local.date()).at == at


def row(session_id: int, at: datetime, version: int, figures: str) -> dict[str, object]:
    """The stats_as_of row to insert (replacing the session's older one for that moment)."""
    return {"session_id": session_id, "at": at, "version": version, "computed_at": utcnow(),
            "figures": figures}

