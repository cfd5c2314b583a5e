"""`flask api openapi`: write the OpenAPI document (kept in docs/openapi.json)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from qa_live.api.openapi import spec

api_cli = AppGroup("api", help="The JSON API.")


@api_cli.command("openapi")
def openapi() -> None:
    """Print the OpenAPI document as JSON."""
    click.echo(json.dumps(spec(), ensure_ascii=False, indent=2, sort_keys=True))


@api_cli.command("token")
@click.argument("login")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
def token(login: str, name: str) -> None:
    """Create a personal API token for a staff account and print it (shown once)."""
    from qa_live.auth.services import find_user_by_login
    from qa_live.auth.tokens import create_token
    from qa_live.extensions import db

    user = find_user_by_login(login)
    if user is None or not user.active:
        raise click.ClickException(f"no active staff account '{login}'")
    _row, secret = create_token(user, name[:80])
    db.session.commit()
    click.echo(secret)
