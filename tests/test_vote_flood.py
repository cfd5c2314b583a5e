"""A vote flood's first votes are real writes: each must be small (issue 12, finding 4).

During the vote flood (100 sockets × 50 votes, 90 % refused) the refused repeats were already
answered from memory and by the transport; what still held up a well-behaved citizen's answer
by up to 1.8 s were the flood's first, accepted votes (500 in the first seconds), each loading
the question with its session through the ORM, a savepoint, an INSERT, an UPDATE and a refresh.
A vote is now three small statements on the session's connection, on both databases, with the
same refusals and exact counts.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from qa_live.auth import services as auth_services
from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import events, intake, votes_seen
from qa_live.live.models import Question, QuestionSource, QuestionStatus, Vote
from qa_live.live.validation import QuestionInput
from qa_live.planning import services as planning
from qa_live.planning.models import LiveSession, SessionState
from tests.conftest import PASSWORD


def _live_session(title: str = "稳外贸政策解读") -> LiveSession:
    """A live session through the planning services (works on either database)."""
    now = utcnow()
    department = planning.create_department(f"对外贸易处{uuid.uuid4().hex[:6]}")
    host = auth_services.create_user(f"host{uuid.uuid4().hex[:6]}", "主持人", PASSWORD,
                                     [Role.HOST], [])
    db.session.flush()
    start = now - timedelta(minutes=5)
    session = planning.create_session(planning.SessionDraft(
        title=title, description="", scheduled_start=start,
        scheduled_end=start + timedelta(hours=2), department_ids=[department.id],
        host_ids=[host.id], answerer_ids=[], precollect_opens_at=now - timedelta(days=7),
        precollect_closes_at=start), None)
    planning.change_state(session, SessionState.ANNOUNCED, now - timedelta(days=7))
    planning.change_state(session, SessionState.LIVE, start)
    db.session.commit()
    return session


def _question(session: LiveSession, text: str, published: bool = True) -> int:
    question, _created = intake.submit_question(
        session, f"visitor-{uuid.uuid4().hex[:12]}",
        QuestionInput(text=text, nickname="", phone=None, client_id=str(uuid.uuid4())),
        QuestionSource.LIVE)
    events.commit_and_send()
    if published:
        question.status = QuestionStatus.APPROVED
        question.published_at = utcnow()
        db.session.commit()
    return question.id


def _citizen(app, session: LiveSession, address: str = "198.51.100.7"):
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = address
    http.get(f"/s/{session.slug}")
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    joined = sock.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)
    assert joined["ok"], joined
    return sock


def _vote(sock, question_id: int) -> dict:
    return sock.emit("vote", {"question_id": question_id}, namespace="/qa", callback=True)


def _stored(question_id: int) -> tuple[int, int]:
    """(the question's upvotes, its vote rows) as stored."""
    db.session.rollback()
    upvotes = db.session.scalar(select(Question.upvotes).where(Question.id == question_id))
    rows = db.session.scalar(select(func.count()).select_from(Vote)
                             .where(Vote.question_id == question_id))
    return upvotes, rows


def test_a_first_vote_is_three_statements_and_counts_exactly_on_both_databases(any_db_app):
    session = _live_session()
    question_id = _question(session, "请问出口退税多久能到账？")
    first, second = _citizen(any_db_app, session), _citizen(any_db_app, session, "198.51.100.8")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        voted = _vote(first, question_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert voted == {"ok": True, "question_id": question_id, "upvotes": 1}
    # The question's and its session's state, the vote, the count: no ORM load of the question,
    # its session, answers or departments, no savepoint, no refresh.
    assert statements == ["SELECT", "INSERT", "UPDATE"]
    assert _vote(second, question_id) == {"ok": True, "question_id": question_id, "upvotes": 2}
    assert _stored(question_id) == (2, 2)


def test_a_repeat_this_process_never_saw_is_refused_by_the_database(any_db_app):
    """Another worker, or a restart: the memory of votes is empty, the unique key decides."""
    session = _live_session()
    question_id = _question(session, "请问跨境电商企业有哪些扶持政策？")
    sock = _citizen(any_db_app, session)
    assert _vote(sock, question_id)["ok"]
    any_db_app.extensions[votes_seen._EXT].clear()
    again = _vote(sock, question_id)
    assert again["ok"] is False and again["error"] == "already_voted", again
    assert _stored(question_id) == (1, 1)
    # The refusal is remembered: the next repeat asks nothing of the database.
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert _vote(sock, question_id)["error"] == "already_voted"
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert statements == []


@pytest.fixture
def world(app, make_session, make_department, make_user):
    trade = make_department("对外贸易处")
    host = make_user("host1", roles=[Role.HOST])
    session = make_session(state=SessionState.LIVE, departments=[trade], hosts=[host],
                           start=utcnow() - timedelta(minutes=5))
    other = make_session(title="优化营商环境", state=SessionState.LIVE, departments=[trade],
                         hosts=[host], start=utcnow() - timedelta(minutes=5))
    return session, other


def test_votes_are_refused_with_the_same_codes_as_before(app, world):
    session, other = world
    published = _question(session, "请问外贸企业融资有哪些新渠道？")
    pending = _question(session, "请问这个问题还在审核吗？", published=False)
    elsewhere = _question(other, "请问营商环境评价何时公布？")
    sock = _citizen(app, session)

    assert _vote(sock, 987654)["error"] == "not_found"
    refused = _vote(sock, elsewhere)
    assert (refused["ok"], refused["error"]) == (False, "not_found")
    assert _vote(sock, pending)["error"] == "not_found"
    assert _stored(pending) == (0, 0) and _stored(elsewhere) == (0, 0)
    app.config["VOTE_RATE_LIMIT"] = "1/minute"
    assert _vote(sock, published)["ok"]
    second = _question(session, "请问出口信保保费补贴怎么申请？")
    assert _vote(sock, second)["error"] == "too_fast"
    assert _stored(second) == (0, 0)
    app.config["VOTE_RATE_LIMIT"] = "1000/minute"

    planning.change_state(db.session.get(LiveSession, session.id), SessionState.ENDED, utcnow())
    db.session.commit()
    closed = _vote(sock, second)
    assert (closed["ok"], closed["error"]) == (False, "not_live")
    assert _stored(second) == (0, 0)


def test_the_api_vote_counts_and_refuses_the_same_way(app, world):
    session, _other = world
    question_id = _question(session, "请问展会补贴的申报截止时间？")
    http = app.test_client()
    http.get(f"/s/{session.slug}")
    url = f"/api/v1/sessions/{session.slug}/questions/{question_id}/vote"
    voted = http.post(url, headers={"Origin": "http://localhost"})
    assert voted.status_code == 200, voted.get_json()
    assert voted.get_json() == {"question_id": question_id, "upvotes": 1}
    again = http.post(url, headers={"Origin": "http://localhost"})
    assert again.get_json()["error"] == "already_voted"
    assert _stored(question_id) == (1, 1)
