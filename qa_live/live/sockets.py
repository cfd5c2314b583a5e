"""Socket.IO namespaces: /qa for citizens, /moderation for staff. Thin: parse, check, call, tell.

docs/realtime.md describes every event, its payload and its acknowledgement.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_socketio import ConnectionRefusedError, Namespace, join_room, leave_room
from sqlalchemy import Row, Table, bindparam, or_, select
from sqlalchemy.orm import lazyload

from qa_live.core.i18n import select_locale
from qa_live.core.timeutil import utcnow
from qa_live.core.visitor import COOKIE, read_visitor_id
from qa_live.extensions import db, socketio
from qa_live.live import events, own_question_views, presence, serialize
from qa_live.live import services as live
from qa_live.live.models import HostPost, Question, QuestionStatus
from qa_live.live.packets import Plain, Prepared
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

# Per-socket state of this process: sid -> {"visitor", "session_id", "visit", "ip"}, where
# "visit" is the page's presence.VisitTicket while it counts as a participant-visit.
_citizens: dict[str, dict[str, Any]] = {}
# Open /qa sockets per client address in this process (nginx's ip_hash sends an address to one
# worker, so this is the address's whole count there).
_connections_by_ip: dict[str, int] = {}


def get_live_session_or_error(slug: object) -> LiveSession:
    """A public session by slug, or an "unknown session" error."""
    head = session_head(slug)
    session = db.session.get(LiveSession, head.id)
    if session is None:
        raise EventError("not_found", _("There is no such session."))
    return session


_sessions: Table = LiveSession.__table__  # type: ignore[assignment]
_questions: Table = Question.__table__  # type: ignore[assignment]
# The statements of a join, built once: Core on the connection, no ORM layer, cached compiled.
_HEAD = select(_sessions.c.id, _sessions.c.state, _sessions.c.last_seq).where(
    _sessions.c.slug == bindparam("slug"))
_is_public = or_(*(_questions.c.status == status for status in (QuestionStatus.APPROVED,
                                                                 QuestionStatus.ANSWERED)))
_VOTES = select(_questions.c.id, _questions.c.upvotes).where(
    _questions.c.session_id == bindparam("session_id"), _is_public)
_VOTES_AND_OWN = select(
    _questions.c.id, _questions.c.upvotes, _is_public.label("public"),
    (_questions.c.visitor_id == bindparam("visitor")).label("own"),
).where(_questions.c.session_id == bindparam("session_id"),
        or_(_is_public, _questions.c.visitor_id == bindparam("visitor")))


def session_head(slug: object) -> Row[int, SessionState, int]:
    """(id, state, last_seq) of a public session by slug, in one small query; or not found.

    Public: anything past draft (LiveSession.is_public).
    """
    if not isinstance(slug, str) or not 0 < len(slug) <= 64:
        raise EventError("not_found", _("There is no such session."))
    head = db.session.connection().execute(_HEAD, {"slug": slug}).one_or_none()
    if head is None or head.state == SessionState.DRAFT:
        raise EventError("not_found", _("There is no such session."))
    return head


# The public part of a session's snapshot by (session id, sequence number, locale). Every public
# change writes a new sequence number, so an entry never goes stale; votes, which change without
# one, are laid over from the database on every use. Thousands of pages joining at the start of a
# session then cost two small queries each instead of rebuilding the stream.
# The cache lives on the app (one per database), never shared between apps in one process.
_public_parts_lock = threading.Lock()
PUBLIC_PARTS_KEPT = 64
PUBLIC_STATUSES = (QuestionStatus.APPROVED, QuestionStatus.ANSWERED)


def _public_part(session_id: int, seq: int) -> dict[str, Any]:
    _public_parts: OrderedDict[tuple[int, int, str], dict[str, Any]] = (
        current_app.extensions.setdefault("qa_live.public_parts", OrderedDict()))
    key = (session_id, seq, select_locale())  # what get_locale() parses, without parsing it
    with _public_parts_lock:
        part = _public_parts.get(key)
        if part is not None:
            _public_parts.move_to_end(key)
            return part
    # Read after the sequence number: what is read is at least as new as `seq`, and applying
    # an event twice changes nothing, so a page that replays from `seq` ends up exact.
    session = db.session.get(LiveSession, session_id)
    if session is None:
        raise EventError("not_found", _("There is no such session."))
    questions = db.session.scalars(
        select(Question)
        .where(Question.session_id == session_id, Question.status.in_(PUBLIC_STATUSES))
        .order_by(Question.published_at, Question.id)
    ).all()
    posts = db.session.scalars(
        select(HostPost).where(HostPost.session_id == session_id, HostPost.removed.is_(False))
        .order_by(HostPost.id)
    ).all()
    # Prepared: JSON only and never changed, so the packet class neither walks it looking for
    # bytes nor encodes it again for every page joining (qa_live/live/packets.py).
    part = {
        "session": Prepared(serialize.session_info(session)),
        "questions": [Prepared(serialize.public_question(q)) for q in questions],
        "posts": [Prepared(serialize.post(p)) for p in posts],
    }
    with _public_parts_lock:
        _public_parts[key] = part
        while len(_public_parts) > PUBLIC_PARTS_KEPT:
            _public_parts.popitem(last=False)
    return part


def snapshot(session: LiveSession, visitor_id: str | None = None) -> dict[str, Any]:
    """Everything a citizen's page shows, as of the session's current sequence number."""
    seq = db.session.scalar(select(LiveSession.last_seq).where(LiveSession.id == session.id))
    return _snapshot(session.id, seq or 0, visitor_id, presence.counts(session.id))


def _snapshot(session_id: int, seq: int, visitor_id: str | None,
              counts: dict[str, Any]) -> dict[str, Any]:
    part = _public_part(session_id, seq)
    votes, has_own = _upvotes_and_own(session_id, visitor_id)
    questions = []
    for q in part["questions"]:  # the kept dicts are shared: copy only what changes
        n = votes.get(q["id"], q["upvotes"])
        questions.append(q if n == q["upvotes"] else Plain(q, upvotes=n))
    data: dict[str, Any] = {
        "seq": seq,
        "session": part["session"],
        "questions": questions,
        "posts": part["posts"],
        "counts": counts,
    }
    if visitor_id is not None:
        data["mine"] = _my_questions(session_id, visitor_id) if has_own else []
    return data


def my_questions(session: LiveSession, visitor_id: str) -> list[dict[str, Any]]:
    """The visitor's own questions with their status."""
    return [serialize.own_question(q, live.status_label(q))
            for q in live.questions_of_visitor(session, visitor_id)]


