"""One implementation per figure: the console, the transcript and the statistics agree.

The console's counters, the public transcript and the office's statistics read the same
functions (qa_live/live/metrics.py, qa_live/core/figures.py): the same answer rate, printed by
the same rule (one decimal, rounded down: 1,999 of 2,000 is 99.9%, never 100%), and the same
median time to the first answer (whole seconds, docs/metrics.md).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlalchemy import insert

from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live.models import Question, QuestionSource, QuestionStatus
from qa_live.planning.models import SessionState
from qa_live.stats import queries
from qa_live.stats.views import duration
from tests.conftest import PASSWORD

QUESTIONS = 2000


def _console(app, login: str, session_id: int) -> dict:
    http = app.test_client()
    assert http.post("/login", data={"login": login, "password": PASSWORD}).status_code == 302
    sock = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    ack = sock.emit("join", {"session_id": session_id}, namespace="/moderation", callback=True)
    assert ack["ok"], ack
    return ack["snapshot"]["counts"]


def test_console_transcript_and_statistics_show_the_same_rate_and_median(
        app, client, make_session, make_department, make_user):
    trade = make_department("对外贸易处")
    make_user("office1", roles=[Role.OFFICE])
    session = make_session(title="一千九百九十九问", state=SessionState.ENDED, departments=[trade],
                           start=utcnow() - timedelta(days=1))
    # 2,000 valid questions, all but the last answered. Each is asked at .9 of a second and
    # answered k + 0.2 seconds later: k + 1 whole seconds by the rule (each timestamp truncated
    # to the second), k + 0.2 seconds by a stopwatch.
    base = session.started_at.replace(microsecond=0)
    rows, whole = [], []
    for n in range(QUESTIONS):
        asked = base + timedelta(seconds=n, microseconds=900_000)
        k = 5 + n % 97
        answered = n < QUESTIONS - 1
        if answered:
            whole.append(k + 1)
        rows.append({
            "session_id": session.id, "client_id": str(uuid.uuid4()), "visitor_id": f"v{n}",
            "access_token": secrets.token_urlsafe(24), "nickname": "", "phone": None,
            "source": QuestionSource.LIVE, "original_text": f"第{n}个问题是什么？",
            "text": f"第{n}个问题是什么？",
            "status": QuestionStatus.ANSWERED if answered else QuestionStatus.APPROVED,
            "created_at": asked, "published_at": asked,
            "answered_at": asked + timedelta(seconds=k, microseconds=200_000) if answered
            else None,
            "department_id": trade.id, "sensitive_hits": "", "upvotes": 0, "pinned": False,
            "needs_follow_up": False})
    db.session.execute(insert(Question), rows)
    db.session.commit()
    median = float(sorted(whole)[len(whole) // 2])  # 1,999 answered: the 1,000th wait

    console = _console(app, "office1", session.id)
    report = queries.session_report(session)
    assert (console["questions"], console["answered"]) == (QUESTIONS, QUESTIONS - 1)
    assert console["answer_rate"] == report.session.counts.answer_rate.percent() == "99.9%"
    assert console["median_answer_seconds"] == report.median_answer_seconds == median

    transcript = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "99.9%" in transcript and "100.0%" not in transcript

    office = app.test_client()
    office.post("/login", data={"login": "office1", "password": PASSWORD})
    page = office.get(f"/office/stats/sessions/{session.id}").get_data(as_text=True)
    assert "99.9%" in page
    with app.test_request_context():
        assert duration(median) in page
