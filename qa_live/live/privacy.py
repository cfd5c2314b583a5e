"""Personal data retention: citizens' phone numbers are erased after CONTACT_RETENTION_DAYS.

`flask privacy purge` (run daily from cron) erases the contact details of questions whose
session ended, or which were asked, more than that many days ago, and the identities of
citizens who signed in (subject, masked name, contact) not signed in for that long
(qa_live/auth/citizens.py); the erasure is audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import and_, or_, select, update

from qa_live.audit import services as audit
from qa_live.auth.citizens import purge_identities
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.models import Question
from qa_live.planning.models import LiveSession

privacy_cli = AppGroup("privacy", help="Citizens' personal data.")


def purge_contacts(now: datetime | None = None, days: int | None = None) -> int:
    """Erase personal data older than the retention period; return how many phone numbers."""
    return purge_personal_data(now, days)[0]


def purge_personal_data(now: datetime | None = None,
                        days: int | None = None) -> tuple[int, int]:
    """Erase phone numbers and citizens' sign-in identities past retention; return both counts."""
    now = now or utcnow()
    days = current_app.config["CONTACT_RETENTION_DAYS"] if days is None else days
    cutoff = now - timedelta(days=days)
    old_sessions = select(LiveSession.id).where(
        or_(LiveSession.ended_at < cutoff,
            and_(LiveSession.ended_at.is_(None), LiveSession.scheduled_end < cutoff)))
    result = db.session.execute(
        update(Question)
        .where(Question.phone.is_not(None), Question.phone != "",
               or_(Question.session_id.in_(old_sessions), Question.created_at < cutoff))
        .values(phone=None)
        .execution_options(synchronize_session=False)
    )
    erased = int(getattr(result, "rowcount", 0) or 0)
    identities = purge_identities(now, days)
    audit.record("privacy_purge", detail={"erased": erased, "identities_erased": identities,
                                          "retention_days": days, "cutoff": cutoff.isoformat()})
    return erased, identities


@privacy_cli.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Retention in days (default: CONTACT_RETENTION_DAYS).")
def purge(days: int | None) -> None:
    """Erase citizens' phone numbers and sign-in identities older than the retention period."""
    erased, identities = purge_personal_data(days=days)
    db.session.commit()
    click.echo(f"erased {erased} phone numbers and {identities} signed-in citizens' identities")
