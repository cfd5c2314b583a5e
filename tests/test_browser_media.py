"""Photo live, materials and the player in Chromium, on the demo's interview (在线访谈).

``wsgi.py`` runs under gevent on the demo database, where the interview ``demo-14`` is live
with guests, photos, materials and a stream address, and reviewed. A phone watches the page
while the host posts a photo from the console: it waits for the reviewer, and once approved the
phone sees it arrive and downloads only its small size.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.live_server import (  # noqa: F401 - demo_server is a pytest fixture
    ROOT,
    LiveServer,
    demo_server,
    new_desktop_context,
    new_phone_context,
    screenshot,
)
from tests.media_files import photo
from tests.test_browser_console import log_in
from tests.test_browser_live import _MAKE_TOKEN, Staff, _request

pytestmark = pytest.mark.browser

SLUG = "demo-14"
STREAM = "https://stream.example.com/qa-live/interview/index.m3u8"


@pytest.fixture(scope="module")
def host(demo_server: LiveServer) -> Staff:
    """A personal API token of the demo host, made in the server's database."""
    result = subprocess.run(
        [sys.executable, "-c", _MAKE_TOKEN, "host"], cwd=ROOT, env=demo_server.env,
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return Staff(demo_server, result.stdout.strip().splitlines()[-1])


def media_requests(page) -> list[str]:
    """Every /media/ address the page asks for, in order."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if "/media/" in r.url else None)
    return seen


@pytest.fixture(scope="module")
def reviewer(demo_server: LiveServer) -> Staff:
    """A personal API token of the demo reviewer (审核)."""
    result = subprocess.run(
        [sys.executable, "-c", _MAKE_TOKEN, "reviewer"], cwd=ROOT, env=demo_server.env,
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return Staff(demo_server, result.stdout.strip().splitlines()[-1])


def test_a_phone_sees_a_photo_arrive_live_and_downloads_the_small_size(browser, demo_server,
                                                                        host, reviewer):
    from playwright.sync_api import expect

    phone_context, phone_watch = new_phone_context(browser, demo_server.url)
    desk_context, desk_watch = new_desktop_context(browser, demo_server.url)
    try:
        phone = phone_context.new_page()
        asked = media_requests(phone)
        phone.goto(f"/s/{SLUG}")
        phone.wait_for_function("() => window.qaStream && window.qaStream.ready")
        shown = phone.locator("#photo-list > li.photo")
        expect(shown).to_have_count(3)

        console = desk_context.new_page()
        log_in(console, demo_server, "host")
        console.goto(f"/console/{SLUG}")
        console.locator("#console[data-ready='true']").wait_for()
        # Not a photo, whatever its name says: refused, in Chinese, with nothing published.
        console.set_input_files("#console-photo-file", files=[{
            "name": "studio.jpg", "mimeType": "image/jpeg", "buffer": b"%PDF-1.4 not a photo"}])
        console.click("#photo-submit")
        expect(console.locator("#photo-error")).to_contain_text("不是图片")
        desk_watch.expect_console_error(r"400")
        console.set_input_files("#console-photo-file", files=[{
            "name": "studio.jpg", "mimeType": "image/jpeg", "buffer": photo(2400, 1600)}])
        console.fill("#console-photo-caption", "直播现场：嘉宾回答网民提问")
        console.click("#photo-submit")
        # Checked and sized on the server (a second or two for a 4-megapixel photo); the
        # session is reviewed, so it waits for the reviewer, in the host's review list.
        expect(console.locator("#photo-error")).to_contain_text("审核", timeout=20_000)
        waiting = console.locator("#review-list li[data-kind='photo']")
        expect(waiting).to_contain_text("嘉宾回答网民提问")
        expect(waiting.locator("img.review-photo")).to_be_visible()
        phone.wait_for_timeout(500)
        expect(shown).to_have_count(3)  # nothing public before approval
        item_id = int(waiting.get_attribute("data-review-id"))
        reviewer.act(SLUG, "review_approve", item_id=item_id)
        expect(console.locator("#console-photo-list li").first).to_contain_text(
            "嘉宾回答网民提问", timeout=20_000)

        newest = phone.locator("#photo-list > li.photo").first
        expect(newest).to_contain_text("直播现场：嘉宾回答网民提问", timeout=20_000)
        expect(shown).to_have_count(4)
        newest.scroll_into_view_if_needed()
        image = newest.locator("img")
        phone.wait_for_function("(img) => img.complete && img.naturalWidth > 0",
                                arg=image.element_handle())
        photo_id = int(newest.get_attribute("data-id"))
        data = _request(f"{demo_server.url}/api/v1/sessions/{SLUG}/media")
        sizes = next(p for p in data["photos"] if p["id"] == photo_id)["sizes"]
        small = next(s for s in sizes if s["width"] == 480 and s["type"] == "image/webp")
        assert image.evaluate("(img) => img.currentSrc").endswith(small["url"])
        own = [url for url in asked if any(url.endswith(s["url"]) for s in sizes)]
        assert own and all(url.endswith(small["url"]) for url in own), own
        assert small["bytes"] <= 60_000
        # Of everything the phone loaded, nothing was a large size.
        large = {s["url"] for p in data["photos"] for s in p["sizes"] if s["width"] > 480}
        assert not [url for url in asked if any(url.endswith(u) for u in large)]
        screenshot(phone, "media-phone-photo-live")
        phone_watch.assert_clean()
        desk_watch.assert_clean()
    finally:
        phone_context.close()
        desk_context.close()


def test_the_materials_section_folds_open_and_follows_changes(browser, demo_server, host):
    from playwright.sync_api import expect

    context, watch = new_phone_context(browser, demo_server.url)
    try:
        page = context.new_page()
        page.goto(f"/s/{SLUG}")
        page.wait_for_function("() => window.qaStream && window.qaStream.ready")
        details = page.locator("#materials-details")
        expect(details).not_to_have_attribute("open", "")
        page.locator("#materials-details > summary").click()
        guests = page.locator(".material-group[data-kind='guest'] li.material")
        expect(guests).to_have_count(3)
        expect(guests.first).to_contain_text("张卫东")
        expect(guests.first.locator("img")).to_be_visible()
        pdf_link = page.locator(".material-group[data-kind='policy'] a[download]")
        expect(pdf_link).to_have_count(1)
        served = page.request.get(pdf_link.get_attribute("href"))
        assert served.headers["content-type"] == "application/pdf"
        assert served.body().startswith(b"%PDF-")

        host_session = host.session_id(SLUG)
        added = _request(f"{demo_server.url}/api/v1/staff/sessions/{host_session}/materials",
                         "POST", {"kind": "highlight", "title": "看点三：通关更便利",
                                  "body": "进口货物平均通关时间进一步压缩。"},
                         {"Authorization": f"Bearer {host.token}"})
        highlights = page.locator(".material-group[data-kind='highlight'] li.material")
        expect(highlights.last).to_contain_text("看点三：通关更便利")
        host.act(SLUG, "material_remove", material_id=added["material"]["id"])
        expect(page.locator("#materials")).not_to_contain_text("看点三")
        screenshot(page, "media-phone-materials")
        watch.assert_clean()
    finally:
        context.close()


def test_the_player_carries_the_stream_and_starts_hls_only_on_play(browser, demo_server):
    from playwright.sync_api import expect

    context, watch = new_phone_context(browser, demo_server.url)
    fetched: list[str] = []

    def fake_stream(route):  # the stream host, answered here: nothing leaves the machine
        fetched.append(route.request.url)
        if route.request.url.endswith(".m3u8"):
            route.fulfill(status=200, content_type="application/vnd.apple.mpegurl",
                          body="#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n"
                               "#EXT-X-MEDIA-SEQUENCE:0\n")
        else:
            route.fulfill(status=404, body="")

    context.route(re.compile(r"^https://stream\.example\.com/"), fake_stream)
    # A browser without HLS of its own (every one but Safari and recent Chromium): hls.js.
    without_native_hls = """
        const own = HTMLMediaElement.prototype.canPlayType;
        HTMLMediaElement.prototype.canPlayType = function (type) {
          return /mpegurl/i.test(type) ? "" : own.call(this, type);
        };"""
    try:
        for path, native in ((f"/s/{SLUG}", True), (f"/s/{SLUG}/screen", True),
                             (f"/s/{SLUG}", False)):
            page = context.new_page()
            if not native:
                page.add_init_script(without_native_hls)
            page.goto(path)
            page.wait_for_function("() => window.qaStream && window.qaStream.ready")
            player = page.locator("#stream-player")
            expect(player).to_have_attribute("data-src", STREAM)
            expect(page.locator("#player")).to_be_visible()
            page.wait_for_timeout(300)
            assert fetched == [] and page.evaluate("typeof window.Hls") == "undefined"
            page.click("#stream-start")
            if not native:
                page.wait_for_function("() => typeof window.Hls === 'function'")
            for _ in range(50):  # the playlist is asked for once the viewer pressed play
                if any(url.endswith("index.m3u8") for url in fetched):
                    break
                page.wait_for_timeout(100)
            assert any(url.endswith("index.m3u8") for url in fetched), (path, native, fetched)
            fetched.clear()
            page.close()
        watch.assert_clean()
    finally:
        context.close()


def test_after_the_session_the_transcript_shows_photos_materials_and_the_recording(
        browser, demo_server, host):
    from playwright.sync_api import expect

    host.act(SLUG, "end")
    host.act(SLUG, "recording_url", url="https://stream.example.com/qa-live/interview/full.mp4")
    photos = len(_request(f"{demo_server.url}/api/v1/sessions/{SLUG}/media")["photos"])
    assert photos >= 3
    context, watch = new_desktop_context(browser, demo_server.url)
    try:
        page = context.new_page()
        page.goto(f"/s/{SLUG}")
        expect(page.locator("#transcript")).to_be_visible()
        expect(page.locator("#photos li.photo")).to_have_count(photos)
        expect(page.locator("#materials .material-group[data-kind='guest'] li")).to_have_count(3)
        expect(page.locator("#stream-player")).to_have_attribute(
            "data-src", "https://stream.example.com/qa-live/interview/full.mp4")
        screenshot(page, "media-transcript")
        page.goto(f"/s/{SLUG}/print")
        expect(page.locator(".photos li.photo")).to_have_count(photos)
        expect(page.locator(".materials")).to_contain_text("关于稳外贸稳外资的若干措施")
        watch.assert_clean()
    finally:
        context.close()
