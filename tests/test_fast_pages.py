"""A new visitor's shared page answered in front of Flask (qa_live/core/fast_pages.py).

wsgi.py installs the layer; these tests install it on the test app the same way. What they hold
it to: its answer is the answer Flask gave the visitor before (status, every header but the
cookies' values and the length, the page but the per-visitor values, the cookies' attributes);
the cookies it mints work for the socket's join, an ask and the no-script form (its CSRF token,
not another visitor's); a language is a page of its own; any cookie (a display choice, staff),
another method or query, a changed session, an expired page or a response it cannot make goes
to Flask.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from qa_live import create_app
from qa_live.auth.models import Role
from qa_live.core import fast_pages
from qa_live.core.timeutil import utcnow
from qa_live.core.visitor import COOKIE, read_visitor_id
from qa_live.extensions import db, socketio
from qa_live.live.models import Question
from qa_live.planning.models import ModerationMode, SessionState
from tests.conftest import app_on, config_for
from tests.test_shared_pages import KEEP_S, PER_VISITOR, decoded, staff_api

PER_REQUEST = {"set-cookie", "content-length", "x-request-id"}


def _app(db_url: str, **overrides: object) -> Iterator[Flask]:
    for app in app_on(db_url, PUBLIC_PAGE_CACHE_S=KEEP_S, **overrides):
        fast_pages.install(app)
        yield app


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    yield from _app(db_url)


@pytest.fixture
def csrf_app(db_url: str) -> Iterator[Flask]:
    yield from _app(db_url, WTF_CSRF_ENABLED=True)


@pytest.fixture
def people(make_department, make_user):
    trade = make_department("对外贸易处")
    return {"trade": trade, "host": make_user("host1", roles=[Role.HOST], name="主持人李明")}


@pytest.fixture
def live(make_session, people, make_question):
    session = make_session(title="稳外贸政策解读", state=SessionState.LIVE,
                           departments=[people["trade"]], hosts=[people["host"]],
                           start=utcnow() - timedelta(minutes=5),
                           moderation_mode=ModerationMode.OPEN)
    make_question(session, "出口退税多久能到账？")
    return session


def door(app: Flask) -> fast_pages.Door:
    return app.extensions[fast_pages.EXTENSION + ".door"]


def visit(app: Flask, path: str, encoding: str | None = "gzip", **cookies: str):
    """A new browser (no cookie but ``cookies``) loading ``path``: the client, the response,
    the page, and whether the door answered it."""
    db.session.rollback()  # end what the test's context read, as a worker's request would
    before = door(app).answered
    browser = app.test_client()
    for name, value in cookies.items():
        browser.set_cookie(name, value)
    response = browser.get(path, headers={"Accept-Encoding": encoding} if encoding else {})
    return browser, response, decoded(response), door(app).answered == before + 1


def cookie_lines(response) -> dict[str, str]:
    return {line.split("=", 1)[0]: line for line in response.headers.getlist("Set-Cookie")}


def attributes(line: str) -> list[str]:
    """A Set-Cookie line's attributes, Expires to the day (it is made from the time)."""
    parts = [part.strip() for part in line.split(";")[1:]]
    return [part[:20] if part.startswith("Expires=") else part for part in parts]


@pytest.fixture(params=[True, False], ids=["csrf", "no-csrf"])
def either_app(request, db_url: str) -> Iterator[Flask]:
    yield from _app(db_url, WTF_CSRF_ENABLED=request.param)


@pytest.mark.parametrize("encoding", ["gzip", "br", None])
def test_the_door_answers_as_flask_answered(either_app, live, encoding):
    app = either_app
    path = f"/s/{live.slug}"
    _client, flask_response, flask_html, by_door = visit(app, path, encoding)
    assert not by_door and flask_response.headers.get("ETag")  # Flask's shared page, learned
    _client, response, html, by_door = visit(app, path, encoding)
    assert by_door
    assert response.status_code == flask_response.status_code == 200
    ours = [(k, v) for k, v in response.headers if k.lower() not in PER_REQUEST]
    theirs = [(k, v) for k, v in flask_response.headers if k.lower() not in PER_REQUEST]
    assert ours == theirs
    assert response.headers["X-Request-ID"] != flask_response.headers["X-Request-ID"]
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    assert PER_VISITOR.sub(r"\1", html) == PER_VISITOR.sub(r"\1", flask_html)
    assert "qahole" not in html and "出口退税多久能到账？" in html
    mine, flasks = cookie_lines(response), cookie_lines(flask_response)
    # Flask's session carries the CSRF secret of the page's token (no token, no session).
    with_token = app.config["WTF_CSRF_ENABLED"]
    assert set(mine) == set(flasks) == ({"session", COOKIE} if with_token else {COOKIE})
    for name in mine:
        assert attributes(mine[name]) == attributes(flasks[name]), name
        assert mine[name] != flasks[name]  # a visitor of its own
    for line in (mine[COOKIE], flasks[COOKIE]):
        assert "Max-Age=31536000" in line and "Expires=" in line


