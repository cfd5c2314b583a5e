"""Citizens' vote pages: the open and closed votes, one vote with its form or its results.

The ballot is a plain form (phones without the script vote too); static/js/votes.js sends the
same choice to the JSON API instead, without a reload. Both are held to one per-address limit
(PUBLIC_VOTE_ADDRESS_LIMIT, counted on accepted ballots only) on top of one vote per visitor.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from qa_live.core.timeutil import utcnow
from qa_live.core.visitor import visitor_id
from qa_live.extensions import db, limiter
from qa_live.votes import ballots, payloads, services
from qa_live.votes.ballots import BallotError
from qa_live.votes.models import Poll

bp = Blueprint("votes", __name__)

#: HTTP status of each refusal.
STATUS = {"invalid": 400, "not_found": 404, "forbidden": 403, "rate_limited": 429}


def _address_and_vote() -> str:
    return f"{get_remote_address()}:{(request.view_args or {}).get('poll_id')}"


#: One budget per address and vote, shared by the page's form and the API.
ballot_limit = limiter.shared_limit(
    lambda: current_app.config["PUBLIC_VOTE_ADDRESS_LIMIT"], scope="public-vote-ballot",
    key_func=_address_and_vote, deduct_when=lambda response: response.status_code < 400)


def get_public_vote_or_404(poll_id: int) -> Poll:
    """A vote citizens may see, or 404."""
    poll = services.public_vote(poll_id)
    if poll is None:
        abort(404)
    return poll


@bp.get("/votes")
def index() -> ResponseReturnValue:
    """The open votes, and the closed ones with their results."""
    now = utcnow()
    polls = services.public_votes()
    return render_template(
        "votes/index.html", open_votes=[p for p in polls if p.is_open(now)],
        closed_votes=[p for p in polls if p.is_closed(now)], now=now,
        kind_label=payloads.kind_label, state_label=payloads.state_label)


def render_vote(poll: Poll, status: int = 200) -> ResponseReturnValue:
    """One vote's page: the ballot while open (or the visitor's choice), results once closed."""
    now = utcnow()
    mine = ballots.choices_of([poll.id], visitor_id()).get(poll.id)
    data = payloads.vote_payload(poll, now, mine=mine or [])
    body = render_template(
        "votes/vote.html", poll=poll, vote=data, now=now, is_open=poll.is_open(now),
        kind_label=payloads.kind_label, state_label=payloads.state_label)
    return body, status, {"Cache-Control": "private, no-store"}


@bp.get("/votes/<int:poll_id>")
def vote_page(poll_id: int) -> ResponseReturnValue:
    """One vote."""
    return render_vote(get_public_vote_or_404(poll_id))


@bp.post("/votes/<int:poll_id>")
@ballot_limit
def cast(poll_id: int) -> ResponseReturnValue:
    """Vote without the script (a plain form post)."""
    poll = get_public_vote_or_404(poll_id)
    chosen = request.form.getlist("option")
    try:
        ids = ballots.parse_choices([int(v) for v in chosen if v.isdigit()]
                                    if all(v.isdigit() for v in chosen) else None)
        services.cast_vote(poll, visitor_id(), ids)
    except BallotError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return render_vote(poll, STATUS.get(exc.code, 409))
    db.session.commit()
    flash(_("Thank you: your vote was counted."), "success")
    session = payloads.session_of(poll)
    if request.form.get("return_to") == "session" and session is not None:
        return redirect(url_for("planning.session_page", slug=session.slug)
                        + f"#vote-{poll.id}", 303)
    return redirect(url_for("votes.vote_page", poll_id=poll.id), 303)
