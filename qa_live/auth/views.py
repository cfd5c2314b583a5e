"""Login, logout and the office's staff-account pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from wtforms import SelectChoice

from qa_live.audit import services as audit
from qa_live.auth import services, throttle
from qa_live.auth import tokens as api_tokens
from qa_live.auth.access import role_required, staff_required
from qa_live.auth.forms import (
    EditUserForm,
    LoginForm,
    PasswordResetForm,
    TokenForm,
    TokenRevokeForm,
    UserForm,
    role_choices,
)
from qa_live.auth.models import ApiToken, Department, Role, User
from qa_live.core import signals
from qa_live.core.access import require_staff_network
from qa_live.core.i18n import safe_next
from qa_live.extensions import db

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@throttle.login_limits
def login() -> ResponseReturnValue:
    """Staff login."""
    require_staff_network()
    if current_user.is_authenticated:
        return redirect(url_for("office.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.find_user_by_login(form.login.data)
        if user is not None and user.active and user.check_password(form.password.data):
            next_url = request.args.get("next")
            session.clear()  # a fresh session (and CSRF token) for the logged-in user
            login_user(user)
            services.record_login(user)
            audit.record("login", user=user, target_type="user", target_id=user.id)
            db.session.commit()
            return redirect(safe_next(next_url, url_for("office.dashboard")))
        audit.record("login_failed", user=None, login=str(form.login.data or "")[:64])
        db.session.commit()
        throttle.note_failure()
        form.password.errors.append(_("Wrong login or password."))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@staff_required
def logout() -> ResponseReturnValue:
    """End the staff session."""
    user_id = current_user.id
    audit.record("logout", target_type="user", target_id=user_id)
    db.session.commit()
    logout_user()
    signals.staff_access_revoked.send(user_id)
    flash(_("You have logged out."), "info")
    return redirect(url_for("planning.home"))


def _get_user_or_404(user_id: int) -> User:
    return db.first_or_404(select(User).where(User.id == user_id))


def _fill_choices(form: UserForm) -> None:
    form.roles.choices = role_choices()
    form.departments.choices = [
        SelectChoice(d.id, d.name)
        for d in db.session.scalars(select(Department).order_by(Department.active.desc(),
                                                                 Department.name))
    ]


@bp.get("/office/staff")
@role_required(Role.OFFICE)
def staff_list() -> ResponseReturnValue:
    """All staff accounts."""
    users = db.session.scalars(select(User).order_by(User.active.desc(), User.login)).all()
    return render_template("auth/staff_list.html", users=users)


@bp.route("/office/staff/new", methods=["GET", "POST"])
@role_required(Role.OFFICE)
def staff_new() -> ResponseReturnValue:
    """Create a staff account."""
    form = UserForm()
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            user = services.create_user(
                form.login.data, form.display_name.data, form.password.data,
                form.roles.data, form.departments.data,
            )
        except services.AccountError as exc:
            form.login.errors.append(str(exc))
        else:
            audit.record("staff_create", target_type="user", target_id=user.id,
                         detail={"login": user.login, "roles": form.roles.data})
            db.session.commit()
            flash(_("Account %(login)s created.", login=user.login), "success")
            return redirect(url_for("auth.staff_list"))
    return render_template("auth/staff_form.html", form=form, user=None)


@bp.route("/office/staff/<int:user_id>", methods=["GET", "POST"])
@role_required(Role.OFFICE)
def staff_edit(user_id: int) -> ResponseReturnValue:
    """Edit a staff account's name, roles, departments and active flag."""
    user = _get_user_or_404(user_id)
    form = EditUserForm(obj=user if request.method == "GET" else None)
    _fill_choices(form)
    if request.method == "GET":
        form.roles.data = sorted(r.value for r in user.roles)
        form.departments.data = sorted(user.department_ids)
    reset_form = PasswordResetForm(prefix="reset")
    if form.validate_on_submit():
        if user.id == current_user.id and (
            not form.active.data or Role.OFFICE.value not in form.roles.data
        ):
            flash(_("You cannot remove your own office role or deactivate yourself."), "error")
        else:
            services.update_user(
                user, form.display_name.data, form.roles.data, form.departments.data,
                form.active.data,
            )
            audit.record("staff_update", target_type="user", target_id=user.id,
                         detail={"login": user.login, "roles": form.roles.data,
                                 "departments": form.departments.data,
                                 "active": form.active.data})
            db.session.commit()
            flash(_("Account %(login)s saved.", login=user.login), "success")
            return redirect(url_for("auth.staff_list"))
    return render_template("auth/staff_form.html", form=form, user=user, reset_form=reset_form)


@bp.post("/office/staff/<int:user_id>/password")
@role_required(Role.OFFICE)
def staff_reset_password(user_id: int) -> ResponseReturnValue:
    """Set a new password for a staff account."""
    user = _get_user_or_404(user_id)
    reset_form = PasswordResetForm(prefix="reset")
    if reset_form.validate_on_submit():
        services.reset_password(user, reset_form.password.data)
        audit.record("password_reset", target_type="user", target_id=user.id,
                     detail={"login": user.login})
        db.session.commit()
        flash(_("The password of %(login)s was reset.", login=user.login), "success")
        return redirect(url_for("auth.staff_edit", user_id=user.id))
    form = EditUserForm(obj=user)
    _fill_choices(form)
    form.roles.data = sorted(r.value for r in user.roles)
    form.departments.data = sorted(user.department_ids)
    return render_template(
        "auth/staff_form.html", form=form, user=user, reset_form=reset_form
    ), 400


@bp.route("/account/tokens", methods=["GET", "POST"])
@staff_required
def tokens() -> ResponseReturnValue:
    """The user's personal API tokens: create (shown once) and revoke."""
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        _row, secret = api_tokens.create_token(current_user, form.name.data)
        db.session.commit()
        form = TokenForm(formdata=None)
    return render_template("auth/tokens.html", form=form, secret=secret,
                           tokens=api_tokens.tokens_of(current_user), revoke_form=TokenRevokeForm())


@bp.post("/account/tokens/<int:token_id>/revoke")
@staff_required
def token_revoke(token_id: int) -> ResponseReturnValue:
    """Revoke one of the user's own tokens."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    if not TokenRevokeForm().validate_on_submit():
        abort(400)
    api_tokens.revoke_token(row)
    db.session.commit()
    flash(_("The token %(name)s was revoked.", name=row.name), "success")
    return redirect(url_for("auth.tokens"))
