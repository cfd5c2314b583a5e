"""The demo year's follow-ups (线下落实) as a working office leaves them: most closed on time
with their second replies, the latest session's still open and due soon, one session's late.

Called by ``flask demo load`` (qa_live/demo.py) after each held session has ended and
its automatic follow-ups exist. Dates follow the session's, so the demo stays believable on any
day it is loaded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from qa_live.auth.models import User
from qa_live.followup import lists, services
from qa_live.followup.models import FollowUp, FollowUpStatus
from qa_live.planning.models import LiveSession

#: Second replies by the start of the question they answer.
REPLIES = {
    "我们小区门口": "经会同所在区商务部门实地调查，已协调在小区东侧社区商业用房增设一处便民菜店，"
                  "预计下月开业；开业前的临时售菜点已在小区南门设立。",
    "外资企业在本市": "经与外资处核实：外资研发中心可申请市级研发机构认定，认定后按规定享受设备"
                   "购置补助和人才引进支持，申报指南已在局门户网站“通知公告”栏目发布。",
}
REPLY_FALLBACK = "经相关处室核实办理，具体情况已答复如上，如有疑问可拨打局咨询电话。"

#: How a held session's follow-ups stand, by how many days ago it was held.
CLOSED_BEFORE_DAYS = 45   # older sessions: every follow-up closed with its second reply
LATE_BEFORE_DAYS = 15     # between: the office is late with them (open, past due)


def settle_follow_ups(session: LiveSession, actor: User, answerers: list[User],
                      now: datetime) -> None:
    """Close, start or leave open the session's follow-ups according to its age."""
    end = session.ended_at or session.scheduled_end
    age = (now - end).days
    follow_ups = sorted(
        (f for f in lists.list_follow_ups(actor, view="all", session_id=session.id)),
        key=lambda f: f.id)
    for n, follow_up in enumerate(follow_ups):
        if age >= CLOSED_BEFORE_DAYS:
            _close(follow_up, actor, end + timedelta(days=3 + n, hours=2))
        elif age >= LATE_BEFORE_DAYS and n == 0:
            # Being worked on, by a named person, but late.
            assignee = next((u for u in answerers
                             if follow_up.department_id in u.department_ids), None)
            services.update_follow_up(follow_up, actor, status=FollowUpStatus.IN_PROGRESS,
                                      assignee_id=assignee.id if assignee else None,
                                      notes="已与提问网民电话沟通，正在会同区商务部门核实。")
        # the latest session's stay open: due in the coming days


def _close(follow_up: FollowUp, actor: User, when: datetime) -> None:
    text = follow_up.question.text
    reply = next((r for start, r in REPLIES.items() if text.startswith(start)), REPLY_FALLBACK)
    services.close_done(follow_up, actor, reply, outcome="已办结", now=when)
