"""Security defences: the staff socket's role matrix, disconnects, the audit log, privacy purge,
and the dependency versions with known fixes."""

from __future__ import annotations

import json
from datetime import timedelta
from importlib.metadata import version

import pytest
from packaging.version import Version
from sqlalchemy import select

from qa_live.audit.models import AuditEntry
from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live.models import Answer, HostPost, PostKind, Question, QuestionSource
from qa_live.live.privacy import purge_contacts
from qa_live.planning.models import SessionState
from tests.conftest import PASSWORD

# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def world(app, make_session, make_department, make_user, make_question):
    """A live session of 外贸处 with one question of each kind the commands need, and a reviewed
    one with the same staff, for the review queue's commands. The studio's editor, reviewer and
    director are on duty in both."""
    trade = make_department("对外贸易处")
    other = make_department("市场秩序处")
    make_user("office1", roles=[Role.OFFICE])
    host = make_user("host1", roles=[Role.HOST])
    own = make_user("ans_own", roles=[Role.ANSWERER], departments=[trade])
    make_user("ans_other", roles=[Role.ANSWERER], departments=[other])
    studio = {f"{duty}_ids": [make_user(f"{duty}1", roles=[Role(duty)]).id]
              for duty in ("editor", "reviewer", "director")}
    sessions = {
        name: make_session(state=SessionState.LIVE, departments=[trade], hosts=[host],
                           answerers=[own], start=utcnow() - timedelta(minutes=5),
                           guests=[("王建国", "处长")], reviewed=reviewed, **studio)
        for name, reviewed in (("session", False), ("reviewed", True))
    }
    return {**sessions, "trade": trade, "make_question": make_question}


def staff_socket(app, login):
    http = app.test_client()
    if login is not None:
        http.post("/login", data={"login": login, "password": PASSWORD})
    return http, socketio.test_client(app, namespace="/moderation", flask_test_client=http)


# -- the role matrix ------------------------------------------------------------------------------

MODERATE = ("office1", "host1")
ANSWER = ("office1", "host1", "ans_own")
WORK_ON_ANSWER = (*ANSWER, "editor1")  # claim, note, flag: the text editor works on answers too
IN_GUESTS_NAME = ("office1", "host1", "editor1")
DIRECT = ("office1", "host1", "director1")
REVIEW = ("office1", "reviewer1")
ROLES = ("office1", "host1", "ans_own", "ans_other", "editor1", "reviewer1", "director1", None)
#: Entries run in the reviewed session; "name:variant" sends the event "name" another payload.
IN_REVIEWED = {"submit_review", "submit_review:guest", "submit_review:post", "review_approve",
               "review_return", "review_resubmit"}


def _review_item(world, state="pending"):
    """An answer by ans_own waiting for review (or sent back), made through the operations."""
    from qa_live.auth.services import find_user_by_login
    from qa_live.live import events, moderation, review

    q = world["make_question"](world["reviewed"], "待审核答复的问题",
                               visitor=f"visitor-review-{utcnow().timestamp()}")
    moderation.approve(q, find_user_by_login("host1"))  # answerers answer published questions
    item = review.submit(world["reviewed"], find_user_by_login("ans_own"), "answer",
                         {"question_id": q.id, "body": "待审核的答复"})
    if state == "returned":
        review.send_back(item, find_user_by_login("reviewer1"), "请补充。")
    events.commit_and_send()
    return item


def _media_payload(event, session):
    """A photo or a material of the session, made by its host through the operations."""
    import io

    from qa_live.auth.services import find_user_by_login
    from qa_live.live import events
    from qa_live.live.media import materials, photos
    from tests.media_files import photo

    host = find_user_by_login("host1")
    if event.startswith("photo"):
        made = photos.post_photo(session, host, io.BytesIO(photo(400, 300)), "现场图片")
        events.commit_and_send()
        return {"photo_id": made.id, "caption": "新的图片说明"} if event == "photo_caption" \
            else {"photo_id": made.id}
    material = materials.add_material(session, host, materials.MaterialInput("background", "背景"))
    events.commit_and_send()
    if event == "material_update":
        return {"material_id": material.id, "title": "新的标题"}
    if event == "material_move":
        return {"material_id": material.id, "direction": "up"}
    return {"material_id": material.id}


