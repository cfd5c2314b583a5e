"""Which sessions citizens may see: a public session by its address, or 404."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from qa_live.extensions import db
from qa_live.planning.models import LiveSession


def get_public_session_or_404(slug: str) -> LiveSession:
    """Load a session citizens may see (anything but a draft), or 404."""
    if len(slug) > 64:
        abort(404)
    session = db.session.scalar(select(LiveSession).where(LiveSession.slug == slug))
    if session is None or not session.is_public:
        abort(404)
    return session
