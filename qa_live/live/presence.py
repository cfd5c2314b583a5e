"""Visits (人次), who is online, and the live counters sent as throttled summaries.

A visit starts when a visitor's page joins a live session and none of their visits to it is
open or ended less than VISIT_GRACE_S ago; otherwise the join continues that visit (a
reconnect, a second tab). It ends when its last socket leaves, or when the session ends.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, case, func, or_, select, update

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import events
from qa_live.live.models import Question, QuestionStatus, Visit
from qa_live.planning.models import LiveSession


def open_visit(session: LiveSession, visitor_id: str, now: datetime | None = None) -> int:
    """Count a page joining a live session; return the visit's id."""
    now = now or utcnow()
    grace = now - timedelta(seconds=current_app.config["VISIT_GRACE_S"])
    visit = db.session.scalar(
        select(Visit)
        .where(Visit.session_id == session.id, Visit.visitor_id == visitor_id,
               or_(Visit.ended_at.is_(None), Visit.ended_at >= grace))
        .order_by(Visit.id.desc()).limit(1)
    )
    if visit is None:
        visit = Visit(session_id=session.id, visitor_id=visitor_id, started_at=now,
                      connections=1)
        db.session.add(visit)
        db.session.flush()
    else:
        db.session.execute(
            update(Visit).where(Visit.id == visit.id)
            .values(connections=Visit.connections + 1, ended_at=None)
        )
    record_peak(session.id)
    return visit.id


def record_peak(session_id: int) -> int:
    """Raise the session's peak of concurrent viewers to the current online count; return it.

    One conditional UPDATE, so concurrent joins in several workers never lower it.
    """
    online = db.session.scalar(
        select(func.count(Visit.id))
        .where(Visit.session_id == session_id, Visit.ended_at.is_(None))
    ) or 0
    db.session.execute(
        update(LiveSession).where(LiveSession.id == session_id,
                                  LiveSession.peak_online < online)
        .values(peak_online=online)
    )
    return online


def leave_visit(visit_id: int, now: datetime | None = None) -> None:
    """Count a page leaving; the visit ends when its last page has gone."""
    now = now or utcnow()
    db.session.execute(
        update(Visit).where(Visit.id == visit_id, Visit.ended_at.is_(None))
        .values(
            connections=case((Visit.connections > 0, Visit.connections - 1), else_=0),
            ended_at=case((Visit.connections <= 1, now), else_=None),
        )
    )


def close_all_visits(session: LiveSession, now: datetime) -> None:
    """End every open visit (the session has ended)."""
    db.session.execute(
        update(Visit).where(Visit.session_id == session.id, Visit.ended_at.is_(None))
        .values(ended_at=now, connections=0)
    )


def counts(session_id: int, staff: bool = False) -> dict[str, Any]:
    """The live counters: online now, participant-visits, valid questions, answered."""
    online, visits = db.session.execute(
        select(func.count(case((Visit.ended_at.is_(None), 1))), func.count(Visit.id))
        .where(Visit.session_id == session_id)
    ).one()
    rejected = Question.status == QuestionStatus.REJECTED
    valid, answered, pending = db.session.execute(
        select(
            func.count(case((~rejected, 1))),
            func.count(case((Question.status == QuestionStatus.ANSWERED, 1))),
            func.count(case((Question.status == QuestionStatus.PENDING, 1))),
        ).where(Question.session_id == session_id)
    ).one()
    peak = db.session.scalar(
        select(LiveSession.peak_online).where(LiveSession.id == session_id)) or 0
    data: dict[str, Any] = {"session_id": session_id, "online": online,
                            "peak_online": max(peak, online),
                            "participant_visits": visits, "questions": valid,
                            "answered": answered}
    if staff:
        data["pending"] = pending
        data["median_answer_seconds"] = median_answer_seconds(session_id)
    return data


def median_answer_seconds(session_id: int) -> float | None:
    """Median time from asking to the first answer, over the session's answered questions."""
    rows = db.session.execute(
        select(Question.created_at, Question.answered_at)
        .where(Question.session_id == session_id, Question.answered_at.is_not(None))
    ).all()
    waits = sorted((answered - asked).total_seconds() for asked, answered in rows
                   if answered is not None)
    if not waits:
        return None
    middle = len(waits) // 2
    return waits[middle] if len(waits) % 2 else (waits[middle - 1] + waits[middle]) / 2


# Throttled summaries ---------------------------------------------------------------------------

_lock = threading.Lock()
_dirty_counts: set[int] = set()
_dirty_votes: dict[int, set[int]] = {}


def mark_counts(session_id: int) -> None:
    """Note that a session's counters changed; they go out with the next summary."""
    with _lock:
        _dirty_counts.add(session_id)


def mark_vote(session_id: int, question_id: int) -> None:
    """Note that a question's votes changed; its count goes out with the next summary."""
    with _lock:
        _dirty_votes.setdefault(session_id, set()).add(question_id)
        _dirty_counts.add(session_id)


def flush_summaries() -> None:
    """Emit one counters summary per changed session and one votes summary per session."""
    with _lock:
        sessions = set(_dirty_counts)
        votes = {k: set(v) for k, v in _dirty_votes.items()}
        _dirty_counts.clear()
        _dirty_votes.clear()
    for session_id in sessions:
        socketio.emit("counts", counts(session_id), to=events.session_room(session_id),
                      namespace=events.PUBLIC_NS)
        socketio.emit("counts", counts(session_id, staff=True),
                      to=events.staff_all_room(session_id), namespace=events.STAFF_NS)
    for session_id, ids in votes.items():
        rows = db.session.execute(
            select(Question.id, Question.upvotes).where(and_(Question.id.in_(ids)))
        ).all()
        data = {"session_id": session_id, "upvotes": {str(i): n for i, n in rows}}
        socketio.emit("votes", data, to=events.session_room(session_id),
                      namespace=events.PUBLIC_NS)
        socketio.emit("votes", data, to=events.staff_all_room(session_id),
                      namespace=events.STAFF_NS)


_started: set[int] = set()


def start_summary_task(app: Flask) -> None:
    """Start this process's summary loop once (a background task of the async server)."""
    interval = app.config["SUMMARY_INTERVAL_S"]
    if interval <= 0 or id(app) in _started:
        return
    _started.add(id(app))

    def loop() -> None:
        while True:
            socketio.sleep(interval)
            with app.app_context():
                try:
                    flush_summaries()
                except Exception:  # keep the loop alive; the next round retries
                    app.logger.exception("summary flush failed")

    socketio.start_background_task(loop)
