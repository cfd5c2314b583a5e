"""`flask words ...`: keep the sensitive-word list from the command line (audited)."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from qa_live.extensions import db
from qa_live.live import wordlist

words_cli = AppGroup("words", help="The sensitive-word list (敏感词).")


def _login() -> str:
    """Who the audit log names for a command-line change: cli:<system user>."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


def _say(outcome: wordlist.Outcome, verb: str) -> None:
    for word in outcome.changed:
        click.echo(f"{verb}: {word}")
    for word, why in outcome.skipped:
        click.echo(f"left out: {word} ({why})", err=True)
    click.echo(f"{len(outcome.changed)} {verb}, {len(outcome.skipped)} left out")


@words_cli.command("add")
@click.argument("words", nargs=-1, required=True)
def add(words: tuple[str, ...]) -> None:
    """Add words (a variant of a word on the list counts as on it)."""
    outcome = wordlist.add_words(words, None, login=_login())
    db.session.commit()
    _say(outcome, "added")


@words_cli.command("remove")
@click.argument("words", nargs=-1, required=True)
def remove(words: tuple[str, ...]) -> None:
    """Remove words (賭博 removes 赌博)."""
    outcome = wordlist.remove_words(words, None, login=_login())
    db.session.commit()
    _say(outcome, "removed")


@words_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(path: Path) -> None:
    """Add the words of a UTF-8 file: one a line, '#' starts a comment."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException("the file must be UTF-8 text") from exc
    outcome = wordlist.import_text(text, None, filename=path.name, login=_login())
    db.session.commit()
    _say(outcome, "imported")


@words_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path),
                required=False)
def export(path: Path | None) -> None:
    """Write the list (sorted, one a line) to PATH, or to standard output."""
    text = wordlist.export_text(None, login=_login())
    db.session.commit()
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")
        click.echo(f"exported to {path}", err=True)
