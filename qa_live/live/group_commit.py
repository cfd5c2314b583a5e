"""Group commit: the asks that arrive while one transaction is being written share the next one.

At a thousand questions a second a commit per question (a transaction begun, a connection
checked out and pinged, the word list's version read, the commit itself) costs as much as the
question. Here the first ask to arrive writes; asks that arrive meanwhile wait in a queue, and
when the writer's transaction has committed (and its events are sent) it hands the turn to the
first of them, which writes all that have gathered, in one transaction, and so on. Nobody waits
for a timer: when asks come one at a time each is written alone, as before; when they crowd,
each transaction carries more of them. On SQLite this is the single writer anyway; with several
workers on PostgreSQL each worker groups its own.

The rule that does not bend: an ask is acknowledged only after the transaction holding it has
committed (`Pending.outcome` returns, or raises, only then). A refusal (a duplicate of another
visitor, a pace limit, the session not live) is found before the question writes anything, so
it is answered to its ask alone. Any other failure rolls the transaction back: a database that
cannot be reached fails every ask of the group (none was written; each caller says "try
again"), anything else writes the group again one ask per transaction, so one bad ask cannot
take the others down with it or have them acknowledged without their row.

Under gevent and eventlet a group is acknowledged before its events go out: once it has
committed, its asks are woken (and so answered) first, and its events (the staff consoles', the
askers' other pages', each a Redis round trip with several workers) are sent by one sender
green thread per app, group after group in commit order. With threads (the tests, `flask run`)
the writer sends them itself before it wakes anyone, as everything did before. And the queue
has a length past which an ask is answered "try again" (``unavailable``) at once instead of
joining a backlog that would answer it seconds late (``INTAKE_QUEUE_MAX``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import exc as sa_exc

from qa_live.core.outages import is_unavailable
from qa_live.extensions import db
from qa_live.live import realtime

#: How long a waiting ask waits for its group's writer before giving up (no acknowledgement:
#: the page sends it again with the same client_id, which finds it if it was written after all).
WAIT_S = 30.0
#: The servers whose threads are green: there the group's events go out after its acks.
COOPERATIVE_MODES = ("gevent", "eventlet")
_making = threading.Lock()


@dataclass(eq=False)
class Pending:
    """One ask waiting for its transaction: what to write, and what came of it."""

    work: Callable[[], Any]
    #: Set when the ask's transaction has ended (or the ask is handed the writer's turn).
    woken: threading.Event = field(default_factory=threading.Event)
    finished: bool = False
    #: Handed the writer's turn: it writes the next group (set under the queue's lock).
    turn: bool = False
    result: Any = None
    error: BaseException | None = None

    def outcome(self) -> Any:
        """The result of ``work`` once committed, or its exception raised again."""
        if self.error is not None:
            raise self.error
        return self.result


class QueueFull(sa_exc.TimeoutError):
    """Too many asks already wait for their turn: this one is answered "try again" at once."""


class GroupCommit:
    """The queue of one app's asks (kept in live/realtime.py's AppState).

    ``spawn`` (cooperative servers only) starts the sender of committed groups' events; without
    it the writer sends its group's events itself, before acknowledging.
    """

    def __init__(self, spawn: Callable[[Callable[[], None]], Any] | None = None,
                 gather_first: bool = True) -> None:
        self.lock = threading.Lock()
        #: Yield once before taking the queue (SQLite, whose calls never yield: see ``run``).
        self.gather_first = gather_first
        self.queue: list[Pending] = []
        self.writing = False
        self.spawn = spawn
        #: Committed groups' events not sent yet, in commit order; ``sending``: a sender runs.
        self.outgoing: deque[tuple[list[Any], Callable[[list[Any]], None]]] = deque()
        self.sending = False

    def run(self, work: Callable[[], Any], write: Callable[[list[Pending]], list[Any]],
            limit: int, send: Callable[[list[Any]], None], queue_max: int = 0) -> Any:
        """Run ``work`` in a group written by ``write``; its result once the group committed.

        ``write`` returns what the group's transaction queued to send (events.commit_and_take);
        ``send`` sends it. With ``queue_max`` asks already waiting, raise QueueFull at once.
        """
        pending = Pending(work)
        with self.lock:
            full = bool(queue_max) and len(self.queue) >= queue_max
            if not full:
                self.queue.append(pending)
                lead = not self.writing
                self.writing = True
        if full:
            realtime.tally("intake_refused_busy")
            raise QueueFull(f"{queue_max} questions already wait for their turn")
        if not lead:
            if not pending.woken.wait(WAIT_S):
                self._give_up(pending)
            if pending.finished:
                return pending.outcome()
        # Our turn: we are first in the queue (the writer hands the turn to the first waiting).
        # Under gevent a write on SQLite never yields (its calls block the process), so asks
        # whose frames have arrived meanwhile have not even been read: let them run up to
        # their place in the queue first. On PostgreSQL every round trip yields and they
        # gather meanwhile; a yield here would only put this ask behind whatever else is ready.
        if self.gather_first:
            time.sleep(0)
        with self.lock:
            group, self.queue = self.queue[:limit], self.queue[limit:]
        outbox: list[Any] = []
        try:
            outbox = write(group)
        finally:
            # For /metrics: asks per transaction is asks_total / transactions_total.
            realtime.tally("intake_transactions")
            realtime.tally("intake_asks", len(group))
            for item in group:
                if item.result is None and item.error is None:
                    item.error = RuntimeError("the question's group was not written")
            if self.spawn is None:
                self._send_now(outbox, send)
            for item in group:
                item.finished = True
                if item is not pending:
                    item.woken.set()
            if self.spawn is not None:
                # After the wake-ups: the group's asks are answered before its events go out.
                self._send_later(outbox, send)
            with self.lock:
                following = self.queue[0] if self.queue else None
                self.writing = following is not None
                if following is not None:
                    following.turn = True
            if following is not None:
                following.woken.set()  # not finished: it writes the next group
        return pending.outcome()

    def _send_now(self, outbox: list[Any], send: Callable[[list[Any]], None]) -> None:
        """Send a committed group's events (a failure to send takes no ask back: all are in)."""
        if not outbox:
            return
        try:
            send(outbox)
        except Exception:
            logging.getLogger(__name__).exception("sending a committed group's events failed")

    def _send_later(self, outbox: list[Any], send: Callable[[list[Any]], None]) -> None:
        """Queue a committed group's events for the sender, starting it if none runs."""
        if not outbox:
            return
        with self.lock:
            self.outgoing.append((outbox, send))
            if self.sending:
                return
            self.sending = True
        assert self.spawn is not None
        self.spawn(self._sender)

    def _sender(self) -> None:
        """Send the committed groups' events in commit order until none is left."""
        while True:
            with self.lock:
                if not self.outgoing:
                    self.sending = False
                    return
                outbox, send = self.outgoing.popleft()
            self._send_now(outbox, send)

    def _give_up(self, pending: Pending) -> None:
        """After WAIT_S: leave the queue and raise, unless the turn came meanwhile.

        An ask already taken into a group that is being written is not acknowledged either;
        written or not, its page sends it again with its client_id.
        """
        with self.lock:
            if pending.turn or pending.finished:
                pending.woken.wait()  # set right after the lock is let go
                return
            if pending in self.queue:
                self.queue.remove(pending)
        # The pool's own "no connection in time": the caller answers "try again" (unavailable).
        raise sa_exc.TimeoutError("the group before this question did not finish in time")


