"""Visits (人次): the rule, and writing joins and leaves in batches.

A visit starts when a visitor's page joins a live session and none of their visits to it is
open or ended less than VISIT_GRACE_S ago; otherwise the join continues that visit (a
reconnect, a second tab). It ends when its last socket leaves, or when the session ends.

Pages joining and leaving are recorded in order in this process (`join_visit`, `leave`) and
written in one transaction every VISIT_FLUSH_INTERVAL_S (0: at once, in the handler), so a
crowd of thousands arriving at once costs a few statements per batch instead of a commit per
page. Written in order, with the times they happened, the rows and the figures are exactly
those of writing each one at once (docs/metrics.md); the peak of concurrent viewers is the
highest count reached after any join of the batch. Ending a session writes what is pending
first, in its own transaction; a clean shutdown writes it and ends this process's pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import (
    Executable,
    Table,
    and_,
    bindparam,
    case,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from qa_live.core.outages import is_unavailable, troubles
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import realtime, workers
from qa_live.live.models import Visit
from qa_live.live.realtime import Op, VisitLog
from qa_live.live.summaries import mark_counts
from qa_live.planning.models import LiveSession, SessionState

OPEN, LEAVE = "open", "leave"
APPLIED_KEY = "qa_live.visits_applied"  # in db.session.info while a transaction writes the log


class VisitTicket:
    """One page's part in a visit: opened by its join, closed by its leave."""

    __slots__ = ("session_id", "visit_id", "visitor_id")

    def __init__(self, session_id: int | None, visitor_id: str | None,
                 visit_id: int | None = None) -> None:
        self.session_id = session_id
        self.visitor_id = visitor_id
        self.visit_id = visit_id  # known once the join is written


def _log(app: Flask | None = None) -> VisitLog:
    return realtime.of_app(app).visit_log


def join_visit(session_id: int, visitor_id: str, now: datetime | None = None) -> VisitTicket:
    """Record a page joining a live session; the visit is written with the next batch."""
    ticket = VisitTicket(session_id, visitor_id)
    _record(OPEN, ticket, now)
    return ticket


def leave(ticket: VisitTicket, now: datetime | None = None) -> None:
    """Record a page leaving (its visit ends when its last page has gone)."""
    _record(LEAVE, ticket, now)


def _record(kind: str, ticket: VisitTicket, now: datetime | None) -> None:
    log = _log()
    with log.lock:
        log.ops.append((kind, ticket, now or utcnow()))
    if current_app.config["VISIT_FLUSH_INTERVAL_S"] <= 0:
        try:
            flush_visits()
        except Exception as exc:  # kept in the log, written with the next join, leave or shutdown
            if not is_unavailable(exc):
                current_app.logger.exception("writing visits failed")
            else:  # one line when it starts, one when it ends (the heartbeat says "back")
                troubles().failed("writing visits", exc)


def pending_visits(app: Flask | None = None) -> int:
    """Joins and leaves recorded and not yet written."""
    return len(_log(app).ops)


def flush_visits() -> None:
    """Write the recorded joins and leaves, in order, in one transaction of their own."""
    if not _log().ops:
        return
    try:
        write_pending()
        db.session.commit()
    except BaseException:
        db.session.rollback()  # the ops go back to the log, for the next batch
        raise


def write_pending() -> None:
    """Write the recorded joins and leaves into the current transaction.

    Until the transaction ends nobody else writes the log; if it rolls back, what it took goes
    back to the front of the log, and it is written with the next batch.
    """
    log = _log()
    info = db.session.info
    applied: _Applied | None = info.get(APPLIED_KEY)
    if applied is None:
        log.writing.acquire()
        applied = info[APPLIED_KEY] = _Applied(log)
    with log.lock:
        ops, log.ops = log.ops, []
    if not ops:
        return
    applied.ops.extend(ops)
    applied.written.extend(_apply(ops, check_state=True, track=True))


class _Applied:
    """What one transaction took from the log and wrote, until it commits or rolls back."""

    def __init__(self, log: VisitLog) -> None:
        self.log = log
        self.ops: list[Op] = []
        self.written: list[tuple[VisitTicket, _Visit]] = []
        self.committed = False


@event.listens_for(Session, "after_commit")
def _visits_committed(session: Session) -> None:
    applied = session.info.get(APPLIED_KEY)
    if applied is not None:
        applied.committed = True


