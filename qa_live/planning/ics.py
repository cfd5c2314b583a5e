"""An announced session as a calendar entry (.ics, RFC 5545) for the citizen's own calendar.

Built with icalendar. The entry keeps one UID per session and a SEQUENCE that grows with every
change, so a calendar that imports it again updates the entry (a new time, a cancellation)
instead of adding a second one. It reminds thirty minutes before the start.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from icalendar import Alarm, Calendar, Event

from qa_live.core.timeutil import utcnow
from qa_live.core.urls import public_url
from qa_live.planning.access import get_public_session_or_404
from qa_live.planning.models import LiveSession, SessionState

bp = Blueprint("ics", __name__)

REMINDER = timedelta(minutes=30)


def session_calendar_entry(session: LiveSession, page_url: str, host: str) -> bytes:
    """The session as a one-event calendar, ready to send."""
    calendar = Calendar()
    calendar.add("prodid", "-//qa_live//Online Q&A sessions//ZH")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"session-{session.id}@{host}")
    event.add("dtstamp", utcnow())
    event.add("sequence", int(session.updated_at.timestamp()) // 60 if session.updated_at else 0)
    event.add("dtstart", session.scheduled_start)
    event.add("dtend", session.scheduled_end)
    event.add("summary", _("Online Q&A: %(title)s", title=session.title))
    departments = "、".join(d.name for d in session.departments)
    lines = [_("Departments online: %(names)s", names=departments)] if departments else []
    if session.description:
        lines.append(session.description)
    lines.append(_("Ask and follow the answers at %(url)s", url=page_url))
    event.add("description", "\n\n".join(lines))
    event.add("url", page_url)
    event.add("location", page_url)
    cancelled = session.state == SessionState.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", _("Online Q&A: %(title)s", title=session.title))
        alarm.add("trigger", -REMINDER)
        event.add_component(alarm)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


@bp.get("/s/<slug>/calendar.ics")
def session_calendar(slug: str) -> ResponseReturnValue:
    """Download a public session as an .ics file ("add to my calendar")."""
    session = get_public_session_or_404(slug)
    body = session_calendar_entry(
        session, public_url("planning.session_page", slug=session.slug),
        request.host.split(":")[0] or "qa_live")
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="{session.slug}.ics"'
    response.headers["Cache-Control"] = "no-cache"
    return response
