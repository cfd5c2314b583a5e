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
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, and_, bindparam, delete, event, insert, select, text, update
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
_CACHE = "qa_live.stats.maintained.cache"


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
        event.listen(Session, "after_commit", _forget)
        event.listen(Session, "after_rollback", _forget)


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


def _cache(session: Session) -> tuple[dict[int, int], set[int]]:
    """This transaction's question → session look-ups, and its sessions not worth a look.

    A session found without current stored figures (live, never counted, already stale) stays
    so to the end of the transaction, or at worst is left to the round: a flush in such a
    session (an ask or an answer while live, an import's thousand flushes) then costs no query.
    """
    cache = session.info.get(_CACHE)
    if cache is None:
        cache = session.info[_CACHE] = ({}, set())
    return cache


def _forget(session: Session, *_args: object) -> None:
    session.info.pop(_CACHE, None)


def _session_ids(session: Session, objects: list[Any], question_ids: set[int]) -> set[int]:
    sessions, _idle = _cache(session)
    ids: set[int] = set()
    for obj in objects:
        if isinstance(obj, Question):
            if obj.session_id is not None:
                ids.add(obj.session_id)
                if obj.id is not None:
                    sessions[obj.id] = obj.session_id
            ids.update(v for v in attributes.get_history(obj, "session_id").deleted or ()
                       if v is not None)
    unknown = sorted(q for q in question_ids if q not in sessions)
    if unknown:
        sessions.update(session.connection().execute(
            _sql().sessions_of, {"ids": unknown}).all())
    ids.update(sessions[q] for q in question_ids if q in sessions)
    return ids


class _Sql:
    """The statements a write runs, built once (building one costs more than running it)."""

    def __init__(self) -> None:
        ids: BindParameter[Any] = bindparam("ids", expanding=True)
        sid: BindParameter[int] = bindparam("sid")
        self.sessions_of = select(Question.id, Question.session_id).where(Question.id.in_(ids))
        self.current = (
            select(LiveSession.id, LiveSession.stats_version)
            .join(StatsSession, and_(StatsSession.session_id == LiveSession.id,
                                     StatsSession.version == LiveSession.stats_version))
            .where(LiveSession.id.in_(ids), LiveSession.state != SessionState.LIVE))
        self.versions = select(LiveSession.id, LiveSession.stats_version).where(
            LiveSession.id.in_(ids))
        self.lock_postgresql = select(LiveSession.id).where(
            LiveSession.id.in_(ids)).with_for_update()
        self.lock_sqlite = update(LiveSession).where(LiveSession.id.in_(ids)).values(
            stats_version=LiveSession.stats_version)
        self.header = select(StatsSession.settled_at).where(
            StatsSession.session_id == sid, StatsSession.version == bindparam("was"))
        self.stamp = update(StatsSession).where(StatsSession.session_id == sid).values(
            version=bindparam("now"),
            computed_at=bindparam("computed_at", type_=StatsSession.computed_at.type),
            settled_at=bindparam("settled_at", type_=StatsSession.settled_at.type))
        self.groups = select(StatsGroup).where(StatsGroup.session_id == sid,
                                               StatsGroup.department_key.in_(ids))
        self.drop_groups = delete(StatsGroup).where(StatsGroup.session_id == sid,
                                                    StatsGroup.department_key.in_(ids))
        seconds: BindParameter[Any] = bindparam("seconds", expanding=True)
        self.waits = select(StatsWait.department_key, StatsWait.wait_seconds,
                            StatsWait.questions).where(StatsWait.session_id == sid,
                                                       StatsWait.wait_seconds.in_(seconds))
        self.drop_wait = delete(StatsWait).where(
            StatsWait.session_id == sid, StatsWait.department_key == bindparam("key"),
            StatsWait.wait_seconds == bindparam("second"))


@cache
def _sql() -> _Sql:
    return _Sql()