@event.listens_for(Session, "after_transaction_end")
def _visits_transaction_ended(session: Session, transaction: Any) -> None:
    if transaction.parent is not None or APPLIED_KEY not in session.info:
        return
    applied: _Applied = session.info.pop(APPLIED_KEY)
    try:
        if applied.committed:
            for ticket, visit in applied.written:
                ticket.visit_id = visit.id
            # Joins and leaves alike change "online now": a batch of leaves alone must send
            # the counters too (it did not, and pages showed citizens long gone, issue 18).
            for session_id in {ticket.session_id for _kind, ticket, _at in applied.ops
                               if ticket.session_id is not None}:
                mark_counts(session_id)
        else:
            with applied.log.lock:
                applied.log.ops[:0] = applied.ops
    finally:
        applied.log.writing.release()


class _Visit:
    """A visit as the batch sees it while replaying joins and leaves in order."""

    __slots__ = ("connections", "ended_at", "id", "session_id", "started_at", "visitor_id")

    def __init__(self, id_: int | None, session_id: int, visitor_id: str, started_at: datetime,
                 ended_at: datetime | None, connections: int) -> None:
        self.id = id_
        self.session_id = session_id
        self.visitor_id = visitor_id
        self.started_at = started_at
        self.ended_at = ended_at
        self.connections = connections


_visits: Table = Visit.__table__  # type: ignore[assignment]
_REOPEN = (
    update(_visits).where(_visits.c.id == bindparam("vid"))
    .values(connections=_visits.c.connections + 1, ended_at=None)
)
_LEAVE = (
    update(_visits).where(_visits.c.id == bindparam("vid"), _visits.c.ended_at.is_(None))
    .values(
        connections=case((_visits.c.connections > 0, _visits.c.connections - 1), else_=0),
        ended_at=case((_visits.c.connections <= 1, bindparam("at", type_=_visits.c.ended_at.type)),
                      else_=None),
    )
)


