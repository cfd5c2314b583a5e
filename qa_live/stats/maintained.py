"""Stored figures kept current as rows are written, so a page after a change reads, not counts.

Once a session's figures are stored (stats.stored), a later change to it (a second reply, a
rating, a 补录, a late moderation) used to leave them stale until the leader's next round, and a
page that came first counted the whole session: 0.6–0.7 s for a session of 77,000 questions.
Now the change itself keeps them current, in its own transaction:

- before an ORM flush that writes questions, answers or ratings of a session whose stored
  figures are current, the session's row is locked (no other writer can change it until this
  transaction ends) and what the touched questions add to its figures is counted
  (stats.partial: a few rows, by id);
- after the flush the same questions are counted again, and the difference is added to the
  stored groups and waits, which are stamped with the session's new ``stats_version``.

So the stored figures commit with the change or vanish with it. Anything else (a write by plain
SQL, a flush that also writes visits or sessions, a session whose stored figures were already
behind, another session's flush) is left as before: the triggers raise the version, the stored
row goes stale, and the round (or a page) counts the session. Live sessions are never stored,
so asking in a live session adds at most one look-up per flush that writes a question, answer
or rating through the ORM (intake writes through Core and adds none).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, event, insert, select, text, update
from sqlalchemy.orm import Session, attributes

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.models import Answer, Question, Rating, Visit
from qa_live.planning.models import LiveSession, SessionState
from qa_live.stats import partial
from qa_live.stats.figures import Counts
from qa_live.stats.models import UNASSIGNED, StatsGroup, StatsSession, StatsWait
from qa_live.stats.stored import STORED_FIELDS, latest_of

_KEY = "qa_live.stats.maintained"


@dataclass
class _Before:
    versions: dict[int, int]
    question_ids: set[int]
    objects: list[Any]
    parts: dict[int, partial.Part]


def connect() -> None:
    """Listen to the application's sessions' flushes (once per process)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)


def _question_ids(objects: Iterable[Any]) -> set[int]:
    """The questions these objects belong to, before and after their change."""
    ids: set[int] = set()
    for obj in objects:
        name = "id" if isinstance(obj, Question) else "question_id"
        value = getattr(obj, name, None)
        if value is None and not isinstance(obj, Question):
            question = getattr(obj, "question", None)
            value = getattr(question, "id", None)
        if value is not None:
            ids.add(value)
        if name == "question_id":
            history = attributes.get_history(obj, name)
            ids.update(v for v in history.deleted or () if v is not None)
    return ids


def _session_ids(session: Session, objects: list[Any], question_ids: set[int]) -> set[int]:
    ids = {obj.session_id for obj in objects
           if isinstance(obj, Question) and obj.session_id is not None}
    for obj in objects:
        if isinstance(obj, Question):
            ids.update(v for v in attributes.get_history(obj, "session_id").deleted or ()
                       if v is not None)
    if question_ids:
        ids.update(session.connection().scalars(
            select(Question.session_id).where(Question.id.in_(sorted(question_ids))).distinct()))
    return ids


def _current(session: Session, session_ids: set[int]) -> dict[int, int]:
    """The sessions whose stored figures are current, with their version."""
    rows = session.connection().execute(
        select(LiveSession.id, LiveSession.stats_version)
        .join(StatsSession, and_(StatsSession.session_id == LiveSession.id,
                                 StatsSession.version == LiveSession.stats_version))
        .where(LiveSession.id.in_(sorted(session_ids)), LiveSession.state != SessionState.LIVE))
    return {s: version for s, version in rows}


