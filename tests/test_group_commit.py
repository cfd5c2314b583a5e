"""Group commit of asks (issue 17): asks arriving together share a transaction, and still every
acknowledged question is stored, and only acknowledged once it is.

The in-process tests hold the first ask inside its transaction until the others have queued
behind it (each asker is a thread with its own page, as the threading server runs them), so the
group they form is known: then one member fails, two share a client_id, or the commit meets a
database that cannot be reached. The last tests ask through a real gevent server (wsgi.py).
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select

from qa_live.extensions import db, socketio
from qa_live.live import events, group_commit, intake, realtime
from qa_live.live.models import Question
from tests.live_server import LiveServer, start_live_server  # noqa: F401 - fixture
from tests.sio_client import Citizen, SioSocket, visitor_cookie
from tests.test_live_sockets import citizen, live_session  # noqa: F401 - the fixture

HOLD = "先到的问题"  # the text of the ask that is held inside its transaction


def _joined(app: Flask, session: Any, http: Any = None) -> Any:
    if http is None:
        sock = citizen(app, session)
    else:
        sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    assert sock.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)["ok"]
    return sock


def _ask(sock: Any, text: str, client_id: str | None = None) -> dict[str, Any]:
    ack: dict[str, Any] = sock.emit("ask", {"text": text,
                                            "client_id": client_id or str(uuid.uuid4())},
                                    namespace="/qa", callback=True)
    return ack


def _tally(name: str) -> int:
    return sum(n for (key, _labels), n in realtime.tallies.items() if key == name)


class Held:
    """Holds the ask whose text is HOLD inside its transaction until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.inside = threading.Event()
        self.release = threading.Event()
        real = intake.made

        def made(question_id: int, planned: Any) -> Any:
            told = real(question_id, planned)  # written, not committed
            if planned.values["text"] == HOLD:
                self.inside.set()
                assert self.release.wait(20)
            return told

        monkeypatch.setattr(intake, "made", made)


class Asking:
    """Asks in threads; their acks by name."""

    def __init__(self) -> None:
        self.acks: dict[str, dict[str, Any]] = {}
        self.threads: list[threading.Thread] = []

    def start(self, name: str, sock: Any, text: str, client_id: str | None = None) -> None:
        def run() -> None:
            self.acks[name] = _ask(sock, text, client_id)

        thread = threading.Thread(target=run)
        thread.start()
        self.threads.append(thread)

    def join(self) -> dict[str, dict[str, Any]]:
        for thread in self.threads:
            thread.join(30)
        return self.acks


def _queued(app: Flask, n: int) -> None:
    """Wait until n asks wait behind the one being written."""
    queue = group_commit.of_app(app)
    deadline = time.monotonic() + 20
    while len(queue.queue) < n:
        assert time.monotonic() < deadline, f"{len(queue.queue)} asks queued, not {n}"
        time.sleep(0.01)


@pytest.fixture
def held(app: Flask, live_session: Any, monkeypatch: pytest.MonkeyPatch
         ) -> Iterator[tuple[Held, Asking, Callable[[], Any]]]:
    """The first ask held in its transaction; more citizens (joined before) ask behind it.

    ``page()`` gives the next joined citizen; ``twins`` are two pages of one visitor.
    """
    pages = [_joined(app, live_session) for _ in range(8)]
    shared = app.test_client()
    shared.get(f"/s/{live_session.slug}")
    twins = [_joined(app, live_session, shared) for _ in range(2)]
    hold = Held(monkeypatch)
    asking = Asking()
    asking.start("first", _joined(app, live_session), HOLD)
    assert hold.inside.wait(20)  # joining from now on would wait for its write lock
    yield hold, asking, pages.pop, twins
    hold.release.set()
    asking.join()


def _stored_texts() -> list[str]:
    db.session.rollback()  # read what the other threads committed
    return list(db.session.scalars(select(Question.text).order_by(Question.id)))


