"""Shared pages answered in front of Flask, for the requests that need nothing of it (issue 17).

A new visitor's live page or transcript is one shared page (qa_live/core/shared_pages.py), but
each request for it still went through Flask's whole path: request and app contexts, the session
opened and saved, Flask-Limiter, Babel, Talisman and the other after-request hooks: some 98 %
of the request's time (docs/performance.md, "pagesfast17"). This WSGI layer (:class:`Door`,
put where Flask's own ``wsgi_app`` was, inside the request log, ProxyFix and the edge's guard)
answers such a request itself when it can, and otherwise hands it to Flask unchanged.

What it answers with, it first *learns* from Flask: when a request it could answer goes to
Flask and the view serves a shared page (it says so in the environ, :func:`served`), the layer
keeps that response's status and headers (CSP, frame and referrer policies, Vary, ETag,
Content-Type and -Encoding: everything but the cookies and the length), and how each cookie
was set. The next request with the same address, query and encoding, while the view's
``lookup`` still gives the same version (a session's id, state and sequence number, read with
one small query) and the page is younger than ``PUBLIC_PAGE_CACHE_S``, is answered from that
(an older page sends one request to Flask to render it anew, and the others meanwhile get the
old one, for ``RENEW_S`` at most): the page with
this visitor's fills, the learned headers, and cookies minted as Flask would (a new visitor id
in the signed visitor cookie; a CSRF secret in a Flask session cookie signed with Flask's own
serializer, and its token in the page). Anything else goes to Flask: another method, any cookie
(a returning visitor, a signed-in citizen, staff, a language or display choice), a query but
``?lang=``, an address no view registered, a changed version (or none: a draft, an unknown
slug, a database away), sharing off, a response that was not a 200, set other cookies, put
anything else in the session, or carried rate-limit headers.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from flask import Flask
from itsdangerous import BadSignature, Serializer, URLSafeSerializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.signer import Signer
from itsdangerous.timed import TimestampSigner
from sqlalchemy import Select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.http import http_date

from qa_live.core import shared_pages
from qa_live.core.visitor import COOKIE as VISITOR_COOKIE

EXTENSION = "qa_live.fast_pages"
#: The environ key a view sets when it answered with a shared page (:func:`served`).
SERVED = "qa_live.fast_pages.served"
#: How many (address, query, host) a door keeps what it learned for.
KEPT = 256
#: How long the other requests get an expired page while one renders it anew through Flask.
RENEW_S = 2.0
Lookup = Callable[[Flask, str], Hashable | None]
StartResponse = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Served:
    """What a view tells the door about the shared page it answered a request with."""

    version: Hashable  # what the route's lookup gives while this page is current
    page: shared_pages.SharedPage
    encoding: str | None


@dataclass(frozen=True, slots=True)
class _Cookie:
    """How a cookie was set: its name and what follows its value (Expires remade per second)."""

    name: str
    before: str  # what comes between the value and Expires (all of it when there is none)
    after: str  # what comes after Expires
    max_age: int | None  # its Max-Age, when it has an Expires

    def line(self, value: str) -> str:
        if self.max_age is None:
            return f"{self.name}={value}{self.before}"
        return f"{self.name}={value}{self.before}; Expires={_expires(self.max_age)}{self.after}"


@dataclass(frozen=True, slots=True)
class _Answer:
    """A learned response for one encoding: status, fixed headers, the cookies to mint."""

    status: str
    headers: tuple[tuple[str, str], ...]
    cookies: tuple[_Cookie, ...]


@dataclass(slots=True)
class _Entry:
    version: Hashable
    page: shared_pages.SharedPage
    answers: dict[str | None, _Answer] = field(default_factory=dict)
    renewing: float | None = None  # when a request went to Flask to render it anew


@dataclass(frozen=True, slots=True)
class _Route:
    pattern: re.Pattern[str]
    lookup: Lookup


def route(app: Flask, pattern: str, lookup: Lookup) -> None:
    """Let the door answer GETs whose path matches ``pattern`` (its first group is passed to
    ``lookup``, which gives the version of what the page shows, or None: go to Flask)."""
    app.extensions.setdefault(EXTENSION, []).append(_Route(re.compile(pattern), lookup))


def served(environ: dict[str, Any], what: Served) -> None:
    """Called by a view that answered with a shared page: the door may learn the response."""
    environ[SERVED] = what


class _KeptKeySigner(Signer):
    """itsdangerous' signer, deriving each key once rather than on every signature."""

    _derived: dict[tuple[Any, ...], bytes] = {}  # shared by every instance, on purpose

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        key = (secret_key if secret_key is not None else self.secret_keys[-1], self.salt,
               self.key_derivation, self.digest_method, type(self))
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derived[key] = super().derive_key(secret_key)
        return derived


class _KeptKeyTimestampSigner(_KeptKeySigner, TimestampSigner):
    """The timed signer Flask's session and Flask-WTF's token use, with the key kept."""


_EXPIRES: dict[int, tuple[int, str]] = {}


