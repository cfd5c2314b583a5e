"""The staff API's answer call: what it reads before publishing, and every refusal it keeps.

The call loads the token's user once, the session without its collections and the question
without a second copy of the session (publish17c, docs/performance.md): the checks that read
a collection still load it, so the refusals below are those of before.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from qa_live.auth.models import Role
from qa_live.auth.services import find_user_by_login
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.models import Question, QuestionStatus
from qa_live.planning.models import SessionState
from tests.test_api import bearer


@pytest.fixture
def answering(make_session, make_department, make_user, make_question):
    trade = make_department("消费促进处")
    other = make_department("外贸处")
    make_user("host1", roles=[Role.HOST])
    make_user("ans1", roles=[Role.ANSWERER], departments=[trade])
    make_user("ans2", roles=[Role.ANSWERER], departments=[other])
    session = make_session(title="扩大消费", state=SessionState.LIVE, departments=[trade],
                           start=utcnow() - timedelta(minutes=5))
    return session, [make_question(session, visitor=f"visitor-{i:04d}-abcdefgh")
                     for i in range(3)]


def _statements(app):
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    return seen, lambda: event.remove(db.engine, "before_cursor_execute", note)


def test_an_answer_reads_the_user_and_the_session_once(app, client, answering):
    session, questions = answering
    host = bearer(find_user_by_login("host1"))
    url = f"/api/v1/staff/sessions/{session.id}/actions/answer"
    # The first call notes the token's use (one write a minute); the next ones write nothing.
    assert client.post(url, headers=host, json={"question_id": questions[0].id,
                                                "body": "本月底发放。"}).status_code == 200
    second = {"question_id": questions[1].id, "body": "下月初发放。"}
    db.session.expire_all()  # the request loads what it reads, as in a server
    seen, stop = _statements(app)
    try:
        reply = client.post(url, headers=host, json=second)
    finally:
        stop()
    assert reply.status_code == 200
    reads = [s.split()[1:3] for s in seen if s.lstrip().upper().startswith("SELECT")]
    users = [s for s in seen if s.lstrip().startswith("SELECT users.")]
    sessions = [s for s in seen if s.lstrip().startswith("SELECT live_sessions.id, live_"
                                                          "sessions.slug")]
    staff = [s for s in seen if "FROM session_staff" in s]
    assert not users, "the token's user was loaded again after the token check"
    assert len(sessions) == 1 and len(staff) <= 1, reads
    db.session.expire_all()
    assert db.session.get(Question, second["question_id"]).status == QuestionStatus.ANSWERED


def test_answer_refusals_are_those_of_before(client, answering, make_session):
    session, questions = answering
    url = f"/api/v1/staff/sessions/{session.id}/actions/answer"
    host = bearer(find_user_by_login("host1"))
    mine = bearer(find_user_by_login("ans1"))
    theirs = bearer(find_user_by_login("ans2"))
    body = {"question_id": questions[0].id, "body": "本月底发放。"}
    # Another department's answerer may not answer (nor even open this session's console).
    assert client.post(url, headers=theirs, json=body).status_code == 403
    # An answerer may not publish a pending question by answering it: a host reviews it first.
    refused = client.post(url, headers=mine, json=body)
    assert refused.status_code in (403, 409) and refused.get_json()["error"]
    # A question of another session is not found through this one.
    elsewhere = make_session(title="外贸", state=SessionState.LIVE,
                             start=utcnow() - timedelta(minutes=5))
    assert client.post(f"/api/v1/staff/sessions/{elsewhere.id}/actions/answer", headers=host,
                       json=body).status_code in (403, 404)
    assert client.post(url, headers=host, json={"question_id": 999999,
                                                "body": "x"}).status_code == 404
    assert client.post(url, headers={"Authorization": "Bearer qal_nope"},
                       json=body).status_code == 401
    assert client.post(url, headers=host, json={"question_id": questions[0].id,
                                                "body": ""}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Question, questions[0].id).status == QuestionStatus.PENDING
    # The department's answerer answers it once a host has published it.
    assert client.post(f"/api/v1/staff/sessions/{session.id}/actions/approve", headers=host,
                       json={"question_id": questions[0].id}).status_code == 200
    assert client.post(url, headers=mine, json=body).status_code == 200
    # After the end, a live answer is refused: the session is over (follow-up replies).
    assert client.post(f"/api/v1/staff/sessions/{session.id}/actions/end", headers=host,
                       json={}).status_code == 200
    late = client.post(url, headers=host, json={"question_id": questions[2].id,
                                                 "body": "已经结束。"})
    assert late.status_code == 409 and late.get_json()["error"] == "not_live"
    db.session.expire_all()
    assert db.session.get(Question, questions[2].id).answers == []
