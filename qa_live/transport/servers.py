"""Time limits for the two production servers, so no connection is held without end.

Neither gevent's pywsgi nor eventlet's wsgi server limits how long a client may take: a
connection that sends half its headers, or trickles a body one byte at a time, holds a green
thread and a file descriptor for as long as it likes (slow-loris). Here, per connection:

* ``HTTP_IDLE_TIMEOUT_S``: an open connection must start its next request within this time;
* ``HTTP_HEADER_TIMEOUT_S``: the request line and headers must have arrived by then (else 408);
* ``HTTP_BODY_TIMEOUT_S``: the whole body must have arrived by then (EdgeGuard answers 408);
* ``HTTP_IO_TIMEOUT_S``: any one read or write on the socket (a client that stops reading a
  response, a websocket that sends nothing, not even the pings it owes every 25 s).

A refused request (qa_live/transport/edge.py) makes the server hang up after the answer, having
read at most LINGER_BYTES more of the body for at most LINGER_S (so the client, still sending,
reads the answer instead of a connection reset).

Imported only by wsgi.py, after monkey-patching; relies on gevent's WSGIHandler and eventlet's
HttpProtocol internals named in docs/realtime.md's upgrade checklist (verified with gevent 26.9,
gevent-websocket 0.10.1, eventlet 0.41.3).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from qa_live.transport.edge import HANG_UP, BodyTimeout

#: On a refusal, read (and drop) at most this much more of the body before closing...
LINGER_BYTES = 1 << 20
#: ... for at most this long.
LINGER_S = 2.0

_TCP = (socket.AF_INET, socket.AF_INET6)
# Each connection's read buffer (pywsgi's default is 8 KiB, held as long as a WebSocket lives):
# a request line and headers, or a citizen's small frames, fit; larger reads bypass the buffer.
READ_BUFFER_BYTES = 2048


class Limits:
    """The four time limits, from the app's configuration."""

    def __init__(self, config: Any) -> None:
        self.idle = float(config["HTTP_IDLE_TIMEOUT_S"])
        self.headers = float(config["HTTP_HEADER_TIMEOUT_S"])
        self.body = float(config["HTTP_BODY_TIMEOUT_S"])
        self.io = float(config["HTTP_IO_TIMEOUT_S"])
        self.message = int(config["SOCKETIO_MAX_PAYLOAD_BYTES"])


class _TimedOut(Exception):
    """A deadline passed (raised inside the green thread by the server's Timeout)."""


class HeadersTimedOut(ValueError):
    """The request line and headers did not arrive in time (gevent logs it in one line)."""


class DeadlineInput:
    """The request body as the app reads it: every read ends by the request's body deadline."""

    def __init__(self, inner: Any, deadline: float, timeout: Callable[[float], Any]) -> None:
        self._inner = inner
        self._deadline = deadline
        self._timeout = timeout  # seconds -> a started Timeout raising _TimedOut

    def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise BodyTimeout("request body timed out")
        timer = self._timeout(left)
        try:
            return method(*args)
        except _TimedOut:
            raise BodyTimeout("request body timed out") from None
        finally:
            timer.close() if hasattr(timer, "close") else timer.cancel()

    def extend_deadline(self, seconds: float) -> None:
        """Give the body this much longer (an upload: edge.py grows it with the file's size)."""
        self._deadline += max(0.0, seconds)

    def read(self, *args: Any) -> bytes:
        data: bytes = self._call(self._inner.read, *args)
        return data

    def readline(self, *args: Any) -> bytes:
        line: bytes = self._call(self._inner.readline, *args)
        return line

    def readlines(self, *args: Any) -> list[bytes]:
        lines: list[bytes] = self._call(self._inner.readlines, *args)
        return lines

    def __iter__(self) -> Any:
        while line := self.readline():
            yield line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _linger(read: Callable[[int], bytes], timeout: Callable[[float], Any]) -> None:
    """Read and drop what is left of a refused body: at most LINGER_BYTES for LINGER_S."""
    timer = timeout(LINGER_S)
    try:
        left = LINGER_BYTES
        while left > 0:
            piece = read(min(16384, left))
            if not piece:
                break
            left -= len(piece)
    except (_TimedOut, OSError, ValueError):
        pass
    finally:
        timer.close() if hasattr(timer, "close") else timer.cancel()


# -- gevent --------------------------------------------------------------------------------------


