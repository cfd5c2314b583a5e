"""Logging for an operator: one format for every line, a request id, repeats held back.

Every logger (Flask's, the access log, python-socketio's and engine.io's, gevent's, SQLAlchemy's,
Alembic's) goes through one handler on the root logger, on stderr (systemd's journal):

- ``LOG_FORMAT=text`` (default): ``[2026-12-06 03:40:01,123] WARNING in outages: …``, Flask's
  own format, with `` [req 4bf92f3577b34da6]`` after the module when the line belongs to an HTTP
  request (or to a socket event, which carries its connection's handshake request).
- ``LOG_FORMAT=json``: one JSON object per line: ``time`` (UTC, ISO 8601), ``level``,
  ``logger``, ``message``, ``request_id`` and, for the access log, ``method``, ``path``,
  ``status``, ``bytes``, ``duration_ms``, ``remote_addr``; ``exception`` holds a traceback.

A line that repeats (same logger, level and text) within LOG_REPEAT_WINDOW_S (60 s)
is held back and counted; the next one after the window says how many were held back. The
outages themselves are one line when they start and one when they end (core/outages.py).

:class:`RequestLog` is the outermost WSGI layer: it gives each HTTP request an id (nginx's
``X-Request-ID`` when it sends a well-formed one, else a new one), returns it as the
``X-Request-ID`` response header, counts responses by status for /metrics and, with
``ACCESS_LOG=1``, writes one access line per request when it ends.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask, has_request_context, request

REQUEST_ID_KEY = "qa_live.request_id"
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
#: Loggers that bring a handler of their own (no time stamp): their lines go through ours.
_OWN_HANDLERS = ("engineio.server", "socketio.server", "engineio.client", "socketio.client",
                 "geventwebsocket.handler")
ACCESS = logging.getLogger("qa_live.access")
_ACCESS_FIELDS = ("method", "path", "status", "bytes", "duration_ms", "remote_addr")


def request_id() -> str | None:
    """The current HTTP request's id (a socket event has its connection's), if any."""
    if not has_request_context():
        return None
    value = request.environ.get(REQUEST_ID_KEY)
    return value if isinstance(value, str) else None


class _Context(logging.Filter):
    """Adds ``request_id`` (and the text form's ``context``) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = getattr(record, "request_id", None) or request_id()
        record.request_id = rid
        record.context = f" [req {rid}]" if rid else ""
        return True


class RepeatLimiter(logging.Filter):
    """Holds back a line that repeats within `window` seconds; the next one says how many."""

    def __init__(self, window: float) -> None:
        super().__init__()
        self.window = window
        self.lock = threading.Lock()
        self.seen: dict[tuple[str, int, str], list[float | int]] = {}  # key -> [since, held]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.window <= 0 or record.name == ACCESS.name:
            return True
        # The line as written, not its template: "%s failing since %s" of the database must
        # not be held back because the message queue's said the same a minute ago.
        key = (record.name, record.levelno, record.getMessage())
        now = time.monotonic()
        with self.lock:
            kept = self.seen.get(key)
            if kept is not None and now - kept[0] < self.window:
                kept[1] += 1
                return False
            held = int(kept[1]) if kept is not None else 0
            self.seen[key] = [now, 0]
            if len(self.seen) > 1000:  # forget the oldest: a burst of distinct lines
                for old in sorted(self.seen, key=lambda k: self.seen[k][0])[:500]:
                    del self.seen[old]
        if held:
            record.held_back = held
            record.msg = f"{record.msg} ({held} more like this held back in the last " \
                         f"{self.window:g} s)"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            data["request_id"] = rid
        for name in (*_ACCESS_FIELDS, "held_back"):
            if hasattr(record, name):
                data[name] = getattr(record, name)
        if record.exc_info:
            data["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(data, ensure_ascii=False, default=str)


TEXT_FORMAT = "[%(asctime)s] %(levelname)s in %(module)s%(context)s: %(message)s"


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a line is written (as logging's last resort)."""

    qa_live = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(app: Flask) -> None:
    """One handler on the root logger for every logger, in LOG_FORMAT, at LOG_LEVEL."""
    from flask.logging import default_handler

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "qa_live", False):
            root.removeHandler(handler)
    handler = _Stderr()
    json_lines = str(app.config.get("LOG_FORMAT", "text")).lower() == "json"
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(_Context())
    handler.addFilter(RepeatLimiter(float(app.config.get("LOG_REPEAT_WINDOW_S", 60))))
    root.addHandler(handler)
    level = logging.getLevelName(str(app.config.get("LOG_LEVEL", "INFO")).upper())
    root.setLevel(level if isinstance(level, int) else logging.INFO)
    app.logger.removeHandler(default_handler)
    app.logger.setLevel(logging.NOTSET)  # the root's level applies
    adopt_library_loggers()


def adopt_library_loggers() -> None:
    """Take away the bare handlers python-socketio and python-engineio give their loggers.

    They add one (no time stamp) when a server is made and the logger has no level yet, which
    is after :func:`configure` in create_app: call this once the Socket.IO server exists, so
    their lines (a Redis error, a bad packet) come out once, through ours.
    """
    for name in _OWN_HANDLERS:
        logging.getLogger(name).handlers.clear()


class RequestLog:
    """The outermost WSGI layer: request ids, responses counted by status, the access log."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], access_log: bool,
                 count: Callable[[int], None] | None = None) -> None:
        self.wsgi_app = wsgi_app
        self.access_log = access_log
        self.count = count

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        rid = incoming if _WELL_FORMED.match(incoming) else secrets.token_hex(16)
        environ[REQUEST_ID_KEY] = rid
        began = time.monotonic()
        seen: dict[str, int] = {"status": 0, "bytes": 0}

        def starting(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            try:
                seen["status"] = int(status.split(" ", 1)[0])
            except ValueError:
                seen["status"] = 0
            headers.append(("X-Request-ID", rid))
            return start_response(status, headers, *args)

        body = self.wsgi_app(environ, starting)
        return self._finish(body, environ, began, seen)

    def _finish(self, body: Iterable[bytes], environ: dict[str, Any], began: float,
                seen: dict[str, int]) -> Iterator[bytes]:
        try:
            for chunk in body:
                seen["bytes"] += len(chunk)
                yield chunk
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
            if self.count is not None and seen["status"]:
                self.count(seen["status"])
            if self.access_log:
                self._write(environ, began, seen)

    def _write(self, environ: dict[str, Any], began: float, seen: dict[str, int]) -> None:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "")
        took = round((time.monotonic() - began) * 1000, 1)
        address = environ.get("REMOTE_ADDR", "-")
        ACCESS.info('%s "%s %s" %s %s %.1fms', address, method, path, seen["status"],
                    seen["bytes"], took,
                    extra={"request_id": environ.get(REQUEST_ID_KEY), "method": method,
                           "path": path, "status": seen["status"], "bytes": seen["bytes"],
                           "duration_ms": took, "remote_addr": address})
