"""After the session: the transcript, its print view, corrections, the archive and its search,
and citizens' satisfaction ratings."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from qa_live import create_app
from qa_live.auth import services as auth_services
from qa_live.auth.models import Role, User
from qa_live.core.visitor import COOKIE, read_visitor_id
from qa_live.extensions import db
from qa_live.live import commands, events, intake, moderation
from qa_live.live.models import (
    Answer,
    AnswerKind,
    AnswerRevision,
    HostPost,
    PostKind,
    PostRevision,
    Question,
    QuestionRevision,
    QuestionSource,
    Rating,
    RatingValue,
    RejectReason,
    SessionEvent,
)
from qa_live.live.validation import QuestionInput
from qa_live.planning import services as planning
from qa_live.planning.models import Department, LiveSession, SessionState
from qa_live.stats import queries
from qa_live.stats.figures import Counts
from qa_live.transcript.services import like_pattern, make_snippet
from tests.conftest import config_for

MARCH_2026 = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai
JUNE_2025 = datetime(2025, 6, 12, 1, 30, tzinfo=UTC)


# Building held sessions (plain services, so the same code runs on SQLite and PostgreSQL) -----


def staff(login: str, role: Role = Role.HOST, name: str | None = None,
          departments: tuple[Department, ...] = ()) -> User:
    user = auth_services.create_user(login, name or login, "correct-horse-42", [role],
                                     [d.id for d in departments])
    db.session.commit()
    return user


def department(name: str) -> Department:
    dept = planning.create_department(name, "")
    db.session.commit()
    return dept


def hold_session(title: str, start: datetime, departments: list[Department], host: User,
                 items: list[dict], end: bool = True, guests=()) -> LiveSession:
    """A session that went live at `start`, with questions as `items` describe, then ended.

    Each item: {"text", "status": answered|approved|rejected|pending, "answer"?, "nickname"?,
    "visitor"?, "follow_up": bool?}; questions are asked a few minutes apart.
    """
    session = planning.create_session(planning.SessionDraft(
        title=title, description="", scheduled_start=start,
        scheduled_end=start + timedelta(hours=2), department_ids=[d.id for d in departments],
        host_ids=[host.id], guests=list(guests)), None)
    planning.change_state(session, SessionState.ANNOUNCED, start - timedelta(days=7))
    planning.change_state(session, SessionState.LIVE, start)
    for n, item in enumerate(items):
        asked = start + timedelta(minutes=5 + 10 * n)
        question, _new = intake.submit_question(
            session, item.get("visitor", f"visitor-{session.id}-{n:04d}"),
            QuestionInput(text=item["text"], nickname=item.get("nickname", ""), phone=None,
                          client_id=str(uuid.uuid4())),
            QuestionSource.LIVE, asked)
        status = item.get("status", "answered")
        if status == "rejected":
            moderation.reject(question, host, RejectReason.OFF_TOPIC, asked + timedelta(minutes=1))
        elif status in ("approved", "answered"):
            moderation.approve(question, host, now=asked + timedelta(minutes=1))
            if status == "answered":
                moderation.answer(question, host, item["answer"], asked + timedelta(minutes=3))
            if item.get("follow_up"):
                moderation.flag_follow_up(question, host, True)
    if end:
        moderation.end_session(session, host, start + timedelta(hours=2))
    events.commit_and_send()
    return session


def question_with(text: str) -> Question:
    found = db.session.scalar(select(Question).where(Question.text == text))
    assert found is not None
    return found


def second_reply(question: Question, body: str, when: datetime) -> Answer:
    """A second reply (二次答复) published after offline work."""
    reply = Answer(question_id=question.id, author_id=None, department_id=question.department_id,
                   kind=AnswerKind.FOLLOW_UP, body=body, created_at=when)
    db.session.add(reply)
    db.session.commit()
    return reply


def english(app: Flask):
    browser = app.test_client()
    browser.get("/lang/en")
    return browser


def visitor_of(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    visitor = read_visitor_id(cookie.value)
    assert visitor
    return visitor


@pytest.fixture
def client(app):
    return english(app)


@pytest.fixture
def host(app):
    return staff("host1", Role.HOST, "主持人 李明")


@pytest.fixture
def trade(app):
    return department("对外贸易处")


@pytest.fixture
def held(app, host, trade):
    """An ended session: answered, unanswered (followed up), rejected and pending questions."""
    session = hold_session("稳外贸政策解读", MARCH_2026, [trade], host, [
        {"text": "小微外贸企业申请出口信用保险有没有保费补贴？", "nickname": "外贸小王",
         "answer": "有补贴，请向商务局申请。"},
        {"text": "境外展会补贴的申报通知什么时候发布？", "status": "approved", "follow_up": True},
        {"text": "这是一个跑题被拒绝的问题内容", "status": "rejected"},
        {"text": "这是一个仍在等待审核的问题内容", "status": "pending"},
    ], guests=[("张处长", "对外贸易处处长")])
    post = HostPost(session_id=session.id, author_id=host.id, kind=PostKind.POLICY,
                    body="政策解读：稳外贸十条措施。", created_at=MARCH_2026 + timedelta(minutes=2))
    db.session.add(post)
    db.session.commit()
    return session


# The transcript ------------------------------------------------------------------------------


def test_transcript_shows_published_questions_with_answers_and_second_replies_in_order(
        client, held):
    first = question_with("小微外贸企业申请出口信用保险有没有保费补贴？")
    second_reply(first, "经核实，保费补贴已于4月拨付到位。", MARCH_2026 + timedelta(days=20))
    response = client.get(f"/s/{held.slug}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The session's data, its guests and the host's post.
    assert "稳外贸政策解读" in html and "对外贸易处" in html and "张处长" in html
    assert "主持人 李明" in html and "政策解读：稳外贸十条措施。" in html
    assert "This session has ended" in html and "Transcript" in html
    # Published questions in the order they were published; answers then the second reply.
    a = html.index("小微外贸企业申请出口信用保险")
    b = html.index("有补贴，请向商务局申请。")
    c = html.index("Second reply")
    d = html.index("经核实，保费补贴已于4月拨付到位。")
    assert a < b < c < d
    stream = html[html.index('id="question-list"'):]
    assert stream.index("小微外贸企业") < stream.index("境外展会补贴的申报通知")
    assert f'id="q-{first.id}"' in html and "外贸小王" in html
    # Times in Asia/Shanghai: answered at 01:38 UTC, shown as 9:38.
    assert "9:38" in html
    # Rejected and pending questions never appear.
    assert "跑题被拒绝" not in html and "仍在等待审核" not in html
    # What remained unanswered is listed, marked as being followed up; no voting, no asking.
    unanswered = re.search(r'id="unanswered-list">(.*?)</ol>', html, re.S).group(1)
    assert "境外展会补贴的申报通知" in unanswered and "Being followed up" in unanswered
    assert "小微外贸企业" not in unanswered
    assert 'class="vote"' not in html and "live-ask" not in html
    # A static page: no realtime script.
    assert "live.js" not in html and "socket.io" not in html


def test_a_second_reply_published_later_shows_on_reload(client, held):
    waiting = question_with("境外展会补贴的申报通知什么时候发布？")
    before = client.get(f"/s/{held.slug}").get_data(as_text=True)
    assert "申报通知已于5月8日在局门户网站发布。" not in before
    second_reply(waiting, "申报通知已于5月8日在局门户网站发布。", MARCH_2026 + timedelta(days=30))
    after = client.get(f"/s/{held.slug}").get_data(as_text=True)
    entry = re.search(rf'id="q-{waiting.id}"(.*?)</li>\s*</ol>', after, re.S).group(1)
    assert "Second reply" in entry and "申报通知已于5月8日在局门户网站发布。" in entry


def test_an_archived_session_is_a_transcript_too(client, held):
    planning.change_state(held, SessionState.ARCHIVED)
    db.session.commit()
    html = client.get(f"/s/{held.slug}").get_data(as_text=True)
    assert "有补贴，请向商务局申请。" in html and 'id="unanswered-list"' in html


def test_the_askers_own_questions_link_to_their_private_page(client, app, host, trade):
    client.get("/api/v1/visitor")  # gives this browser its visitor cookie
    me = visitor_of(client)
    session = hold_session("扩大消费", MARCH_2026, [trade], host, [
        {"text": "消费券怎么领取？有没有时间限制？", "answer": "在官方平台领取。", "visitor": me}])
    mine = question_with("消费券怎么领取？有没有时间限制？")
    html = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert f"/q/{mine.access_token}" in html
    other = english(app).get(f"/s/{session.slug}").get_data(as_text=True)
    assert mine.access_token not in other


def test_print_view_is_clean_and_shows_the_session_address(client, app, held):
    response = client.get(f"/s/{held.slug}/print")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r"css/print\.[0-9a-f]{12}\.css", html)
    assert "site-nav" not in html and "<form" not in html
    assert f"http://localhost/s/{held.slug}" in html
    assert "有补贴，请向商务局申请。" in html and "跑题被拒绝" not in html
    assert "<script>" not in html  # the Print button is wired by static/js/print.js
    # The transcript page prints cleanly too.
    assert re.search(r"css/print\.[0-9a-f]{12}\.css",
                     client.get(f"/s/{held.slug}").get_data(as_text=True))


def test_print_view_before_the_end_goes_back_to_the_live_page(client, host, trade):
    live = hold_session("口岸通关", MARCH_2026, [trade], host, [], end=False)
    response = client.get(f"/s/{live.slug}/print")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/s/{live.slug}")
    assert client.get("/s/no-such-thing/print").status_code == 404


# Corrections ---------------------------------------------------------------------------------


def test_corrections_page_needs_the_office_or_a_host(client, auth, held, trade):
    assert client.get(f"/s/{held.slug}/corrections").status_code == 302  # to the login
    staff("ans1", Role.ANSWERER, departments=(trade,))
    auth.login("ans1")
    assert client.get(f"/s/{held.slug}/corrections").status_code == 403
    first = question_with("小微外贸企业申请出口信用保险有没有保费补贴？")
    refused = client.post(f"/s/{held.slug}/corrections/question/{first.id}",
                          data={"text": "答复人员不能改的问题文字"})
    assert refused.status_code == 403
    assert db.session.scalar(select(func.count(QuestionRevision.id))) == 0
    auth.logout()
    staff("office1", Role.OFFICE)
    auth.login("office1")
    assert client.get(f"/s/{held.slug}/corrections").status_code == 200
    assert client.get("/s/no-such-thing/corrections").status_code == 404


def test_correcting_an_ended_session_keeps_every_revision_and_updates_open_pages(
        client, auth, held, host):
    auth.login("host1")
    first = question_with("小微外贸企业申请出口信用保险有没有保费补贴？")
    reply = first.answers[0]
    post = db.session.scalar(select(HostPost).where(HostPost.session_id == held.id))
    seq = held.last_seq

    done = client.post(f"/s/{held.slug}/corrections/question/{first.id}",
                       data={"text": "小微外贸企业申请出口信用保险，有没有保费补贴？"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"#question-{first.id}")
    client.post(f"/s/{held.slug}/corrections/answer/{reply.id}",
                data={"text": "有补贴，请向市商务局申请。"})
    client.post(f"/s/{held.slug}/corrections/post/{post.id}",
                data={"text": "政策解读：稳外贸十项措施。"})
    # The same wording again changes nothing and keeps no revision.
    client.post(f"/s/{held.slug}/corrections/post/{post.id}",
                data={"text": "政策解读：稳外贸十项措施。"})

    db.session.expire_all()
    first = db.session.get(Question, first.id)
    assert first.text == "小微外贸企业申请出口信用保险，有没有保费补贴？"
    assert first.original_text == "小微外贸企业申请出口信用保险有没有保费补贴？"
    [q_rev] = db.session.scalars(select(QuestionRevision)).all()
    assert q_rev.text == "小微外贸企业申请出口信用保险有没有保费补贴？"
    assert q_rev.edited_by_id == host.id
    [a_rev] = db.session.scalars(select(AnswerRevision)).all()
    assert a_rev.body == "有补贴，请向商务局申请。" and a_rev.edited_by_id == host.id
    [p_rev] = db.session.scalars(select(PostRevision)).all()
    assert p_rev.body == "政策解读：稳外贸十条措施。"
    # Each published correction went through the event log as an upsert.
    logged = db.session.scalars(select(SessionEvent).where(
        SessionEvent.session_id == held.id, SessionEvent.seq > seq)
        .order_by(SessionEvent.seq)).all()
    assert [e.type for e in logged] == ["question", "question", "post"]
    assert "有补贴，请向市商务局申请。" in logged[1].payload
    # The transcript shows the corrected wording; the staff page shows who changed what.
    page = client.get(f"/s/{held.slug}").get_data(as_text=True)
    assert "有补贴，请向市商务局申请。" in page and "政策解读：稳外贸十项措施。" in page
    staff_page = client.get(f"/s/{held.slug}/corrections").get_data(as_text=True)
    assert "有补贴，请向商务局申请。" in staff_page and "主持人 李明" in staff_page
    assert "政策解读：稳外贸十条措施。" in staff_page


def test_a_pending_question_can_be_corrected_before_publishing_without_an_event(
        client, auth, held):
    auth.login("host1")
    pending = question_with("这是一个仍在等待审核的问题内容")
    seq = held.last_seq
    response = client.post(f"/s/{held.slug}/corrections/question/{pending.id}",
                           data={"text": "这是一个仍在等待审核的问题"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(LiveSession, held.id).last_seq == seq  # not public: no public event
    assert db.session.scalar(select(func.count(QuestionRevision.id))) == 1


def test_bad_corrections_are_refused_clearly(client, auth, held, make_session):
    auth.login("host1")
    first = question_with("小微外贸企业申请出口信用保险有没有保费补贴？")
    empty = client.post(f"/s/{held.slug}/corrections/question/{first.id}", data={"text": "  "})
    assert empty.status_code == 400 and "has-error" in empty.get_data(as_text=True)
    short = client.post(f"/s/{held.slug}/corrections/question/{first.id}", data={"text": "补贴"})
    assert short.status_code == 400
    assert "at least" in short.get_data(as_text=True)
    # One character over an answer's 5,000 (45 KB as a form: under the 64 KiB body limit, past
    # which the edge answers 413 before any form is read: tests/test_edge_http.py).
    long = client.post(f"/s/{held.slug}/corrections/answer/{first.answers[0].id}",
                       data={"text": "长" * 5001})
    assert long.status_code == 400 and "at most" in long.get_data(as_text=True)
    assert client.post(f"/s/{held.slug}/corrections/question/999999",
                       data={"text": "不存在的问题"}).status_code == 404
    assert client.post(f"/s/{held.slug}/corrections/bogus/{first.id}",
                       data={"text": "未知类型的更正"}).status_code == 404
    other = make_session(title="另一场", state=SessionState.ENDED)
    assert client.post(f"/s/{other.slug}/corrections/question/{first.id}",
                       data={"text": "别的专场的问题"}).status_code == 404
    assert db.session.scalar(select(func.count(QuestionRevision.id))) == 0
    assert db.session.scalar(select(func.count(AnswerRevision.id))) == 0


def test_live_edits_in_the_console_keep_revisions_too(app, host, trade):
    session = hold_session("家政服务", MARCH_2026, [trade], host, [
        {"text": "家政服务员培训有补贴吗？在哪里报名？", "status": "approved"}], end=False)
    question = question_with("家政服务员培训有补贴吗？在哪里报名？")
    commands.run("edit", host, session, {"question_id": question.id,
                                         "text": "家政服务员培训有没有补贴？在哪里报名？"})
    result = commands.run("post", host, session, {"kind": "notice", "body": "请文明发言"})
    commands.run("update_post", host, session, {"post_id": result["post_id"],
                                                "body": "请文明发言，围绕主题提问。"})
    events.commit_and_send()
    assert [r.text for r in db.session.scalars(select(QuestionRevision))] == [
        "家政服务员培训有补贴吗？在哪里报名？"]
    assert [r.body for r in db.session.scalars(select(PostRevision))] == ["请文明发言"]


# The archive and its search ------------------------------------------------------------------


def test_archive_lists_held_sessions_by_year_and_department(client, host, trade, make_session):
    consumption = department("消费促进处")
    old = hold_session("稳外贸二〇二五", JUNE_2025, [trade], host, [
        {"text": "去年的外贸问题内容是什么？", "answer": "去年的答复。"}])
    new = hold_session("扩大消费二〇二六", MARCH_2026, [consumption], host, [])
    make_session(title="正在直播的专场", state=SessionState.LIVE)
    make_session(title="即将开始的专场", state=SessionState.ANNOUNCED)

    page = client.get("/archive")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "稳外贸二〇二五" in html and "扩大消费二〇二六" in html
    assert "正在直播的专场" not in html and "即将开始的专场" not in html
    assert html.index("扩大消费二〇二六") < html.index("稳外贸二〇二五")  # newest first
    assert "1 questions published, 1 answered" in html
    by_year = client.get("/archive?year=2025").get_data(as_text=True)
    assert "稳外贸二〇二五" in by_year and "扩大消费二〇二六" not in by_year
    by_dept = client.get(f"/archive?department={consumption.id}").get_data(as_text=True)
    assert "扩大消费二〇二六" in by_dept and "稳外贸二〇二五" not in by_dept
    assert old.slug in html and new.slug in html


def test_archive_refuses_bad_filters_clearly(client, held):
    for query in ("year=abc", "year=1999", "department=x", "department=99999", "page=abc",
                  "page=0", "q=" + "外" * 51):
        response = client.get(f"/archive?{query}")
        assert response.status_code == 400, query
        assert "Please correct the search above." in response.get_data(as_text=True)
    assert client.get("/archive?q=%E5%A4%96%E8%B4%B8&page=99").status_code == 200  # last page


def test_home_page_and_nav_link_the_archive(client):
    html = client.get("/").get_data(as_text=True)
    assert html.count('href="/archive"') >= 2


def test_snippets_and_like_patterns():
    assert like_pattern("100%_a/b") == "%100/%/_a//b%"
    snip = make_snippet("小微外贸企业申请出口信用保险", "外贸", context=2)
    assert (snip.before, snip.hit, snip.after) == ("小微", "外贸", "企业…")
    assert make_snippet("没有这个词", "外贸") is None
    assert make_snippet("Export ETC rules", "etc").hit == "ETC"


@pytest.fixture
def search_data(any_db_app):
    """Held sessions in two years on whichever database, with words to find."""
    host = staff("host-search", Role.HOST)
    trade, market = department("对外贸易处"), department("市场秩序处")
    now_session = hold_session("稳外贸政策解读", MARCH_2026, [trade], host, [
        {"text": "小微外贸企业申请出口信用保险有没有保费补贴？",
         "answer": "有补贴，请向商务局申请。"},
        {"text": "预付卡商家跑路了，余额怎么追回？",
         "answer": "可以申请退款，并向市场秩序处投诉。"},
        {"text": "补贴比例是100%吗？还是按比例？", "answer": "按比例补助。"},
        {"text": "备案编号格式是A_B吗？", "answer": "以系统显示为准。"},
        {"text": "ETC rules for export declarations?", "answer": "See the notice."},
        {"text": "外贸问题但被拒绝了，不应被找到", "status": "rejected"},
        {"text": "外贸问题还在等待审核，不应被找到", "status": "pending"},
    ])
    older = hold_session("市场秩序", JUNE_2025, [market], host, [
        {"text": "去年也有外贸企业的问题吗？", "status": "approved"}])
    hold_session("正在进行的外贸专场", MARCH_2026 + timedelta(days=30), [trade], host, [
        {"text": "直播中的外贸问题不在档案里", "status": "approved"}], end=False)
    return {"app": any_db_app, "now": now_session, "older": older, "trade": trade,
            "market": market}


def _hits(client, **params) -> list[str]:
    response = client.get("/archive", query_string=params)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return re.findall(r'<p class="hit-question"><a href="[^"]*#q-(\d+)">', html)


def test_search_finds_two_character_chinese_words_on_every_database(search_data):
    client = english(search_data["app"])
    trade_q = question_with("小微外贸企业申请出口信用保险有没有保费补贴？")
    older_q = question_with("去年也有外贸企业的问题吗？")
    # 外贸 inside sentences, in two years; rejected, pending and live ones are never found.
    found = _hits(client, q="外贸")
    assert sorted(found) == sorted([str(trade_q.id), str(older_q.id)])
    html = client.get("/archive", query_string={"q": "外贸"}).get_data(as_text=True)
    assert "<mark>外贸</mark>" in html
    assert f'href="/s/{search_data["now"].slug}#q-{trade_q.id}"' in html
    assert "不应被找到" not in html and "直播中的外贸问题" not in html
    # Other two-character words, in questions and only in answers.
    assert _hits(client, q="保费") == [str(trade_q.id)]
    refund = question_with("预付卡商家跑路了，余额怎么追回？")
    assert _hits(client, q="退款") == [str(refund.id)]
    assert "申请<mark>退款</mark>" in client.get(
        "/archive", query_string={"q": "退款"}).get_data(as_text=True)
    assert len(_hits(client, q="补贴")) == 2
    # Filters by year and department.
    assert _hits(client, q="外贸", year="2025") == [str(older_q.id)]
    assert _hits(client, q="外贸", department=str(search_data["trade"].id)) == [str(trade_q.id)]
    # ASCII matches regardless of case.
    assert len(_hits(client, q="etc")) == 1


def test_search_takes_percent_and_underscore_literally(search_data):
    client = english(search_data["app"])
    percent = question_with("补贴比例是100%吗？还是按比例？")
    underscore = question_with("备案编号格式是A_B吗？")
    assert _hits(client, q="%") == [str(percent.id)]
    assert _hits(client, q="100%") == [str(percent.id)]
    assert _hits(client, q="_") == [str(underscore.id)]
    assert _hits(client, q="A_B") == [str(underscore.id)]
    assert _hits(client, q="A%B") == []
    assert _hits(client, q="/") == []


# Satisfaction ratings ------------------------------------------------------------------------


@pytest.fixture
def asked(client, host, trade):
    """An ended session where this client's visitor asked a question with two answers."""
    client.get("/api/v1/visitor")  # gives this browser its visitor cookie
    me = visitor_of(client)
    session = hold_session("扩大消费", MARCH_2026, [trade], host, [
        {"text": "消费券怎么领取？有没有时间限制？", "answer": "在官方平台领取。", "visitor": me},
        {"text": "别人的问题：以旧换新补贴何时到账？", "answer": "本月到账。"}])
    mine = question_with("消费券怎么领取？有没有时间限制？")
    later = second_reply(mine, "补充答复：领取后七日内有效。", MARCH_2026 + timedelta(days=9))
    return {"session": session, "question": mine, "live": mine.answers[0], "second": later,
            "other": question_with("别人的问题：以旧换新补贴何时到账？")}


