"""Access checks, done once at the edge: decorators for views and helpers that load-or-404."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from qa_live.auth.models import Role
from qa_live.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])


def _networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(part.strip(), strict=False)
            for part in spec.split(",") if part.strip()]


def staff_network_allowed() -> bool:
    """Whether this request comes from a network allowed to reach staff functions.

    STAFF_ALLOWED_NETWORKS (comma-separated CIDRs, e.g. the office network) restricts the
    login page, every staff page, the staff API and the staff socket; empty allows all.
    The address is request.remote_addr: behind nginx, set PROXY_FIX_COUNT so it is the
    client's and not the proxy's.
    """
    spec = current_app.config.get("STAFF_ALLOWED_NETWORKS", "")
    if not spec:
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in _networks(spec))


def require_staff_network() -> None:
    """Answer 403 when the request comes from outside the allowed staff networks."""
    if not staff_network_allowed():
        abort(403, description=_("Staff functions are reachable only from the office network."))


def role_required(*roles: Role | str) -> Callable[[F], F]:
    """Let the view run only for a logged-in, active staff member holding one of the roles."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            require_staff_network()
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


staff_required = role_required()
