"""Socket.IO namespaces: /qa for citizens, /moderation for staff. Thin: parse, check, call, tell.

docs/realtime.md describes every event, its payload and its acknowledgement.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_socketio import ConnectionRefusedError, Namespace, join_room, leave_room
from sqlalchemy import select

from qa_live.core.visitor import COOKIE, read_visitor_id
from qa_live.extensions import db, socketio
from qa_live.live import events, presence, serialize
from qa_live.live import services as live
from qa_live.live.models import HostPost, Question, QuestionSource, QuestionStatus
from qa_live.live.socket_common import (
    EventError,
    client_address,
    current_sid,
    guarded,
    int_field,
    ok,
    payload,
)
from qa_live.live.validation import parse_question
from qa_live.planning.models import LiveSession, SessionState

# Per-socket state of this process: sid -> {"visitor", "session_id", "visit_id"}.
_citizens: dict[str, dict[str, Any]] = {}
# Open /qa sockets per client address in this process (nginx's ip_hash sends an address to one
# worker, so this is the address's whole count there).
_connections_by_ip: dict[str, int] = {}


def get_live_session_or_error(slug: object) -> LiveSession:
    """A public session by slug, or an "unknown session" error."""
    if not isinstance(slug, str) or not 0 < len(slug) <= 64:
        raise EventError("not_found", _("There is no such session."))
    session = db.session.scalar(select(LiveSession).where(LiveSession.slug == slug))
    if session is None or not session.is_public:
        raise EventError("not_found", _("There is no such session."))
    return session


# The public part of a session's snapshot by (session id, sequence number, locale). Every public
# change writes a new sequence number, so an entry never goes stale; votes, which change without
# one, are laid over from the database on every use. Thousands of pages joining at the start of a
# session then cost two small queries each instead of rebuilding the stream.
# The cache lives on the app (one per database), never shared between apps in one process.
_public_parts_lock = threading.Lock()
PUBLIC_PARTS_KEPT = 64


def _public_part(session: LiveSession, seq: int) -> dict[str, Any]:
    _public_parts: OrderedDict[tuple[int, int, str], dict[str, Any]] = (
        current_app.extensions.setdefault("qa_live.public_parts", OrderedDict()))
    key = (session.id, seq, str(get_locale()))
    with _public_parts_lock:
        part = _public_parts.get(key)
        if part is not None:
            _public_parts.move_to_end(key)
            return part
    # Read after the sequence number: what is read is at least as new as `seq`, and applying
    # an event twice changes nothing, so a page that replays from `seq` ends up exact.
    questions = db.session.scalars(
        select(Question)
        .where(Question.session_id == session.id,
               Question.status.in_([QuestionStatus.APPROVED, QuestionStatus.ANSWERED]))
        .order_by(Question.published_at, Question.id)
    ).all()
    posts = db.session.scalars(
        select(HostPost).where(HostPost.session_id == session.id, HostPost.removed.is_(False))
        .order_by(HostPost.id)
    ).all()
    part = {
        "session": serialize.session_info(session),
        "questions": [serialize.public_question(q) for q in questions],
        "posts": [serialize.post(p) for p in posts],
    }
    with _public_parts_lock:
        _public_parts[key] = part
        while len(_public_parts) > PUBLIC_PARTS_KEPT:
            _public_parts.popitem(last=False)
    return part


def snapshot(session: LiveSession, visitor_id: str | None = None) -> dict[str, Any]:
    """Everything a citizen's page shows, as of the session's current sequence number."""
    seq = db.session.scalar(select(LiveSession.last_seq).where(LiveSession.id == session.id))
    part = _public_part(session, seq or 0)
    votes = _upvotes(session)
    data: dict[str, Any] = {
        "seq": seq,
        "session": part["session"],
        "questions": [dict(q, upvotes=votes.get(str(q["id"]), q["upvotes"]))
                      for q in part["questions"]],
        "posts": part["posts"],
        "counts": presence.counts(session.id),
    }
    if visitor_id is not None:
        data["mine"] = my_questions(session, visitor_id)
    return data


def my_questions(session: LiveSession, visitor_id: str) -> list[dict[str, Any]]:
    """The visitor's own questions with their status."""
    return [serialize.own_question(q, live.status_label(q))
            for q in live.questions_of_visitor(session, visitor_id)]


