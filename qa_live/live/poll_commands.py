"""Live polls from the console and from citizens' phones.

Staff: ``poll_open`` and ``poll_close`` are console commands (a /moderation socket event and
POST /api/v1/staff/sessions/<id>/actions/<name> at once), for hosts and the office. Citizens:
`answer` is the one path of an answer, whatever carries it (the /qa socket's ``poll_answer``,
the page's plain form, the API): flood limits first, then the ballot, the commit, the mark for
the next results summary, and the answer's part in the session's participant-visits.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _

from qa_live.auth.models import User
from qa_live.core import ratelimit
from qa_live.extensions import db
from qa_live.live import events, polls, visits
from qa_live.live.commands import command, require_moderator
from qa_live.live.poll_results import mark_results
from qa_live.live.socket_common import EventError, bool_field
from qa_live.planning.models import LiveSession
from qa_live.votes import ballots
from qa_live.votes.ballots import BallotError
from qa_live.votes.models import ResultsShown


def as_event_error(exc: BallotError) -> EventError:
    """A ballot refusal as the socket's and the API's error (code, message, fields)."""
    return EventError(exc.code, exc.message, exc.fields)


@command("poll_open", audited_by_operation=True)
def poll_open(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Open a poll: question, options (2–10), multiple (bool), results ("live" or "closed")."""
    require_moderator(user, session)
    shown = data.get("results", ResultsShown.CLOSED.value)
    if shown not in {r.value for r in ResultsShown}:
        raise EventError("invalid", _("Choose when citizens see the results."),
                         {"results": "live, closed"})
    try:
        poll = polls.open_poll(session, user, data.get("question"), data.get("options"),
                               bool_field(data, "multiple", False), ResultsShown(shown))
    except BallotError as exc:
        raise as_event_error(exc) from exc
    return {"poll_id": poll.id, "option_ids": [o.id for o in poll.options]}


@command("poll_close", audited_by_operation=True)
def poll_close(user: User, session: LiveSession, data: dict[str, Any]) -> dict[str, Any]:
    """Close a poll (poll_id): answers stop, the final results go to every page."""
    require_moderator(user, session)
    try:
        poll = polls.close_poll(session, polls.poll_in(session, data.get("poll_id")), user)
    except BallotError as exc:
        raise as_event_error(exc) from exc
    return {"poll_id": poll.id, "results": polls.staff_poll(poll)["results"]}


def answer(session_id: int, poll_id: object, visitor_id: str, option_ids: object,
           address: str, counted: bool = False) -> dict[str, Any]:
    """A citizen answers a poll: checked, stored, committed; the reply's fields.

    Refused before any database work when the visitor answers faster than
    POLL_ANSWER_RATE_LIMIT, or the address than POLL_ADDRESS_RATE_LIMIT (cookies cleared to
    answer again). ``counted``: the answer comes from a page whose visit is open already;
    otherwise the answer itself takes part in the session (docs/metrics.md).
    """
    config = current_app.config
    if not ratelimit.allow(config["POLL_ANSWER_RATE_LIMIT"], "poll", visitor_id):
        raise EventError("rate_limited", _("Too many answers in a short time. Please wait a "
                                           "moment."))
    if not ratelimit.allow(config["POLL_ADDRESS_RATE_LIMIT"], "poll-address", address):
        raise EventError("rate_limited", _("Too many answers from your network. Please try "
                                           "again later."))
    session = db.session.get(LiveSession, session_id)
    if session is None:
        raise EventError("not_found", _("There is no such session."))
    try:
        chosen = ballots.parse_choices(option_ids)
        poll = polls.poll_in(session, poll_id)
        outcome = polls.answer_poll(session, poll, visitor_id, chosen)
    except BallotError as exc:
        raise as_event_error(exc) from exc
    events.commit_and_send()
    if outcome != "same":
        mark_results(session.id, poll.id)
        if not counted:
            take_part(session.id, visitor_id)
    return {"poll_id": poll.id, "option_ids": sorted(chosen), "outcome": outcome}


def take_part(session_id: int, visitor_id: str) -> None:
    """An answer from a visitor without an open page: a visit that starts and ends at once.

    The visit rule does the rest (visits.py): within VISIT_GRACE_S of the visitor's last visit
    it continues that one, so it is a new 人次 only for someone not otherwise there.
    """
    visits.leave(visits.join_visit(session_id, visitor_id))
