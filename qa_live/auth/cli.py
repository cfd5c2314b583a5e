"""`flask staff ...`: manage staff accounts from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from qa_live.auth import services
from qa_live.auth.models import Role
from qa_live.extensions import db

staff_cli = AppGroup("staff", help="Manage staff accounts.")


@staff_cli.command("create")
@click.argument("login")
@click.option("--name", "display_name", help="Display name (defaults to the login).")
@click.option(
    "--role", "roles", multiple=True, required=True,
    type=click.Choice([r.value for r in Role]), help="A role; repeat for several.",
)
@click.option("--department", "department_ids", multiple=True, type=int, help="Department id.")
@click.password_option(help="The initial password (asked for when not given).")
def create(login: str, display_name: str | None, roles: tuple[str, ...],
           department_ids: tuple[int, ...], password: str) -> None:
    """Create a staff account."""
    try:
        user = services.create_user(login, display_name or login, password, roles, department_ids)
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {user.login} ({', '.join(sorted(r.value for r in user.roles))})")
