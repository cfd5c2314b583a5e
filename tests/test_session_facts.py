"""A session's public facts (title, departments, guests, on duty, state) stay current everywhere.

Every change the office makes (updating an announced session, announcing, cancelling, renaming
a department) is published as a numbered ``session`` event: pages already joined apply it, and a
page joining on another worker gets the new facts, not the snapshot that worker had kept for the
old sequence number (qa_live/live/session_facts.py).

"Another worker" here is a second app on the same database: its own snapshot cache, as in
another process. The change is made through that app's API or office pages; the pages listen
through the first app.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask

from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live.models import QuestionStatus
from qa_live.planning.models import ModerationMode, SessionState
from tests.conftest import PASSWORD, other_app_on


@pytest.fixture
def other_app(db_url: str, app: Flask) -> Iterator[Flask]:
    """A second app on the same database file: another worker's caches."""
    yield from other_app_on(db_url)


@pytest.fixture
def people(make_department, make_user):
    trade = make_department("对外贸易处")
    market = make_department("市场秩序处")
    return {
        "trade": trade, "market": market,
        "host": make_user("host1", roles=[Role.HOST], name="主持人李明"),
        "ans": make_user("ans1", roles=[Role.ANSWERER], departments=[trade], name="值班员王芳"),
        "office": make_user("office1", roles=[Role.OFFICE]),
    }


def office_api(other: Flask, office) -> tuple:
    """The office's API client on the other app, with a bearer token."""
    _row, secret = tokens.create_token(office, "facts test")
    db.session.commit()
    return other.test_client(), {"Authorization": f"Bearer {secret}"}


def watcher(app: Flask, session, screen: bool = False, **join):
    """A page on the first app that has joined the session (projector: screen=True)."""
    # The test keeps the first app's context (and its database session) open; a worker
    # handles each request in a fresh one. End what this one read, as the worker would.
    db.session.rollback()
    http = app.test_client()
    http.get(f"/s/{session.slug}/screen" if screen else f"/s/{session.slug}")
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    ack = sock.emit("join", {"slug": session.slug, "screen": screen, **join}, namespace="/qa",
                    callback=True)
    assert ack["ok"], ack
    sock.get_received("/qa")
    return sock, ack


def session_events(sock) -> list[dict]:
    return [m["args"][0] for m in sock.get_received("/qa")
            if m["name"] == "event" and m["args"][0]["type"] == "session"]


def new_join(app: Flask, session) -> dict:
    """A page joining afresh through the first app: the facts it starts from."""
    _sock, ack = watcher(app, session, screen=True)
    return ack["snapshot"]


def names(items) -> list[str]:
    return [item["name"] for item in items]


def test_an_updated_announced_session_reaches_the_projector_and_new_joins(
        app, other_app, people, make_session):
    session = make_session(title="稳外贸政策解读", state=SessionState.ANNOUNCED,
                           departments=[people["trade"]], hosts=[people["host"]],
                           answerers=[people["ans"]], guests=[("王处长", "处长")])
    projector, ack = watcher(app, session, screen=True)
    assert ack["snapshot"]["session"]["title"] == "稳外贸政策解读"
    seq = ack["snapshot"]["seq"]

    client, headers = office_api(other_app, people["office"])
    start = utcnow() + timedelta(days=4)
    response = client.patch(f"/api/v1/staff/sessions/{session.id}", headers=headers, json={
        "title": "稳外贸稳外资政策解读", "scheduled_start": start.isoformat(),
        "scheduled_end": (start + timedelta(hours=2)).isoformat(),
        "department_ids": [people["trade"].id, people["market"].id],
        "host_ids": [people["host"].id], "answerer_ids": [],
        "guests": [{"name": "赵局长", "title": "副局长"}]})
    assert response.status_code == 200, response.get_json()

    [event] = session_events(projector)
    assert event["seq"] == seq + 1
    facts = event["data"]
    assert facts["title"] == "稳外贸稳外资政策解读"
    assert names(facts["departments"]) == ["对外贸易处", "市场秩序处"]
    assert [(g["name"], g["title"]) for g in facts["guests"]] == [("赵局长", "副局长")]
    assert facts["on_duty"] == [{"name": "主持人李明", "duty": "host"}]
    assert facts["scheduled_start"] == start.isoformat()
    # A page joining through the first app gets the new facts, not its kept snapshot.
    assert new_join(app, session)["session"] == facts


def test_cancelling_reaches_the_projector_and_new_joins(app, other_app, people, make_session):
    session = make_session(state=SessionState.ANNOUNCED, departments=[people["trade"]])
    projector, _ack = watcher(app, session, screen=True)
    client, headers = office_api(other_app, people["office"])
    response = client.post(f"/api/v1/staff/sessions/{session.id}/cancel", headers=headers,
                           json={"reason": "因故改期"})
    assert response.status_code == 200, response.get_json()
    [event] = session_events(projector)
    assert event["data"]["state"] == "cancelled"
    assert new_join(app, session)["session"]["state"] == "cancelled"


def test_announcing_reaches_the_open_console_and_the_event_log(app, other_app, people,
                                                                make_session):
    session = make_session(state=SessionState.DRAFT, departments=[people["trade"]],
                           hosts=[people["host"]])
    http = app.test_client()
    http.post("/login", data={"login": "host1", "password": PASSWORD})
    console = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    assert console.emit("join", {"session_id": session.id}, namespace="/moderation",
                        callback=True)["ok"]
    console.get_received("/moderation")

    client, headers = office_api(other_app, people["office"])
    response = client.post(f"/api/v1/staff/sessions/{session.id}/announce", headers=headers,
                           json={})
    assert response.status_code == 200, response.get_json()
    told = [m["args"][0] for m in console.get_received("/moderation") if m["name"] == "session"]
    assert [info["state"] for info in told] == ["announced"]
    # A page that knew the session at seq 0 replays the announcement.
    _sock, ack = watcher(app, session, screen=True, last_seq=0)
    assert ack["mode"] == "replay"
    assert [(e["type"], e["data"]["state"]) for e in ack["events"]] == [("session", "announced")]


def test_a_renamed_department_reaches_live_pages_and_new_joins(app, other_app, people,
                                                                make_session, make_question):
    session = make_session(state=SessionState.LIVE, departments=[people["trade"]],
                           start=utcnow() - timedelta(minutes=5),
                           moderation_mode=ModerationMode.OPEN)
    question = make_question(session, "出口退税多久能到账？")  # published at once (open mode)
    assert question.status == QuestionStatus.APPROVED
    coming = make_session(state=SessionState.ANNOUNCED,
                          departments=[people["trade"], people["market"]])
    page, ack = watcher(app, session)
    assert [q["department"] for q in ack["snapshot"]["questions"]] == ["对外贸易处"]
    projector, _ack = watcher(app, coming, screen=True)

    office = other_app.test_client()
    office.post("/login", data={"login": "office1", "password": PASSWORD})
    response = office.post(f"/office/departments/{people['trade'].id}",
                           data={"name": "对外贸易与口岸处", "short_name": "外贸处"})
    assert response.status_code == 302

    [event] = session_events(page)
    assert names(event["data"]["departments"]) == ["对外贸易与口岸处"]
    [event] = session_events(projector)  # every session naming it, each in its own stream
    assert names(event["data"]["departments"]) == ["对外贸易与口岸处", "市场秩序处"]
    snapshot = new_join(app, session)
    assert names(snapshot["session"]["departments"]) == ["对外贸易与口岸处"]
    assert [q["department"] for q in snapshot["questions"]] == ["对外贸易与口岸处"]