def of_app(app: Flask | None = None) -> GroupCommit:
    """The app's group commit queue (the current app's by default), made on first use."""
    kept = realtime.of_app(app)
    if kept.group_commit is None:
        with _making:
            if kept.group_commit is None:
                made = app or current_app._get_current_object()  # type: ignore[attr-defined]
                with made.app_context():
                    sqlite = db.engine.dialect.name == "sqlite"
                kept.group_commit = GroupCommit(_spawner(made), gather_first=sqlite)
    queue: GroupCommit = kept.group_commit
    return queue


def _spawner(app: Flask) -> Callable[[Callable[[], None]], Any] | None:
    """How the sender starts on this app's server: a green thread, or None with real threads
    (where the writer sends its group's events itself, before the acknowledgements)."""
    from qa_live.extensions import socketio

    if socketio.async_mode not in COOPERATIVE_MODES:
        return None

    def spawn(sender: Callable[[], None]) -> Any:
        def run() -> None:
            with app.app_context():
                sender()

        return socketio.start_background_task(run)

    return spawn


def write_group(group: list[Pending], commit: Callable[[], list[Any]],
                rollback: Callable[[], None], refusal: type[BaseException],
                each: Callable[[list[Pending]], None] | None = None) -> list[Any]:
    """Run each ask's work in one transaction and commit; set each one's result or error.

    ``refusal`` is the exception an ask raises before it writes anything: it is that ask's
    answer and the others go on. Anything else undoes the transaction (see the module's doc).
    ``each``, when given, does the whole group's work at once (setting each ask's result, or
    its refusal as its error) instead of one ``work`` after another.
    Returns what the committed transactions queued to send (``commit`` returns it), in order.
    """
    try:
        if each is not None:
            each(group)
        else:
            for item in group:
                try:
                    item.result = item.work()
                except refusal as exc:
                    item.error = exc
        return commit()
    except Exception as exc:
        _undo(rollback)
        for item in group:
            item.result = item.error = None
        if len(group) == 1 or is_unavailable(exc):
            for item in group:
                item.error = exc
            return []
        outbox: list[Any] = []
        for item in group:  # one at a time: only the ask that fails fails
            outbox += write_group([item], commit, rollback, refusal, each)
        return outbox


def _undo(rollback: Callable[[], None]) -> None:
    try:
        rollback()
    except Exception:  # noqa: S110 - the database may be the very problem; the error is kept
        pass
