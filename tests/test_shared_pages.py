"""A session's live page and transcript for a new visitor: rendered once per change, shared.

Issue 17 ("a crowd arriving"): a visitor without a cookie gets the page every new visitor gets,
rendered and compressed once (qa_live/core/shared_pages.py, qa_live/public.py) and kept by the
session's sequence number. What these tests hold it to: the page is the fresh render but for
the per-visitor parts, in every encoding, with the same headers and its own cookies and CSRF
token; every published change (made through another worker) reaches the next new visitor; a
visitor with a cookie still gets their own page.
"""

from __future__ import annotations

import gzip
import os
import re
import time
import zlib
from collections.abc import Iterator
from datetime import timedelta

import brotli
import pytest
from flask import Flask
from sqlalchemy import select

from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.core import shared_pages
from qa_live.core.shared_pages import SharedPage, hole
from qa_live.core.timeutil import utcnow
from qa_live.core.visitor import COOKIE, read_visitor_id
from qa_live.extensions import db
from qa_live.live import answers, commands, events
from qa_live.live.models import AnswerKind, Question, QuestionStatus
from qa_live.planning.models import ModerationMode, SessionState
from tests.conftest import app_on, other_app_on

#: Long enough that only a new sequence number can make a new page within a test.
KEEP_S = 3600.0
SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
                    "Referrer-Policy", "Permissions-Policy", "Cache-Control", "Vary",
                    "Content-Type")
# The per-visitor values a page carries: its CSRF tokens and the ask form's client id.
PER_VISITOR = re.compile(r'(name="(?:csrf_token|client_id)" type="hidden" value="'
                         r'|name="csrf_token" value=")[^"]*')


def _app(db_url: str, **overrides: object) -> Iterator[Flask]:
    yield from app_on(db_url, PUBLIC_PAGE_CACHE_S=KEEP_S, **overrides)


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    yield from _app(db_url)


@pytest.fixture
def other_app(db_url: str, app: Flask) -> Iterator[Flask]:
    """A second app on the same database file: another worker, with its own caches."""
    yield from other_app_on(db_url, PUBLIC_PAGE_CACHE_S=KEEP_S)


@pytest.fixture
def people(make_department, make_user):
    trade = make_department("对外贸易处")
    return {"trade": trade,
            "host": make_user("host1", roles=[Role.HOST], name="主持人李明"),
            "office": make_user("office1", roles=[Role.OFFICE])}


@pytest.fixture
def live(make_session, people, make_question):
    session = make_session(title="稳外贸政策解读", state=SessionState.LIVE,
                           departments=[people["trade"]], hosts=[people["host"]],
                           guests=[("张处长", "对外贸易处处长")],
                           start=utcnow() - timedelta(minutes=5),
                           moderation_mode=ModerationMode.OPEN)
    make_question(session, "出口退税多久能到账？")
    return session


def act(user, session, name, **data):
    result = commands.run(name, user, session, data)
    events.commit_and_send()
    return result


def decoded(response) -> str:
    data = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "gzip":
        data = gzip.decompress(data)
    elif encoding == "br":
        data = brotli.decompress(data)
    else:
        assert encoding is None
    return data.decode()


def new_visitor(app: Flask, path: str, encoding: str | None = "gzip", **cookies: str):
    """A browser without a visitor cookie (``cookies``: only these) loading ``path``: the
    response and its page as text."""
    db.session.rollback()  # end what the test's context read, as a worker's request would
    browser = app.test_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value)
    headers = {"Accept-Encoding": encoding} if encoding is not None else {}
    response = browser.get(path, headers=headers)
    return response, decoded(response)


def fresh_render(app: Flask, path: str) -> tuple[object, str]:
    """The same page rendered for this request alone (sharing off)."""
    app.config["PUBLIC_PAGE_CACHE_S"] = 0.0
    try:
        return new_visitor(app, path, "gzip")
    finally:
        app.config["PUBLIC_PAGE_CACHE_S"] = KEEP_S


def renders(app: Flask) -> int:
    return shared_pages.of_app(app).renders


