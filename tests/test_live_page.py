"""The citizen's live page and the projector view, rendered by the server (no browser)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.core.visitor import COOKIE, read_visitor_id
from qa_live.extensions import db, socketio
from qa_live.live import commands, events
from qa_live.live.models import Question, QuestionStatus
from qa_live.planning.models import SessionState


@pytest.fixture
def client(app):
    """A citizen's browser reading English, so the texts checked here do not follow the catalog."""
    browser = app.test_client()
    browser.get("/lang/en")
    return browser


@pytest.fixture
def host(make_user):
    return make_user("host1", roles=[Role.HOST], name="主持人 李明")


@pytest.fixture
def live_session(make_session, make_department, make_user, host):
    trade = make_department("对外贸易处")
    answerer = make_user("ans1", roles=[Role.ANSWERER], departments=[trade], name="外贸处值班员")
    return make_session(title="稳外贸政策解读", state=SessionState.LIVE, departments=[trade],
                        hosts=[host], answerers=[answerer], guests=[("张处长", "对外贸易处处长")],
                        start=utcnow() - timedelta(minutes=5))


def act(host, session, name, **data):
    """A staff action through the same commands the console and the API use."""
    result = commands.run(name, host, session, data)
    events.commit_and_send()
    return result


def visitor_of(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "the page did not set the visitor cookie"
    visitor = read_visitor_id(cookie.value)
    assert visitor
    return visitor


def page_config(html: str, element_id: str = "live-config") -> dict:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>',
                      html, re.S)
    assert match, f"no #{element_id} block"
    return json.loads(match.group(1))


def test_citizen_sees_stream_posts_counters_and_only_their_own_questions(
        client, app, live_session, host, make_question):
    first = client.get(f"/s/{live_session.slug}")
    assert first.status_code == 200
    me = visitor_of(client)

    published = make_question(live_session, "出口信用保险有没有保费补贴？怎么申请？",
                              visitor="visitor-other-0001", nickname="外贸小王")
    act(host, live_session, "approve", question_id=published.id)
    act(host, live_session, "answer", question_id=published.id, body="有补贴，请向商务局申请。")
    secret = make_question(live_session, "别人还在等待审核的问题内容", visitor="visitor-other-0002")
    mine = make_question(live_session, "我自己的问题还在等待审核", visitor=me, phone="13812345678")
    act(host, live_session, "post", kind="policy", body="政策解读：稳外贸十条措施。", pinned=True)

    html = client.get(f"/s/{live_session.slug}").get_data(as_text=True)
    # The theme, who is online and on duty, the guests.
    assert "稳外贸政策解读" in html and "对外贸易处" in html
    assert "外贸处值班员" in html and "主持人 李明" in html and "张处长" in html
    # The stream: the published question with its answer; the host's post.
    assert "出口信用保险有没有保费补贴？怎么申请？" in html and "有补贴，请向商务局申请。" in html
    assert "外贸小王" in html
    assert "政策解读：稳外贸十条措施。" in html
    # Counters (3 valid questions, 1 answered) in the page and in the script's snapshot.
    assert re.search(r'id="count-questions">3<', html)
    assert re.search(r'id="count-answered">1<', html)
    # My own pending question with its status; another visitor's pending one nowhere.
    assert "我自己的问题还在等待审核" in html and "Waiting for review" in html
    assert "别人还在等待审核的问题内容" not in html
    assert secret.access_token not in html
    assert f"/q/{mine.access_token}" in html
    assert "13812345678" not in html
    config = page_config(html)
    assert [q["id"] for q in config["snapshot"]["mine"]] == [mine.id]
    assert config["snapshot"]["seq"] == 3 and config["slug"] == live_session.slug
    # The ask form is there while the session is live.
    assert 'id="ask-form"' in html
    # Another visitor sees the same stream but not my question.
    other = app.test_client().get(f"/s/{live_session.slug}?lang=en").get_data(as_text=True)
    assert "出口信用保险有没有保费补贴？怎么申请？" in other
    assert "我自己的问题还在等待审核" not in other


def test_the_page_sets_the_visitor_cookie_the_socket_needs(client, app, live_session):
    response = client.get(f"/s/{live_session.slug}")
    assert COOKIE in response.headers.get("Set-Cookie", "")
    assert "private" in response.headers["Cache-Control"]
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=client)
    assert sock.is_connected("/qa")
    ack = sock.emit("join", {"slug": live_session.slug, "last_seq": 0}, namespace="/qa",
                    callback=True)
    assert ack["ok"]


def test_sorting_by_upvotes_puts_the_most_upvoted_first(client, live_session, host,
                                                       make_question):
    older = make_question(live_session, "较早发布但赞同多的问题", visitor="visitor-aaaa-0001")
    newer = make_question(live_session, "较晚发布但赞同少的问题", visitor="visitor-aaaa-0002")
    act(host, live_session, "approve", question_id=older.id)
    act(host, live_session, "approve", question_id=newer.id)
    older.upvotes = 5
    db.session.commit()

    newest = client.get(f"/s/{live_session.slug}").get_data(as_text=True)
    assert newest.index("较晚发布但赞同少的问题") < newest.index("较早发布但赞同多的问题")
    by_votes = client.get(f"/s/{live_session.slug}?sort=votes").get_data(as_text=True)
    assert by_votes.index("较早发布但赞同多的问题") < by_votes.index("较晚发布但赞同少的问题")
    assert page_config(by_votes)["sort"] == "votes"