def gevent_handler(limits: Limits) -> type:
    """gevent-websocket's handler with TCP_NODELAY, the time limits and hanging up."""
    import gevent
    from geventwebsocket.handler import WebSocketHandler

    from qa_live.transport.websockets import guard_gevent_websocket

    def timeout(seconds: float) -> Any:
        return gevent.Timeout.start_new(seconds, _TimedOut)

    class Handler(WebSocketHandler):
        """One connection: pywsgi's request loop, each step with its time limit."""

        def __init__(self, sock: socket.socket, address: object, server: object,
                     rfile: object = None) -> None:
            # As the listener's (qa_live/core/serving.py), where the system does not copy it.
            if sock.family in _TCP:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(limits.io)
            self._qa_hang_up = False
            if rfile is None:  # pywsgi's is a BufferedReader of 8 KiB, kept by every WebSocket
                rfile = sock.makefile("rb", READ_BUFFER_BYTES)
            super().__init__(sock, address, server, rfile)

        def read_requestline(self) -> str:
            timer = timeout(limits.idle)
            try:
                line: str = super().read_requestline()
                return line
            except _TimedOut:
                return ""  # pywsgi closes the connection
            finally:
                timer.close()

        def read_request(self, raw_requestline: str) -> Any:
            timer = timeout(limits.headers)
            try:
                return super().read_request(raw_requestline)
            except _TimedOut:
                raise HeadersTimedOut("request headers timed out") from None
            finally:
                timer.close()

        def _handle_client_error(self, ex: Exception) -> Any:
            result = super()._handle_client_error(ex)
            if isinstance(ex, HeadersTimedOut):
                return ("408", b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                               b"Content-Length: 0\r\n\r\n")
            return result

        def get_environ(self) -> dict[str, Any]:
            env: dict[str, Any] = super().get_environ()
            self._qa_hang_up = False
            raw: Any = getattr(self, "wsgi_input", None)
            if env.get("wsgi.input") is raw:  # not a websocket upgrade
                wrapped: Any = DeadlineInput(raw, time.monotonic() + limits.body, timeout)
                self.wsgi_input = wrapped
                env["wsgi.input"] = wrapped
            env[HANG_UP] = self._hang_up
            return env

        def _hang_up(self) -> None:
            self._qa_hang_up = True
            self.close_connection = True
            current: Any = getattr(self, "wsgi_input", None)
            inner = getattr(current, "_inner", current)
            # pywsgi reads what is left of the body after the response: only a little here.
            lingering: Any = _Lingering(inner, timeout)
            self.wsgi_input = lingering

        def upgrade_connection(self) -> Any:
            result = super().upgrade_connection()
            websocket = getattr(self, "websocket", None)
            if websocket is not None:
                guard_gevent_websocket(websocket, limits.message)
            return result

    return Handler


class _Lingering:
    """What pywsgi discards after a refusal: at most LINGER_BYTES, for at most LINGER_S."""

    def __init__(self, inner: Any, timeout: Callable[[float], Any]) -> None:
        self._inner = inner
        self._timeout = timeout

    def _discard(self) -> None:
        _linger(self._inner.read, self._timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def serve_gevent(listener: socket.socket, app: Any, limits: Limits) -> Any:
    """gevent's WSGIServer with our handler, on the given listening socket.

    The access log is the app's own (qa_live/core/logs.py, with request ids); the server's
    errors go through the same handlers as every other line.
    """
    from gevent import pywsgi

    server = pywsgi.WSGIServer(listener, app, handler_class=gevent_handler(limits), log=None,
                               error_log=logging.getLogger("gevent.pywsgi"))
    # gevent-websocket's handler logs through server.logger (it would make one with a plain
    # handler of its own): ours, and only its warnings (its access lines repeat the app's).
    server.logger = logging.getLogger("geventwebsocket.handler")
    server.logger.setLevel(logging.WARNING)
    return server


# -- eventlet ------------------------------------------------------------------------------------


def eventlet_protocol(limits: Limits) -> type:
    """eventlet's HttpProtocol with the header and body deadlines and hanging up."""
    import eventlet
    import eventlet.wsgi

    def timeout(seconds: float) -> Any:
        return eventlet.Timeout(seconds, _TimedOut)

    class Protocol(eventlet.wsgi.HttpProtocol):
        """One connection: eventlet's request loop, each step with its time limit."""

        def _read_request_line(self) -> Any:
            timer = timeout(limits.idle)
            try:
                return super()._read_request_line()
            except _TimedOut:
                self.close_connection = 1
                return ""
            finally:
                timer.cancel()

        def parse_request(self) -> bool:
            timer = timeout(limits.headers)
            try:
                return bool(super().parse_request())
            except _TimedOut:
                self.wfile.write(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                                 b"Content-Length: 0\r\n\r\n")
                self.close_connection = 1
                return False
            finally:
                timer.cancel()

        def get_environ(self) -> dict[str, Any]:
            env: dict[str, Any] = super().get_environ()
            env["wsgi.input"] = DeadlineInput(env["eventlet.input"],
                                              time.monotonic() + limits.body, timeout)

            def hang_up() -> None:
                # eventlet skips its own discard when it closes the connection; linger a
                # little once the answer is out (a post-hook runs after the response).
                self.close_connection = 1
                env["eventlet.posthooks"].append(
                    (lambda _env: _linger(env["eventlet.input"].read, timeout), (), {}))

            env[HANG_UP] = hang_up
            return env

    return Protocol


def serve_eventlet(listener: socket.socket, app: Any, limits: Limits, max_size: int) -> None:
    """eventlet's WSGI server with our protocol and time limits, on the given socket."""
    import eventlet.wsgi

    from qa_live.transport.websockets import speed_up_eventlet

    speed_up_eventlet()
    eventlet.wsgi.server(listener, app, log=logging.getLogger("eventlet.wsgi"), log_output=False,
                         max_size=max_size,
                         protocol=eventlet_protocol(limits), socket_timeout=limits.io,
                         keepalive=limits.idle)
