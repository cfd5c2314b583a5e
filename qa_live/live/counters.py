"""The live counters of a session (docs/metrics.md): online, participant-visits, questions.

Citizens' pages, the console, the API and the transcript read these; the throttled summaries
that carry them to the pages are in summaries.py. The answer rate and the median time to answer
are computed as the statistics compute them (live.metrics, core.figures): the console, the
transcript and the statistics show the same figures for the same session.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app
from sqlalchemy import case, func, select

from qa_live.core.figures import Rate, answer_time_percentiles
from qa_live.extensions import db
from qa_live.live import metrics, realtime
from qa_live.live.models import Question, QuestionStatus, Visit
from qa_live.planning.models import LiveSession

#: What only staff see among the counters.
STAFF_ONLY = ("pending", "median_answer_seconds", "answer_rate")


def counts(session_id: int, staff: bool = False) -> dict[str, Any]:
    """The live counters: online now, participant-visits, valid questions, answered."""
    online, visits = db.session.execute(
        select(func.count(case((Visit.ended_at.is_(None), 1))), func.count(Visit.id))
        .where(Visit.session_id == session_id)
    ).one()
    valid, answered, pending = db.session.execute(
        select(
            func.count(case((metrics.is_valid(), 1))),
            func.count(case((metrics.is_answered(), 1))),
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
        data["median_answer_seconds"] = median_answer_seconds(session_id, answered)
        data["answer_rate"] = answer_rate(data).percent()
    return data


def answer_rate(data: dict[str, Any]) -> Rate:
    """答复率 of a session's counters: answered ÷ valid questions, printed by the one rule."""
    return Rate(data["answered"], data["questions"])


def median_answer_seconds(session_id: int, answered: int) -> float | None:
    """Median time from asking to the first answer, over the session's answered questions.

    Whole seconds, read off the same histogram as the statistics' (docs/metrics.md).
    """
    return answer_time_percentiles(metrics.wait_histogram(session_id), answered, (0.5,))[0.5]


def questions_received(session_ids: list[int]) -> dict[int, int]:
    """How many questions each session received, whatever their status (the office's plan)."""
    if not session_ids:
        return {}
    return dict(db.session.execute(
        select(Question.session_id, func.count(Question.id))
        .where(Question.session_id.in_(session_ids)).group_by(Question.session_id)).all())


def remember_counts(session_id: int, data: dict[str, Any]) -> None:
    """Keep the public counters just computed, for pages joining in the next moment."""
    realtime.of_app().recent_counts[session_id] = (time.monotonic(), data)


def recent_counts(session_id: int) -> dict[str, Any]:
    """The public counters, as computed at most SUMMARY_INTERVAL_S ago.

    What a joining page gets in its snapshot: a crowd joining at once costs one count per
    summary interval, not one per page; the next `counts` summary brings the page up to date
    (a join marks the counters changed).
    """
    kept = realtime.of_app().recent_counts.get(session_id)
    if kept is not None and time.monotonic() - kept[0] < current_app.config["SUMMARY_INTERVAL_S"]:
        return dict(kept[1])
    data = counts(session_id)
    remember_counts(session_id, data)
    return dict(data)
