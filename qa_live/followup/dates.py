"""A follow-up's dates: the session's day, the default due date, overdue and due soon."""

from __future__ import annotations

from datetime import date

from flask import current_app

from qa_live.core.timeutil import to_local
from qa_live.followup import calendar
from qa_live.followup.models import FollowUp, FollowUpStatus
from qa_live.planning.models import LiveSession

#: "Due soon" = due today or within this many working days.
DUE_SOON_WORKING_DAYS = 2
OPEN_STATUSES = (FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS)
CLOSED_STATUSES = (FollowUpStatus.DONE, FollowUpStatus.IMPOSSIBLE)


def session_day(session: LiveSession) -> date:
    """The local date the session took place (its end, or its planned end)."""
    moment = to_local(session.ended_at or session.scheduled_end)
    assert moment is not None
    return moment.date()


def default_due_date(session: LiveSession, today: date | None = None) -> date:
    """FOLLOW_UP_WORKING_DAYS (5) working days after the session's day.

    A follow-up made later than the session's day counts from today instead, so its default
    is never already in the past.
    """
    start = max(session_day(session), today or calendar.local_today())
    return calendar.add_working_days(start, current_app.config["FOLLOW_UP_WORKING_DAYS"])


def is_overdue(follow_up: FollowUp, today: date | None = None) -> bool:
    """Not closed and due before today (local date)."""
    today = today or calendar.local_today()
    return follow_up.status in OPEN_STATUSES and follow_up.due_date < today


def due_soon_limit(today: date) -> date:
    """The last due date that still counts as "due soon"."""
    return calendar.add_working_days(today, DUE_SOON_WORKING_DAYS)
