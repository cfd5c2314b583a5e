"""Time helpers: the database keeps UTC; people see the configured zone (Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

DEFAULT_ZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def local_zone() -> ZoneInfo:
    """Return the zone people read times in (QA_LIVE_TIMEZONE)."""
    name = current_app.config["QA_LIVE_TIMEZONE"] if has_app_context() else DEFAULT_ZONE
    return ZoneInfo(name)


def to_local(value: datetime | None) -> datetime | None:
    """Convert an aware datetime to the local zone (None stays None)."""
    if value is None:
        return None
    return value.astimezone(local_zone())


def from_local(value: datetime) -> datetime:
    """Read a naive datetime typed by a person as local time and return it as aware UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_zone())
    return value.astimezone(UTC)


def local_year(value: datetime) -> int:
    """Return the calendar year of an aware datetime in the local zone."""
    return value.astimezone(local_zone()).year


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC on every database and returned as aware UTC.

    SQLite has no time zones and PostgreSQL's timestamptz depends on the connection's zone;
    naive UTC in both keeps SQL date arithmetic and grouping identical on the two.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)