def test_each_visitor_gets_their_own_cookie_token_and_client_id(csrf_app, live):
    app = csrf_app
    path = f"/s/{live.slug}"
    visit(app, path)
    seen = [visit(app, path) for _ in range(3)]
    assert all(by_door for *_rest, by_door in seen)
    visitors, tokens, client_ids = set(), set(), set()
    for _client, response, html, _by_door in seen:
        value = cookie_lines(response)[COOKIE].split("=", 1)[1].split(";", 1)[0]
        visitors.add(read_visitor_id(value))
        tokens.update(re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', html))
        client_ids.update(re.findall(r'name="client_id" type="hidden" value="([^"]+)"', html))
    assert None not in visitors and len(visitors) == 3
    assert len(tokens) == 3 and len(client_ids) == 3


def test_its_cookies_join_the_socket_and_ask_as_that_visitor(app, live):
    path = f"/s/{live.slug}"
    visit(app, path)
    browser, response, _html, by_door = visit(app, path)
    assert by_door
    value = cookie_lines(response)[COOKIE].split("=", 1)[1].split(";", 1)[0]
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=browser)
    joined = sock.emit("join", {"slug": live.slug}, namespace="/qa", callback=True)
    assert joined["ok"] is True, joined
    asked = sock.emit("ask", {"text": "门口取号的页面也能提问吗？", "client_id": str(uuid.uuid4())},
                      namespace="/qa", callback=True)
    assert asked["ok"] is True, asked
    sock.disconnect(namespace="/qa")
    db.session.rollback()
    question = db.session.scalar(select(Question).where(
        Question.text == "门口取号的页面也能提问吗？"))
    assert question is not None and question.visitor_id == read_visitor_id(value)


def test_its_form_posts_with_its_own_token_and_not_anothers(csrf_app, live):
    path = f"/s/{live.slug}"
    visit(csrf_app, path, None)
    fields = {}
    browsers = []
    for _ in range(2):
        browser, _response, html, by_door = visit(csrf_app, path, None)
        assert by_door
        browsers.append(browser)
        fields[browser] = dict(re.findall(r'<input form="ask-form" id="(\w+)" name="\w+" '
                                          r'type="hidden" value="([^"]+)"', html))
    first, second = browsers
    stolen = second.post(f"/s/{live.slug}/live-ask", data={
        **fields[first], "text": "别人的令牌能提问吗？"})
    assert stolen.status_code == 400
    asked = first.post(f"/s/{live.slug}/live-ask", data={
        **fields[first], "text": "出口信用保险有保费补贴吗？"})
    assert asked.status_code == 302
    db.session.rollback()
    stored = db.session.scalar(select(Question).where(
        Question.text == "出口信用保险有保费补贴吗？"))
    assert stored is not None and stored.client_id == fields[first]["client_id"]


def test_a_language_is_a_page_of_its_own(app, live):
    path = f"/s/{live.slug}"
    for _ in range(2):
        _c, chinese, zh_html, zh_door = visit(app, path)
        _c, english, en_html, en_door = visit(app, path + "?lang=en")
    assert zh_door and en_door
    assert '<html lang="zh-CN">' in zh_html and "Ask a question" not in zh_html
    assert '<html lang="en">' in en_html and "Ask a question" in en_html
    assert chinese.headers["ETag"] != english.headers["ETag"]
    _c, unknown, _html, by_door = visit(app, path + "?lang=xx")
    assert not by_door and unknown.status_code == 200 and "ETag" not in unknown.headers
    _c, _response, _html, by_door = visit(app, path + "?lang=en&x=1")
    assert not by_door


def test_any_cookie_goes_to_flask(app, live, people, auth):
    path = f"/s/{live.slug}"
    visit(app, path)
    assert visit(app, path)[3]
    _c, elder, elder_html, by_door = visit(app, path, display="elder")
    assert not by_door and 'class="elder"' in elder_html
    _c, english, en_html, by_door = visit(app, path, lang="en")
    assert not by_door and "Ask a question" in en_html
    answered = door(app).answered
    auth.login(people["host"])
    staff = auth._client.get(path, headers={"Accept-Encoding": "gzip"})
    assert door(app).answered == answered
    assert staff.status_code == 200 and "ETag" not in staff.headers
    assert staff.headers.get("Content-Encoding") is None  # staff pages stay uncompressed


