"""/moderation: the staff console's socket. Login is checked on connect, the account and the
role on every event, so a logout, deactivation or removed role takes effect at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from flask import current_app, g
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import disconnect, emit, join_room

from qa_live.auth.models import User
from qa_live.core.access import staff_network_allowed
from qa_live.core.outages import is_unavailable, troubles
from qa_live.extensions import db, socketio
from qa_live.live import access, commands, events, realtime, snapshots
from qa_live.live.socket_common import (
    EventError,
    GuardedNamespace,
    connect_guarded,
    current_sid,
    disconnect_guarded,
    guarded,
    int_field,
    ok,
    payload,
)
from qa_live.planning.models import LiveSession
from qa_live.transport.refusal import Refused


def _registry() -> Any:
    """Redis, when it carries the message queue: it lists every worker's staff sockets."""
    url = current_app.config["SOCKETIO_MESSAGE_QUEUE"]
    if not url or not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    if url not in realtime.redis_clients:
        import redis

        realtime.redis_clients[url] = redis.Redis.from_url(url, socket_timeout=2)
    return realtime.redis_clients[url]


def _registry_key(user_id: int) -> str:
    return f"qa_live:staff_sockets:{user_id}"


def _remember_socket(user_id: int, sid: str) -> None:
    registry = _registry()
    if registry is not None:
        with _tolerating_redis("listing consoles for other workers"):
            registry.sadd(_registry_key(user_id), sid)
            registry.expire(_registry_key(user_id), 7 * 24 * 3600)


def _forget_socket(user_id: int, sid: str) -> None:
    registry = _registry()
    if registry is not None:
        with _tolerating_redis("listing consoles for other workers"):
            registry.srem(_registry_key(user_id), sid)


@contextlib.contextmanager
def _tolerating_redis(what: str) -> Iterator[None]:
    """Redis down: the console works on without the registry (one log line per outage).

    So does the queue that would carry other workers' disconnects: while it is down a logout
    closes this worker's consoles; the others refuse the account's next action once it was
    deactivated or lost a role (its epoch moved), docs/security.md.
    """
    try:
        yield
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        troubles().failed(what, exc)


def disconnect_user(user_id: int) -> None:
    """Close every staff socket of a user at once (logout, deactivation, role change).

    Sockets of this process are known here; with Redis as the message queue, the registry there
    names those held by other workers, and python-socketio's queue delivers their disconnect.
    """
    sids = {sid for sid, state in realtime.staff.items() if state["user_id"] == user_id}
    registry = _registry()
    if registry is not None:
        with _tolerating_redis("closing consoles in other workers"):
            sids |= {raw.decode() for raw in registry.smembers(_registry_key(user_id))}
            registry.delete(_registry_key(user_id))
    for sid in sids:
        realtime.staff.pop(sid, None)
        socketio.server.disconnect(sid, namespace=events.STAFF_NS)


class StaffNamespace(GuardedNamespace):
    """/moderation: queues, moderation, answers, posts, start and end."""

    @connect_guarded
    def on_connect(self, auth: Any = None) -> None:
        g.pop("_login_user", None)  # read this handshake's own session cookie
        user = current_user._get_current_object()
        if not staff_network_allowed():
            raise Refused("forbidden",
                          _("Staff functions are reachable only from the office network."))
        if not user.is_authenticated:
            raise Refused("unauthorized", _("Please log in to continue."))
        realtime.staff[current_sid()] = {"user_id": user.id, "epoch": user.session_epoch,
                               "session_id": None}
        _remember_socket(user.id, current_sid())

    @disconnect_guarded
    def on_disconnect(self, reason: Any = None) -> None:
        state = realtime.staff.pop(current_sid(), None)
        if state:
            _forget_socket(state["user_id"], current_sid())
        if state and state["session_id"]:
            user = db.session.get(User, state["user_id"])
            emit("presence", {"user_id": state["user_id"], "online": False,
                              "name": user.display_name if user else ""},
                 to=events.staff_all_room(state["session_id"]), namespace=events.STAFF_NS)

    # -- checks, run on every event --------------------------------------------------------

    def _user(self) -> User:
        state = realtime.staff.get(current_sid())
        user = db.session.get(User, state["user_id"]) if state else None
        if (state is None or user is None or not user.active
                or user.session_epoch != state["epoch"]):
            disconnect()
            raise EventError("unauthorized", _("Your login has ended. Please log in again."))
        return user

    def _session(self, user: User) -> LiveSession:
        state = realtime.staff[current_sid()]
        if state["session_id"] is None:
            raise EventError("not_joined", _("Open a session's console first."))
        session = db.session.get(LiveSession, state["session_id"])
        if session is None or not access.can_open_console(user, session):
            raise EventError("forbidden", _("You do not have permission to do this."))
        return session

    # -- joining ----------------------------------------------------------------------------

    @guarded
    def on_join(self, data: Any = None) -> dict[str, Any]:
        """Open a session's console: join its rooms and get the queues."""
        data = payload(data)
        user = self._user()
        session = db.session.get(LiveSession, int_field(data, "session_id"))
        if session is None or not access.can_open_console(user, session):
            raise EventError("forbidden", _("You do not have permission to do this."))
        departments = access.staff_departments(user, session)
        join_room(events.staff_all_room(session.id))
        if departments is None:
            join_room(events.staff_room(session.id))
        else:
            for dept in departments:
                join_room(events.staff_room(session.id, dept))
        realtime.staff[current_sid()]["session_id"] = session.id
        emit("presence", {"user_id": user.id, "name": user.display_name, "online": True,
                          "reply": True},
             to=events.staff_all_room(session.id), namespace=events.STAFF_NS)
        return ok(snapshot=snapshots.console_snapshot(session, user), me={
            "id": user.id, "name": user.display_name, "departments": departments,
            **snapshots.console_rights(user, session),
        })

    @guarded
    def on_here(self, data: Any = None) -> dict[str, Any]:
        """Answer a presence call: tell the room this console is open."""
        user = self._user()
        session = self._session(user)
        emit("presence", {"user_id": user.id, "name": user.display_name, "online": True},
             to=events.staff_all_room(session.id), namespace=events.STAFF_NS)
        return ok()

    def _run(self, name: str, data: Any) -> dict[str, Any]:
        user = self._user()
        session = self._session(user)
        result = commands.run(name, user, session, payload(data))
        events.commit_and_send()
        return ok(**result)


def _socket_handler(name: str) -> Any:
    def handler(self: StaffNamespace, data: Any = None) -> dict[str, Any]:
        return self._run(name, data)

    handler.__name__ = f"on_{name}"
    handler.__doc__ = commands.COMMANDS[name].__doc__
    return guarded(handler)


def attach_commands() -> None:
    """Make every staff command a socket event of the same name (docs/realtime.md)."""
    for name in commands.COMMANDS:
        setattr(StaffNamespace, f"on_{name}", _socket_handler(name))
