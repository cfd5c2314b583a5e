"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

from qa_live.extensions import db
from qa_live.transcript.search import include_object


def _differences(app: Flask) -> list:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True,
                        "include_object": include_object})
        return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_the_models(any_db_app):
    assert _differences(any_db_app) == []


def test_every_migration_goes_down_and_up_again(app):
    tables = set(inspect(db.engine).get_table_names())
    assert {"live_sessions", "questions", "session_events", "visits"} <= tables
    flask_migrate.downgrade(revision="base")
    db.engine.dispose()
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    flask_migrate.upgrade()
    db.engine.dispose()
    assert _differences(app) == []
