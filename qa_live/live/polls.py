"""Live polls: the host puts a question to the audience, citizens answer on their phones.

A host or the office opens a single- or multiple-choice poll of 2–10 options while the session
is live, and chooses whether citizens see the results as answers come in or once it closes
(staff see them all along). Opening and closing are numbered public ``poll`` events, so a
reconnecting page replays them; the closing one carries the final results, kept for the
transcript. Each visitor has one answer per poll, which they may change while it is open.
Counts travel as throttled ``poll_results`` summaries (poll_results.py), never one broadcast
per answer. The ballot rules themselves are qa_live/votes/ballots.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from qa_live.audit import services as audit
from qa_live.auth.models import User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import events, screen, serialize
from qa_live.live.services import QuestionRefused
from qa_live.planning.models import LiveSession, SessionState
from qa_live.votes import ballots
from qa_live.votes.ballots import BallotError, Results
from qa_live.votes.models import Poll, PollKind, PollState, ResultsShown

#: A live poll's option, stripped: this many characters (short enough for a phone's button).
LIVE_LABEL_LENGTH = (1, 80)


# Payloads -------------------------------------------------------------------------------------


def _definition(poll: Poll) -> dict[str, Any]:
    return {
        "id": poll.id,
        "session_id": poll.session_id,
        "question": poll.question,
        "options": [{"id": o.id, "label": o.label} for o in poll.options],
        "multiple": poll.multiple,
        "max_choices": poll.max_choices,
        "state": poll.state.value,
        "results_shown": poll.results_shown.value,
        "opened_at": serialize.iso(poll.opened_at),
        "closed_at": serialize.iso(poll.closed_at),
    }


def public_poll(poll: Poll, found: Results | None = None) -> dict[str, Any]:
    """A poll as citizens' pages and the projector get it: results only once they are public.

    `results` is the final count once closed; while open with live results it is filled in by
    the summaries (and the snapshot), so the numbered event itself never goes stale.
    """
    data = _definition(poll)
    data["results"] = None
    if poll.state == PollState.CLOSED:
        data["results"] = ballots.results_payload(poll, found or ballots.results(poll))
    return data


def staff_poll(poll: Poll, found: Results | None = None) -> dict[str, Any]:
    """A poll as the console gets it: always with its current results."""
    data = _definition(poll)
    data["results"] = ballots.results_payload(poll, found or ballots.results(poll))
    return data


def poll_results_payload(poll: Poll) -> dict[str, Any] | None:
    """The public payload of one poll's results, or None while citizens may not see them.

    What a page shows of the poll right now: its question, options, state and counts (for the
    projector's choice of what to show; docs/realtime.md, "Polls").
    """
    if poll.kind != PollKind.LIVE or not poll.results_public(utcnow()):
        return None
    data = _definition(poll)
    data["results"] = ballots.results_payload(poll, ballots.results(poll))
    return data


@screen.screen_kind("poll")
def _on_screen(session: LiveSession, ref: int) -> None:
    """The director may show a poll of the session on the projector: its results as citizens
    may see them (poll_results_payload), so a poll whose results wait for its closing shows
    its question until it closes, then its final results."""
    poll = db.session.get(Poll, ref)
    if poll is None or poll.kind != PollKind.LIVE or poll.session_id != session.id:
        raise QuestionRefused(_("There is no such poll in this session."), "not_found")


def session_polls(session_id: int) -> list[Poll]:
    """A session's live polls, in the order they were opened."""
    return list(db.session.scalars(
        select(Poll).where(Poll.session_id == session_id, Poll.kind == PollKind.LIVE)
        .order_by(Poll.id)))


def public_polls(session_id: int) -> list[dict[str, Any]]:
    """A session's polls as citizens get them (closed ones with their final results)."""
    polls = session_polls(session_id)
    found = ballots.results_of(p.id for p in polls if p.state == PollState.CLOSED)
    return [public_poll(p, found.get(p.id)) for p in polls]


def staff_polls(session_id: int) -> list[dict[str, Any]]:
    """The console's polls of a session, each with its current results."""
    polls = session_polls(session_id)
    found = ballots.results_of(p.id for p in polls)
    return [staff_poll(p, found[p.id]) for p in polls]


def transcript_polls(session_id: int) -> list[dict[str, Any]]:
    """The closed polls of a session with their final results (the transcript shows these)."""
    return [p for p in public_polls(session_id) if p["state"] == PollState.CLOSED.value]


def poll_in(session: LiveSession, poll_id: object) -> Poll:
    """A live poll of this session by id, or not_found."""
    poll = (db.session.get(Poll, poll_id)
            if isinstance(poll_id, int) and not isinstance(poll_id, bool) else None)
    if poll is None or poll.kind != PollKind.LIVE or poll.session_id != session.id:
        raise BallotError("not_found", _("There is no such poll in this session."), "poll_id")
    return poll


def poll_strings() -> dict[str, str]:
    """Every text static/js/polls.js shows, translated for the page's language."""
    return {
        "poll": _("Poll"),
        "closed": _("Closed"),
        "choose_up_to": _("Choose up to %(n)d"),
        "send": _("Send my answer"),
        "change": _("Change my answer"),
        "counted": _("Your answer is counted. You may change it while the poll is open."),
        "none": _("Choose an option."),
        "too_many": _("Choose at most %(n)d options."),
        "later": _("The results are shown when the poll closes."),
        "answered": _("%(n)d people answered"),
        "answered_one": _("1 person answered"),
        "failed": _("That did not work. Please try again."),
        "offline": _("Connection lost. Reconnecting…"),
        # the console's poll panel (static/js/console_polls.js)
        "open": _("open"),
        "close": _("Close the poll"),
        "shown_live": _("Citizens see the results live"),
        "shown_closed": _("Citizens see the results once it closes"),
        "no_reply": _("The server did not answer. Please try again."),
    }


# Operations -----------------------------------------------------------------------------------


def open_poll(session: LiveSession, actor: User | None, question: object, labels: object,
              multiple: bool, results_shown: ResultsShown,
              now: datetime | None = None) -> Poll:
    """Put a question to the audience now (hosts and the office; the caller checks the role)."""
    if session.state != SessionState.LIVE:
        raise BallotError("not_live", _("Polls open only while the session is live."))
    now = now or utcnow()
    text = ballots.check_question(question)
    options = ballots.check_labels(labels, length=LIVE_LABEL_LENGTH)
    poll = Poll(kind=PollKind.LIVE, session_id=session.id, question=text,
                max_choices=len(options) if multiple else 1, results_shown=results_shown,
                created_at=now, created_by_id=actor.id if actor else None)
    ballots.new_options(poll, options)
    db.session.add(poll)
    db.session.flush()
    ballots.change_state(poll, PollState.OPEN, now)
    _tell(session, poll, Results(poll.id))
    audit.record("poll_open", user=actor, target_type="poll", target_id=poll.id,
                 session_id=session.id,
                 detail={"options": len(options), "multiple": multiple,
                         "results_shown": results_shown.value})
    return poll


def close_poll(session: LiveSession, poll: Poll, actor: User | None,
               now: datetime | None = None) -> Poll:
    """Stop taking answers; the final results go to every page and stay on the transcript."""
    ballots.change_state(poll, PollState.CLOSED, now)
    _tell(session, poll, ballots.results(poll))
    audit.record("poll_close", user=actor, target_type="poll", target_id=poll.id,
                 session_id=session.id)
    return poll


def close_open_polls(session: LiveSession, actor: User | None, now: datetime) -> None:
    """Close the session's open polls (it has ended)."""
    for poll in session_polls(session.id):
        if poll.state == PollState.OPEN:
            close_poll(session, poll, actor, now)


def answer_poll(session: LiveSession, poll: Poll, visitor_id: str, option_ids: Sequence[int],
                now: datetime | None = None) -> str:
    """Store a citizen's answer (new, changed or the same as before); return which."""
    if session.state != SessionState.LIVE:
        raise BallotError("closed", _("This poll has closed; answers are no longer taken."))
    return ballots.cast(poll, visitor_id, option_ids, may_change=True, now=now)


def _tell(session: LiveSession, poll: Poll, found: Results) -> None:
    events.publish(session, "poll", public_poll(poll, found))
    events.tell_staff(session.id, "poll", staff_poll(poll, found))
