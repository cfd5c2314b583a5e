"""Signed-in citizens: linking a sign-in to a visitor id, who is signed in, contacts, erasure.

CITIZEN_SIGN_IN chooses whether citizens may (``offered``) or must (``required``, to ask;
watching stays open) sign in through the bureau's identity service; ``off`` keeps everyone
anonymous. The protocol is in oidc.py; this module is what a sign-in means here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from qa_live.auth.citizen_models import (
    CitizenIdentity,
    ContactKind,
    mask_name,
    normal_email,
    normal_phone,
)
from qa_live.core.timeutil import utcnow
from qa_live.core.visitor import Visitor, current_visitor
from qa_live.extensions import db

OFF, OFFERED, REQUIRED = "off", "offered", "required"
MODES = (OFF, OFFERED, REQUIRED)
SUBJECT_MAX = 255


class SignInRefused(ValueError):
    """The identity service's answer cannot sign the citizen in; the message says why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def mode() -> str:
    """off, offered or required (CITIZEN_SIGN_IN)."""
    return current_app.config["CITIZEN_SIGN_IN"]


def sign_in_seconds() -> int:
    """How long a sign-in lasts on a device (CITIZEN_SIGN_IN_DAYS)."""
    return current_app.config["CITIZEN_SIGN_IN_DAYS"] * 24 * 3600


def may_ask(visitor: Visitor) -> bool:
    """Whether this visitor may ask: anyone, unless sign-in is required and they have none."""
    return visitor.signed_in or mode() != REQUIRED


def _subject(claims: dict[str, Any]) -> str:
    value = claims.get(current_app.config["OIDC_SUBJECT_CLAIM"])
    if isinstance(value, bool) or not isinstance(value, str | int):
        value = None
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > SUBJECT_MAX:
        raise SignInRefused(_("The identity service did not say who you are. Please try again "
                              "or ask without signing in."), "no_subject")
    return text


def _contact(claims: dict[str, Any]) -> tuple[str, ContactKind] | None:
    """The first usable contact claim, in the order OIDC_CONTACT_CLAIMS lists them."""
    for name in current_app.config["OIDC_CONTACT_CLAIMS"]:
        if name == "phone_number" and (phone := normal_phone(claims.get(name))):
            return phone, ContactKind.PHONE
        if name == "email" and (email := normal_email(claims.get(name))):
            return email, ContactKind.EMAIL
    return None


def link_identity(issuer: str, claims: dict[str, Any], device: Visitor, contact_agreed: bool,
                  now: datetime | None = None) -> CitizenIdentity:
    """Sign a citizen in: find or make their identity and update what is kept of them.

    A first sign-in keeps the device's visitor id (what they asked there stays theirs) unless
    another citizen's identity holds it; a later sign-in on any device gives that device the
    identity's visitor id. The masked name is refreshed; the contact is kept only when they
    agreed this time, and erased otherwise. Flushes; the caller commits.
    """
    now = now or utcnow()
    subject = _subject(claims)
    identity = _find(issuer, subject)
    if identity is None:
        identity = _create(issuer, subject, device, now)
    identity.display_name = mask_name(claims.get(current_app.config["OIDC_NAME_CLAIM"]))
    identity.last_signed_in_at = now
    found = _contact(claims) if contact_agreed else None
    if found:
        identity.contact, identity.contact_kind = found
        identity.contact_agreed_at = now
    else:
        identity.contact = identity.contact_kind = identity.contact_agreed_at = None
    db.session.flush()
    return identity


def _find(issuer: str, subject: str) -> CitizenIdentity | None:
    return db.session.scalar(select(CitizenIdentity).where(
        CitizenIdentity.issuer == issuer, CitizenIdentity.subject == subject))


def _create(issuer: str, subject: str, device: Visitor, now: datetime) -> CitizenIdentity:
    taken = db.session.scalar(select(CitizenIdentity.id).where(
        CitizenIdentity.visitor_id == device.id))
    identity = CitizenIdentity(issuer=issuer, subject=subject, created_at=now,
                               visitor_id=device.id if taken is None else
                               secrets.token_urlsafe(18))
    try:
        with db.session.begin_nested():
            db.session.add(identity)
    except IntegrityError:
        # The same citizen signed in from another device at this very moment: theirs wins.
        existing = _find(issuer, subject)
        if existing is None:
            raise
        return existing
    return identity


def current_citizen() -> CitizenIdentity | None:
    """The identity this request's visitor is signed in as, if any (one lookup per request)."""
    if "citizen" not in g:
        visitor = current_visitor()
        identity = (db.session.get(CitizenIdentity, visitor.citizen_id)
                    if visitor.signed_in else None)
        g.citizen = identity if identity is not None and identity.visitor_id == visitor.id \
            else None
    return g.citizen


@dataclass(frozen=True)
class SignInState:
    """What a page shows about signing in (templates/auth/_citizen.html)."""

    mode: str
    name: str = ""
    signed_in: bool = False
    contact_kept: bool = False
    provider: str = ""

    @property
    def may_ask(self) -> bool:
        """Asking is open to this visitor (sign-in not required, or done)."""
        return self.signed_in or self.mode != REQUIRED


def sign_in_state() -> SignInState:
    """The page's sign-in state; nothing is looked up when sign-in is off."""
    current = mode()
    if current == OFF:
        return SignInState(OFF)
    provider = (current_app.config["OIDC_PROVIDER_NAME"]
                or _("the province's unified identity service"))
    identity = current_citizen()
    if identity is None:
        return SignInState(current, provider=provider)
    return SignInState(current, identity.display_name, True, bool(identity.contact), provider)


def contacts_of_visitors(visitor_ids: set[str]) -> dict[str, CitizenIdentity]:
    """Signed-in citizens with a contact they agreed to, by visitor id (for the to-notify list)."""
    if not visitor_ids:
        return {}
    rows = db.session.scalars(select(CitizenIdentity).where(
        CitizenIdentity.visitor_id.in_(sorted(visitor_ids)),
        CitizenIdentity.contact.is_not(None)))
    return {row.visitor_id: row for row in rows}


def contact_of_visitor(visitor_id: str) -> CitizenIdentity | None:
    """The signed-in citizen behind a visitor id, when they left a contact."""
    return contacts_of_visitors({visitor_id}).get(visitor_id)


def purge_identities(now: datetime, days: int) -> int:
    """Erase citizens not signed in for `days` (and whose last sign-in has lapsed); return how many.

    The whole row goes: subject, masked name and contact. A device that still carries the
    visitor id keeps its questions; the next sign-in links it afresh.
    """
    cutoff = min(now - timedelta(days=days), now - timedelta(seconds=sign_in_seconds()))
    result = db.session.execute(
        delete(CitizenIdentity).where(CitizenIdentity.last_signed_in_at < cutoff)
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
