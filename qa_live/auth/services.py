"""Staff account operations. They change the session and flush; the caller commits."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from qa_live.auth.models import Department, Role, User
from qa_live.core import signals
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db

PASSWORD_MIN_LENGTH = 10


class AccountError(ValueError):
    """An account change that cannot be made; the message is for the user."""


def password_problem(password: str) -> str | None:
    """Say what is wrong with a new password, or None if it is acceptable."""
    from flask_babel import gettext as _

    if len(password) < PASSWORD_MIN_LENGTH:
        return _("Use at least %(n)d characters.", n=PASSWORD_MIN_LENGTH)
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        return _("Use both letters and digits.")
    if len(set(password)) < 4:
        return _("Use more different characters.")
    return None


def find_user_by_login(login: str) -> User | None:
    """Return the account with this login (case-insensitive), if any."""
    return db.session.scalar(select(User).where(func.lower(User.login) == login.strip().lower()))


def _departments(ids: Iterable[int]) -> list[Department]:
    ids = set(ids)
    if not ids:
        return []
    found = list(db.session.scalars(select(Department).where(Department.id.in_(ids))))
    if len(found) != len(ids):
        raise AccountError("unknown department")
    return found


def create_user(
    login: str,
    display_name: str,
    password: str,
    roles: Iterable[Role | str],
    department_ids: Iterable[int] = (),
) -> User:
    """Create a staff account with roles and departments."""
    login = login.strip()
    if find_user_by_login(login) is not None:
        from flask_babel import gettext as _

        raise AccountError(_("This login is already taken."))
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user = User(login=login, display_name=display_name.strip())
    user.set_password(password)
    user.set_roles({Role(r) for r in roles})
    user.departments = _departments(department_ids)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(
    user: User,
    display_name: str,
    roles: Iterable[Role | str],
    department_ids: Iterable[int],
    active: bool,
) -> User:
    """Change a staff account's name, roles, departments and active flag."""
    new_roles = {Role(r) for r in roles}
    if user.roles != new_roles or user.active != active:
        # Removing a role or deactivating ends the account's open sessions.
        user.session_epoch += 1
    user.display_name = display_name.strip()
    user.set_roles(new_roles)
    user.departments = _departments(department_ids)
    user.active = active
    db.session.flush()
    # Its consoles close; they reconnect with the new roles, or not at all.
    signals.staff_access_revoked.send(user.id)
    return user


def reset_password(user: User, password: str) -> User:
    """Set a new password and end the account's other sessions."""
    problem = password_problem(password)
    if problem:
        raise AccountError(problem)
    user.set_password(password)
    user.session_epoch += 1
    db.session.flush()
    signals.staff_access_revoked.send(user.id)
    return user


def record_login(user: User) -> None:
    """Note the time of a successful login."""
    user.last_login_at = utcnow()
    db.session.flush()