def test_the_asker_rates_each_answer_on_the_private_page_and_may_change_it(client, asked):
    question, live, second = asked["question"], asked["live"], asked["second"]
    page = client.get(f"/q/{question.access_token}").get_data(as_text=True)
    assert "在官方平台领取。" in page and "补充答复：领取后七日内有效。" in page
    assert page.index("在官方平台领取。") < page.index("Second reply")
    assert "Satisfied" in page and "Basically satisfied" in page and "Not satisfied" in page

    url = f"/q/{question.access_token}/answers/{live.id}/rating"
    first = client.post(url, data={f"a{live.id}-value": "satisfied"})
    assert first.status_code == 302 and first.headers["Location"].endswith(f"#a-{live.id}")
    changed = client.post(url, data={f"a{live.id}-value": "unsatisfied"})
    assert changed.status_code == 302
    client.post(f"/q/{question.access_token}/answers/{second.id}/rating",
                data={f"a{second.id}-value": "basic"})
    stored = {r.answer_id: r.value for r in db.session.scalars(select(Rating))}
    assert stored == {live.id: RatingValue.UNSATISFIED, second.id: RatingValue.BASIC}
    page = client.get(f"/q/{question.access_token}").get_data(as_text=True)
    assert "Your rating: Not satisfied" in page and "Change my rating" in page


