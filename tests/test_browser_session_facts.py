"""The office changes a session; the projector and the citizen's page follow without a reload.

Chromium drives ``wsgi.py`` (gevent, demo data: ``demo-11`` live, ``demo-12`` announced). The
office changes the announced session and cancels it through the JSON API, and renames the live
session's department on its office page; the open pages apply the ``session`` events.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.live_server import (  # noqa: F401 - demo_server is a pytest fixture
    ROOT,
    LiveServer,
    demo_server,
    new_desktop_context,
    new_phone_context,
)
from tests.test_browser_console import log_in
from tests.test_browser_live import _MAKE_TOKEN, Staff, _request

pytestmark = pytest.mark.browser

LIVE = "demo-11"
ANNOUNCED = "demo-12"
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def office(demo_server: LiveServer) -> Staff:
    """A personal API token of the demo office, made in the server's database."""
    result = subprocess.run(
        [sys.executable, "-c", _MAKE_TOKEN, "office"], cwd=ROOT, env=demo_server.env,
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return Staff(demo_server, result.stdout.strip().splitlines()[-1])


def staff_session(office: Staff, slug: str) -> dict:
    session_id = office.session_id(slug)
    return _request(f"{office.server.url}/api/v1/staff/sessions/{session_id}",
                    headers={"Authorization": f"Bearer {office.token}"})["session"]


def office_call(office: Staff, slug: str, method: str, path: str = "", **body) -> dict:
    session_id = office.session_id(slug)
    return _request(f"{office.server.url}/api/v1/staff/sessions/{session_id}{path}", method,
                    body, {"Authorization": f"Bearer {office.token}"})


def open_screen(page, slug: str) -> None:
    page.goto(f"/s/{slug}/screen")
    page.wait_for_function("() => window.qaStream && window.qaStream.ready")
    page.evaluate("window.__notReloaded = true")


def test_the_projector_follows_the_offices_changes_and_the_cancellation(browser, demo_server,
                                                                       office):
    from playwright.sync_api import expect

    departments = _request(f"{demo_server.url}/api/v1/staff/departments",
                           headers={"Authorization": f"Bearer {office.token}"})["departments"]
    before = staff_session(office, ANNOUNCED)
    added = next(d for d in departments if d["id"] not in {x["id"] for x in before["departments"]})
    context, watch = new_desktop_context(browser, demo_server.url,
                                         viewport={"width": 1280, "height": 720})
    try:
        screen = context.new_page()
        open_screen(screen, ANNOUNCED)
        expect(screen.locator("#session-title")).to_have_text(before["title"])

        title = f"{before['title']}（调整后 {uuid.uuid4().hex[:4]}）"
        start = datetime.fromisoformat(before["scheduled_start"]) + timedelta(days=1, hours=1)
        office_call(office, ANNOUNCED, "PATCH", title=title,
                    description=before["description"],
                    scheduled_start=start.isoformat(),
                    scheduled_end=(start + timedelta(hours=2)).isoformat(),
                    department_ids=[d["id"] for d in before["departments"]] + [added["id"]],
                    guests=[{"name": "赵局长", "title": "副局长"}])
        expect(screen.locator("#session-title")).to_have_text(title)
        expect(screen).to_have_title(re.compile(re.escape(title)))
        expect(screen.locator("#session-departments")).to_contain_text(added["name"])
        for d in before["departments"]:
            expect(screen.locator("#session-departments")).to_contain_text(d["name"])
        local = start.astimezone(ZONE)
        expect(screen.locator("#waiting-note")).to_contain_text(f"{local:%H:%M}")
        expect(screen.locator("#waiting-note")).to_contain_text(f"{local.day}")

        office_call(office, ANNOUNCED, "POST", "/cancel", reason="因故改期")
        expect(screen.locator("#screen")).to_have_attribute("data-state", "cancelled")
        expect(screen.locator("#waiting-note")).to_have_text("本场已取消。")
        expect(screen.locator("#state-badge")).to_have_text("已取消")
        assert screen.evaluate("window.__notReloaded") is True
        watch.assert_clean()
    finally:
        context.close()


def test_a_renamed_department_shows_on_the_phone_and_the_projector(browser, demo_server):
    from playwright.sync_api import expect

    phone_context, phone_watch = new_phone_context(browser, demo_server.url)
    desk_context, desk_watch = new_desktop_context(browser, demo_server.url)
    try:
        phone = phone_context.new_page()
        phone.goto(f"/s/{LIVE}")
        phone.wait_for_function("() => window.qaStream && window.qaStream.ready")
        phone.evaluate("window.__notReloaded = true")
        department = phone.evaluate("window.qaStream.session.departments[0]")
        old = department["name"]
        labelled = phone.locator("#question-list .q-meta .tag", has_text=old)
        assert labelled.count() > 0, "the demo's live session has questions of its department"
        screen = desk_context.new_page()
        open_screen(screen, LIVE)

        office_page = desk_context.new_page()
        log_in(office_page, demo_server, "office")
        office_page.goto(f"/office/departments/{department['id']}")
        new = f"{old}（新）"
        office_page.get_by_label("名称").first.fill(new)
        office_page.get_by_role("button", name="保存").click()
        office_page.wait_for_url(re.compile(r"/office/departments$"))

        expect(phone.locator("#session-facts .tag").first).to_have_text(new)
        expect(phone.locator("#question-list .q-meta .tag", has_text=new).first).to_be_visible()
        expect(phone.locator("#question-list .q-meta .tag").filter(
            has_text=re.compile(f"^{re.escape(old)}$"))).to_have_count(0)
        expect(screen.locator("#session-departments")).to_have_text(new)
        assert phone.evaluate("window.__notReloaded") is True
        assert screen.evaluate("window.__notReloaded") is True
        phone_watch.assert_clean()
        desk_watch.assert_clean()
    finally:
        phone_context.close()
        desk_context.close()
