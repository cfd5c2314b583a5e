"""Malformed Engine.IO and Socket.IO frames get a clear answer or a closed socket, never a
traceback or silence.

python-engineio and python-socketio assume well-formed input: an empty WebSocket message
escaped as an exception from the server's request handler; a Socket.IO packet that does not
parse (bad JSON, JSON nested thousands deep, an unknown packet type, an event that is not a
list) was logged as a 30-line traceback and left the socket open and silent; an event with an
unexpected number of arguments raised TypeError in the handler (no acknowledgement); an
unknown event was acknowledged with an empty list.

Rules (docs/realtime.md, "Malformed frames"):

* Engine.IO: an empty message, an unknown packet type or a binary message closes the
  connection (long-polling: 400 and the session ends).
* Socket.IO: a packet that does not decode, a packet type a client never sends here
  (CONNECT_ERROR, ACK: the server asks for none, binary packets), or an event without an
  acknowledgement id whose shape is wrong closes the connection.
* An event with an acknowledgement id that is not a list starting with an event name, names
  no handler of its namespace, or carries more than one argument, is turned into the event
  ``refused`` with the reason; the namespace's ``on_refused`` (qa_live/live/socket_common.py)
  acknowledges it as ``{"ok": false, "error": "invalid", ...}``, after the flood limits.

Each refusal is one log line (logger ``qa_live.edge``), never a traceback. Relies on
python-socketio's ``eio.handlers['message']``, ``namespace_handlers``, ``packet_class`` and
engineio's ``_async['websocket']`` (docs/realtime.md, upgrade checklist).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from socketio import packet as sio_packet

from qa_live.transport import refusal_log

logger = logging.getLogger("qa_live.edge")

#: The event a wrong-shaped event is turned into (the namespaces acknowledge it as invalid).
REFUSED = "refused"
#: Engine.IO packet types a client may send: close, ping, pong, message, upgrade, noop.
CLIENT_EIO_TYPES = frozenset("123456")
#: Events that are not actions: Socket.IO's own, never sent as EVENT packets by a client.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error"})


def engineio_problem(message: Any) -> str | None:
    """What is wrong with one Engine.IO packet as a client sent it, or None."""
    if not isinstance(message, str):
        return "binary message"
    if not message:
        return "empty message"
    if message[0] not in CLIENT_EIO_TYPES:
        return f"unknown Engine.IO packet type {message[0]!r}"
    return None


def polling_problem(body: bytes) -> str | None:
    """What is wrong with a long-polling POST body (packets joined by \\x1e), or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    for message in text.split("\x1e"):
        if problem := engineio_problem(message):
            return problem
    return None


class _Refuse(Exception):
    """Close this connection: the packet is not something a Socket.IO client sends."""


def _has_handler(server: Any, namespace: str, event: Any) -> bool:
    handler = server.namespace_handlers.get(namespace)
    return (handler is not None and isinstance(event, str) and event not in RESERVED_EVENTS
            and not event.startswith("_") and callable(getattr(handler, "on_" + event, None)))


def _checked(server: Any, data: Any) -> str | None:
    """The packet as it may go on to python-socketio (maybe rewritten), or None if it is fine.

    Raises _Refuse when the connection must be closed.
    """
    if not isinstance(data, str):
        raise _Refuse("binary Socket.IO data")
    try:
        pkt = server.packet_class(encoded_packet=data)
    except Exception as exc:  # whatever the parser raises, the packet is bad
        raise _Refuse(f"undecodable Socket.IO packet ({type(exc).__name__})") from None
    kind = pkt.packet_type
    if kind in (sio_packet.CONNECT, sio_packet.DISCONNECT):
        return None
    if kind != sio_packet.EVENT:
        raise _Refuse(f"Socket.IO packet type {kind!r} not accepted from a client")
    namespace = pkt.namespace or "/"
    if namespace not in server.namespace_handlers:
        raise _Refuse(f"event for namespace {namespace[:40]!r}, which has no handlers")
    args = pkt.data
    if not isinstance(args, list) or not args or not isinstance(args[0], str):
        reason, event = "malformed", None
    elif not _has_handler(server, namespace, args[0]):
        reason, event = "unknown_event", args[0]
    elif len(args) > 2:
        reason, event = "extra_arguments", args[0]
    else:
        return None
    if pkt.id is None:
        raise _Refuse(f"{reason.replace('_', ' ')} event without an acknowledgement id")
    detail = {"reason": reason, "event": event[:64] if event is not None else None}
    logger.info("refused a %s event on %s", reason.replace("_", " "), namespace)
    rewritten: str = server.packet_class(sio_packet.EVENT, namespace=pkt.namespace,
                                         data=[REFUSED, detail], id=pkt.id).encode()
    return rewritten


def _address(server: Any, eio_sid: str) -> str:
    environ = server.environ.get(eio_sid) or {}
    return str(environ.get("REMOTE_ADDR", "?"))


