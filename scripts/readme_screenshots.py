"""Take the screenshots README.md shows, from a demo server run for the purpose.

    .venv/bin/python scripts/readme_screenshots.py     # writes docs/screenshots/*.png

Needs Debian's Chromium (/usr/bin/chromium) and the project's virtualenv.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from qa_live.demo import DEMO_PASSWORD  # noqa: E402
from tests.live_server import CHROMIUM_ARGS, DESKTOP, PHONE, start_server  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def main() -> None:
    """Start a demo server, take the pictures, stop it."""
    OUT.mkdir(parents=True, exist_ok=True)
    server = start_server(Path(tempfile.mkdtemp(prefix="qa_live_shots.")), "gevent", demo=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            # The citizen's phone at 360 px: the standard, elder-friendly and dark views.
            views = {"citizen-phone": {}, "citizen-phone-elder": {"elder": True},
                     "citizen-phone-dark": {"color_scheme": "dark"}}
            for name, view in views.items():
                phone = browser.new_context(**PHONE,
                                            color_scheme=view.get("color_scheme", "light"))
                if view.get("elder"):
                    phone.add_cookies([{"name": "display", "value": "elder",
                                        "url": server.url}])
                page = phone.new_page()
                page.goto(server.url + "/s/demo-11")
                page.wait_for_function("() => window.qaStream && window.qaStream.joined")
                page.wait_for_timeout(500)
                page.screenshot(path=OUT / f"{name}.png")
                if name == "citizen-phone":
                    page.evaluate("document.querySelector('#stream, .stream')?.scrollIntoView()")
                    page.wait_for_timeout(300)
                    page.screenshot(path=OUT / "citizen-phone-stream.png")
                phone.close()

            desk = browser.new_context(**DESKTOP)
            page = desk.new_page()
            page.goto(server.url + "/login")
            page.get_by_label("登录名").fill("host")
            page.get_by_label("密码").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="登录").click()
            page.wait_for_url("**/office/")
            page.goto(server.url + "/console/demo-11")
            page.locator("#console[data-ready='true']").wait_for()
            page.screenshot(path=OUT / "console.png")

            room = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN",
                                       timezone_id="Asia/Shanghai")
            page = room.new_page()
            page.goto(server.url + "/s/demo-11/screen")
            page.wait_for_timeout(1500)
            page.screenshot(path=OUT / "projector.png")

            # The interview studio (demo-14): the reviewer's queue on a phone, the projector
            # showing the question the director chose.
            page = browser.new_context(**PHONE).new_page()
            _log_in(page, server.url, "reviewer")
            page.goto(server.url + "/console/demo-14")
            page.locator("#review-list .review-item").first.wait_for()
            page.locator("#review-card").scroll_into_view_if_needed()
            page.screenshot(path=OUT / "studio-reviewer-phone.png")
            page = room.new_page()
            page.goto(server.url + "/s/demo-14/screen")
            page.wait_for_timeout(1500)
            page.screenshot(path=OUT / "studio-projector.png")
            browser.close()
    finally:
        server.stop()
    print("wrote", ", ".join(sorted(p.name for p in OUT.glob("*.png"))))


def _log_in(page, url: str, login: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("登录名").fill(login)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/office/**")


if __name__ == "__main__":
    main()
