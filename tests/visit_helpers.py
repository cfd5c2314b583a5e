"""Visits written one at a time, for tests that build a session's history by hand.

The same rule as the batches the sockets write (qa_live/live/visits.py, ``_apply``), for one
page at a time, in the current transaction, whatever the session's state.
"""

from __future__ import annotations

from datetime import datetime

from qa_live.core.timeutil import utcnow
from qa_live.live.visits import LEAVE, OPEN, VisitTicket, _apply
from qa_live.planning.models import LiveSession


def open_visit(session: LiveSession, visitor_id: str, now: datetime | None = None) -> int:
    """Count a page joining a live session now; return the visit's id."""
    ticket = VisitTicket(session.id, visitor_id)
    ((_ticket, visit),) = _apply([(OPEN, ticket, now or utcnow())], check_state=False)
    assert visit.id is not None
    return visit.id


def leave_visit(visit_id: int, now: datetime | None = None) -> None:
    """Count a page leaving now; the visit ends with its last page."""
    _apply([(LEAVE, VisitTicket(None, None, visit_id), now or utcnow())], check_state=False)