class CitizenNamespace(Namespace):
    """/qa: watch a session, ask, vote, follow one's own questions."""

    def on_connect(self, auth: Any = None) -> None:
        visitor = read_visitor_id(request.cookies.get(COOKIE))
        if visitor is None:
            raise ConnectionRefusedError({
                "error": "no_visitor",
                "message": _("Please reload the page to join the session."),
            })
        address = client_address()
        limit = current_app.config["CITIZEN_CONNECTIONS_PER_IP"]
        if limit and _connections_by_ip.get(address, 0) >= limit:
            raise ConnectionRefusedError({
                "error": "too_many_connections",
                "message": _("Too many connections from your network. Please try again later."),
            })
        presence.start_summary_task(current_app._get_current_object())  # type: ignore[attr-defined]
        _citizens[current_sid()] = {"visitor": visitor, "session_id": None, "visit_id": None,
                                  "ip": address}
        _connections_by_ip[address] = _connections_by_ip.get(address, 0) + 1
        join_room(events.visitor_room(visitor))

    def on_disconnect(self, reason: Any = None) -> None:
        state = _citizens.pop(current_sid(), None)
        if state:
            left = _connections_by_ip.get(state["ip"], 1) - 1
            if left > 0:
                _connections_by_ip[state["ip"]] = left
            else:
                _connections_by_ip.pop(state["ip"], None)
        if state and state["visit_id"]:
            presence.leave_visit(state["visit_id"])
            db.session.commit()
            presence.mark_counts(state["session_id"])

    def _state(self) -> dict[str, Any]:
        state = _citizens.get(current_sid())
        if state is None:
            raise EventError("not_connected", _("Please reload the page."))
        return state

    def _session(self) -> LiveSession:
        state = self._state()
        if state["session_id"] is None:
            raise EventError("not_joined", _("Join a session first."))
        session = db.session.get(LiveSession, state["session_id"])
        if session is None:
            raise EventError("not_found", _("There is no such session."))
        return session

    @guarded
    def on_join(self, data: Any = None) -> dict[str, Any]:
        """Join a session's stream; replay what was missed since last_seq, or a snapshot."""
        data = payload(data)
        state = self._state()
        session = get_live_session_or_error(data.get("slug"))
        since = data.get("last_seq")
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)
                                  or since < 0):
            raise EventError("invalid", _("last_seq must be a whole number."))
        if state["session_id"] not in (None, session.id):
            self._leave_current(state)
        if state["session_id"] != session.id:
            join_room(events.session_room(session.id))
            state["session_id"] = session.id
            # A projector view (screen: true) watches without being a participant-visit.
            if session.state == SessionState.LIVE and data.get("screen") is not True:
                state["visit_id"] = presence.open_visit(session, state["visitor"])
                db.session.commit()
                presence.mark_counts(session.id)
        replay = None
        if since is not None:
            replay = events.events_since(session.id, since, current_app.config["REPLAY_LIMIT"])
        if replay is not None:
            return ok(mode="replay", events=replay,
                      seq=replay[-1]["seq"] if replay else since,
                      counts=presence.counts(session.id),
                      mine=my_questions(session, state["visitor"]),
                      upvotes=_upvotes(session))
        return ok(mode="snapshot", snapshot=snapshot(session, state["visitor"]))

    def _leave_current(self, state: dict[str, Any]) -> None:
        leave_room(events.session_room(state["session_id"]))
        if state["visit_id"]:
            presence.leave_visit(state["visit_id"])
            db.session.commit()
            presence.mark_counts(state["session_id"])
        state.update(session_id=None, visit_id=None)

    @guarded
    def on_ask(self, data: Any = None) -> dict[str, Any]:
        """Ask a question; acknowledged only once it is committed, with its id."""
        session = self._session()
        question_input = parse_question(payload(data))
        question, created = live.submit_question(
            session, self._state()["visitor"], question_input, QuestionSource.LIVE
        )
        events.commit_and_send()
        return ok(question=serialize.own_question(question, live.status_label(question)),
                  duplicate=not created)

    @guarded
    def on_vote(self, data: Any = None) -> dict[str, Any]:
        """Upvote a published question, once per visitor."""
        session = self._session()
        question_id = int_field(payload(data), "question_id")
        question = db.session.get(Question, question_id)
        if question is None or question.session_id != session.id:
            raise EventError("not_found", _("There is no such question."))
        count = live.vote(question, self._state()["visitor"])
        db.session.commit()
        presence.mark_vote(session.id, question.id)
        return ok(question_id=question.id, upvotes=count)

    @guarded
    def on_mine(self, data: Any = None) -> dict[str, Any]:
        """The visitor's own questions in the joined session, with their status."""
        session = self._session()
        return ok(questions=my_questions(session, self._state()["visitor"]))


def _upvotes(session: LiveSession) -> dict[str, int]:
    rows = db.session.execute(
        select(Question.id, Question.upvotes)
        .where(Question.session_id == session.id,
               Question.status.in_([QuestionStatus.APPROVED, QuestionStatus.ANSWERED]))
    ).all()
    return {str(i): n for i, n in rows}


_registered: list[bool] = []


def register_namespaces(app: Flask) -> None:
    """Attach the /qa and /moderation handlers (once per process) and the summary loop."""
    from qa_live.live.staff_sockets import StaffNamespace

    if not _registered:
        socketio.on_namespace(CitizenNamespace(events.PUBLIC_NS))
        socketio.on_namespace(StaffNamespace(events.STAFF_NS))
        _registered.append(True)

    @app.before_request
    def _start_summaries() -> None:
        presence.start_summary_task(app)