# -- refusing a flooding socket's events cheaply ---------------------------------------------

#: A socket refused this many events in one limited spell is closed: no page does that.
CLOSE_AFTER = 200


class _Refusal:
    """A socket over its event limit: its events are refused here until ``until``."""

    __slots__ = ("ack", "count", "namespace", "until")

    def __init__(self, until: float, namespace: str, ack: str) -> None:
        self.until = until
        self.namespace = namespace
        self.ack = ack  # the acknowledgement's data, encoded once (_ack_text)
        self.count = 0


def _ack_text(server: Any, ack: dict[str, Any]) -> str:
    """An acknowledgement's data as the packet class writes it, to be sent again and again.

    A refusal repeated from here is the same answer each time: encoding it once and putting
    the packet's head in front (``_send_ack``) spares building and encoding a packet per
    refused event (26 µs each, in a vote flood of some 10,000 a second).
    """
    text: str = server.packet_class.json.dumps([ack], separators=(",", ":"))
    return text


def _send_ack(server: Any, eio_sid: str, namespace: str | None, ack_id: int,
              text: str) -> None:
    """Send an ACK packet whose data is already encoded (what Packet.encode would write)."""
    head = f"3{namespace}," if namespace and namespace != "/" else "3"
    server.eio.send(eio_sid, f"{head}{ack_id}{text}")


def refuse_until(server: Any, sid: str, namespace: str, until: float,
                 ack: dict[str, Any]) -> None:
    """Refuse the socket's events on `namespace` with `ack` until `until` (time.monotonic()).

    Called by the namespaces' flood limit (qa_live/live/socket_common.py) with the answer it
    just gave, in the page's language: repeating it here costs a packet decode and an ack, not
    python-socketio's dispatch, Flask's request context and the limiter.
    """
    refusals: dict[str, _Refusal] | None = getattr(server, "_qa_refusals", None)
    eio_sid = server.manager.eio_sid_from_sid(sid, namespace)
    if refusals is None or eio_sid is None:
        return
    if len(refusals) > 1000:  # sockets that left while refused
        now = time.monotonic()
        for key in [k for k, r in refusals.items() if r.until <= now]:
            refusals.pop(key, None)
    refusals[eio_sid] = _Refusal(until, namespace, _ack_text(server, ack))


def _refused_here(server: Any, eio_sid: str, data: Any) -> bool:
    """Answer an event of a socket over its limit from here; True if it was."""
    refusal = server._qa_refusals.get(eio_sid)
    if refusal is None:
        return False
    if time.monotonic() >= refusal.until:
        server._qa_refusals.pop(eio_sid, None)
        return False
    if not isinstance(data, str) or not data.startswith("2"):
        return False  # not an event: the normal path
    try:
        pkt = server.packet_class(encoded_packet=data)
    except Exception:  # malformed: the normal path refuses it
        return False
    if (pkt.packet_type != sio_packet.EVENT or (pkt.namespace or "/") != refusal.namespace):
        return False
    refusal.count += 1
    if refusal.count > CLOSE_AFTER:
        address = _address(server, eio_sid)
        refusal_log.refused(address, "flooding", "closed the connection of %s: %d events "
                            "refused in a row, still flooding", address, refusal.count)
        server._qa_refusals.pop(eio_sid, None)
        server.eio.disconnect(eio_sid)
        return True
    if pkt.id is not None:
        _send_ack(server, eio_sid, pkt.namespace, pkt.id, refusal.ack)
    return True


# -- the same event refused the same way again: answered from here --------------------------

#: Refusals that the same event, sent again by the same socket, would get again (a vote already
#: cast stays cast; a payload that is invalid stays invalid), remembered this long, this many.
STABLE_REFUSALS = frozenset({"already_voted", "invalid"})
KNOWN_S = 10.0
KNOWN_PER_SOCKET = 32


def _event_key(data: Any) -> str | None:
    """An event packet's text without its ack id ("2/qa,17[...]" -> "/qa,[...]"), or None."""
    if not isinstance(data, str) or not data.startswith("2"):
        return None
    namespace_end = data.find(",") + 1 if data.startswith("2/") else 1
    if namespace_end <= 0:
        return None
    position = namespace_end
    while position < len(data) and data[position].isdigit():
        position += 1
    if position == namespace_end:
        return None  # no ack id: nothing to answer
    return data[1:namespace_end] + data[position:]


