"""Floods are cut off without hurting other citizens; random payloads never crash a handler
or leave a half-made row."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live.commands import COMMANDS
from qa_live.live.models import Question
from qa_live.planning.models import SessionState
from tests.conftest import PASSWORD


@pytest.fixture
def live(app, make_session, make_department, make_user):
    trade = make_department("对外贸易处")
    host = make_user("host1", roles=[Role.HOST])
    return make_session(state=SessionState.LIVE, departments=[trade], hosts=[host],
                        start=utcnow() - timedelta(minutes=5))


def citizen(app, session, address="198.51.100.1"):
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = address  # the socket's handshake comes from there too
    http.get(f"/s/{session.slug}")
    return socketio.test_client(app, namespace="/qa", flask_test_client=http)


def host_socket(app, session):
    http = app.test_client()
    http.post("/login", data={"login": "host1", "password": PASSWORD})
    sock = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    sock.emit("join", {"session_id": session.id}, namespace="/moderation", callback=True)
    return sock


def test_a_flooding_socket_is_cut_off_while_others_keep_receiving(app, live):
    flooder, reader = citizen(app, live), citizen(app, live)
    for sock in (flooder, reader):
        assert sock.emit("join", {"slug": live.slug}, namespace="/qa", callback=True)["ok"]
    acks = [flooder.emit("mine", {}, namespace="/qa", callback=True) for _ in range(60)]
    limited = [a for a in acks if not a["ok"]]
    assert limited and all(a["error"] == "rate_limited" and a["message"] for a in limited)
    assert sum(a["ok"] for a in acks) <= 30  # SOCKET_EVENT_RATE_LIMIT: 30 per 10 s
    # The reader is unaffected: it asks, the host answers, the reader sees the answer.
    asked = reader.emit("ask", {"text": "泛洪期间还能正常提问吗？", "client_id": str(uuid.uuid4())},
                        namespace="/qa", callback=True)
    assert asked["ok"], asked
    host = host_socket(app, live)
    reader.get_received("/qa")
    assert host.emit("answer", {"question_id": asked["question"]["id"], "body": "可以。"},
                     namespace="/moderation", callback=True)["ok"]
    envelopes = [m["args"][0] for m in reader.get_received("/qa") if m["name"] == "event"]
    assert any(e["data"].get("answers") for e in envelopes)


def test_connections_per_address_are_limited(app, live):
    app.config["CITIZEN_CONNECTIONS_PER_IP"] = 3
    socks = [citizen(app, live, "198.51.100.7") for _ in range(3)]
    assert all(s.is_connected("/qa") for s in socks)
    assert not citizen(app, live, "198.51.100.7").is_connected("/qa")
    assert citizen(app, live, "198.51.100.8").is_connected("/qa")  # another address is fine
    socks[0].disconnect(namespace="/qa")
    assert citizen(app, live, "198.51.100.7").is_connected("/qa")


# -- fuzzing --------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**63)
    | st.floats(allow_nan=True) | st.text(max_size=600),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["slug", "last_seq", "text", "client_id", "nickname", "phone", "question_id",
          "into_id", "answer_id", "post_id", "department_id", "reason", "body", "kind",
          "pinned", "needed", "removed", "session_id", "screen", "poll_id", "option_ids",
          "question", "options", "multiple", "results"]
payloads = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6),
)


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(event=st.sampled_from(["join", "ask", "vote", "mine", "poll_answer"]), data=payloads)
def test_citizen_events_answer_random_payloads_with_an_ack(app, live, event, data):
    app.config.update(SOCKET_EVENT_RATE_LIMIT="100000/second",
                      SOCKET_IP_EVENT_RATE_LIMIT="100000/second", QUESTION_MIN_INTERVAL_S=0,
                      QUESTION_MAX_PER_VISITOR=100000)
    sock = citizen(app, live)
    sock.emit("join", {"slug": live.slug}, namespace="/qa", callback=True)
    ack = sock.emit(event, data, namespace="/qa", callback=True)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool)
    if not ack["ok"]:
        assert ack["error"] != "server_error", ack
        assert isinstance(ack["message"], str) and ack["message"]
    sock.disconnect(namespace="/qa")
    for question in db.session.scalars(select(Question)):
        assert 5 <= len(question.text) <= 500 and question.client_id and question.visitor_id


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(event=st.sampled_from(sorted(COMMANDS) + ["join", "here"]), data=payloads)
def test_staff_events_answer_random_payloads_with_an_ack(app, live, event, data):
    app.config.update(SOCKET_EVENT_RATE_LIMIT="100000/second",
                      SOCKET_IP_EVENT_RATE_LIMIT="100000/second")
    sock = host_socket(app, live)
    ack = sock.emit(event, data, namespace="/moderation", callback=True)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool)
    if not ack["ok"]:
        assert ack["error"] != "server_error", ack
        assert isinstance(ack["message"], str) and ack["message"]
    sock.disconnect(namespace="/moderation")


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=payloads, path=st.sampled_from([
    "/api/v1/sessions/{slug}/questions", "/api/v1/sessions/{slug}/questions/1/vote",
    "/api/v1/staff/sessions", "/api/v1/staff/sessions/{id}/actions/answer",
    "/api/v1/staff/sessions/{id}/actions/reject", "/api/v1/staff/sessions/{id}",
    "/api/v1/staff/sessions/{id}/actions/poll_open", "/api/v1/sessions/{slug}/polls/1/answer",
    "/api/v1/votes/1/ballot", "/api/v1/staff/votes",
]))
def test_json_endpoints_answer_random_bodies_with_an_error_object(app, live, data, path):
    app.config.update(QUESTION_MIN_INTERVAL_S=0, QUESTION_MAX_PER_VISITOR=100000)
    http = app.test_client()
    http.post("/login", data={"login": "host1", "password": PASSWORD})
    url = path.format(slug=live.slug, id=live.id)
    method = http.patch if url.endswith(f"/sessions/{live.id}") else http.post
    page = http.get("/office/")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    response = method(url, json=data, headers={"X-CSRFToken": token})
    assert response.status_code < 500, response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict)
    if response.status_code >= 400:
        assert body.get("error") and body.get("message")
