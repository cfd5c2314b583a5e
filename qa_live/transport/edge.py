"""The public edge at the HTTP level: every request is answered or closed within a bounded time.

:class:`EdgeGuard` is the outermost WSGI layer of the app. Every request body is read here, in
full and before anything else sees it, up to a size limit (SOCKETIO_MAX_PAYLOAD_BYTES for
``/socket.io/``, HTTP_MAX_BODY_BYTES for the rest); a larger one is refused with 413, a
malformed length with 400, a body that does not arrive in time with 408, and the server is told
to hang up after the answer instead of reading the rest (``HANG_UP``: qa_live/transport/
servers.py provides it for gevent and eventlet). So the app never waits on the network for a
body, and no refused request leaves its socket held.

Why: python-engineio answers an oversized long-polling POST by closing its Engine.IO session
with ``Socket.close(wait=True)``, which waits for the client to fetch the CLOSE packet with
another poll. A script that never polls held that request, and its socket, forever (30 posts,
30 sockets in CLOSE-WAIT). :func:`close_without_waiting` removes that wait for every error path
of engineio; the guard refuses the oversized body before engineio sees it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from qa_live.transport import refusal_log
from qa_live.transport.frames import polling_problem

logger = logging.getLogger("qa_live.edge")

#: environ key: a callable the server puts there; called, it makes the server close the
#: connection after this response (reading at most a little of what is left of the body).
HANG_UP = "qa_live.hang_up"
SOCKETIO_PREFIX = "/socket.io"
#: Read a body in pieces of this size (the server's own buffer size).
CHUNK = 16384

StartResponse = Callable[..., Any]
Render = Callable[[dict[str, Any], int], tuple[str, list[tuple[str, str]], bytes]]


class BodyTimeout(OSError):
    """The request body did not arrive within HTTP_BODY_TIMEOUT_S (raised by servers.py)."""


class _TooLarge(Exception):
    pass


def _declared_length(environ: dict[str, Any]) -> int | None:
    """The Content-Length as a number, None when absent; ValueError when malformed."""
    text = environ.get("CONTENT_LENGTH")
    if text in (None, ""):
        return None
    text = str(text).strip()
    if not text.isdigit():  # no sign, no spaces, no "1e3"
        raise ValueError(text)
    return int(text)


def _read_body(stream: Any, length: int | None, limit: int) -> bytes:
    """Read the whole body (Content-Length or chunked), refusing more than `limit` bytes."""
    want = limit + 1 if length is None else length
    parts: list[bytes] = []
    total = 0
    while total < want:
        piece = stream.read(min(CHUNK, want - total))
        if not piece:
            break
        parts.append(piece)
        total += len(piece)
        if total > limit:
            raise _TooLarge
    if length is not None and total < length:
        raise EOFError("the body ended early")
    return b"".join(parts)


class EdgeGuard:
    """WSGI middleware: bodies read in full under a size limit; refusals answered and closed."""

    def __init__(self, app: Callable[..., Iterable[bytes]], render: Render,
                 socketio_limit: int, body_limit: int,
                 end_session: Callable[[str], None] | None = None,
                 upload_limit: Callable[[dict[str, Any]], int | None] | None = None,
                 upload_rate: int = 32768) -> None:
        self.app = app
        self.render = render
        self.socketio_limit = socketio_limit
        self.body_limit = body_limit
        self.end_session = end_session
        #: environ -> the byte limit of an upload route (files), None for every other request.
        self.upload_limit = upload_limit
        #: An upload's body may take HTTP_BODY_TIMEOUT_S plus its length at this many bytes/s.
        self.upload_rate = max(1, upload_rate)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        socketio = path == SOCKETIO_PREFIX or path.startswith(SOCKETIO_PREFIX + "/")
        limit = self.socketio_limit if socketio else self.body_limit
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        try:
            length = _declared_length(environ)
        except ValueError:
            return self.refuse(environ, start_response, 400, "malformed Content-Length")
        if length is None and not chunked:
            return self.app(environ, start_response)  # no body (GET, a websocket upgrade)
        upload = None if socketio or self.upload_limit is None else self.upload_limit(environ)
        if upload is not None:
            return self.pass_upload(environ, start_response, upload, length)
        if length is not None and length > limit:
            return self.refuse(environ, start_response, 413,
                               f"body of {length} bytes over {limit}", socketio)
        try:
            body = _read_body(environ["wsgi.input"], None if chunked else length, limit)
        except _TooLarge:
            return self.refuse(environ, start_response, 413,
                               f"chunked body over {limit} bytes", socketio)
        except BodyTimeout:
            return self.refuse(environ, start_response, 408, "body too slow")
        except (EOFError, OSError, ValueError) as exc:  # cut short or broken chunked framing
            return self.refuse(environ, start_response, 400, f"body unreadable ({exc})")
        if socketio and environ.get("REQUEST_METHOD") == "POST":
            if problem := polling_problem(body):
                return self.refuse(environ, start_response, 400, problem, socketio)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = True
        return self.app(environ, start_response)

    def pass_upload(self, environ: dict[str, Any], start_response: StartResponse, limit: int,
                    length: int | None) -> Iterable[bytes]:
        """A file upload route: the body goes to the app as it arrives, not held in memory
        here. Its declared length is checked now; Werkzeug holds a chunked one to the same
        limit while reading (core/uploads.py), and the body's deadline grows with its size."""
        if length is not None and length > limit:
            return self.refuse(environ, start_response, 413,
                               f"upload of {length} bytes over {limit}")
        stream = environ["wsgi.input"]
        extend = getattr(stream, "extend_deadline", None)
        if extend is not None:
            extend((length if length is not None else limit) / self.upload_rate)
        return self.app(environ, start_response)

    def refuse(self, environ: dict[str, Any], start_response: StartResponse, code: int,
               why: str, socketio: bool = False) -> Iterable[bytes]:
        """Answer `code` at once, end an Engine.IO session sending too much, and hang up."""
        address = environ.get("REMOTE_ADDR")
        refusal_log.refused(address, f"http {code} {why}", "refused %s %s from %s: %s (%d)",
                            environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), address,
                            why, code)
        if socketio and code in (400, 413) and self.end_session is not None:
            sid = parse_qs(environ.get("QUERY_STRING", "")).get("sid", [""])[0]
            if sid:
                # As python-engineio does for an oversized message, without its wait.
                self.end_session(sid)
        status, headers, body = self.render(environ, code)
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "connection")]
        headers += [("Content-Length", str(len(body))), ("Connection", "close")]
        hang_up = environ.get(HANG_UP)
        if hang_up is not None:
            hang_up()
        start_response(status, headers)
        return [body]


def close_without_waiting(eio: Any) -> Callable[[str | None], None]:
    """An ``engineio.Server.disconnect`` that never waits for the client.

    engineio's own ends a session with ``Socket.close(wait=True)``: for a long-polling client
    that waits until the client polls for the CLOSE packet, forever if it never does, and it is
    called from inside the request that found the error. This one closes the session (its
    disconnect handlers run, a websocket is sent CLOSE) and forgets it at once, as engineio's
    own does after its wait: a later request for it is answered 400 "unknown session".
    """

    def disconnect(sid: str | None = None) -> None:
        if sid is None:
            targets = list(eio.sockets.values())
        else:
            found = eio.sockets.get(sid)
            targets = [found] if found is not None else []
        for sock in targets:
            try:
                sock.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)
            except Exception:  # already gone: nothing to close
                logger.info("engine.io session %s was already closed", sock.sid)
            eio.sockets.pop(sock.sid, None)

    return disconnect
