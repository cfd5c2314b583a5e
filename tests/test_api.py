"""The JSON API: what other systems (the portal, the hotline) do through /api/v1."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qa_live.api.openapi import spec
from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live.models import Answer, Question
from qa_live.planning.models import LiveSession, SessionState
from tests.conftest import PASSWORD, _isolate_requests, config_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def live_session(make_session, make_department, make_user):
    dept = make_department("消费促进处")
    make_user("host1", roles=[Role.HOST])
    make_user("ans1", roles=[Role.ANSWERER], departments=[dept])
    return make_session(title="扩大消费", state=SessionState.LIVE, departments=[dept],
                        start=utcnow() - timedelta(minutes=5))


def bearer(user) -> dict[str, str]:
    _row, secret = tokens.create_token(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def ask_json(client, slug, **fields):
    body = {"text": "以旧换新补贴什么时候发放？", "client_id": str(uuid.uuid4())}
    body.update(fields)
    return client.post(f"/api/v1/sessions/{slug}/questions", json=body)


def test_openapi_document_matches_the_real_endpoints(app):
    documented = {(path, method) for path, ops in spec()["paths"].items() for method in ops}
    real = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                real.add((path, method.lower()))
    assert documented == real
    kept = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert kept == json.loads(json.dumps(spec())), "run: flask api openapi > docs/openapi.json"


def test_a_portal_reads_sessions_and_the_stream(client, live_session):
    listed = client.get("/api/v1/sessions").get_json()["sessions"]
    assert [s["slug"] for s in listed] == [live_session.slug]
    one = client.get(f"/api/v1/sessions/{live_session.slug}").get_json()
    assert one["session"]["title"] == "扩大消费" and "online" in one["counts"]
    snap = client.get(f"/api/v1/sessions/{live_session.slug}/stream").get_json()
    assert snap["mode"] == "snapshot" and snap["snapshot"]["seq"] == 0
    assert client.get(f"/api/v1/sessions/{live_session.slug}/stream?since=0").get_json() == {
        "mode": "replay", "events": [], "seq": 0,
        "counts": snap["snapshot"]["counts"]}
    assert client.get(f"/api/v1/sessions/{live_session.slug}/stream?since=x").status_code == 400
    assert client.get("/api/v1/sessions/nope").status_code == 404
    assert client.get("/api/v1/sessions?state=bogus").status_code == 400


def test_a_citizen_without_websockets_asks_through_json(client, live_session):
    client_id = str(uuid.uuid4())
    first = ask_json(client, live_session.slug, client_id=client_id)
    assert first.status_code == 201
    again = ask_json(client, live_session.slug, client_id=client_id)
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    assert again.get_json()["question"]["id"] == first.get_json()["question"]["id"]
    mine = client.get(f"/api/v1/sessions/{live_session.slug}/questions/mine").get_json()
    assert [q["id"] for q in mine["questions"]] == [first.get_json()["question"]["id"]]
    assert db.session.scalar(select(func.count(Question.id))) == 1


def test_a_client_without_cookies_uses_a_visitor_token(app, live_session):
    token = app.test_client().get("/api/v1/visitor").get_json()["visitor_token"]
    for _ in range(2):  # two cookie-less clients with the same token are the same visitor
        fresh = app.test_client(use_cookies=False)
        response = fresh.get(f"/api/v1/sessions/{live_session.slug}/questions/mine",
                             headers={"X-Visitor-Token": token})
        assert response.status_code == 200
    forged = app.test_client(use_cookies=False).get(
        f"/api/v1/sessions/{live_session.slug}/questions/mine",
        headers={"X-Visitor-Token": "forged.token"})
    assert forged.status_code == 401


def test_bad_json_gets_clear_errors(client, live_session):
    slug = live_session.slug
    short = ask_json(client, slug, text="短")
    assert short.status_code == 400 and "text" in short.get_json()["fields"]
    typed = ask_json(client, slug, text=["list"])
    assert typed.status_code == 400
    not_json = client.post(f"/api/v1/sessions/{slug}/questions", data="text=hello")
    assert not_json.status_code == 415 and not_json.get_json()["message"]
    array = client.post(f"/api/v1/sessions/{slug}/questions", json=[1, 2])
    assert array.status_code == 400
    assert db.session.scalar(select(func.count(Question.id))) == 0


def test_staff_token_plans_and_runs_a_session(client, live_session, make_user,
                                              make_department):
    office = make_user("office1", roles=[Role.OFFICE])
    headers = bearer(office)
    assert client.get("/api/v1/staff/me", headers=headers).get_json()["login"] == "office1"
    dept = make_department("对外贸易处")
    start = utcnow() + timedelta(days=5)
    created = client.post("/api/v1/staff/sessions", headers=headers, json={
        "title": "外贸政策", "scheduled_start": start.isoformat(),
        "scheduled_end": (start + timedelta(hours=2)).isoformat(),
        "department_ids": [dept.id], "guests": [{"name": "王处长", "title": "处长"}]})
    assert created.status_code == 201, created.get_json()
    session_id = created.get_json()["session"]["id"]
    announced = client.post(f"/api/v1/staff/sessions/{session_id}/announce", headers=headers,
                            json={})
    assert announced.get_json()["session"]["state"] == "announced"
    bad = client.post("/api/v1/staff/sessions", headers=headers, json={
        "title": "x", "scheduled_start": "tomorrow", "department_ids": "all"})
    assert bad.status_code == 400 and bad.get_json()["message"]
    assert db.session.scalar(select(func.count(LiveSession.id))) == 2


def test_staff_token_moderates_and_answers(client, live_session):
    from qa_live.auth.services import find_user_by_login

    question_id = ask_json(client, live_session.slug).get_json()["question"]["id"]
    host = bearer(find_user_by_login("host1"))
    url = f"/api/v1/staff/sessions/{live_session.id}/actions"
    assert client.post(f"{url}/approve", headers=host,
                       json={"question_id": question_id}).status_code == 200
    answerer = bearer(find_user_by_login("ans1"))
    denied = client.post(f"{url}/reject", headers=answerer,
                         json={"question_id": question_id, "reason": "spam"})
    assert denied.status_code == 403
    answered = client.post(f"{url}/answer", headers=answerer,
                           json={"question_id": question_id, "body": "本月底发放。"})
    assert answered.status_code == 200
    assert db.session.get(Answer, answered.get_json()["answer_id"]).body == "本月底发放。"
    assert client.post(f"{url}/nonsense", headers=host, json={}).status_code == 404
    console = client.get(f"/api/v1/staff/sessions/{live_session.id}", headers=answerer)
    assert console.get_json()["questions"][0]["status"] == "answered"


def test_a_revoked_or_wrong_token_is_refused(client, make_user):
    user = make_user("office1")
    row, secret = tokens.create_token(user, "portal")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 200
    tokens.revoke_token(row)
    db.session.commit()
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 401
    assert client.get("/api/v1/staff/me",
                      headers={"Authorization": "Bearer qal_nope"}).status_code == 401
    assert client.get("/api/v1/staff/me").status_code == 401


def test_a_tokens_last_use_is_kept_to_the_minute(client, make_user):
    row, secret = tokens.create_token(make_user("office1"), "portal")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 200
    db.session.refresh(row)
    first = row.last_used_at
    assert first is not None  # the tokens page shows it
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 200
    db.session.refresh(row)
    assert row.last_used_at == first  # a second call within the minute writes nothing
    row.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 200
    db.session.refresh(row)
    assert row.last_used_at > first


def test_tokens_are_made_shown_once_and_revoked_in_the_app(client, auth, make_user):
    auth.login(make_user("office1"))
    page = client.post("/account/tokens", data={"name": "门户网站"}).get_data(as_text=True)
    secret = re.search(r"qal_[A-Za-z0-9_-]+", page).group(0)
    assert client.get("/api/v1/staff/me",
                      headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert secret not in client.get("/account/tokens").get_data(as_text=True)
    token_id = re.search(r"/account/tokens/(\d+)/revoke", page).group(1)
    client.post(f"/account/tokens/{token_id}/revoke")
    assert client.get("/api/v1/staff/me",
                      headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_cookie_logins_need_the_csrf_token_for_writes(db_url, make_user):
    from qa_live import create_app

    app = create_app(config_for(db_url, WTF_CSRF_ENABLED=True))
    _isolate_requests(app)
    with app.app_context():
        make_user("office1")
        client = app.test_client()
        login_page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page)
        token = token.group(1)
        client.post("/login", data={"login": "office1", "password": PASSWORD,
                                    "csrf_token": token})
        assert client.get("/api/v1/staff/me").status_code == 200
        # Logging in starts a fresh session: the login page's token is spent.
        stale = client.post("/api/v1/staff/sessions", json={}, headers={"X-CSRFToken": token})
        assert stale.status_code == 400 and stale.get_json()["error"] == "csrf"
        page = client.get("/office/").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        no_token = client.post("/api/v1/staff/sessions", json={})
        assert no_token.status_code == 400 and no_token.get_json()["error"] == "csrf"
        with_token = client.post("/api/v1/staff/sessions", json={},
                                 headers={"X-CSRFToken": token})
        assert with_token.status_code == 400 and with_token.get_json()["error"] == "invalid"
