"""Broadcasts encoded once and written straight to every WebSocket recipient.

python-socketio sends a room broadcast by putting the packet in each recipient's queue; that
socket's writer greenlet then wakes, encodes the packet to UTF-8, frames it and writes it. With
10,000 citizens in a session that is 10,000 queue hand-offs, greenlet switches and encodings for
one answer. Here a broadcast is encoded once (Socket.IO packet → Engine.IO packet → one
WebSocket frame) and the same bytes are written to each WebSocket with one non-blocking
``send``. The wire bytes are exactly those python-socketio would send (docs/realtime.md).

Order per socket stays what it was: a frame is written directly only when nothing else is
waiting for that socket (its queue is empty and its writer is not in the middle of a write);
otherwise the packet goes through the socket's queue like any other. A frame the kernel takes
only in part has its rest queued first in line, so a slow phone never holds up the broadcast
and never receives a torn message. Everything else takes python-socketio's normal path:
long-polling clients, sockets being upgraded or closed, emits with a callback, binary data,
WebSockets with permessage-deflate (eventlet), and the threading server (tests, `flask run`),
where sockets are written from real threads.

The fast path relies on cooperative scheduling (gevent, eventlet): between a check and the
non-blocking write nothing else runs, so the check "queue empty, writer idle" cannot go stale.
With a message queue (Redis), every worker delivers what it receives the same way.
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from qa_live.transport.queue import resubscribing
from qa_live.transport.sizes import backlog, local_room_size  # noqa: F401 - their old home

#: A broadcast to more recipients than this is large: it takes turns with other large ones and
#: lets other green threads run now and then (every PAUSE_AFTER_S of writing).
LARGE = 256
#: How long a large broadcast writes before it pauses. An ask arriving meanwhile waits at most
#: this long; each pause costs the broadcast about a millisecond (measured at 10,000 pages: a
#: pause every 256 pages, some 40 per broadcast, made fan-out p50 82 ms instead of 63).
PAUSE_AFTER_S = 0.008
#: The clock is read every this many recipients (some 0.6 ms of writing at 10 µs each).
CHECK_EVERY = 64
#: How long a pause is: not 0, which gevent may resume before the loop polls for input.
PAUSE_S = 0.0005
#: The attribute of an Engine.IO socket holding its WebSocket's write state.
STATE_ATTR = "_qa_fanout"
COOPERATIVE_MODES = ("gevent", "eventlet")


class Tally:
    """How broadcast packets went out in this process (for the shutdown line and the tests)."""

    direct = 0  # frames written straight to a WebSocket
    queued = 0  # packets left to a socket's own queue (polling, busy, upgrading…)
    split = 0  # frames the kernel took only in part; the rest was queued first in line

    @classmethod
    def line(cls) -> str:
        """One line for the log."""
        return (f"broadcast packets: {cls.direct} written directly, {cls.queued} queued, "
                f"{cls.split} split")


def websocket_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (RFC 6455 §5.2), as a server sends it."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + payload


class _Frame(bytes):
    """Bytes already framed for the wire: the rest of a frame the kernel took only in part."""


class _FrameTail(eio_packet.Packet):
    """A queue entry for the socket's writer: write these framed bytes as they are."""

    def __init__(self, rest: bytes) -> None:
        super().__init__(eio_packet.MESSAGE)
        self.encode_cache = _Frame(rest)

    def encode(self, b64: bool = False) -> Any:
        return self.encode_cache


class WriteState:
    """One WebSocket's writing: the raw non-blocking send, and whether someone is writing."""

    __slots__ = ("busy", "closed", "raw_send", "sendall")

    def __init__(self, raw_send: Callable[[bytes], int],
                 sendall: Callable[[bytes], Any]) -> None:
        self.raw_send = raw_send
        self.sendall = sendall
        self.busy = False  # the socket's own writer is writing (it may be waiting for room)
        self.closed = False


class _WebSocketProxy:
    """What engineio's WebSocket handler gets instead of the WebSocket: marks writes as busy."""

    __slots__ = ("_state", "_ws")

    def __init__(self, ws: Any, state: WriteState) -> None:
        self._ws = ws
        self._state = state

    def send(self, message: Any) -> Any:
        state = self._state
        state.busy = True
        try:
            if type(message) is _Frame:
                return state.sendall(message)
            return self._ws.send(message)
        finally:
            state.busy = False

    def wait(self) -> Any:
        return self._ws.wait()

    def close(self) -> Any:
        self._state.closed = True
        return self._ws.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)


