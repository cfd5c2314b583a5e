"""The live session in a real browser: a citizen on a phone asks, loses the connection, retries.

Chromium (Playwright) drives ``wsgi.py`` under gevent on the demo database, where ``demo-11``
is live now and ``demo-12`` is announced (tests/live_server.py). Staff act through the JSON API
with a personal token, as an external tool would. Screenshots land in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.live_server import (  # noqa: F401 - browser and demo_server are pytest fixtures
    ROOT,
    LiveServer,
    demo_server,
    new_desktop_context,
    new_phone_context,
    screenshot,
)

pytestmark = pytest.mark.browser

LIVE = "demo-11"
ANNOUNCED = "demo-12"
PHONE_WIDTH = 360

_MAKE_TOKEN = """
import sys
from qa_live import create_app
from qa_live.auth.services import find_user_by_login
from qa_live.auth.tokens import create_token
from qa_live.extensions import db

with create_app().app_context():
    _row, secret = create_token(find_user_by_login(sys.argv[1]), "browser tests")
    db.session.commit()
    print(secret)
"""

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _request(url: str, method: str = "GET", body: dict | None = None,
             headers: dict[str, str] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", **(headers or {})})
    with _DIRECT.open(request, timeout=10) as response:
        return json.loads(response.read())


@dataclass
class Staff:
    """The demo host, acting through /api/v1 with a personal token."""

    server: LiveServer
    token: str

    def session_id(self, slug: str) -> int:
        return _request(f"{self.server.url}/api/v1/sessions/{slug}")["session"]["id"]

    def act(self, slug: str, name: str, **data: Any) -> dict[str, Any]:
        result = _request(
            f"{self.server.url}/api/v1/staff/sessions/{self.session_id(slug)}/actions/{name}",
            "POST", data, {"Authorization": f"Bearer {self.token}"})
        assert result["ok"], result
        return result

    def questions(self, slug: str) -> list[dict[str, Any]]:
        return _request(f"{self.server.url}/api/v1/staff/sessions/{self.session_id(slug)}",
                        headers={"Authorization": f"Bearer {self.token}"})["questions"]


@pytest.fixture(scope="module")
def staff(demo_server: LiveServer) -> Staff:
    """A personal API token of the demo host, made in the server's database."""
    result = subprocess.run(
        [sys.executable, "-c", _MAKE_TOKEN, "host"], cwd=ROOT, env=demo_server.env,
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return Staff(demo_server, result.stdout.strip().splitlines()[-1])


def citizen_asks(staff: Staff, text: str) -> int:
    """Another citizen's question, asked through the public API and published by the host."""
    server = staff.server.url
    token = _request(f"{server}/api/v1/visitor")["visitor_token"]
    asked = _request(f"{server}/api/v1/sessions/{LIVE}/questions", "POST",
                     {"text": text, "client_id": str(uuid.uuid4())},
                     {"X-Visitor-Token": token})
    question_id = asked["question"]["id"]
    staff.act(LIVE, "approve", question_id=question_id)
    return question_id


def open_live(page, slug: str = LIVE) -> None:
    page.goto(f"/s/{slug}")
    page.wait_for_function("() => window.qaStream && window.qaStream.ready")


def drop_connection(page) -> None:
    """Close the socket's transport and keep it closed (as when the phone loses its network)."""
    page.evaluate("""() => {
        const socket = window.qaStream.socket;
        socket.io.reconnection(false);
        socket.io.engine.close();
    }""")
    page.wait_for_function("() => !window.qaStream.socket.connected")


def restore_connection(page) -> None:
    page.evaluate("""() => {
        const socket = window.qaStream.socket;
        socket.io.reconnection(true);
        socket.connect();
    }""")


def fits_the_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} is {width} px wide on a {PHONE_WIDTH} px phone"


def test_citizen_asks_from_a_phone_and_sees_the_answer_arrive(browser, demo_server, staff):
    from playwright.sync_api import expect

    question = f"小微外贸企业出口信用保险保费补贴怎么申请？{uuid.uuid4().hex[:6]}"
    answer = "符合条件的企业可在线提交申请，商务局按季度审核拨付。"
    context, watch = new_phone_context(browser, demo_server.url)
    try:
        page = context.new_page()
        open_live(page)
        page.evaluate("window.__notReloaded = true")
        page.locator("#text").fill(question)
        page.locator("#nickname").fill("外贸小王")
        page.locator("#ask-submit").tap()

        mine = page.locator("#my-list .mine-item", has_text=question)
        expect(mine.locator(".status")).to_have_class(re.compile(r"status-pending"))
        expect(page.locator("#text")).to_have_value("")
        question_id = int(mine.get_attribute("id").removeprefix("mine-"))
        # Still only visible to its asker: the public stream does not have it.
        expect(page.locator(f"#q-{question_id}")).to_have_count(0)
        fits_the_phone(page)
        screenshot(page, "phone-live-asked")

        staff.act(LIVE, "approve", question_id=question_id)
        expect(page.locator(f"#q-{question_id} .q-text")).to_have_text(question)
        staff.act(LIVE, "answer", question_id=question_id, body=answer)
        expect(page.locator(f"#q-{question_id} .answer .a-body")).to_have_text(answer)
        expect(mine.locator(".status")).to_have_class(re.compile(r"status-answered"))
        expect(mine.locator(".a-body")).to_have_text(answer)
        assert page.evaluate("window.__notReloaded") is True
        fits_the_phone(page)
        screenshot(page, "phone-live-answered")
        watch.assert_clean()
    finally:
        context.close()

    # The room's projector shows it as the latest answer, without scrolling.
    context, watch = new_desktop_context(browser, demo_server.url,
                                         viewport={"width": 1280, "height": 720})
    try:
        screen = context.new_page()
        screen.goto(f"/s/{LIVE}/screen")
        screen.wait_for_function("() => window.qaStream && window.qaStream.ready")
        expect(screen.locator("#featured-body .featured-question")).to_have_text(question)
        expect(screen.locator("#featured-body .a-body")).to_have_text(answer)
        expect(screen.locator("#screen-main .screen-share svg")).to_be_visible()
        size = screen.evaluate("[document.documentElement.scrollWidth,"
                               " document.documentElement.scrollHeight]")
        assert size[0] <= 1280 and size[1] <= 720, size
        screenshot(screen, "projector-1280x720", full_page=False)
        watch.assert_clean()
    finally:
        context.close()