def test_bad_ratings_on_the_private_page_are_refused(client, asked):
    question, live = asked["question"], asked["live"]
    url = f"/q/{question.access_token}/answers/{live.id}/rating"
    assert client.post(url, data={f"a{live.id}-value": "great"}).status_code == 400
    missing = client.post(url, data={})
    assert missing.status_code == 400 and "Choose a rating." in missing.get_data(as_text=True)
    other_answer = asked["other"].answers[0]
    assert client.post(f"/q/{question.access_token}/answers/{other_answer.id}/rating",
                       data={f"a{other_answer.id}-value": "satisfied"}).status_code == 404
    assert client.post(f"/q/not-a-token/answers/{live.id}/rating",
                       data={f"a{live.id}-value": "satisfied"}).status_code == 404
    assert db.session.scalar(select(func.count(Rating.id))) == 0


def test_the_rating_form_needs_its_csrf_token(db_url, asked):
    app = create_app(config_for(db_url, WTF_CSRF_ENABLED=True))
    browser = app.test_client()
    question, live = asked["question"], asked["live"]
    response = browser.post(f"/q/{question.access_token}/answers/{live.id}/rating",
                            data={f"a{live.id}-value": "satisfied"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Rating.id))) == 0
    page = browser.get(f"/q/{question.access_token}").get_data(as_text=True)
    token = re.search(rf'name="a{live.id}-csrf_token" type="hidden" value="([^"]+)"', page)
    assert token, "the rating form carries a CSRF token"
    done = browser.post(f"/q/{question.access_token}/answers/{live.id}/rating",
                        data={f"a{live.id}-value": "satisfied",
                              f"a{live.id}-csrf_token": token.group(1)})
    assert done.status_code == 302
    assert db.session.scalar(select(func.count(Rating.id))) == 1


