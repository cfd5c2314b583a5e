"""What a citizen's phone is sent: compressed pages, fingerprinted assets cached for a year, an
icon, the elder-friendly mode, the calendar entry, search, and the smaller defects of issue 16.
"""

from __future__ import annotations

import gzip
import re
import uuid
from datetime import timedelta
from pathlib import Path

import brotli
import pytest
from icalendar import Calendar

from qa_live.auth.models import Role
from qa_live.core import assets
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import moderation
from qa_live.live.models import PostKind, Question
from qa_live.planning.models import SessionState
from tests.conftest import PASSWORD

ASSET = re.compile(r'(?:href|src)="(/static/[^"]+\.[0-9a-f]{12}\.(?:css|js|svg))"')
ACCEPT_ALL = {"Accept-Encoding": "gzip, deflate, br"}


def fetch(client, url, headers=None):
    """GET url, read the whole body and close the response (files are served as streams)."""
    response = client.get(url, headers=headers or {})
    response.get_data()
    response.close()
    return response


@pytest.fixture
def trade(make_department):
    return make_department("对外贸易处")


@pytest.fixture
def host(make_user):
    return make_user("host1", roles=[Role.HOST])


@pytest.fixture
def live_session(make_session, trade, host):
    return make_session(title="稳外贸", state=SessionState.LIVE, departments=[trade],
                        hosts=[host], start=utcnow() - timedelta(minutes=5))


# Compression ------------------------------------------------------------------------------------


def test_pages_are_sent_compressed_as_the_browser_accepts(client, live_session):
    plain = client.get(f"/s/{live_session.slug}")
    assert "Content-Encoding" not in plain.headers
    html = plain.get_data()
    br = client.get(f"/s/{live_session.slug}", headers=ACCEPT_ALL)
    assert br.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in br.headers["Vary"]
    assert len(br.data) < len(html) / 2
    assert brotli.decompress(br.data).count(b"<li") == html.count(b"<li")
    gz = client.get(f"/s/{live_session.slug}", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gz.data).startswith(b"<!doctype html>")
    api = client.get(f"/api/v1/sessions?year={live_session.plan_year}", headers=ACCEPT_ALL)
    assert api.status_code == 200 and api.headers.get("Content-Encoding") in (None, "br")


def test_signed_in_staff_get_their_pages_uncompressed(app, live_session, host):
    staff = app.test_client()
    staff.post("/login", data={"login": host.login, "password": PASSWORD})
    page = staff.get(f"/console/{live_session.slug}", headers=ACCEPT_ALL)
    assert page.status_code == 200
    assert "Content-Encoding" not in page.headers  # BREACH: CSRF token beside citizens' text
    assert "Cookie" in page.headers["Vary"]


# Fingerprinted assets ---------------------------------------------------------------------------


def test_pages_name_their_assets_by_content_and_those_are_cached_for_a_year(client,
                                                                             live_session):
    page = client.get(f"/s/{live_session.slug}", headers=ACCEPT_ALL)
    assert "immutable" not in page.headers.get("Cache-Control", "")
    html = brotli.decompress(page.data).decode()
    urls = ASSET.findall(html)
    assert any("/css/app." in u for u in urls) and any("/js/live." in u for u in urls)
    assert any("/vendor/socket.io.min." in u for u in urls)
    for url in urls:
        response = fetch(client, url, ACCEPT_ALL)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Content-Encoding"] == "br", url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "Accept-Encoding" in response.headers["Vary"]
        source = Path(client.application.static_folder) / re.sub(
            r"\.[0-9a-f]{12}(\.\w+)$", r"\1", url.removeprefix("/static/"))
        if url.endswith(".css"):
            assert brotli.decompress(response.data) == source.read_bytes()
        gz = fetch(client, url, {"Accept-Encoding": "gzip"})
        assert gz.headers["Content-Encoding"] == "gzip"
        assert fetch(client, url).headers.get("Content-Encoding") is None


