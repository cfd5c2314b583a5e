"""/api/v1 for live polls (citizens) and public votes (citizens and the office), docs/api.md.

Staff open and close live polls through the console's commands
(/api/v1/staff/sessions/<id>/actions/poll_open, poll_close).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from qa_live.api.common import api_error, bp, json_body, visitor
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import poll_commands, polls
from qa_live.live.poll_results import recent_results
from qa_live.live.snapshots import get_live_session_or_error
from qa_live.live.socket_common import client_address
from qa_live.votes import ballots, payloads, services
from qa_live.votes.ballots import BallotError
from qa_live.votes.views import ballot_limit

STATUS = {"invalid": 400, "forbidden": 403, "not_found": 404, "rate_limited": 429}


@bp.errorhandler(BallotError)
def _ballot_error(exc: BallotError) -> ResponseReturnValue:
    db.session.rollback()
    return api_error(exc.code, exc.message, exc.fields or None, STATUS.get(exc.code, 409))


# Live polls -------------------------------------------------------------------------------------


@bp.get("/sessions/<slug>/polls")
def session_polls(slug: str) -> ResponseReturnValue:
    """A session's live polls (results once citizens may see them) and the caller's answers."""
    session = get_live_session_or_error(slug)
    found = polls.public_polls(session.id)
    live_results = recent_results(found)
    listed = [{**p, "results": live_results.get(p["id"], p["results"])} for p in found]
    mine = ballots.choices_of([p["id"] for p in found], visitor())
    return jsonify(polls=listed, mine={str(k): v for k, v in mine.items()})


@bp.post("/sessions/<slug>/polls/<int:poll_id>/answer")
def answer_poll(slug: str, poll_id: int) -> ResponseReturnValue:
    """Answer a live poll (or change one's answer while it is open)."""
    session = get_live_session_or_error(slug)
    body = json_body()
    result = poll_commands.answer(session.id, poll_id, visitor(), body.get("option_ids"),
                                  client_address())
    return jsonify(result)


# Public votes -----------------------------------------------------------------------------------


def _public_vote(poll_id: int) -> Any:
    poll = services.public_vote(poll_id)
    if poll is None:
        raise BallotError("not_found", _("There is no such vote."))
    return poll


@bp.get("/votes")
def list_votes() -> ResponseReturnValue:
    """Open and closed public votes (results of the closed ones)."""
    now = utcnow()
    return jsonify(votes=[payloads.vote_payload(p, now) for p in services.public_votes()])


@bp.get("/votes/<int:poll_id>")
def get_vote(poll_id: int) -> ResponseReturnValue:
    """One public vote, with the caller's choice (and the results once closed)."""
    poll = _public_vote(poll_id)
    mine = ballots.choices_of([poll.id], visitor()).get(poll.id, [])
    return jsonify(vote=payloads.vote_payload(poll, utcnow(), mine=mine))


@bp.post("/votes/<int:poll_id>/ballot")
@ballot_limit
def cast_ballot(poll_id: int) -> ResponseReturnValue:
    """Vote: once per visitor, while the vote is open."""
    poll = _public_vote(poll_id)
    chosen = ballots.parse_choices(json_body().get("option_ids"))
    services.cast_vote(poll, visitor(), chosen)
    db.session.commit()
    return jsonify(vote_id=poll.id, option_ids=sorted(chosen)), 201
