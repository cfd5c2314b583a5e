"""Shared by the studio's tests: a live interview with its editorial staff, and the ways outside
clients reach it (the /moderation and /qa sockets, the staff API with a personal token)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from qa_live.audit.models import AuditEntry
from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.auth.services import find_user_by_login
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.planning.models import SessionState
from tests.conftest import PASSWORD

GUEST = ("王建国", "对外贸易处处长")


@pytest.fixture
def studio(make_session, make_department, make_user, make_question) -> dict[str, Any]:
    """Two live interviews of 对外贸易处 with the same staff, one of them reviewed.

    On duty in both: host1, ans1 (answerer), editor1, reviewer1, director1. editor_off holds the
    editor role but is on neither session's duty list; ans_other answers for another department.
    """
    trade = make_department("对外贸易处")
    other = make_department("财政处")
    make_user("office1", roles=[Role.OFFICE], name="局办公室")
    host = make_user("host1", roles=[Role.HOST], name="主持人")
    ans = make_user("ans1", roles=[Role.ANSWERER], departments=[trade], name="外贸处值班员")
    make_user("ans_other", roles=[Role.ANSWERER], departments=[other])
    editor = make_user("editor1", roles=[Role.EDITOR], name="文字编辑小张")
    make_user("editor_off", roles=[Role.EDITOR], name="休班编辑")
    reviewer = make_user("reviewer1", roles=[Role.REVIEWER], name="审核老赵")
    make_user("reviewer_off", roles=[Role.REVIEWER], name="休班审核")
    director = make_user("director1", roles=[Role.DIRECTOR], name="导播小孙")
    staff_ids = {"hosts": [host], "answerers": [ans], "editor_ids": [editor.id],
                 "reviewer_ids": [reviewer.id], "director_ids": [director.id]}
    start = utcnow() - timedelta(minutes=5)
    sessions = {}
    for name, reviewed in (("open", False), ("reviewed", True)):
        sessions[name] = make_session(
            title=f"民生在线访谈（{name}）", state=SessionState.LIVE, departments=[trade],
            start=start, guests=[GUEST, ("李敏", "市场秩序处副处长")], reviewed=reviewed,
            **staff_ids)
    return {"open": sessions["open"], "reviewed": sessions["reviewed"], "trade": trade,
            "make_question": make_question}


def published_question(studio: dict[str, Any], session_name: str, text: str, visitor: str):
    """A citizen's question, approved by the host (published, waiting for its answer)."""
    from qa_live.live import events, moderation

    question = studio["make_question"](studio[session_name], text, visitor=visitor)
    moderation.approve(question, find_user_by_login("host1"))
    events.commit_and_send()
    return question


def staff(app, login: str, session, joined: bool = True):
    """A staff member's /moderation socket, joined to the session's console."""
    http = app.test_client()
    http.post("/login", data={"login": login, "password": PASSWORD})
    sock = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    ack = sock.emit("join", {"session_id": session.id}, namespace="/moderation", callback=True)
    assert ack["ok"] is joined, ack
    sock.join_ack = ack  # type: ignore[attr-defined]
    return sock


def citizen(app, session):
    """A citizen's page's /qa socket, joined to the session."""
    http = app.test_client()
    http.get(f"/s/{session.slug}")
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    sock.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)
    return sock


def act(sock, event: str, **data: Any) -> dict[str, Any]:
    """Send a staff event and return its acknowledgement."""
    return sock.emit(event, data, namespace="/moderation", callback=True)


def bearer(login: str) -> dict[str, str]:
    """The Authorization header of a fresh personal API token of the login."""
    _row, secret = tokens.create_token(find_user_by_login(login), "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def api_act(app, session, login: str, name: str, body: dict[str, Any] | None = None):
    """POST /api/v1/staff/sessions/<id>/actions/<name> with the login's token."""
    return app.test_client().post(f"/api/v1/staff/sessions/{session.id}/actions/{name}",
                                  json=body if body is not None else {}, headers=bearer(login))


def received(sock, name: str, namespace: str = "/moderation") -> list[Any]:
    """What the socket received of one event name since the last call."""
    return [m["args"][0] for m in sock.get_received(namespace) if m["name"] == name]


def public(sock, type_: str | None = None) -> list[dict[str, Any]]:
    """The numbered public events a /qa socket received (of one type)."""
    return [m["args"][0] for m in sock.get_received("/qa")
            if m["name"] == "event" and (type_ is None or m["args"][0]["type"] == type_)]


def audit_of(action: str) -> list[AuditEntry]:
    """The audit entries of one action, oldest first."""
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                   .order_by(AuditEntry.id)))
