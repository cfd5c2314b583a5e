"""Socket.IO namespaces: /qa for citizens (here), /moderation for staff (staff_sockets.py).

Thin: parse, check, call, tell. docs/realtime.md describes every event, its payload and its
acknowledgement; the snapshots a join answers with are in snapshots.py, this process's sockets
in state.py.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_socketio import join_room, leave_room
from sqlalchemy.orm import lazyload

from qa_live.core.timeutil import utcnow
from qa_live.core.visitor import COOKIE, Visitor, read_visitor
from qa_live.extensions import db, socketio
from qa_live.live import (
    counters,
    events,
    intake,
    kept_votes,
    own_question_views,
    poll_commands,
    realtime,
    summaries,
    visits,
    votes_seen,
)
from qa_live.live import services as live
from qa_live.live.loops import start_loops
from qa_live.live.models import QuestionSource
from qa_live.live.snapshots import (
    my_questions,
    my_questions_by_id,
    open_poll_results,
    session_head,
    snapshot_at,
)
from qa_live.live.socket_common import (
    EventError,
    GuardedNamespace,
    client_address,
    connect_guarded,
    current_sid,
    disconnect_guarded,
    guarded,
    int_field,
    ok,
    payload,
)
from qa_live.live.validation import parse_question
from qa_live.planning.models import LiveSession, SessionState
from qa_live.transport.refusal import Refused


class CitizenNamespace(GuardedNamespace):
    """/qa: watch a session, ask, vote, follow one's own questions."""

    @connect_guarded
    def on_connect(self, auth: Any = None) -> None:
        # The page's own cookie: the visitor id, and the citizen's sign-in when there is one.
        signed = read_visitor(request.cookies.get(COOKIE))
        if signed is None:
            raise Refused("no_visitor", _("Please reload the page to join the session."))
        address = client_address()
        limit = current_app.config["CITIZEN_CONNECTIONS_PER_IP"]
        if limit and realtime.connections_by_ip.get(address, 0) >= limit:
            raise Refused("too_many_connections",
                          _("Too many connections from your network. Please try again later."))
        start_loops(current_app._get_current_object())  # type: ignore[attr-defined]
        visitor = signed.id
        realtime.citizens[current_sid()] = {"visitor": visitor, "session_id": None,
                                            "visit": None, "ip": address, "signed": signed}
        realtime.connections_by_ip[address] = realtime.connections_by_ip.get(address, 0) + 1
        join_room(events.visitor_room(visitor))

    @disconnect_guarded
    def on_disconnect(self, reason: Any = None) -> None:
        state = realtime.citizens.pop(current_sid(), None)
        if state:
            left = realtime.connections_by_ip.get(state["ip"], 1) - 1
            if left > 0:
                realtime.connections_by_ip[state["ip"]] = left
            else:
                realtime.connections_by_ip.pop(state["ip"], None)
        if state and state["visit"] is not None:
            visits.leave(state["visit"])

    def _state(self) -> dict[str, Any]:
        state = realtime.citizens.get(current_sid())
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

        The hot path of a crowd arriving: one small query (the session's head, and whether the
        visitor asked anything in it), no write (the participant-visit is recorded and written
        with the next batch, visits.join_visit); the public part and the vote counts come from
        memory (snapshots.py, kept_votes.py).
        """
        data = payload(data)
        state = self._state()
        visitor = state["visitor"]
        head = session_head(data.get("slug"), visitor)
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
            if realtime.delivered_seq.get(session_id, 0) > (head.last_seq or 0):
                # An event went out to the session's pages after the head was read and before
                # this one was in the room: read the head again (what follows, the room brings).
                db.session.commit()  # end the read: SQLite would keep the snapshot it began
                head = session_head(data.get("slug"), visitor)
            # A projector view (screen: true) watches without being a participant-visit.
            if head.state == SessionState.LIVE and data.get("screen") is not True:
                state["visit"] = visits.join_visit(session_id, visitor)
        counts = counters.recent_counts(session_id)
        seq = head.last_seq or 0
        replay = None
        if since is not None:
            replay = events.events_since(session_id, since, current_app.config["REPLAY_LIMIT"],
                                         last=head.last_seq)
        if replay is not None:
            votes = kept_votes.votes_at(session_id, seq)
            return ok(mode="replay", events=replay,
                      seq=replay[-1]["seq"] if replay else since,
                      counts=counts,
                      poll_results=open_poll_results(session_id, seq),
                      mine=my_questions_by_id(session_id, visitor) if head.own else [],
                      upvotes={str(i): n for i, n in votes.items()})
        return ok(mode="snapshot",
                  snapshot=snapshot_at(session_id, seq, visitor, counts, has_own=head.own))

    def _leave_current(self, state: dict[str, Any]) -> None:
        leave_room(events.session_room(state["session_id"]))
        if state["visit"] is not None:
            visits.leave(state["visit"])
        state.update(session_id=None, visit=None)

    @guarded
    def on_ask(self, data: Any = None) -> dict[str, Any]:
        """Ask a question; acknowledged only once it is committed, with its id."""
        state = self._state()
        if state["session_id"] is None:
            raise EventError("not_joined", _("Join a session first."))
        question_input = parse_question(payload(data))
        signed: Visitor = state["signed"]
        # Returns once the question's transaction (shared with the asks that arrived meanwhile)
        # has committed and its events are sent.
        asked = intake.ask(state["session_id"], state["visitor"], question_input,
                           QuestionSource.LIVE, signed_in=signed.signed_in)
        return ok(question=asked.question, duplicate=not asked.created)

    @guarded
    def on_vote(self, data: Any = None) -> dict[str, Any]:
        """Upvote a published question, once per visitor (a known repeat: no database)."""
        state = self._state()
        visitor, session_id = state["visitor"], state["session_id"]
        if session_id is None:
            raise EventError("not_joined", _("Join a session first."))
        question_id = int_field(payload(data), "question_id") or 0  # required: never None
        votes_seen.refuse_repeat(question_id, visitor)
        try:
            count = live.cast_vote(question_id, visitor, session_id)  # no ORM object loaded
        except live.QuestionRefused as refused:
            if refused.code == "already_voted":
                votes_seen.remember(question_id, visitor)
            raise
        db.session.commit()
        votes_seen.remember(question_id, visitor)
        summaries.mark_vote(session_id, question_id)
        return ok(question_id=question_id, upvotes=count)

    @guarded
    def on_edit(self, data: Any = None) -> dict[str, Any]:
        """Change the wording of one's own question while it waits for review."""
        return own_question_views.socket_edit(self._state()["visitor"], data)

    @guarded
    def on_withdraw(self, data: Any = None) -> dict[str, Any]:
        """Withdraw one's own question while it waits for review."""
        return own_question_views.socket_withdraw(self._state()["visitor"], data)

    @guarded
    def on_poll_answer(self, data: Any = None) -> dict[str, Any]:
        """Answer a live poll: {poll_id, option_ids}; one answer per visitor (poll_commands)."""
        state = self._state()
        if state["session_id"] is None:
            raise EventError("not_joined", _("Join a session first."))
        data = payload(data)
        return ok(**poll_commands.answer(
            state["session_id"], data.get("poll_id"), state["visitor"], data.get("option_ids"),
            client_address(), counted=state["visit"] is not None))

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
        for state in list(realtime.citizens.values()):
            ticket, state["visit"] = state.get("visit"), None
            if ticket is not None:
                visits.leave(ticket, now)
        visits.flush_visits()


def register_namespaces(app: Flask) -> None:
    """Attach the /qa and /moderation handlers (once per process) and the summary loop."""
    from qa_live.live.staff_sockets import StaffNamespace, attach_commands

    attach_commands()  # every command registered by now, followup's too (create_app)
    if not realtime.namespaces_registered:
        socketio.on_namespace(CitizenNamespace(events.PUBLIC_NS))
        socketio.on_namespace(StaffNamespace(events.STAFF_NS))
        realtime.namespaces_registered.append(True)

    @app.before_request
    def _start_summaries() -> None:
        start_loops(app)

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
