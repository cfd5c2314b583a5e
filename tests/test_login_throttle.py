"""Failed logins: guessing stays expensive, and a stranger cannot lock a real user out.

docs/security.md ("Failed logins") explains the limits: per address and login, per address, and
per login from places the account's owner has not logged in from before.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from qa_live.audit.models import AuditEntry
from qa_live.auth.models import Role
from qa_live.extensions import db
from tests.conftest import PASSWORD

HOME = "198.51.100.10"  # where the host usually logs in


def attempt(app, login: str, password: str, address: str) -> int:
    """One login through the form from an address; the HTTP status (302: logged in)."""
    client = app.test_client()
    response = client.post("/login", data={"login": login, "password": password},
                           environ_base={"REMOTE_ADDR": address})
    return response.status_code


def strangers(app, login: str, tries: int, network: str = "203.0.113") -> list[int]:
    """Wrong passwords for a login from many addresses, a few from each (a botnet's way)."""
    return [attempt(app, login, f"guess-{n}-xyz", f"{network}.{n // 3 + 1}")
            for n in range(tries)]


def entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))


def test_strangers_guessing_from_elsewhere_do_not_lock_out_the_host(app, make_user):
    make_user("host1", roles=[Role.HOST])
    assert attempt(app, "host1", PASSWORD, HOME) == 302  # the host's usual place
    statuses = strangers(app, "host1", 60)
    # Guessing from new places is cut off for this login once it adds up (LOGIN_ACCOUNT_...)...
    assert 429 in statuses
    assert attempt(app, "host1", "guess-again-xyz", "203.0.113.200") == 429
    scopes = {json.loads(e.detail)["scope"] for e in entries("login_throttled")}
    assert "login_from_unknown_places" in scopes
    # ...but the host, where they logged in before, is not locked out by it.
    assert attempt(app, "host1", PASSWORD, HOME) == 302


def test_on_the_office_network_others_failures_lock_out_no_one(app, make_user):
    app.config["STAFF_ALLOWED_NETWORKS"] = "10.0.0.0/8"
    make_user("host1", roles=[Role.HOST])
    statuses = strangers(app, "host1", 60, network="10.1.2")
    assert statuses.count(200) == 60  # each address is far from its own limits
    # A colleague's laptop that never logged in before gets in at once.
    assert attempt(app, "host1", PASSWORD, "10.9.9.9") == 302


def test_guessing_from_one_address_is_refused_and_audited(app, make_user):
    make_user("host1", roles=[Role.HOST])
    statuses = [attempt(app, "host1", f"guess-{n}-xyz", "203.0.113.66") for n in range(14)]
    assert statuses[:10] == [200] * 10 and set(statuses[10:]) == {429}
    # The right password from there waits too: the guesser might have found it.
    assert attempt(app, "host1", PASSWORD, "203.0.113.66") == 429
    # The audit log says who was refused, from where and why: once per lock, not per request.
    refused = entries("login_throttled")
    assert len(refused) == 1
    assert refused[0].login == "host1" and refused[0].ip == "203.0.113.66"
    assert json.loads(refused[0].detail)["scope"] == "address_login"
    assert len(entries("login_failed")) == 10
    # Another address is not affected by that one's lock.
    assert attempt(app, "host1", PASSWORD, "198.51.100.77") == 302


def test_trying_many_logins_from_one_address_is_refused(app, make_user):
    for n in range(4):
        make_user(f"staff{n}", roles=[Role.ANSWERER])
    statuses = [attempt(app, f"staff{n % 4}", f"guess-{n}-xyz", "203.0.113.99")
                for n in range(40)]
    assert statuses[:30] == [200] * 30  # no login has had ten failures from here yet
    assert set(statuses[30:]) == {429}  # LOGIN_ADDRESS_RATE_LIMIT: 30 per 5 minutes
    assert json.loads(entries("login_throttled")[-1].detail)["scope"] == "address"