def test_asks_arriving_while_one_is_written_share_the_next_transaction(app, held):
    hold, asking, page, _twins = held
    before_transactions, before_asks = _tally("intake_transactions"), _tally("intake_asks")
    for k in range(6):
        asking.start(f"q{k}", page(), f"排队的问题 {k}：公积金能不能提前取？")
    _queued(app, 6)
    hold.release.set()
    acks = asking.join()
    assert all(ack["ok"] and ack["duplicate"] is False for ack in acks.values()), acks
    assert len({ack["question"]["id"] for ack in acks.values()}) == 7
    # The held ask's own transaction, then one for the six that waited behind it.
    assert _tally("intake_transactions") - before_transactions == 2
    assert _tally("intake_asks") - before_asks == 7
    assert len(_stored_texts()) == 7
    metrics = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert "qa_live_intake_transactions_total" in metrics.get_data(as_text=True)


def test_an_api_ask_and_a_socket_ask_arriving_together_share_one_transaction(
        app, live_session, held):
    hold, asking, page, _twins = held
    phone = app.test_client()
    phone.get(f"/s/{live_session.slug}")
    replies: dict[str, Any] = {}

    def post() -> None:
        replies["api"] = phone.post(f"/api/v1/sessions/{live_session.slug}/questions",
                                    json={"text": "从接口提的问题：供暖费怎么算？",
                                          "client_id": str(uuid.uuid4())})

    before = _tally("intake_transactions")
    api = threading.Thread(target=post)
    api.start()
    _queued(app, 1)
    asking.start("socket", page(), "从页面提的问题：供暖什么时候开始？")
    _queued(app, 2)
    hold.release.set()
    api.join(30)
    acks = asking.join()
    assert replies["api"].status_code == 201 and acks["socket"]["ok"]
    assert _tally("intake_transactions") - before == 2  # the held one, then both together
    assert {"从接口提的问题：供暖费怎么算？", "从页面提的问题：供暖什么时候开始？"} <= set(
        _stored_texts())


def test_one_failing_ask_in_a_group_neither_loses_nor_falsely_acks_the_others(
        app, held, monkeypatch):
    hold, asking, page, _twins = held
    real_tell = intake._tell

    def tell(question: Any, now: Any) -> Any:
        if "坏" in question.text:  # fails after its row was inserted: the worst place
            raise RuntimeError("a bug met by one question")
        return real_tell(question, now)

    monkeypatch.setattr(intake, "_tell", tell)
    texts = {"a": "好问题 A：社保怎么转？", "bad": "坏问题：这条会出错", "b": "好问题 B：医保呢？",
             "c": "好问题 C：养老金呢？"}
    for name, text in texts.items():
        asking.start(name, page(), text)
    _queued(app, 4)
    hold.release.set()
    acks = asking.join()
    assert acks["bad"]["ok"] is False and acks["bad"]["error"] == "server_error"
    good = {name: ack for name, ack in acks.items() if name != "bad"}
    assert all(ack["ok"] for ack in good.values()), acks
    stored = _stored_texts()
    assert texts["bad"] not in stored  # not acknowledged, and not half-written either
    for name in ("a", "b", "c"):
        assert texts[name] in stored
    assert HOLD in stored


def test_the_same_client_id_twice_in_one_group_is_one_question(app, held):
    hold, asking, page, twins = held
    client_id = str(uuid.uuid4())
    # The same visitor twice (two tabs sending the same retry), then someone else with that id.
    asking.start("tab1", twins[0], "同一个问题", client_id)
    _queued(app, 1)
    asking.start("tab2", twins[1], "同一个问题", client_id)
    _queued(app, 2)
    asking.start("other", page(), "别人的问题", client_id)
    _queued(app, 3)
    hold.release.set()
    acks = asking.join()
    assert acks["tab1"]["ok"] and acks["tab2"]["ok"]
    assert acks["tab1"]["question"]["id"] == acks["tab2"]["question"]["id"]
    assert [acks["tab1"]["duplicate"], acks["tab2"]["duplicate"]] == [False, True]
    assert acks["other"]["ok"] is False and acks["other"]["error"] == "forbidden"
    assert _stored_texts().count("同一个问题") == 1
    assert "别人的问题" not in _stored_texts()


