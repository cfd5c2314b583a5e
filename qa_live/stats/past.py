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
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.planning.models import LiveSession
from qa_live.stats.figures import Counts
from qa_live.stats.models import UNASSIGNED, StatsAsOf

#: The Counts fields kept in stats_groups (follow-ups depend on today's date: always queried).
STORED_FIELDS = tuple(f.name for f in fields(Counts) if not f.name.startswith("follow_ups"))

Groups = dict[int | None, Counts]
Waits = dict[tuple[int | None, int], int]
Figures = tuple[Groups, Waits, tuple[int, int]]


def _key(department_id: int | None) -> int:
    return UNASSIGNED if department_id is None else department_id


def _department(key: int) -> int | None:
    return None if key == UNASSIGNED else key


def encode(groups: Groups, waits: Waits, visits: tuple[int, int]) -> str:
    """One session's figures as JSON (departments by key, the wait histogram, its visits)."""
    return json.dumps({
        "groups": [[_key(d), vars(c)] for d, c in groups.items()],
        "waits": [[_key(d), seconds, n] for (d, seconds), n in waits.items()],
        "visits": list(visits),
    }, separators=(",", ":"))


def decode(text: str) -> Figures:
    """The figures encode() wrote."""
    data: dict[str, Any] = json.loads(text)
    groups = {_department(k): Counts(**values) for k, values in data["groups"]}
    waits = {(_department(k), seconds): n for k, seconds, n in data["waits"]}
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


def row(session_id: int, at: datetime, version: int, figures: str) -> dict[str, object]:
    """The stats_as_of row to insert (replacing the session's older one for that moment)."""
    return {"session_id": session_id, "at": at, "version": version, "computed_at": utcnow(),
            "figures": figures}