def _lock(session: Session, session_ids: list[int]) -> None:
    """Hold the sessions' rows to the end of the transaction: no other writer changes them."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(select(LiveSession.id).where(LiveSession.id.in_(session_ids))
                           .with_for_update())
    else:  # SQLite locks the whole database for the first write of a transaction
        connection.execute(update(LiveSession).where(LiveSession.id.in_(session_ids))
                           .values(stats_version=LiveSession.stats_version))


def _ours(session: Session) -> bool:
    try:
        return session is db.session()
    except RuntimeError:  # no application context
        return False


def _before_flush(session: Session, _context: object, _instances: object) -> None:
    session.info.pop(_KEY, None)
    changed = [*session.new, *session.dirty, *session.deleted]
    objects = [o for o in changed if isinstance(o, Question | Answer | Rating)]
    if not objects:
        return
    if any(isinstance(o, Visit) or (isinstance(o, LiveSession) and session.is_modified(o))
           for o in changed) or not _ours(session):
        return  # left to the round: the triggers make the stored figures stale
    question_ids = _question_ids(objects)
    session_ids = _session_ids(session, objects, question_ids)
    if not session_ids or not _current(session, session_ids):
        return
    _lock(session, sorted(session_ids))
    versions = _current(session, session_ids)  # again, now that nobody else can move them
    if not versions:
        return
    parts = partial.figures(sorted(versions), sorted(question_ids))
    session.info[_KEY] = _Before(versions, question_ids, objects, parts)


def _after_flush(session: Session, _context: object) -> None:
    before: _Before | None = session.info.pop(_KEY, None)
    if before is None:
        return
    question_ids = before.question_ids | _question_ids(before.objects)
    sessions = sorted(before.versions)
    after = partial.figures(sessions, sorted(question_ids))
    connection = session.connection()
    now_versions = dict(connection.execute(
        select(LiveSession.id, LiveSession.stats_version).where(LiveSession.id.in_(sessions))
    ).all())
    for s in sessions:
        delta = partial.difference(after[s], before.parts[s])
        _apply(session, s, before.versions[s], now_versions[s], delta)
    if connection.dialect.name == "postgresql":
        # stats_bump raises a version once per transaction; the figures now match it, so a
        # later change in this transaction (plain SQL too) must raise it again.
        for s in sessions:
            connection.execute(text("SELECT set_config(:name, '', true)"),
                               {"name": f"qa_live.stats_bumped_{s}"})


def _apply(session: Session, session_id: int, was: int, now: int, delta: partial.Part) -> None:
    """Add a difference to a session's stored figures and stamp them with the version now."""
    connection = session.connection()
    header = connection.execute(
        select(StatsSession.settled_at).where(StatsSession.session_id == session_id,
                                              StatsSession.version == was)).first()
    if header is None:
        return
    connection.execute(
        update(StatsSession).where(StatsSession.session_id == session_id)
        .values(version=now, computed_at=utcnow(),
                settled_at=latest_of(header.settled_at, delta.latest)))
    if not delta.groups and not delta.waits:
        return
    keys = [UNASSIGNED if d is None else d for d in delta.groups]
    groups: partial.Groups = {}
    for row in connection.execute(select(StatsGroup).where(
            StatsGroup.session_id == session_id, StatsGroup.department_key.in_(keys))):
        groups[None if row.department_key == UNASSIGNED else row.department_key] = Counts(
            **{name: getattr(row, name) for name in STORED_FIELDS})
    waits: partial.Waits = {}
    for d, seconds in delta.waits:
        key = UNASSIGNED if d is None else d
        n = connection.scalar(select(StatsWait.questions).where(
            StatsWait.session_id == session_id, StatsWait.department_key == key,
            StatsWait.wait_seconds == seconds))
        if n:
            waits[(d, seconds)] = n
    partial.apply(groups, waits, delta)
    connection.execute(delete(StatsGroup).where(StatsGroup.session_id == session_id,
                                                StatsGroup.department_key.in_(keys)))
    rows = [{"session_id": session_id, "department_key": UNASSIGNED if d is None else d,
             **{name: getattr(c, name) for name in STORED_FIELDS}}
            for d, c in groups.items()]
    if rows:
        connection.execute(insert(StatsGroup), rows)
    for d, seconds in delta.waits:
        connection.execute(delete(StatsWait).where(
            StatsWait.session_id == session_id,
            StatsWait.department_key == (UNASSIGNED if d is None else d),
            StatsWait.wait_seconds == seconds))
    wait_rows = [{"session_id": session_id, "department_key": UNASSIGNED if d is None else d,
                  "wait_seconds": seconds, "questions": n}
                 for (d, seconds), n in waits.items()]
    if wait_rows:
        connection.execute(insert(StatsWait), wait_rows)