def _apply(ops: list[Op], check_state: bool,
           track: bool = False) -> list[tuple[VisitTicket, _Visit]]:
    """Replay joins and leaves in order against the stored visits; write the outcome.

    The rule is the one in docs/metrics.md, applied to each page in turn at the time it
    joined or left: a join continues the visitor's latest visit to the session if it is open
    or ended less than VISIT_GRACE_S before, else opens a new one. Visits opened here are
    inserted with their final state; stored ones change by relative updates (connections ± 1),
    as several worker processes may touch them. With ``check_state``, a join written after
    another process ended the session counts only if it came before the end (it is stored
    ended); the process that ends a session writes its own batch first.
    With ``track`` the pages are this worker's: its share of each visit is written too
    (visit_connections), so that a surviving worker can take them off if this one dies
    (qa_live/live/workers.py).
    """
    grace = timedelta(seconds=current_app.config["VISIT_GRACE_S"])
    opens = [(ticket, at) for kind, ticket, at in ops if kind == OPEN]
    leave_ids = {ticket.visit_id for kind, ticket, _at in ops
                 if kind == LEAVE and ticket.visit_id is not None}
    pairs = {(ticket.session_id, ticket.visitor_id) for ticket, _at in opens}
    stored: dict[int, _Visit] = {}
    latest: dict[tuple[int | None, str | None], _Visit] = {}
    earliest = min((at for _ticket, at in opens), default=utcnow()) - grace
    if pairs:
        workers.lock_sessions({sid for sid, _v in pairs if sid is not None})
    conditions = []
    if pairs:
        conditions.append(and_(
            _visits.c.session_id.in_({sid for sid, _v in pairs}),
            _visits.c.visitor_id.in_({v for _sid, v in pairs}),
            or_(_visits.c.ended_at.is_(None), _visits.c.ended_at >= earliest),
        ))
    if leave_ids:
        conditions.append(_visits.c.id.in_(leave_ids))
    if conditions:
        rows = db.session.execute(
            select(_visits.c.id, _visits.c.session_id, _visits.c.visitor_id,
                   _visits.c.started_at, _visits.c.ended_at, _visits.c.connections)
            .where(or_(*conditions)).order_by(_visits.c.id)
        ).all()
        for row in rows:
            loaded = _Visit(*row)
            stored[row.id] = loaded
            key = (loaded.session_id, loaded.visitor_id)
            if key in pairs and (loaded.ended_at is None or loaded.ended_at >= earliest):
                latest[key] = loaded  # in id order: the latest one wins
    session_ids = {sid for sid, _v in pairs if sid is not None} | {
        v.session_id for v in stored.values()}
    if not session_ids:
        return []
    ended: dict[int, datetime | None] = {}
    if check_state:
        for state_id, state, ended_at in db.session.execute(
                select(LiveSession.id, LiveSession.state, LiveSession.ended_at)
                .where(LiveSession.id.in_(session_ids))):
            if state != SessionState.LIVE:
                ended[state_id] = ended_at
    online: dict[int, int] = dict.fromkeys(session_ids, 0)
    for counted_id, open_now in db.session.execute(
            select(_visits.c.session_id, func.count())
            .where(_visits.c.session_id.in_(session_ids), _visits.c.ended_at.is_(None))
            .group_by(_visits.c.session_id)):
        online[counted_id] = open_now
    peak: dict[int, int] = {}
    new: list[_Visit] = []
    changes: list[tuple[Executable, dict[str, Any]]] = []  # stored visits' updates, in order
    by_ticket: dict[VisitTicket, _Visit] = {}
    written: list[tuple[VisitTicket, _Visit]] = []
    held: dict[_Visit, list[int]] = {}  # this worker's pages of each visit: [joined, left]
    # A leave counts only while this worker holds a page of the visit: after it was taken for
    # dead and swept (qa_live/live/workers.py) its old pages count no more.
    holding = workers.held_visits(leave_ids) if track and leave_ids else set()
    for kind, ticket, at in ops:
        if kind == OPEN:
            sid = ticket.session_id
            assert sid is not None and ticket.visitor_id is not None
            is_over = sid in ended
            end = ended.get(sid)
            if is_over and (end is None or at > end):
                continue  # joined after the session ended: counts nothing
            pair = (sid, ticket.visitor_id)
            visit = latest.get(pair)
            if visit is not None and (visit.ended_at is None or visit.ended_at >= at - grace):
                if not is_over:
                    if visit.ended_at is not None:
                        online[sid] += 1
                    visit.connections += 1
                    visit.ended_at = None
                    held.setdefault(visit, [0, 0])[0] += 1
                    if visit.id is not None:
                        changes.append((_REOPEN, {"vid": visit.id}))
            else:
                visit = _Visit(None, sid, ticket.visitor_id, at, None, 1)
                latest[pair] = visit
                new.append(visit)
                online[sid] += 1
                held.setdefault(visit, [0, 0])[0] += 1
            by_ticket[ticket] = visit
            written.append((ticket, visit))
            peak[sid] = max(peak.get(sid, 0), online[sid])
        else:
            found = by_ticket.get(ticket)
            if found is None and ticket.visit_id is not None:
                found = stored.get(ticket.visit_id)
            if found is None or found.ended_at is not None:
                continue
            if (track and found.id is not None and found.id not in holding
                    and not held.get(found, (0, 0))[0]):
                continue  # not this worker's page any more (swept)
            found.connections = max(found.connections - 1, 0)
            if found.connections == 0:
                found.ended_at = at
                online[found.session_id] -= 1
            held.setdefault(found, [0, 0])[1] += 1
            if found.id is not None:
                changes.append((_LEAVE, {"vid": found.id, "at": at}))
    for fresh in new:
        if fresh.session_id in ended:  # stored as it was when the session ended
            over = ended[fresh.session_id] or fresh.started_at
            fresh.ended_at = min(fresh.ended_at or over, over)
            fresh.connections = 0
    if new:
        ids = db.session.scalars(
            insert(Visit).returning(Visit.id, sort_by_parameter_order=True),
            [{"session_id": v.session_id, "visitor_id": v.visitor_id,
              "started_at": v.started_at, "ended_at": v.ended_at,
              "connections": v.connections} for v in new],
        ).all()
        for fresh, id_ in zip(new, ids, strict=True):
            fresh.id = id_
    mine = {v.id: counts for v, counts in held.items()
            if track and v.id is not None and v.session_id not in ended}
    if mine:
        workers.touch()  # this worker's row, before the pages that refer to it
        # Pages joined first (so a leave in this batch finds its worker's page), left after.
        workers.record_pages({vid: joined for vid, (joined, _left) in mine.items() if joined},
                             new={v.id for v in new if v.id is not None})
    _execute_in_order(changes)
    if mine:
        workers.record_pages({vid: -left for vid, (_joined, left) in mine.items() if left})
    for peak_id, highest in peak.items():
        db.session.execute(
            update(LiveSession).where(LiveSession.id == peak_id,
                                      LiveSession.peak_online < highest)
            .values(peak_online=highest)
        )
    return written


def _execute_in_order(changes: Iterable[tuple[Executable, dict[str, Any]]]) -> None:
    """Run the statements in order, consecutive runs of one statement as one executemany."""
    connection = db.session.connection()
    runs: list[tuple[Executable, list[dict[str, Any]]]] = []
    for statement, params in changes:
        if runs and runs[-1][0] is statement:
            runs[-1][1].append(params)
        else:
            runs.append((statement, [params]))
    for statement, batch in runs:
        connection.execute(statement, batch)


def close_all_visits(session: LiveSession, now: datetime) -> None:
    """End every open visit (the session has ended), after writing this process's pending ones."""
    write_pending()
    db.session.execute(
        update(Visit).where(Visit.session_id == session.id, Visit.ended_at.is_(None))
        .values(ended_at=now, connections=0)
    )
    workers.forget_pages(session.id)
