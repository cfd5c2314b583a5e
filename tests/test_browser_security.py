"""Hostile text in a real browser: questions, nicknames, answers and host posts written to run
script appear as text on the citizen page, the console, the projector view and the transcript,
and no dialog ever opens."""

from __future__ import annotations

import re

import pytest
import requests

from qa_live.demo import DEMO_PASSWORD
from tests.live_server import LiveServer, browsing, demo_server, screenshot  # noqa: F401

pytestmark = pytest.mark.browser

LIVE = "demo-11"
HOSTILE_QUESTIONS = [
    '<img src=x onerror=alert("q1")> 请问补贴怎么申请',
    "<script>alert('q2')</script> 出口退税多久到账",
    '<a href="javascript:alert(3)">点我</a> 外贸企业备案',
    "\u202egnp.exe 反向文字\u200b零宽\u200d字符 测试问题",
]
HOSTILE_NICK = '<svg onload=alert("n")>'
HOSTILE_ANSWER = '<b>粗体</b><img src=x onerror=alert("a")> 答复内容'
HOSTILE_POST = '<iframe src="javascript:alert(\'p\')"></iframe> 政策解读'
SELECTORS = "img[src='x'], script:not([src]):not([type='application/json']), iframe, svg[onload]"


def _ask(server: LiveServer, text: str, nick: str) -> int:
    visitor = requests.get(f"{server.url}/api/v1/visitor", timeout=10).json()["visitor_token"]
    import uuid

    response = requests.post(
        f"{server.url}/api/v1/sessions/{LIVE}/questions",
        json={"text": text, "nickname": nick, "client_id": str(uuid.uuid4())},
        headers={"X-Visitor-Token": visitor}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["question"]["id"]


def _act(server: LiveServer, token: str, session_id: int, name: str, data: dict) -> None:
    response = requests.post(
        f"{server.url}/api/v1/staff/sessions/{session_id}/actions/{name}", json=data,
        headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def hostile(demo_server):
    session_id = requests.get(f"{demo_server.url}/api/v1/sessions/{LIVE}",
                              timeout=10).json()["session"]["id"]
    token = demo_server.flask("api", "token", "host").stdout.strip()
    ids = [_ask(demo_server, text, HOSTILE_NICK) for text in HOSTILE_QUESTIONS]
    for question_id in ids:
        _act(demo_server, token, session_id, "approve", {"question_id": question_id})
    _act(demo_server, token, session_id, "answer", {"question_id": ids[0],
                                                    "body": HOSTILE_ANSWER})
    _act(demo_server, token, session_id, "post", {"kind": "policy", "body": HOSTILE_POST})
    return {"session_id": session_id, "ids": ids}


def _assert_shown_as_text(page, watch) -> None:
    body = page.locator("body").inner_text()
    for text in ("请问补贴怎么申请", "出口退税多久到账", "外贸企业备案", "答复内容", "政策解读"):
        assert text in body, text
    assert '<img src=x onerror=alert("q1")>' in body
    assert "<script>alert('q2')</script>" in body
    assert page.locator(SELECTORS).count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    page.wait_for_timeout(300)  # any onerror/onload would have fired by now
    assert watch.dialogs == []
    watch.assert_clean()


def test_hostile_text_stays_text_on_the_citizen_page_and_projector(browser, demo_server,
                                                                  hostile):
    with browsing(browser, demo_server.url, phone=True) as (page, watch):
        page.goto(f"{demo_server.url}/s/{LIVE}")
        page.locator("body").wait_for()
        page.wait_for_function("() => window.qaStream && window.qaStream.lastSeq > 0")
        _assert_shown_as_text(page, watch)
        screenshot(page, "xss-citizen-phone")
        page.goto(f"{demo_server.url}/s/{LIVE}/screen")
        page.wait_for_timeout(800)
        body = page.locator("body").inner_text()
        assert "答复内容" in body and page.locator(SELECTORS).count() == 0
        assert watch.dialogs == []


def test_hostile_text_stays_text_in_the_console(browser, demo_server, hostile):
    with browsing(browser, demo_server.url) as (page, watch):
        page.goto(demo_server.url + "/login")
        page.get_by_label("登录名").fill("host")
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/office/$"))
        page.goto(f"{demo_server.url}/console/{LIVE}")
        page.locator("#console[data-ready='true']").wait_for()
        for queue in ("published", "answered"):
            page.locator(f"#tab-{queue}").click()
        page.locator("#tab-answered").click()
        assert "答复内容" in page.locator("#list-answered").inner_text()
        page.locator("#tab-published").click()
        published = page.locator("#list-published").inner_text()
        assert "<script>alert('q2')</script>" in published
        assert page.locator(SELECTORS).count() == 0
        assert watch.dialogs == []
        watch.assert_clean()
        screenshot(page, "xss-console")


def test_hostile_text_stays_text_on_the_transcript(browser, demo_server, hostile):
    """Last in the module: it ends the demo's live session, whose page becomes the transcript."""
    token = demo_server.flask("api", "token", "host").stdout.strip()
    _act(demo_server, token, hostile["session_id"], "end", {})
    with browsing(browser, demo_server.url, phone=True) as (page, watch):
        for path in (f"/s/{LIVE}", f"/s/{LIVE}/print"):
            page.goto(demo_server.url + path)
            body = page.locator("body").inner_text()
            assert '<img src=x onerror=alert("q1")>' in body, path
            assert "答复内容" in body and "政策解读" in body, path
            assert page.locator(SELECTORS).count() == 0, path
            assert page.locator("a[href^='javascript']").count() == 0, path
        page.wait_for_timeout(300)
        assert watch.dialogs == []
        watch.assert_clean()
