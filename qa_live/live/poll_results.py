"""Live polls' results on their way out: throttled like the counters (summaries.py).

An answer only marks its poll; every SUMMARY_INTERVAL_S the loop counts the marked polls once
(two grouped queries for all of them) and sends one ``poll_results`` per session: to the staff
consoles every time, to the audience (citizens and the projector) only for polls whose results
are shown live, and no more often than summaries.audience_interval allows for its size. So a
thousand answers in a second cost one count and one broadcast, not a thousand.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import select

from qa_live.extensions import db, socketio
from qa_live.live import events, realtime
from qa_live.live.summaries import audience_interval
from qa_live.votes import ballots
from qa_live.votes.models import Poll, PollState, ResultsShown


def mark_results(session_id: int, poll_id: int) -> None:
    """Note that a poll was answered; its results go out with the next poll summary."""
    with realtime.summary_lock:
        realtime.dirty_polls.setdefault(session_id, set()).add(poll_id)


def _shown_live(poll: Poll | None) -> bool:
    return (poll is not None and poll.state == PollState.OPEN
            and poll.results_shown == ResultsShown.LIVE)


def flush_poll_results() -> None:
    """Send the marked polls' results: to staff each time, to the audience when due."""
    kept = realtime.of_app()
    audiences = kept.audiences
    with realtime.summary_lock:
        changed = {k: set(v) for k, v in realtime.dirty_polls.items()}
        realtime.dirty_polls.clear()
        public = {k: set(v) for k, v in audiences.polls_waiting.items()}
        audiences.polls_waiting = {}
    for session_id, ids in changed.items():
        public.setdefault(session_id, set()).update(ids)
    everything = {poll_id for ids in public.values() for poll_id in ids}
    if not everything:
        return
    polls = {p.id: p for p in db.session.scalars(select(Poll).where(Poll.id.in_(everything)))}
    found = ballots.results_of(polls)
    payloads = {i: ballots.results_payload(p, found[i]) for i, p in polls.items()}
    now = time.monotonic()
    for session_id, ids in changed.items():
        results = [payloads[i] for i in sorted(ids) if i in payloads]
        if results:
            socketio.emit("poll_results", {"session_id": session_id, "results": results},
                          to=events.staff_all_room(session_id), namespace=events.STAFF_NS)
    waiting: dict[int, set[int]] = {}
    for session_id, ids in public.items():
        shown = sorted(i for i in ids if _shown_live(polls.get(i)))
        if not shown:
            continue
        if now - audiences.polls_sent_at.get(session_id, float("-inf")) < audience_interval(
                session_id):
            waiting[session_id] = set(shown)
            continue
        audiences.polls_sent_at[session_id] = now
        for poll_id in shown:
            kept.poll_results[poll_id] = (now, payloads[poll_id])
        socketio.emit("poll_results", {"session_id": session_id,
                                       "results": [payloads[i] for i in shown]},
                      to=events.session_room(session_id), namespace=events.PUBLIC_NS)
    with realtime.summary_lock:
        for session_id, ids in waiting.items():
            audiences.polls_waiting.setdefault(session_id, set()).update(ids)


def recent_results(polls: Iterable[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Public results of open polls shown live, as counted at most SUMMARY_INTERVAL_S ago.

    `polls` are public poll payloads (polls.public_poll). What a joining page gets in its
    snapshot: a crowd joining at once costs one count per interval, and the next summary
    brings the page up to date.
    """
    kept = realtime.of_app().poll_results
    now = time.monotonic()
    fresh = current_app.config["SUMMARY_INTERVAL_S"]
    wanted = {p["id"]: p for p in polls if p["state"] == PollState.OPEN.value
              and p["results_shown"] == ResultsShown.LIVE.value}
    out = {i: kept[i][1] for i in wanted if i in kept and now - kept[i][0] < fresh}
    missing = [i for i in wanted if i not in out]
    if missing:
        for poll_id, found in ballots.results_of(missing).items():
            options = [(o["id"], o["label"]) for o in wanted[poll_id]["options"]]
            out[poll_id] = ballots.payload_of(poll_id, options, found)
            kept[poll_id] = (now, out[poll_id])
    return out
