"""Citizen sign-in pages: begin (a form post), the identity service's callback, sign out.

No script is needed: "sign in" is a small form on the live page and the advance form
(templates/auth/_citizen.html) that posts here and is redirected to the identity service; its
callback brings the citizen back to the page they came from, signed in.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField

from qa_live.auth import citizens, oidc
from qa_live.core.i18n import safe_next
from qa_live.core.urls import public_url
from qa_live.core.visitor import current_visitor, sign_in_visitor, sign_out_visitor
from qa_live.extensions import db, limiter

bp = Blueprint("citizen", __name__, url_prefix="/citizen")


class SignInForm(FlaskForm):
    """Sign in through the identity service; optionally let the bureau keep a contact."""

    next = HiddenField()
    contact = BooleanField(_l("Also keep my phone number or e-mail from my account, so a "
                              "department can tell me when it answers later"))


class SignOutForm(FlaskForm):
    """Sign out on this device."""

    next = HiddenField()


def _next(target: str | None) -> str:
    """Where to come back to: a path on this site (no control characters), else the home page."""
    home = url_for("planning.home")
    if target and any(ord(c) < 32 or ord(c) == 127 for c in target):
        return home
    return safe_next(target, home)


def _failed(error: oidc.SignInFailed) -> ResponseReturnValue:
    back = _next(error.next_url) if error.next_url else None
    return render_template("auth/citizen_failed.html", message=error.message, code=error.code,
                           back=back), error.status, {"Cache-Control": "no-store"}


def _sign_in_limit() -> str:
    return current_app.config["CITIZEN_SIGN_IN_RATE_LIMIT"]


@bp.post("/sign-in")
@limiter.limit(_sign_in_limit)
def sign_in() -> ResponseReturnValue:
    """Begin signing in: to the identity service's page, and back to the page given in next."""
    if citizens.mode() == citizens.OFF:
        abort(404)
    form = SignInForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        return oidc.begin(public_url("citizen.callback"), _next(form.next.data),
                          bool(form.contact.data))
    except oidc.SignInFailed as exc:
        return _failed(exc)


@bp.get("/callback")
def callback() -> ResponseReturnValue:
    """The identity service sends the citizen back here: check everything, then sign in."""
    if citizens.mode() == citizens.OFF:
        abort(404)
    attempt = oidc.pending_attempt() or {}
    try:
        claims = oidc.finish()
        identity = citizens.link_identity(current_app.config["OIDC_ISSUER"], claims,
                                          current_visitor(), bool(attempt.get("contact")))
    except oidc.SignInFailed as exc:
        db.session.rollback()
        return _failed(exc)
    except citizens.SignInRefused as exc:
        db.session.rollback()
        return _failed(oidc.SignInFailed(exc.code, str(exc), 400, attempt.get("next")))
    db.session.commit()
    sign_in_visitor(identity.visitor_id, identity.id, citizens.sign_in_seconds())
    flash(_("You are signed in as %(name)s.", name=identity.display_name or _("citizen")),
          "success")
    response = redirect(_next(attempt.get("next")))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """Sign out on this device: it becomes a new anonymous visitor (a shared device forgets)."""
    form = SignOutForm()
    if not form.validate_on_submit():
        abort(400)
    if current_visitor().signed_in:
        sign_out_visitor()
        flash(_("You are signed out on this device."), "success")
    return redirect(_next(form.next.data))