def test_a_module_imports_its_dependency_by_fingerprinted_name(client, live_session):
    html = client.get(f"/s/{live_session.slug}").get_data(as_text=True)
    live_js = next(u for u in ASSET.findall(html) if "/js/live." in u)
    body = fetch(client, live_js).get_data(as_text=True)
    imported = re.search(r'from "\./(qa_stream\.[0-9a-f]{12}\.js)"', body)
    assert imported, "live.js should import qa_stream.js by its fingerprinted name"
    assert fetch(client, f"/static/js/{imported.group(1)}").status_code == 200


def test_a_changed_file_gets_a_new_name_and_its_importers_too(tmp_path):
    static = tmp_path / "static"
    (static / "js").mkdir(parents=True)
    (static / "js" / "lib.js").write_text("export const a = 1;\n")
    (static / "js" / "main.js").write_text('import { a } from "./lib.js";\nconsole.log(a);\n')
    first = assets.build(static)
    (static / "js" / "lib.js").write_text("export const a = 2;\n")
    second = assets.build(static)
    assert first["js/lib.js"] != second["js/lib.js"]
    assert first["js/main.js"] != second["js/main.js"]  # main.js itself did not change
    built = (static / "build" / second["js/main.js"]).read_text()
    assert f'from "./{Path(second["js/lib.js"]).name}"' in built
    assert (static / "build" / first["js/lib.js"]).exists()  # old pages still find theirs


def test_an_unknown_fingerprint_is_not_found(client):
    assert fetch(client, "/static/css/app.0123456789ab.css").status_code == 404


def test_the_icon_is_there(client):
    icon = fetch(client, "/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype in ("image/x-icon",
                                                         "image/vnd.microsoft.icon")
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<link rel="icon" href="/static/favicon\.[0-9a-f]{12}\.svg"', html)


# The elder-friendly mode ------------------------------------------------------------------------


def test_the_elder_friendly_mode_is_remembered_and_drawn_before_the_first_paint(client):
    assert 'class="elder"' not in client.get("/").get_data(as_text=True)
    switched = client.get("/display/elder?next=/archive")
    assert switched.status_code == 302 and switched.headers["Location"] == "/archive"
    cookie = client.get_cookie("display")
    assert cookie is not None and cookie.value == "elder" and cookie.http_only
    html = client.get("/").get_data(as_text=True)
    assert html.startswith('<!doctype html>\n<html lang="zh-CN" class="elder">')
    assert "/display/standard" in html
    back = client.get("/display/standard?next=https://evil.example/")
    assert back.headers["Location"] == "/"  # never off-site
    assert 'class="elder"' not in client.get("/").get_data(as_text=True)


def test_text_sizes_follow_the_browser_setting():
    css = (Path(__file__).resolve().parent.parent / "static" / "css").glob("*.css")
    for path in css:
        text = path.read_text()
        fixed = re.findall(r"font-size:\s*\d+(?:\.\d+)?px", text)
        assert not fixed, f"{path.name} fixes text sizes in px: {fixed}"


# The calendar entry -----------------------------------------------------------------------------


