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
