"""Citizens who signed in through the bureau's identity service (OpenID Connect).

A citizen stays anonymous unless they sign in. One who does is a row here: the identity
service's issuer and stable subject, linked to the visitor id every one of their devices takes
on when they sign in there (qa_live/core/visitor.py), so their questions are one asker's.
Only the masked name is kept, and a contact (phone or e-mail) only when they agreed to it.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from qa_live.core.timeutil import UTCDateTime, utcnow
from qa_live.extensions import Model, db


class ContactKind(enum.StrEnum):
    """How a signed-in citizen may be reached about a second reply."""

    PHONE = "phone"
    EMAIL = "email"


class CitizenIdentity(Model):
    """A citizen known to the identity service: issuer + subject -> their stable visitor id."""

    __tablename__ = "citizen_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    visitor_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Masked when stored (张**): the full name is never kept.
    display_name: Mapped[str] = mapped_column(String(40), default="")
    # Kept only while the citizen agrees (they tick the box each time they sign in).
    contact: Mapped[str | None] = mapped_column(String(254))
    contact_kind: Mapped[ContactKind | None] = mapped_column(
        db.Enum(ContactKind, native_enum=False, length=10))
    contact_agreed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_signed_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    @property
    def masked_contact(self) -> str:
        """The contact as staff see it until they choose to show it: 138****1234, z***@a.cn."""
        return mask_contact(self.contact, self.contact_kind)

    def __repr__(self) -> str:
        return f"<CitizenIdentity {self.id} {self.display_name}>"


def mask_name(name: object) -> str:
    """The name as pages show it: its first character, then stars (张三丰 -> 张**)."""
    text = " ".join(str(name or "").split())
    if not text:
        return ""
    return text[0] + "*" * min(max(len(text) - 1, 1), 3)


_PHONE_JUNK = re.compile(r"[\s\-().]")


def normal_phone(value: object) -> str | None:
    """A phone_number claim as stored: no spaces or dashes, +86 dropped from a mainland number."""
    text = _PHONE_JUNK.sub("", str(value or ""))
    if text.startswith("+86") and len(text) == 14:
        text = text[3:]
    if not re.fullmatch(r"\+?\d{5,19}", text):
        return None
    return text


def normal_email(value: object) -> str | None:
    """An email claim as stored, when it looks like an address."""
    text = str(value or "").strip()
    if len(text) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        return None
    return text


def mask_contact(contact: str | None, kind: ContactKind | None) -> str:
    """138****1234 for a phone, z***@example.cn for an address, "" for none."""
    if not contact:
        return ""
    if kind == ContactKind.EMAIL:
        local, _at, domain = contact.partition("@")
        return f"{local[:1]}***@{domain}"
    if len(contact) < 8:
        return "*" * len(contact)
    return f"{contact[:3]}****{contact[-4:]}"
