"""The restore drill of docs/deployment.md ("Backups"), with a real gevent worker and a page.

Back up while the worker serves, publish more, stop the worker, restore, start it again: the
database is the backup's (what came after is gone), and a page that had applied later events
than the restored log holds loads a snapshot and follows the stream again, without a reload.
"""

from __future__ import annotations

import secrets
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests

from tests import services as outside
from tests.live_server import (  # noqa: F401 - the fixture
    ROOT,
    run_flask,
    server_env,
    start_live_server,
    start_server,
)
from tests.sio_client import Citizen

SESSION = "demo-11"  # the demo's live session


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _answer(base: str, token: str, session_id: int, question_id: int, body: str) -> None:
    reply = requests.post(f"{base}/api/v1/staff/sessions/{session_id}/actions/answer",
                          json={"question_id": question_id, "body": body},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert reply.status_code == 200, reply.text


def _wait(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _answers_stored(database: Path) -> int:
    with closing(sqlite3.connect(database)) as conn:
        return conn.execute("SELECT count(*) FROM answers").fetchone()[0]


def test_restore_drill_pages_heal_by_snapshot(start_live_server, tmp_path):
    server = start_live_server(demo=True)
    token = server.flask("api", "token", "host").stdout.strip()
    page = Citizen(server.url, SESSION)
    try:
        assert page.joined.wait(10)
        database = Path(server.env["DATABASE_URL"].removeprefix("sqlite:///"))
        with closing(sqlite3.connect(database)) as conn:
            session_id = conn.execute("SELECT id FROM live_sessions WHERE slug = ?",
                                      (SESSION,)).fetchone()[0]
        with page.lock:
            open_questions = [q for q in page.questions.values() if q["status"] == "approved"]
        assert len(open_questions) >= 1
        question = open_questions[0]["id"]
        _answer(server.url, token, session_id, question, "备份之前的答复。")
        assert _wait(lambda: page.last_seq > 0 and not page.ahead)

        made = server.flask("backup", "--to", str(tmp_path / "backups"))
        backup = Path(made.stdout.split()[0])
        assert backup.exists() and backup.suffix == ".sqlite3"
        at_backup = page.last_seq
        answers_at_backup = _answers_stored(database)

        for n in range(3):  # after the backup: these are lost by the restore
            _answer(server.url, token, session_id, question, f"备份之后的第 {n + 1} 条答复。")
        assert _wait(lambda: page.last_seq >= at_backup + 3)
        ahead_of_backup = page.last_seq

        refused = _flask(server.env, "restore", str(backup))
        assert refused.returncode != 0 and "stop them first" in refused.stderr

        server.stop()
        restored = _flask(server.env, "restore", str(backup))
        assert restored.returncode == 0, restored.stderr
        assert _answers_stored(database) == answers_at_backup

        again = start_server(server.instance_dir, env={k: server.env[k] for k in (
            "PORT", "SECRET_KEY", "DATABASE_URL", "QA_LIVE_INSTANCE_DIR")})
        try:
            # The page reconnects by itself; its last seq is beyond the restored log.
            assert _wait(lambda: page.restarts_of_log == 1 and page.joined.is_set(), 30), (
                page.restarts_of_log, page.reconnect_errors)
            assert page.last_seq == at_backup < ahead_of_backup
            _answer(again.url, token, session_id, question, "恢复之后的答复。")
            # A new event numbered at or below what the page had seen before still arrives.
            assert _wait(lambda: any(
                a["body"] == "恢复之后的答复。"
                for a in page.questions.get(question, {}).get("answers", [])))
            assert page.last_seq == at_backup + 1
        finally:
            again.stop()
    finally:
        page.hang_up()


@pytest.mark.postgres
def test_postgresql_backup_and_restore_with_pg_dump(tmp_path):
    """`flask backup` / `flask restore` on PostgreSQL: the dump put back over later changes."""
    base = outside.postgres_url()
    name = "qa_live_backup_" + secrets.token_hex(4)
    admin = urlunsplit(urlsplit(base)._replace(scheme="postgresql"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(base)._replace(path="/" + name))
    plain = urlunsplit(urlsplit(url)._replace(scheme="postgresql"))
    env = server_env(tmp_path, extra={"DATABASE_URL": url, "QA_LIVE_DEPLOYMENT": "1"})
    try:
        run_flask(env, "db", "upgrade")
        run_flask(env, "demo", "load")
        with psycopg.connect(plain) as conn:
            questions = conn.execute("SELECT count(*) FROM questions").fetchone()[0]
        assert questions > 0
        made = run_flask(env, "backup", "--to", str(tmp_path / "backups"), "--keep", "1")
        dump = Path(made.stdout.split()[0])
        assert dump.suffix == ".dump" and dump.stat().st_size > 0
        with psycopg.connect(plain) as conn:  # after the backup: lost by the restore
            conn.execute("DELETE FROM answers")
            conn.execute("DELETE FROM questions")
        run_flask(env, "restore", str(dump))  # no worker has beaten in this database
        with psycopg.connect(plain) as conn:
            assert conn.execute("SELECT count(*) FROM questions").fetchone()[0] == questions
        assert run_flask(env, "db", "current").stdout.strip()  # the schema's revision came back
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
