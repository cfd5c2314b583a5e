"""The citizen's phone, step 2 (issue 16), in Debian's Chromium against wsgi.py on the demo year:
the eight defects a citizen tripped on, the elder-friendly mode, dark mode and large text, the
projector on any screen, and what citizens of Slido or Pigeonhole expect (change or withdraw a
question, be told of its answer, search, add the session to a calendar).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from qa_live.demo import DEMO_PASSWORD
from tests.live_server import (  # noqa: F401 - browser and demo_server are pytest fixtures
    LiveServer,
    browsing,
    demo_server,
    new_desktop_context,
    new_phone_context,
    screenshot,
)

pytestmark = pytest.mark.browser

LIVE = "demo-11"  # the demo's live session
ANNOUNCED = "demo-12"  # announced, taking questions in advance
BEIJING = ZoneInfo("Asia/Shanghai")
JOINED = "() => window.qaStream && window.qaStream.joined"


# Helpers: the staff side through the JSON API ------------------------------------------------


class Staff:
    """The office's and host's hands, through the JSON API with a personal token."""

    def __init__(self, browser, server: LiveServer) -> None:
        self.server = server
        self.context = browser.new_context(base_url=server.url)
        self.token = server.flask("api", "token", "office").stdout.strip()

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        response = self.context.request.fetch(
            "/api/v1" + path, method=method, data=json.dumps(body or {}),
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        assert response.ok, f"{method} {path}: {response.status} {response.text()}"
        return response.json()

    def session_id(self, slug: str) -> int:
        return self.call("GET", f"/sessions/{slug}")["session"]["id"]

    def action(self, slug: str, name: str, **data) -> dict:
        return self.call("POST", f"/staff/sessions/{self.session_id(slug)}/actions/{name}", data)

    def new_session(self, title: str, live: bool = False, advance: bool = True) -> str:
        """An announced session of the 对外贸易处 (or a live one); its slug."""
        departments = self.call("GET", "/staff/departments")["departments"]
        trade = next(d["id"] for d in departments if d["name"] == "对外贸易处")
        now = datetime.now(BEIJING).replace(microsecond=0)
        start = now + timedelta(minutes=10) if live else now + timedelta(days=3)
        body = {"title": title, "scheduled_start": start.isoformat(),
                "scheduled_end": (start + timedelta(hours=2)).isoformat(),
                "department_ids": [trade]}
        if advance:
            body.update(precollect_opens_at=(now - timedelta(hours=1)).isoformat(),
                        precollect_closes_at=start.isoformat())
        created = self.call("POST", "/staff/sessions", body)["session"]
        self.call("POST", f"/staff/sessions/{created['id']}/announce")
        if live:
            self.call("POST", f"/staff/sessions/{created['id']}/actions/start")
        return created["slug"]

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def staff(browser, demo_server):
    hands = Staff(browser, demo_server)
    yield hands
    hands.close()


def ask_on_page(page, text: str) -> None:
    page.locator("#text").fill(text)
    page.locator("#ask-submit").click()


def my_item(page, text: str):
    return page.locator("#my-list li.mine-item", has_text=text)


# The eight defects --------------------------------------------------------------------------------


def test_a_page_opened_with_lang_en_hears_english_over_the_live_connection(browser, demo_server):
    with browsing(browser, demo_server.url, phone=True) as (page, _watch):
        page.goto(f"/s/{LIVE}?lang=en")
        page.wait_for_function(JOINED)
        ask_on_page(page, "Is there a subsidy for export credit insurance premiums?")
        status = my_item(page, "export credit insurance").locator(".status")
        status.wait_for()
        page.wait_for_function(
            "() => !document.querySelector('#my-list .status-sending')")
        assert status.inner_text() == "Waiting for review"


def test_without_the_socket_script_the_plain_form_asks_and_votes_still_count(browser,
                                                                              demo_server):
    with browsing(browser, demo_server.url, phone=True) as (page, watch):
        page.route(re.compile(r".*/socket\.io\.min[^/]*\.js$"), lambda route: route.abort())
        page.goto(f"/s/{LIVE}")
        watch.expect_console_error(r"socket\.io\.min")
        ask_on_page(page, "断网时提交的问题应该通过普通表单送达吗？")
        page.wait_for_url(re.compile(rf"/s/{LIVE}#mine$"))
        assert page.get_by_role("status").filter(has_text="您的问题已收到").count() == 1
        assert my_item(page, "普通表单送达").locator(".status").inner_text() == "等待审核"
        watch.expect_console_error(r"socket\.io\.min")
        vote = page.locator("button[data-vote]").first
        question = vote.get_attribute("data-vote")
        before = int(vote.locator(".vote-count").inner_text())
        vote.click()
        pressed = page.locator(f"button[data-vote='{question}'][aria-pressed='true']")
        pressed.wait_for()
        assert int(pressed.locator(".vote-count").inner_text()) == before + 1


def test_keyboard_focus_stays_on_the_vote_button_after_voting(browser, demo_server):
    with browsing(browser, demo_server.url, phone=True) as (page, _watch):
        page.goto(f"/s/{LIVE}")
        page.wait_for_function(JOINED)
        button = page.locator("button[data-vote][aria-pressed='false']").first
        question = button.get_attribute("data-vote")
        button.focus()
        page.keyboard.press("Enter")
        page.locator(f"button[data-vote='{question}'][aria-pressed='true']").wait_for()
        focused = page.evaluate("document.activeElement && document.activeElement.dataset.vote")
        assert focused == question
        page.keyboard.press("Tab")  # and the keyboard goes on from there, not from the top
        assert page.evaluate("document.activeElement.closest('#question-list') !== null "
                             "|| document.activeElement.closest('.share') !== null")


def test_the_home_pages_join_button_opens_the_live_session(browser, demo_server):
    with browsing(browser, demo_server.url, phone=True) as (page, _watch):
        page.goto("/")
        # Two sessions are live in the demo (the interview demo-14 too): each has its button.
        page.locator(f"a[href='/s/{LIVE}']", has_text="立即进入，在线提问").click(timeout=3000)
        page.wait_for_url(re.compile(rf"/s/{LIVE}$"))
        page.goto("/")
        page.get_by_role("link", name="预先提问", exact=True).click(timeout=3000)
        page.wait_for_url(re.compile(rf"/s/{ANNOUNCED}#ask$"))


def test_the_transcript_shows_my_questions_with_their_text(browser, demo_server, staff):
    slug = staff.new_session("会后文字实录里的我的提问", live=True, advance=False)
    with browsing(browser, demo_server.url, phone=True) as (page, _watch):
        page.goto(f"/s/{slug}")
        page.wait_for_function(JOINED)
        ask_on_page(page, "会后我还能在文字实录里看到这个问题吗？")
        my_item(page, "文字实录里看到").locator(".status-pending").wait_for()
        staff.action(slug, "end")
        page.reload()
        mine = page.locator("#mine")
        assert "会后我还能在文字实录里看到这个问题吗？" in mine.inner_text()


def test_a_session_without_an_advance_window_does_not_say_it_closed(browser, demo_server,
                                                                     staff):
    slug = staff.new_session("没有预先征集的专场", advance=False)
    with browsing(browser, demo_server.url, phone=True) as (page, _watch):
        page.goto(f"/s/{slug}")
        text = page.locator("#ask").inner_text()
        assert "已截止" not in text
        assert "本场不征集预先提问" in text


def test_the_projector_is_linked_and_shows_the_hosts_posts_live(browser, demo_server, staff):
    context, watch = new_desktop_context(browser, demo_server.url)
    try:
        page = context.new_page()
        page.goto(f"/s/{ANNOUNCED}")
        assert page.get_by_role("link", name="大屏幕视图").count() == 1
        page.goto("/login")
        page.get_by_label("登录名").fill("host")
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/office/$"))
        page.goto(f"/console/{LIVE}")
        with context.expect_page() as opened:
            page.get_by_role("link", name="大屏幕视图").click()
        screen = opened.value
        screen.wait_for_url(re.compile(rf"/s/{LIVE}/screen$"))
        screen.wait_for_function(JOINED)
        assert "今年我市继续实施稳外贸稳外资系列措施" in screen.locator("#screen-post").inner_text()
        staff.action(LIVE, "post", kind="notice", body="【通知】下半场请外贸处回答。", pinned=False)
        screen.locator("#screen-post", has_text="【政策解读】").wait_for()  # the pinned one stays
        staff.action(LIVE, "post", kind="notice", body="【通知】置顶：欢迎提问。", pinned=True)
        screen.locator("#screen-post", has_text="置顶：欢迎提问").wait_for()
        screenshot(screen, "projector-with-post", full_page=False)
        watch.assert_clean()
    finally:
        context.close()


def test_the_demo_year_shows_a_few_late_follow_ups_not_a_year_of_them(browser, demo_server):
    with browsing(browser, demo_server.url) as (page, _watch):
        page.goto("/login")
        page.get_by_label("登录名").fill("office")
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/office/$"))
        page.goto("/follow-ups/?view=overdue")
        late = page.locator("tr.fu-overdue")
        assert 1 <= late.count() <= 3
        page.goto("/follow-ups/?view=done")
        assert page.locator("tbody tr").count() >= 10


@pytest.mark.parametrize("width, height", [(320, 568), (360, 640), (768, 1024), (1920, 1080)])
def test_the_projector_fits_any_screen(browser, demo_server, width, height):
    with browsing(browser, demo_server.url, viewport={"width": width, "height": height}) as (
            page, _watch):
        page.goto(f"/s/{LIVE}/screen")
        page.wait_for_function(JOINED)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{overflow} px wider than the {width} px screen"
        wide = page.evaluate("""() => [...document.querySelectorAll('.screen *')]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map((e) => e.className || e.tagName)""")
        assert wide == []
        screenshot(page, f"projector-{width}x{height}", full_page=False)


# Elder-friendly mode, large text, dark mode ------------------------------------------------------

PUBLIC_PAGES = ["/", f"/s/{LIVE}", f"/s/{ANNOUNCED}", "/s/demo-10", "/archive"]
TARGETS = """() => {
  const small = [];
  for (const el of document.querySelectorAll('a, button, input, select, textarea, summary')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || getComputedStyle(el).visibility === 'hidden') continue;
    if (el.type === 'hidden' || el.closest('[hidden]')) continue;
    let target = box;
    if (el.type === 'radio' || el.type === 'checkbox') {
      const label = el.closest('label') || document.querySelector(`label[for="${el.id}"]`);
      if (label) target = label.getBoundingClientRect();
    }
    if (target.height < 44 || target.width < 44) {
      small.push(`${el.tagName.toLowerCase()} "${(el.innerText || el.value || el.name || '')
        .trim().slice(0, 20)}" ${Math.round(target.width)}x${Math.round(target.height)}`);
    }
  }
  return small;
}"""


def test_the_elder_friendly_mode_is_remembered_with_large_targets_on_every_public_page(
        browser, demo_server):
    with browsing(browser, demo_server.url, phone=True) as (page, _watch):
        page.goto("/")
        normal = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        page.get_by_role("link", name="长辈模式").click()
        page.wait_for_function("document.documentElement.classList.contains('elder')")
        larger = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert larger >= normal * 1.2
        for path in PUBLIC_PAGES:
            response = page.goto(path)
            # In the HTML itself, so the first paint is already the elder-friendly one.
            assert '<html lang="zh-CN" class="elder">' in response.text(), path
            small = page.evaluate(TARGETS)
            assert small == [], f"{path}: targets under 44 px: {small}"
        screenshot(page, "elder-archive-phone")
        page.get_by_role("link", name="标准模式").click()
        page.wait_for_function("!document.documentElement.classList.contains('elder')")


def test_all_text_follows_the_browsers_font_size(browser, demo_server):
    context, watch = new_phone_context(browser, demo_server.url)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Page.enable")
        cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 24, "fixed": 20}})
        page.goto(f"/s/{LIVE}")
        sizes = page.evaluate("""() => Object.fromEntries(
            ['.q-text', '.a-body', '.post-body', 'body', 'label', '.hint']
            .map((s) => [s, getComputedStyle(document.querySelector(s)).fontSize]))""")
        assert sizes[".q-text"] == "24px" and sizes["body"] == "24px", sizes
        assert float(sizes[".hint"].removesuffix("px")) > 16, sizes
        watch.assert_clean()
    finally:
        context.close()


def test_dark_mode_follows_the_system_and_motion_can_be_reduced(browser, demo_server):
    with browsing(browser, demo_server.url, phone=True, color_scheme="dark",
                  reduced_motion="reduce") as (page, _watch):
        page.goto(f"/s/{LIVE}")
        colours = page.evaluate("""() => ({
            bg: getComputedStyle(document.body).backgroundColor,
            ink: getComputedStyle(document.body).color,
            card: getComputedStyle(document.querySelector('.question')).backgroundColor,
            qr: getComputedStyle(document.querySelector('.qr-box')).backgroundColor,
            motion: getComputedStyle(document.querySelector('.question')).transitionDuration})""")

        def lightness(rgb: str) -> float:
            r, g, b = (int(x) for x in re.findall(r"\d+", rgb)[:3])
            return (r + g + b) / 3

        assert lightness(colours["bg"]) < 40 and lightness(colours["ink"]) > 200, colours
        assert lightness(colours["card"]) < 60, colours
        assert colours["qr"] == "rgb(255, 255, 255)"  # scanners need the QR code light
        assert colours["motion"] in ("1e-05s", "0.00001s", "0s"), colours
        screenshot(page, "live-phone-dark", full_page=False)


# What citizens of Slido or Pigeonhole expect ------------------------------------------------------


def test_a_citizen_changes_then_withdraws_a_question_while_it_waits(browser, demo_server):
    desk_context, desk_watch = new_desktop_context(browser, demo_server.url)
    try:
        desk = desk_context.new_page()
        desk.goto("/login")
        desk.get_by_label("登录名").fill("host")
        desk.get_by_label("密码").fill(DEMO_PASSWORD)
        desk.get_by_role("button", name="登录").click()
        desk.wait_for_url(re.compile(r"/office/$"))
        desk.goto(f"/console/{LIVE}")
        desk.locator("#console[data-ready='true']").wait_for()
        with browsing(browser, demo_server.url, phone=True) as (page, _watch):
            page.goto(f"/s/{LIVE}")
            page.wait_for_function(JOINED)
            ask_on_page(page, "外贸企业参展补贴申请截止日期是哪天")
            item = my_item(page, "参展补贴申请截止日期")
            item.locator(".status-pending").wait_for()
            card = desk.locator(".q-card", has_text="参展补贴申请截止日期")
            card.wait_for()
            item.get_by_text("修改", exact=True).click()
            item.locator("textarea").fill("外贸企业参加境外展会的补贴，申请截止日期是哪天？")
            item.get_by_role("button", name="保存修改").click()
            changed = my_item(page, "参加境外展会的补贴")
            changed.wait_for()
            assert page.locator("#toast").inner_text() == "您的提问已修改。"
            desk.locator(".q-card", has_text="参加境外展会的补贴").wait_for()
            changed.get_by_text("撤回", exact=True).click()
            changed.get_by_role("button", name="确定撤回").click()
            changed.wait_for(state="detached")
            # The list may drop it on the server's event a moment before the ack shows the toast.
            page.wait_for_function(
                "document.querySelector('#toast').innerText === '您的提问已撤回。'", timeout=5000)
            desk.locator(".q-card", has_text="参加境外展会的补贴").wait_for(state="detached")
            page.reload()
            page.wait_for_function(JOINED)
            assert my_item(page, "参加境外展会的补贴").count() == 0
        desk_watch.assert_clean()
    finally:
        desk_context.close()


def test_the_change_form_works_without_any_script(browser, demo_server):
    with browsing(browser, demo_server.url, phone=True, java_script_enabled=False) as (
            page, _watch):
        page.goto(f"/s/{LIVE}")
        page.locator("#text").fill("没有脚本的手机也能修改自己的提问吗")
        page.locator("#ask-submit").click()
        item = my_item(page, "也能修改自己的提问")
        item.get_by_text("修改", exact=True).click()
        item.locator("textarea").fill("没有脚本的手机，也能修改和撤回自己的提问吗？")
        item.get_by_role("button", name="保存修改").click()
        page.wait_for_url(re.compile(rf"/s/{LIVE}#mine$"))
        item = my_item(page, "也能修改和撤回")
        assert item.count() == 1
        item.get_by_text("撤回", exact=True).click()
        item.get_by_role("button", name="确定撤回").click()
        page.wait_for_url(re.compile(rf"/s/{LIVE}#mine$"))
        assert my_item(page, "也能修改和撤回").count() == 0
        assert page.get_by_role("status").filter(has_text="您的提问已撤回").count() == 1


def test_the_asker_is_told_when_the_answer_comes(browser, demo_server, staff):
    context, watch = new_phone_context(browser, demo_server.url)
    context.add_init_script("""
        window.__notes = [];
        window.Notification = class { constructor(title, options) {
            window.__notes.push([title, options && options.body]); } };
        window.Notification.permission = 'granted';
        window.Notification.requestPermission = () => Promise.resolve('granted');
    """)
    try:
        page = context.new_page()
        page.goto(f"/s/{LIVE}")
        page.wait_for_function(JOINED)
        ask_on_page(page, "答复来了的时候，页面会提醒我吗？")
        item = my_item(page, "页面会提醒我吗")
        item.locator(".status-pending").wait_for()
        assert "答复获得" not in page.content()
        question_id = int(item.get_attribute("id").removeprefix("mine-"))
        private = context.new_page()  # the question's own private page, open too
        private.goto(item.get_by_role("link", name="查看此问题").get_attribute("href"))
        private.wait_for_function("() => window.io && document.querySelector('#answered-banner')")
        private.wait_for_timeout(500)  # its socket connects
        staff.action(LIVE, "approve", question_id=question_id)
        staff.action(LIVE, "answer", question_id=question_id, body="会的：页面上方会出现提示。")
        banner = page.locator("#answered-banner")
        banner.wait_for()
        assert "页面会提醒我吗" in banner.inner_text()
        assert page.evaluate("window.__notes") == [
            ["您的提问已获答复", "答复来了的时候，页面会提醒我吗？"]]
        private.locator("#answered-banner").wait_for()
        assert private.evaluate("window.__notes") == [
            ["您的提问已获答复", "答复来了的时候，页面会提醒我吗？"]]
        private.get_by_role("link", name="查看答复").click()
        private.locator("li.answer", has_text="页面上方会出现提示").wait_for()
        private.close()
        banner.get_by_role("link", name="查看答复").click()
        assert page.url.endswith(f"#mine-{question_id}")
        screenshot(page, "answered-notice-phone", full_page=False)
        watch.assert_clean()
    finally:
        context.close()


def test_a_citizen_searches_the_live_page(browser, demo_server):
    with browsing(browser, demo_server.url, phone=True) as (page, _watch):
        page.goto(f"/s/{LIVE}")
        page.wait_for_function(JOINED)
        total = page.locator("#question-list > li").count()
        page.get_by_role("searchbox", name="搜索提问和答复").fill("备案")
        page.wait_for_function("document.querySelectorAll('#question-list > li').length === 1")
        assert "对外贸易经营者备案" in page.locator("#question-list").inner_text()
        assert page.locator("#filter-count").inner_text() == f"显示 1 个提问（共 {total} 个）"
        assert "q=%E5%A4%87%E6%A1%88" in page.url  # a link that opens the same search
        page.get_by_role("searchbox", name="搜索提问和答复").fill("没有这个词")
        page.locator("#filter-empty").wait_for()
        page.get_by_role("searchbox", name="搜索提问和答复").fill("")
        page.locator("#stream-show").select_option("waiting")
        page.wait_for_function("[...document.querySelectorAll('#question-list > li')]"
                               ".every((li) => !li.querySelector('.answers'))")


def test_an_announced_session_goes_into_the_citizens_calendar(browser, demo_server):
    with browsing(browser, demo_server.url, phone=True, accept_downloads=True) as (page, _w):
        page.goto(f"/s/{ANNOUNCED}")
        with page.expect_download() as got:
            page.get_by_role("link", name="添加到我的日历").click()
        download = got.value
        assert download.suggested_filename == f"{ANNOUNCED}.ics"
        with open(download.path(), encoding="utf-8") as handle:
            text = handle.read()
        assert text.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in text
        assert "跨境电商综合试验区建设" in text.replace("\r\n ", "")
