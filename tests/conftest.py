"""Shared fixtures: an app on a freshly migrated database, clients, and object factories."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

# Keep the generated secret key and databases out of the working tree.
os.environ.setdefault("QA_LIVE_INSTANCE_DIR", tempfile.mkdtemp(prefix="qa_live_test_instance_"))

import flask_migrate
import pytest
from flask import Flask, g
from sqlalchemy import text

from config import TestingConfig
from qa_live import create_app
from qa_live.auth import services as auth_services
from qa_live.auth.models import Role, User
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import events, intake, realtime
from qa_live.live.models import Question, QuestionSource
from qa_live.live.validation import QuestionInput
from qa_live.planning import services as planning_services
from qa_live.planning.models import Department, LiveSession, SessionState
from tests import services as outside
from tests.live_server import browser  # noqa: F401 - one Chromium for every browser test

PASSWORD = "correct-horse-42"


@pytest.fixture(autouse=True, scope="session")
def _password_hashes_once() -> Iterator[None]:
    """Hash and check each test password once per run, with the app's own scrypt.

    A scrypt hash or check costs about half a second on the test machines; the role matrix
    alone makes nine accounts and logs in once per case. The outcome is the same (the hash is
    werkzeug's, the check compares as werkzeug does), only not repeated.
    """
    from functools import lru_cache

    from qa_live.auth import models

    hashed = lru_cache(maxsize=64)(models.generate_password_hash)
    checked = lru_cache(maxsize=256)(models.check_password_hash)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models, "generate_password_hash", lambda password, method="scrypt":
                      hashed(password, method=method))
        patch.setattr(models, "check_password_hash", checked)
        yield


@pytest.fixture(autouse=True)
def _fresh_realtime_state() -> None:
    """Each test starts with no socket, mark or cache of an earlier test (live/realtime.py)."""
    realtime.reset()


def config_for(url: str, **overrides: object) -> type:
    """A TestingConfig subclass pointing at the given database."""
    return type("TestConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url, **overrides})


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once with Alembic; each test gets its own copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    app = create_app(config_for(f"sqlite:///{path}"))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> str:
    """The test PostgreSQL database, emptied and migrated once per run."""
    url = outside.postgres_url()
    app = create_app(config_for(url))
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


def _empty_postgres(app: Flask) -> None:
    with app.app_context():
        names = ", ".join(t.name for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A private, migrated SQLite database file for one test."""
    path = tmp_path / "qa_live.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def _isolate_requests(app: Flask) -> None:
    """Give each test request a clean `g`, as in production.

    The fixtures keep one app context open so tests can use the database; Flask reuses it
    for test requests, which would share `g` (the logged-in user, the visitor id) between
    different clients.
    """

    @app.before_request
    def _fresh_g() -> None:
        g.__dict__.clear()


def app_on(db_url: str, **overrides: object) -> Iterator[Flask]:
    """The application on ``db_url`` with these settings, inside an app context (the app
    fixture's body, for test files that need other settings)."""
    app = create_app(config_for(db_url, **overrides))
    _isolate_requests(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def other_app_on(db_url: str, **overrides: object) -> Iterator[Flask]:
    """A second application on the same database: another worker, with its own caches (no
    app context of its own: the test pushes it where it acts as that worker)."""
    other = create_app(config_for(db_url, **overrides))
    _isolate_requests(other)
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    """The application on a fresh migrated SQLite database, inside an app context."""
    yield from app_on(db_url)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_app(request: pytest.FixtureRequest, tmp_path: Path,
               sqlite_template: Path) -> Iterator[Flask]:
    """The application on SQLite and then on the real PostgreSQL server."""
    if request.param == "sqlite":
        path = tmp_path / "qa_live.sqlite3"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_migrated")
    app = create_app(config_for(url))
    if request.param == "postgresql":
        _empty_postgres(app)
    _isolate_requests(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    """A CLI runner for the app."""
    return app.test_cli_runner()


# Factories ----------------------------------------------------------------------------------

_counter = itertools.count(1)


@pytest.fixture
def make_department(app: Flask):
    """Make a department: make_department("外贸处")."""

    def make(name: str | None = None, short_name: str = "") -> Department:
        dept = planning_services.create_department(name or f"处室{next(_counter)}", short_name)
        db.session.commit()
        return dept

    return make


@pytest.fixture
def make_user(app: Flask):
    """Make a staff account: make_user("office", roles=[Role.OFFICE])."""

    def make(login: str | None = None, roles=(Role.OFFICE,), departments=(),
             password: str = PASSWORD, name: str | None = None) -> User:
        login = login or f"user{next(_counter)}"
        user = auth_services.create_user(
            login, name or login, password, roles, [d.id for d in departments]
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_session(app: Flask, make_department):
    """Make a live session in a given state: make_session(state=SessionState.ANNOUNCED)."""

    def make(title: str = "稳外贸政策解读", state: SessionState = SessionState.DRAFT,
             start: datetime | None = None, hours: float = 2, departments=None,
             hosts=(), answerers=(), precollect: bool = True, **extra) -> LiveSession:
        now = utcnow()
        start = start or now + timedelta(days=3)
        end = start + timedelta(hours=hours)
        draft = planning_services.SessionDraft(
            title=title, description="", scheduled_start=start, scheduled_end=end,
            department_ids=[d.id for d in (departments or [make_department()])],
            host_ids=[u.id for u in hosts], answerer_ids=[u.id for u in answerers],
            precollect_opens_at=(min(now, start) - timedelta(days=7)) if precollect else None,
            precollect_closes_at=start if precollect else None,
            **extra,
        )
        session = planning_services.create_session(draft, None)
        moments = {
            SessionState.ANNOUNCED: min(now, start) - timedelta(days=7),
            SessionState.LIVE: start,
            SessionState.ENDED: end,
        }
        path = {
            SessionState.DRAFT: [],
            SessionState.ANNOUNCED: [SessionState.ANNOUNCED],
            SessionState.LIVE: [SessionState.ANNOUNCED, SessionState.LIVE],
            SessionState.ENDED: [SessionState.ANNOUNCED, SessionState.LIVE, SessionState.ENDED],
            SessionState.CANCELLED: [SessionState.CANCELLED],
        }[state]
        for step in path:
            planning_services.change_state(session, step, moments.get(step, now))
        db.session.commit()
        return session

    return make


@pytest.fixture
def make_question(app: Flask):
    """Store a citizen's question through the service: make_question(session, "text")."""

    def make(session: LiveSession, text: str = "出口信用保险有没有保费补贴？",
             visitor: str = "visitor-0001-abcdef", source: QuestionSource | None = None,
             phone: str | None = None, nickname: str = "") -> Question:
        if source is None:
            source = (QuestionSource.LIVE if session.state == SessionState.LIVE
                      else QuestionSource.ADVANCE)
        question, _ = intake.submit_question(
            session, visitor,
            QuestionInput(text=text, nickname=nickname, phone=phone,
                          client_id=str(uuid.uuid4())),
            source,
        )
        events.commit_and_send()  # as every caller does: the counters are marked after it
        return question

    return make


class AuthActions:
    """Log a test client in and out as a staff member."""

    def __init__(self, client) -> None:
        self._client = client

    def login(self, user_or_login: User | str, password: str = PASSWORD):
        login = user_or_login.login if isinstance(user_or_login, User) else user_or_login
        return self._client.post("/login", data={"login": login, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    """Log the test client in as staff: auth.login(user)."""
    return AuthActions(client)
