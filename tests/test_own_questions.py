"""A citizen changes or withdraws their own question while it waits for review.

The same operation whatever the way in: the /qa socket, the JSON API, the plain forms of the
live page and the private link. A withdrawn question counts nowhere (docs/metrics.md).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qa_live.audit.models import AuditEntry
from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import counters, moderation
from qa_live.live.models import Question, QuestionStatus
from qa_live.planning.models import SessionState
from qa_live.stats import grouped
from tests.conftest import PASSWORD

TEXT = "出口信用保险有没有保费补贴？"
BETTER = "小微外贸企业的出口信用保险有没有保费补贴？怎么申请？"


@pytest.fixture
def people(make_department, make_user):
    trade = make_department("对外贸易处")
    return {"trade": trade, "host": make_user("host1", roles=[Role.HOST]),
            "answerer": make_user("ans1", roles=[Role.ANSWERER], departments=[trade])}


@pytest.fixture
def live_session(make_session, people):
    return make_session(title="稳外贸", state=SessionState.LIVE, departments=[people["trade"]],
                        hosts=[people["host"]], answerers=[people["answerer"]],
                        start=utcnow() - timedelta(minutes=5))


def phone(app, session):
    """A citizen's phone: the page (and its visitor cookie), then the socket, joined."""
    http = app.test_client()
    http.get(f"/s/{session.slug}")
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    sock.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)
    return http, sock


def console(app, session, login="host1"):
    http = app.test_client()
    http.post("/login", data={"login": login, "password": PASSWORD})
    sock = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    sock.emit("join", {"session_id": session.id}, namespace="/moderation", callback=True)
    sock.get_received("/moderation")
    return sock


def ask(sock, text=TEXT):
    ack = sock.emit("ask", {"text": text, "client_id": str(uuid.uuid4())}, namespace="/qa",
                    callback=True)
    assert ack["ok"], ack
    return ack["question"]


def received(sock, name, namespace):
    return [m["args"][0] for m in sock.get_received(namespace) if m["name"] == name]


# Over the socket ---------------------------------------------------------------------------------


def test_the_asker_rewords_a_pending_question_and_the_console_sees_the_new_text(
        app, live_session):
    _http, sock = phone(app, live_session)
    question = ask(sock)
    desk = console(app, live_session)
    ack = sock.emit("edit", {"question_id": question["id"], "text": f"  {BETTER}  "},
                    namespace="/qa", callback=True)
    assert ack["ok"] and ack["question"]["original_text"] == BETTER
    stored = db.session.get(Question, question["id"])
    db.session.refresh(stored)
    assert stored.original_text == BETTER and stored.text == BETTER
    seen = received(desk, "question", "/moderation")
    assert seen and seen[-1]["id"] == question["id"] and seen[-1]["original_text"] == BETTER
    mine = received(sock, "mine", "/qa")
    assert mine[-1]["original_text"] == BETTER
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "question.edited_by_asker"))
    assert entry is not None and entry.target_id == question["id"]


def test_a_withdrawn_question_is_gone_everywhere_and_counts_nowhere(app, live_session):
    _http, sock = phone(app, live_session)
    kept = ask(sock)
    app.config["QUESTION_MIN_INTERVAL_S"] = 0
    gone = ask(sock, BETTER)
    desk = console(app, live_session)
    before = counters.counts(live_session.id, staff=True)
    assert before["questions"] == 2 and before["pending"] == 2

    ack = sock.emit("withdraw", {"question_id": gone["id"]}, namespace="/qa", callback=True)
    assert ack == {"ok": True, "id": gone["id"]}
    assert db.session.get(Question, gone["id"]) is None
    assert received(desk, "question.withdrawn", "/moderation") == [{"id": gone["id"]}]
    assert {"id": gone["id"], "session_id": live_session.id} in received(
        sock, "mine.withdrawn", "/qa")
    after = counters.counts(live_session.id, staff=True)
    assert after["questions"] == 1 and after["pending"] == 1
    counts = grouped.question_counts([live_session.id])
    assert sum(c.asked for c in counts.values()) == 1
    assert sum(c.valid for c in counts.values()) == 1
    mine = sock.emit("mine", {}, namespace="/qa", callback=True)
    assert [q["id"] for q in mine["questions"]] == [kept["id"]]
    entry = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "question.withdrawn_by_asker"))
    assert entry is not None and entry.target_id == gone["id"] and TEXT not in entry.detail


def test_once_reviewed_a_question_can_no_longer_be_changed(app, live_session, people):
    _http, sock = phone(app, live_session)
    question = ask(sock)
    moderation.approve(db.session.get(Question, question["id"]), people["host"])
    db.session.commit()
    edit = sock.emit("edit", {"question_id": question["id"], "text": BETTER}, namespace="/qa",
                     callback=True)
    withdraw = sock.emit("withdraw", {"question_id": question["id"]}, namespace="/qa",
                         callback=True)
    assert edit["ok"] is False and edit["error"] == "not_pending"
    assert withdraw["ok"] is False and withdraw["error"] == "not_pending"
    stored = db.session.get(Question, question["id"])
    assert stored is not None and stored.text == TEXT and stored.status == QuestionStatus.APPROVED


def test_nobody_else_can_change_or_withdraw_a_question(app, live_session):
    _http, sock = phone(app, live_session)
    question = ask(sock)
    _other_http, other = phone(app, live_session)
    edit = other.emit("edit", {"question_id": question["id"], "text": BETTER}, namespace="/qa",
                      callback=True)
    withdraw = other.emit("withdraw", {"question_id": question["id"]}, namespace="/qa",
                          callback=True)
    assert edit["error"] == "forbidden" and withdraw["error"] == "forbidden"
    assert db.session.scalar(select(func.count(Question.id))) == 1


