"""`flask search reindex|catch-up`: the archive's search index (qa_live/transcript/search.py)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from qa_live.transcript import search

search_cli = AppGroup("search", help="The archive's search index.")


@search_cli.command("catch-up")
def catch_up() -> None:
    """Apply the queued changes to the index now (searches do it themselves too)."""
    began = time.monotonic()
    n = search.catch_up()
    click.echo(f"{n} change(s) indexed in {time.monotonic() - began:.1f} s")


@search_cli.command("reindex")
def reindex() -> None:
    """Throw the index away and index every question and answer again."""
    began = time.monotonic()
    n = search.rebuild()
    click.echo(f"{n} text(s) indexed in {time.monotonic() - began:.1f} s")
