"""What both socket namespaces share: payload checks, acknowledgements, flood limits."""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from flask import current_app, request
from flask_babel import gettext as _
from flask_socketio import Namespace
from limits import parse

from qa_live.core.outages import UNAVAILABLE, is_unavailable, troubles, unavailable_message
from qa_live.core.textcheck import unstorable, unstorable_message
from qa_live.extensions import db, socketio
from qa_live.live import realtime
from qa_live.live.services import QuestionRefused
from qa_live.live.validation import InvalidInput
from qa_live.transport import frames
from qa_live.transport.refusal import Refused


def current_sid() -> str:
    """The Socket.IO session id of the event being handled (Flask-SocketIO sets request.sid)."""
    sid: str = request.sid  # type: ignore[attr-defined]
    return sid


class EventError(Exception):
    """A socket event that cannot be carried out; becomes {"ok": false, ...} in the ack."""

    def __init__(self, code: str, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fields = fields or {}


def ok(**data: Any) -> dict[str, Any]:
    """A successful acknowledgement."""
    return {"ok": True, **data}


def fail(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    """A failed acknowledgement: a code for programs and a message for people."""
    realtime.tally("socket_errors", code=code)
    result: dict[str, Any] = {"ok": False, "error": code, "message": message}
    if fields:
        result["fields"] = fields
    return result


def client_address() -> str:
    """The client's address as the app sees it (after ProxyFix, when configured)."""
    return request.remote_addr or "unknown"


def payload(data: Any) -> dict[str, Any]:
    """The event's payload, which must be an object."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise EventError("invalid", _("The data sent must be an object."))
    return data


def int_field(data: dict[str, Any], name: str, required: bool = True) -> int | None:
    """A positive integer id from the payload."""
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**53:
        raise EventError("invalid", _("A valid %(name)s is required.", name=name),
                         {name: _("Must be a positive whole number.")})
    return value


def bool_field(data: dict[str, Any], name: str, default: bool | None = None) -> bool:
    """A true/false flag from the payload."""
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise EventError("invalid", _("%(name)s must be true or false.", name=name),
                         {name: _("Must be true or false.")})
    return value


def str_field(data: dict[str, Any], name: str, max_length: int) -> str:
    """A string from the payload, with a length cap (checked again by the service)."""
    value = data.get(name)
    if not isinstance(value, str):
        raise EventError("invalid", _("%(name)s must be text.", name=name),
                         {name: _("Must be text.")})
    if len(value) > max_length:
        raise EventError("invalid", _("%(name)s is too long.", name=name),
                         {name: _("At most %(n)d characters.", n=max_length)})
    return value


_parse_limit = functools.lru_cache(maxsize=16)(parse)


class SocketEventLimiter:
    """SOCKET_EVENT_RATE_LIMIT per socket (and per address): a moving window in this process.

    A socket lives in one process, so its count needs no shared storage; kept here it costs a
    few list operations per event and is dropped when the socket has been quiet for a window
    (the shared limiter's memory storage would sweep every socket ever seen every 10 ms).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.hits: dict[str, deque[float]] = {}
        self.swept = time.monotonic()

    def free_at(self, limit: str, sid: str) -> float:
        """When (time.monotonic()) the key may next be allowed an event."""
        item = _parse_limit(limit)
        with self.lock:
            hits = self.hits.get(sid)
            if not hits or len(hits) < item.amount:
                return time.monotonic()
            return hits[-item.amount] + float(item.get_expiry())

    def allow(self, limit: str, sid: str) -> bool:
        item = _parse_limit(limit)
        window = float(item.get_expiry())
        now = time.monotonic()
        with self.lock:
            if now - self.swept > window:
                self.hits = {k: v for k, v in self.hits.items() if v and now - v[-1] < window}
                self.swept = now
            hits = self.hits.get(sid)
            if hits is None:
                hits = self.hits[sid] = deque()
            while hits and now - hits[0] >= window:
                hits.popleft()
            if len(hits) >= item.amount:
                return False
            hits.append(now)
            return True


def _socket_limiter() -> SocketEventLimiter:
    kept = realtime.of_app()
    limiter = kept.socket_limiter
    if limiter is None:
        limiter = kept.socket_limiter = SocketEventLimiter()
    return limiter


def _refusal(ack: dict[str, Any]) -> dict[str, Any]:
    """A refusal; the same event sent again is answered the same by the transport when that
    refusal cannot change (qa_live/transport/frames.py, STABLE_REFUSALS)."""
    frames.remember_refusal(socketio.server, current_sid(),
                            request.namespace, ack)  # type: ignore[attr-defined]
    return ack


def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a socket handler: flood limits first, errors turned into acks, never a crash."""

    @functools.wraps(handler)
    def wrapper(self: Any, data: Any = None) -> Any:
        config = current_app.config
        limiter = _socket_limiter()
        sid_ok = limiter.allow(config["SOCKET_EVENT_RATE_LIMIT"], current_sid())
        # An address's sockets are all in this process (nginx's ip_hash), so its count is too.
        ip_ok = limiter.allow(config["SOCKET_IP_EVENT_RATE_LIMIT"], "ip:" + client_address())
        if not (sid_ok and ip_ok):
            refused = fail("rate_limited",
                           _("Too many actions in a short time. Please slow down."))
            # Until the window frees, the transport refuses this socket's events itself,
            # with this same answer, before any of the work above (qa_live/transport/frames.py).
            until = max(limiter.free_at(config["SOCKET_EVENT_RATE_LIMIT"], current_sid()),
                        limiter.free_at(config["SOCKET_IP_EVENT_RATE_LIMIT"],
                                        "ip:" + client_address()))
            frames.refuse_until(socketio.server, current_sid(),
                                request.namespace, until, refused)  # type: ignore[attr-defined]
            return refused
        if unstorable(data):
            return _refusal(fail("invalid", unstorable_message()))
        try:
            return handler(self, data)
        except EventError as exc:
            db.session.rollback()
            return _refusal(fail(exc.code, exc.message, exc.fields))
        except InvalidInput as exc:
            db.session.rollback()
            return _refusal(fail("invalid", next(iter(exc.errors.values())), exc.errors))
        except QuestionRefused as exc:
            db.session.rollback()
            return _refusal(fail(exc.code, str(exc)))
        except Exception as exc:
            try:
                db.session.rollback()
            except Exception:  # noqa: S110 - the database may be the very problem
                pass
            # Not acknowledged: the page says "try again" and sends it again later (a question's
            # client_id makes a retry return the stored one, should the commit have gone through).
            if is_unavailable(exc):
                troubles().failed("socket events", exc)
                return fail(UNAVAILABLE, unavailable_message())
            current_app.logger.exception("socket handler %s failed", handler.__name__)
            return fail("server_error", _("Something went wrong on our side. Please try again."))

    return wrapper


class GuardedNamespace(Namespace):
    """A namespace whose wrong-shaped events are acknowledged as invalid.

    qa_live/transport/frames.py turns an event that names no handler, carries more than one
    argument or is not a list starting with a name into the event ``refused`` with the reason.
    """

    @guarded
    def on_refused(self, data: Any = None) -> dict[str, Any]:
        """The acknowledgement of a refused event (after the flood limits, like any event)."""
        reason = data.get("reason") if isinstance(data, dict) else None
        if reason == "unknown_event":
            message = _("There is no such action.")
        elif reason == "extra_arguments":
            message = _("Send the event with one object as its only argument.")
        else:
            message = _("The message could not be understood.")
        raise EventError("invalid", message)


def connect_guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a connect handler: an outage refuses the connect with ``unavailable``.

    The page's socket.io client retries a refused connect by itself; an exception escaping a
    connect handler would leave the client waiting for an answer that never comes.
    """

    @functools.wraps(handler)
    def wrapper(self: Any, auth: Any = None) -> Any:
        try:
            return handler(self, auth)
        except Refused:
            raise
        except Exception as exc:
            _rollback()
            if not is_unavailable(exc):
                raise
            troubles().failed("socket connects", exc)
            raise Refused(UNAVAILABLE, unavailable_message()) from exc

    return wrapper


def disconnect_guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a disconnect handler: an outage while a socket leaves is one log line, no traceback."""

    @functools.wraps(handler)
    def wrapper(self: Any, reason: Any = None) -> Any:
        try:
            return handler(self, reason)
        except Exception as exc:
            _rollback()
            if not is_unavailable(exc):
                raise
            troubles().failed("socket disconnects", exc)
            return None

    return wrapper


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: S110 - the database may be the very problem
        pass
