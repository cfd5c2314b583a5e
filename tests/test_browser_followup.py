"""A follow-up in a real browser: the office closes it with a second reply, and the citizen's
private status link (/q/<token>) on a phone shows it.

Chromium (Playwright) drives ``wsgi.py`` under gevent on the demo database, whose held sessions
ended with unanswered questions and so with automatic follow-ups (tests/live_server.py).
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from qa_live.demo import DEMO_PASSWORD
from tests.live_server import (  # noqa: F401 - browser and demo_server are pytest fixtures
    LiveServer,
    demo_server,
    new_desktop_context,
    new_phone_context,
    screenshot,
)

pytestmark = pytest.mark.browser

SLUG = "demo-09"  # held some four weeks ago; its follow-ups are late (qa_live/followup/demo.py)
UNANSWERED = "外资企业在本市设立研发中心"
REPLY = "经与外资处核实：外资研发中心可申请市级研发机构认定，认定后按规定享受设备购置补助。"


def follow_up_of_unanswered(server: LiveServer) -> tuple[int, str]:
    """The demo's automatic follow-up on the unanswered question, and the asker's link token."""
    with sqlite3.connect(server.instance_dir / "qa.sqlite3") as conn:
        row = conn.execute(
            "SELECT f.id, q.access_token FROM follow_ups f JOIN questions q ON q.id = f.question_id"
            " JOIN live_sessions s ON s.id = q.session_id WHERE s.slug = ? AND q.text LIKE ?",
            (SLUG, UNANSWERED + "%"),
        ).fetchone()
    assert row is not None, "the demo's ended session should have an automatic follow-up"
    return int(row[0]), str(row[1])


def test_a_second_reply_reaches_the_citizens_private_link(browser, demo_server):
    follow_up_id, token = follow_up_of_unanswered(demo_server)
    phone_context, phone_watch = new_phone_context(browser, demo_server.url)
    desk_context, desk_watch = new_desktop_context(browser, demo_server.url)
    try:
        phone = phone_context.new_page()
        phone.goto(f"/q/{token}")
        assert REPLY not in phone.content()

        page = desk_context.new_page()
        page.goto("/login")
        page.get_by_label("登录名").fill("office")
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/office/$"))

        # The overdue list shows it highlighted (the demo session ended four weeks ago).
        page.goto("/follow-ups/?view=overdue")
        row = page.locator(f"tr.fu-overdue[data-follow-up='{follow_up_id}']")
        row.wait_for()
        row.get_by_role("link", name=f"#{follow_up_id}").click()
        page.wait_for_url(re.compile(rf"/follow-ups/{follow_up_id}$"))

        # Hand it to a department, then close it with the second reply.
        page.select_option("#department_id", label="对外贸易处")
        page.locator("#edit-section button[type=submit]").click()
        page.wait_for_url(re.compile(rf"/follow-ups/{follow_up_id}$"))
        page.locator("#reply").fill(REPLY)
        page.locator("#fu-close").click()
        page.wait_for_url(re.compile(rf"/follow-ups/{follow_up_id}$"))
        page.locator("#fu-status.fu-status-done").wait_for()
        assert page.locator(".fu-history li[data-field='reply']").count() == 1
        screenshot(page, "followup-closed-desktop")

        # The citizen's private link shows the second reply under the question.
        phone.reload()
        answer = phone.locator("li.kind-follow_up", has_text=REPLY)
        answer.wait_for()
        assert "对外贸易处" in answer.inner_text()
        screenshot(phone, "followup-second-reply-phone")

        # So does the public transcript, under the same question.
        phone.goto(f"/s/{SLUG}")
        entry = phone.locator("[id^='q-']", has_text=UNANSWERED)
        assert REPLY in entry.inner_text()
        assert "二次答复" in entry.inner_text()
        phone_watch.assert_clean()
        desk_watch.assert_clean()
    finally:
        desk_context.close()
        phone_context.close()
