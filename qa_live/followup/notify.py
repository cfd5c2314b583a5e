"""Telling a citizen that the second reply to their question is out.

There is no SMS gateway here: :func:`notify_citizen` is the one place a deployment replaces
(for instance by monkey-patching it from a site package, or editing this file) to send a text
message. The default sends nothing and returns False, so the follow-up stays on the "to notify"
list and staff call the citizen by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa_live.followup.models import FollowUp


def notify_citizen(follow_up: FollowUp) -> bool:
    """Tell the citizen behind follow_up.question.phone that a second reply was published.

    Return True only when the message certainly went out; the follow-up is then marked
    notified. It runs after the second reply is committed; keep it quick (queue the message),
    and never raise for a failed send: return False and staff will call instead.
    """
    return False
