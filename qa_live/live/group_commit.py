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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import exc as sa_exc

from qa_live.core.outages import is_unavailable
from qa_live.live import realtime

#: How long a waiting ask waits for its group's writer before giving up (no acknowledgement:
#: the page sends it again with the same client_id, which finds it if it was written after all).
WAIT_S = 30.0
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


class GroupCommit:
    """The queue of one app's asks (kept in live/realtime.py's AppState)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queue: list[Pending] = []
        self.writing = False

    def run(self, work: Callable[[], Any], write: Callable[[list[Pending]], None],
            limit: int) -> Any:
        """Run ``work`` in a group written by ``write``; its result once the group committed."""
        pending = Pending(work)
        with self.lock:
            self.queue.append(pending)
            lead = not self.writing
            self.writing = True
        if not lead:
            if not pending.woken.wait(WAIT_S):
                self._give_up(pending)
            if pending.finished:
                return pending.outcome()
        # Our turn: we are first in the queue (the writer hands the turn to the first waiting).
        # Under gevent a write never yields (SQLite's calls block the process), so asks whose
        # frames have arrived meanwhile have not even been read: let them run up to their
        # place in the queue first. Nothing else waiting, this costs a few microseconds.
        time.sleep(0)
        with self.lock:
            group, self.queue = self.queue[:limit], self.queue[limit:]
        try:
            write(group)
        finally:
            # For /metrics: asks per transaction is asks_total / transactions_total.
            realtime.tally("intake_transactions")
            realtime.tally("intake_asks", len(group))
            with self.lock:
                following = self.queue[0] if self.queue else None
                self.writing = following is not None
                if following is not None:
                    following.turn = True
            for item in group:
                item.finished = True
                if item.result is None and item.error is None:
                    item.error = RuntimeError("the question's group was not written")
                if item is not pending:
                    item.woken.set()
            if following is not None:
                following.woken.set()  # not finished: it writes the next group
        return pending.outcome()

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
                kept.group_commit = GroupCommit()
    queue: GroupCommit = kept.group_commit
    return queue


def write_group(group: list[Pending], begin: Callable[[], None],
                commit: Callable[[], None], rollback: Callable[[], None],
                refusal: type[BaseException]) -> None:
    """Run each ask's work in one transaction and commit; set each one's result or error.

    ``refusal`` is the exception an ask raises before it writes anything: it is that ask's
    answer and the others go on. Anything else undoes the transaction (see the module's doc).
    """
    begin()
    try:
        for item in group:
            try:
                item.result = item.work()
            except refusal as exc:
                item.error = exc
        commit()
    except Exception as exc:
        _undo(rollback)
        for item in group:
            item.result = None
        if len(group) == 1 or is_unavailable(exc):
            for item in group:
                item.error = exc
            return
        for item in group:  # one at a time: only the ask that fails fails
            item.error = None
            write_group([item], begin, commit, rollback, refusal)


def _undo(rollback: Callable[[], None]) -> None:
    try:
        rollback()
    except Exception:  # noqa: S110 - the database may be the very problem; the error is kept
        pass