def test_an_announced_session_can_be_added_to_a_calendar(client, make_session, trade):
    session = make_session(title="稳外贸政策解读", state=SessionState.ANNOUNCED,
                           departments=[trade])
    page = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert f'href="/s/{session.slug}/calendar.ics"' in page
    response = client.get(f"/s/{session.slug}/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{session.slug}.ics"'
    calendar = Calendar.from_ical(response.data)
    event = next(iter(calendar.walk("VEVENT")))
    assert event.decoded("dtstart") == session.scheduled_start.replace(microsecond=0)
    assert event.decoded("dtend") == session.scheduled_end.replace(microsecond=0)
    assert "稳外贸政策解读" in str(event["summary"])
    assert f"/s/{session.slug}" in str(event["url"])
    assert "对外贸易处" in str(event["description"])
    assert str(event["status"]) == "CONFIRMED"
    alarm = next(iter(event.walk("VALARM")))
    assert alarm.decoded("trigger") == -timedelta(minutes=30)
    first_uid = str(event["uid"])

    session.state = SessionState.CANCELLED
    db.session.commit()
    again = Calendar.from_ical(client.get(f"/s/{session.slug}/calendar.ics").data)
    cancelled = next(iter(again.walk("VEVENT")))
    assert str(cancelled["uid"]) == first_uid and str(cancelled["status"]) == "CANCELLED"


def test_a_draft_has_no_calendar_entry(client, make_session):
    draft = make_session(state=SessionState.DRAFT)
    assert client.get(f"/s/{draft.slug}/calendar.ics").status_code == 404


# Search on the live page ------------------------------------------------------------------------


def test_the_live_page_searches_without_the_script(app, client, live_session, host,
                                                   make_question):
    first = make_question(live_session, "出口信用保险有没有保费补贴？")
    second = make_question(live_session, "跨境电商退税政策怎么申请？", visitor="visitor-2")
    for question in (first, second):
        moderation.approve(question, host)
    moderation.answer(second, host, "跨境电商零售出口可以享受退税。")
    db.session.commit()
    found = client.get(f"/s/{live_session.slug}?q=退税").get_data(as_text=True)
    assert f'id="q-{second.id}"' in found and f'id="q-{first.id}"' not in found
    assert "1 of 2" in client.get(f"/s/{live_session.slug}?q=退税&lang=en").get_data(
        as_text=True)
    waiting = client.get(f"/s/{live_session.slug}?show=waiting").get_data(as_text=True)
    assert f'id="q-{first.id}"' in waiting and f'id="q-{second.id}"' not in waiting
    nothing = client.get(f"/s/{live_session.slug}?q=没有这个词").get_data(as_text=True)
    assert re.search(r'<p class="muted" id="filter-empty">', nothing)


# The smaller defects ----------------------------------------------------------------------------


def test_the_socket_speaks_the_language_of_a_page_opened_with_lang_en(app, live_session):
    http = app.test_client()
    page = http.get(f"/s/{live_session.slug}?lang=en").get_data(as_text=True)
    assert '"lang": "en"' in page
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http,
                                query_string="lang=en")
    sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    ack = sock.emit("ask", {"text": "出口信用保险有没有保费补贴？", "client_id": str(uuid.uuid4())},
                    namespace="/qa", callback=True)
    assert ack["question"]["status_label"] == "Waiting for review"
    short = sock.emit("ask", {"text": "短", "client_id": str(uuid.uuid4())}, namespace="/qa",
                      callback=True)
    assert short["message"].startswith("A question needs")


def test_a_session_without_an_advance_window_does_not_say_it_closed(client, make_session,
                                                                     trade):
    session = make_session(state=SessionState.ANNOUNCED, departments=[trade], precollect=False)
    html = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "已截止" not in html
    assert "本场不征集预先提问" in html


def test_the_projector_is_linked_and_shows_the_hosts_posts(app, client, live_session, host):
    moderation.create_post(live_session, host, PostKind.POLICY, "【政策解读】稳外贸十条。",
                           pinned=True)
    db.session.commit()
    screen = client.get(f"/s/{live_session.slug}/screen").get_data(as_text=True)
    assert "【政策解读】稳外贸十条。" in screen
    assert f'href="/s/{live_session.slug}/screen"' in client.get(
        f"/s/{live_session.slug}").get_data(as_text=True)
    staff = app.test_client()
    staff.post("/login", data={"login": host.login, "password": PASSWORD})
    console = staff.get(f"/console/{live_session.slug}").get_data(as_text=True)
    assert f'href="/s/{live_session.slug}/screen"' in console


def test_the_transcript_lists_my_questions_with_their_text(app, make_session, trade, host):
    session = make_session(state=SessionState.LIVE, departments=[trade], hosts=[host],
                           start=utcnow() - timedelta(minutes=5))
    http = app.test_client()
    http.get(f"/s/{session.slug}")
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    sock.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)
    sock.emit("ask", {"text": "我的问题：展会补贴怎么申请？", "client_id": str(uuid.uuid4())},
              namespace="/qa", callback=True)
    moderation.end_session(session, host)
    db.session.commit()
    html = http.get(f"/s/{session.slug}").get_data(as_text=True)
    mine = html[html.index('id="mine"'):html.index('id="unanswered"')]
    assert "我的问题：展会补贴怎么申请？" in mine
    assert db.session.query(Question).count() == 1
