"""The staff network rule (STAFF_ALLOWED_NETWORKS), checked at the edge of every staff function.

The role decorators built on it are in qa_live/auth/access.py: core knows no roles.
"""

from __future__ import annotations

import ipaddress

from flask import abort, current_app, request
from flask_babel import gettext as _


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


def address_allowed(spec: str) -> bool:
    """Whether this request's address is in one of the comma-separated networks (empty: none)."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in _networks(spec))
