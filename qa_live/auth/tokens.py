"""Personal API tokens: made and revoked by their owner, checked on every API request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select

from qa_live.auth.models import ApiToken, User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db

LAST_USE_STEP = timedelta(minutes=1)
TOKEN_PREFIX = "qal_"  # noqa: S105 - a marker that makes tokens recognisable, not a secret


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Make a token for the user; return the row and the secret, which is shown only once."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name.strip()[:64] or "token",
                   token_hash=_digest(secret), prefix=secret[:10])
    db.session.add(row)
    db.session.flush()
    return row, secret


def revoke_token(row: ApiToken) -> None:
    """Stop a token from working."""
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.flush()


def user_for_token(secret: str) -> User | None:
    """The active user behind a valid, unrevoked token (and note its use), or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    now = utcnow()
    # The tokens page shows the last use to the minute: a program calling many times a second
    # (a portal, the bench's publisher) costs no write per call, only one a minute.
    if row.last_used_at is None or now - row.last_used_at >= LAST_USE_STEP:
        row.last_used_at = now
    return row.user


def tokens_of(user: User) -> list[ApiToken]:
    """A user's tokens, newest first."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    ))