def _my_questions(session_id: int, visitor_id: str) -> list[dict[str, Any]]:
    session = db.session.get(LiveSession, session_id)
    return my_questions(session, visitor_id) if session is not None else []


def _upvotes_and_own(session_id: int, visitor_id: str | None) -> tuple[dict[int, int], bool]:
    """The published questions' votes, and whether the visitor asked anything, in one query."""
    connection = db.session.connection()
    if visitor_id is None:
        rows = connection.execute(_VOTES, {"session_id": session_id})
        return {id_: upvotes for id_, upvotes in rows}, False
    votes: dict[int, int] = {}
    has_own = False
    for id_, upvotes, public, own in connection.execute(
            _VOTES_AND_OWN, {"session_id": session_id, "visitor": visitor_id}):
        if public:
            votes[id_] = upvotes
        if own:
            has_own = True
    return votes, has_own


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
        _citizens[current_sid()] = {"visitor": visitor, "session_id": None, "visit": None,
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
        if state and state["visit"] is not None:
            presence.leave(state["visit"])

    def _state(self) -> dict[str, Any]:
        state = _citizens.get(current_sid())
        if state is None:
            raise EventError("not_connected", _("Please reload the page."))
        return state

    def _session(self) -> LiveSession:
        state = self._state()
        if state["session_id"] is None:
            raise EventError("not_joined", _("Join a session first."))
        # An event needs the session's state and departments, not its staff and guests: those
        # would be two more queries (and the staff's users) on every ask and vote.
        session = db.session.get(LiveSession, state["session_id"], options=[
            lazyload(LiveSession.staff), lazyload(LiveSession.guests)])
        if session is None:
            raise EventError("not_found", _("There is no such session."))
        return session

    @guarded
    def on_join(self, data: Any = None) -> dict[str, Any]:
        """Join a session's stream; replay what was missed since last_seq, or a snapshot.

        The hot path of a crowd arriving: two small queries, no write (the participant-visit
        is recorded and written with the next batch, presence.join_visit).
        """
        data = payload(data)
        state = self._state()
        head = session_head(data.get("slug"))
        session_id = head.id
        since = data.get("last_seq")
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)
                                  or since < 0):
            raise EventError("invalid", _("last_seq must be a whole number."))
        if state["session_id"] not in (None, session_id):
            self._leave_current(state)
        if state["session_id"] != session_id:
            join_room(events.session_room(session_id))
            state["session_id"] = session_id
            # A projector view (screen: true) watches without being a participant-visit.
            if head.state == SessionState.LIVE and data.get("screen") is not True:
                state["visit"] = presence.join_visit(session_id, state["visitor"])
        counts = presence.recent_counts(session_id)
        replay = None
        if since is not None:
            replay = events.events_since(session_id, since, current_app.config["REPLAY_LIMIT"],
                                         last=head.last_seq)
        if replay is not None:
            votes, has_own = _upvotes_and_own(session_id, state["visitor"])
            return ok(mode="replay", events=replay,
                      seq=replay[-1]["seq"] if replay else since,
                      counts=counts,
                      mine=_my_questions(session_id, state["visitor"]) if has_own else [],
                      upvotes={str(i): n for i, n in votes.items()})
        return ok(mode="snapshot",
                  snapshot=_snapshot(session_id, head.last_seq or 0, state["visitor"], counts))

    def _leave_current(self, state: dict[str, Any]) -> None:
        leave_room(events.session_room(state["session_id"]))
        if state["visit"] is not None:
            presence.leave(state["visit"])
        state.update(session_id=None, visit=None)

    @guarded
    def on_ask(self, data: Any = None) -> dict[str, Any]:
        """Ask a question; acknowledged only once it is committed, with its id."""
        state = self._state()
        if state["session_id"] is None:
            raise EventError("not_joined", _("Join a session first."))
        question_input = parse_question(payload(data))
        question, created = live.submit_live_question(
            state["session_id"], state["visitor"], question_input)
        # Written before the commit, which expires the question: reading it afterwards would
        # load it again with its session and answers. The ack is sent only after the commit.
        ack = ok(question=serialize.own_question(question, live.status_label(question)),
                 duplicate=not created)
        events.commit_and_send()
        return ack

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
    def on_edit(self, data: Any = None) -> dict[str, Any]:
        """Change the wording of one's own question while it waits for review."""
        return own_question_views.socket_edit(self._state()["visitor"], data)

    @guarded
    def on_withdraw(self, data: Any = None) -> dict[str, Any]:
        """Withdraw one's own question while it waits for review."""
        return own_question_views.socket_withdraw(self._state()["visitor"], data)

    @guarded
    def on_mine(self, data: Any = None) -> dict[str, Any]:
        """The visitor's own questions in the joined session, with their status."""
        session = self._session()
        return ok(questions=my_questions(session, self._state()["visitor"]))


