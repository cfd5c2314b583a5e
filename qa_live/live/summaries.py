"""Throttled summaries: the counters and votes that changed go out at most every interval.

A session's audience hears the counters and votes at most every SUMMARY_INTERVAL_S, and less
often the larger it is (audience_interval): every summary is a broadcast to every page, and
with 10,000 pages one a second would cost as much as an answer a second. Staff consoles hear
every summary. What a large audience has not heard yet waits in the app's realtime.Audiences.

A summary to a large audience of this process goes out in slices that let answers go first
(to_audience): a summary is superseded by the next anyway, answers are what citizens wait for.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app
from sqlalchemy import and_, select

from qa_live.extensions import db, socketio
from qa_live.live import events, lease, realtime
from qa_live.live.counters import STAFF_ONLY, counts, remember_counts
from qa_live.live.models import Question
from qa_live.transport import slices
from qa_live.transport.fanout import LARGE, local_room_size

#: A summary to more pages than a large broadcast (fanout.LARGE) goes out in slices this big:
#: small emits, which neither wait for nor hold the large broadcasts' turn.
SLICE = LARGE
#: Between slices the summary lets other green threads run this long (not 0: gevent may resume
#: before it polls for input, an answer's request), and waits while an answer is going out, at
#: most YIELD_LIMIT_S in all, after which it goes on regardless.
SLICE_PAUSE_S = 0.0005
YIELD_LIMIT_S = 1.0


def mark_counts(session_id: int) -> None:
    """Note that a session's counters changed; they go out with the next summary."""
    with realtime.summary_lock:
        realtime.dirty_counts.add(session_id)


def mark_vote(session_id: int, question_id: int) -> None:
    """Note that a question's votes changed; its count goes out with the next summary.

    The counts kept for joins in this process are read anew from now on (kept_votes.py); other
    workers read them anew when the summary reaches them.
    """
    with realtime.summary_lock:
        realtime.dirty_votes.setdefault(session_id, set()).add(question_id)
        realtime.dirty_counts.add(session_id)
        realtime.votes_generation[session_id] = realtime.votes_generation.get(session_id, 0) + 1


def audience_interval(session_id: int) -> float:
    """How long a session's audience waits between summaries: longer for a larger audience."""
    config = current_app.config
    interval = float(config["SUMMARY_INTERVAL_S"])
    step = config["SUMMARY_AUDIENCE_STEP"]
    if interval <= 0 or step <= 0:
        return interval
    pages = local_room_size(socketio.server.manager, events.PUBLIC_NS,
                            events.session_room(session_id))  # in this process
    return interval * max(1.0, pages / step)


def flush_summaries() -> None:
    """Emit the changed counters and votes: to staff every time, to the audience when due.

    With several workers only the leader emits, for the marks of all (qa_live/live/lease.py).
    """
    audiences = realtime.of_app().audiences
    with realtime.summary_lock:
        sessions = set(realtime.dirty_counts)
        votes = {k: set(v) for k, v in realtime.dirty_votes.items()}
        realtime.dirty_counts.clear()
        realtime.dirty_votes.clear()
    try:
        shared = lease.lease().share_marks(sessions, votes)
    except BaseException:
        _mark_again(sessions, votes)  # kept for the next round
        raise
    if shared is None:
        return  # handed to the leader
    sessions, votes = shared
    with realtime.summary_lock:
        public_counts = audiences.counts_waiting | sessions
        public_votes = {k: set(v) for k, v in audiences.votes_waiting.items()}
        for session_id, ids in votes.items():
            public_votes.setdefault(session_id, set()).update(ids)
        audiences.counts_waiting = set()
        audiences.votes_waiting = {}
    now = time.monotonic()
    due = {session_id for session_id in public_counts | public_votes.keys()
           if now - audiences.sent_at.get(session_id, float("-inf"))
           >= audience_interval(session_id)}
    figures: dict[int, dict[str, Any]] = {}
    for session_id in sessions:
        staff = counts(session_id, staff=True)
        figures[session_id] = {k: v for k, v in staff.items() if k not in STAFF_ONLY}
        remember_counts(session_id, figures[session_id])
        socketio.emit("counts", staff, to=events.staff_all_room(session_id),
                      namespace=events.STAFF_NS)
        realtime.tally("emits", namespace=events.STAFF_NS, event="counts")
    for session_id in public_counts:
        if session_id not in due:
            continue
        public = figures.get(session_id)
        if public is None:
            public = counts(session_id)
            remember_counts(session_id, public)
        to_audience(session_id, "counts", public)
        realtime.tally("emits", namespace=events.PUBLIC_NS, event="counts")
    for session_id, ids in public_votes.items():
        rows = db.session.execute(
            select(Question.id, Question.upvotes).where(and_(Question.id.in_(ids)))
        ).all()
        upvotes = {i: n for i, n in rows}
        changed = votes.get(session_id)
        if changed:
            data = {"session_id": session_id,
                    "upvotes": {str(i): n for i, n in upvotes.items() if i in changed}}
            socketio.emit("votes", data, to=events.staff_all_room(session_id),
                          namespace=events.STAFF_NS)
            realtime.tally("emits", namespace=events.STAFF_NS, event="votes")
        if session_id in due:
            data = {"session_id": session_id, "upvotes": {str(i): n for i, n in upvotes.items()}}
            to_audience(session_id, "votes", data)
            realtime.tally("emits", namespace=events.PUBLIC_NS, event="votes")
    with realtime.summary_lock:
        for session_id in due:
            audiences.sent_at[session_id] = now
        audiences.counts_waiting.update(public_counts - due)
        for session_id, ids in public_votes.items():
            if session_id not in due:
                audiences.votes_waiting.setdefault(session_id, set()).update(ids)


def to_audience(session_id: int, event: str, data: dict[str, Any]) -> None:
    """Send a summary to a session's pages; to a large audience of this process, in slices
    after the answers (transport/slices.py): an answer published while a summary went out
    waited for all of it (docs/performance.md, fanout17b)."""
    slices.emit_giving_way(socketio, event, data, events.session_room(session_id),
                           events.PUBLIC_NS, SLICE, SLICE_PAUSE_S, YIELD_LIMIT_S)


def _mark_again(sessions: set[int], votes: dict[int, set[int]]) -> None:
    with realtime.summary_lock:
        realtime.dirty_counts.update(sessions)
        for session_id, ids in votes.items():
            realtime.dirty_votes.setdefault(session_id, set()).update(ids)
