"""The first stories in a real browser: the office plans a session, a citizen asks from a phone.

Chromium (Playwright) drives ``wsgi.py`` under gevent on a demo database (tests/live_server.py).
Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from qa_live.demo import DEMO_PASSWORD
from qa_live.planning.qr import qr_svg
from tests.live_server import (  # noqa: F401 - browser and demo_server are pytest fixtures
    LiveServer,
    browsing,
    demo_server,
    screenshot,
)

pytestmark = pytest.mark.browser

BEIJING = ZoneInfo("Asia/Shanghai")
PHONE_WIDTH = 360
DEPARTMENT = "对外贸易处"


@dataclass
class PlannedSession:
    """What the office typed in, and where the session ended up."""

    theme: str
    start: datetime  # Beijing time, naive, as typed
    detail_url: str
    public_path: str


def _typed(moment: datetime) -> str:
    """A naive Beijing time as an <input type="datetime-local"> takes it."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def _beijing_now() -> datetime:
    return datetime.now(BEIJING).replace(tzinfo=None, second=0, microsecond=0)


def plan_and_announce(page, server: LiveServer, theme: str, shots: str | None = None):
    """Log in as the office, plan a session through the form, announce it; return it."""
    page.goto(server.url + "/login")
    page.get_by_label("登录名").fill("office")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/office/$"))

    page.locator(".site-nav").get_by_role("link", name="年度计划", exact=True).click()
    page.wait_for_url(re.compile(r"/office/plan$"))
    page.get_by_role("link", name="新增专场", exact=True).click()
    page.wait_for_url(re.compile(r"/office/sessions/new$"))

    now = _beijing_now()
    start = (now + timedelta(days=2)).replace(hour=9, minute=30)
    page.get_by_label("主题", exact=True).fill(theme)
    page.get_by_label("开始时间", exact=True).fill(_typed(start))
    page.get_by_label("结束时间", exact=True).fill(_typed(start + timedelta(hours=2)))
    page.locator("#departments").get_by_label(DEPARTMENT, exact=True).check()
    page.get_by_label("预先提问开始时间").fill(_typed(now - timedelta(minutes=5)))
    page.get_by_label("预先提问截止时间").fill(_typed(start))
    page.get_by_role("button", name="保存").click()

    page.wait_for_url(re.compile(r"/office/sessions/\d+$"))
    assert page.get_by_role("status").filter(has_text="专场已列入计划").is_visible()
    assert page.locator("h1").inner_text() == theme
    assert page.locator(".state-badge").inner_text() == "草稿"
    detail_url = page.url

    page.get_by_role("button", name="向社会发布预告").click()
    page.wait_for_url(detail_url)
    assert page.get_by_role("status").filter(has_text="专场预告已发布").is_visible()
    assert page.locator(".state-badge").inner_text() == "已发布预告"
    facts = page.locator("dl.facts")
    assert DEPARTMENT in facts.inner_text()
    assert f"{start:%H:%M}" in facts.inner_text()
    public_link = facts.locator("a[href^='/s/']")
    public_path = public_link.get_attribute("href")
    assert public_path and public_link.inner_text() == public_path
    if shots:
        screenshot(page, f"{shots}-session-detail")
    return PlannedSession(theme, start, detail_url, public_path)


def _fits_the_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} is {width} px wide on a {PHONE_WIDTH} px phone"


def _qr_path(url: str) -> str:
    """The drawing of the QR code the app makes for a URL (segno's SVG path)."""
    match = re.search(r'<path[^>]* d="([^"]+)"', qr_svg(url))
    assert match, "segno's SVG has no path"
    return match.group(1)


def test_office_plans_and_announces_a_session_from_a_desktop(browser, demo_server):
    theme = f"跨境电商出口退税政策解读 {uuid.uuid4().hex[:4]}"
    with browsing(browser, demo_server.url) as (page, watch):
        planned = plan_and_announce(page, demo_server, theme, shots="desktop-office")

        # The year's plan lists it as announced, on its day in the calendar too.
        page.goto(f"{demo_server.url}/office/plan/{planned.start.year}")
        row = page.locator("table.plan-table tr", has_text=theme)
        assert row.count() == 1
        assert "已发布预告" in row.inner_text() and "外贸处" in row.inner_text()
        detail_path = urlsplit(planned.detail_url).path
        day = page.locator(f".calendar td.has-session a[href='{detail_path}']")
        assert day.count() == 1 and day.inner_text().strip() == str(planned.start.day)
        screenshot(page, "desktop-office-plan")
        watch.assert_clean()


@pytest.fixture
def announced(browser, demo_server) -> PlannedSession:
    """A session the office has just planned and announced, asking in advance open now."""
    with browsing(browser, demo_server.url) as (page, _watch):
        return plan_and_announce(page, demo_server, f"口岸通关便利化 {uuid.uuid4().hex[:4]}")


