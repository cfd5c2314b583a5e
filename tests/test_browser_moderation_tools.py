"""The console's moderation tools in a real browser: variants marked as written, nicknames
screened and cleared, bulk actions with per-question failures, a merge naming its target live,
staff-only notes, the projector highlight and the "answered before" hint; the word-list page.

Chromium (Playwright) drives ``wsgi.py`` under gevent on the demo database (tests/live_server.py).
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
from tests.test_browser_console import LIVE_SLUG, card, log_in, open_console

pytestmark = pytest.mark.browser


def ask(browser, server: LiveServer, text: str, nickname: str = "") -> int:
    """A new citizen (own phone, own visitor) asks through the public JSON API."""
    context, _watch = new_phone_context(browser, server.url)
    try:
        phone = context.new_page()
        phone.goto(f"{server.url}/s/{LIVE_SLUG}")
        response = phone.request.post(
            f"{server.url}/api/v1/sessions/{LIVE_SLUG}/questions",
            data={"client_id": str(uuid.uuid4()), "text": text, "nickname": nickname})
        assert response.status == 201, response.text()
        return response.json()["question"]["id"]
    finally:
        context.close()


def selected(page) -> int:
    """How many questions the bulk bar says are ticked."""
    return int(re.search(r"\d+", page.locator("#bulk-count").inner_text()).group())


def office_api(page, server: LiveServer, token: str, name: str, body: dict) -> dict:
    """Another moderator acts through the staff API meanwhile."""
    session_id = page.evaluate("JSON.parse(document.getElementById('console-config')"
                               ".textContent).session_id")
    response = page.request.post(
        f"{server.url}/api/v1/staff/sessions/{session_id}/actions/{name}",
        data=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200, response.text()
    return response.json()


def test_variants_nicknames_bulk_actions_and_a_live_merge_in_the_console(browser, demo_server):
    context, watch = new_desktop_context(browser, demo_server.url)
    token = demo_server.flask("api", "token", "office").stdout.strip()
    try:
        host = context.new_page()
        log_in(host, demo_server, "host")
        open_console(host, demo_server)
        tag = uuid.uuid4().hex[:6]

        # A traditional, dotted variant and an abusive nickname: both marked as written.
        first = ask(browser, demo_server, f"小区里有人組織賭.博，能管管吗？（{tag}a）", "傻逼")
        pending = card(host, "pending", f"{tag}a")
        pending.wait_for()
        assert pending.locator(".q-text mark").all_inner_texts() == ["賭.博"]
        assert pending.locator(".q-who mark").all_inner_texts() == ["傻逼"]
        assert "傻逼" in pending.locator(".q-flag-nickname").inner_text()
        screenshot(host, "console-flagged-variant-and-nickname", full_page=False)

        # Clearing the nickname keeps the question pending, shown as 网民.
        pending.locator("[data-action=clear_nickname]").click()
        pending.locator(".q-flag-nickname").wait_for(state="detached")
        assert pending.locator(".q-who").inner_text() == "网民"
        assert pending.get_attribute("data-status") == "pending"

        # Two more questions; the host ticks all three.
        second = ask(browser, demo_server, f"社区医院周末能打疫苗吗？（{tag}b）")
        third = ask(browser, demo_server, f"社区医院周末能不能打疫苗？（{tag}c）")
        for suffix in "abc":
            box = card(host, "pending", f"{tag}{suffix}").locator("input.q-select")
            box.wait_for()
            box.check()
        assert selected(host) == 3

        # Meanwhile the office merges the third into the second: the card says into which,
        # without a reload, and stays ticked.
        office_api(host, demo_server, token, "merge", {"question_id": third, "into_id": second})
        host.locator("#tab-rejected").click()
        merged = card(host, "rejected", f"{tag}c")
        merged.wait_for()
        merged.locator(".q-rejected", has_text=f"{second}").wait_for()
        assert "合并" in merged.locator(".q-rejected").inner_text()

        # "Reject selected": two are rejected, the merged one cannot be and says why.
        host.locator("#bulk-reason").select_option("off_topic")
        host.locator("#bulk-reject").click()
        result = host.locator("#bulk-result")
        result.filter(has_text=re.compile(r"2\D+1")).wait_for()
        assert f"{third}" in result.locator(".bulk-failures").inner_text()
        assert merged.locator(".action-error").inner_text().strip()
        card(host, "rejected", f"{tag}a").wait_for()
        card(host, "rejected", f"{tag}b").wait_for()
        assert selected(host) == 1  # the refused one stays ticked

        # "Approve selected" on the two rejected ones brings them back, one transaction.
        host.locator("#bulk-clear").click()
        assert host.locator("#bulk-bar").is_hidden()
        for suffix in "ab":
            card(host, "rejected", f"{tag}{suffix}").locator("input.q-select").check()
        host.locator("#bulk-approve").click()
        host.locator("#tab-published").click()
        card(host, "published", f"{tag}a").wait_for()
        card(host, "published", f"{tag}b").wait_for()
        assert host.locator("#bulk-bar").is_hidden()
        assert first and second
        watch.assert_clean()
    finally:
        context.close()


def test_notes_the_projector_highlight_and_answered_before(browser, demo_server):
    host_context, host_watch = new_desktop_context(browser, demo_server.url)
    answerer_context, answerer_watch = new_desktop_context(browser, demo_server.url)
    screen_context, screen_watch = new_desktop_context(browser, demo_server.url)
    phone_context, _phone_watch = new_phone_context(browser, demo_server.url)
    try:
        host = host_context.new_page()
        log_in(host, demo_server, "host")
        open_console(host, demo_server)
        tag = uuid.uuid4().hex[:6]
        text = f"企业办理对外贸易经营者备案，能在网上办理吗？（{tag}）"
        ask(browser, demo_server, text)
        pending = card(host, "pending", tag)
        pending.wait_for()
        pending.locator("[data-action=approve]").click()
        host.locator("#tab-published").click()
        published = card(host, "published", tag)
        published.wait_for()

        # A staff-only note: the answerer's console shows it, the citizen's page never does.
        note = f"已电话联系企业，材料齐全（内部 {tag}）"
        published.locator("[data-action=note]").click()
        published.locator("textarea").fill(note)
        published.locator("button[type=submit]").click()
        published.locator(".q-note-body", has_text=note).wait_for()
        answerer = answerer_context.new_page()
        log_in(answerer, demo_server, "answerer01")
        open_console(answerer, demo_server)
        answerer.locator("#tab-published").click()
        card(answerer, "published", tag).locator(".q-note-body", has_text=note).wait_for()
        phone = phone_context.new_page()
        phone.goto(f"{demo_server.url}/s/{LIVE_SLUG}")
        phone.get_by_text(text).first.wait_for(state="attached")
        assert note not in phone.content()

        # The projector shows the highlighted question large.
        screen = screen_context.new_page()
        screen.goto(f"{demo_server.url}/s/{LIVE_SLUG}/screen")
        assert screen.locator("#highlight-panel").is_hidden()
        published.locator("[data-action=highlight]").click()
        panel = screen.locator("#highlight-panel")
        panel.wait_for()
        assert tag in screen.locator(".highlight-question").inner_text()
        assert screen.locator("#featured-panel").is_hidden()
        published.locator(".badge-screen").wait_for()
        screenshot(screen, "projector-now-answering", full_page=False)

        # The answerer opens the answer form: earlier answers to close questions are offered.
        answering = card(answerer, "published", tag)
        answering.locator("[data-action=claim]").click()
        hints = answering.locator(".similar-item")
        hints.first.wait_for()
        assert 1 <= hints.count() <= 5
        assert "对外贸易经营者备案" in hints.first.locator(".similar-q").inner_text()
        # From this session (no link) and from the archive (a link to that transcript).
        links = answering.locator(".similar-item a")
        assert links.count() >= 1 and links.first.get_attribute("href").startswith("/s/demo-")
        screenshot(answerer, "console-answered-before", full_page=False)
        answering.locator("textarea").first.fill(f"可以，全程网上办理。{tag}")
        answering.locator("button[type=submit]").click()
        answering.wait_for(state="detached")

        # Answered: off the projector, and its answer is the latest one.
        panel.wait_for(state="hidden")
        screen.locator("#featured-panel .a-body", has_text=tag).wait_for()
        assert note not in screen.content()
        for watch in (host_watch, answerer_watch, screen_watch):
            watch.assert_clean()
    finally:
        for context in (host_context, answerer_context, screen_context, phone_context):
            context.close()


def test_english_times_are_24_hour_and_the_word_list_page_works(browser, demo_server):
    context, watch = new_desktop_context(browser, demo_server.url)
    try:
        page = context.new_page()
        log_in(page, demo_server, "office")
        page.goto(f"{demo_server.url}/console/{LIVE_SLUG}?lang=en")
        page.locator("#console[data-ready='true']").wait_for()
        when = page.locator(".console-when").inner_text()
        assert re.search(r"\d{2}:\d{2} – \d{2}:\d{2}", when) and not re.search(r"AM|PM", when)

        page.goto(f"{demo_server.url}/office/sensitive-words/?lang=zh_CN")
        word = f"测试敏感词{uuid.uuid4().hex[:4]}"
        page.get_by_label("要添加的词，每行一个").fill(f"{word}\n賭博")
        page.get_by_role("button", name="添加").click()
        page.locator(".flash-success").wait_for()
        assert "赌博" in page.locator(".flash-error").first.inner_text()  # already there
        page.get_by_role("searchbox").fill(word)
        page.get_by_role("button", name="搜索").click()
        assert page.locator("td.word").all_inner_texts() == [word]
        page.get_by_role("button", name=f"删除 {word}").click()
        page.locator(".flash-success").wait_for()
        assert page.locator("td.word").count() == 0
        watch.assert_clean()
    finally:
        context.close()