def _payload(entry, world, login):
    """A valid payload for the event, on fresh objects, so only the role decides."""
    event = entry
    session = world["reviewed"] if entry in IN_REVIEWED else world["session"]
    q = world["make_question"](session, f"关于出口退税的问题：{entry} {login}",
                               visitor=f"visitor-{entry}-{login}-0000", phone="13812345678")
    ids = {"question_id": q.id}
    # Published first: answerers answer and claim only approved questions (tests/test_claims.py).
    if event.split(":")[0] in ("highlight", "claim", "answer", "screen", "submit_review"):
        from qa_live.auth.services import find_user_by_login
        from qa_live.live import events, moderation

        moderation.approve(q, find_user_by_login("host1"))
        events.commit_and_send()
    if event in ("photo_caption", "photo_remove", "material_update", "material_move",
                 "material_remove"):
        return _media_payload(event, session)
    if event == "material_add":
        return {"kind": "highlight", "title": f"看点：{login}"}
    guest_id = session.guests[0].id
    if entry == "answer:guest":
        return {**ids, "guest_id": guest_id, "body": "嘉宾的答复。"}
    if entry == "submit_review":
        return {"kind": "answer", **ids, "body": "送审的答复。"}
    if entry == "submit_review:guest":
        return {"kind": "answer", **ids, "guest_id": guest_id, "body": "嘉宾的答复。"}
    if entry == "submit_review:post":
        return {"kind": "post", "body": "送审的政策解读。"}
    if entry in ("review_approve", "review_return"):
        return {"item_id": _review_item(world).id, "reason": "请改。"}
    if entry == "review_resubmit":
        return {"item_id": _review_item(world, "returned").id, "body": "改好的答复。"}
    if entry in ("screen", "screen:question"):
        return {"kind": "question", "id": q.id} if entry == "screen:question" else {"kind": "qr"}
    if event == "merge":
        into = world["make_question"](session, f"更早的问题：{event} {login}",
                                      visitor=f"visitor-m-{event}-{login}-000")
        return {"question_id": q.id, "into_id": into.id}
    if event == "edit":
        return {**ids, "text": "改写后的问题文字"}
    if event == "reject":
        return {**ids, "reason": "spam"}
    if event == "pin":
        return {**ids, "pinned": True}
    if event == "assign":
        return {**ids, "department_id": world["trade"].id}
    if event == "answer":
        return {**ids, "body": "这是答复。"}
    if event == "follow_up":
        return {**ids, "needed": True}
    if event == "edit_answer":
        answer = Answer(question_id=q.id, body="原答复", department_id=world["trade"].id)
        db.session.add(answer)
        db.session.commit()
        return {"answer_id": answer.id, "body": "修改后的答复"}
    if event == "post":
        return {"kind": "notice", "body": "温馨提示"}
    if event == "update_post":
        post = HostPost(session_id=session.id, kind=PostKind.NOTICE, body="旧通知")
        db.session.add(post)
        db.session.commit()
        return {"post_id": post.id, "body": "新通知"}
    if event in ("start", "end"):
        return {}
    if event in ("bulk_approve", "bulk_reject"):
        return {"question_ids": [q.id], "reason": "spam"}
    if event == "note":
        return {**ids, "body": "内部备注"}
    if event == "clear_nickname":
        named = world["make_question"](session, f"带昵称的问题：{event} {login}",
                                       visitor=f"visitor-n-{event}-{login}-000", nickname="张三")
        return {"question_id": named.id}
    if event == "poll_open":
        return {"question": "您支持这项政策吗？", "options": ["支持", "不支持"]}
    if event == "poll_close":
        from qa_live.auth.services import find_user_by_login
        from qa_live.live import events, polls
        from qa_live.votes.models import ResultsShown

        poll = polls.open_poll(session, find_user_by_login("host1"), f"投票：{login}",
                               ["是", "否"], False, ResultsShown.LIVE)
        events.commit_and_send()
        return {"poll_id": poll.id}
    return ids


EVENTS = {
    "approve": MODERATE, "reject": MODERATE, "merge": MODERATE, "edit": MODERATE,
    "pin": MODERATE, "assign": MODERATE, "post": MODERATE, "update_post": MODERATE,
    "claim": WORK_ON_ANSWER, "answer": ANSWER, "answer:guest": IN_GUESTS_NAME,
    "follow_up": WORK_ON_ANSWER, "reveal_phone": WORK_ON_ANSWER,
    "edit_answer": MODERATE, "end": MODERATE,
    "bulk_approve": MODERATE, "bulk_reject": MODERATE, "clear_nickname": MODERATE,
    "highlight": DIRECT, "screen": DIRECT, "screen:question": DIRECT,
    "note": WORK_ON_ANSWER, "similar": WORK_ON_ANSWER,
    "submit_review": ANSWER, "submit_review:guest": IN_GUESTS_NAME,
    "submit_review:post": MODERATE, "review_approve": REVIEW, "review_return": REVIEW,
    "review_resubmit": ("ans_own",),  # its author only
    "photo_caption": IN_GUESTS_NAME, "photo_remove": IN_GUESTS_NAME,  # the session's editors
    "material_add": IN_GUESTS_NAME, "material_update": IN_GUESTS_NAME,
    "material_move": IN_GUESTS_NAME, "material_remove": IN_GUESTS_NAME,
    "poll_open": MODERATE, "poll_close": MODERATE,
}
#: Commands outside the matrix, and why: each is tested on its own.
NOT_IN_MATRIX = {
    "release": "a no-op unless the caller holds the claim (test_live_sockets.py)",
    "start": "needs an announced session; the matrix's is live (test_live_sockets.py)",
    "follow_up_create": "after the session, by the department rule (test_followup.py)",
    "recording_url": "once the session has ended; the matrix's is live (test_media.py)",
    "recording_clear": "once the session has ended; the matrix's is live (test_media.py)",
}


