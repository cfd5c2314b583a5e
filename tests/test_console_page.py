"""The moderation console page: who may open it, what it carries, where staff find it."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import socketio
from qa_live.live import summaries
from qa_live.live.console_views import console_strings
from qa_live.planning.models import SessionState
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def trade(make_department):
    return make_department("对外贸易处")


@pytest.fixture
def people(make_user, make_department, trade):
    """Office, a host, an answerer of the session's department and one of another."""
    market = make_department("市场秩序处")
    return {
        "office": make_user("office1", roles=[Role.OFFICE]),
        "host": make_user("host1", roles=[Role.HOST]),
        "answerer": make_user("ans1", roles=[Role.ANSWERER], departments=[trade]),
        "outsider": make_user("ans2", roles=[Role.ANSWERER], departments=[market]),
    }


@pytest.fixture
def live_session(make_session, trade, people):
    return make_session(title="稳外贸", state=SessionState.LIVE, departments=[trade],
                        hosts=[people["host"]], answerers=[people["answerer"]],
                        start=utcnow() - timedelta(minutes=5))


def logged_in(app, login):
    http = app.test_client()
    response = http.post("/login", data={"login": login, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return http


class PageParts(HTMLParser):
    """Collects the scripts, style attributes and links of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.styled: list[str] = []
        self.links: list[str] = []
        self.style_elements = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script":
            self.scripts.append(attributes)
        if tag == "style":
            self.style_elements += 1
        if "style" in attributes or any(name.startswith("on") for name in attributes):
            self.styled.append(tag)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"] or "")


def parts(html: str) -> PageParts:
    parser = PageParts()
    parser.feed(html)
    return parser


def console_config(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="console-config">(.*?)</script>',
                      html, re.S)
    assert match, "the page has no console-config block"
    return json.loads(match.group(1))


# Who may open it -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["office", "host", "answerer"])
def test_office_hosts_and_the_departments_answerers_open_the_console(app, live_session, people,
                                                                   who):
    http = logged_in(app, people[who].login)
    response = http.get(f"/console/{live_session.slug}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    config = console_config(html)
    assert config["session_id"] == live_session.id
    assert config["namespace"] == "/moderation"
    assert "稳外贸" in html
    moderates = 'id="start-button"' in html
    assert moderates == (who != "answerer")  # answerers get no start/end, no post composer
    assert ('id="post-composer"' in html) == (who != "answerer")


def test_an_answerer_of_another_department_is_refused(app, live_session, people):
    http = logged_in(app, people["outsider"].login)
    assert http.get(f"/console/{live_session.slug}").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, live_session):
    response = client.get(f"/console/{live_session.slug}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert f"console%2F{live_session.slug}" in response.headers["Location"]


def test_an_unknown_session_is_not_found(app, people):
    http = logged_in(app, people["host"].login)
    assert http.get("/console/no-such-session").status_code == 404


def test_a_draft_console_is_for_hosts_and_the_office_only(app, make_session, trade, people):
    draft = make_session(title="还在筹备", departments=[trade], answerers=[people["answerer"]])
    assert logged_in(app, "host1").get(f"/console/{draft.slug}").status_code == 200
    assert logged_in(app, "office1").get(f"/console/{draft.slug}").status_code == 200
    answerer = logged_in(app, "ans1")
    assert answerer.get(f"/console/{draft.slug}").status_code == 403
    sock = socketio.test_client(app, namespace="/moderation", flask_test_client=answerer)
    ack = sock.emit("join", {"session_id": draft.id}, namespace="/moderation", callback=True)
    assert ack["error"] == "forbidden"  # the socket agrees with the page
    draft_announced = make_session(title="已预告", state=SessionState.ANNOUNCED,
                                   departments=[trade])
    assert answerer.get(f"/console/{draft_announced.slug}").status_code == 200


# What the page carries ---------------------------------------------------------------------------


def test_the_page_has_no_inline_script_or_style(app, live_session, people):
    html = logged_in(app, "host1").get(f"/console/{live_session.slug}").get_data(as_text=True)
    page = parts(html)
    inline = [s for s in page.scripts if not s.get("src") and s.get("type") != "application/json"]
    assert inline == [], "CSP forbids inline scripts"
    sources = [s["src"] for s in page.scripts if s.get("src")]
    # Fingerprinted names (qa_live/core/assets.py): name.<12 hex digits>.ext
    assert any(re.fullmatch(r"/static/vendor/socket\.io\.min\.[0-9a-f]{12}\.js", s)
               for s in sources)
    assert any(re.fullmatch(r"/static/js/console\.[0-9a-f]{12}\.js", s) for s in sources)
    assert page.style_elements == 0 and page.styled == []
    assert re.search(r'/static/css/console\.[0-9a-f]{12}\.css', html)
    config = console_config(html)
    assert config["login_url"].startswith("/login?next=")
    assert set(config["reasons"]) == {"spam", "off_topic", "abusive", "duplicate",
                                      "personal_info"}


def test_every_string_the_script_shows_is_translated_by_the_page(app):
    script = (ROOT / "static" / "js" / "console.js").read_text(encoding="utf-8")
    used = set(re.findall(r"\bT\.(\w+)", script))
    used |= {f"empty_{queue}" for queue in ("pending", "published", "answered", "rejected")}
    with app.test_request_context():
        missing = used - set(console_strings())
    assert not missing, f"console.js uses strings the page does not send: {sorted(missing)}"


# Where staff find it ---------------------------------------------------------------------------


def test_office_pages_link_to_the_console(app, live_session, people):
    console = f"/console/{live_session.slug}"
    office = logged_in(app, "office1")
    assert console in parts(office.get("/office/").get_data(as_text=True)).links
    detail = f"/office/sessions/{live_session.id}"
    assert console in parts(office.get(detail).get_data(as_text=True)).links
    host = logged_in(app, "host1")  # on duty: the link is under "my sessions" too
    assert parts(host.get("/office/").get_data(as_text=True)).links.count(console) == 2
    outsider = logged_in(app, "ans2")
    assert console not in parts(outsider.get(detail).get_data(as_text=True)).links
    assert console not in parts(outsider.get("/office/").get_data(as_text=True)).links


# What the console hears ---------------------------------------------------------------------


def staff_socket(app, login, session):
    """A logged-in console joined to the session: the socket and its join ack."""
    sock = socketio.test_client(app, namespace="/moderation",
                                flask_test_client=logged_in(app, login))
    ack = sock.emit("join", {"session_id": session.id}, namespace="/moderation", callback=True)
    assert ack["ok"], ack
    return sock, ack


def received(sock, name):
    return [m["args"][0] for m in sock.get_received("/moderation") if m["name"] == name]


def test_an_answerers_console_hears_posts_the_session_and_who_is_online(app, live_session,
                                                                        people):
    answerer, joined = staff_socket(app, "ans1", live_session)
    assert joined["me"]["departments"] == [live_session.departments[0].id, 0]
    host, _ = staff_socket(app, "host1", live_session)
    arrivals = received(answerer, "presence")
    assert {"user_id": people["host"].id, "name": "host1", "online": True,
            "reply": True} in arrivals
    assert host.emit("post", {"kind": "notice", "body": "欢迎参与今天的在线问政"},
                     namespace="/moderation", callback=True)["ok"]
    assert host.emit("end", {}, namespace="/moderation", callback=True)["ok"]
    heard = answerer.get_received("/moderation")
    posts = [m["args"][0]["body"] for m in heard if m["name"] == "post"]
    assert posts == ["欢迎参与今天的在线问政"]
    assert [m["args"][0]["state"] for m in heard if m["name"] == "session"] == ["ended"]
    host.disconnect(namespace="/moderation")
    gone = received(answerer, "presence")
    assert gone == [{"user_id": people["host"].id, "name": "host1", "online": False}]


def test_review_and_answers_update_the_console_counters(app, live_session, people,
                                                        make_question):
    answerer, joined = staff_socket(app, "ans1", live_session)
    assert joined["snapshot"]["counts"]["pending"] == 0
    question = make_question(live_session)
    summaries.flush_summaries()
    assert received(answerer, "counts")[-1]["pending"] == 1
    host, _ = staff_socket(app, "host1", live_session)
    host.emit("approve", {"question_id": question.id}, namespace="/moderation", callback=True)
    answer = answerer.emit("answer", {"question_id": question.id, "body": "可以申请补贴。"},
                           namespace="/moderation", callback=True)
    assert answer["ok"], answer
    answerer.get_received("/moderation")
    summaries.flush_summaries()
    counts = received(answerer, "counts")
    assert len(counts) == 1
    assert counts[0]["pending"] == 0 and counts[0]["answered"] == 1
    assert counts[0]["median_answer_seconds"] is not None
