"""Backups and restores of the database: ``flask backup`` and ``flask restore``.

- SQLite: an online copy (and a restore) through SQLite's backup API (Python's
  ``sqlite3.Connection.backup``), consistent while the worker keeps writing (WAL mode),
  written to a temporary file, checked (``PRAGMA quick_check``) and renamed into place.
- PostgreSQL: ``pg_dump --format=custom`` (its own consistent snapshot; the workers go on),
  restored with ``pg_restore --clean --if-exists --no-owner``.

Redis holds nothing to back up: the message queue, the leader lease, the summary marks and the
rate-limit counts are all rebuilt by themselves. docs/deployment.md, "Backups", gives the
schedules (cron or a systemd timer) and the restore drill that tests/test_operations.py runs.
A restore is done with every worker stopped (``restore`` refuses while a worker beats, unless
``--force``); the pages that come back hold later sequence numbers than the restored log and
load a snapshot (docs/realtime.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.engine import URL, make_url

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.worker_models import Worker

PATTERN = "qa_live-*"


@click.command("backup")
@click.option("--to", "target", default=None, type=click.Path(),
              help="A directory (made if need be; a dated file is made in it) or a file "
                   "ending in .sqlite3 or .dump; "
                   "default: backups/ in the instance folder.")
@click.option("--keep", default=0, type=int,
              help="Keep only this many backups in the directory (0: keep all).")
@with_appcontext
def backup_cli(target: str | None, keep: int) -> None:
    """Back the database up while the workers run (SQLite: backup API; PostgreSQL: pg_dump)."""
    url = make_url(str(current_app.config["SQLALCHEMY_DATABASE_URI"]))
    folder, path = _target(target, ".sqlite3" if url.get_backend_name() == "sqlite" else ".dump")
    partial = path.with_name(path.name + ".partial")
    if url.get_backend_name() == "sqlite":
        _sqlite_backup(url.database or "", partial)
    elif url.get_backend_name() == "postgresql":
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}",
              f"--dbname={_libpq(url)}"], url)
    else:
        raise click.ClickException(f"no backup for {url.get_backend_name()}")
    partial.replace(path)
    click.echo(f"{path} {path.stat().st_size} bytes")
    if keep > 0:
        for old in sorted(folder.glob(PATTERN), key=lambda p: p.stat().st_mtime)[:-keep]:
            old.unlink()
            click.echo(f"removed {old}")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Restore even though a worker seems to run.")
@with_appcontext
def restore_cli(source: str, force: bool) -> None:
    """Put a backup back in place of the database; stop every worker first."""
    url = make_url(str(current_app.config["SQLALCHEMY_DATABASE_URI"]))
    if not force:
        _refuse_if_workers_run()
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        _sqlite_restore(source, url.database or "")
    elif url.get_backend_name() == "postgresql":
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
              "--single-transaction", f"--dbname={_libpq(url)}", source], url)
    else:
        raise click.ClickException(f"no restore for {url.get_backend_name()}")
    click.echo(f"restored {source}; start the workers (pages reload what they show by themselves)")


def _refuse_if_workers_run() -> None:
    recent = utcnow() - timedelta(seconds=float(current_app.config["WORKER_DEAD_AFTER_S"]))
    running = db.session.scalar(select(func.count()).select_from(Worker).where(
        Worker.ended_at.is_(None), Worker.last_seen_at >= recent)) or 0
    db.session.rollback()
    if running:
        raise click.ClickException(
            f"{running} worker(s) wrote a heartbeat in the last "
            f"{current_app.config['WORKER_DEAD_AFTER_S']:g} s: stop them first "
            "(systemctl stop 'qa_live@*'), or use --force")


def _target(target: str | None, suffix: str) -> tuple[Path, Path]:
    name = f"qa_live-{utcnow().strftime('%Y%m%dT%H%M%SZ')}{suffix}"
    if target is None:
        folder = Path(os.environ.get("QA_LIVE_INSTANCE_DIR", "instance")) / "backups"
        path = folder / name
    elif Path(target).is_dir() or target.endswith(os.sep) or not Path(target).suffix:
        # A directory, made if need be (a file is named with its suffix: .sqlite3, .dump)
        folder = Path(target)
        path = folder / name
    else:
        path = Path(target)
        folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    return folder, path


def _sqlite_backup(database: str, target: Path) -> None:
    """SQLite's online backup, in one step: a consistent copy while others write (WAL)."""
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    if verdict != "ok":
        target.unlink(missing_ok=True)
        raise click.ClickException(f"the copy failed its check: {verdict}")


def _sqlite_restore(source: str, database: str) -> None:
    """The backup API the other way: the backup's pages written into the database through
    SQLite itself (its write-ahead log and locks kept right; a file copied over a database in
    WAL mode, or its -wal and -shm files removed under an open connection, corrupts it)."""
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    target = sqlite3.connect(database)
    try:
        if backup.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise click.ClickException(f"{source} fails SQLite's check: not restored")
        backup.backup(target)
    finally:
        target.close()
        backup.close()


def _libpq(url: URL) -> str:
    """The SQLAlchemy URL as libpq reads it (postgresql://…), without its password."""
    return url.set(drivername="postgresql", password=None).render_as_string()


def _tool(name: str) -> str:
    """pg_dump or pg_restore: PG_BIN_DIR's, else the one on PATH."""
    folder = os.environ.get("PG_BIN_DIR")
    found = str(Path(folder) / name) if folder else shutil.which(name)
    if not found or not Path(found).exists():
        raise click.ClickException(f"{name} not found: install postgresql-client (its major "
                                   "version at least the server's) or set PG_BIN_DIR")
    return found


def _run(command: list[str], url: URL) -> None:
    env = dict(os.environ)
    if url.password:  # in the environment, not on the command line (ps shows that)
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(command, capture_output=True, text=True, check=False,  # noqa: S603
                          env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise click.ClickException(f"{Path(command[0]).name} failed (exit {done.returncode})")
