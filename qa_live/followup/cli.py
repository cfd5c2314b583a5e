"""`flask followups ...`: the overdue list for cron, and loading a year's working-day calendar."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from qa_live.extensions import db
from qa_live.followup import calendar, lists

followups_cli = AppGroup("followups", help="Follow-ups (线下落实) and the working-day calendar.")


@followups_cli.command("overdue")
@click.option("--department", "department_id", type=int, help="Only this department's.")
@click.option("--quiet", is_flag=True, help="Print nothing; only the exit status tells.")
def overdue(department_id: int | None, quiet: bool) -> None:
    """List follow-ups past their due date; exit status 1 when there are any (for cron).

    With none overdue it prints nothing and exits 0, so cron sends no mail.
    """
    today = calendar.local_today()
    rows = lists.overdue(today, department_id)
    if not quiet:
        for row in rows:
            late = (today - row.due_date).days
            department = row.department.name if row.department else "-"
            assignee = row.assignee.display_name if row.assignee else "-"
            text = " ".join(row.question.text.split())[:60]
            click.echo(f"#{row.id}\tdue {row.due_date.isoformat()} ({late}d late)\t"
                       f"{department}\t{assignee}\t{row.question.session.slug}\t{text}")
        if rows:
            click.echo(f"{len(rows)} overdue follow-up(s) on {today.isoformat()}", err=True)
    sys.exit(1 if rows else 0)


@followups_cli.command("calendar-load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True,
              help="First remove the days already kept for the years in the file.")
def calendar_load(path: Path, replace: bool) -> None:
    """Load public holidays and make-up working days from a file (see data/calendar_2026.txt)."""
    try:
        entries = calendar.parse_calendar(path.read_text(encoding="utf-8").splitlines())
    except calendar.CalendarError as exc:
        raise click.ClickException(f"{path}: {exc}") from exc
    count = calendar.load_calendar(entries, replace_years=replace)
    db.session.commit()
    years = ", ".join(str(y) for y in sorted({e.day.year for e in entries})) or "-"
    click.echo(f"{count} calendar day(s) stored for {years}")


@followups_cli.command("calendar-show")
@click.argument("year", type=int)
def calendar_show(year: int) -> None:
    """Print a year's exceptions to the Monday–Friday week: published, and the office's own."""
    from datetime import date

    office = {row.day: row for row in calendar.days_of_year(year)}
    published = calendar.published_days(date(year, 1, 1), date(year, 12, 31))
    if year not in calendar.published_years():
        click.echo(f"# {calendar.SOURCE} has no days for {year}; only the office's apply")
    for day in sorted(set(office) | set(published)):
        row = office.get(day)
        if row is not None:
            click.echo(f"{day.isoformat()}\t{row.kind.value}\t{row.name}\toffice")
        else:
            entry = published[day]
            click.echo(f"{day.isoformat()}\t{entry.kind.value}\t{entry.name}\tpublished")
