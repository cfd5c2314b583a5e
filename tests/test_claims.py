"""Claims and who may answer (docs/realtime.md, "Claims and who may answer"): a claim holds
colleagues off, a host or the office takes over only visibly, answerers never publish what no
moderator approved, and a release is the holder's. Each rule through the /moderation socket and
the staff API alike (the `via` fixture), since both run the same operation."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from qa_live.audit.models import AuditEntry
from qa_live.auth import services as auth_services
from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.auth.services import find_user_by_login
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.followup.models import FollowUp, FollowUpStatus
from qa_live.live import events, moderation
from qa_live.live.models import Answer, ClaimTakeover, Question, QuestionStatus
from qa_live.planning.models import ModerationMode, SessionState
from tests.conftest import PASSWORD


@pytest.fixture
def world(make_session, make_department, make_user, make_question):
    trade = make_department("对外贸易处")
    make_user("office1", roles=[Role.OFFICE], name="王主任")
    make_user("host1", roles=[Role.HOST], name="主持人")
    make_user("ans1", roles=[Role.ANSWERER], departments=[trade], name="外贸一号")
    make_user("ans2", roles=[Role.ANSWERER], departments=[trade], name="外贸二号")

    def live(mode=ModerationMode.PRE):
        return make_session(title="稳外贸", state=SessionState.LIVE, departments=[trade],
                            start=utcnow() - timedelta(minutes=5), moderation_mode=mode)

    session = live()
    return {"session": session, "live": live, "trade": trade, "make_question": make_question}


def staff_socket(app, login, session):
    http = app.test_client()
    http.post("/login", data={"login": login, "password": PASSWORD})
    sock = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    ack = sock.emit("join", {"session_id": session.id}, namespace="/moderation", callback=True)
    assert ack["ok"]
    return sock


class Channel:
    """Staff commands through the socket or the API, answered in one shape.

    A refusal is {"ok": False, "error", "message"} (plus "status", the HTTP status, on the API).
    """

    def __init__(self, app, session, kind):
        self.app, self.session, self.kind = app, session, kind
        self.sockets = {}
        self.tokens = {}

    def socket(self, login):
        if login not in self.sockets:
            self.sockets[login] = staff_socket(self.app, login, self.session)
        return self.sockets[login]

    def token(self, login):
        if login not in self.tokens:
            _row, secret = tokens.create_token(find_user_by_login(login), "test")
            db.session.commit()
            self.tokens[login] = {"Authorization": f"Bearer {secret}"}
        return self.tokens[login]

    def __call__(self, login, name, **data):
        if self.kind == "socket":
            return self.socket(login).emit(name, data, namespace="/moderation", callback=True)
        response = self.app.test_client().post(
            f"/api/v1/staff/sessions/{self.session.id}/actions/{name}", json=data,
            headers=self.token(login))
        body = response.get_json()
        if "error" in body:
            return {"ok": False, "status": response.status_code, **body}
        assert response.status_code == 200 and body["ok"] is True
        return body


HTTP = {"claimed": 409, "forbidden": 403, "bad_transition": 409}


def refused(reply, code):
    """The reply is a refusal with this code (and, on the API, its HTTP status)."""
    assert reply["ok"] is False, reply
    assert reply["error"] == code, reply
    assert reply["message"]
    if "status" in reply:
        assert reply["status"] == HTTP[code]
    return reply["message"]


@pytest.fixture(params=["socket", "api"])
def via(request, app, world):
    return Channel(app, world["session"], request.param)


def approved(world, text="出口信用保险有没有保费补贴？", visitor=None):
    question = world["make_question"](world["session"], text,
                                      visitor=visitor or f"v-{uuid.uuid4().hex[:16]}")
    moderation.approve(question, find_user_by_login("host1"))
    events.commit_and_send()
    return question


def answers_of(question):
    return db.session.scalars(select(Answer).where(Answer.question_id == question.id)).all()


def audit_of(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).all()


# 1. A claim holds colleagues off -------------------------------------------------------------


def test_a_colleague_cannot_answer_or_claim_a_question_someone_holds(app, world, via):
    question = approved(world)
    assert via("ans1", "claim", question_id=question.id)["ok"]
    message = refused(via("ans2", "answer", question_id=question.id, body="我来答：有补贴。"),
                      "claimed")
    assert "外贸一号" in message  # says who is answering
    refused(via("ans2", "claim", question_id=question.id), "claimed")
    db.session.expire_all()
    assert answers_of(question) == []
    assert question.status == QuestionStatus.APPROVED
    assert via("ans1", "answer", question_id=question.id, body="有，按保费的50%补贴。")["ok"]
    db.session.expire_all()
    assert [a.author_id for a in answers_of(question)] == [find_user_by_login("ans1").id]
    assert question.claimed_by_id is None


def test_the_host_answers_past_a_claim_only_by_taking_it_over(app, world, via):
    question = approved(world)
    holder = staff_socket(app, "ans1", world["session"])
    assert holder.emit("claim", {"question_id": question.id}, namespace="/moderation",
                       callback=True)["ok"]
    holder.get_received("/moderation")
    refused(via("host1", "answer", question_id=question.id, body="主持人直接答复。"), "claimed")
    reply = via("host1", "answer", question_id=question.id, body="主持人直接答复。",
                take_over=True)
    assert reply["ok"]
    db.session.expire_all()
    host, ans1 = find_user_by_login("host1"), find_user_by_login("ans1")
    assert answers_of(question)[0].author_id == host.id
    rows = db.session.scalars(select(ClaimTakeover)).all()
    assert [(r.question_id, r.from_user_id, r.by_user_id) for r in rows] == [
        (question.id, ans1.id, host.id)]
    entry = audit_of("claim_take_over")[-1]
    assert entry.user_id == host.id and entry.target_id == question.id
    assert '"from_login": "ans1"' in entry.detail
    # The colleague's console learns at once who took the question over from whom.
    seen = [m["args"][0] for m in holder.get_received("/moderation")
            if m["name"] == "question" and m["args"][0]["id"] == question.id]
    assert seen[-1]["takeovers"][0]["from_name"] == "外贸一号"
    assert seen[-1]["takeovers"][0]["by_name"] == "主持人"
    assert seen[-1]["status"] == "answered"


def test_a_host_who_takes_over_the_claim_holds_it_against_the_former_holder(app, world, via):
    question = approved(world)
    assert via("ans1", "claim", question_id=question.id)["ok"]
    refused(via("office1", "claim", question_id=question.id), "claimed")
    assert via("office1", "claim", question_id=question.id, take_over=True)["ok"]
    db.session.expire_all()
    assert question.claimed_by_id == find_user_by_login("office1").id
    refused(via("ans1", "answer", question_id=question.id, body="我还是想答。"), "claimed")
    refused(via("ans1", "claim", question_id=question.id), "claimed")
    # The record keeps the take-over after the answer is out.
    assert via("office1", "answer", question_id=question.id, body="办公室答复。")["ok"]
    sock = staff_socket(app, "host1", world["session"])
    joined = sock.emit("join", {"session_id": world["session"].id}, namespace="/moderation",
                       callback=True)
    shown = next(q for q in joined["snapshot"]["questions"] if q["id"] == question.id)
    assert [(t["from_name"], t["by_name"]) for t in shown["takeovers"]] == [("外贸一号", "王主任")]


def test_an_answerer_cannot_take_over_a_colleagues_claim(app, world, via):
    question = approved(world)
    assert via("ans1", "claim", question_id=question.id)["ok"]
    refused(via("ans2", "answer", question_id=question.id, body="我来接手。", take_over=True),
            "forbidden")
    refused(via("ans2", "claim", question_id=question.id, take_over=True), "forbidden")
    db.session.expire_all()
    assert answers_of(question) == [] and question.claimed_by_id == find_user_by_login("ans1").id
    assert db.session.scalars(select(ClaimTakeover)).all() == []


def test_a_claim_runs_out_after_claim_minutes(app, world, via):
    app.config["CLAIM_MINUTES"] = 2
    question = approved(world)
    before = utcnow()
    reply = via("ans1", "claim", question_id=question.id)
    assert reply["ok"]
    db.session.expire_all()
    assert timedelta(minutes=2) <= question.claim_expires_at - before < timedelta(minutes=2,
                                                                                   seconds=30)
    question.claim_expires_at = utcnow() - timedelta(seconds=1)  # two minutes later
    db.session.commit()
    assert via("ans2", "answer", question_id=question.id, body="有补贴。")["ok"]
    assert db.session.scalars(select(ClaimTakeover)).all() == []  # nothing was taken over


@pytest.mark.parametrize("change", ["deactivated", "moved_department", "lost_role"])
def test_a_claim_of_an_account_that_lost_access_holds_nothing(app, world, via,
                                                              make_department, change):
    question = approved(world)
    assert via("ans1", "claim", question_id=question.id)["ok"]
    watcher = staff_socket(app, "host1", world["session"])
    watcher.get_received("/moderation")
    ans1 = find_user_by_login("ans1")
    elsewhere = make_department("财政处")
    roles = [Role.HOST] if change == "lost_role" else [Role.ANSWERER]
    departments = [elsewhere.id] if change == "moved_department" else [world["trade"].id]
    auth_services.update_user(ans1, ans1.display_name, roles, departments,
                              active=change != "deactivated")
    events.commit_and_send()
    db.session.expire_all()
    if change != "lost_role":  # a host may still answer: the claim stays theirs
        assert question.claimed_by_id is None
        seen = [m["args"][0] for m in watcher.get_received("/moderation")
                if m["name"] == "question" and m["args"][0]["id"] == question.id]
        assert seen and seen[-1]["claimed_by"] is None
        assert via("ans2", "answer", question_id=question.id, body="有补贴。")["ok"]
    else:
        assert question.claimed_by_id == ans1.id
        refused(via("ans2", "answer", question_id=question.id, body="有补贴。"), "claimed")


def test_a_claim_whose_holder_lost_access_unnoticed_does_not_block(app, world, via):
    question = approved(world)
    assert via("ans1", "claim", question_id=question.id)["ok"]
    ans1 = find_user_by_login("ans1")
    ans1.active = False  # changed without the signal (a script, another worker's cache…)
    db.session.commit()
    assert via("ans2", "answer", question_id=question.id, body="有补贴。")["ok"]


# 2. Answerers never publish what no moderator approved ---------------------------------------


def test_an_answerer_cannot_publish_a_pending_question_by_answering_it(app, world, via):
    session = world["session"]
    question = world["make_question"](session, "出口信用保险有没有保费补贴？")
    http = app.test_client()
    http.get(f"/s/{session.slug}")  # the visitor cookie, as a phone gets it
    watcher = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    watcher.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)
    watcher.get_received("/qa")
    refused(via("ans1", "answer", question_id=question.id, body="有补贴。"), "forbidden")
    refused(via("ans1", "claim", question_id=question.id), "forbidden")
    db.session.expire_all()
    assert question.status == QuestionStatus.PENDING and answers_of(question) == []
    assert question.claimed_by_id is None
    assert [m for m in watcher.get_received("/qa") if m["name"] == "event"] == []
    # A moderator's answer publishes it: that is the host's decision.
    assert via("host1", "answer", question_id=question.id, body="有，按保费的50%补贴。")["ok"]
    db.session.expire_all()
    assert question.status == QuestionStatus.ANSWERED
    published = [m["args"][0]["data"] for m in watcher.get_received("/qa")
                 if m["name"] == "event" and m["args"][0]["type"] == "question"]
    assert published and published[-1]["id"] == question.id


@pytest.mark.parametrize("asked", [{"text": "群里有人組織賭.博，怎么举报？"},
                                   {"text": "出口信用保险有没有保费补贴？", "nickname": "傻逼"}])
def test_a_flagged_question_in_an_open_session_waits_for_a_moderator(app, world, asked):
    session = world["live"](ModerationMode.OPEN)
    question = world["make_question"](session, asked["text"], nickname=asked.get("nickname", ""))
    assert question.status == QuestionStatus.PENDING and question.flagged
    for kind in ("socket", "api"):
        refused(Channel(app, session, kind)("ans1", "answer", question_id=question.id,
                                            body="有补贴。"), "forbidden")
    db.session.expire_all()
    assert question.status == QuestionStatus.PENDING and answers_of(question) == []
    channel = Channel(app, session, "api")
    assert channel("host1", "approve", question_id=question.id)["ok"]
    assert channel("ans1", "answer", question_id=question.id, body="请向公安机关举报。")["ok"]


def test_a_second_reply_to_a_question_no_moderator_approved_needs_host_or_office(
        app, world):
    session = world["session"]
    question = world["make_question"](session, "这个问题还没审核过呢？")
    moderation.end_session(session, find_user_by_login("host1"))
    events.commit_and_send()
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.question_id == question.id))
    assert follow_up is not None  # opened at the end, for the department
    channel = Channel(app, session, "api")
    response = app.test_client().post(f"/api/v1/staff/follow-ups/{follow_up.id}/close",
                                      json={"status": "done", "reply": "已办结。"},
                                      headers=channel.token("ans1"))
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"
    db.session.expire_all()
    assert question.status == QuestionStatus.PENDING and answers_of(question) == []
    assert follow_up.status != FollowUpStatus.DONE
    response = app.test_client().post(f"/api/v1/staff/follow-ups/{follow_up.id}/close",
                                      json={"status": "done", "reply": "已办结。"},
                                      headers=channel.token("office1"))
    assert response.status_code == 200
    db.session.expire_all()
    assert question.status == QuestionStatus.ANSWERED


def test_a_second_reply_waits_for_a_colleagues_live_claim(app, world, via):
    question = approved(world)
    made = via("ans2", "follow_up_create", question_id=question.id)
    assert made["ok"]
    assert via("ans1", "claim", question_id=question.id)["ok"]
    if via.kind == "api":
        response = app.test_client().post(
            f"/api/v1/staff/follow-ups/{made['follow_up_id']}/close",
            json={"status": "done", "reply": "线下已办结。"}, headers=via.token("ans2"))
        assert response.status_code == 409 and response.get_json()["error"] == "claimed"
    else:
        http = app.test_client()
        http.post("/login", data={"login": "ans2", "password": PASSWORD})
        page = http.post(f"/follow-ups/{made['follow_up_id']}/close",
                         data={"reply": "线下已办结。", "outcome": ""})
        assert page.status_code == 400 and "外贸一号".encode() in page.data
    db.session.expire_all()
    assert answers_of(question) == []


# 4. A release is the holder's --------------------------------------------------------------


def test_releasing_a_claim_one_does_not_hold_is_refused(app, world, via):
    held, free = approved(world), approved(world, "跨境电商海外仓有什么支持？")
    assert via("ans1", "claim", question_id=held.id)["ok"]
    assert "外贸一号" in refused(via("ans2", "release", question_id=held.id), "forbidden")
    refused(via("host1", "release", question_id=held.id), "forbidden")  # take over instead
    db.session.expire_all()
    assert held.claimed_by_id == find_user_by_login("ans1").id
    refused(via("ans2", "release", question_id=free.id), "bad_transition")
    assert via("ans1", "release", question_id=held.id)["ok"]
    db.session.expire_all()
    assert held.claimed_by_id is None
    refused(via("ans1", "release", question_id=held.id), "bad_transition")


# The edges ------------------------------------------------------------------------------------


def test_only_a_question_waiting_for_its_answer_can_be_claimed(app, world, via):
    rejected = approved(world, "加微信领红包", visitor="v-rejected-0001")
    answered = approved(world, "跨境电商海外仓有什么支持？")
    assert via("host1", "reject", question_id=rejected.id, reason="spam")["ok"]
    assert via("ans1", "answer", question_id=answered.id, body="有专项资金。")["ok"]
    refused(via("ans1", "claim", question_id=rejected.id), "bad_transition")
    refused(via("ans1", "claim", question_id=answered.id), "bad_transition")
    # The answer stays its author's to edit, claims or not.
    answer_id = answers_of(answered)[0].id
    refused(via("ans2", "edit_answer", answer_id=answer_id, body="改一下。"), "forbidden")
    assert via("ans1", "edit_answer", answer_id=answer_id, body="有专项资金支持。")["ok"]


def test_a_bulk_rejection_leaves_a_question_someone_is_answering(app, world, via):
    held, other = approved(world), approved(world, "加微信领红包", visitor="v-spam-000001")
    assert via("ans1", "claim", question_id=held.id)["ok"]
    reply = via("host1", "bulk_reject", question_ids=[held.id, other.id], reason="off_topic")
    assert reply["done"] == 1 and reply["failed"] == 1
    first = reply["results"][0]
    assert first["error"] == "claimed" and "外贸一号" in first["message"]
    db.session.expire_all()
    assert held.status == QuestionStatus.APPROVED and other.status == QuestionStatus.REJECTED
    assert held.claimed_by_id == find_user_by_login("ans1").id
    # Rejected on its own, deliberately, it goes, and the claim with it.
    assert via("host1", "reject", question_id=held.id, reason="off_topic")["ok"]
    db.session.expire_all()
    assert held.status == QuestionStatus.REJECTED and held.claimed_by_id is None
    assert db.session.get(Question, held.id).claim_expires_at is None
