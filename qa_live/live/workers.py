"""The worker registry: each worker's heartbeat, and closing what a dead worker left open.

Every worker process has a random id and a row in ``workers`` whose ``last_seen_at`` it moves
every HEARTBEAT_INTERVAL_S (and with every batch of visits it writes). The pages it holds are
counted per visit in ``visit_connections`` (qa_live/live/visits.py writes them with the
visits). A worker killed with ``kill -9``, or on a machine that died, runs no shutdown code: its
pages are gone, but its visits would stay open for ever ("online now" too high, a wrong peak).

So the worker holding the leader lease (qa_live/live/lease.py; a lone worker always does) looks
for workers not seen for WORKER_DEAD_AFTER_S and *sweeps* each one: its pages come off their
visits, and a visit left with none ends at the moment the dead worker was last seen. A visit
whose citizen has meanwhile reconnected to another worker keeps going: it is the same visit.
The peak of concurrent viewers of the sessions it touched is then counted again from the
stored visits (:func:`recount_peak`), so joins that came while the dead worker's visits still
looked open do not leave it too high. Only a worker that has itself been beating for that long
judges others, so after an outage of the database every worker first gets a chance to beat.

A worker that finds it was swept (it stalled that long: a frozen machine, a debugger) takes a
new id and closes its citizens' sockets: they reconnect and continue their visits.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import (
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)

from qa_live.core.db_setup import dialect_insert
from qa_live.core.outages import iso
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.models import Visit
from qa_live.live.worker_models import VisitConnection, Worker
from qa_live.planning.models import LiveSession

_workers: Table = Worker.__table__  # type: ignore[assignment]
_pages: Table = VisitConnection.__table__  # type: ignore[assignment]
_visits: Table = Visit.__table__  # type: ignore[assignment]

KEEP_ENDED = timedelta(days=7)  # ended workers' rows are kept this long, for the operator
CHUNK = 2000  # ids per IN list
PRUNE_EVERY_S = 600.0


class Me:
    """This app's worker identity in this process."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.id = uuid.uuid4().hex
        self.host = socket.gethostname()[:255]
        self.pid = os.getpid()
        self.started_at = utcnow()
        self.beating_since: float | None = None  # monotonic time of the first beat in a row
        self.recount_again: set[int] = set()  # sessions whose peak is counted once more
        self.pruned_at = float("-inf")  # when ended workers' old rows were last removed


def me(app: Flask | None = None) -> Me:
    """This worker's identity (one per app in a process)."""
    target: Any = app or current_app._get_current_object()  # type: ignore[attr-defined]
    kept = target.extensions.get("qa_live.worker")
    if kept is None:
        kept = target.extensions.setdefault("qa_live.worker", Me())
    return kept


def worker_id() -> str:
    """This worker's id, as written in ``visit_connections``."""
    return me().id


def touch(now: datetime | None = None) -> None:
    """Write this worker's heartbeat in the current transaction (creating its row)."""
    who = me()
    connection = db.session.connection()
    at = now or utcnow()
    statement = dialect_insert(connection)(_workers).values(
        id=who.id, host=who.host, pid=who.pid, started_at=who.started_at, last_seen_at=at)
    connection.execute(statement.on_conflict_do_update(
        index_elements=[_workers.c.id],
        set_={"last_seen_at": case((_workers.c.last_seen_at < at, at),
                                   else_=_workers.c.last_seen_at)}))


def record_pages(changes: dict[int, int], new: frozenset[int] | set[int] = frozenset()) -> None:
    """Add (or take off) this worker's open pages of visits: {visit id: +n or -n}.

    Called by the visit batches in their transaction; `new` are visits the batch has just
    inserted (no row of theirs yet). A count never goes below zero. Each kind is one statement
    run for many rows (measured: cheaper than one statement of many VALUES, which SQLAlchemy
    compiles again for each length).
    """
    if not changes:
        return
    connection = db.session.connection()
    wid = me().id
    fresh = [{"visit_id": v, "worker_id": wid, "connections": n}
             for v, n in changes.items() if n > 0 and v in new]
    gained = [{"visit_id": v, "worker_id": wid, "connections": n}
              for v, n in changes.items() if n > 0 and v not in new]
    lost = [{"vid": v, "n": -n} for v, n in changes.items() if n < 0]
    if fresh:
        connection.execute(insert(_pages), fresh)
    if gained:
        statement = dialect_insert(connection)(_pages)
        connection.execute(statement.on_conflict_do_update(
            index_elements=[_pages.c.visit_id, _pages.c.worker_id],
            set_={"connections": _pages.c.connections + statement.excluded.connections}),
            gained)
    if lost:
        connection.execute(
            update(_pages).where(_pages.c.visit_id == bindparam("vid"),
                                 _pages.c.worker_id == wid)
            .values(connections=case((_pages.c.connections > bindparam("n"),
                                      _pages.c.connections - bindparam("n")), else_=0)),
            lost)