def _write_state(ws: Any) -> WriteState | None:
    """The raw socket behind a gevent-websocket or eventlet WebSocket, or None if unknown."""
    inner = getattr(ws, "_sock", None)
    handler = getattr(inner, "handler", None)
    # gevent-websocket's WebSocket, or qa_live/transport/websockets.py's subclass of it.
    if handler is not None and type(inner).__module__.startswith(("geventwebsocket",
                                                                  "qa_live.transport")):
        green = getattr(handler, "socket", None)  # gevent-websocket, via engineio's wrapper
        raw = getattr(green, "_sock", None)  # gevent's socket wraps the real one
    elif type(ws).__name__ == "RFC6455WebSocket" and type(ws).__module__ == "eventlet.websocket":
        if getattr(ws, "extensions", None):  # permessage-deflate: frames differ per socket
            return None
        green = ws.socket
        raw = getattr(green, "fd", None)  # eventlet's GreenSocket wraps the real one
    else:
        return None
    if green is None or raw is None or not hasattr(raw, "send") or raw.gettimeout() != 0.0:
        return None  # not a non-blocking socket: a direct write could block the broadcast
    return WriteState(raw.send, green.sendall)


class _SendOnce:
    """A packet handed to a WebSocket's writer, let go of as soon as it has been encoded.

    engineio's writer keeps the last packet it wrote in a local variable while it waits for the
    next one. Broadcasts mostly bypass that writer, so the last packet of a page's writer is,
    for good, its join acknowledgement: the whole snapshot of the session. Measured at 10,000
    pages with 69 published questions: 62 KB of memory per page instead of 122.
    """

    __slots__ = ("_packet",)

    def __init__(self, packet: Any) -> None:
        self._packet = packet

    def encode(self, b64: bool = False) -> Any:
        packet, self._packet = self._packet, None
        return packet.encode(b64=b64)


def _releasing_poll(poll: Callable[[], Any]) -> Callable[[], Any]:
    """An Engine.IO socket's poll() whose packets are let go of once written (see _SendOnce)."""

    def releasing() -> Any:
        packets = poll()
        if not packets:
            return packets
        return [_SendOnce(packet) for packet in packets]

    return releasing


def install(eio: Any) -> None:
    """Wrap the Engine.IO server's WebSocket class so each WebSocket exposes its write state."""
    if eio.async_mode not in COOPERATIVE_MODES or getattr(eio, "_qa_fanout", False):
        return
    original = eio._async["websocket"]
    if original is None:
        return

    def websocket(handler: Any, server: Any) -> Any:
        engineio_socket = getattr(handler, "__self__", None)

        def run(ws: Any) -> Any:
            state = None if engineio_socket is None else _write_state(ws)
            if engineio_socket is None or state is None:
                return handler(ws)
            setattr(engineio_socket, STATE_ATTR, state)
            engineio_socket.poll = _releasing_poll(engineio_socket.poll)
            try:
                return handler(_WebSocketProxy(ws, state))
            finally:
                state.closed = True
                engineio_socket.__dict__.pop(STATE_ATTR, None)
                engineio_socket.__dict__.pop("poll", None)

        return original(run, server)

    eio._async = dict(eio._async, websocket=websocket)
    eio._qa_fanout = True
    from qa_live.transport import unicast  # its own module: a socket's acks written directly

    unicast.install(eio)