def _expires(max_age: int) -> str:
    """``Expires`` as werkzeug's ``dump_cookie`` writes it for ``max_age``, made once a second."""
    now = int(time.time())
    kept = _EXPIRES.get(max_age)
    if kept is None or kept[0] != now:
        kept = _EXPIRES[max_age] = (now, http_date(now + max_age))
    return kept[1]


class Door:
    """The WSGI layer: a qualifying request answered from what Flask answered the last one."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.routes: list[_Route] = app.extensions.get(EXTENSION, [])
        config = app.config
        self.queries = {""} | {f"lang={code}" for code in config["LANGUAGES"]}
        self.entries: dict[tuple[Any, ...], _Entry] = {}
        self.keeping = threading.Lock()
        self.answered = 0  # requests answered here (for tests)
        self.learned = 0
        secret: str | bytes = config.get("WTF_CSRF_SECRET_KEY") or app.secret_key or ""
        self.csrf_field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        self.csrf = URLSafeTimedSerializer(secret, salt="wtf-csrf-token",
                                           signer=_KeptKeyTimestampSigner)
        self.session_cookie = config["SESSION_COOKIE_NAME"]
        self.session = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
        if self.session is not None:
            self.session.signer = _KeptKeyTimestampSigner
        # What qa_live/core/visitor.py signs the visitor cookie with.
        self.visitor = URLSafeSerializer(config["SECRET_KEY"], salt="qa_live.visitor",
                                         signer=_KeptKeySigner)
        self.signers = {id(one): one.make_signer() for one in (self.csrf, self.session,
                                                               self.visitor) if one is not None}

    def _mint(self, serializer: Serializer[Any], value: Any) -> str:
        """``serializer.dumps(value)`` but for its try at compressing (new random values never
        get shorter): the same format, which ``serializer.loads`` reads, at two thirds the cost."""
        payload = base64_encode(Serializer.dump_payload(serializer, value))
        return self.signers[id(serializer)].sign(payload).decode()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_COOKIE")
                or environ.get("QUERY_STRING", "") not in self.queries or self.session is None):
            return self.wsgi_app(environ, start_response)
        path = environ.get("PATH_INFO", "")
        for one in self.routes:
            match = one.pattern.fullmatch(path)
            if match is not None:
                break
        else:
            return self.wsgi_app(environ, start_response)
        place = (environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST"),
                 environ.get("SERVER_NAME"), environ.get("SERVER_PORT"),
                 environ.get("SCRIPT_NAME", ""), path, environ.get("QUERY_STRING", ""))
        entry = self.entries.get(place)
        if entry is not None:
            answered = self._answer(entry, one.lookup(self.app, match.group(1)), environ,
                                    start_response)
            if answered is not None:
                return answered
        return self._learn(place, environ, start_response)

    def _answer(self, entry: _Entry, version: Hashable | None, environ: dict[str, Any],
                start_response: StartResponse) -> list[bytes] | None:
        max_age = self.app.config["PUBLIC_PAGE_CACHE_S"]
        if version is None or version != entry.version or max_age <= 0:
            return None
        page = entry.page
        now = time.monotonic()
        if now - page.made >= max_age:
            # Its time is up: one request goes to Flask, which renders it anew; the others
            # meanwhile get this one (same version: only counters and votes may be older, by
            # the time of one render), rather than all waiting in Flask for that render.
            if entry.renewing is None or now - entry.renewing > RENEW_S:
                entry.renewing = now
                return None
        encoding = page.encoding_for(environ.get("HTTP_ACCEPT_ENCODING", ""))
        answer = entry.answers.get(encoding)
        if answer is None:
            return None
        values = {VISITOR_COOKIE: self._mint(self.visitor, secrets.token_urlsafe(18))}
        fills = {}
        for name in page.names:
            if name == "csrf_token":  # a CSRF secret in the session, as Flask-WTF makes it
                secret = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324
                values[self.session_cookie] = self._mint(
                    self.session, {self.csrf_field: secret})
                fills[name] = self._mint(self.csrf, secret)
            else:
                fills[name] = str(uuid.uuid4())
        body = page.body(fills, encoding)
        headers = [*answer.headers, ("Content-Length", str(len(body)))]
        headers += [("Set-Cookie", cookie.line(values[cookie.name])) for cookie in answer.cookies]
        start_response(answer.status, headers)
        self.answered += 1
        return [body]

    def _learn(self, place: tuple[Any, ...], environ: dict[str, Any],
               start_response: StartResponse) -> Iterable[bytes]:
        """Hand the request to Flask; keep its answer when it was a shared page we can make."""

        def starting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            what = environ.get(SERVED)
            if what is not None and exc_info is None:
                answer = self._answer_of(what, status, headers)
                if answer is not None:
                    self._keep(place, what, answer)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, starting)

    def _answer_of(self, what: Served, status: str,
                   headers: list[tuple[str, str]]) -> _Answer | None:
        """What a shared page's response from Flask was, if this layer can make it again."""
        if not status.startswith("200 ") or what.page.names - {"csrf_token", "client_id"}:
            return None
        kept: list[tuple[str, str]] = []
        cookies: dict[str, _Cookie] = {}
        for name, value in headers:
            lowered = name.lower()
            if lowered.startswith(("x-ratelimit", "retry-after", "ratelimit")):
                return None  # counted per visitor: Flask must answer
            if lowered == "set-cookie":
                cookie = self._cookie_of(value)
                if cookie is None or cookie[0].name in cookies:
                    return None
                cookies[cookie[0].name] = cookie[0]
                if not self._expected(cookie[0].name, cookie[1], what):
                    return None
            elif lowered != "content-length":
                kept.append((name, value))
        # The visitor cookie always; Flask's session only for the CSRF secret of a token.
        wanted = {VISITOR_COOKIE} | ({self.session_cookie} if "csrf_token" in what.page.names
                                     else set())
        if set(cookies) != wanted:
            return None
        return _Answer(status, tuple(kept), tuple(cookies.values()))

    @staticmethod
    def _cookie_of(line: str) -> tuple[_Cookie, str] | None:
        name, _eq, rest = line.partition("=")
        value, _sep, tail = rest.partition(";")
        tail = f";{tail}" if tail else ""
        ages = re.findall(r";\s*Max-Age=(\d+)", tail, flags=re.IGNORECASE)
        expires = re.search(r";\s*Expires=[^;]*", tail, flags=re.IGNORECASE)
        if expires is None:
            return _Cookie(name, tail, "", None), value
        if len(ages) != 1:
            return None  # Expires without a Max-Age to remake it from
        return _Cookie(name, tail[:expires.start()], tail[expires.end():], int(ages[0])), value

    def _expected(self, name: str, value: str, what: Served) -> bool:
        """The cookie is what this layer mints: a visitor id, or a session with a CSRF secret
        alone (and the page's token made from it)."""
        try:
            if name == VISITOR_COOKIE:
                return isinstance(self.visitor.loads(value), str)
            if name == self.session_cookie and self.session is not None:
                content = self.session.loads(value)
                return (isinstance(content, dict) and list(content) == [self.csrf_field]
                        and "csrf_token" in what.page.names)
        except BadSignature:
            return False
        return False

    def _keep(self, place: tuple[Any, ...], what: Served, answer: _Answer) -> None:
        with self.keeping:  # readers only get(): one writer at a time is enough
            entry = self.entries.get(place)
            if entry is None or entry.page is not what.page or entry.version != what.version:
                entry = _Entry(what.version, what.page)
            entry.answers[what.encoding] = answer
            self.entries.pop(place, None)
            self.entries[place] = entry
            while len(self.entries) > KEPT:
                self.entries.pop(next(iter(self.entries)))
            self.learned += 1


