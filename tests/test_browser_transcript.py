"""After the session in a real browser: a citizen on a phone searches the archive for a Chinese
word and reads the transcript; the print view prints without the site's chrome.

Chromium (Playwright) drives ``wsgi.py`` on the demo database, where demo-01 … demo-10 are held
sessions with answered questions (tests/live_server.py). Screenshots land in
test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest

from tests.live_server import (  # noqa: F401 - browser and demo_server are pytest fixtures
    demo_server,
    new_desktop_context,
    new_phone_context,
    screenshot,
)

pytestmark = pytest.mark.browser

PHONE_WIDTH = 360


def test_citizen_finds_a_chinese_word_in_the_archive_and_reads_the_transcript(
        browser, demo_server):
    context, watch = new_phone_context(browser, demo_server.url)
    try:
        page = watch.attach(context.new_page())
        page.goto("/")
        page.locator("main a[href='/archive']").first.click()
        page.wait_for_url(re.compile(r"/archive$"))
        page.fill("#q", "外贸")
        page.locator("form.archive-form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/archive\?.*q="))
        hits = page.locator(".hit-list .hit")
        assert hits.count() >= 1
        assert page.locator(".hit-question mark").first.inner_text() == "外贸"
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
        screenshot(page, "transcript-archive-search-phone")

        link = page.locator(".hit-question a").first
        href = link.get_attribute("href") or ""
        match = re.search(r"/s/(demo-\d+)#q-(\d+)$", href)
        assert match, href
        link.click()
        page.wait_for_url(re.compile(rf"/s/{match.group(1)}#q-{match.group(2)}$"))
        entry = page.locator(f"#q-{match.group(2)}")
        assert entry.is_visible()
        assert "外贸" in entry.locator(".q-text").inner_text()
        assert entry.locator(".answer .a-body").first.is_visible()
        assert "全程网上办理" in entry.locator(".answer .a-body").first.inner_text()
        # The rest of the transcript: the host's post, and no asking or voting.
        assert page.locator("#posts .post-body").first.is_visible()
        assert page.locator("#ask-form").count() == 0 and page.locator("button.vote").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
        screenshot(page, "transcript-phone")
        watch.assert_clean()
    finally:
        context.close()


def test_the_print_view_prints_without_navigation(browser, demo_server):
    context, watch = new_desktop_context(browser, demo_server.url)
    try:
        page = watch.attach(context.new_page())
        page.goto("/s/demo-01/print")
        assert page.locator("#print-button").is_visible()
        page.emulate_media(media="print")
        assert not page.locator("#print-button").is_visible()
        assert page.locator(".site-nav").count() == 0
        assert "/s/demo-01" in page.locator(".print-url").inner_text()
        assert page.locator(".question .a-body").count() >= 1
        screenshot(page, "transcript-print")
        watch.assert_clean()
    finally:
        context.close()