def test_other_methods_and_addresses_go_to_flask(app, live, make_session):
    path = f"/s/{live.slug}"
    visit(app, path)
    answered = door(app).answered
    client = app.test_client()
    assert client.head(path).status_code == 200
    assert client.post(path).status_code == 405
    assert client.get(path + "/").status_code in (308, 404)
    assert client.get("/s/no-such-session").status_code == 404
    draft = make_session(state=SessionState.DRAFT)
    assert client.get(f"/s/{draft.slug}").status_code == 404
    assert client.get(f"/s/{draft.slug}").status_code == 404
    assert door(app).answered == answered


def test_a_published_change_reaches_the_next_visitor_through_the_door(app, live, people,
                                                                      db_url):
    path = f"/s/{live.slug}"
    visit(app, path)
    _c, before, html, by_door = visit(app, path)
    assert by_door and "一般十个工作日内到账。" not in html
    other = create_app(config_for(db_url, PUBLIC_PAGE_CACHE_S=KEEP_S))  # another worker
    client, headers = staff_api(other, people["host"])
    question = db.session.scalar(select(Question).where(Question.session_id == live.id))
    published = client.post(f"/api/v1/staff/sessions/{live.id}/actions/answer",
                            json={"question_id": question.id, "body": "一般十个工作日内到账。"},
                            headers=headers)
    assert published.status_code == 200, published.get_json()
    _c, after, html, by_door = visit(app, path)
    assert not by_door and "一般十个工作日内到账。" in html  # Flask rendered it anew
    assert after.headers["ETag"] != before.headers["ETag"]
    _c, again, html, by_door = visit(app, path)
    assert by_door and "一般十个工作日内到账。" in html
    assert again.headers["ETag"] == after.headers["ETag"]
    with other.app_context():
        db.engine.dispose()


def test_an_expired_page_is_rendered_anew_by_flask_while_the_others_get_it(app, live):
    path = f"/s/{live.slug}"
    visit(app, path)
    _c, first, _html, by_door = visit(app, path)
    assert by_door
    question = db.session.scalar(select(Question).where(Question.session_id == live.id))
    question.upvotes = 7  # as the votes write it: no sequence number
    db.session.commit()
    [entry] = door(app).entries.values()
    object.__setattr__(entry.page, "made", entry.page.made - KEEP_S)  # its time is up
    _c, renewed, html, by_door = visit(app, path)  # goes to Flask, which renders it anew
    assert not by_door and '<span class="vote-count">7</span>' in html
    assert renewed.headers["ETag"] != first.headers["ETag"]
    _c, again, _html, by_door = visit(app, path)
    assert by_door and again.headers["ETag"] == renewed.headers["ETag"]
    # While one request is having it rendered anew, the others get the page it replaces.
    [entry] = door(app).entries.values()
    object.__setattr__(entry.page, "made", entry.page.made - KEEP_S)
    entry.renewing = time.monotonic()
    _c, meanwhile, _html, by_door = visit(app, path)
    assert by_door and meanwhile.headers["ETag"] == renewed.headers["ETag"]
    entry.renewing -= fast_pages.RENEW_S + 1  # that request never came back: another goes
    assert not visit(app, path)[3]


def test_sharing_off_goes_to_flask(app, live):
    path = f"/s/{live.slug}"
    visit(app, path)
    assert visit(app, path)[3]
    app.config["PUBLIC_PAGE_CACHE_S"] = 0.0  # sharing off: Flask renders every page
    _c, response, _html, by_door = visit(app, path)
    assert not by_door and "ETag" not in response.headers


def _served(app: Flask, live) -> fast_pages.Served:
    entry = next(iter(door(app).entries.values()))
    return fast_pages.Served(entry.version, entry.page, "gzip")


@pytest.mark.parametrize("change", ["rate-limit", "another cookie", "more in the session",
                                    "forged session", "an error"])
