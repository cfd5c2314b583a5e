"""Outages of what the app depends on (the database, Redis): recognised, said once, retried.

A request or socket event that fails because PostgreSQL or Redis cannot be reached is answered
with the documented retryable code ``unavailable`` ("try again in a moment"), never a bare
``500`` or ``server_error`` (docs/realtime.md, docs/api.md). Background loops and checks report
through :class:`Troubles`: one log line with the time when something starts failing, one when
it works again (with how long and how many failures), nothing in between, instead of a
traceback per attempt.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app
from flask_babel import gettext as _

from qa_live.core.timeutil import utcnow

UNAVAILABLE = "unavailable"
RETRY_AFTER_S = 5  # what the API's Retry-After says


def is_unavailable(exc: BaseException) -> bool:
    """Whether an exception means a dependency is unreachable for now (worth a retry)."""
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.DBAPIError):
        # Connection refused or lost, server shutting down, pool invalidated; also SQLite's
        # "database is locked" after its busy timeout: all of them pass, none is the input's.
        return bool(exc.connection_invalidated) or isinstance(
            exc, (sa.OperationalError, sa.InterfaceError))
    if isinstance(exc, sa.TimeoutError):  # no pooled connection came free in time
        return True
    try:
        from redis import exceptions as redis_errors
    except ImportError:  # pragma: no cover - redis is a dependency
        return False
    return isinstance(exc, (redis_errors.ConnectionError, redis_errors.TimeoutError,
                            redis_errors.BusyLoadingError))


def unavailable_message() -> str:
    """What a person reads: the service is briefly unavailable, try again."""
    return _("The service is briefly unavailable. Please try again in a moment.")


def describe(exc: BaseException) -> str:
    """One short line for a log: the exception's type and the first line of its message."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > 200:
        first = first[:197] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def safe_url(url: str) -> str:
    """A service URL without its password, for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


def iso(moment: datetime) -> str:
    """A UTC time to the second, for a log line."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


DATABASE = "database"


def dependency(exc: BaseException | str) -> str | None:
    """Which dependency an outage is of: "database", "Redis", or None (not an outage)."""
    if isinstance(exc, str) or not is_unavailable(exc):
        return None
    from sqlalchemy import exc as sa

    return DATABASE if isinstance(exc, (sa.SQLAlchemyError,)) else "Redis"


class Troubles:
    """What is failing now (by name), since when; a log line when it starts and when it ends.

    An outage of the database or Redis is told under the dependency's name whichever loop or
    request met it first, so a PostgreSQL restart is one line when it breaks and one when it
    is back (the heartbeat, which uses both every HEARTBEAT_INTERVAL_S, says "back").
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.failing: dict[str, tuple[float, datetime, int]] = {}
        self.names: dict[str, str] = {}  # dependency -> the name it is told under

    def failed(self, what: str, exc: BaseException | str) -> bool:
        """Note a failure of `what`; True (and one log line) when it was working until now."""
        reason = exc if isinstance(exc, str) else describe(exc)
        kind = dependency(exc)
        if kind is not None:
            what = self.names.get(kind, kind)
        with self.lock:
            known = self.failing.get(what)
            if known is not None:
                self.failing[what] = (known[0], known[1], known[2] + 1)
                return False
            since = utcnow()
            self.failing[what] = (time.monotonic(), since, 1)
        self.app.logger.warning("%s failing since %s: %s", what, iso(since), reason)
        return True

    def recovered(self, what: str) -> float | None:
        """Note that `what` works; the seconds it was down (and one log line) if it was."""
        with self.lock:
            known = self.failing.pop(what, None)
        if known is None:
            return None
        took = time.monotonic() - known[0]
        self.app.logger.warning("%s back at %s after %.1f s (%d failed attempts)",
                                what, iso(utcnow()), took, known[2])
        return took

    def since(self, what: str) -> datetime | None:
        """When `what` started failing, or None if it works."""
        with self.lock:
            known = self.failing.get(what)
        return known[1] if known else None


def troubles(app: Flask | None = None) -> Troubles:
    """The app's :class:`Troubles`."""
    target: Any = app or current_app._get_current_object()  # type: ignore[attr-defined]
    kept = target.extensions.get("qa_live.troubles")
    if kept is None:
        kept = target.extensions.setdefault("qa_live.troubles", Troubles(target))
    return kept