def held_visits(visit_ids: set[int]) -> set[int]:
    """Which of these visits this worker holds a page of (one query for a batch's leaves)."""
    wid = me().id
    held: set[int] = set()
    ids = sorted(visit_ids)
    for start in range(0, len(ids), CHUNK):
        held.update(db.session.scalars(
            select(_pages.c.visit_id).where(_pages.c.worker_id == wid,
                                            _pages.c.visit_id.in_(ids[start:start + CHUNK]),
                                            _pages.c.connections > 0)))
    return held


def beat() -> bool:
    """Write this worker's heartbeat in a transaction of its own; False if it was swept.

    A worker that was swept (it could not beat for WORKER_DEAD_AFTER_S while others could)
    takes a new id: its old pages were taken off their visits already.
    """
    who = me()
    row = db.session.execute(
        select(_workers.c.ended_how).where(_workers.c.id == who.id)).one_or_none()
    swept = row is not None and row.ended_how == "swept"
    if swept:
        with who.lock:
            who.id = uuid.uuid4().hex
            who.started_at = utcnow()
    touch()
    db.session.commit()
    if who.beating_since is None:
        who.beating_since = time.monotonic()
    if swept:
        current_app.logger.warning(
            "this worker (pid %d) was taken for dead by another one; it carries on as %s and "
            "its citizens reconnect", who.pid, who.id)
    return not swept


def missed_beat() -> None:
    """The heartbeat could not be written: this worker judges no one until it beats again."""
    me().beating_since = None


def stopped(now: datetime | None = None) -> None:
    """A clean shutdown: this worker's pages have all left; its row says it stopped."""
    wid = me().id
    db.session.execute(delete(_pages).where(_pages.c.worker_id == wid))
    db.session.execute(
        update(_workers).where(_workers.c.id == wid, _workers.c.ended_at.is_(None))
        .values(ended_at=now or utcnow(), ended_how="stopped"))
    db.session.commit()


def sweep_dead(now: datetime | None = None) -> list[int]:
    """Close what workers not seen for WORKER_DEAD_AFTER_S left open; the sessions touched.

    Runs in the leader (or a lone worker); commits. Safe if two ever run at once: each dead
    worker is claimed by one conditional UPDATE.
    """
    who = me()
    now = now or utcnow()
    dead_after = float(current_app.config["WORKER_DEAD_AFTER_S"])
    if who.beating_since is None or time.monotonic() - who.beating_since < dead_after:
        return []  # judge others only after beating that long ourselves
    cutoff = now - timedelta(seconds=dead_after)
    touched: set[int] = set()
    again, who.recount_again = who.recount_again, set()
    for dead_id, host, pid, seen in db.session.execute(
            select(_workers.c.id, _workers.c.host, _workers.c.pid, _workers.c.last_seen_at)
            .where(_workers.c.ended_at.is_(None), _workers.c.id != who.id,
                   _workers.c.last_seen_at < cutoff)).all():
        claimed = db.session.execute(
            update(_workers).where(_workers.c.id == dead_id, _workers.c.ended_at.is_(None),
                                   _workers.c.last_seen_at < cutoff)
            .values(ended_at=now, ended_how="swept").returning(_workers.c.id)).first()
        if claimed is None:
            continue
        pages, visits, sessions = _take_pages_off(dead_id, seen)
        touched |= sessions
        current_app.logger.warning(
            "worker %s (%s pid %s) last seen %s is gone: %d of its pages taken off %d visits "
            "in sessions %s", dead_id, host, pid, iso(seen), pages, visits, sorted(sessions))
    if time.monotonic() - who.pruned_at > PRUNE_EVERY_S:
        who.pruned_at = time.monotonic()
        db.session.execute(delete(_workers).where(_workers.c.ended_at < now - KEEP_ENDED))
    for session_id in sorted(touched | again):
        recount_peak(session_id)
    db.session.commit()
    # Joins written meanwhile by other workers counted the dead visits as open: count again
    # next round, once those batches have committed.
    who.recount_again = touched
    return sorted(touched)


