"""The moderation console in a real browser: a question asked on a phone reaches the host live,
the host approves it, an answerer claims and answers it, and everyone's console follows.

Chromium (Playwright) drives ``wsgi.py`` under gevent on the demo database (tests/live_server.py).
Screenshots of the console (1280×800) land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from qa_live.demo import DEMO_PASSWORD
from tests.live_server import (  # noqa: F401 - browser and demo_server are pytest fixtures
    LiveServer,
    demo_server,
    new_desktop_context,
    new_phone_context,
    screenshot,
    start_server,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
LIVE_SLUG = "demo-11"  # the demo's session that is live now (政府信息公开与政务服务, 办公室)
ANSWERER = "answerer01"  # on duty for 办公室


# Stores a live question straight in the database, as if asked while this server was away:
# no event is ever sent for it, so only a console that rebuilds from its join can show it.
_ASK_OFFLINE = """
import sys, uuid
from sqlalchemy import select
from qa_live import create_app
from qa_live.extensions import db
from qa_live.live import intake
from qa_live.live.models import QuestionSource
from qa_live.live.validation import QuestionInput
from qa_live.planning.models import LiveSession

with create_app().app_context():
    session = db.session.scalar(select(LiveSession).where(LiveSession.slug == sys.argv[1]))
    intake.submit_question(session, "visitor-asked-during-outage",
                           QuestionInput(text=sys.argv[2], nickname="", phone=None,
                                         client_id=str(uuid.uuid4())),
                           QuestionSource.LIVE)
    db.session.commit()
"""

#: What Chromium logs while the server is away (socket.io keeps trying); expected, not a fault.
_OUTAGE_NOISE = re.compile(r"ERR_CONNECTION_REFUSED|WebSocket connection|ERR_EMPTY_RESPONSE")


def log_in(page, server: LiveServer, login: str) -> None:
    """Log in through the form (zh-CN labels) as a demo staff member."""
    page.goto(server.url + "/login")
    page.get_by_label("登录名").fill(login)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/office/$"))


def open_console(page, server: LiveServer, slug: str = LIVE_SLUG) -> None:
    """Open a session's console and wait until the socket's join has filled it."""
    page.goto(f"{server.url}/console/{slug}")
    page.locator("#console[data-ready='true']").wait_for()


def card(page, queue: str, text: str):
    """The card of a question in one of the console's queues."""
    return page.locator(f"#list-{queue} .q-card", has_text=text)


def ask_from_phone(phone, server: LiveServer, text: str) -> int:
    """A citizen opens the session on a phone and asks (through the public JSON API).

    The page gives the phone its visitor cookie; the request shares the context's cookies.
    """
    phone.goto(f"{server.url}/s/{LIVE_SLUG}")
    response = phone.request.post(
        f"{server.url}/api/v1/sessions/{LIVE_SLUG}/questions",
        data={"client_id": str(uuid.uuid4()), "text": text, "nickname": "张先生"},
    )
    assert response.status == 201, response.text()
    return response.json()["question"]["id"]


def test_a_phone_question_is_moderated_and_answered_live_in_the_console(browser, demo_server):
    host_context, host_watch = new_desktop_context(browser, demo_server.url)
    answerer_context, answerer_watch = new_desktop_context(browser, demo_server.url)
    phone_context, _phone_watch = new_phone_context(browser, demo_server.url)
    try:
        host = host_context.new_page()
        log_in(host, demo_server, "host")
        console_link = host.locator(f"#consoles a[href='/console/{LIVE_SLUG}']")
        assert console_link.count() == 1, "the workbench links to the live session's console"
        console_link.click()
        host.locator("#console[data-ready='true']").wait_for()
        assert host.locator("#state-badge").get_attribute("class") == "state-badge state-live"
        assert host.locator("#end-button").is_visible()
        assert not host.locator("#start-button").is_visible()

        # The citizen asks; the question lands in the host's pending queue, flagged words marked.
        tag = uuid.uuid4().hex[:6]
        text = f"申请政府信息公开要多久能答复？有人说加 微 信能快点，可信吗？（{tag}）"
        question_id = ask_from_phone(phone_context.new_page(), demo_server, text)
        pending = card(host, "pending", tag)
        pending.wait_for()
        assert pending.get_attribute("id") == f"q-{question_id}"
        assert pending.locator("mark").all_inner_texts() == ["加 微 信"]
        assert "张先生" in pending.locator(".q-meta").inner_text()
        assert host.locator("#tab-count-pending").inner_text() != "0"
        screenshot(host, "console-host-pending", full_page=False)

        # The answerer's console shows it waiting for review, with nothing to press yet.
        answerer = answerer_context.new_page()
        log_in(answerer, demo_server, ANSWERER)
        open_console(answerer, demo_server)
        waiting = card(answerer, "pending", tag)
        waiting.wait_for()
        assert waiting.locator("[data-action]").count() == 0
        assert answerer.locator("#start-button").count() == 0  # no host controls at all
        answerer.locator("#presence-list li", has_text="主持人 李明").wait_for()

        # The host approves; it moves to "to answer" on both consoles.
        pending.locator("[data-action=approve]").click()
        pending.wait_for(state="detached")
        published = card(answerer, "published", tag)
        host.keyboard.press("2")
        card(host, "published", tag).wait_for()

        # The answerer claims it: the host sees who is answering and until when.
        answerer.locator("#tab-published").click()
        published.locator("[data-action=claim]").click()
        box = published.locator("textarea")
        box.wait_for()
        held = card(host, "published", tag).locator(".q-claim")
        held.wait_for()
        assert "办公室值班员" in held.inner_text()
        assert re.search(r"\d{2}:\d{2}", held.inner_text())
        assert card(host, "published", tag).locator("[data-action=claim]").count() == 0

        body = f"依申请公开一般在20个工作日内答复。请通过官方渠道申请，勿轻信他人。{tag}"
        box.fill(body)
        published.locator("button[type=submit]").click()
        published.wait_for(state="detached")
        assert answerer.locator("#tab-answered .tab-new").count() == 1  # "new" on the tab
        answerer.locator("#tab-answered").click()
        answered = card(answerer, "answered", tag)
        answered.wait_for()
        assert answered.locator(".a-body").inner_text() == body

        # The host's answered queue shows it, with the answering department.
        host.locator("#tab-answered").click()
        done = card(host, "answered", tag)
        done.wait_for()
        assert done.locator(".a-body").inner_text() == body
        assert "办公室" in done.locator(".a-meta").inner_text()
        host.locator("#count-answered").filter(has_text=re.compile(r"^[1-9]")).wait_for()
        screenshot(host, "console-host-answered", full_page=False)
        screenshot(answerer, "console-answerer-answered", full_page=False)

        host_watch.assert_clean()
        answerer_watch.assert_clean()
    finally:
        for context in (host_context, answerer_context, phone_context):
            context.close()


