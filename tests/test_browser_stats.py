"""The office's statistics dashboard in a real browser: charts drawn on a phone and a desktop."""

from __future__ import annotations

import re

import pytest

from qa_live.demo import DEMO_PASSWORD
from tests.live_server import (  # noqa: F401 - browser and demo_server are pytest fixtures
    demo_server,
    new_desktop_context,
    new_phone_context,
    screenshot,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_the_office_sees_the_charts_without_errors(browser, demo_server, device):
    make = new_phone_context if device == "phone" else new_desktop_context
    context, watch = make(browser, demo_server.url)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("登录名").fill("office")
        page.get_by_label("密码").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"/office/$"))

        page.locator(".site-nav a[href='/office/stats']").click()
        page.wait_for_url(re.compile(r"/office/stats$"))
        page.wait_for_selector("body[data-charts='ready']")
        for chart in ("#chart-months", "#chart-departments"):
            box = page.locator(chart).bounding_box()
            assert box and box["width"] > 200 and box["height"] > 150, (chart, box)
        assert page.locator("#headline .stat-tile").count() >= 10
        if device == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, f"the dashboard is {width} px wide on a 360 px phone"
        screenshot(page, f"stats-dashboard-{device}")

        page.locator("#headline a[href^='/office/stats/report']").click()
        page.wait_for_selector("#report-zh")
        assert "网络在线问政" in page.locator("#report-zh").inner_text()
        screenshot(page, f"stats-report-{device}")
        watch.assert_clean()
    finally:
        context.close()