def end_pages(app: Flask) -> None:
    """A clean shutdown: this process's pages leave their visits; every pending one is written.

    The pages will reconnect (to this process once restarted, or another worker) and, within
    VISIT_GRACE_S, continue the same visits.
    """
    with app.app_context():
        now = utcnow()
        for state in list(_citizens.values()):
            ticket, state["visit"] = state.get("visit"), None
            if ticket is not None:
                presence.leave(ticket, now)
        presence.flush_visits()


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

    # Flask-SocketIO runs each Socket.IO event in a request context for the connection's URL,
    # /socket.io/. With no rule for it Flask's URL matching raises NotFound (or, for a
    # WebSocket, WebsocketMismatch) on every event and keeps it, with its traceback and frames:
    # some 40 objects in reference cycles per event for the garbage collector to find, which a
    # crowd joining made into half-second pauses. The rules are only ever matched, never
    # served: the Socket.IO middleware answers /socket.io/ before Flask sees the request.
    if "qa_live.socketio_path" not in app.view_functions:
        for websocket, endpoint in ((False, "qa_live.socketio_path"),
                                    (True, "qa_live.socketio_path_ws")):
            app.add_url_rule("/socket.io/", endpoint=endpoint, view_func=_socketio_path,
                             strict_slashes=False, websocket=websocket)


def _socketio_path() -> tuple[str, int]:
    """Never served (the Socket.IO middleware answers this path before Flask)."""
    return "", 404
