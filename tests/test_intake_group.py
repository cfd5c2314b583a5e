"""A group of asks written in two statements (issue 17, intake17c), on SQLite and PostgreSQL.

The first ask is held inside its transaction (tests/test_group_commit.py's ``held``) while the
others queue behind it, so the group they form is known; then what the database is sent for that
group is watched, and what the citizens are told is checked against the rules a question asked
alone obeys (a visitor's pace, a client_id's owner).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from qa_live.extensions import db
from qa_live.live.models import Question
from tests.conftest import _empty_postgres, app_on
from tests.test_group_commit import _queued, _stored_texts, held  # noqa: F401 - the fixture
from tests.test_live_sockets import live_session  # noqa: F401 - the fixture


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    """The group's database: SQLite (one process writes) and PostgreSQL (the workers' one)."""
    if request.param == "sqlite":
        path = tmp_path / "qa_live.sqlite3"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    return url


@pytest.fixture
def app(db_url: str) -> Iterator[Flask]:
    """The application on that database, emptied when it is the shared PostgreSQL one."""
    made = app_on(db_url)
    flask_app = next(made)
    if db_url.startswith("postgresql"):
        _empty_postgres(flask_app)
    yield flask_app
    next(made, None)


class Statements:
    """The SQL statements the app's engine is sent (their text), from ``start()`` on."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.on = False

    def start(self) -> None:
        self.on = True

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.on:
            self.seen.append(" ".join(statement.split()).upper())

    def inserting_questions(self) -> int:
        return sum(s.startswith("INSERT INTO QUESTIONS") for s in self.seen)

    def checking(self) -> int:
        # The checks read the word list's version with the session's state (intake.checks_select).
        return sum(s.startswith("SELECT") and "WORDS_VERSION" in s for s in self.seen)


@pytest.fixture
def statements(app: Flask) -> Iterator[Statements]:
    watch = Statements()
    event.listen(db.engine, "before_cursor_execute", watch)
    yield watch
    event.remove(db.engine, "before_cursor_execute", watch)


def test_a_group_of_asks_is_checked_in_one_statement_and_inserted_in_another(
        app, held, statements):
    hold, asking, page, _twins = held
    texts = [f"同组的问题 {k}：老旧小区加装电梯怎么申请？" for k in range(6)]
    for k, text in enumerate(texts):
        asking.start(f"q{k}", page(), text)
    _queued(app, 6)
    statements.start()  # the held ask has been checked and inserted already
    hold.release.set()
    acks = asking.join()
    assert all(ack["ok"] and ack["duplicate"] is False for ack in acks.values()), acks
    assert len({ack["question"]["id"] for ack in acks.values()}) == 7
    assert set(texts) <= set(_stored_texts())
    # Six asks, one group: one statement checks them all, one INSERT writes them all (asked
    # one after another they were twelve).
    assert statements.checking() == 1, statements.seen
    assert statements.inserting_questions() == 1, statements.seen


def test_in_a_group_a_visitors_earlier_question_counts_towards_their_pace(app, held):
    hold, asking, page, twins = held
    app.config.update(QUESTION_MIN_INTERVAL_S=30)
    # One visitor's two pages ask in the same group; someone else asks between them.
    asking.start("first", twins[0], "同一位市民的第一个问题：社区食堂在哪里？")
    _queued(app, 1)
    asking.start("other", page(), "另一位市民的问题：垃圾分类几点收？")
    _queued(app, 2)
    asking.start("second", twins[1], "同一位市民马上又问：食堂几点开门？")
    _queued(app, 3)
    hold.release.set()
    acks = asking.join()
    assert acks["first"]["ok"] and acks["other"]["ok"], acks
    assert acks["second"]["ok"] is False and acks["second"]["error"] == "too_fast", acks
    assert acks["second"]["message"]
    stored = _stored_texts()
    assert "同一位市民马上又问：食堂几点开门？" not in stored
    assert "同一位市民的第一个问题：社区食堂在哪里？" in stored


def test_in_a_group_a_visitors_earlier_question_counts_towards_their_total(app, held):
    hold, asking, page, twins = held
    app.config.update(QUESTION_MIN_INTERVAL_S=0, QUESTION_MAX_PER_VISITOR=2)
    for k in range(3):
        asking.start(f"tab{k}", twins[k % 2], f"一位市民的第 {k} 个问题：停车位怎么收费？")
        _queued(app, k + 1)
    hold.release.set()
    acks = asking.join()
    assert acks["tab0"]["ok"] and acks["tab1"]["ok"], acks
    assert acks["tab2"]["ok"] is False and acks["tab2"]["error"] == "too_many_questions"
    db.session.rollback()
    mine = db.session.scalar(select(func.count(Question.id)).where(
        Question.text.like("一位市民的第 %")))
    assert mine == 2


def test_in_a_group_a_client_id_is_one_question_and_only_its_askers(app, held):
    hold, asking, page, twins = held
    client_id = str(uuid.uuid4())
    asking.start("mine", twins[0], "带编号的问题", client_id)
    _queued(app, 1)
    asking.start("theirs", page(), "别人拿同一个编号", client_id)
    _queued(app, 2)
    asking.start("again", twins[1], "带编号的问题", client_id)
    _queued(app, 3)
    asking.start("fresh", page(), "同组里另一个正常的问题")
    _queued(app, 4)
    hold.release.set()
    acks = asking.join()
    assert acks["mine"]["ok"] and acks["mine"]["duplicate"] is False
    assert acks["again"]["ok"] and acks["again"]["duplicate"] is True
    assert acks["again"]["question"]["id"] == acks["mine"]["question"]["id"]
    assert acks["again"]["question"]["text"] == "带编号的问题"
    assert acks["theirs"]["ok"] is False and acks["theirs"]["error"] == "forbidden"
    assert acks["fresh"]["ok"]
    stored = _stored_texts()
    assert stored.count("带编号的问题") == 1 and "别人拿同一个编号" not in stored
    assert "同组里另一个正常的问题" in stored
