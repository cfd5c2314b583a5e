"""Failed staff logins: guessing stays expensive, and a stranger cannot lock a real user out.

Three Flask-Limiter limits on ``POST /login``, each counting failed password checks only
(docs/security.md, "Failed logins"):

* per address and login (``LOGIN_RATE_LIMIT``): one place guessing one account; stepped, so
  a guesser who comes back waits longer each time (5 minutes, then the hour, then the day);
* per address (``LOGIN_ADDRESS_RATE_LIMIT``): one place trying many accounts;
* per login from *unknown* places (``LOGIN_ACCOUNT_RATE_LIMIT``): guessing one account from
  many addresses. A known place (the office network, when ``STAFF_ALLOWED_NETWORKS`` is set,
  or an address the account logged in from successfully within ``LOGIN_TRUST_DAYS``) neither
  counts towards it nor is refused by it, so strangers elsewhere cannot lock the owner out.

A refusal is written to the audit log (``login_throttled``) once per lock, not once per
refused request, so a guesser cannot flood the log either.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Response, current_app, g, request
from flask_limiter import RequestLimit
from sqlalchemy import func, select

from qa_live.audit.models import AuditEntry
from qa_live.audit.services import client_ip
from qa_live.audit.services import record as audit_record
from qa_live.auth.models import User
from qa_live.core import ratelimit
from qa_live.core.access import staff_network_allowed
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, limiter

F = TypeVar("F", bound=Callable[..., Any])

LOGIN_MAX = 64  # longest login the keys use (the form allows 64 characters)


def attempted_login() -> str:
    """The login typed into the form, as the keys compare it (trimmed, lower case)."""
    return (request.form.get("login") or "").strip().lower()[:LOGIN_MAX]


def note_failure() -> None:
    """Mark this request as a failed password check: the limits count it."""
    g.login_failed = True


def _counts(_response: Response) -> bool:
    return bool(g.get("login_failed"))


def _address() -> str:
    return client_ip() or "unknown"


def _pair_key() -> str:
    return f"login-pair:{_address()}:{attempted_login()}"


def _address_key() -> str:
    return f"login-address:{_address()}"


def _account_key() -> str:
    return f"login-account:{attempted_login()}"


def known_place() -> bool:
    """Whether this attempt comes from a place the account's owner is known to log in from.

    The office network (when STAFF_ALLOWED_NETWORKS is set), or an address this account logged
    in from successfully within LOGIN_TRUST_DAYS (the audit log has every login with its
    address). Answered once per request.
    """
    known = g.get("login_known_place")
    if known is None:
        known = g.login_known_place = _known_place()
    return bool(known)


def _known_place() -> bool:
    config = current_app.config
    if config.get("STAFF_ALLOWED_NETWORKS") and staff_network_allowed():
        return True
    login = attempted_login()
    address = client_ip()
    if not login or not address:
        return False
    since = utcnow() - timedelta(days=config["LOGIN_TRUST_DAYS"])
    found = db.session.scalar(
        select(AuditEntry.id)
        .join(User, User.id == AuditEntry.user_id)
        .where(func.lower(User.login) == login, AuditEntry.action == "login",
               AuditEntry.ip == address, AuditEntry.at >= since)
        .limit(1))
    return found is not None


def _on_breach(scope: str) -> Callable[[RequestLimit], None]:
    def record(breach: RequestLimit) -> None:
        # Once per lock: the first refusal within the breached limit's window is written.
        window = breach.limit.get_expiry()
        if not ratelimit.allow(f"1/{window} second", "login-throttled-audit", breach.key):
            return
        audit_record("login_throttled", user=None, login=attempted_login(),
                     detail={"scope": scope, "limit": str(breach.limit)})
        db.session.commit()

    return record


def _limit(setting: str) -> Callable[[], str]:
    return lambda: current_app.config[setting]


def login_limits(view: F) -> F:
    """Put the three failed-login limits on the login view (POST only)."""
    decorators = (
        limiter.limit(_limit("LOGIN_RATE_LIMIT"), methods=["POST"], key_func=_pair_key,
                      deduct_when=_counts, on_breach=_on_breach("address_login")),
        limiter.limit(_limit("LOGIN_ADDRESS_RATE_LIMIT"), methods=["POST"],
                      key_func=_address_key, deduct_when=_counts,
                      on_breach=_on_breach("address")),
        limiter.limit(_limit("LOGIN_ACCOUNT_RATE_LIMIT"), methods=["POST"],
                      key_func=_account_key, deduct_when=_counts, exempt_when=known_place,
                      on_breach=_on_breach("login_from_unknown_places")),
    )
    wrapped: Callable[..., Any] = view
    for decorator in decorators:
        wrapped = decorator(wrapped)
    return wrapped  # type: ignore[return-value]
