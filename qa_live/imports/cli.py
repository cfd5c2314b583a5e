"""`flask sessions import FILE`: record a past year's (or session's) sessions from a file."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

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
        click.echo("\t".join([s["id"], s["start"][:10], s["state"], s["title"], _(
            "%(questions)d questions, %(answers)d answers, %(second)d second replies, "
            "%(follow_ups)d follow-ups, %(visits)d participant-visits (%(how)s)",
            questions=s["questions"], answers=s["answers"], second=s["second_replies"],
            follow_ups=s["follow_ups"], visits=s["participant_visits"],
            how=_("given") if s["participants"] == "given" else _("visit rows"))]))
    t = report.totals
    if t:
        click.echo(_("total: %(sessions)d sessions, %(held)d held, %(departments)d departments "
                     "online, %(visits)d participant-visits, %(questions)d questions, %(valid)d "
                     "valid, %(answered)d answered, answer rate %(rate)s",
                     sessions=t["sessions"], held=t["held"], departments=t["departments_online"],
                     visits=t["participant_visits"], questions=t["questions"], valid=t["valid"],
                     answered=t["answered"], rate=t["answer_rate"]))
    if report.given:
        click.echo(_("participant figures given as totals (人次 and unique visitors as stated; "
                     "the year's unique visitors add them up) for: %(ids)s",
                     ids=", ".join(report.given)))
    for refusal in report.refusals:
        click.echo(_("refused: %(row)s: %(reason)s", row=refusal.row, reason=refusal.reason),
                   err=True)
    if report.refusals:
        click.echo(_("%(n)d row(s) refused: nothing was stored.", n=len(report.refusals)),
                   err=True)
    elif report.stored:
        click.echo(_("imported (import %(id)d).", id=report.import_id or 0))
    else:
        click.echo(_("dry run: nothing was stored."))
