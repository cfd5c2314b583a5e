"""WebSocket messages refused from their header, and read at C speed (gevent-websocket).

gevent-websocket reads a whole frame before anyone looks at its size: a 1 MB frame was read,
unmasked byte by byte in Python and checked as UTF-8 byte by byte in Python (some 0.3 s of CPU
on these cores) before python-engineio found it too large. Twenty sockets sending such frames
stalled every other page for seconds. Here a message (all its frames together) announcing more
than SOCKETIO_MAX_PAYLOAD_BYTES is refused from the frame header: the connection is closed with
1009 (message too big) without reading the payload. Accepted frames are unmasked with one
integer XOR and checked as UTF-8 by ``bytes.decode``.

eventlet's own websocket already refuses a frame longer than python-engineio's
``max_frame_length`` from its header; its unmasking is made as fast here
(:func:`speed_up_eventlet`).

Relies on gevent-websocket's WebSocket internals (``stream``, ``raw_read``, ``Header``) and
eventlet's ``RFC6455WebSocket._apply_mask``; verified with gevent-websocket 0.10.1 and eventlet
0.41.3 (docs/realtime.md, upgrade checklist). Other versions keep the stock classes.
"""

from __future__ import annotations

import functools
import struct
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from qa_live.transport import refusal_log
from qa_live.transport.compat import VERIFIED

# The one table of verified versions (compat.py): with any other, the stock classes are used.
VERIFIED_GEVENT_WEBSOCKET = VERIFIED["gevent-websocket"]
VERIFIED_EVENTLET = VERIFIED["eventlet"]

_OPCODE_CONTINUATION, _OPCODE_TEXT, _OPCODE_BINARY = 0x0, 0x1, 0x2
_OPCODE_CLOSE, _OPCODE_PING, _OPCODE_PONG = 0x8, 0x9, 0xA


def unmask(payload: bytes, mask: bytes, offset: int = 0) -> bytes:
    """RFC 6455 §5.3 unmasking as one big-integer XOR (the same bytes as the per-byte loop)."""
    n = len(payload)
    if not n:
        return b""
    if offset % 4:
        mask = mask[offset % 4:] + mask[:offset % 4]
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


@functools.cache  # read once: importlib.metadata opens the package's METADATA file (~0.2 ms,
def _installed(name: str) -> str | None:  # and a file descriptor) on every call, every upgrade
    try:
        return version(name)
    except PackageNotFoundError:
        return None


_classes: dict[int, type] = {}


def _guarded_class(limit: int) -> type | None:
    if _installed("gevent-websocket") not in VERIFIED_GEVENT_WEBSOCKET:
        return None
    found = _classes.get(limit)
    if found is not None:
        return found
    from geventwebsocket.exceptions import ProtocolError
    from geventwebsocket.websocket import Header, WebSocket

    base: Any = WebSocket  # untyped, and its __slots__ are set by gevent-websocket

    class GuardedWebSocket(base):
        """gevent-websocket's WebSocket, refusing an oversized message from its header."""

        __slots__ = ()

        def _payload(self: Any, header: Any) -> bytes:
            if not header.length:
                return b""
            payload: bytes = self.raw_read(header.length)
            if len(payload) != header.length:
                raise ProtocolError("Unexpected EOF reading frame payload")
            return unmask(payload, header.mask) if header.mask else payload

        def close_with(self: Any, code: int, reason: str) -> None:
            """Send a close frame with its status code (gevent-websocket's close() sends the
            reason alone, which clients read as a bad status code), and stop."""
            try:
                self.send_frame(struct.pack("!H", code) + reason.encode(), _OPCODE_CLOSE)
            except OSError:
                pass  # the peer is gone already; closing is all that is left
            finally:
                self.closed = True
                self.stream = self.raw_write = self.raw_read = None
                self.environ = None

        def read_message(self: Any) -> Any:
            opcode = None
            parts: list[bytes] = []
            total = 0
            while True:
                header = Header.decode_header(self.stream)
                if header.flags:
                    raise ProtocolError("reserved bits set")
                kind = header.opcode
                if kind in (_OPCODE_TEXT, _OPCODE_BINARY):
                    if opcode:
                        raise ProtocolError("a new message inside a fragmented one")
                    opcode = kind
                elif kind == _OPCODE_CONTINUATION:
                    if not opcode:
                        raise ProtocolError("a continuation frame without a message")
                elif kind == _OPCODE_PING:
                    self.handle_ping(header, self._payload(header))
                    continue
                elif kind == _OPCODE_PONG:
                    self._payload(header)
                    continue
                elif kind == _OPCODE_CLOSE:
                    self.handle_close(header, self._payload(header))
                    return None
                else:
                    raise ProtocolError(f"unexpected opcode {kind}")
                total += header.length
                if total > limit:
                    address = (self.environ or {}).get("REMOTE_ADDR")
                    refusal_log.refused(address, "ws too big", "closed the websocket of %s: a "
                                        "message of %d+ bytes, over %d", address, total, limit)
                    self.close_with(1009, "message too big")
                    return None
                parts.append(self._payload(header))
                if header.fin:
                    break
            message = b"".join(parts)
            if opcode == _OPCODE_TEXT:
                return self._decode_bytes(message)  # invalid UTF-8: closed with 1007
            return message

    _classes[limit] = GuardedWebSocket
    return GuardedWebSocket


def guard_gevent_websocket(websocket: Any, limit: int) -> None:
    """Make a freshly upgraded gevent-websocket WebSocket refuse oversized messages early."""
    guarded = _guarded_class(limit)
    if guarded is not None and type(websocket).__name__ == "WebSocket":
        websocket.__class__ = guarded


def speed_up_eventlet() -> None:
    """eventlet's RFC6455WebSocket: unmasking with the integer XOR instead of a per-byte loop,
    and a message's frames together held to the frame limit (eventlet checks each frame alone,
    so a message in many small fragments grew without bound before engineio saw its size)."""
    if _installed("eventlet") not in VERIFIED_EVENTLET:
        return
    from eventlet.websocket import FailedConnectionError, RFC6455WebSocket

    def _apply_mask(data: bytes, mask: Any, length: int | None = None,
                    offset: int = 0) -> bytes:
        data = bytes(data if length is None else data[:length])
        return unmask(data, bytes(mask), offset)

    message_class: Any = RFC6455WebSocket.Message
    push = message_class.push

    def push_within_limit(self: Any, data: bytes, final: bool = False) -> None:
        total = getattr(self, "_qa_total", 0) + len(data)
        self._qa_total = total
        if not self.opcode & 8 and total > self.max_frame_length:
            refusal_log.refused("?", "ws too big", "closed a websocket: a message of %d+ "
                                "bytes, over %d", total, self.max_frame_length)
            raise FailedConnectionError(1009, "message too big")
        push(self, data, final)

    RFC6455WebSocket._apply_mask = staticmethod(_apply_mask)
    message_class.push = push_within_limit
