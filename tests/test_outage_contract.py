"""Every HTTP route and every socket event answers on-contract while PostgreSQL or Redis is down.

The app talks to the real test PostgreSQL and Redis through a relay (tests/tcp_cut.py) that the
test cuts: connections reset, new ones refused, as when the server stops. Then every route of
the URL map (every method, staff logged in) and every socket event of /qa and /moderation is
tried, and each must answer as docs/api.md and docs/realtime.md say: the retryable
``unavailable`` (HTTP 503 with Retry-After, a socket acknowledgement with that code, a refused
connect with it), or an answer that needed neither; never a 500, ``server_error``, a missing
acknowledgement or a traceback in the log (issue 18: votes answered 500 while Redis was down).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask

from qa_live import create_app
from qa_live.auth.models import Role
from qa_live.auth.tokens import create_token
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import answers, commands
from qa_live.live import services as live
from qa_live.live.models import QuestionStatus
from qa_live.planning.models import SessionState
from tests import services as outside
from tests.conftest import PASSWORD, _empty_postgres, _isolate_requests, config_for
from tests.tcp_cut import Relay

pytestmark = [pytest.mark.postgres]


def _through(url: str, relay: Relay) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{relay.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _relay_for(url: str) -> Relay:
    parts = urlsplit(url)
    return Relay(parts.hostname or "127.0.0.1", parts.port or 5432)


@pytest.fixture
def relays(postgres_migrated: str) -> Iterator[dict[str, Relay]]:
    """A relay to the test PostgreSQL, and one to Redis when there is a test Redis."""
    made = {"postgres": _relay_for(postgres_migrated)}
    try:
        made["redis"] = _relay_for(outside.redis_url())
    except pytest.skip.Exception:
        if outside.strict():
            raise
    yield made
    for relay in made.values():
        relay.cut()


@pytest.fixture
def app(postgres_migrated: str, relays: dict[str, Relay]) -> Iterator[Flask]:
    """The app on PostgreSQL (and Redis for limits) through the relays."""
    # The sweep sends every console command once per socket: more than a person's pace allows.
    extra: dict[str, Any] = {"SOCKET_EVENT_RATE_LIMIT": "1000/second",
                             "SOCKET_IP_EVENT_RATE_LIMIT": "1000/second"}
    if "redis" in relays:
        extra["RATELIMIT_STORAGE_URI"] = _through(outside.redis_url(), relays["redis"])
    app = create_app(config_for(_through(postgres_migrated, relays["postgres"]), **extra))
    _empty_postgres(app)
    _isolate_requests(app)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


class World:
    """What exists before the outage: a live session, a question with an answer, staff."""

    def __init__(self, app: Flask, make_session: Any, make_department: Any, make_user: Any,
                 make_question: Any) -> None:
        self.department = make_department("对外贸易处")
        self.office = make_user("office1", roles=[Role.OFFICE, Role.HOST],
                                departments=[self.department])
        self.session = make_session(title="停机演练", state=SessionState.LIVE,
                                    departments=[self.department], hosts=[self.office],
                                    start=utcnow() - timedelta(minutes=5))
        self.question = make_question(self.session)
        live.set_question_status(self.question, QuestionStatus.APPROVED)
        self.answer = answers.publish_answer(self.question, self.office, "可以申请补贴。")
        self.token = create_token(self.office, "outage test")[1]
        db.session.commit()
        self.staff_http = app.test_client()
        assert self.staff_http.post("/login", data={"login": "office1",
                                                    "password": PASSWORD}).status_code == 302
        self.values = {
            "answer_id": self.answer.id, "code": "en", "day": "2026-10-01",
            "department_id": self.department.id, "filename": "js/live.js", "fmt": "csv",
            "follow_up_id": 1, "kind": "answer", "item_id": self.answer.id, "month": 1,
            "question_id": self.question.id, "session_id": self.session.id,
            "slug": self.session.slug, "table": "sessions", "token": "abc", "token_id": 999999,
            "user_id": 999999, "word_id": 1, "year": utcnow().year,
            # the phone's display mode, the studio's media, polls and votes (ids need not exist:
            # an outage must be answered on contract before anything is looked up)
            "mode": "elder", "key": "none.jpg", "photo_id": 1, "material_id": 1, "poll_id": 1,
        }
        self.citizen_http = app.test_client()
        self.citizen_http.get(f"/s/{self.session.slug}").close()

    def sockets(self, app: Flask) -> tuple[Any, Any]:
        """A citizen's page and the office's console, joined."""
        page = socketio.test_client(app, namespace="/qa", flask_test_client=self.citizen_http)
        assert page.emit("join", {"slug": self.values["slug"]}, namespace="/qa",
                         callback=True)["ok"]
        console = socketio.test_client(app, namespace="/moderation",
                                       flask_test_client=self.staff_http)
        assert console.emit("join", {"session_id": self.values["session_id"]},
                            namespace="/moderation", callback=True)["ok"]
        return page, console


@pytest.fixture
def world(app, make_session, make_department, make_user, make_question) -> World:
    return World(app, make_session, make_department, make_user, make_question)


def _requests(app: Flask, world: World) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every route and method of the URL map, with its arguments filled in."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/socket.io") or rule.rule == "/logout":
            continue  # logging out is tried last, on its own
        names: list[str | None] = (list(sorted(commands.COMMANDS))
                                   if "name" in rule.arguments else [None])
        for name in names:
            values = {arg: world.values[arg] for arg in rule.arguments if arg != "name"}
            if name is not None:
                values["name"] = name
            path = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                kwargs: dict[str, Any] = {}
                if path.startswith("/api/"):
                    kwargs["json"] = {"question_id": world.values["question_id"],
                                      "body": "答复内容"}
                    if "/staff/" in path or "/stats/" in path:
                        kwargs["headers"] = {"Authorization": f"Bearer {world.token}"}
                yield method, path, kwargs


def _sweep_routes(app: Flask, world: World) -> tuple[dict[str, int], list[str]]:
    """Try every route; the statuses seen, and what was off-contract."""
    seen: dict[str, int] = {}
    wrong = []
    for method, path, kwargs in _requests(app, world):
        client = world.citizen_http if path.startswith("/api/v1/sessions") else world.staff_http
        reply = client.open(path, method=method, **kwargs)
        reply.close()
        seen[str(reply.status_code)] = seen.get(str(reply.status_code), 0) + 1
        body = reply.get_json(silent=True) if reply.is_json else None
        if reply.status_code >= 500:
            if reply.status_code != 503 or reply.headers.get("Retry-After") is None:
                wrong.append(f"{method} {path}: {reply.status_code}")
            elif path.startswith("/api/") and (body or {}).get("error") != "unavailable":
                wrong.append(f"{method} {path}: 503 with {body}")
        elif isinstance(body, dict) and body.get("error") in ("500", "server_error"):
            wrong.append(f"{method} {path}: {reply.status_code} {body}")
    return seen, wrong


EVENTS_QA = {
    "join": lambda w: {"slug": w.values["slug"]},
    "ask": lambda w: {"text": "停机的时候还能提问吗？",
                      "client_id": "c0ffee00-0000-4000-8000-000000000001"},
    "vote": lambda w: {"question_id": w.values["question_id"]},
    "mine": lambda w: {},
}


def _staff_payload(world: World) -> dict[str, Any]:
    ids = world.values
    return {"question_id": ids["question_id"], "question_ids": [ids["question_id"]],
            "body": "答复内容", "kind": "notice", "reason": "spam", "text": "答复内容",
            "answer_id": ids["answer_id"], "into_id": ids["question_id"],
            "department_id": ids["department_id"], "session_id": ids["session_id"]}


def _sweep_events(world: World, page: Any, console: Any) -> list[str]:
    wrong = []
    for name, make in EVENTS_QA.items():
        ack = page.emit(name, make(world), namespace="/qa", callback=True)
        if not isinstance(ack, dict) or ack.get("error") != "unavailable":
            wrong.append(f"/qa {name}: {ack}")
    for name in ["join", "here", *sorted(commands.COMMANDS)]:
        ack = console.emit(name, _staff_payload(world), namespace="/moderation", callback=True)
        if not isinstance(ack, dict) or ack.get("error") != "unavailable":
            wrong.append(f"/moderation {name}: {ack}")
    return wrong


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.exc_info or r.levelno >= logging.ERROR]


def test_with_postgresql_down_every_route_and_event_says_try_again(
        app, world, relays, caplog):
    page, console = world.sockets(app)
    relays["postgres"].cut()
    caplog.clear()
    seen, wrong = _sweep_routes(app, world)
    wrong += _sweep_events(world, page, console)
    # New sockets while it is down: a citizen may connect (nothing read yet) and is told to
    # try again when joining; a console's connect needs the account, and is refused saying so.
    late = socketio.test_client(app, namespace="/qa", flask_test_client=world.citizen_http)
    joined = late.emit("join", {"slug": world.values["slug"]}, namespace="/qa", callback=True)
    refused = socketio.test_client(app, namespace="/moderation",
                                   flask_test_client=world.staff_http)
    for sock, namespace in ((page, "/qa"), (console, "/moderation"), (late, "/qa")):
        sock.disconnect(namespace=namespace)  # leaving while it is down
    print(f"\nstatuses with PostgreSQL down: {seen}")
    assert not wrong, "\n".join(wrong)
    assert seen.get("503", 0) > 50
    assert joined["error"] == "unavailable"
    assert not refused.is_connected("/moderation")
    logout = world.staff_http.post("/logout")
    assert logout.status_code == 503 and logout.headers["Retry-After"]
    assert _tracebacks(caplog) == []
    relays["postgres"].mend()
    assert world.staff_http.get("/api/v1/staff/me").status_code == 200  # and back by itself


@pytest.mark.redis
def test_with_redis_down_every_route_and_event_answers_on_contract(app, world, relays, caplog):
    if "redis" not in relays:
        outside.redis_url()  # skips, saying why
    page, console = world.sockets(app)
    relays["redis"].cut()
    caplog.clear()
    # The vote first: the sweeps below end the session ("end" is a staff action).
    vote = page.emit("vote", {"question_id": world.values["question_id"]}, namespace="/qa",
                     callback=True)
    wrong = []
    for name, make in EVENTS_QA.items():
        ack = page.emit(name, make(world), namespace="/qa", callback=True)
        if not isinstance(ack, dict) or ack.get("error") == "server_error":
            wrong.append(f"/qa {name}: {ack}")
    for name in ["join", "here", *sorted(commands.COMMANDS)]:
        ack = console.emit(name, _staff_payload(world), namespace="/moderation", callback=True)
        if not isinstance(ack, dict) or ack.get("error") == "server_error":
            wrong.append(f"/moderation {name}: {ack}")
    seen, more = _sweep_routes(app, world)
    wrong += more
    # The registry of staff sockets (in the message queue's Redis) is down too: a console
    # still opens, and logging out still logs out and closes this worker's console.
    app.config["SOCKETIO_MESSAGE_QUEUE"] = app.config["RATELIMIT_STORAGE_URI"]
    late = socketio.test_client(app, namespace="/moderation",
                                flask_test_client=world.staff_http)
    opened = late.is_connected("/moderation")
    logout = world.staff_http.post("/logout")
    print(f"\nstatuses with Redis down: {seen}")
    assert not wrong, "\n".join(wrong)
    assert vote["error"] == "unavailable"  # its limit lives in Redis: 500 before issue 12
    assert opened and logout.status_code == 302
    assert not late.is_connected("/moderation") and not console.is_connected("/moderation")
    assert _tracebacks(caplog) == []