def _rate(client, asked, value, answer=None, question=None, **kwargs):
    question = question or asked["question"]
    answer = answer or asked["live"]
    return client.post(f"/api/v1/sessions/{asked['session'].slug}/questions/{question.id}"
                       f"/answers/{answer.id}/rating", json={"value": value}, **kwargs)


def test_the_asker_rates_through_the_api_once_per_answer(client, asked):
    first = _rate(client, asked, "satisfied")
    assert first.status_code == 201
    body = first.get_json()
    assert body["created"] is True and body["rating"]["value"] == "satisfied"
    assert body["rating"]["answer_id"] == asked["live"].id
    again = _rate(client, asked, "basic")
    assert again.status_code == 200 and again.get_json()["rating"]["value"] == "basic"
    assert db.session.scalar(select(func.count(Rating.id))) == 1


def test_only_the_asker_may_rate_and_bad_input_is_a_clear_error(client, app, asked):
    stranger = english(app)
    refused = _rate(stranger, asked, "unsatisfied")
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    # Someone else's question, by this visitor: refused too.
    other = asked["other"]
    assert _rate(client, asked, "satisfied", answer=other.answers[0],
                 question=other).status_code == 403
    bad = _rate(client, asked, "great")
    assert bad.status_code == 400 and bad.get_json()["fields"] == {
        "value": "satisfied|basic|unsatisfied"}
    assert _rate(client, asked, 3).status_code == 400
    assert _rate(client, asked, None).status_code == 400
    # An answer of another question, unknown ids, an unknown session.
    assert _rate(client, asked, "satisfied", answer=other.answers[0]).status_code == 404
    slug = asked["session"].slug
    assert client.post(f"/api/v1/sessions/{slug}/questions/999999/answers/1/rating",
                       json={"value": "basic"}).status_code == 404
    assert client.post(f"/api/v1/sessions/nope/questions/{asked['question'].id}/answers/"
                       f"{asked['live'].id}/rating", json={"value": "basic"}).status_code == 404
    assert client.post(f"/api/v1/sessions/{slug}/questions/{asked['question'].id}/answers/"
                       f"{asked['live'].id}/rating", data="value=basic").status_code == 415
    not_object = client.post(f"/api/v1/sessions/{slug}/questions/{asked['question'].id}"
                             f"/answers/{asked['live'].id}/rating", json=["basic"])
    assert not_object.status_code == 400
    assert _rate(client, asked, "basic",
                 headers={"X-Visitor-Token": "forged"}).status_code == 401
    assert db.session.scalar(select(func.count(Rating.id))) == 0


def test_a_client_without_cookies_rates_with_its_visitor_token(app, asked, client):
    token = client.get("/api/v1/visitor").get_json()["visitor_token"]
    cookieless = app.test_client()
    response = _rate(cookieless, asked, "satisfied", headers={"X-Visitor-Token": token})
    assert response.status_code == 201


def test_rating_figures_are_shares_among_rated_answers(client, asked):
    """The statistics' figures (the one implementation every surface reads)."""
    _rate(client, asked, "satisfied")
    _rate(client, asked, "unsatisfied", answer=asked["second"])
    counts = queries.session_report(asked["session"]).session.counts
    assert counts.ratings == 2
    assert counts.rating_counts()[RatingValue.SATISFIED] == 1
    shares = counts.rating_shares()
    assert shares[RatingValue.SATISFIED].value == 0.5
    assert shares[RatingValue.BASIC].value == 0.0
    assert Counts().rating_shares()[RatingValue.BASIC].value is None
