"""Claims in a real browser: an answerer's claim keeps a colleague off the question (no button,
and the server refuses the colleague's own socket anyway), and the host takes it over only
after confirming, with both consoles saying who took it over from whom.

Chromium (Playwright) drives ``wsgi.py`` under gevent on the demo database (tests/live_server.py).
"""

from __future__ import annotations

import re
import uuid

import pytest

from qa_live.demo import DEMO_PASSWORD
from tests.live_server import (  # noqa: F401 - browser and demo_server are pytest fixtures
    LiveServer,
    demo_server,
    new_desktop_context,
    screenshot,
)
from tests.test_browser_console import ANSWERER, card, log_in, open_console
from tests.test_browser_moderation_tools import ask, office_api

pytestmark = pytest.mark.browser

HOLDER_NAME = "办公室值班员"  # answerer01, on duty for 办公室 in the live demo session
HOST_NAME = "主持人 李明"

# What a colleague could send from the console's own page, past the missing button: a second
# /moderation socket on the page's login, joining and answering (docs/realtime.md).
_ANSWER_ON_OWN_SOCKET = """
async ([questionId, body]) => {
  const cfg = JSON.parse(document.getElementById("console-config").textContent);
  const sock = window.io(cfg.namespace, {path: cfg.socket_path, forceNew: true});
  await new Promise((ok, fail) => { sock.on("connect", ok); sock.on("connect_error", fail); });
  try {
    const joined = await sock.timeout(10000).emitWithAck("join", {session_id: cfg.session_id});
    if (!joined.ok) return joined;
    return await sock.timeout(10000).emitWithAck("answer", {question_id: questionId, body});
  } finally {
    sock.disconnect();
  }
}
"""


def colleague_of_answerer01(page, server: LiveServer, token: str) -> str:
    """A second on-duty answerer of 办公室 (the demo has one per department); their login."""
    departments = page.request.get(f"{server.url}/api/v1/staff/departments",
                                   headers={"Authorization": f"Bearer {token}"}).json()
    office_dept = next(d["id"] for d in departments["departments"] if d["name"] == "办公室")
    login = f"colleague{uuid.uuid4().hex[:6]}"
    server.flask("staff", "create", login, "--name", "办公室二号", "--role", "answerer",
                 "--department", str(office_dept), "--password", DEMO_PASSWORD)
    return login


def test_a_claim_keeps_colleagues_off_and_the_host_takes_it_over_visibly(browser, demo_server):
    token = demo_server.flask("api", "token", "office").stdout.strip()
    contexts = []
    try:
        pages = {}
        for who in ("holder", "colleague", "host"):
            context, watch = new_desktop_context(browser, demo_server.url)
            contexts.append((context, watch))
            pages[who] = context.new_page()
        holder, colleague, host = pages["holder"], pages["colleague"], pages["host"]
        colleague_login = colleague_of_answerer01(holder, demo_server, token)

        tag = uuid.uuid4().hex[:6]
        question_id = ask(browser, demo_server, f"政务服务中心午休时间能办业务吗？（{tag}）")
        log_in(holder, demo_server, ANSWERER)
        open_console(holder, demo_server)
        office_api(holder, demo_server, token, "approve", {"question_id": question_id})

        # answerer01 claims it and starts writing.
        holder.locator("#tab-published").click()
        mine = card(holder, "published", tag)
        mine.locator("[data-action=claim]").click()
        draft = mine.locator("textarea")
        draft.wait_for()
        draft.fill(f"午休期间设有值班窗口。{tag}")

        # A colleague of the same department sees who holds it, and no button to answer.
        log_in(colleague, demo_server, colleague_login)
        open_console(colleague, demo_server)
        colleague.locator("#tab-published").click()
        theirs = card(colleague, "published", tag)
        theirs.locator(".q-claim", has_text=HOLDER_NAME).wait_for()
        assert theirs.locator("[data-action=claim], [data-action=answer], "
                              "[data-action=take_over]").count() == 0
        # Sent past the console anyway, on the colleague's own socket: refused.
        ack = colleague.evaluate(_ANSWER_ON_OWN_SOCKET, [question_id, "抢先答复。"])
        assert ack["ok"] is False and ack["error"] == "claimed", ack
        assert HOLDER_NAME in ack["message"]

        # The host is offered the answer, saying who holds the claim, and must confirm.
        log_in(host, demo_server, "host")
        open_console(host, demo_server)
        host.locator("#tab-published").click()
        hosts = card(host, "published", tag)
        take = hosts.locator("[data-action=take_over]")
        take.wait_for()
        assert HOLDER_NAME in take.inner_text()
        assert HOLDER_NAME in hosts.locator(".q-claim").inner_text()
        take.click()
        warning = hosts.locator(".form-take_over .form-warning")
        assert HOLDER_NAME in warning.inner_text()
        assert re.search(r"\d{2}:\d{2}", warning.inner_text())
        screenshot(host, "console-host-take-over-confirm", full_page=False)
        hosts.locator("[data-form-cancel]").click()  # changing one's mind takes nothing
        assert hosts.locator(".form-take_over").count() == 0
        assert HOLDER_NAME in hosts.locator(".q-claim").inner_text()
        take.click()
        hosts.locator("[data-confirm=take_over]").click()
        answer_box = hosts.locator("textarea")
        answer_box.wait_for()

        # The former holder's console says who took it over; their draft stays, unpublished.
        notice = mine.locator(".action-error", has_text=HOST_NAME)
        notice.wait_for()
        mine.locator(".q-takeover", has_text=HOLDER_NAME).wait_for()
        assert mine.locator("[data-action=answer], [data-action=release]").count() == 0
        mine.locator("button[type=submit]").click()
        mine.locator(".action-error", has_text=re.compile(f"{HOST_NAME}.*正在答复")).wait_for()
        screenshot(holder, "console-answerer-taken-over", full_page=False)

        # The host answers; the answered card keeps who took it over from whom.
        published = f"午休期间设有值班窗口，可正常办理。{tag}"
        answer_box.fill(published)
        hosts.locator("button[type=submit]").click()
        hosts.wait_for(state="detached")
        host.locator("#tab-answered").click()
        done = card(host, "answered", tag)
        record = done.locator(".q-takeover")
        record.wait_for()
        assert HOST_NAME in record.inner_text() and HOLDER_NAME in record.inner_text()
        assert done.locator(".a-body").all_inner_texts() == [published]

        for _context, watch in contexts:
            watch.assert_clean()
    finally:
        for context, _watch in contexts:
            context.close()