def _current(session: Session, session_ids: set[int]) -> dict[int, int]:
    """The sessions whose stored figures are current, with their version."""
    rows = session.connection().execute(_sql().current, {"ids": sorted(session_ids)})
    return {s: version for s, version in rows}


def _lock(session: Session, session_ids: list[int]) -> None:
    """Hold the sessions' rows to the end of the transaction: no other writer changes them."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_sql().lock_postgresql, {"ids": session_ids})
    else:  # SQLite locks the whole database for the first write of a transaction
        connection.execute(_sql().lock_sqlite, {"ids": session_ids})


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
    if any(isinstance(o, Visit) or (isinstance(o, LiveSession) and (
            o in session.deleted or session.is_modified(o))) for o in changed) \
            or not _ours(session):
        return  # left to the round: the triggers make the stored figures stale
    question_ids = _question_ids(objects)
    idle = _cache(session)[1]
    session_ids = _session_ids(session, objects, question_ids) - idle
    if not session_ids:
        return
    current = _current(session, session_ids)
    idle.update(session_ids - set(current))
    if not current:
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
    now_versions = dict(connection.execute(_sql().versions, {"ids": sessions}).all())
    for s in sessions:
        if s not in now_versions:  # gone with the flush (deleted by cascade)
            continue
        delta = partial.difference(after[s], before.parts[s])
        _apply(session, s, before.versions[s], now_versions[s], delta)
    if connection.dialect.name == "postgresql":
        # stats_bump raises a version once per transaction; the figures now match it, so a
        # later change in this transaction (plain SQL too) must raise it again.
        for s in sessions:
            connection.execute(text("SELECT set_config(:name, '', true)"),
                               {"name": f"qa_live.stats_bumped_{s}"})


def _key(department_id: int | None) -> int:
    return UNASSIGNED if department_id is None else department_id


def _apply(session: Session, session_id: int, was: int, now: int, delta: partial.Part) -> None:
    """Add a difference to a session's stored figures and stamp them with the version now."""
    connection = session.connection()
    sql = _sql()
    header = connection.execute(sql.header, {"sid": session_id, "was": was}).first()
    if header is None:
        return
    connection.execute(sql.stamp, {"sid": session_id, "now": now, "computed_at": utcnow(),
                                   "settled_at": latest_of(header.settled_at, delta.latest)})
    if not delta.groups and not delta.waits:
        return
    keys = [_key(d) for d in delta.groups]
    groups: partial.Groups = {}
    for row in connection.execute(sql.groups, {"sid": session_id, "ids": keys}):
        groups[None if row.department_key == UNASSIGNED else row.department_key] = Counts(
            **{name: getattr(row, name) for name in STORED_FIELDS})
    waits: partial.Waits = {}
    if delta.waits:
        wanted = {(_key(d), seconds) for d, seconds in delta.waits}
        for key, seconds, n in connection.execute(sql.waits, {
                "sid": session_id, "seconds": sorted({sec for _d, sec in delta.waits})}):
            if (key, seconds) in wanted:
                waits[(None if key == UNASSIGNED else key, seconds)] = n
    partial.apply(groups, waits, delta)
    if keys:
        connection.execute(sql.drop_groups, {"sid": session_id, "ids": keys})
    rows = [{"session_id": session_id, "department_key": _key(d),
             **{name: getattr(c, name) for name in STORED_FIELDS}}
            for d, c in groups.items()]
    if rows:
        connection.execute(insert(StatsGroup), rows)
    if delta.waits:
        connection.execute(sql.drop_wait, [{"sid": session_id, "key": _key(d), "second": seconds}
                                           for d, seconds in delta.waits])
    wait_rows = [{"session_id": session_id, "department_key": _key(d),
                  "wait_seconds": seconds, "questions": n}
                 for (d, seconds), n in waits.items() if (d, seconds) in delta.waits]
    if wait_rows:
        connection.execute(insert(StatsWait), wait_rows)
