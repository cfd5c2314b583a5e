"""Flask-Login wiring: how a staff session cookie maps back to an active account."""

from __future__ import annotations

import time

from flask import Flask, flash, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from qa_live.extensions import db, login_manager


def init_app(app: Flask) -> None:
    """Bind Flask-Login and tell it how to load a user."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "info"
    # "strong" drops the session when the client's address/agent fingerprint changes.
    login_manager.session_protection = "strong"

    @app.before_request
    def _idle_timeout() -> None:
        """Log staff out after STAFF_IDLE_MINUTES without a request (0 turns it off)."""
        if not current_user.is_authenticated:
            return
        limit = app.config["STAFF_IDLE_MINUTES"]
        now = time.time()
        last = session.get("_seen")
        if limit and isinstance(last, (int, float)) and now - last > limit * 60:
            logout_user()
            session.pop("_seen", None)
            flash(_l("You were logged out after a time without activity."), "info")
            return
        if not isinstance(last, (int, float)) or now - last > 30:  # spare cookie rewrites
            session["_seen"] = now

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