def remember_refusal(server: Any, sid: str, namespace: str, ack: dict[str, Any]) -> None:
    """Note the refusal just given to the event being handled, if sending it again would
    get the same one (STABLE_REFUSALS): a repeat is then answered here (flood of repeats)."""
    if ack.get("error") not in STABLE_REFUSALS:
        return
    known: dict[str, dict[str, list[Any]]] | None = getattr(server, "_qa_known", None)
    eio_sid = server.manager.eio_sid_from_sid(sid, namespace)
    data = getattr(server, "_qa_handling", {}).get(eio_sid)
    key = _event_key(data)
    if known is None or eio_sid is None or key is None:
        return
    now = time.monotonic()
    if len(known) > 1000:  # sockets that left: forget what has expired
        for gone in [k for k, v in known.items() if all(e[0] <= now for e in v.values())]:
            known.pop(gone, None)
    entries = known.setdefault(eio_sid, {})
    if len(entries) >= KNOWN_PER_SOCKET:
        entries.pop(next(iter(entries)))
    entries[key] = [now + KNOWN_S, _ack_text(server, ack), 0]


def _answered_before(server: Any, eio_sid: str, data: Any) -> bool:
    """Answer an event this socket sent before and was refused for (stably); True if so."""
    entries = server._qa_known.get(eio_sid)
    if not entries:
        return False
    key = _event_key(data)
    found = entries.get(key) if key is not None else None
    if found is None:
        return False
    until, ack, count = found
    if time.monotonic() >= until:
        entries.pop(key, None)
        return False
    found[2] = count + 1
    if count + 1 > CLOSE_AFTER:  # the same refused event, again and again: a flood
        address = _address(server, eio_sid)
        refusal_log.refused(address, "repeating", "closed the connection of %s: the same "
                            "refused event %d times, still repeating", address, count + 1)
        server._qa_known.pop(eio_sid, None)
        server.eio.disconnect(eio_sid)
        return True
    namespace_end = data.find(",") + 1 if data.startswith("2/") else 1
    position = namespace_end
    while position < len(data) and data[position].isdigit():
        position += 1
    namespace = data[1:namespace_end - 1] if namespace_end > 1 else None
    _send_ack(server, eio_sid, namespace, int(data[namespace_end:position]), ack)
    return True


def install(server: Any) -> None:
    """Check every packet a client sends before python-socketio handles it (see above)."""
    eio = server.eio
    if getattr(eio, "_qa_frames", False):
        return
    on_message: Callable[[str, Any], Any] = eio.handlers["message"]
    server._qa_refusals = {}
    server._qa_known = {}
    server._qa_handling = {}

    def checked_message(eio_sid: str, data: Any) -> Any:
        if _refused_here(server, eio_sid, data) or _answered_before(server, eio_sid, data):
            return None
        try:
            rewritten = _checked(server, data)
        except _Refuse as refused:
            address = _address(server, eio_sid)
            refusal_log.refused(address, str(refused), "closed the connection of %s: %s",
                                address, refused)
            eio.disconnect(eio_sid)
            return None
        server._qa_handling[eio_sid] = data  # what remember_refusal() keys on
        try:
            return on_message(eio_sid, data if rewritten is None else rewritten)
        finally:
            server._qa_handling.pop(eio_sid, None)

    eio.handlers["message"] = checked_message
    _install_websocket_check(eio)
    eio._qa_frames = True


class _CheckedWebSocket:
    """The WebSocket engineio's handler reads from: a malformed message reads as "closed".

    Before each read it lets the other green threads run: a socket whose client sends as fast
    as it can would otherwise go on handling the messages already in its buffer (a few
    thousand small events in 64 KB) before anyone else's turn, and a flood, even one refused,
    would delay every other page's answer by that much.
    """

    __slots__ = ("_address", "_pause", "_ws")

    def __init__(self, ws: Any, address: str, pause: Callable[[], Any]) -> None:
        self._ws = ws
        self._address = address
        self._pause = pause

    def wait(self) -> Any:
        self._pause()
        message = self._ws.wait()
        if message is None:
            return None
        if problem := engineio_problem(message):
            refusal_log.refused(self._address, "ws " + problem,
                                "closed the websocket of %s: %s", self._address, problem)
            return None  # engineio ends the socket as if the client had closed it
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


class _Handler:
    """engineio's websocket handler (a bound method of its socket), given a checked WebSocket.

    Keeps ``__self__``: qa_live/transport/fanout.py finds the engineio socket through it.
    """

    def __init__(self, handler: Callable[[Any], Any], pause: Callable[[], Any]) -> None:
        self._handler = handler
        self._pause = pause
        self.__self__ = getattr(handler, "__self__", None)

    def __call__(self, ws: Any) -> Any:
        environ = getattr(ws, "environ", None) or {}
        address = str(environ.get("REMOTE_ADDR", "?"))
        return self._handler(_CheckedWebSocket(ws, address, self._pause))


def _install_websocket_check(eio: Any) -> None:
    factory = eio._async.get("websocket")
    if factory is None:
        return

    def pause() -> None:
        eio.sleep(0)

    def websocket(handler: Any, server: Any) -> Any:
        return factory(_Handler(handler, pause), server)

    eio._async = dict(eio._async, websocket=websocket)