def test_the_matrix_covers_every_staff_command(app):
    from qa_live.live.commands import COMMANDS

    covered = {entry.split(":")[0] for entry in EVENTS} | set(NOT_IN_MATRIX)
    assert covered == set(COMMANDS)


@pytest.mark.parametrize("event", sorted(EVENTS))
@pytest.mark.parametrize("login", ROLES, ids=[r or "anonymous" for r in ROLES])
def test_every_staff_event_for_every_role(world, app, event, login):
    _http, sock = staff_socket(app, login)
    if login is None:
        assert not sock.is_connected("/moderation"), "anonymous staff socket accepted"
        return
    session = world["reviewed"] if event in IN_REVIEWED else world["session"]
    joined = sock.emit("join", {"session_id": session.id}, namespace="/moderation",
                       callback=True)
    data = _payload(event, world, login)
    ack = sock.emit(event.split(":")[0], data, namespace="/moderation", callback=True)
    if login in EVENTS[event]:
        assert joined["ok"]
        assert ack["ok"], (event, login, ack)
    else:
        assert not ack["ok"] and ack["error"] in ("forbidden", "not_joined"), (event, login, ack)
        if login == "ans_other":
            assert joined["error"] == "forbidden"


# -- disconnects ----------------------------------------------------------------------------------


def test_deactivating_a_user_closes_their_console_at_once(world, app, client, auth):
    _http, sock = staff_socket(app, "ans_own")
    sock.emit("join", {"session_id": world["session"].id}, namespace="/moderation", callback=True)
    assert sock.is_connected("/moderation")
    from qa_live.auth.services import find_user_by_login

    office = find_user_by_login("office1")
    target = find_user_by_login("ans_own")
    auth.login(office)
    response = client.post(f"/office/staff/{target.id}", data={
        "display_name": target.display_name, "roles": ["answerer"],
        "departments": [str(world["trade"].id)],
    })  # "active" unticked: deactivated
    assert response.status_code == 302
    assert not sock.is_connected("/moderation")


def test_logging_out_closes_the_console(world, app):
    http, sock = staff_socket(app, "host1")
    assert sock.is_connected("/moderation")
    page = http.get("/office/")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    http.post("/logout", data={"csrf_token": token})
    assert not sock.is_connected("/moderation")


# -- audit log -----------------------------------------------------------------------------------


def test_logins_and_moderation_are_audited_with_the_address(world, app):
    app.test_client().post("/login", data={"login": "host1", "password": "wrong-password"},
                           environ_base={"REMOTE_ADDR": "203.0.113.7"})
    _http, sock = staff_socket(app, "host1")
    sock.emit("join", {"session_id": world["session"].id}, namespace="/moderation", callback=True)
    q = world["make_question"](world["session"])
    assert sock.emit("approve", {"question_id": q.id}, namespace="/moderation",
                     callback=True)["ok"]
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    failed = [e for e in entries if e.action == "login_failed"]
    assert failed and failed[0].login == "host1" and failed[0].ip == "203.0.113.7"
    assert [e.action for e in entries if e.login == "host1"][-2:] == ["login", "approve"]
    approve = entries[-1]
    assert approve.target_type == "question" and approve.target_id == q.id
    assert approve.session_id == world["session"].id


def test_a_refused_command_leaves_no_audit_entry(world, app):
    _http, sock = staff_socket(app, "ans_own")
    sock.emit("join", {"session_id": world["session"].id}, namespace="/moderation", callback=True)
    q = world["make_question"](world["session"])
    assert not sock.emit("approve", {"question_id": q.id}, namespace="/moderation",
                         callback=True)["ok"]
    assert not db.session.scalars(select(AuditEntry).where(AuditEntry.action == "approve")).all()


