"""`flask stats refresh`: count the stored statistics again, in place."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup
from sqlalchemy import delete, select

from qa_live.extensions import db
from qa_live.planning.models import LiveSession
from qa_live.stats import refresh as counting
from qa_live.stats.models import StatsPeriod

stats_cli = AppGroup("stats", help="Statistics.")


@stats_cli.command("refresh")
@click.option("--year", type=int, default=None, help="Only this plan year (default: every year).")
def refresh(year: int | None) -> None:
    """Count every session's stored figures again (they are also kept current on their own).

    Each batch of sessions replaces its stored rows in one transaction, so pages meanwhile read
    old or new figures, never none; then the years' distinct visitors are counted again.
    """
    years = [year] if year is not None else sorted(
        db.session.scalars(select(LiveSession.plan_year).distinct()))
    for plan_year in years:
        began = time.monotonic()
        ids = counting.storable_sessions(plan_year)
        n = counting.count_sessions(ids)
        db.session.rollback()  # a new snapshot: read the years with what was just stored
        click.echo(f"{plan_year}: {n} session(s) computed and stored "
                   f"in {time.monotonic() - began:.2f} s")
    db.session.execute(delete(StatsPeriod))
    db.session.commit()
    counting.read_periods(set(years))
    db.session.rollback()