def test_a_response_it_cannot_make_is_not_learned(csrf_app, live, change):
    app = csrf_app
    path = f"/s/{live.slug}"
    _c, response, _html, _by_door = visit(app, path)
    headers = list(response.headers)
    status = "200 OK"
    the_door = door(app)
    assert the_door._answer_of(_served(app, live), status, headers) is not None
    interface = app.session_interface.get_signing_serializer(app)
    if change == "rate-limit":
        headers.append(("X-RateLimit-Remaining", "4"))
    elif change == "another cookie":
        headers.append(("Set-Cookie", "lang=en; Path=/"))
    elif change == "more in the session":
        headers = [(k, v) for k, v in headers if not v.startswith("session=")]
        value = interface.dumps({"csrf_token": "ab" * 20, "_flashes": [("info", "x")]})
        headers.append(("Set-Cookie", f"session={value}; HttpOnly; Path=/; SameSite=Lax"))
    elif change == "forged session":
        headers = [(k, v.replace("session=", "session=x")) for k, v in headers]
    else:
        status = "500 INTERNAL SERVER ERROR"
    assert the_door._answer_of(_served(app, live), status, headers) is None


def test_install_finds_flasks_own_wsgi_app(db_url):
    app = create_app(config_for(db_url))
    installed = fast_pages.install(app)
    assert isinstance(installed, fast_pages.Door)
    assert fast_pages.install(app) is installed  # once only
    layers, layer = [], app.wsgi_app
    while layer is not None:
        layers.append(type(layer).__name__)
        layer = next((getattr(layer, name) for name in ("wsgi_app", "app", "application")
                      if callable(getattr(layer, name, None))), None)
        if getattr(layer, "__func__", None) is Flask.wsgi_app:
            break
    assert layers[0] == "RequestLog" and layers[-1] == "Door" and layers.count("Door") == 1



@pytest.mark.parametrize("state", [SessionState.LIVE, SessionState.ENDED])
def test_every_new_visitor_may_play_the_stream_its_page_shows(app, make_session, people,
                                                              state):
    # The player's origin joins the page's CSP while the page is rendered (stream_player):
    # a page rendered once and shared must bring it to every visitor it is served to.
    session = make_session(state=state, departments=[people["trade"]],
                           start=utcnow() - timedelta(hours=3 if state == SessionState.ENDED
                                                      else 0.1),
                           stream_url="https://live.example.gov.cn/hls/session.m3u8")
    if state == SessionState.ENDED:
        session.recording_url = "https://vod.example.gov.cn/rec/session.mp4"
        db.session.commit()
    origin = ("https://live.example.gov.cn" if state == SessionState.LIVE
              else "https://vod.example.gov.cn")
    path = f"/s/{session.slug}"
    # Rendered for the first; from the shared page through Flask for the second (brotli: not
    # learned yet); then by the door, from what it learned of each.
    seen = [visit(app, path, encoding) for encoding in ("gzip", "br", "gzip", "br")]
    assert [by_door for *_rest, by_door in seen] == [False, False, True, True]
    for _c, response, html, _by_door in seen:
        assert origin in html
        policy = dict(part.strip().split(" ", 1)
                      for part in response.headers["Content-Security-Policy"].split(";"))
        assert origin in policy["media-src"] and origin in policy["connect-src"]


@pytest.fixture
def door_on_any_db(any_db_app: Flask) -> Flask:
    any_db_app.config["PUBLIC_PAGE_CACHE_S"] = KEEP_S
    fast_pages.install(any_db_app)
    return any_db_app


def test_the_door_reads_the_version_on_sqlite_and_postgresql(door_on_any_db, make_session,
                                                             make_department):
    app = door_on_any_db
    with app.app_context():  # the fixtures' own context is the SQLite app's
        live = make_session(state=SessionState.LIVE, departments=[make_department()],
                            start=utcnow() - timedelta(minutes=5))
        draft = make_session(state=SessionState.DRAFT)
        db.session.commit()
        version = (live.id, "live", live.last_seq)
        path, draft_slug = f"/s/{live.slug}", draft.slug
    with app.app_context():
        assert not visit(app, path)[3] and visit(app, path)[3]
    from qa_live.public import _current_version

    assert _current_version(app, path[3:]) == version
    assert _current_version(app, draft_slug) is None
    assert _current_version(app, "no-such-session") is None


def test_a_database_away_sends_the_request_to_flask(app, live, tmp_path):
    from sqlalchemy import create_engine

    from qa_live.public import _ENGINE

    path = f"/s/{live.slug}"
    visit(app, path)
    assert visit(app, path)[3]
    app.extensions[_ENGINE] = create_engine(f"sqlite:///{tmp_path}/missing/folder/qa.db")
    _c, response, html, by_door = visit(app, path)  # Flask answers, on its own engine
    assert not by_door and response.status_code == 200 and "出口退税多久能到账？" in html