def test_answers_published_while_offline_arrive_once_after_reconnecting(browser, demo_server,
                                                                        staff):
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6]
    first = citizen_asks(staff, f"跨境电商出口退税需要哪些单证？{tag}")
    second = citizen_asks(staff, f"外贸企业参展补贴什么时候发放？{tag}")
    context, watch = new_phone_context(browser, demo_server.url)
    try:
        page = context.new_page()
        open_live(page)
        for question_id in (first, second):
            expect(page.locator(f"#q-{question_id}")).to_have_count(1)
            expect(page.locator(f"#q-{question_id} .answer")).to_have_count(0)

        drop_connection(page)
        expect(page.locator("#conn-banner")).to_be_visible()
        expect(page.locator("#conn-banner")).to_have_attribute("data-kind", "warn")
        staff.act(LIVE, "answer", question_id=first, body=f"第一条答复 {tag}")
        staff.act(LIVE, "answer", question_id=second, body=f"第二条答复 {tag}")
        page.wait_for_timeout(500)  # had they still reached the page, they would show by now
        expect(page.locator(f"#q-{first} .answer")).to_have_count(0)
        seq_before = page.evaluate("window.qaStream.lastSeq")

        restore_connection(page)
        expect(page.locator(f"#q-{first} .answer .a-body")).to_have_text(f"第一条答复 {tag}")
        expect(page.locator(f"#q-{second} .answer .a-body")).to_have_text(f"第二条答复 {tag}")
        expect(page.locator("#conn-banner")).to_have_attribute("data-kind", "ok")
        page.wait_for_timeout(300)  # any late duplicate would land now
        for question_id in (first, second):
            expect(page.locator(f"#q-{question_id}")).to_have_count(1)
            expect(page.locator(f"#q-{question_id} .answer")).to_have_count(1)
        ids = page.locator("#question-list > li").evaluate_all("els => els.map(e => e.id)")
        assert len(ids) == len(set(ids)), ids
        assert page.evaluate("window.qaStream.lastSeq") >= seq_before + 2
        fits_the_phone(page)
        watch.assert_clean()
    finally:
        context.close()


def test_a_question_asked_offline_is_sent_once_after_a_reload(browser, demo_server, staff):
    from playwright.sync_api import expect

    question = f"社区菜市场改造什么时候完成？{uuid.uuid4().hex[:6]}"
    context, watch = new_phone_context(browser, demo_server.url)
    try:
        page = context.new_page()
        open_live(page)
        drop_connection(page)
        page.locator("#text").fill(question)
        page.locator("#ask-submit").tap()
        waiting = page.locator("#my-list .mine-item.is-sending", has_text=question)
        expect(waiting).to_have_count(1)
        stored = page.evaluate(f"JSON.parse(localStorage.getItem('qa_live:pending:{LIVE}'))")
        assert [q["text"] for q in stored] == [question]
        client_id = stored[0]["client_id"]

        # Unacknowledged, the question survives a reload and goes out after the join.
        page.reload()
        page.wait_for_function("() => window.qaStream && window.qaStream.ready")
        mine = page.locator("#my-list .mine-item", has_text=question)
        expect(mine).to_have_count(1)
        expect(mine).not_to_have_class(re.compile(r"is-sending"))
        expect(mine.locator(".status")).to_have_class(re.compile(r"status-pending"))
        page.wait_for_function(f"() => localStorage.getItem('qa_live:pending:{LIVE}') === '[]'")

        # The same client_id again (a retry whose first ack was lost): the stored question.
        again = page.evaluate("""([clientId, text]) => new Promise((resolve) => {
            window.qaStream.emit("ask", {client_id: clientId, text},
                                 (error, ack) => resolve(error ? {error: String(error)} : ack));
        })""", [client_id, question])
        assert again["ok"] and again["duplicate"], again
        page.reload()
        expect(page.locator("#my-list .mine-item", has_text=question)).to_have_count(1)
        assert [q["text"] for q in staff.questions(LIVE)].count(question) == 1
        watch.assert_clean()
    finally:
        context.close()


def test_projector_of_an_announced_session_goes_live_when_the_host_starts(browser, demo_server,
                                                                         staff):
    from playwright.sync_api import expect

    context, watch = new_desktop_context(browser, demo_server.url,
                                         viewport={"width": 1280, "height": 720})
    try:
        screen = context.new_page()
        screen.goto(f"/s/{ANNOUNCED}/screen")
        screen.wait_for_function("() => window.qaStream && window.qaStream.ready")
        expect(screen.locator("#screen-waiting")).to_be_visible()
        expect(screen.locator("#screen-main")).to_be_hidden()
        screenshot(screen, "projector-announced-1280x720", full_page=False)

        staff.act(ANNOUNCED, "start")
        expect(screen.locator("#screen-main")).to_be_visible()
        expect(screen.locator("#screen-waiting")).to_be_hidden()
        expect(screen.locator("#screen")).to_have_attribute("data-state", "live")
        watch.assert_clean()
    finally:
        context.close()