@pytest.mark.parametrize("payload, error", [
    ({"question_id": "1", "text": BETTER}, "invalid"),
    ({"text": BETTER}, "invalid"),
    ({"question_id": 999999, "text": BETTER}, "not_found"),
    ({"question_id": None, "text": BETTER}, "invalid"),
])
def test_bad_edit_payloads_get_a_clear_error(app, live_session, payload, error):
    _http, sock = phone(app, live_session)
    ask(sock)
    ack = sock.emit("edit", payload, namespace="/qa", callback=True)
    assert ack["ok"] is False and ack["error"] == error and ack["message"]


@pytest.mark.parametrize("text", ["短", "", None, 12345, "x" * 5000])
def test_a_bad_new_wording_is_refused_and_the_old_one_kept(app, live_session, text):
    _http, sock = phone(app, live_session)
    question = ask(sock)
    ack = sock.emit("edit", {"question_id": question["id"], "text": text}, namespace="/qa",
                    callback=True)
    assert ack["ok"] is False and ack["error"] == "invalid" and ack["fields"]["text"]
    assert db.session.get(Question, question["id"]).original_text == TEXT


def test_after_the_session_ends_nothing_can_be_changed(app, live_session, people):
    _http, sock = phone(app, live_session)
    question = ask(sock)
    moderation.end_session(live_session, people["host"])
    db.session.commit()
    ack = sock.emit("withdraw", {"question_id": question["id"]}, namespace="/qa", callback=True)
    assert ack["ok"] is False and ack["error"] == "not_open"


# The JSON API ----------------------------------------------------------------------------------


def test_the_api_edits_and_withdraws_with_the_visitor_token(app, live_session):
    api = app.test_client()
    token = api.get("/api/v1/visitor").get_json()["visitor_token"]
    headers = {"X-Visitor-Token": token}
    asked = api.post(f"/api/v1/sessions/{live_session.slug}/questions", headers=headers,
                     json={"text": TEXT, "client_id": str(uuid.uuid4())}).get_json()["question"]
    path = f"/api/v1/sessions/{live_session.slug}/questions/{asked['id']}"
    edited = api.patch(path, headers=headers, json={"text": BETTER})
    assert edited.status_code == 200 and edited.get_json()["question"]["original_text"] == BETTER
    stranger = app.test_client().delete(path, json={})
    assert stranger.status_code == 403 and stranger.get_json()["error"] == "forbidden"
    assert api.patch(path, headers=headers, json={"text": "短"}).status_code == 400
    gone = api.delete(path, headers=headers, json={})
    assert gone.status_code == 200 and gone.get_json() == {"id": asked["id"], "withdrawn": True}
    again = api.delete(path, headers=headers, json={})
    assert again.status_code == 404 and again.get_json()["error"] == "not_found"


def test_the_api_refuses_a_question_of_another_session(app, live_session, make_session,
                                                        people):
    other = make_session(title="别的专场", state=SessionState.LIVE,
                         departments=[people["trade"]], start=utcnow() - timedelta(minutes=1))
    api = app.test_client()
    asked = api.post(f"/api/v1/sessions/{live_session.slug}/questions",
                     json={"text": TEXT, "client_id": str(uuid.uuid4())}).get_json()["question"]
    wrong = api.patch(f"/api/v1/sessions/{other.slug}/questions/{asked['id']}",
                      json={"text": BETTER})
    assert wrong.status_code == 404


# The plain forms (no script) ---------------------------------------------------------------------


def test_the_private_link_form_changes_and_withdraws_without_a_script(app, make_session,
                                                                        people):
    announced = make_session(title="预告", state=SessionState.ANNOUNCED,
                             departments=[people["trade"]])
    http = app.test_client()
    answer = http.post(f"/s/{announced.slug}/ask", data={
        "text": TEXT, "client_id": str(uuid.uuid4())})
    link = answer.headers["Location"]
    token = link.rsplit("/", 1)[1]
    page = http.get(link).get_data(as_text=True)
    assert f'action="/q/{token}/edit' in page and f'action="/q/{token}/withdraw' in page

    short = http.post(f"/q/{token}/edit", data={"text": "短"})
    assert short.status_code == 400
    assert "短" in short.get_data(as_text=True)  # the typed text is kept to correct it
    changed = http.post(f"/q/{token}/edit", data={"text": BETTER})
    assert changed.status_code == 302 and changed.headers["Location"] == f"/q/{token}"
    assert BETTER in http.get(f"/q/{token}").get_data(as_text=True)

    gone = http.post(f"/q/{token}/withdraw?next=/q/{token}")
    assert gone.status_code == 302 and gone.headers["Location"] == f"/s/{announced.slug}"
    assert http.get(f"/q/{token}").status_code == 404
    assert db.session.scalar(select(func.count(Question.id))) == 0


def test_the_live_page_offers_the_forms_only_for_pending_questions(app, live_session, people):
    http, sock = phone(app, live_session)
    question = ask(sock)
    html = http.get(f"/s/{live_session.slug}").get_data(as_text=True)
    form = rf'action="/q/[\w-]+/withdraw\?next=[^"]*"[^>]*data-question="{question["id"]}"'
    assert re.search(form, html)
    moderation.approve(db.session.get(Question, question["id"]), people["host"])
    db.session.commit()
    html = http.get(f"/s/{live_session.slug}").get_data(as_text=True)
    assert "/withdraw?" not in html