def test_a_group_whose_commit_cannot_reach_the_database_acknowledges_none(
        app, held, monkeypatch):
    hold, asking, page, _twins = held
    calls = []

    def commit() -> None:  # the held ask's writer has the real one already
        calls.append(1)
        raise sa_exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))

    monkeypatch.setattr(events, "commit_and_take", commit)
    for k in range(4):
        asking.start(f"q{k}", page(), f"停机时的问题 {k}")
    _queued(app, 4)
    hold.release.set()
    acks = asking.join()
    assert acks.pop("first")["ok"]
    assert all(ack["ok"] is False and ack["error"] == "unavailable" for ack in acks.values()), acks
    # Not tried again one by one against a database that is not there: one failed commit.
    assert len(calls) == 1
    assert _stored_texts() == [HOLD]


def test_an_ask_kept_waiting_too_long_is_told_to_try_again_and_not_written_later(
        app, held, monkeypatch):
    hold, asking, page, _twins = held
    monkeypatch.setattr(group_commit, "WAIT_S", 0.5)
    asking.start("late", page(), "等得太久的问题")
    _queued(app, 1)
    time.sleep(1.0)  # past WAIT_S: it has left the queue
    assert len(group_commit.of_app(app).queue) == 0
    hold.release.set()
    acks = asking.join()
    assert acks["late"]["ok"] is False and acks["late"]["error"] == "unavailable"
    assert "等得太久的问题" not in _stored_texts()


def test_an_ask_arriving_behind_a_full_queue_is_told_to_try_again_at_once(
        app, live_session, held):
    hold, asking, page, _twins = held
    app.config["INTAKE_QUEUE_MAX"] = 2
    for k in range(2):
        asking.start(f"q{k}", page(), f"排队的问题 {k}：路灯坏了找谁？")
    _queued(app, 2)
    asking.start("extra", page(), "队列满时的问题：公交线路能调整吗？")
    deadline = time.monotonic() + 10
    while "extra" not in asking.acks and time.monotonic() < deadline:
        time.sleep(0.02)
    # Answered while the first ask is still being written: not held behind the backlog.
    assert asking.acks.get("extra", {}).get("error") == "unavailable", asking.acks
    assert asking.acks["extra"]["ok"] is False and asking.acks["extra"]["message"]
    phone = app.test_client()
    phone.get(f"/s/{live_session.slug}")
    api = phone.post(f"/api/v1/sessions/{live_session.slug}/questions",
                     json={"text": "接口在队列满时提的问题", "client_id": str(uuid.uuid4())})
    assert api.status_code == 503 and api.get_json()["error"] == "unavailable"
    assert api.headers.get("Retry-After")
    assert len(group_commit.of_app(app).queue) == 2  # neither joined the queue
    metrics = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert "qa_live_intake_refused_busy_total 2.0" in metrics.get_data(as_text=True)
    hold.release.set()
    acks = asking.join()
    assert acks["q0"]["ok"] and acks["q1"]["ok"]
    stored = _stored_texts()
    assert "队列满时的问题：公交线路能调整吗？" not in stored
    assert "接口在队列满时提的问题" not in stored
    assert {"排队的问题 0：路灯坏了找谁？", "排队的问题 1：路灯坏了找谁？"} <= set(stored)


def test_an_ask_whose_events_cannot_be_sent_after_its_commit_is_still_acknowledged(
        app, live_session, monkeypatch):
    from redis.exceptions import ConnectionError as RedisDown

    sock = _joined(app, live_session)
    real_send = events._send

    def send(pending: Any) -> None:  # the message queue goes away between commit and emit
        raise RedisDown("Connection refused")

    monkeypatch.setattr(events, "_send", send)
    ack = _ask(sock, "提交之后消息队列断了：这个问题已经存进去了")
    monkeypatch.setattr(events, "_send", real_send)
    # It is in the database, so it is acknowledged (not "try again" for a stored question).
    assert ack["ok"] and ack["duplicate"] is False, ack
    assert "提交之后消息队列断了：这个问题已经存进去了" in _stored_texts()


