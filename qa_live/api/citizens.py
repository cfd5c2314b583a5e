"""/api/v1 for citizens: sessions, streams, asking, voting and rating (docs/api.md)."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from qa_live.api.common import api_error, bp, calling_visitor, json_body, visitor
from qa_live.core.timeutil import local_year, utcnow
from qa_live.extensions import db
from qa_live.live import counters, events, intake, serialize, summaries
from qa_live.live import services as live
from qa_live.live.models import Question, QuestionSource
from qa_live.live.snapshots import (
    get_live_session_or_error,
    my_questions,
    snapshot,
)
from qa_live.live.socket_common import EventError
from qa_live.live.validation import parse_question
from qa_live.planning import services as planning
from qa_live.planning.models import SessionState


@bp.get("/visitor")
def visitor_token() -> ResponseReturnValue:
    """Issue (or repeat) the visitor token a client without cookies sends as X-Visitor-Token.

    It carries what the caller's cookie or token carries: the citizen's sign-in too.
    """
    from qa_live.core.visitor import sign_visitor

    caller = calling_visitor()
    return jsonify(visitor_token=sign_visitor(caller), signed_in=caller.signed_in)


@bp.get("/sessions")
def list_sessions() -> ResponseReturnValue:
    """Public sessions of a year (default: this year), optionally of one state."""
    try:
        year = int(request.args.get("year", local_year(utcnow())))
    except ValueError:
        return api_error("invalid", _("year must be a whole number."), {"year": "int"})
    state = request.args.get("state")
    if state is not None and state not in {s.value for s in SessionState}:
        return api_error("invalid", _("Unknown state."), {"state": state})
    sessions = [s for s in planning.sessions_of_year(year, public_only=True)
                if state is None or s.state.value == state]
    return jsonify(sessions=[serialize.session_info(s) for s in sessions])


@bp.get("/sessions/<slug>")
def get_session(slug: str) -> ResponseReturnValue:
    """One public session."""
    session = get_live_session_or_error(slug)
    return jsonify(session=serialize.session_info(session),
                   counts=counters.counts(session.id))


@bp.get("/sessions/<slug>/stream")
def stream(slug: str) -> ResponseReturnValue:
    """What a page shows: the events after ?since=N, or a snapshot (same rule as the socket)."""
    session = get_live_session_or_error(slug)
    since = request.args.get("since")
    if since is not None:
        if not since.isdigit():
            return api_error("invalid", _("since must be a whole number."), {"since": since})
        replay = events.events_since(session.id, int(since), current_app.config["REPLAY_LIMIT"])
        if replay is not None:
            return jsonify(mode="replay", events=replay,
                           seq=replay[-1]["seq"] if replay else int(since),
                           counts=counters.counts(session.id))
    return jsonify(mode="snapshot", snapshot=snapshot(session))


@bp.post("/sessions/<slug>/questions")
def ask(slug: str) -> ResponseReturnValue:
    """Ask: live while the session is live, in advance while the collection window is open."""
    session = get_live_session_or_error(slug)
    data = parse_question(json_body())
    # Only an announced session collects in advance; any other is asked live, so a session that
    # is over answers not_live (not precollect_closed).
    source = (QuestionSource.ADVANCE if session.state == SessionState.ANNOUNCED
              else QuestionSource.LIVE)
    caller = calling_visitor()
    asked = intake.ask(session.id, caller.id, data, source, signed_in=caller.signed_in)
    return jsonify(question=asked.question, duplicate=not asked.created), (
        201 if asked.created else 200)


@bp.get("/sessions/<slug>/questions/mine")
def mine(slug: str) -> ResponseReturnValue:
    """The visitor's own questions in the session, with their status."""
    session = get_live_session_or_error(slug)
    return jsonify(questions=my_questions(session, visitor()))


@bp.post("/sessions/<slug>/questions/<int:question_id>/vote")
def vote(slug: str, question_id: int) -> ResponseReturnValue:
    """Upvote a published question, once per visitor."""
    session = get_live_session_or_error(slug)
    count = live.cast_vote(question_id, visitor(), session.id)  # the socket's vote, too
    db.session.commit()
    summaries.mark_vote(session.id, question_id)
    return jsonify(question_id=question_id, upvotes=count)


@bp.post("/sessions/<slug>/questions/<int:question_id>/answers/<int:answer_id>/rating")
def rate_answer(slug: str, question_id: int, answer_id: int) -> ResponseReturnValue:
    """The asker rates an answer to their own question: satisfied, basic or unsatisfied."""
    from qa_live.transcript import ratings

    session = get_live_session_or_error(slug)
    question = db.session.get(Question, question_id)
    if question is None or question.session_id != session.id:
        raise EventError("not_found", _("There is no such question."))
    if not ratings.is_asker(question, visitor()):
        raise EventError("forbidden", _("Only the citizen who asked this question may rate "
                                        "its answers."))
    answer = next((a for a in question.answers if a.id == answer_id), None)
    if answer is None:
        raise EventError("not_found", _("There is no such answer to this question."))
    value = json_body().get("value")
    try:
        parsed = ratings.parse_value(value)
    except live.QuestionRefused as exc:
        raise EventError("invalid", str(exc), {"value": "satisfied|basic|unsatisfied"}) from exc
    rating, created = ratings.rate_answer(question, answer, parsed)
    db.session.commit()
    return jsonify(rating=ratings.rating_json(rating), created=created), 201 if created else 200