def _take_pages_off(dead_id: str, seen: datetime) -> tuple[int, int, set[int]]:
    """Take a dead worker's pages off its open visits; (pages, visits, sessions)."""
    rows = db.session.execute(
        select(_pages.c.visit_id, _pages.c.connections, _visits.c.session_id)
        .join(_visits, _visits.c.id == _pages.c.visit_id)
        .where(_pages.c.worker_id == dead_id, _pages.c.connections > 0,
               _visits.c.ended_at.is_(None))).all()
    if rows:
        lock_sessions({sid for _v, _n, sid in rows})  # as the batches: no deadlock with them
        left = _visits.c.connections - bindparam("n")
        # Ends when the worker was last seen, never before the visit began.
        end = case((_visits.c.started_at > bindparam("seen", type_=_visits.c.ended_at.type),
                    _visits.c.started_at),
                   else_=bindparam("seen", type_=_visits.c.ended_at.type))
        db.session.connection().execute(
            update(_visits).where(_visits.c.id == bindparam("vid"), _visits.c.ended_at.is_(None))
            .values(connections=case((left > 0, left), else_=0),
                    ended_at=case((left <= 0, end), else_=literal(None))),
            [{"vid": visit_id, "n": n, "seen": seen} for visit_id, n, _sid in rows])
    db.session.execute(delete(_pages).where(_pages.c.worker_id == dead_id))
    return sum(n for _v, n, _s in rows), len(rows), {sid for _v, _n, sid in rows}


def recount_peak(session_id: int) -> int:
    """Set the session's peak of concurrent viewers to what its stored visits say; return it.

    Visits are intervals from started_at to ended_at (open ones to now); the peak is the most
    that overlap. A visit continued after a short absence counts as one interval.
    """
    rows = db.session.execute(
        select(_visits.c.started_at, _visits.c.ended_at)
        .where(_visits.c.session_id == session_id)).all()
    moments: list[tuple[datetime, int]] = []
    for started, ended in rows:
        moments.append((started, 1))
        if ended is not None:
            moments.append((ended, -1))
    moments.sort(key=lambda m: (m[0], m[1]))  # at the same instant a leave comes first
    running = peak = 0
    for _at, step in moments:
        running += step
        peak = max(peak, running)
    db.session.execute(update(LiveSession).where(LiveSession.id == session_id)
                       .values(peak_online=peak))
    return peak


def open_pages(worker: str | None = None) -> int:
    """Pages a worker (default: this one) holds according to the database."""
    return db.session.scalar(
        select(func.coalesce(func.sum(_pages.c.connections), 0))
        .where(_pages.c.worker_id == (worker or me().id))) or 0


def forget_pages(session_id: int) -> None:
    """The session ended (all its visits with it): no worker holds pages of it any more."""
    db.session.execute(delete(_pages).where(
        _pages.c.visit_id.in_(select(_visits.c.id).where(_visits.c.session_id == session_id))))


#: The first key of the advisory locks that make one batch of joins at a time per session.
VISITS_LOCK = 0x5156  # "QV"


def lock_sessions(session_ids: set[int]) -> None:
    """Take each session's visits lock for this transaction (PostgreSQL; SQLite has one writer).

    Two workers writing joins of one visitor at once (a page moving to the other worker a
    moment after joining) would each see no visit of the other's uncommitted batch and count
    two: with the lock, the second batch reads after the first committed and continues it.
    """
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    for session_id in sorted(session_ids):  # in order: two batches never wait on each other
        connection.execute(select(func.pg_advisory_xact_lock(VISITS_LOCK, session_id)))
