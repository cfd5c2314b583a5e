"""Public votes as the pages and the API show them, and their names in the page's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from qa_live.extensions import db
from qa_live.planning.models import LiveSession
from qa_live.votes import ballots
from qa_live.votes.ballots import Results
from qa_live.votes.models import Poll, PollKind, PollState


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def state_of(poll: Poll, now: datetime) -> str:
    """The state people see: a vote past its closing time reads as closed."""
    return PollState.CLOSED.value if poll.is_closed(now) else poll.state.value


def state_label(poll: Poll, now: datetime) -> str:
    """The state in words."""
    return {PollState.DRAFT.value: _("being prepared"), PollState.OPEN.value: _("open"),
            PollState.CLOSED.value: _("closed")}[state_of(poll, now)]


def kind_label(kind: PollKind) -> str:
    """What a poll decides, in words."""
    return {PollKind.DEPARTMENTS: _("Departments for next year"),
            PollKind.THEME: _("Session theme"), PollKind.LIVE: _("Live poll")}[kind]


def session_of(poll: Poll) -> LiveSession | None:
    """The session a theme vote is for (none for a departments vote)."""
    return db.session.get(LiveSession, poll.session_id) if poll.session_id else None


def vote_payload(poll: Poll, now: datetime, found: Results | None = None,
                 mine: list[int] | None = None, staff: bool = False) -> dict[str, Any]:
    """A public vote: results only once closed (or for staff), the caller's choice if any."""
    session = session_of(poll)
    data: dict[str, Any] = {
        "id": poll.id,
        "kind": poll.kind.value,
        "question": poll.question,
        "description": poll.description,
        "plan_year": poll.plan_year,
        "session": ({"id": session.id, "slug": session.slug, "title": session.title}
                    if session is not None else None),
        "options": [{"id": o.id, "label": o.label, "department_id": o.department_id}
                    for o in poll.options],
        "max_choices": poll.max_choices,
        "state": state_of(poll, now),
        "opened_at": _iso(poll.opened_at),
        "closes_at": _iso(poll.closes_at),
        "closed_at": _iso(poll.when_closed() if poll.is_closed(now) else None),
        "applied": poll.applied_at is not None,
        "results": None,
    }
    if staff or poll.is_closed(now):
        data["results"] = ballots.results_payload(poll, found or ballots.results(poll))
    if mine is not None:
        data["mine"] = mine
    return data
