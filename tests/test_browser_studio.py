"""The interview studio in a real browser: a text editor on a tablet publishes a guest's answer,
which waits for the reviewer on a phone and then reaches a citizen's phone; the director switches
the projector from a phone; a department planner's session goes through the office's approval
and is then announced.

Chromium (Playwright) drives ``wsgi.py`` under gevent on the demo database (tests/live_server.py),
whose live interview ``demo-14`` is reviewed, with a text editor, a reviewer and a director on
duty (qa_live/demo.py).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.live_server import (  # noqa: F401 - browser and demo_server are pytest fixtures
    LiveServer,
    demo_server,
    new_context,
    new_desktop_context,
    new_phone_context,
    screenshot,
)
from tests.test_browser_console import card, log_in, open_console

pytestmark = pytest.mark.browser

INTERVIEW = "demo-14"
TABLET = {"viewport": {"width": 768, "height": 1024}}
PHONE_WIDTH = 360


def _fits(page, width: int) -> None:
    """Nothing on the page is wider than the device: no sideways scrolling."""
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{page.url} is {wide} px wide on a {width} px screen"


def _ask(browser, server: LiveServer, text: str) -> int:
    """A citizen asks on their phone (public JSON API, the page's visitor cookie)."""
    context, _watch = new_phone_context(browser, server.url)
    try:
        phone = context.new_page()
        phone.goto(f"{server.url}/s/{INTERVIEW}")
        response = phone.request.post(
            f"{server.url}/api/v1/sessions/{INTERVIEW}/questions",
            data={"client_id": str(uuid.uuid4()), "text": text, "nickname": "网友"})
        assert response.status == 201, response.text()
        return response.json()["question"]["id"]
    finally:
        context.close()


def _host_approves(page, server: LiveServer, question_id: int) -> None:
    """The host publishes the question through the staff API, with a personal token."""
    token = server.flask("api", "token", "host").stdout.strip()
    session_id = page.evaluate("JSON.parse(document.getElementById('console-config')"
                               ".textContent).session_id")
    response = page.request.post(
        f"{server.url}/api/v1/staff/sessions/{session_id}/actions/approve",
        data={"question_id": question_id}, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200, response.text()


def test_a_guests_answer_typed_on_a_tablet_is_approved_on_a_phone_and_reaches_citizens(
        browser, demo_server):
    editor_context, editor_watch = new_context(browser, demo_server.url, phone=True, **TABLET)
    reviewer_context, reviewer_watch = new_phone_context(browser, demo_server.url)
    citizen_context, citizen_watch = new_phone_context(browser, demo_server.url)
    try:
        tag = uuid.uuid4().hex[:6]
        text = f"跨境电商企业申请出口退税需要哪些材料？（{tag}）"
        citizen = citizen_context.new_page()
        citizen.goto(f"{demo_server.url}/s/{INTERVIEW}")
        question_id = _ask(browser, demo_server, text)

        editor = editor_context.new_page()
        log_in(editor, demo_server, "editor")
        open_console(editor, demo_server, INTERVIEW)
        _host_approves(editor, demo_server, question_id)
        editor.locator("#tab-published").click()
        question = card(editor, "published", tag)
        question.wait_for()
        question.locator("[data-action=claim]").click()
        guest = question.locator("select.guest-select")
        guest.select_option(label="王建国 · 对外贸易处处长")
        reply = f"一般需要报关单、发票和物流凭证，可在政务服务网一次提交。（{tag}）"
        question.locator("textarea").fill(reply)
        question.get_by_role("button", name="提交审核").click()
        question.locator(".q-review", has_text="王建国").wait_for()
        assert "等待审核" in question.locator(".q-review").inner_text()
        _fits(editor, 768)
        screenshot(editor, "studio-editor-tablet-sent-for-review", full_page=False)
        # Not public yet: the citizen's page has the question, not the answer.
        citizen.get_by_text(text).first.wait_for(state="attached")
        assert reply not in citizen.content()

        reviewer = reviewer_context.new_page()
        log_in(reviewer, demo_server, "reviewer")
        open_console(reviewer, demo_server, INTERVIEW)
        item = reviewer.locator("#review-list .review-item", has_text=tag)
        item.wait_for()
        assert "王建国" in item.inner_text() and "文字编辑" in item.inner_text()
        _fits(reviewer, PHONE_WIDTH)
        screenshot(reviewer, "studio-reviewer-phone-queue", full_page=False)
        item.get_by_role("button", name="通过并发布").click()
        item.wait_for(state="detached")

        # The citizen's phone shows it live, in the guest's name and title.
        answer = citizen.locator("li.answer", has_text=tag)
        answer.wait_for()
        assert "王建国" in answer.inner_text() and "对外贸易处处长" in answer.inner_text()
        # The editor's console sees it published: the guest, and that the editor typed it.
        editor.locator("#tab-answered").click()
        done = card(editor, "answered", tag)
        done.wait_for()
        meta = re.sub("[\u2068\u2069]", "", done.locator(".a-meta").inner_text())
        assert meta.startswith("王建国 对外贸易处处长 · ") and "由 文字编辑 张晓雨 录入" in meta
        for watch in (editor_watch, reviewer_watch, citizen_watch):
            watch.assert_clean()
    finally:
        for context in (editor_context, reviewer_context, citizen_context):
            context.close()


def test_the_director_switches_the_projector_from_a_phone(browser, demo_server):
    director_context, director_watch = new_phone_context(browser, demo_server.url)
    screen_context, screen_watch = new_desktop_context(browser, demo_server.url)
    try:
        screen = screen_context.new_page()
        screen.goto(f"{demo_server.url}/s/{INTERVIEW}/screen")
        shown = screen.locator("#screen-main")

        director = director_context.new_page()
        log_in(director, demo_server, "director")
        open_console(director, demo_server, INTERVIEW)
        panel = director.locator("#screen-card")
        panel.wait_for()
        _fits(director, PHONE_WIDTH)

        panel.get_by_role("button", name="二维码").click()
        screen.locator("#screen-main[data-shown='qr']").wait_for()
        assert screen.locator("#qr-panel svg").is_visible()
        screenshot(screen, "projector-qr-code", full_page=False)

        post = director.locator("#post-list .post").first
        post_text = post.locator(".post-body").inner_text()
        post.get_by_role("button", name="大屏展示").click()
        screen.locator("#screen-main[data-shown='post']").wait_for()
        assert post_text[:20] in screen.locator("#post-panel").inner_text()

        director.locator("#tab-published").click()
        waiting = director.locator("#list-published .q-card").first
        question_text = waiting.locator(".q-text").inner_text()
        waiting.get_by_role("button", name="大屏展示").click()
        screen.locator("#screen-main[data-shown='question']").wait_for()
        assert question_text in screen.locator(".highlight-question").inner_text()
        assert "第" in panel.locator("#screen-now").inner_text()
        screenshot(director, "studio-director-phone", full_page=False)

        # A photo of the stream (the newest first in the list), then the poll's live results.
        assert "出口信用保险" in panel.locator("#screen-photo option").first.inner_text()
        panel.locator("button[data-screen-item='photo']").click()
        screen.locator("#screen-main[data-shown='photo']").wait_for()
        assert "出口信用保险" in screen.locator("#photo-panel figcaption").inner_text()
        screen.wait_for_function("() => { const i = document.querySelector("
                                 "'#screen-photo-body img'); return i && i.complete "
                                 "&& i.naturalWidth > 0; }")
        assert "照片" in panel.locator("#screen-now").inner_text()
        screenshot(screen, "projector-photo", full_page=False)
        panel.locator("button[data-screen-item='poll']").click()
        screen.locator("#screen-main[data-shown='poll']").wait_for()
        assert "您最关注哪方面的稳外贸政策？" in screen.locator("#poll-panel").inner_text()
        assert screen.locator("#poll-panel .poll-count").count() == 4
        screenshot(screen, "projector-poll-results", full_page=False)

        panel.get_by_role("button", name="最新答复").click()
        screen.locator("#screen-main[data-shown='latest']").wait_for()
        assert screen.locator("#featured-panel").is_visible()
        assert shown.get_attribute("data-shown") == "latest"
        director_watch.assert_clean()
        screen_watch.assert_clean()
    finally:
        director_context.close()
        screen_context.close()


def _typed(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def test_a_planners_session_goes_through_approval_and_is_then_announced(browser, demo_server):
    planner_context, planner_watch = new_context(browser, demo_server.url, phone=True, **TABLET)
    office_context, office_watch = new_desktop_context(browser, demo_server.url)
    try:
        theme = f"促消费专场 {uuid.uuid4().hex[:6]}"
        planner = planner_context.new_page()
        log_in(planner, demo_server, "planner")
        planner.locator("#department-drafts").get_by_role("link", name="新增专场").click()
        planner.wait_for_url(re.compile(r"/office/sessions/new$"))
        departments = planner.locator("#departments input[type=checkbox]")
        assert departments.count() == 1  # only their own department to choose
        now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None, second=0,
                                                               microsecond=0)
        start = (now + timedelta(days=5)).replace(hour=10, minute=0)
        planner.get_by_label("主题", exact=True).fill(theme)
        planner.get_by_label("开始时间", exact=True).fill(_typed(start))
        planner.get_by_label("结束时间", exact=True).fill(_typed(start + timedelta(hours=2)))
        planner.locator("#departments").get_by_label("消费促进处", exact=True).check()
        planner.get_by_role("button", name="保存").click()
        planner.wait_for_url(re.compile(r"/office/sessions/\d+$"))
        detail = planner.url
        assert planner.get_by_role("button", name="向社会发布预告").count() == 0
        planner.get_by_role("button", name="报局办公室审批").click()
        planner.get_by_role("status").filter(has_text="已报局办公室审批").wait_for()
        _fits(planner, 768)

        # The office sends it back with a reason; the planner reads it and sends it again.
        office = office_context.new_page()
        log_in(office, demo_server, "office")
        office.locator(".site-nav").get_by_role("link", name="专场审批").click()
        queued = office.locator(".approval-card", has_text=theme)
        queued.wait_for()
        assert "消费处计划员 周敏" in queued.inner_text()
        queued.get_by_label("处室需要修改什么？").fill("请补充嘉宾名单。")
        queued.get_by_role("button", name="退回").click()
        office.get_by_role("status").filter(has_text="已退回处室").wait_for()
        planner.goto(detail)
        assert "请补充嘉宾名单。" in planner.locator(".approval-history").inner_text()
        planner.get_by_role("button", name="报局办公室审批").click()
        planner.get_by_role("status").filter(has_text="已报局办公室审批").wait_for()

        office.goto(f"{demo_server.url}/office/approvals")
        queued = office.locator(".approval-card", has_text=theme)
        steps = queued.locator(".approval-step")
        assert steps.count() == 3  # sent, sent back (with its reason), sent again
        screenshot(office, "office-approval-queue", full_page=False)
        queued.get_by_role("button", name="批准专场").click()
        office.get_by_role("status").filter(has_text="已批准").wait_for()
        office.get_by_role("button", name="向社会发布预告").click()
        office.get_by_role("status").filter(has_text="专场预告已发布").wait_for()
        public_path = office.locator("dl.facts a[href^='/s/']").get_attribute("href")
        office.goto(demo_server.url + public_path)
        assert theme in office.locator("h1").inner_text()
        planner_watch.assert_clean()
        office_watch.assert_clean()
    finally:
        planner_context.close()
        office_context.close()
