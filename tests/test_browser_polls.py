"""Votes and polls in a real browser: the host opens a poll in the console, a phone answers it
and the console sees the count without a reload (the projector too, results being shown live);
a phone votes a session's theme without the script and another with it.

Chromium (Playwright) drives ``wsgi.py`` under gevent on the demo database (tests/live_server.py):
demo-11 is live (with an open poll), demo-12 is announced with its theme vote open.
"""

from __future__ import annotations

import re
import uuid

import pytest

from tests.live_server import (  # noqa: F401 - browser and demo_server are pytest fixtures
    LiveServer,
    demo_server,
    new_desktop_context,
    new_phone_context,
    screenshot,
)
from tests.test_browser_console import LIVE_SLUG, log_in, open_console

pytestmark = pytest.mark.browser

ANNOUNCED_SLUG = "demo-12"  # announced, with its theme vote open (qa_live/demo.py)


def poll_card(page, selector: str, question: str):
    return page.locator(f"{selector} .poll", has_text=question)


def count_of(card, label: str) -> int:
    row = card.locator(".poll-result", has=card.page.locator(".poll-label", has_text=label))
    return int(row.locator(".poll-count").inner_text())


def test_a_phone_answers_a_poll_and_the_console_sees_it_without_reload(browser, demo_server):
    desk, desk_watch = new_desktop_context(browser, demo_server.url)
    phone_context, phone_watch = new_phone_context(browser, demo_server.url)
    tag = uuid.uuid4().hex[:6]
    question = f"您更关心哪项服务？（{tag}）"
    try:
        host = desk.new_page()
        log_in(host, demo_server, "host")
        open_console(host, demo_server)
        screen = desk.new_page()
        screen.goto(f"{demo_server.url}/s/{LIVE_SLUG}/screen")
        phone = phone_context.new_page()
        phone.goto(f"{demo_server.url}/s/{LIVE_SLUG}")
        phone.wait_for_function("() => window.qaStream && window.qaStream.ready")

        # The host opens a single-choice poll whose results citizens see live.
        host.locator("#poll-question").fill(question)
        host.locator("#poll-options").fill("办事指南\n政策解读\n投诉渠道")
        host.locator("#poll-composer input[name=results][value=live]").check()
        host.locator("#poll-open").click()
        on_console = poll_card(host, "#console-poll-list", tag)
        on_console.wait_for()
        assert on_console.locator(".poll-total").inner_text().startswith("0")

        # It reaches the phone without a reload; the phone answers over the socket.
        on_phone = poll_card(phone, "#poll-list", tag)
        on_phone.wait_for()
        on_phone.scroll_into_view_if_needed()
        screenshot(phone, "poll-on-phone", full_page=False)
        on_phone.locator(".poll-option", has_text="政策解读").click()
        on_phone.locator(".poll-submit").click()
        on_phone.locator(".poll-status").wait_for()
        assert on_phone.locator(".poll-submit").inner_text() == "修改我的回答"

        # The console's count moves with the next summary, and the phone's and the screen's.
        row = on_console.locator(".poll-result", has_text="政策解读").locator(".poll-count")
        row.filter(has_text=re.compile(r"^1$")).wait_for()
        poll_card(screen, "#poll-list", tag).locator(".poll-result", has_text="政策解读") \
            .locator(".poll-count").filter(has_text=re.compile(r"^1$")).wait_for()
        on_phone.locator(".poll-result.is-mine", has_text="政策解读").wait_for()
        screenshot(host, "poll-in-console", full_page=False)

        # Changing the answer moves the count, still one person.
        on_phone.locator(".poll-option", has_text="投诉渠道").click()
        on_phone.locator(".poll-submit").click()
        on_console.locator(".poll-result", has_text="投诉渠道").locator(".poll-count") \
            .filter(has_text=re.compile(r"^1$")).wait_for()
        assert count_of(on_console, "政策解读") == 0
        assert on_console.locator(".poll-total").inner_text().startswith("1")

        # Closing: the phone shows the final results and no form.
        on_console.locator(".poll-close").click()
        poll_card(phone, "#poll-list", tag).locator(".badge", has_text="已结束").wait_for()
        assert poll_card(phone, "#poll-list", tag).locator("form").count() == 0
        desk_watch.assert_clean()
        phone_watch.assert_clean()
    finally:
        desk.close()
        phone_context.close()


def test_a_phone_without_the_script_answers_a_poll_with_the_plain_form(browser, demo_server):
    context, watch = new_phone_context(browser, demo_server.url, java_script_enabled=False)
    try:
        phone = context.new_page()
        phone.goto(f"{demo_server.url}/s/{LIVE_SLUG}")
        card = poll_card(phone, "#poll-list", "清晰程度")  # the demo's open poll
        card.locator(".poll-option", has_text="基本满意").click()
        card.locator(".poll-submit").click()
        phone.wait_for_url(re.compile(r"#poll-\d+$"))
        phone.locator(".flash", has_text="您的回答已计入").wait_for()
        card = poll_card(phone, "#poll-list", "清晰程度")
        assert card.locator("input[type=radio]:checked").evaluate("i => i.value") != ""
        assert card.locator(".poll-submit").inner_text() == "修改我的回答"
        watch.assert_clean()
    finally:
        context.close()


def test_a_phone_votes_the_theme_without_the_script(browser, demo_server):
    context, watch = new_phone_context(browser, demo_server.url, java_script_enabled=False)
    try:
        phone = context.new_page()
        phone.goto(f"{demo_server.url}/s/{ANNOUNCED_SLUG}")
        ballot = phone.locator("#theme-vote")
        ballot.locator(".vote-option", has_text="直播电商规范发展").click()
        ballot.locator(".vote-submit").click()
        phone.wait_for_url(re.compile(rf"/s/{ANNOUNCED_SLUG}#vote-\d+$"))
        phone.locator(".flash", has_text="您的投票已计入").wait_for()
        done = phone.locator("#theme-vote .vote-done")
        assert "直播电商规范发展" in done.inner_text()
        assert phone.locator("#theme-vote form").count() == 0  # once per person
        screenshot(phone, "theme-vote-without-script", full_page=False)
        watch.assert_clean()
    finally:
        context.close()


def test_a_phone_votes_the_theme_with_the_script_without_reload(browser, demo_server):
    context, watch = new_phone_context(browser, demo_server.url)
    try:
        phone = context.new_page()
        phone.goto(f"{demo_server.url}/s/{ANNOUNCED_SLUG}")
        phone.evaluate("window.__sameDocument = true")
        ballot = phone.locator("#theme-vote")
        ballot.locator(".vote-submit").click()  # nothing chosen: said at once, nothing sent
        assert ballot.locator(".vote-error").inner_text() == "请选择一项。"
        ballot.locator(".vote-option", has_text="跨境电商出口退税与海外仓").click()
        ballot.locator(".vote-submit").click()
        done = ballot.locator(".vote-done")
        done.wait_for()
        assert "跨境电商出口退税与海外仓" in done.inner_text()
        assert phone.evaluate("window.__sameDocument") is True  # no reload
        # The server agrees: a reload shows the vote counted and no form.
        phone.reload()
        assert "跨境电商出口退税与海外仓" in phone.locator("#theme-vote .vote-done").inner_text()
        assert phone.locator("#theme-vote form").count() == 0
        watch.assert_clean()
    finally:
        context.close()
