"""Figures as of a date: the moment a report runs to, and what the sessions were then.

A report filed in January must not change when a second reply lands in February. An "as of"
date D means: everything recorded before the end of D (local time, Asia/Shanghai), judged by the
rows' own timestamps (docs/metrics.md, "Figures as of a date"). Today (or no date) is now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from qa_live.core.timeutil import from_local, to_local, utcnow
from qa_live.extensions import db
from qa_live.planning.models import LiveSession, SessionState


class AsOfError(ValueError):
    """An as-of date that cannot be used; the message is for people."""


@dataclass(frozen=True)
class AsOf:
    """The day a report runs to (local date) and the moment that day ends (aware UTC)."""

    day: date
    at: datetime

    @classmethod
    def of_day(cls, day: date) -> AsOf:
        """Up to the end of this local day."""
        return cls(day, from_local(datetime.combine(day + timedelta(days=1), time())))


def local_today() -> date:
    """Today's date in the configured zone."""
    now = to_local(utcnow())
    assert now is not None
    return now.date()


def first_session_day() -> date | None:
    """The local date of the earliest session on record (any state), or None without any."""
    first = db.session.scalar(select(func.min(LiveSession.scheduled_start)))
    if first is None:
        return None
    if first.tzinfo is None:  # func.min returns the raw column value on some drivers
        from datetime import UTC

        first = first.replace(tzinfo=UTC)
    local = to_local(first)
    assert local is not None
    return local.date()


def parse_as_of(raw: str | None, today: date | None = None) -> AsOf | None:
    """Read an as-of date (YYYY-MM-DD); None for none or today (figures now).

    Refused with a clear message: not a date, a day after today, a day before the first session.
    """
    text = (raw or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise AsOfError(_("The as-of date must be a date like 2026-01-15.")) from None
    today = today or local_today()
    if day > today:
        raise AsOfError(_("The as-of date %(day)s is in the future: figures run at most to today "
                          "(%(today)s).", day=day.isoformat(), today=today.isoformat()))
    first = first_session_day()
    if first is None:
        raise AsOfError(_("No session is on record yet, so there are no figures as of a date."))
    if day < first:
        raise AsOfError(_("The as-of date %(day)s is before the first session (%(first)s): there "
                          "are no figures then.", day=day.isoformat(), first=first.isoformat()))
    if day == today:
        return None
    return AsOf.of_day(day)


def state_at(state: SessionState, at: datetime, created_at: datetime,
             announced_at: datetime | None, started_at: datetime | None,
             ended_at: datetime | None, cancelled_at: datetime | None) -> SessionState | None:
    """A session's state at a moment, from its timestamps; None when it did not exist yet."""
    if created_at > at:
        return None
    if cancelled_at is not None and cancelled_at <= at:
        return SessionState.CANCELLED
    if state == SessionState.CANCELLED and cancelled_at is None:
        return SessionState.CANCELLED  # no time kept: cancelled from the start
    if started_at is not None and started_at <= at:
        if ended_at is not None and ended_at <= at:
            return SessionState.ARCHIVED if state == SessionState.ARCHIVED else SessionState.ENDED
        return SessionState.LIVE
    if announced_at is not None and announced_at <= at:
        return SessionState.ANNOUNCED
    return SessionState.DRAFT
