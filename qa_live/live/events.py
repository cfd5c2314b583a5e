"""Commit, then tell: the outbox of broadcasts and the numbered public event log.

Services call `publish()` / `tell_staff()` / `tell_visitor()` while they work; nothing is sent
then. The handler calls `commit_and_send()`, which commits and only afterwards emits what the
transaction made true. A plain `db.session.commit()` sends the outbox too, once the commit is
done: an operation of a lower layer (planning) whose signal made live publish something reaches
the pages whatever its caller commits with. A rollback drops the outbox, so no client hears of
a change the database does not have.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, event, select, update
from sqlalchemy.orm import Session, SessionTransaction

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import realtime
from qa_live.live.models import SessionEvent
from qa_live.planning.models import LiveSession

PUBLIC_NS = "/qa"
STAFF_NS = "/moderation"
OUTBOX = "qa_live.outbox"


@dataclass(frozen=True)
class Outgoing:
    """One emit waiting for the commit."""

    namespace: str
    room: str | list[str]
    event: str
    data: Any


def session_room(session_id: int) -> str:
    """The /qa room of everyone watching a session."""
    return f"s:{session_id}"


def visitor_room(visitor_id: str) -> str:
    """The /qa room of one visitor's sockets (their own questions' status)."""
    return f"v:{visitor_id}"


def staff_room(session_id: int, department_id: int | None = None) -> str:
    """The /moderation rooms: all of a session (hosts, office) or one department (answerers).

    Department 0 holds questions not yet assigned to a department.
    """
    if department_id is None:
        return f"staff:{session_id}"
    return f"staff:{session_id}:d:{department_id}"


def staff_all_room(session_id: int) -> str:
    """The /moderation room every console of a session joins, answerers included.

    What is not about one question goes here: session state, host posts, presence, counters.
    """
    return f"staff:{session_id}:all"


def _outbox() -> list[Outgoing]:
    return db.session.info.setdefault(OUTBOX, [])


def publish(session: LiveSession, type_: str, data: dict[str, Any]) -> int:
    """Record a public change in the session's event log and queue its broadcast; return seq.

    The sequence number comes from an atomic increment of the session's counter in the same
    transaction as the change, so numbers are gapless and in commit order per session.
    """
    return publish_to(session.id, type_, data)


def publish_to(session_id: int, type_: str, data: dict[str, Any]) -> int:
    """`publish` by the session's id."""
    seq = db.session.execute(
        update(LiveSession)
        .where(LiveSession.id == session_id)
        .values(last_seq=LiveSession.last_seq + 1)
        .returning(LiveSession.last_seq)
    ).scalar_one()
    envelope = {"seq": seq, "type": type_, "data": data}
    db.session.add(SessionEvent(session_id=session_id, seq=seq, type=type_,
                                payload=json.dumps(envelope, ensure_ascii=False),
                                created_at=utcnow()))
    _outbox().append(Outgoing(PUBLIC_NS, session_room(session_id), "event", envelope))
    return seq


def tell_staff(session_id: int, event_name: str, data: Any,
               department_id: int | None | bool = False) -> None:
    """Queue an emit to the session's staff.

    About a question (``department_id`` given, None for unassigned): hosts and office, plus
    the answerers of its department. Otherwise (session, posts): every console of the session.
    """
    box = _outbox()
    if department_id is False:
        box.append(Outgoing(STAFF_NS, staff_all_room(session_id), event_name, data))
        return
    # One emit to both rooms: encoded once, and a console in both hears it once.
    rooms = [staff_room(session_id), staff_room(session_id, department_id or 0)]
    box.append(Outgoing(STAFF_NS, rooms, event_name, data))


def tell_visitor(visitor_id: str, event_name: str, data: Any) -> None:
    """Queue a private emit to one visitor's open pages."""
    _outbox().append(Outgoing(PUBLIC_NS, visitor_room(visitor_id), event_name, data))


def after_commit(action: Callable[[], None]) -> None:
    """Queue work to run once the transaction has committed (e.g. marking counters changed)."""
    _outbox().append(action)  # type: ignore[arg-type]


def commit_and_send() -> None:
    """Commit the transaction, then emit everything it queued, in order."""
    send(commit_and_take())


def commit_and_take() -> list[Any]:
    """Commit the transaction and return what it queued, for ``send`` once the caller is ready.

    Group commit (live/group_commit.py) acknowledges its asks first and then sends this.
    """
    # Taken before the commit, so the after_commit hook below finds nothing to send: the
    # emits happen in ``send``, once the session has given its connection back.
    pending = db.session.info.pop(OUTBOX, [])
    db.session.commit()
    return pending


def send(pending: list[Any]) -> None:
    """Emit (and run) what a committed transaction queued, in order."""
    _send(pending)


def _send(pending: list[Any]) -> None:
    for item in pending:
        if isinstance(item, Outgoing):
            socketio.emit(item.event, item.data, to=item.room, namespace=item.namespace)
            realtime.tally("emits", namespace=item.namespace, event=item.event)
        else:
            item()


@event.listens_for(Session, "after_soft_rollback")
def _drop_outbox(session: Session, previous_transaction: SessionTransaction) -> None:
    # Only when the whole transaction is undone: rolling back a savepoint (live/bulk.py) leaves
    # the outer transaction and what it queued; the code that used the savepoint drops its part.
    if previous_transaction.parent is None:
        session.info.pop(OUTBOX, None)


@event.listens_for(Session, "after_commit")
def _send_outbox(session: Session) -> None:
    # A plain commit of a transaction that queued broadcasts (see the module's docstring).
    pending = session.info.pop(OUTBOX, None)
    if pending:
        _send(pending)


_events: Table = SessionEvent.__table__  # type: ignore[assignment]
_SINCE = (
    select(_events.c.payload)
    .where(_events.c.session_id == bindparam("session_id"), _events.c.seq > bindparam("since"))
    .order_by(_events.c.seq)
)


def events_since(session_id: int, since: int, limit: int,
                 last: int | None = None) -> list[dict[str, Any]] | None:
    """The public events after `since`, in order; None when more than `limit` were missed.

    `last` is the session's sequence number when the caller has just read it.
    """
    if last is None:
        last = db.session.scalar(
            select(LiveSession.last_seq).where(LiveSession.id == session_id))
    if last is None or since > last or last - since > limit:
        return None
    if since == last:
        return []
    rows = db.session.connection().execute(
        _SINCE, {"session_id": session_id, "since": since}).scalars()
    return [json.loads(row) for row in rows]