def test_citizen_asks_in_advance_from_a_phone_and_follows_the_status(browser, demo_server,
                                                                     announced):
    with browsing(browser, demo_server.url, phone=True) as (page, watch):
        home = "/" if announced.start.year == _beijing_now().year else (
            f"/?year={announced.start.year}")
        page.goto(demo_server.url + home)
        card = page.locator("article.session-card", has_text=announced.theme)
        assert card.is_visible()
        assert DEPARTMENT in card.inner_text()
        _fits_the_phone(page)
        screenshot(page, "phone-home")

        card.get_by_role("link", name=announced.theme).tap()
        page.wait_for_url(re.compile(re.escape(announced.public_path) + "$"))
        assert page.locator("h1").inner_text() == announced.theme
        assert page.locator(".session-page .tag").all_inner_texts() == [DEPARTMENT]
        assert f"{announced.start:%H:%M}" in page.locator(".session-page .when").inner_text()
        qr = page.locator(".share svg.qr")
        assert qr.is_visible()
        link = page.locator(".share .url a")
        assert link.inner_text() == page.url and link.get_attribute("href") == page.url
        # The QR code draws exactly what segno draws for this page's own address.
        assert qr.locator("path").get_attribute("d") == _qr_path(page.url)
        _fits_the_phone(page)
        screenshot(page, "phone-session")

        # Too short: the page comes back with the error by the field and the nickname kept.
        page.get_by_label("您的问题").fill("退税？")
        page.get_by_label("昵称（选填）").fill("跨境小卖家")
        page.get_by_role("button", name="提交问题").tap()
        error = page.locator(".field.has-error", has=page.locator("textarea#text"))
        error.wait_for()
        assert error.get_by_role("alert").inner_text() == "提问内容不少于5个字。"
        assert page.get_by_label("昵称（选填）").input_value() == "跨境小卖家"
        assert page.get_by_label("您的问题").input_value() == "退税？"
        # Chromium logs the form's 400 answer; that one is expected.
        watch.expect_console_error(r"/ask#ask: .*status of 400")
        _fits_the_phone(page)

        question = "跨境电商零售出口企业，申请出口退税需要准备哪些单证？"
        page.get_by_label("您的问题").fill(question)
        page.get_by_label("手机号码（选填，仅用于后续联系，不会公开）").fill("138 1234 5678")
        page.get_by_role("button", name="提交问题").tap()
        # (The form posts to …/ask#ask; Chromium keeps that fragment across the redirect.)
        page.wait_for_url(re.compile(r"/q/[A-Za-z0-9_-]{20,}(#ask)?$"))
        status_path = urlsplit(page.url).path
        assert page.locator("blockquote.question-text").inner_text() == question
        assert page.locator("p.status").inner_text() == "等待审核"
        facts = page.locator("dl.facts").inner_text()
        assert "138****5678" in facts and "跨境小卖家" in facts
        assert "13812345678" not in page.content()
        assert page.get_by_role("status").filter(has_text="您的提问已收到").is_visible()
        _fits_the_phone(page)
        screenshot(page, "phone-question-status")

        page.locator("article.card p.muted a", has_text=announced.theme).tap()
        page.wait_for_url(re.compile(re.escape(announced.public_path) + "$"))
        mine = page.locator("section.card", has=page.get_by_role("heading", name="我的提问"))
        item = mine.locator("ul.my-questions li")
        assert item.count() == 1
        assert item.get_by_role("link").get_attribute("href") == status_path
        assert question[:20] in item.inner_text() and "等待审核" in item.inner_text()
        _fits_the_phone(page)
        watch.assert_clean()


def test_language_switch_turns_the_page_to_english_and_back(browser, demo_server):
    with browsing(browser, demo_server.url, phone=True) as (page, watch):
        page.goto(demo_server.url + "/")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert re.fullmatch(r"\d{4}年网络在线问政", page.locator("h1").inner_text())
        first_session = page.locator("article.session-card h3 a").first
        first_session.tap()
        page.wait_for_url(re.compile(r"/s/[a-z0-9-]+$"))
        session_url = page.url
        assert page.get_by_role("heading", name="扫一扫在手机打开当前页").is_visible()

        page.get_by_role("link", name="English").tap()
        page.wait_for_url(session_url)
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.get_by_role("heading", name="Open on your phone").is_visible()
        assert page.locator("a.brand").inner_text() == "Online Q&A"
        screenshot(page, "phone-session-english")

        page.goto(demo_server.url + "/")  # the choice is remembered on other pages
        assert re.fullmatch(r"\d{4} online Q&A sessions", page.locator("h1").inner_text())

        page.get_by_role("link", name="中文").tap()
        page.wait_for_url(demo_server.url + "/")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.locator("a.brand").inner_text() == "网络在线问政"
        watch.assert_clean()