def test_revealing_a_phone_number_is_explicit_and_logged(world, app):
    q = world["make_question"](world["session"], phone="13812345678")
    _http, sock = staff_socket(app, "ans_own")
    ack = sock.emit("join", {"session_id": world["session"].id}, namespace="/moderation",
                    callback=True)
    shown = json.dumps(ack, ensure_ascii=False)
    assert "13812345678" not in shown and "138****5678" in shown
    revealed = sock.emit("reveal_phone", {"question_id": q.id}, namespace="/moderation",
                         callback=True)
    assert revealed == {"ok": True, "question_id": q.id, "phone": "13812345678"}
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "reveal_phone"))
    row = entry.one()
    assert row.login == "ans_own" and row.target_id == q.id
    assert "13812345678" not in row.detail


def test_the_audit_log_is_for_the_office_and_read_only(world, app, client, auth):
    from qa_live.auth.services import find_user_by_login

    auth.login(find_user_by_login("host1"))
    assert client.get("/office/audit/").status_code == 403
    client.post("/logout")
    office_client = app.test_client()
    office_client.post("/login", data={"login": "office1", "password": PASSWORD})
    page = office_client.get("/office/audit/?action=login")
    assert page.status_code == 200
    assert "office1" in page.get_data(as_text=True)
    assert office_client.post("/office/audit/").status_code == 405
    assert office_client.get("/office/audit/?from=not-a-date").status_code == 200


# -- personal data ---------------------------------------------------------------------------------


def test_privacy_purge_erases_old_phone_numbers_only(world, app, make_session):
    old = make_session(title="去年的专场", state=SessionState.ENDED,
                       start=utcnow() - timedelta(days=400))
    old_q = Question(session_id=old.id, visitor_id="visitor-old-00000001", text="旧问题内容",
                     original_text="旧问题内容", client_id="c-old", phone="13900001111",
                     access_token="tok-old", source=QuestionSource.ADVANCE,
                     created_at=utcnow() - timedelta(days=400))
    db.session.add(old_q)
    db.session.commit()
    recent = world["make_question"](world["session"], phone="13812345678")
    erased = purge_contacts(days=180)
    db.session.commit()
    assert erased == 1
    db.session.refresh(old_q)
    db.session.refresh(recent)
    assert old_q.phone is None and recent.phone == "13812345678"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy_purge"))
    assert json.loads(entry.one().detail)["erased"] == 1


def test_privacy_purge_command(app):
    result = app.test_cli_runner().invoke(args=["privacy", "purge", "--days", "30"])
    assert result.exit_code == 0 and "erased 0 phone numbers" in result.output


# -- dependencies with known fixes (docs/security.md) -------------------------------------------

MINIMUM_VERSIONS = {
    "python-socketio": "5.16.2",
    "python-engineio": "4.13.3",
    "eventlet": "0.40.3",
    "Flask": "3.1.1",
    "Werkzeug": "3.1.4",
    "Jinja2": "3.1.6",
    "gevent": "25.4.1",
    "requests": "2.32.4",
    "Authlib": "1.6.5",
}


@pytest.mark.parametrize("package", sorted(MINIMUM_VERSIONS))
def test_installed_versions_carry_the_known_fixes(package):
    assert Version(version(package)) >= Version(MINIMUM_VERSIONS[package])


def test_the_security_doc_lists_the_same_minimum_versions():
    from tests.live_server import ROOT

    doc = (ROOT / "docs" / "security.md").read_text()
    for package, minimum in MINIMUM_VERSIONS.items():
        assert f"`{package}` | ≥ {minimum}" in doc, package


# -- sessions and networks ------------------------------------------------------------------------


def test_staff_are_logged_out_after_the_idle_time(world, app, client, auth):
    import time as time_module

    auth.login("host1")
    assert client.get("/office/").status_code == 200
    with client.session_transaction() as session:
        session["_seen"] = time_module.time() - (app.config["STAFF_IDLE_MINUTES"] * 60 + 5)
    response = client.get("/office/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_starts_a_fresh_session(world, app, client):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        before = session.get("csrf_token")
    client.post("/login", data={"login": "host1", "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != before or before is None


def test_staff_functions_only_from_the_allowed_network(world, app):
    app.config["STAFF_ALLOWED_NETWORKS"] = "10.20.0.0/16, 192.168.1.0/24"
    outside = app.test_client()
    assert outside.get("/login", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    assert outside.get("/api/v1/staff/me",
                       environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    assert outside.get("/", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200
    inside = app.test_client()
    page = inside.get("/login", environ_base={"REMOTE_ADDR": "10.20.3.4"})
    assert page.status_code == 200
    response = inside.post("/login", data={"login": "host1", "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.20.3.4"})
    assert response.status_code == 302
    assert inside.get("/office/", environ_base={"REMOTE_ADDR": "10.20.3.4"}).status_code == 200
