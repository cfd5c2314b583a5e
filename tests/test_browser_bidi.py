"""User text cannot reorder the text around it (Unicode bidi isolation), in Chromium.

A department named with U+202E RIGHT-TO-LEFT OVERRIDE in front used to reverse the next
department's name on the projector's header; a nickname with one reversed the department after
it. Every piece of user text shown next to other text is now isolated: <bdi> or dir="auto" in
templates and scripts, U+2068/U+2069 inside translated sentences and titles.

The check is what a reader sees: the boxes Chromium lays out for each letter of the name that
follows, which must run left to right. Pages are checked as the server renders them (script
off) and as the scripts redraw them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.live_server import (  # noqa: F401 - demo_server is a pytest fixture
    ROOT,
    LiveServer,
    demo_server,
    new_desktop_context,
    new_phone_context,
)

pytestmark = pytest.mark.browser

RLO = "\u202e"
SLUG = "bidi-test"
FIRST = RLO + "Alpha Office"  # a name with an override in it
SECOND = "乙 Bravo Office"  # shown after it (departments are listed by name: U+202E < 乙)
NEXT = "Bravo"
NICKNAME = RLO + "Zed"

# A live session (open moderation) with two departments, the first named with U+202E, a guest
# whose name has one ("‮Zed · Charlie Director"), and one answered question from a citizen whose
# nickname has one too, assigned to the second department.
_SETUP = """
import sys, uuid
from datetime import timedelta
from qa_live import create_app
from qa_live.auth.services import find_user_by_login
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import intake, moderation
from qa_live.live.models import QuestionSource
from qa_live.live.validation import QuestionInput
from qa_live.planning import services as planning
from qa_live.planning.models import ModerationMode, SessionState

first, second, nickname, slug = sys.argv[1:5]
with create_app().app_context():
    host = find_user_by_login("host")
    office = find_user_by_login("office")  # the office plans sessions; the host runs them
    alpha = planning.create_department(first, "")
    bravo = planning.create_department(second, "")
    now = utcnow()
    session = planning.create_session(planning.SessionDraft(
        title="双向文字测试", description="", scheduled_start=now + timedelta(minutes=1),
        scheduled_end=now + timedelta(hours=2), department_ids=[alpha.id, bravo.id],
        host_ids=[host.id], guests=[(nickname, "Charlie Director")],
        moderation_mode=ModerationMode.OPEN, slug=slug), office)
    planning.announce_session(session, now)
    planning.change_state(session, SessionState.LIVE, now)
    question, _ = intake.submit_question(
        session, "visitor-bidi-test-000001",
        QuestionInput(text="港口通关时间能否缩短？", nickname=nickname, phone=None,
                      client_id=str(uuid.uuid4())), QuestionSource.LIVE)
    moderation.assign(question, host, bravo)
    moderation.answer(question, host, "今年起推行提前申报，平均通关时间缩短三成。")
    db.session.commit()
"""

# The left edge of each letter of the first occurrence of `word` under the element `selector`.
_LETTER_EDGES = """([selector, word]) => {
    const root = document.querySelector(selector);
    if (!root) return null;
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let node;
    while ((node = walker.nextNode())) {
        const at = node.data.indexOf(word);
        if (at < 0) continue;
        const edges = [];
        for (let i = at; i < at + word.length; i++) {
            const range = document.createRange();
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            edges.push(range.getBoundingClientRect().left);
        }
        return edges;
    }
    return null;
}"""


@pytest.fixture(scope="module")
def bidi_session(demo_server: LiveServer) -> str:
    result = subprocess.run(
        [sys.executable, "-c", _SETUP, FIRST, SECOND, NICKNAME, SLUG], cwd=ROOT,
        env=demo_server.env,
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return SLUG


def reads_left_to_right(page, selector: str, word: str = NEXT) -> list[float]:
    edges = page.evaluate(_LETTER_EDGES, [selector, word])
    assert edges, f"{word!r} is not under {selector}"
    assert edges == sorted(edges) and len(set(edges)) == len(edges), (
        f"{word!r} under {selector} is laid out out of order: {edges}")
    return edges


@pytest.mark.parametrize("scripts", [False, True], ids=["as-rendered", "as-redrawn"])
def test_the_projector_keeps_the_next_name_in_order(browser, demo_server, bidi_session,
                                                    scripts):
    context, watch = new_desktop_context(browser, demo_server.url, java_script_enabled=scripts,
                                         viewport={"width": 1280, "height": 720})
    try:
        page = context.new_page()
        page.goto(f"/s/{bidi_session}/screen")
        if scripts:
            page.wait_for_function("() => window.qaStream && window.qaStream.ready")
            page.wait_for_function(
                "() => document.getElementById('session-departments').dataset.drawn")
        reads_left_to_right(page, ".screen-kicker")  # "‮Alpha Office · 乙 Bravo Office"
        reads_left_to_right(page, "#featured-body .featured-meta")  # "‮Zed · 乙 Bravo Office"
        reads_left_to_right(page, "#featured-body .a-meta")  # "乙 Bravo Office 10:32"
        watch.assert_clean()
    finally:
        context.close()


@pytest.mark.parametrize("scripts", [False, True], ids=["as-rendered", "as-redrawn"])
def test_the_citizen_page_keeps_the_text_after_a_name_in_order(browser, demo_server,
                                                               bidi_session, scripts):
    context, watch = new_phone_context(browser, demo_server.url, java_script_enabled=scripts)
    try:
        page = context.new_page()
        page.goto(f"/s/{bidi_session}")
        if scripts:
            page.wait_for_function("() => window.qaStream && window.qaStream.ready")
            page.wait_for_function(
                "() => document.getElementById('session-facts').dataset.drawn")
        reads_left_to_right(page, "#session-facts", "Charlie")  # "‮Zed · Charlie Director"
        watch.assert_clean()
    finally:
        context.close()
