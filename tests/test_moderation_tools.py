"""What moderators expect besides approve and reject: bulk actions, staff-only notes, the
projector highlight, hints from earlier answers; and the merge target, empty API bodies and one
time format per language. Each through the /moderation socket and the staff API."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import select

from qa_live.audit.models import AuditEntry
from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.auth.services import find_user_by_login
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import events, moderation
from qa_live.live.models import Question, QuestionStatus, SessionEvent
from qa_live.planning import services as planning
from qa_live.planning.models import LiveSession, SessionState
from tests.conftest import PASSWORD


@pytest.fixture
def world(make_session, make_department, make_user, make_question):
    trade = make_department("对外贸易处")
    other = make_department("财政处")
    make_user("office1", roles=[Role.OFFICE])
    make_user("host1", roles=[Role.HOST], name="主持人")
    make_user("ans1", roles=[Role.ANSWERER], departments=[trade], name="外贸处值班员")
    make_user("ans_other", roles=[Role.ANSWERER], departments=[other])
    session = make_session(title="稳外贸", state=SessionState.LIVE, departments=[trade],
                           start=utcnow() - timedelta(minutes=5))
    return {"session": session, "trade": trade, "make_question": make_question}


def citizen(app, session):
    http = app.test_client()
    http.get(f"/s/{session.slug}")
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    sock.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)
    return sock


def staff(app, login, session, joined=True):
    http = app.test_client()
    http.post("/login", data={"login": login, "password": PASSWORD})
    sock = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    ack = sock.emit("join", {"session_id": session.id}, namespace="/moderation", callback=True)
    assert ack["ok"] is joined
    return sock


def bearer(login):
    _row, secret = tokens.create_token(find_user_by_login(login), "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def act(sock, event, **data):
    return sock.emit(event, data, namespace="/moderation", callback=True)


def api_act(app, session, login, name, body=None):
    return app.test_client().post(f"/api/v1/staff/sessions/{session.id}/actions/{name}",
                                  json=body if body is not None else {},
                                  headers=bearer(login))


def received(sock, name, namespace="/moderation"):
    return [m["args"][0] for m in sock.get_received(namespace) if m["name"] == name]


def public(sock, type_=None):
    return [m["args"][0] for m in sock.get_received("/qa")
            if m["name"] == "event" and (type_ is None or m["args"][0]["type"] == type_)]


def audit_of(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).all()


# -- the merged card names its target at once ------------------------------------------------


def test_a_live_merge_tells_consoles_which_question_it_went_into(app, world):
    session = world["session"]
    first = world["make_question"](session, "出口退税多久能到账？", visitor="v-first-000000")
    dup = world["make_question"](session, "退税一般多久到账呢？", visitor="v-dup-0000000")
    host = staff(app, "host1", session)
    host.get_received("/moderation")
    assert act(host, "merge", question_id=dup.id, into_id=first.id)["ok"]
    merged = [q for q in received(host, "question")
              if q["id"] == dup.id and q["status"] == "rejected"]
    assert merged and all(q["merged_into_id"] == first.id for q in merged)
    assert merged[-1]["reject_reason"] == "duplicate"


def test_a_merge_through_the_api_reaches_open_consoles_with_its_target(app, world):
    session = world["session"]
    first = world["make_question"](session, "出口退税多久能到账？", visitor="v-first-000000")
    dup = world["make_question"](session, "退税一般多久到账呢？", visitor="v-dup-0000000")
    host = staff(app, "host1", session)
    host.get_received("/moderation")
    response = api_act(app, session, "office1", "merge",
                       {"question_id": dup.id, "into_id": first.id})
    assert response.status_code == 200
    merged = [q for q in received(host, "question") if q["id"] == dup.id]
    assert merged and merged[-1]["merged_into_id"] == first.id


# -- empty bodies ------------------------------------------------------------------------------


def test_announce_and_vote_accept_an_empty_body(app, world, make_session):
    draft = make_session(title="促消费", state=SessionState.DRAFT)
    http = app.test_client()
    response = http.post(f"/api/v1/staff/sessions/{draft.id}/announce", headers=bearer("office1"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["session"]["state"] == "announced"

    session = world["session"]
    q = world["make_question"](session)
    moderation.approve(q, find_user_by_login("host1"))
    events.commit_and_send()
    voter = app.test_client()
    voter.get(f"/s/{session.slug}")
    voted = voter.post(f"/api/v1/sessions/{session.slug}/questions/{q.id}/vote")
    assert voted.status_code == 200 and voted.get_json()["upvotes"] == 1
    # A body that is not JSON is still refused, with the reason.
    form = voter.post(f"/api/v1/sessions/{session.slug}/questions/{q.id}/vote",
                      data="x=1", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415 and form.get_json()["error"] == "invalid"
    # A command that needs fields says which, not 415.
    missing = app.test_client().post(f"/api/v1/staff/sessions/{draft.id}/cancel",
                                     headers=bearer("office1"))
    assert missing.status_code == 400 and missing.get_json()["fields"] == {"reason": "str"}


# -- one time format per language ------------------------------------------------------------------


def test_the_english_console_header_uses_24_hour_times(app, world):
    session = world["session"]
    start = utcnow().replace(hour=0, minute=32, second=0, microsecond=0)  # 08:32 in Shanghai
    session.scheduled_start, session.scheduled_end = start, start + timedelta(hours=3)
    db.session.commit()
    http = app.test_client()
    http.post("/login", data={"login": "host1", "password": PASSWORD})
    page = http.get(f"/console/{session.slug}?lang=en").get_data(as_text=True)
    when = re.search(r'class="console-when">([^<]+)<', page).group(1)
    assert "08:32" in when and "11:32" in when, when
    assert not re.search(r"\b(AM|PM)\b", when), when


# -- bulk actions -------------------------------------------------------------------------------


def test_bulk_approve_over_the_socket_reports_each_question(app, world, make_session):
    session = world["session"]
    elsewhere = make_session(title="别的专场", state=SessionState.LIVE,
                             start=utcnow() - timedelta(minutes=5))
    qs = [world["make_question"](session, f"第{i}个关于出口退税的问题", visitor=f"v-bulk-{i}-0000")
          for i in range(3)]
    gone = world["make_question"](session, "已经被拒绝的问题内容", visitor="v-gone-00000")
    foreign = world["make_question"](elsewhere, "别的专场的问题内容", visitor="v-foreign-000")
    host = staff(app, "host1", session)
    moderation.reject(gone, find_user_by_login("host1"), moderation.RejectReason.SPAM)
    events.commit_and_send()
    watcher = citizen(app, session)
    ids = [qs[0].id, gone.id, qs[1].id, foreign.id, qs[2].id, qs[0].id]
    ack = act(host, "bulk_approve", question_ids=ids)
    assert ack["ok"], ack
    by_id = {r["question_id"]: r for r in ack["results"]}
    assert [r["question_id"] for r in ack["results"]] == ids[:5]  # repeats dropped, order kept
    assert by_id[qs[1].id]["ok"] and by_id[qs[2].id]["ok"]
    assert by_id[foreign.id] == {"question_id": foreign.id, "ok": False, "error": "not_found",
                                 "message": by_id[foreign.id]["message"]}
    # "gone" was rejected: approving it publishes it after all (a moderator's own choice).
    assert ack["done"] == 4 and ack["failed"] == 1
    for q in [*qs, gone]:
        assert db.session.get(Question, q.id).status == QuestionStatus.APPROVED
    assert db.session.get(Question, foreign.id).status == QuestionStatus.PENDING
    published = {e["data"]["id"] for e in public(watcher, "question")}
    assert published == {q.id for q in [*qs, gone]}
    entries = audit_of("approve")
    assert sorted(e.target_id for e in entries) == sorted(q.id for q in [*qs, gone])
    assert all(json.loads(e.detail)["bulk"] is True for e in entries)


def test_bulk_reject_through_the_api_rolls_back_only_what_failed(app, world):
    session = world["session"]
    qs = [world["make_question"](session, f"第{i}个需要拒绝的问题", visitor=f"v-rej-{i}-00000")
          for i in range(2)]
    answered = world["make_question"](session, "已经答复过的问题内容", visitor="v-ans-000000")
    host = find_user_by_login("host1")
    moderation.answer(answered, host, "已答复。")
    events.commit_and_send()
    console = staff(app, "office1", session)
    console.get_received("/moderation")
    seq_before = db.session.get(LiveSession, session.id).last_seq
    response = api_act(app, session, "host1", "bulk_reject",
                       {"question_ids": [qs[0].id, answered.id, qs[1].id], "reason": "spam"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["done"] == 2 and body["failed"] == 1
    failed = next(r for r in body["results"] if not r["ok"])
    assert failed["question_id"] == answered.id and failed["error"] == "bad_transition"
    assert failed["message"]
    db.session.expire_all()
    assert db.session.get(Question, answered.id).status == QuestionStatus.ANSWERED
    assert {db.session.get(Question, q.id).status for q in qs} == {QuestionStatus.REJECTED}
    # The log holds what happened and nothing of what was rolled back: no gap, no extra seq.
    rows = db.session.scalars(select(SessionEvent).where(
        SessionEvent.session_id == session.id, SessionEvent.seq > seq_before)).all()
    assert sorted(r.seq for r in rows) == list(range(seq_before + 1, seq_before + 1 + len(rows)))
    told = {q["id"] for q in received(console, "question")}
    assert told == {qs[0].id, qs[1].id}
    assert [e.target_id for e in audit_of("reject")] == [qs[0].id, qs[1].id]


def test_bulk_actions_are_for_moderators_and_check_their_input(app, world):
    session = world["session"]
    q = world["make_question"](session)
    answerer = staff(app, "ans1", session)
    refused = act(answerer, "bulk_approve", question_ids=[q.id])
    assert refused["ok"] is False and refused["error"] == "forbidden"
    host = staff(app, "host1", session)
    for bad in ([], [0], ["1"], [True], list(range(1, 102)), "1,2"):
        ack = act(host, "bulk_approve", question_ids=bad)
        assert ack["ok"] is False and ack["error"] == "invalid", bad
    assert act(host, "bulk_reject", question_ids=[q.id], reason="nope")["error"] == "invalid"
    assert db.session.get(Question, q.id).status == QuestionStatus.PENDING
    assert audit_of("approve") == [] and audit_of("reject") == []


# -- staff-only notes -------------------------------------------------------------------------

NOTE = "内部备注-只给工作人员看-7f3a"


def test_a_note_reaches_staff_over_the_socket_and_never_citizens(app, world):
    session = world["session"]
    q = world["make_question"](session, "出口信用保险有没有保费补贴？", visitor="v-note-000000",
                               phone="13812345678")
    watcher = citizen(app, session)
    answerer = staff(app, "ans1", session)
    host = staff(app, "host1", session)
    assert act(host, "approve", question_id=q.id)["ok"]
    ack = act(answerer, "note", question_id=q.id, body=f"  {NOTE}  ")
    assert ack["ok"] and ack["note"]["body"] == NOTE
    assert ack["note"]["updated_by"] == "外贸处值班员"
    seen = [e for e in received(host, "question") if e["id"] == q.id]
    assert seen[-1]["note"]["body"] == NOTE
    snapshot = act(host, "join", session_id=session.id)["snapshot"]
    assert snapshot["questions"][0]["note"]["body"] == NOTE
    assert act(answerer, "note", question_id=q.id, body="x" * 1001)["error"] == "invalid"
    assert act(staff(app, "ans_other", session, joined=False), "note", question_id=q.id,
               body="别的处室")["ok"] is False
    # Another change to the question goes out to the public: still without the note.
    assert act(host, "pin", question_id=q.id, pinned=True)["ok"]
    _assert_citizens_never_see(app, session, watcher, q)
    entry = audit_of("note")[-1]
    assert entry.login == "ans1" and NOTE not in entry.detail
    # An empty body removes it.
    assert act(host, "note", question_id=q.id, body="")["note"] is None
    assert act(host, "join", session_id=session.id)["snapshot"]["questions"][0]["note"] is None


def test_a_note_through_the_api_stays_out_of_transcript_archive_and_exports(app, world):
    session = world["session"]
    q = world["make_question"](session, "出口信用保险有没有保费补贴？", visitor="v-note-000000")
    response = api_act(app, session, "host1", "note", {"question_id": q.id, "body": NOTE})
    assert response.status_code == 200 and response.get_json()["note"]["body"] == NOTE
    snapshot = app.test_client().get(f"/api/v1/staff/sessions/{session.id}",
                                     headers=bearer("ans1")).get_json()
    assert snapshot["questions"][0]["note"]["body"] == NOTE
    host = find_user_by_login("host1")
    moderation.answer(q, host, "有，按保费的一定比例补贴。")
    planning.change_state(session, SessionState.ENDED)
    events.commit_and_send()
    watcher = citizen(app, session)
    _assert_citizens_never_see(app, session, watcher, q)
    visitor = app.test_client()
    for url in (f"/s/{session.slug}", f"/s/{session.slug}/print",
                "/archive?q=" + "保费补贴", f"/q/{q.access_token}"):
        page = visitor.get(url)
        assert page.status_code == 200, url
        assert NOTE not in page.get_data(as_text=True), url
    office = app.test_client()
    office.post("/login", data={"login": "office1", "password": PASSWORD})
    csv = office.get(f"/office/stats/sessions/{session.id}/questions.csv")
    assert csv.status_code == 200 and "保费补贴" in csv.get_data(as_text=True)
    assert NOTE not in csv.get_data(as_text=True)
    xlsx = office.get(f"/office/stats/sessions/{session.id}/questions.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.get_data()))
    cells = [str(c.value) for sheet in book for row in sheet.iter_rows() for c in row]
    assert any("保费补贴" in c for c in cells) and not any(NOTE in c for c in cells)


def _assert_citizens_never_see(app, session, watcher, q):
    everything = json.dumps([m for m in watcher.get_received("/qa")], ensure_ascii=False)
    assert str(q.id) in everything or session.state != SessionState.LIVE
    assert NOTE not in everything
    http = app.test_client()
    http.get(f"/s/{session.slug}")
    for url in (f"/api/v1/sessions/{session.slug}/stream",
                f"/api/v1/sessions/{session.slug}/stream?since=0",
                f"/api/v1/sessions/{session.slug}/questions/mine",
                f"/api/v1/sessions/{session.slug}"):
        body = http.get(url).get_data(as_text=True)
        assert NOTE not in body, url
    logged = db.session.scalars(select(SessionEvent.payload).where(
        SessionEvent.session_id == session.id)).all()
    assert logged and not any(NOTE in p for p in logged)


# -- the projector highlight ------------------------------------------------------------------


def test_highlighting_a_question_reaches_the_projector_and_clears_on_answer(app, world):
    session = world["session"]
    q = world["make_question"](session, "出口信用保险有没有保费补贴？", visitor="v-hl-0000000")
    pending = world["make_question"](session, "另一个待审核的问题", visitor="v-hl-pending0")
    host = staff(app, "host1", session)
    assert act(host, "approve", question_id=q.id)["ok"]
    screen = citizen(app, session)
    refused = act(host, "highlight", question_id=pending.id)
    assert refused["ok"] is False and refused["error"] == "bad_transition"
    assert act(staff(app, "ans1", session), "highlight",
               question_id=q.id)["error"] == "forbidden"
    host.get_received("/moderation")
    ack = act(host, "highlight", question_id=q.id)
    assert ack == {"ok": True, "question_id": q.id}
    # The highlight is the director's choice of that question (qa_live/live/screen.py).
    assert [e["data"] for e in public(screen, "screen")] == [{"kind": "question", "id": q.id}]
    assert received(host, "session")[-1]["screen"] == {"kind": "question", "id": q.id}
    # A projector that opens now gets it in the snapshot (and the page renders it).
    snap = app.test_client().get(f"/api/v1/sessions/{session.slug}/stream").get_json()
    assert snap["snapshot"]["session"]["screen"] == {"kind": "question", "id": q.id}
    page = app.test_client().get(f"/s/{session.slug}/screen").get_data(as_text=True)
    shown = re.search(r'<section[^>]*id="highlight-panel"([^>]*)>(.*?)</section>', page, re.S)
    assert shown and "hidden" not in shown.group(1)
    assert "出口信用保险有没有保费补贴" in shown.group(2)
    # Answering it takes it off the projector, after the answered question.
    assert act(host, "answer", question_id=q.id, body="有补贴。")["ok"]
    events = public(screen)
    types = [e["type"] for e in events]
    assert types[-2:] == ["question", "screen"]
    assert events[-1]["data"] == {"kind": "latest", "id": None}
    assert db.session.get(LiveSession, session.id).highlighted_question_id is None
    assert len(audit_of("highlight")) == 1


def test_highlight_through_the_api_and_cleared_by_command_or_rejection(app, world):
    session = world["session"]
    q = world["make_question"](session, "出口信用保险有没有保费补贴？", visitor="v-hl-0000000")
    moderation.approve(q, find_user_by_login("host1"))
    events.commit_and_send()
    screen = citizen(app, session)
    assert api_act(app, session, "office1", "highlight", {"question_id": q.id}).status_code == 200
    cleared = api_act(app, session, "office1", "highlight", {"question_id": None})
    assert cleared.status_code == 200 and cleared.get_json()["question_id"] is None
    assert [e["data"]["id"] for e in public(screen, "screen")] == [q.id, None]
    assert api_act(app, session, "office1", "highlight", {"question_id": q.id}).status_code == 200
    assert api_act(app, session, "host1", "reject",
                   {"question_id": q.id, "reason": "off_topic"}).status_code == 200
    assert [e["data"]["id"] for e in public(screen, "screen")] == [q.id, None]
    assert db.session.get(LiveSession, session.id).highlighted_question_id is None


# -- answered before: the hint for the answerer --------------------------------------------------


def _held_session_with(make_session, make_question, texts):
    held = make_session(title="往期专场", state=SessionState.LIVE,
                        start=utcnow() - timedelta(days=30))
    host = find_user_by_login("host1")
    made = []
    for i, text in enumerate(texts):
        q = make_question(held, text, visitor=f"v-held-{i}-000000")
        moderation.answer(q, host, f"往期答复{i}：请按规定申请。")
        made.append(q)
    planning.change_state(held, SessionState.ENDED)
    events.commit_and_send()
    return held, made


def test_similar_answered_questions_come_from_the_archive_and_this_session(
        app, world, make_session, make_question):
    held, old = _held_session_with(make_session, make_question, [
        "出口信用保险的保费补贴怎么申请？",
        "小微企业出口信用保险保费有补贴吗？",
        "公园的停车场几点关门？",
    ])
    session = world["session"]
    host = find_user_by_login("host1")
    here = make_question(session, "出口信用保险保费补贴比例是多少？", visitor="v-here-0000000")
    moderation.answer(here, host, "本场答复：按比例补贴。")
    events.commit_and_send()
    asked = make_question(session, "请问出口信用保险有没有保费补贴？", visitor="v-ask-00000000")
    answerer = staff(app, "ans1", session)
    ack = act(answerer, "similar", question_id=asked.id)
    assert ack["ok"], ack
    found = {h["id"]: h for h in ack["similar"]}
    assert set(found) == {old[0].id, old[1].id, here.id}
    assert found[here.id]["same_session"] is True and found[here.id]["link"] is None
    assert found[old[0].id]["link"] == f"/s/{held.slug}#q-{old[0].id}"
    assert found[old[0].id]["answer"].startswith("往期答复0")
    assert found[old[0].id]["session"]["title"] == "往期专场"
    assert all(0 < h["score"] <= 1 for h in ack["similar"])
    assert audit_of("similar") == []  # a lookup, not an action
    # The same through the API; an answerer of another department may not look.
    response = api_act(app, session, "ans1", "similar", {"question_id": asked.id})
    assert response.status_code == 200
    assert {h["id"] for h in response.get_json()["similar"]} == set(found)
    assert api_act(app, session, "ans_other", "similar",
                   {"question_id": asked.id}).status_code == 403


def test_at_most_five_hints_and_none_for_an_unrelated_question(
        app, world, make_session, make_question):
    _held_session_with(make_session, make_question, [
        f"出口信用保险保费补贴问题之{i}号" for i in range(8)])
    session = world["session"]
    asked = make_question(session, "出口信用保险保费补贴怎么领？", visitor="v-ask-00000000")
    lonely = make_question(session, "图书馆周末几点开门？", visitor="v-lonely-00000")
    answerer = staff(app, "ans1", session)
    assert len(act(answerer, "similar", question_id=asked.id)["similar"]) == 5
    assert act(answerer, "similar", question_id=lonely.id)["similar"] == []


# -- the command list is complete in the docs ------------------------------------------------------


@pytest.mark.parametrize("name", ["bulk_approve", "bulk_reject", "note", "highlight",
                                  "similar", "clear_nickname"])
def test_new_commands_are_documented(name):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    assert f"`{name}`" in (root / "docs" / "realtime.md").read_text(encoding="utf-8")
    assert f"`{name}`" in (root / "docs" / "api.md").read_text(encoding="utf-8")
    assert name in json.loads((root / "docs" / "openapi.json").read_text())["paths"][
        "/api/v1/staff/sessions/{session_id}/actions/{name}"]["post"]["parameters"][1][
        "schema"]["enum"]


def test_unknown_ids_and_types_get_clear_errors(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    for event, data in [("note", {"question_id": 999999, "body": "x"}),
                        ("highlight", {"question_id": "1"}),
                        ("clear_nickname", {}),
                        ("similar", {"question_id": -1}),
                        ("note", {"question_id": 1, "body": 5})]:
        ack = act(host, event, **data)
        assert ack["ok"] is False and ack["error"] in ("invalid", "not_found"), (event, ack)
