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

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.models import Answer, AnswerKind, Question, QuestionStatus, Rating, Visit
from qa_live.planning.models import LiveSession
from qa_live.stats import grouped, partial
from qa_live.stats.figures import Counts
from qa_live.stats.models import (
    UNASSIGNED,
    StatsAsOf,
    StatsGroup,
    StatsSession,
    StatsWait,
)

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


# Figures as of a moment from the stored figures now -------------------------------------------
#
# A question whose every moment (asked, published, rejected, answered, each answer recorded,
# each rating given or changed) lies before ``at``, and which was answered by then if it is
# answered now, adds the same to the figures as of ``at`` as to the figures now. So a session's
# figures as of ``at`` are its stored figures, minus what the other questions add now, plus
# what they added then (stats.partial): a count of the questions that moved since, not of the
# session. ``moved`` is a superset of the questions that add differently (more is only slower).

#: Above this many moved questions, the session is counted as of ``at`` from its rows instead.
MOVED_LIMIT = 20_000


def moved(at: datetime) -> ColumnElement[bool]:
    """Questions whose part of the figures may differ between ``at`` and now (by their row)."""
    status = Question.status
    return or_(
        Question.created_at > at,
        and_(status == QuestionStatus.REJECTED,
             or_(Question.rejected_at.is_(None), Question.rejected_at > at)),
        and_(status == QuestionStatus.ANSWERED,
             or_(Question.answered_at.is_(None), Question.answered_at > at,
                 ~exists().where(Answer.question_id == Question.id, Answer.created_at <= at))),
        and_(status == QuestionStatus.APPROVED,
             or_(Question.published_at.is_(None), Question.published_at > at)),
        and_(status == QuestionStatus.PENDING, Question.published_at <= at),
        Question.id.in_(select(Answer.question_id).where(
            Answer.kind.in_([AnswerKind.FOLLOW_UP, AnswerKind.ORAL]), Answer.created_at > at)),
        Question.id.in_(select(Rating.question_id).where(
            or_(Rating.created_at > at, Rating.updated_at > at))),
    )


def derive(session_ids: Sequence[int], at: datetime) -> dict[int, Figures]:
    """Figures as of ``at`` derived from the current stored figures, for the sessions where
    that is cheaper than counting them (fewer moved questions than questions asked by then).

    Give only sessions whose stored figures are current (their version read by the caller).
    A session left out is for the caller to count as of ``at``.
    """
    if not session_ids:
        return {}
    ids = list(session_ids)
    sizes = db.session.execute(
        select(Question.session_id, func.count(case((Question.created_at <= at, 1))),
               func.count(case((moved(at), 1))))
        .where(Question.session_id.in_(ids)).group_by(Question.session_id))
    chosen = [s for s, asked_then, n_moved in sizes
              if n_moved <= MOVED_LIMIT and n_moved < asked_then]
    if not chosen:
        return {}
    stored = _stored(chosen)
    chosen = [s for s in chosen if s in stored]
    question_ids = list(db.session.scalars(
        select(Question.id).where(Question.session_id.in_(chosen), moved(at))))
    now = partial.figures(chosen, question_ids)
    then = partial.figures(chosen, question_ids, at)
    late_visits = set(db.session.scalars(
        select(Visit.session_id).where(Visit.session_id.in_(chosen), Visit.started_at > at)
        .distinct()))
    visits_then = grouped.visit_counts(sorted(late_visits), at) if late_visits else {}
    result: dict[int, Figures] = {}
    for s in chosen:
        groups, waits, visits = stored[s]
        partial.apply(groups, waits, partial.difference(then[s], now[s]))
        result[s] = (groups, waits, visits_then.get(s, (0, 0)) if s in late_visits else visits)
    return result


def _stored(session_ids: Sequence[int]) -> dict[int, Figures]:
    """The current stored figures of these sessions (all departments), where current."""
    current = {s: visits for s, *visits in db.session.execute(
        select(StatsSession.session_id, StatsSession.participant_visits,
               StatsSession.unique_visitors)
        .join(LiveSession, and_(LiveSession.id == StatsSession.session_id,
                                LiveSession.stats_version == StatsSession.version))
        .where(StatsSession.session_id.in_(session_ids)))}
    result: dict[int, Figures] = {s: ({}, {}, (int(v[0]), int(v[1]))) for s, v in current.items()}
    for row in db.session.scalars(select(StatsGroup).where(StatsGroup.session_id.in_(current))):
        result[row.session_id][0][_department(row.department_key)] = Counts(
            **{name: getattr(row, name) for name in STORED_FIELDS})
    for wait in db.session.scalars(select(StatsWait).where(StatsWait.session_id.in_(current))):
        result[wait.session_id][1][(_department(wait.department_key), wait.wait_seconds)] = (
            wait.questions)
    return result