def test_a_refused_action_is_explained_next_to_it(browser, demo_server):
    context, watch = new_desktop_context(browser, demo_server.url)
    phone_context, _phone_watch = new_phone_context(browser, demo_server.url)
    try:
        host = context.new_page()
        log_in(host, demo_server, "host")
        open_console(host, demo_server)
        tag = uuid.uuid4().hex[:6]
        question_id = ask_from_phone(phone_context.new_page(), demo_server,
                                     f"社区政务服务点周末开门吗？（{tag}）")
        pending = card(host, "pending", tag)
        pending.wait_for()

        # Editing the wording to nothing is refused by the server; the message shows on the card.
        pending.locator("[data-action=edit]").click()
        area = pending.locator("textarea")
        area.fill("短")
        pending.locator("button[type=submit]").click()
        error = pending.locator(".action-error")
        error.filter(has_text=re.compile(r"\S")).wait_for()
        assert pending.locator("textarea").input_value() == "短"  # the form stays open

        # Reject with a reason: it moves to "not published" with that reason.
        pending.locator("[data-form-cancel]").click()
        pending.locator("[data-action=reject]").click()
        pending.locator("[data-reason=off_topic]").click()
        host.locator("#tab-rejected").click()
        rejected = card(host, "rejected", tag)
        rejected.wait_for()
        assert rejected.get_attribute("id") == f"q-{question_id}"
        assert rejected.locator(".q-rejected").inner_text().strip()

        # The filter finds it by number, and hides it for other words.
        host.locator("#queue-filter").fill(str(question_id))
        assert rejected.is_visible()
        host.locator("#queue-filter").fill(f"nothing-like-this-{tag}")
        rejected.wait_for(state="hidden")
        assert host.locator("#empty-rejected").is_visible()

        # A notice is published, then removed after the inline confirmation.
        notice = f"直播间将于10分钟后暂停（{tag}）"
        host.locator("input[name=kind][value=notice]").check()
        host.locator("#post-body").fill(notice)
        host.locator("#post-body").press("Control+Enter")
        post = host.locator("#post-list .post", has_text=notice)
        post.wait_for()
        assert host.locator("#post-body").input_value() == ""
        post.locator("[data-post-action=remove]").click()
        post.locator("button[type=submit]").click()
        post.wait_for(state="detached")

        # On a tablet the side panel goes below the queues and nothing overflows sideways.
        host.locator("#queue-filter").fill("")
        host.set_viewport_size({"width": 820, "height": 1180})
        assert host.evaluate("document.documentElement.scrollWidth") <= 820
        queues, side = (host.locator(sel).bounding_box() for sel in (".queues", ".side"))
        assert queues and side and side["y"] >= queues["y"] + queues["height"]
        screenshot(host, "console-host-tablet", full_page=False)
        watch.assert_clean()
    finally:
        context.close()
        phone_context.close()


def test_the_console_rebuilds_itself_when_the_server_comes_back(browser, demo_server):
    """Last in the module: it restarts the shared demo server (same database, port, secret)."""
    context, watch = new_desktop_context(browser, demo_server.url)
    try:
        host = context.new_page()
        log_in(host, demo_server, "host")
        open_console(host, demo_server)
        demo_server.stop()
        host.locator("#conn-banner[data-kind='warn']").wait_for()
        assert host.locator("#console.is-offline").count() == 1

        tag = uuid.uuid4().hex[:6]
        stored = subprocess.run(
            [sys.executable, "-c", _ASK_OFFLINE, LIVE_SLUG, f"停机期间提交的问题（{tag}）"],
            cwd=ROOT, env=demo_server.env, capture_output=True, text=True, timeout=60,
            check=False)
        assert stored.returncode == 0, stored.stderr
        back = start_server(demo_server.instance_dir, env={
            "PORT": str(demo_server.port), "SECRET_KEY": demo_server.env["SECRET_KEY"]})
        demo_server.process = back.process  # the fixture's teardown stops the new one
        card(host, "pending", tag).wait_for(timeout=30_000)
        host.locator("#conn-banner[data-kind='ok']").wait_for()
        assert host.locator("#console.is-offline").count() == 0
        watch.console_errors[:] = [e for e in watch.console_errors if not _OUTAGE_NOISE.search(e)]
        watch.assert_clean()
    finally:
        context.close()