class FastEmitManager(socketio.Manager):
    """A client manager whose broadcasts are encoded once and written directly (see above).

    Put in front of python-socketio's pub/sub managers too (``make_manager``): their local
    delivery calls ``super().emit``, which lands here.
    """

    fast = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The rooms each socket is in. python-socketio finds them by looking through every
        # room of the namespace, which makes 10,000 pages leaving at once (a restart, a
        # network blip) cost 10,000 × 20,000 room lookups; here it is each socket's few rooms.
        self._rooms_of: dict[tuple[str, str], set[Any]] = {}
        #: Called with (namespace, room, event, data) as each emit to this process's sockets starts.
        self.observers: list[Callable[[str, Any, str, Any], None]] = []

    def basic_enter_room(self, sid: str, namespace: str, room: Any,
                         eio_sid: str | None = None) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._rooms_of.setdefault((namespace, sid), set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)
        rooms = self._rooms_of.get((namespace, sid))
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._rooms_of[(namespace, sid)]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        # The rest as python-socketio's BaseManager.basic_disconnect does it.
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            if namespace in pending and sid in pending[namespace]:
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [room for room in self._rooms_of.get((namespace, sid), ()) if room is not None]

    def set_server(self, server: Any) -> None:
        super().set_server(server)
        if self.fast:
            install(server.eio)
        self._fast = self.fast and server.eio.async_mode in COOPERATIVE_MODES
        # Made here, after wsgi.py patched threading: a green lock under gevent and eventlet.
        self._large = threading.Lock()

    def emit(self, event: str, data: Any, namespace: str, room: Any = None,
             skip_sid: Any = None, callback: Any = None, to: Any = None,
             **kwargs: Any) -> None:
        for observe in self.observers:  # before: a large broadcast lets others run meanwhile
            observe(namespace, to or room, event, data)
        self._emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback,
                   to=to, **kwargs)

    def _emit(self, event: str, data: Any, namespace: str, room: Any = None,
              skip_sid: Any = None, callback: Any = None, to: Any = None,
              **kwargs: Any) -> None:
        if callback is not None or not getattr(self, "_fast", False):
            return super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                callback=callback, to=to, **kwargs)
        room = to or room
        if namespace not in self.rooms:
            return None
        if isinstance(data, tuple):
            args = list(data)
        elif data is not None:
            args = [data]
        else:
            args = []
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace,
                                           data=[event, *args]).encode()
        if not isinstance(encoded, str):  # binary attachments: several packets
            return super().emit(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        frame = websocket_frame(pkt.encode().encode("utf-8"))
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        eio = self.server.eio
        participants = list(self.get_participants(namespace, room))
        if len(participants) <= LARGE:
            deliver(eio.sockets, participants, skip, pkt, frame, eio.ping_timeout)
            return None
        # A large broadcast lets others run every PAUSE_AFTER_S (an ask waiting behind 10,000
        # writes would wait a tenth of a second). Large broadcasts take turns, so each
        # socket gets them in the order they were emitted; small emits (a console, a visitor's
        # own pages) never pause and may go out in between.
        with self._large:
            deliver(eio.sockets, participants, skip, pkt, frame, eio.ping_timeout,
                    pause=lambda: eio.sleep(PAUSE_S))
        return None


def deliver(sockets: dict[str, Any], participants: Any, skip: list[Any],
            pkt: eio_packet.Packet, frame: bytes, ping_timeout: float,
            pause: Callable[[], Any] | None = None,
            pause_after: float = PAUSE_AFTER_S) -> None:
    """Write `frame` to each participant's WebSocket, or queue `pkt` where that is not safe.

    With `pause`, it is called once `pause_after` seconds have gone by since the start or the
    last pause (looked at every CHECK_EVERY recipients), to let other green threads run; each
    socket's state is looked at just before its write, so a pause changes nothing.
    """
    now = time.time()
    slice_began = time.monotonic()
    size = len(frame)
    direct = queued = 0
    for index, (sid, eio_sid) in enumerate(participants):
        if (pause is not None and index and not index % CHECK_EVERY
                and time.monotonic() - slice_began >= pause_after):
            pause()
            now = time.time()
            slice_began = time.monotonic()
        if sid in skip:
            continue
        sock = sockets.get(eio_sid)
        if sock is None or sock.closed:
            continue  # gone; python-socketio skips these too
        state = sock.__dict__.get(STATE_ATTR)
        last_ping = sock.last_ping
        if (state is None or state.busy or state.closed or sock.upgrading or sock.closing
                or not sock.upgraded or sock.queue.qsize()
                or (last_ping and now - last_ping > ping_timeout)):
            sock.send(pkt)  # the normal path: queue it for the socket's own writer
            queued += 1
            continue
        try:
            sent = state.raw_send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            state.closed = True  # the connection is gone; its reader will close the socket
            continue
        if sent == size:
            direct += 1
        elif sent == 0:
            sock.send(pkt)
            queued += 1
        else:
            sock.queue.put(_FrameTail(frame[sent:]))  # the rest first, before anything else
            Tally.split += 1
    Tally.direct += direct
    Tally.queued += queued


def make_manager(message_queue: str | None, channel: str = "flask-socketio",
                 fast: bool = True) -> socketio.Manager:
    """The client manager for Flask-SocketIO: this process's, or one sharing a message queue.

    Without ``fast`` it is python-socketio's own manager, as Flask-SocketIO would make it.
    """
    if not message_queue:
        return FastEmitManager() if fast else socketio.Manager()
    if message_queue.startswith(("redis://", "rediss://")):
        # Subscribes again within a second of Redis coming back (qa_live/transport/queue.py).
        queue_class: type[socketio.Manager] = resubscribing(socketio.RedisManager)
    elif message_queue.startswith("kafka://"):
        queue_class = socketio.KafkaManager
    elif message_queue.startswith("zmq"):
        queue_class = socketio.ZmqManager
    else:
        queue_class = socketio.KombuManager
    if not fast:
        return queue_class(message_queue, channel=channel)
    fast_class = type(f"FastEmit{queue_class.__name__}", (queue_class, FastEmitManager), {})
    manager: socketio.Manager = fast_class(message_queue, channel=channel)
    return manager