def test_my_rejected_question_says_why(client, live_session, host, make_question):
    client.get(f"/s/{live_session.slug}")
    question = make_question(live_session, "买房送装修，加微信了解详情", visitor=visitor_of(client))
    act(host, live_session, "reject", question_id=question.id, reason="spam")
    html = client.get(f"/s/{live_session.slug}").get_data(as_text=True)
    assert "Not published: advertising or spam" in html
    assert f'id="q-{question.id}"' not in html


def test_asking_without_the_script_posts_the_form(client, live_session):
    client.get(f"/s/{live_session.slug}")
    response = client.post(f"/s/{live_session.slug}/live-ask", data={
        "text": "外贸企业参展补贴什么时候发放？", "nickname": "小李",
        "phone": "", "client_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    })
    assert response.status_code == 302
    stored = db.session.scalar(select(Question))
    assert stored is not None and stored.status == QuestionStatus.PENDING
    assert stored.visitor_id == visitor_of(client)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "外贸企业参展补贴什么时候发放？" in html

    # Too short, or a malformed phone: the page comes back with the error and the text kept.
    bad = client.post(f"/s/{live_session.slug}/live-ask", data={
        "text": "补贴？", "phone": "12345", "client_id": "1f8fad5b-d9cb-469f-a165-70867728950e",
    })
    assert bad.status_code == 400
    body = bad.get_data(as_text=True)
    assert "补贴？" in body and "has-error" in body
    assert db.session.scalar(select(func.count(Question.id))) == 1


def test_ended_page_is_read_only_and_lists_what_remained_unanswered(
        client, make_session, host, make_question):
    session = make_session(title="扩大消费", state=SessionState.LIVE, hosts=[host],
                           start=utcnow() - timedelta(hours=1))
    answered = make_question(session, "消费券怎么领取？有没有时间限制？",
                             visitor="visitor-bbbb-0001")
    waiting = make_question(session, "家电以旧换新补贴何时到账？", visitor="visitor-bbbb-0002")
    act(host, session, "approve", question_id=answered.id)
    act(host, session, "approve", question_id=waiting.id)
    act(host, session, "answer", question_id=answered.id, body="在官方平台领取，当月有效。")
    act(host, session, "end")

    response = client.get(f"/s/{session.slug}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "This session has ended" in html
    assert 'id="ask-form"' not in html and "live-ask" not in html
    unanswered = re.search(r'id="unanswered-list">(.*?)</ol>', html, re.S)
    assert unanswered and "家电以旧换新补贴何时到账？" in unanswered.group(1)
    assert "消费券怎么领取" not in unanswered.group(1)
    assert "在官方平台领取，当月有效。" in html
    assert 'class="vote"' not in html  # no voting once it is over
    # A form posted anyway is refused.
    refused = client.post(f"/s/{session.slug}/live-ask", data={
        "text": "会后还能提问吗？", "client_id": "2f8fad5b-d9cb-469f-a165-70867728950e"})
    assert refused.status_code == 302
    assert db.session.scalar(select(func.count(Question.id))) == 2


def test_projector_view_shows_latest_answer_top_questions_and_qr(client, live_session, host,
                                                                 make_question):
    first = make_question(live_session, "第一个已答复的问题内容", visitor="visitor-cccc-0001")
    second = make_question(live_session, "第二个已答复的问题内容", visitor="visitor-cccc-0002")
    popular = make_question(live_session, "大家都关心的未答复问题", visitor="visitor-cccc-0003")
    for q in (first, second, popular):
        act(host, live_session, "approve", question_id=q.id)
    act(host, live_session, "answer", question_id=first.id, body="第一个答复")
    act(host, live_session, "answer", question_id=second.id, body="最新的答复内容")
    popular.upvotes = 9
    db.session.commit()

    response = client.get(f"/s/{live_session.slug}/screen")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    featured = re.search(r'id="featured-body">(.*?)</section>', html, re.S).group(1)
    assert "第二个已答复的问题内容" in featured and "最新的答复内容" in featured
    top = re.search(r'id="top-list">(.*?)</ol>', html, re.S).group(1)
    assert top.index("大家都关心的未答复问题") < top.index("第一个已答复的问题内容")
    assert '<svg' in html and 'class="qr"' in html
    assert COOKIE in response.headers.get("Set-Cookie", "")
    assert page_config(html, "screen-config")["slug"] == live_session.slug


def test_projector_view_of_an_announced_session_says_when_it_starts(client, make_session):
    session = make_session(title="口岸通关便利化", state=SessionState.ANNOUNCED)
    html = client.get(f"/s/{session.slug}/screen").get_data(as_text=True)
    assert "Starts at" in html
    assert re.search(r'id="screen-main"[^>]* hidden', html)


def test_projector_view_is_404_for_unknown_and_draft_sessions(client, make_session):
    draft = make_session(title="还在筹备", state=SessionState.DRAFT)
    assert client.get(f"/s/{draft.slug}/screen").status_code == 404
    assert client.get("/s/no-such-session/screen").status_code == 404


@pytest.mark.parametrize("path", ["/s/{slug}", "/s/{slug}/screen"])
def test_pages_have_no_inline_scripts_or_styles(client, live_session, host, make_question, path):
    question = make_question(live_session, "<script>alert(1)</script> 出口退税？",
                             visitor="visitor-dddd-0001")
    act(host, live_session, "approve", question_id=question.id)
    html = client.get(path.format(slug=live_session.slug)).get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"<style\b", html)
    assert not re.search(r"\sstyle=", html.replace("<svg", ""))  # segno's SVG has none either
    assert not re.search(r"\son[a-z]+=", html)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # escaped in the page
    assert "\\u003cscript\\u003e" in html  # and in the JSON block