class OneRow:
    """One small SELECT run on a pooled DBAPI connection, below SQLAlchemy's execution layer
    (about a fifth of its cost): compiled once per engine, the row's values converted by their
    columns' types as SQLAlchemy would. None when no row, or when the database failed (the
    caller then hands the request to Flask, which answers as it answers any other)."""

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        self.compiled: dict[Engine, tuple[str, tuple[str, ...] | None, list[Any]]] = {}

    def _for(self, engine: Engine) -> tuple[str, tuple[str, ...] | None, list[Any]]:
        kept = self.compiled.get(engine)
        if kept is None:
            dialect = engine.dialect
            compiled = self.statement.compile(dialect=dialect)
            names = tuple(compiled.positiontup or ()) if dialect.positional else None
            convert = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                       for column in self.statement.selected_columns]
            kept = self.compiled[engine] = (str(compiled), names, convert)
        return kept

    def run(self, engine: Engine, **values: Any) -> tuple[Any, ...] | None:
        sql, names, convert = self._for(engine)
        params: Any = tuple(values[name] for name in names) if names is not None else values
        try:
            connection = engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute(sql, params)
                row = cursor.fetchone()
                cursor.close()
            finally:
                connection.close()
        except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error):
            return None
        if row is None:
            return None
        return tuple(value if to is None else to(value) for to, value in zip(convert, row,
                                                                              strict=True))


def install(app: Flask) -> Door:
    """Put a :class:`Door` where Flask's own ``wsgi_app`` is called in the app's WSGI chain
    (inside the request log, ProxyFix, the edge's guard, WhiteNoise and Socket.IO's middleware,
    which all go on as before). Installing it again changes nothing."""
    installed = app.extensions.get(EXTENSION + ".door")
    if installed is not None:
        return cast(Door, installed)
    holder: Any = app
    attribute = "wsgi_app"
    for _depth in range(16):
        inner = getattr(holder, attribute)
        if getattr(inner, "__func__", None) is Flask.wsgi_app and inner.__self__ is app:
            door = Door(app, inner)
            setattr(holder, attribute, door)
            app.extensions[EXTENSION + ".door"] = door
            return door
        holder = inner
        attribute = next((name for name in ("wsgi_app", "app", "application")
                          if callable(getattr(inner, name, None))), "")
        if not attribute:
            break
    raise RuntimeError("Flask's wsgi_app was not found in the app's WSGI chain")
