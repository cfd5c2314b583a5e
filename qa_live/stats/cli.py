"""`flask stats refresh`: throw stored statistics away and compute them again."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup
from sqlalchemy import select

from qa_live.extensions import db
from qa_live.planning.models import LiveSession
from qa_live.stats import queries, stored

stats_cli = AppGroup("stats", help="Statistics.")


@stats_cli.command("refresh")
@click.option("--year", type=int, default=None, help="Only this plan year (default: every year).")
def refresh(year: int | None) -> None:
    """Recompute the stored per-session figures (they are also refreshed on their own)."""
    years = [year] if year is not None else sorted(
        db.session.scalars(select(LiveSession.plan_year).distinct()))
    ids = None
    if year is not None:
        ids = list(db.session.scalars(select(LiveSession.id)
                                      .where(LiveSession.plan_year == year)))
    forgotten = stored.forget(ids)
    click.echo(f"forgot the stored figures of {forgotten} session(s)")
    for plan_year in years:
        began = time.monotonic()
        db.session.rollback()  # a new snapshot: see what was just forgotten
        summary = queries.summarize(queries.Scope.year(plan_year))
        click.echo(f"{plan_year}: {summary.sessions_planned} session(s) computed and stored "
                   f"in {time.monotonic() - began:.2f} s")
