"""What citizens see before a session: the year's list, a session page, asking in advance."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.models import Question, QuestionSource, QuestionStatus
from qa_live.planning.models import SessionState


def _ask(client, session, **fields):
    data = {"text": "小微外贸企业出口信用保险有补贴吗？", "client_id": str(uuid.uuid4())}
    data.update(fields)
    return client.post(f"/s/{session.slug}/ask", data=data)


def test_home_lists_live_upcoming_and_held_sessions(client, make_session):
    make_session(title="正在直播的专场", state=SessionState.LIVE,
                 start=utcnow() - timedelta(minutes=10))
    make_session(title="即将开始的专场", state=SessionState.ANNOUNCED)
    make_session(title="已经结束的专场", state=SessionState.ENDED,
                 start=utcnow() - timedelta(days=1))
    make_session(title="还在筹备的草稿", state=SessionState.DRAFT)
    page = client.get("/").get_data(as_text=True)
    for title in ("正在直播的专场", "即将开始的专场", "已经结束的专场"):
        assert title in page
    assert "还在筹备的草稿" not in page
    assert (page.index("正在直播的专场") < page.index("即将开始的专场")
            < page.index("已经结束的专场"))


def test_session_page_shows_theme_departments_guests_and_a_qr_code(client, make_session,
                                                                   make_department):
    dept = make_department("对外贸易处")
    session = make_session(title="稳外贸", state=SessionState.ANNOUNCED, departments=[dept],
                           guests=[("张三", "对外贸易处处长")])
    page = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "稳外贸" in page and "对外贸易处" in page and "张三" in page
    assert "<svg" in page and f"/s/{session.slug}" in page
    qr = client.get(f"/s/{session.slug}/qr.svg")
    assert qr.mimetype == "image/svg+xml" and qr.data.startswith(b"<svg")


def test_unknown_session_is_a_friendly_404(client):
    response = client.get("/s/no-such-session")
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True)
    assert client.get("/s/" + "x" * 300).status_code == 404


def test_citizen_asks_in_advance_and_follows_the_status_link(client, make_session):
    session = make_session(state=SessionState.ANNOUNCED)
    response = _ask(client, session, nickname="老王", phone="138 1234 5678")
    assert response.status_code == 302
    question = db.session.scalar(select(Question))
    assert question.source == QuestionSource.ADVANCE
    assert question.status == QuestionStatus.PENDING
    assert question.phone == "13812345678"
    status_page = client.get(response.headers["Location"])
    body = status_page.get_data(as_text=True)
    assert "小微外贸企业出口信用保险有补贴吗" in body
    assert "138****5678" in body and "13812345678" not in body
    assert status_page.headers["Cache-Control"] == "private, no-store"
    # The same visitor sees it under "my questions" on the session page.
    assert question.access_token in client.get(f"/s/{session.slug}").get_data(as_text=True)


def test_a_resent_form_does_not_store_the_question_twice(client, make_session):
    session = make_session(state=SessionState.ANNOUNCED)
    client_id = str(uuid.uuid4())
    first = _ask(client, session, client_id=client_id)
    second = _ask(client, session, client_id=client_id)
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count(Question.id))) == 1


def test_bad_questions_are_explained_and_what_was_typed_is_kept(client, make_session):
    session = make_session(state=SessionState.ANNOUNCED)
    short = _ask(client, session, text="太短", nickname="小李")
    assert short.status_code == 400
    body = short.get_data(as_text=True)
    assert "太短" in body and 'value="小李"' in body and 'class="error"' in body
    long = _ask(client, session, text="问" * 501)
    assert long.status_code == 400
    bad_phone = _ask(client, session, phone="12345")
    assert bad_phone.status_code == 400
    assert "12345" in bad_phone.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Question.id))) == 0


def test_a_closed_collection_window_stores_nothing(client, make_session):
    session = make_session(state=SessionState.ANNOUNCED, precollect=False)
    page = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert 'name="text"' not in page
    response = _ask(client, session)
    assert response.status_code == 409
    assert db.session.scalar(select(func.count(Question.id))) == 0


def test_questions_in_advance_cannot_be_sent_to_a_draft_or_cancelled_session(client,
                                                                             make_session):
    draft = make_session()
    assert _ask(client, draft).status_code == 404
    cancelled = make_session(state=SessionState.CANCELLED)
    assert _ask(client, cancelled).status_code == 409
    assert db.session.scalar(select(func.count(Question.id))) == 0


def test_another_visitor_cannot_take_over_a_question_id(app, make_session):
    session = make_session(state=SessionState.ANNOUNCED)
    client_id = str(uuid.uuid4())
    _ask(app.test_client(), session, client_id=client_id)
    other = _ask(app.test_client(), session, client_id=client_id)
    assert other.status_code == 409
    assert db.session.scalar(select(func.count(Question.id))) == 1


def test_status_link_with_a_wrong_token_is_404(client):
    assert client.get("/q/not-a-real-token").status_code == 404


def test_language_switch_is_remembered(client):
    assert 'lang="zh-CN"' in client.get("/").get_data(as_text=True)
    response = client.get("/lang/en?next=/s/x")
    assert response.headers["Location"] == "/s/x"
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    # An outside address is never followed.
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"
    assert client.get("/lang/en?next=//evil.example/").headers["Location"] == "/"