# The encodings ------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["none", "start", "middle", "end", "many"])
def test_a_shared_page_decodes_to_its_parts_and_fills_in_every_encoding(layout):
    big = os.urandom(40_000).hex()  # 80 KB that does not compress: several deflate blocks
    text = "<p>问政</p>" * 3000 + big
    marks = {"none": [], "start": [0], "middle": [len(text) // 2], "end": [len(text)],
             "many": [0, 10, 5000, len(text) // 2, len(text)]}[layout]
    names = ["csrf_token", "client_id"]
    html, last = "", 0
    for n, at in enumerate(marks):
        html += text[last:at] + hole(names[n % 2])
        last = at
    html += text[last:]
    page = SharedPage.build(html)
    for fills in ({"csrf_token": "tok-1.abc_DEF", "client_id": "0f8fad5b-d9cb-469f"},
                  {"csrf_token": "", "client_id": "x" * 70_000}):
        expected = html
        for name, value in fills.items():
            expected = expected.replace(hole(name), value)
        assert page.body(fills, None).decode() == expected
        assert gzip.decompress(page.body(fills, "gzip")).decode() == expected
        assert brotli.decompress(page.body(fills, "br")).decode() == expected
        # A strict decoder finds one whole gzip member and nothing after it.
        strict = zlib.decompressobj(31)
        assert strict.decompress(page.body(fills, "gzip")) == expected.encode()
        assert strict.eof and not strict.unused_data


# The live page ------------------------------------------------------------------------------


def test_new_visitors_share_one_render_in_every_encoding(app, live):
    path = f"/s/{live.slug}"
    _fresh, expected = fresh_render(app, path)
    before = renders(app)
    seen = []
    for encoding in ("gzip", "br", None, "gzip, deflate, br"):
        response, html = new_visitor(app, path, encoding)
        assert response.status_code == 200
        assert response.headers.get("Content-Encoding") == (
            None if encoding is None else "gzip" if encoding == "gzip" else "br")
        assert PER_VISITOR.sub(r"\1", html) == PER_VISITOR.sub(r"\1", expected)
        assert "出口退税多久能到账？" in html
        seen.append(response)
    assert renders(app) == before + 1  # rendered once, for the first of them
    assert len({r.headers["ETag"] for r in seen}) == 1


def test_each_new_visitor_gets_their_own_cookie_token_and_client_id(app, live):
    path = f"/s/{live.slug}"
    pages = [new_visitor(app, path) for _ in range(3)]
    assert len({r.headers["ETag"] for r, _html in pages}) == 1  # one shared page
    visitors = set()
    client_ids = set()
    for response, html in pages:
        cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
        value = cookies[COOKIE].split("=", 1)[1].split(";", 1)[0]
        visitors.add(read_visitor_id(value))
        [client_id] = re.findall(r'form="ask-form" id="client_id" name="client_id" '
                                 r'type="hidden" value="([^"]+)"', html)
        client_ids.add(client_id)
        assert "qahole" not in html
    assert None not in visitors and len(visitors) == 3
    assert len(client_ids) == 3


def test_a_shared_page_has_the_headers_of_a_fresh_one(app, live):
    path = f"/s/{live.slug}"
    fresh, _html = fresh_render(app, path)
    new_visitor(app, path)
    shared, _html = new_visitor(app, path)
    assert shared.headers.get("ETag")  # from the shared page
    for name in SECURITY_HEADERS:
        assert shared.headers.get(name) == fresh.headers.get(name), name
    assert "nonce" not in shared.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in shared.headers["Content-Security-Policy"]


@pytest.fixture
def csrf_app(db_url: str) -> Iterator[Flask]:
    yield from _app(db_url, WTF_CSRF_ENABLED=True)


def test_the_no_script_form_of_a_shared_page_posts_with_its_visitors_token(
        csrf_app, make_session, make_department):
    session = make_session(state=SessionState.LIVE, departments=[make_department()],
                           start=utcnow() - timedelta(minutes=5))
    path = f"/s/{session.slug}"
    csrf_app.test_client().get(path)  # the first new visitor: the page is now shared
    first, second = csrf_app.test_client(), csrf_app.test_client()
    tokens_of = {}
    for browser in (first, second):
        page = browser.get(path)
        assert page.headers.get("ETag")
        html = page.get_data(as_text=True)
        fields = dict(re.findall(r'<input form="ask-form" id="(\w+)" name="\w+" type="hidden" '
                                 r'value="([^"]+)"', html))
        tokens_of[browser] = fields
    assert tokens_of[first]["csrf_token"] != tokens_of[second]["csrf_token"]
    # Another visitor's token is refused; one's own is taken.
    stolen = second.post(f"/s/{session.slug}/live-ask", data={
        **tokens_of[first], "text": "别人的令牌能提问吗？"})
    assert stolen.status_code == 400
    asked = first.post(f"/s/{session.slug}/live-ask", data={
        **tokens_of[first], "text": "出口信用保险有保费补贴吗？"})
    assert asked.status_code == 302
    stored = db.session.scalar(select(Question).where(Question.session_id == session.id))
    assert stored is not None and stored.client_id == tokens_of[first]["client_id"]


def test_visitors_with_a_cookie_get_their_own_page(app, live, people, auth):
    path = f"/s/{live.slug}"
    new_visitor(app, path)
    citizen = app.test_client()
    citizen.get(path)  # now has the visitor cookie
    citizen.post(f"/s/{live.slug}/live-ask", data={
        "text": "我的问题会显示在我的列表里吗？",
        "client_id": "0f8fad5b-d9cb-469f-a165-7086772895aa"})
    db.session.rollback()
    own = citizen.get(path, headers={"Accept-Encoding": "gzip"})
    assert "ETag" not in own.headers
    assert "我的问题会显示在我的列表里吗？" in decoded(own)
    auth.login(people["host"])
    staff = auth._client.get(path, headers={"Accept-Encoding": "gzip"})
    assert "ETag" not in staff.headers
    assert staff.headers.get("Content-Encoding") is None  # staff pages stay uncompressed


def test_language_and_elder_mode_are_pages_of_their_own(app, live):
    path = f"/s/{live.slug}"
    chinese, zh_html = new_visitor(app, path)
    english, en_html = new_visitor(app, path + "?lang=en")
    elder, elder_html = new_visitor(app, path, display="elder")
    english_cookie, en_cookie_html = new_visitor(app, path, lang="en")
    assert '<html lang="zh-CN">' in zh_html and "Ask a question" not in zh_html
    assert '<html lang="en">' in en_html and "Ask a question" in en_html
    assert 'class="elder"' in elder_html and 'class="elder"' not in zh_html
    assert "Ask a question" in en_cookie_html
    assert len({r.headers["ETag"] for r in (chinese, english, elder, english_cookie)}) == 4
    unknown = app.test_client().get(path + "?lang=xx")  # not shared: its own render
    assert unknown.status_code == 200 and "ETag" not in unknown.headers


def test_a_page_asked_for_with_another_host_is_not_shown_to_others(app, live):
    # Without PUBLIC_BASE_URL the share link and QR code name the host the page was asked for.
    path = f"/s/{live.slug}"
    app.config["PUBLIC_BASE_URL"] = ""
    forged = app.test_client().get(path, base_url="http://evil.example")
    assert "http://evil.example/s/" in forged.get_data(as_text=True)
    response = app.test_client().get(path, base_url="http://qa.example.gov.cn")
    html = response.get_data(as_text=True)
    assert "evil.example" not in html and "http://qa.example.gov.cn/s/" in html
    assert response.headers["ETag"] != forged.headers["ETag"]


# Changes reach the next new visitor, whichever worker made them -----------------------------


def staff_api(other: Flask, user) -> tuple:
    _row, secret = tokens.create_token(user, "shared pages test")
    db.session.commit()
    return other.test_client(), {"Authorization": f"Bearer {secret}"}


def test_every_published_change_reaches_the_next_new_visitor_on_every_worker(
        app, other_app, live, people, make_question):
    path = f"/s/{live.slug}"
    client, headers = staff_api(other_app, people["host"])
    office, office_headers = staff_api(other_app, people["office"])
    question = db.session.scalar(select(Question).where(Question.session_id == live.id))
    waiting = make_question(live, "稳外贸有哪些新措施？", visitor="visitor-0002-abcdef")

    def changed(action: str, **data) -> None:
        response = client.post(f"/api/v1/staff/sessions/{live.id}/actions/{action}",
                               json=data, headers=headers)
        assert response.status_code == 200, response.get_json()

    steps = [
        (lambda: changed("answer", question_id=question.id, body="一般十个工作日内到账。"),
         "一般十个工作日内到账。"),
        (lambda: changed("post", kind="policy", body="政策解读：稳外贸十条措施。"),
         "政策解读：稳外贸十条措施。"),
        (lambda: changed("pin", question_id=waiting.id, pinned=True), "is-pinned"),
        (lambda: office.patch(f"/api/v1/staff/departments/{people['trade'].id}",
                              json={"name": "对外贸易与口岸处"}, headers=office_headers),
         "对外贸易与口岸处"),
    ]
    etag = new_visitor(app, path)[0].headers["ETag"]
    for change, shows in steps:
        before = new_visitor(app, path)
        assert before[0].headers["ETag"] == etag  # still the shared page of the last change
        assert shows not in before[1]
        change()
        response, html = new_visitor(app, path)
        assert shows in html, shows
        assert response.headers["ETag"] != etag
        etag = response.headers["ETag"]


def test_a_renamed_department_reaches_the_shared_transcript(app, other_app, make_session,
                                                           people):
    # A session's facts change only before it goes live, but a department's name on a held
    # session's transcript changes whenever the office renames it.
    session = make_session(state=SessionState.ENDED, departments=[people["trade"]],
                           start=utcnow() - timedelta(days=1))
    path = f"/s/{session.slug}"
    first, html = new_visitor(app, path)
    assert "对外贸易处" in html and first.headers.get("ETag")
    office, headers = staff_api(other_app, people["office"])
    response = office.patch(f"/api/v1/staff/departments/{people['trade'].id}",
                            json={"name": "对外贸易与口岸处"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    response, html = new_visitor(app, path, "br")
    assert "对外贸易与口岸处" in html
    assert response.headers["ETag"] != first.headers["ETag"]


def test_a_second_reply_reaches_the_shared_transcript(app, make_session, people,
                                                      make_question):
    session = make_session(state=SessionState.LIVE, departments=[people["trade"]],
                           hosts=[people["host"]], start=utcnow() - timedelta(hours=1),
                           moderation_mode=ModerationMode.OPEN)
    question = make_question(session, "会后还能得到答复吗？")
    act(people["host"], session, "end")
    path = f"/s/{session.slug}"
    first, html = new_visitor(app, path)
    assert "会后还能得到答复吗？" in html and first.headers.get("ETag")
    assert new_visitor(app, path)[0].headers["ETag"] == first.headers["ETag"]
    question = db.session.get(Question, question.id)
    answers.publish_answer(question, people["host"], "已转外贸处办理，答复如下：可以。",
                           kind=AnswerKind.FOLLOW_UP)
    events.commit_and_send()
    assert question.status == QuestionStatus.ANSWERED
    response, html = new_visitor(app, path, "br")
    assert "已转外贸处办理，答复如下：可以。" in html
    assert response.headers["ETag"] != first.headers["ETag"]


def test_what_changes_without_a_seq_is_at_most_the_cache_time_old(app, live):
    path = f"/s/{live.slug}"
    app.config["PUBLIC_PAGE_CACHE_S"] = 0.3
    first = new_visitor(app, path)[0].headers["ETag"]
    question = db.session.scalar(select(Question).where(Question.session_id == live.id))
    question.upvotes = 7  # as the votes write it: no sequence number
    db.session.commit()
    time.sleep(0.35)
    response, html = new_visitor(app, path)
    assert response.headers["ETag"] != first
    assert '<span class="vote-count">7</span>' in html
