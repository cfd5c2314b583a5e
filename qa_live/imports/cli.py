"""`flask sessions import FILE`: record a past year's (or session's) sessions from a file."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from qa_live.extensions import db
from qa_live.imports.store import ImportReport, import_sessions

sessions_cli = AppGroup("sessions", help="Sessions: import earlier years.")


@sessions_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report; store nothing.")
@click.option("--encoding", default=None,
              help="Read the file in this encoding (utf-8 or gb18030); default: UTF-8 only.")
@click.option("--as", "login", default=None, help="The staff login the import is recorded for.")
def import_command(path: Path, dry_run: bool, encoding: str | None, login: str | None) -> None:
    """Import sessions from a JSON file (docs/imports.md), all of it or nothing."""
    from qa_live.auth.services import find_user_by_login

    actor = None
    if login is not None:
        actor = find_user_by_login(login)
        if actor is None:
            raise click.ClickException(f"no staff account '{login}'")
    report = import_sessions(path.read_bytes(), path.name, actor, dry_run=dry_run,
                             encoding=encoding)
    if report.stored:
        db.session.commit()
    else:
        db.session.rollback()
    _print(report)
    if not report.ok:
        raise SystemExit(1)


def _print(report: ImportReport) -> None:
    for s in report.sessions:
        click.echo(f"{s['id']}\t{s['start'][:10]}\t{s['state']}\t{s['title']}\t"
                   f"{s['questions']} question(s), {s['answers']} answer(s), "
                   f"{s['second_replies']} second repl(ies), {s['follow_ups']} follow-up(s), "
                   f"{s['participant_visits']} participant-visit(s) ({s['participants']})")
    t = report.totals
    if t:
        click.echo(f"total: {t['sessions']} session(s), {t['held']} held, "
                   f"{t['departments_online']} department(s) online, "
                   f"{t['participant_visits']} participant-visits, {t['questions']} question(s), "
                   f"{t['valid']} valid, {t['answered']} answered, answer rate {t['answer_rate']}")
    if report.given:
        click.echo("participant figures given as totals (人次 and unique visitors as stated; the "
                   "year's unique visitors add them up) for: " + ", ".join(report.given))
    for refusal in report.refusals:
        click.echo(f"refused: {refusal}", err=True)
    if report.refusals:
        click.echo(f"{len(report.refusals)} row(s) refused: nothing was stored.", err=True)
    elif report.stored:
        click.echo(f"imported (import {report.import_id}).")
    else:
        click.echo("dry run: nothing was stored.")
