"""Database connection settings that SQLAlchemy's URL cannot carry."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from qa_live.extensions import db


def configure(app: Flask) -> None:
    """Give every SQLite connection WAL, a busy timeout and foreign keys."""
    busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        if not isinstance(dbapi_conn, sqlite3.Connection):
            return
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cur.execute("PRAGMA foreign_keys = ON")
        # WAL lets readers go on while a question is being written; memory databases refuse it.
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()


def dialect_insert(connection: Connection) -> Any:
    """The INSERT with ON CONFLICT of the database in use (PostgreSQL or SQLite)."""
    name = connection.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite_dialect.insert
    raise RuntimeError(f"qa_live supports PostgreSQL and SQLite, not {name}")