def test_many_citizens_asking_at_once_have_every_acknowledged_question_stored(
        app, live_session):
    app.config.update(QUESTION_MIN_INTERVAL_S=0, QUESTION_MAX_PER_VISITOR=100)
    pages = [_joined(app, live_session) for _ in range(12)]
    acks: list[dict[str, Any]] = []
    lock = threading.Lock()
    start = threading.Barrier(len(pages))

    def run(n: int, sock: Any) -> None:
        start.wait()
        for k in range(8):
            ack = _ask(sock, f"第 {n} 位市民的第 {k} 个问题")
            with lock:
                acks.append(ack)

    threads = [threading.Thread(target=run, args=(n, s)) for n, s in enumerate(pages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(acks) == 96 and all(ack["ok"] for ack in acks), [a for a in acks if not a["ok"]]
    db.session.rollback()
    stored = set(db.session.scalars(select(Question.id)))
    assert {ack["question"]["id"] for ack in acks} <= stored
    assert db.session.scalar(select(func.count(Question.id))) == 96


def _metric(server: LiveServer, name: str) -> float:
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.mark.slow
def test_on_the_gevent_server_a_crowd_asking_is_grouped_and_every_ack_is_stored(
        start_live_server):
    server: LiveServer = start_live_server(demo=True, env={
        "QUESTION_MIN_INTERVAL_S": "0", "QUESTION_MAX_PER_VISITOR": "1000",
        "SOCKET_EVENT_RATE_LIMIT": "100000/10 seconds",
        "SOCKET_IP_EVENT_RATE_LIMIT": "100000/10 seconds"})
    citizens = [Citizen(server.url, "demo-11", reconnect=False) for _ in range(24)]
    try:
        assert all(c.joined.wait(20) for c in citizens)
        acks: list[dict[str, Any] | None] = []
        lock = threading.Lock()
        start = threading.Barrier(len(citizens))

        def run(n: int, page: Citizen) -> None:
            start.wait()
            for k in range(10):
                ack = page.ask(f"真服务器上第 {n} 位市民的第 {k} 个问题")
                with lock:
                    acks.append(ack)

        threads = [threading.Thread(target=run, args=(n, c)) for n, c in enumerate(citizens)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        ok = [a for a in acks if a and a.get("ok")]
        assert len(ok) == 240, [a for a in acks if not (a and a.get("ok"))][:5]
        transactions = _metric(server, "qa_live_intake_transactions_total")
        asked = _metric(server, "qa_live_intake_asks_total")
        assert asked >= 240 and transactions < asked  # some asks shared a transaction
    finally:
        for page in citizens:
            page.hang_up()
    path = server.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM questions")}
    assert {a["question"]["id"] for a in ok} <= stored


@pytest.mark.slow
def test_on_the_gevent_server_the_ack_goes_out_before_the_asks_events(start_live_server):
    server: LiveServer = start_live_server(demo=True)
    heard: list[tuple[str, bool, Any]] = []  # (event, whether its ask was answered before)
    sock: SioSocket | None = None

    def on_event(name: str, data: Any) -> None:
        if name == "mine":
            assert sock is not None
            heard.append((name, not sock._acks, data))  # the reader pops an ack when it comes

    sock = SioSocket(server.url, "/qa", visitor_cookie(server.url, "demo-11"), on_event=on_event)
    try:
        assert sock.call("join", {"slug": "demo-11"})["ok"]
        ack = sock.call("ask", {"client_id": str(uuid.uuid4()),
                                "text": "先回执后事件：这个问题的回执应先到"})
        assert ack and ack["ok"], ack
        deadline = time.monotonic() + 10
        while not heard and time.monotonic() < deadline:
            time.sleep(0.02)
        # The asker's other pages are still told, but after the ask is answered.
        assert heard, "no mine event"
        name, after_ack, data = heard[0]
        assert data["id"] == ack["question"]["id"]
        assert after_ack, "the question's event came before its acknowledgement"
    finally:
        sock.close()
