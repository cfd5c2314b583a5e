"""Citizen sign-in in Chromium: the provider's own pages, one asker on a phone and a desktop.

``wsgi.py`` runs the demo year with CITIZEN_SIGN_IN=required against the test OIDC provider
(panva's oidc-provider on Node.js, tests/oidc/provider.mjs) on loopback; ``demo-11`` is live.
A citizen signs in on the provider's login page from a phone, comes back, asks; the same
citizen signs in from a desktop browser and finds that question under "My questions", and
what they ask there reaches the phone live. No script is needed for the sign-in itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.live_server import (
    LiveServer,
    free_port,
    new_desktop_context,
    new_phone_context,
    running_server,
    screenshot,
)
from tests.oidc_provider import PASSWORD, SECRET, Provider, clients, running_provider

pytestmark = pytest.mark.browser

LIVE = "demo-11"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Provider]]:
    """The provider, then the app on a port chosen first (its callback is registered)."""
    port = free_port()
    callback = f"http://127.0.0.1:{port}/citizen/callback"
    with running_provider(tmp_path_factory.mktemp("oidc"), clients(callback, ())) as provider:
        env = {"PORT": str(port), "CITIZEN_SIGN_IN": "required", "OIDC_ISSUER": provider.issuer,
               "OIDC_CLIENT_ID": "qa-live", "OIDC_CLIENT_SECRET": SECRET,
               "OIDC_PROVIDER_NAME": "省统一身份认证平台",
               # One asker's pace holds across devices too; here the desktop asks right away.
               "QUESTION_MIN_INTERVAL_S": "0"}
        with running_server(tmp_path_factory.mktemp("server"), "gevent", demo=True,
                            env=env) as server:
            yield server, provider


def sign_in_at_the_provider(page, provider: Provider, login: str = "zhangsan") -> None:
    """Press "sign in", use the provider's login and consent pages, come back to the page."""
    from playwright.sync_api import expect

    page.locator("#citizen-sign-in-button").click()
    page.wait_for_url(f"{provider.issuer}/interaction/**")
    page.locator("#login").fill(login)
    page.locator("#password").fill(PASSWORD)
    page.locator("#sign-in").click()
    expect(page.locator("#allow")).to_be_visible()
    page.locator("#allow").click()
    page.wait_for_url(f"**/s/{LIVE}#ask")
    expect(page.locator("#citizen-signed-in")).to_contain_text("张**")
    page.wait_for_function("() => window.qaStream && window.qaStream.ready")


def ask(page, text: str) -> None:
    from playwright.sync_api import expect

    page.locator("#text").fill(text)
    page.locator("#ask-submit").click()
    expect(page.locator("#my-list .mine-item", has_text=text)).to_have_count(1)


def test_a_citizen_signs_in_on_two_devices_and_is_one_asker(browser, world):
    from playwright.sync_api import expect

    server, provider = world
    tag = uuid.uuid4().hex[:6]
    from_phone = f"小微外贸企业出口信用保险保费补贴怎么申请？{tag}"
    from_desktop = f"跨境电商海外仓建设有没有扶持政策？{tag}"
    phone, phone_watch = new_phone_context(browser, server.url)
    desktop, desktop_watch = new_desktop_context(browser, server.url)
    try:
        page = phone.new_page()
        page.goto(f"/s/{LIVE}")
        # Watching needs nothing; asking needs a sign-in.
        expect(page.locator("#citizen-required")).to_be_visible()
        expect(page.locator("#ask-form")).to_have_count(0)
        expect(page.locator("#question-list")).to_be_visible()
        screenshot(page, "citizen-sign-in-required")
        sign_in_at_the_provider(page, provider)
        expect(page.locator("#citizen-signed-in")).to_contain_text("省统一身份认证平台")
        assert "张三丰" not in page.content()
        ask(page, from_phone)
        screenshot(page, "citizen-signed-in-asked")

        other = desktop.new_page()
        other.goto(f"/s/{LIVE}")
        sign_in_at_the_provider(other, provider)
        expect(other.locator("#my-list .mine-item", has_text=from_phone)).to_have_count(1)
        ask(other, from_desktop)
        # The phone hears of the desktop's question at once: one asker, every device.
        expect(page.locator("#my-list .mine-item", has_text=from_desktop)).to_have_count(1)

        other.locator("#citizen-sign-out").click()
        expect(other.locator("#citizen-sign-in-form")).to_be_visible()
        expect(other.locator("#my-list .mine-item")).to_have_count(0)
        expect(other.locator("#ask-form")).to_have_count(0)
        phone_watch.assert_clean()
        desktop_watch.assert_clean()
    finally:
        phone.close()
        desktop.close()


def test_cancelling_at_the_provider_comes_back_with_a_clear_page(browser, world):
    from playwright.sync_api import expect

    server, provider = world
    context, watch = new_phone_context(browser, server.url)
    try:
        page = context.new_page()
        page.goto(f"/s/{LIVE}")
        page.locator("#citizen-sign-in-button").click()
        page.wait_for_url(f"{provider.issuer}/interaction/**")
        page.locator("#cancel").click()
        expect(page.locator("#citizen-failed")).to_have_attribute("data-code", "access_denied")
        watch.expect_console_error(r"400")  # the page's own status, as Chromium logs it
        page.locator("#citizen-failed a.button").click()
        page.wait_for_url(f"**/s/{LIVE}#ask")
        expect(page.locator("#citizen-required")).to_be_visible()
        watch.assert_clean()
    finally:
        context.close()
