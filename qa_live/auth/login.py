"""Flask-Login wiring: how a staff session cookie maps back to an active account."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from qa_live.extensions import db, login_manager


def init_app(app: Flask) -> None:
    """Bind Flask-Login and tell it how to load a user."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    # "strong" drops the session when the client's address/agent fingerprint changes.
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load(user_key: str):
        from qa_live.auth.models import User

        user_id, _sep, epoch = user_key.partition(":")
        if not user_id.isdigit() or not epoch.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        # A password reset or deactivation bumps the epoch, ending every older session.
        if user is None or not user.active or user.session_epoch != int(epoch):
            return None
        return user
