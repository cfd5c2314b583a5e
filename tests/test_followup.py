"""Follow-ups (线下落实) and second replies (二次答复): office, hosts and departments at work."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from qa_live.audit.models import AuditEntry
from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.followup import calendar, notify
from qa_live.followup import dates as followup_dates
from qa_live.followup import lists as followup_lists
from qa_live.followup import services as followups
from qa_live.followup.models import FollowUp, FollowUpChange, FollowUpStatus, NotifyState
from qa_live.live import events, moderation
from qa_live.live.models import (
    Answer,
    AnswerKind,
    AnswerRevision,
    QuestionStatus,
    RejectReason,
    SessionEvent,
)
from qa_live.live.services import QuestionRefused
from qa_live.planning.models import SessionState
from qa_live.stats import queries
from qa_live.stats.figures import Counts, Rate
from tests.conftest import PASSWORD

PHONE = "13812345678"


class World:
    """An ended session of 对外贸易处 with questions in every state, and its staff."""


@pytest.fixture
def world(make_department, make_user, make_session, make_question):
    w = World()
    w.trade = make_department("对外贸易处")
    w.consumer = make_department("消费促进处")
    w.office = make_user("office1", roles=[Role.OFFICE], name="王主任")
    w.host = make_user("host1", roles=[Role.HOST], name="主持人")
    w.ans = make_user("ans1", roles=[Role.ANSWERER], departments=[w.trade], name="外贸值班员")
    w.ans2 = make_user("ans2", roles=[Role.ANSWERER], departments=[w.trade], name="外贸二号")
    w.other = make_user("ans9", roles=[Role.ANSWERER], departments=[w.consumer], name="消费值班员")
    w.session = make_session(title="稳外贸", state=SessionState.LIVE, departments=[w.trade],
                             hosts=[w.host], answerers=[w.ans],
                             start=utcnow() - timedelta(minutes=30))
    s = w.session
    w.answered = make_question(s, "出口退税多久到账？", visitor="v-answered")
    w.unanswered = make_question(s, "外资研发中心有什么扶持？", visitor="v-unanswered",
                                 phone=PHONE)
    w.pending = make_question(s, "这个问题还没审核过呢？", visitor="v-pending")
    w.flagged = make_question(s, "小区便民菜店被拆能否增设？", visitor="v-flagged")
    w.spam = make_question(s, "加微信领红包代办补贴包过", visitor="v-spam")
    for q in (w.answered, w.unanswered, w.flagged):
        moderation.approve(q, w.host)
    moderation.answer(w.answered, w.ans, "一般十个工作日内到账。")
    moderation.answer(w.flagged, w.ans, "我们会实地调查后二次答复。")
    moderation.flag_follow_up(w.flagged, w.ans, True)
    moderation.reject(w.spam, w.host, RejectReason.SPAM)
    events.commit_and_send()
    return w


def end(w):
    moderation.end_session(w.session, w.host)
    events.commit_and_send()


def fu_of(question):
    return db.session.scalar(select(FollowUp).where(FollowUp.question_id == question.id))


def login(client, user):
    """Log in, reading pages in English (the messages these tests look for)."""
    client.post("/logout")
    client.set_cookie("lang", "en")
    return client.post("/login", data={"login": user.login, "password": PASSWORD})


def today():
    return calendar.local_today()


# At the end of the session ------------------------------------------------------------------


def test_ending_a_session_opens_follow_ups_for_what_was_not_answered(app, world):
    end(world)
    assert fu_of(world.answered) is None  # answered live, not flagged
    assert fu_of(world.spam) is None  # rejected: not a valid question
    made = {fu.question_id: fu for fu in db.session.scalars(select(FollowUp))}
    assert set(made) == {world.unanswered.id, world.pending.id, world.flagged.id}
    due = calendar.add_working_days(followup_dates.session_day(world.session), 5)
    for fu in made.values():
        assert fu.automatic and fu.status == FollowUpStatus.OPEN
        assert fu.department_id == world.trade.id  # the session's only department
        assert fu.due_date == due
        assert [c.field for c in fu.changes] == ["created"]
        assert fu.changes[0].user_id == world.host.id


def test_automatic_follow_ups_can_be_switched_off(app, world):
    app.config["FOLLOW_UP_AUTO"] = False
    end(world)
    assert db.session.scalar(select(FollowUp)) is None


def test_ending_twice_or_flagging_afterwards_makes_no_duplicates(app, world):
    end(world)
    count = len(db.session.scalars(select(FollowUp)).all())
    moderation.flag_follow_up(world.answered, world.ans, True)  # after the end: made at once
    events.commit_and_send()
    fu = fu_of(world.answered)
    assert fu is not None and fu.automatic
    moderation.flag_follow_up(world.answered, world.ans, True)
    events.commit_and_send()
    assert len(db.session.scalars(select(FollowUp)).all()) == count + 1


def test_ending_through_the_console_socket_opens_follow_ups(app, world):
    http = app.test_client()
    http.post("/login", data={"login": "host1", "password": PASSWORD})
    sock = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    assert sock.emit("join", {"session_id": world.session.id}, namespace="/moderation",
                     callback=True)["ok"]
    ack = sock.emit("end", {}, namespace="/moderation", callback=True)
    assert ack["ok"], ack
    db.session.expire_all()
    assert fu_of(world.unanswered) is not None
    sock.disconnect(namespace="/moderation")


def test_the_console_command_opens_a_follow_up_during_the_session(app, world):
    http = app.test_client()
    http.post("/login", data={"login": "ans1", "password": PASSWORD})
    sock = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    sock.emit("join", {"session_id": world.session.id}, namespace="/moderation", callback=True)
    due = calendar.add_working_days(today(), 3).isoformat()
    ack = sock.emit("follow_up_create", {"question_id": world.unanswered.id, "due_date": due,
                                         "assignee_id": world.ans2.id},
                    namespace="/moderation", callback=True)
    assert ack["ok"] and ack["due_date"] == due, ack
    again = sock.emit("follow_up_create", {"question_id": world.unanswered.id},
                      namespace="/moderation", callback=True)
    assert not again["ok"] and again["error"] == "bad_transition"
    past = sock.emit("follow_up_create", {"question_id": world.pending.id,
                                          "due_date": "2020-01-01"},
                     namespace="/moderation", callback=True)
    assert not past["ok"] and past["error"] == "invalid" and "due_date" in past["fields"]
    sock.disconnect(namespace="/moderation")
    db.session.expire_all()
    fu = fu_of(world.unanswered)
    assert fu.assignee_id == world.ans2.id and not fu.automatic
    assert fu_of(world.pending) is None


# The life cycle through the pages -----------------------------------------------------------


def test_the_office_opens_a_follow_up_and_the_department_closes_it_with_a_second_reply(
        app, client, world):
    end(world)
    fu = fu_of(world.unanswered)
    # The office hands it to a named person with a date and notes.
    login(client, world.office)
    due = calendar.add_working_days(today(), 2)
    saved = client.post(f"/follow-ups/{fu.id}/edit", data={
        "department_id": world.trade.id, "assignee_id": world.ans2.id,
        "due_date": due.isoformat(), "notes": "请外资处协同", "status": "open"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert (fu.assignee_id, fu.due_date, fu.notes) == (world.ans2.id, due, "请外资处协同")
    # The department's answerer takes it up and closes it.
    login(client, world.ans)
    listed = client.get("/follow-ups/?view=open")
    assert "外资研发中心有什么扶持？" in listed.get_data(as_text=True)
    assert client.post(f"/follow-ups/{fu.id}/edit", data={
        "department_id": world.trade.id, "assignee_id": world.ans2.id,
        "due_date": due.isoformat(), "notes": "请外资处协同",
        "status": "in_progress"}).status_code == 302
    closed = client.post(f"/follow-ups/{fu.id}/close", data={
        "reply": "经与外资处核实，研发中心可申请市级认定并享受补助。", "outcome": "已电话联系企业"})
    assert closed.status_code == 302
    db.session.expire_all()
    assert fu.status == FollowUpStatus.DONE and fu.closed_at is not None
    reply = db.session.get(Answer, fu.answer_id)
    assert reply.kind == AnswerKind.FOLLOW_UP and reply.department_id == world.trade.id
    assert reply.author_id == world.ans.id
    assert world.unanswered.status == QuestionStatus.ANSWERED
    # It went out through the session's event log: every page and the transcript get it.
    last = db.session.scalars(select(SessionEvent).where(SessionEvent.session_id ==
                                                         world.session.id)
                              .order_by(SessionEvent.seq.desc())).first()
    envelope = json.loads(last.payload)
    assert envelope["type"] == "question" and envelope["data"]["id"] == world.unanswered.id
    assert envelope["data"]["answers"][-1]["kind"] == "follow_up"
    # The citizen's private link shows it.
    citizen = app.test_client()
    page = citizen.get(f"/q/{world.unanswered.access_token}").get_data(as_text=True)
    assert "研发中心可申请市级认定并享受补助" in page
    # The history says who did what, on the follow-up's page.
    detail = client.get(f"/follow-ups/{fu.id}").get_data(as_text=True)
    fields = [c.field for c in fu.changes]
    assert fields[:1] == ["created"] and {"assignee", "due_date", "notes", "status",
                                          "reply", "outcome"} <= set(fields)
    assert "王主任" in detail and "外贸值班员" in detail
    # It is done now, and no longer editable.
    assert client.get("/follow-ups/?view=done").get_data(as_text=True).count(
        f'data-follow-up="{fu.id}"') == 1
    refused = client.post(f"/follow-ups/{fu.id}/edit", data={
        "department_id": world.trade.id, "assignee_id": 0,
        "due_date": due.isoformat(), "status": "open"})
    assert refused.status_code == 400 and "This follow-up is closed." in refused.get_data(
        as_text=True)


def test_a_pending_question_is_published_with_its_second_reply(app, world):
    end(world)
    fu = fu_of(world.pending)
    followups.close_done(fu, world.host, "已答复。")
    events.commit_and_send()
    assert world.pending.status == QuestionStatus.ANSWERED
    assert world.pending.published_at is not None


def test_an_answered_question_gets_its_second_reply_as_one_more_answer(app, world):
    end(world)
    fu = fu_of(world.flagged)
    followups.close_done(fu, world.ans, "调查后已协调在小区北门增设便民菜店。")
    events.commit_and_send()
    kinds = [a.kind for a in world.flagged.answers]
    assert kinds == [AnswerKind.LIVE, AnswerKind.FOLLOW_UP]
    assert world.flagged.status == QuestionStatus.ANSWERED


def test_the_second_reply_is_edited_with_its_history_after_the_session(app, client, world):
    end(world)
    fu = fu_of(world.flagged)
    followups.close_done(fu, world.ans, "第一稿。")
    events.commit_and_send()
    login(client, world.ans)
    edited = client.post(f"/follow-ups/{fu.id}/reply", data={"body": "第二稿，更准确。"})
    assert edited.status_code == 302
    db.session.expire_all()
    reply = db.session.get(Answer, fu.answer_id)
    assert reply.body == "第二稿，更准确。" and reply.updated_at is not None
    assert [r.body for r in db.session.scalars(select(AnswerRevision))] == ["第一稿。"]
    assert [(c.old, c.new) for c in fu.changes if c.field == "reply"][-1] == (
        "第一稿。", "第二稿，更准确。")
    empty = client.post(f"/follow-ups/{fu.id}/reply", data={"body": ""})
    assert empty.status_code == 400


def test_cannot_be_done_needs_a_reason_and_publishes_nothing(app, client, world):
    end(world)
    fu = fu_of(world.pending)
    login(client, world.host)
    missing = client.post(f"/follow-ups/{fu.id}/impossible", data={"impossible-reason": ""})
    assert missing.status_code == 400 and "has-error" in missing.get_data(as_text=True)
    ok = client.post(f"/follow-ups/{fu.id}/impossible",
                     data={"impossible-reason": "不属于本局职责，已告知向市场监管部门反映"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert fu.status == FollowUpStatus.IMPOSSIBLE and fu.reason.startswith("不属于")
    assert fu.answer_id is None and world.pending.status == QuestionStatus.PENDING
    with pytest.raises(followups.FollowUpError):
        followups.close_done(fu, world.host, "太晚了")


# Lists --------------------------------------------------------------------------------------


def test_lists_show_open_due_soon_overdue_and_closed(app, client, world):
    end(world)
    a, b, c = fu_of(world.unanswered), fu_of(world.pending), fu_of(world.flagged)
    a.due_date = today() - timedelta(days=3)  # overdue
    b.due_date = today()  # due soon
    db.session.commit()
    followups.close_impossible(c, world.host, "无法办理")
    db.session.commit()
    counts = followup_lists.list_counts(world.office)
    assert counts == {"open": 2, "due_soon": 1, "overdue": 1, "done": 1, "all": 3}
    login(client, world.office)
    page = client.get("/follow-ups/?view=open").get_data(as_text=True)
    assert f'class="fu-row fu-overdue" data-follow-up="{a.id}"' in page
    assert f'class="fu-row" data-follow-up="{b.id}"' in page
    assert "Overdue by 3 days" in page
    overdue = client.get("/follow-ups/?view=overdue").get_data(as_text=True)
    assert f'data-follow-up="{a.id}"' in overdue and f'data-follow-up="{b.id}"' not in overdue
    by_dept = client.get(f"/follow-ups/?view=all&department={world.consumer.id}")
    assert "data-follow-up=" not in by_dept.get_data(as_text=True)
    session_page = client.get(f"/follow-ups/session/{world.session.id}").get_data(as_text=True)
    assert f'/follow-ups/new/{world.answered.id}' in session_page  # no follow-up yet
    assert f'data-question="{world.spam.id}"' not in session_page


def test_the_overdue_command_for_cron(app, runner, world):
    quiet = runner.invoke(args=["followups", "overdue"])
    assert quiet.exit_code == 0 and quiet.output == ""
    end(world)
    fu = fu_of(world.unanswered)
    fu.due_date = today() - timedelta(days=2)
    db.session.commit()
    result = runner.invoke(args=["followups", "overdue"])
    assert result.exit_code == 1
    assert f"#{fu.id}\tdue {fu.due_date.isoformat()} (2d late)\t对外贸易处" in result.output
    assert "外资研发中心有什么扶持？" in result.output
    other = runner.invoke(args=["followups", "overdue", "--department",
                                str(world.consumer.id)])
    assert other.exit_code == 0


# Access -------------------------------------------------------------------------------------


def test_answerers_see_and_work_on_their_own_departments_follow_ups_only(app, client, world):
    end(world)
    fu = fu_of(world.unanswered)
    login(client, world.other)
    assert client.get(f"/follow-ups/{fu.id}").status_code == 403
    assert "data-follow-up=" not in client.get("/follow-ups/?view=all").get_data(as_text=True)
    assert client.post(f"/follow-ups/{fu.id}/close", data={"reply": "越权"}).status_code == 403
    assert client.get(f"/follow-ups/new/{world.answered.id}").status_code == 403
    assert client.get("/follow-ups/9999").status_code == 404
    db.session.expire_all()
    assert fu.status == FollowUpStatus.OPEN
    # Hosts see everything, like the office.
    login(client, world.host)
    assert client.get(f"/follow-ups/{fu.id}").status_code == 200
    # Logged out: to the login page.
    client.post("/logout")
    assert client.get("/follow-ups/").status_code == 302


def test_an_answerer_cannot_hand_a_follow_up_to_another_department(app, client, world):
    end(world)
    fu = fu_of(world.unanswered)
    login(client, world.ans)
    moved = client.post(f"/follow-ups/{fu.id}/edit", data={
        "department_id": world.consumer.id, "assignee_id": 0,
        "due_date": fu.due_date.isoformat(), "status": "open"})
    assert moved.status_code == 400  # not one of the choices offered to them
    db.session.expire_all()
    assert fu.department_id == world.trade.id
    with pytest.raises(followups.FollowUpError) as err:
        followups.update_follow_up(fu, world.ans, department_id=world.consumer.id)
    assert err.value.code == "forbidden" and err.value.field == "department_id"


# Bad input ----------------------------------------------------------------------------------


def test_bad_input_is_refused_next_to_the_field_and_nothing_is_stored(app, client, world):
    login(client, world.office)
    url = f"/follow-ups/new/{world.answered.id}"
    form = client.get(url)
    assert form.status_code == 200
    base = {"department_id": world.trade.id, "assignee_id": 0,
            "due_date": calendar.add_working_days(today(), 5).isoformat(), "notes": ""}

    past = client.post(url, data={**base, "due_date": (today() - timedelta(days=1)).isoformat()})
    assert past.status_code == 400
    assert "The due date is in the past." in past.get_data(as_text=True)

    stranger = client.post(url, data={**base, "assignee_id": world.other.id})
    assert stranger.status_code == 400
    assert "消费值班员 does not belong to 对外贸易处." in stranger.get_data(as_text=True)

    unknown = client.post(url, data={**base, "assignee_id": 424242})
    assert unknown.status_code == 400 and "has-error" in unknown.get_data(as_text=True)

    no_date = client.post(url, data={**base, "due_date": ""})
    assert no_date.status_code == 400

    assert db.session.scalar(select(FollowUp)) is None
    assert db.session.scalar(select(FollowUpChange)) is None

    ok = client.post(url, data={**base, "assignee_id": world.ans2.id, "notes": "主动跟进"})
    assert ok.status_code == 302
    assert fu_of(world.answered).assignee_id == world.ans2.id


def test_a_rejected_question_gets_no_follow_up(app, client, world):
    login(client, world.office)
    page = client.get(f"/follow-ups/new/{world.spam.id}")
    assert page.status_code == 409
    assert "A rejected question gets no follow-up." in page.get_data(as_text=True)
    posted = client.post(f"/follow-ups/new/{world.spam.id}", data={
        "department_id": world.trade.id, "assignee_id": 0,
        "due_date": calendar.add_working_days(today(), 5).isoformat()})
    assert posted.status_code == 409
    assert db.session.scalar(select(FollowUp)) is None
    with pytest.raises(followups.FollowUpError):
        followups.create_follow_up(world.spam, world.office)


# Telling the citizen ------------------------------------------------------------------------


def test_a_citizen_with_a_phone_number_is_put_on_the_to_notify_list(app, client, world):
    end(world)
    fu = fu_of(world.unanswered)
    login(client, world.ans)
    client.post(f"/follow-ups/{fu.id}/close", data={"reply": "已办结。"})
    db.session.expire_all()
    assert fu.notify_state == NotifyState.PENDING
    without_phone = fu_of(world.pending)  # never approved: the host publishes its reply
    followups.close_done(without_phone, world.host, "已办结。")
    events.commit_and_send()
    assert without_phone.notify_state == NotifyState.NONE

    listed = client.get("/follow-ups/notify").get_data(as_text=True)
    assert f'data-follow-up="{fu.id}"' in listed and "138****5678" in listed
    assert PHONE not in listed  # masked until someone asks for it
    detail = client.get(f"/follow-ups/{fu.id}").get_data(as_text=True)
    assert PHONE not in detail
    revealed = client.post(f"/follow-ups/{fu.id}/reveal")
    assert revealed.status_code == 200 and PHONE in revealed.get_data(as_text=True)
    assert revealed.headers["Cache-Control"] == "private, no-store"
    db.session.expire_all()
    assert [c.user_id for c in fu.changes if c.field == "phone_revealed"] == [world.ans.id]

    done = client.post(f"/follow-ups/{fu.id}/notified", data={"next": "notify"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/follow-ups/notify")
    db.session.expire_all()
    assert fu.notify_state == NotifyState.DONE and fu.notified_by_id == world.ans.id
    assert f'data-follow-up="{fu.id}"' not in client.get("/follow-ups/notify").get_data(
        as_text=True)


def test_a_deployment_with_a_gateway_notifies_by_itself(app, world, monkeypatch):
    sent = []

    def gateway(follow_up):
        sent.append(follow_up.question.phone)
        return True

    monkeypatch.setattr(notify, "notify_citizen", gateway)
    monkeypatch.setattr(followups, "notify_citizen", gateway)
    end(world)
    fu = fu_of(world.unanswered)
    followups.close_done(fu, world.ans, "已办结。")
    events.commit_and_send()
    assert followups.deliver_notification(fu) is True
    db.session.commit()
    assert sent == [PHONE] and fu.notify_state == NotifyState.DONE and fu.notified_by_id is None


def test_by_default_nothing_is_sent(app, world):
    end(world)
    fu = fu_of(world.unanswered)
    followups.close_done(fu, world.ans, "已办结。")
    events.commit_and_send()
    assert notify.notify_citizen(fu) is False
    assert followups.deliver_notification(fu) is False
    assert fu.notify_state == NotifyState.PENDING


# The JSON API -------------------------------------------------------------------------------


def bearer(user):
    from qa_live.auth import tokens

    _row, secret = tokens.create_token(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_the_api_lists_creates_updates_and_closes_follow_ups(app, client, world):
    headers = bearer(world.ans)
    due = calendar.add_working_days(today(), 4).isoformat()
    made = client.post("/api/v1/staff/follow-ups", headers=headers, json={
        "question_id": world.unanswered.id, "assignee_id": world.ans2.id, "due_date": due,
        "notes": "接口创建"})
    assert made.status_code == 201, made.get_json()
    body = made.get_json()["follow_up"]
    assert body["department"] == "对外贸易处" and body["due_date"] == due
    assert body["has_phone"] is True and PHONE not in json.dumps(body)
    fu_id = body["id"]

    listed = client.get("/api/v1/staff/follow-ups?view=open", headers=headers).get_json()
    assert [f["id"] for f in listed["follow_ups"]] == [fu_id]
    assert client.get("/api/v1/staff/follow-ups?view=nope", headers=headers).status_code == 400

    changed = client.patch(f"/api/v1/staff/follow-ups/{fu_id}", headers=headers,
                           json={"status": "in_progress", "assignee_id": None})
    assert changed.status_code == 200
    assert changed.get_json()["follow_up"]["status"] == "in_progress"
    assert changed.get_json()["follow_up"]["assignee_id"] is None

    past = client.patch(f"/api/v1/staff/follow-ups/{fu_id}", headers=headers,
                        json={"due_date": "2020-01-01"})
    assert past.status_code == 400 and "due_date" in past.get_json()["fields"]
    stranger = client.patch(f"/api/v1/staff/follow-ups/{fu_id}", headers=headers,
                            json={"assignee_id": world.other.id})
    assert stranger.status_code == 400 and "assignee_id" in stranger.get_json()["fields"]
    bad_date = client.patch(f"/api/v1/staff/follow-ups/{fu_id}", headers=headers,
                            json={"due_date": "next week"})
    assert bad_date.status_code == 400
    no_close = client.patch(f"/api/v1/staff/follow-ups/{fu_id}", headers=headers,
                            json={"status": "done"})
    assert no_close.status_code == 400

    empty = client.post(f"/api/v1/staff/follow-ups/{fu_id}/close", headers=headers,
                        json={"status": "done", "reply": "  "})
    assert empty.status_code == 400 and "reply" in empty.get_json()["fields"]
    closed = client.post(f"/api/v1/staff/follow-ups/{fu_id}/close", headers=headers,
                         json={"status": "done", "reply": "接口二次答复。"})
    assert closed.status_code == 200
    result = closed.get_json()["follow_up"]
    assert result["status"] == "done" and result["notify_state"] == "pending"
    assert [c["field"] for c in result["changes"]][:1] == ["created"]
    again = client.post(f"/api/v1/staff/follow-ups/{fu_id}/close", headers=headers,
                        json={"status": "impossible", "reason": "x"})
    assert again.status_code == 409

    one = client.get(f"/api/v1/staff/follow-ups/{fu_id}", headers=headers).get_json()
    assert one["follow_up"]["answer_id"] is not None


def test_the_api_refuses_other_departments_and_rejected_questions(app, client, world):
    office = bearer(world.office)
    spam = client.post("/api/v1/staff/follow-ups", headers=office,
                       json={"question_id": world.spam.id})
    assert spam.status_code == 409 and spam.get_json()["error"] == "bad_transition"
    made = client.post("/api/v1/staff/follow-ups", headers=office,
                       json={"question_id": world.unanswered.id})
    assert made.status_code == 201
    fu_id = made.get_json()["follow_up"]["id"]
    other = bearer(world.other)
    assert client.get(f"/api/v1/staff/follow-ups/{fu_id}", headers=other).status_code == 403
    assert client.get("/api/v1/staff/follow-ups?view=all",
                      headers=other).get_json()["follow_ups"] == []
    assert client.post("/api/v1/staff/follow-ups", headers=other,
                       json={"question_id": world.pending.id}).status_code == 403
    assert client.post(f"/api/v1/staff/follow-ups/{fu_id}/close", headers=other,
                       json={"status": "done", "reply": "x"}).status_code == 403
    assert client.get("/api/v1/staff/follow-ups").status_code == 401
    assert client.post("/api/v1/staff/follow-ups", headers=office,
                       json={"question_id": 999999}).status_code == 404


def test_the_default_due_date_counts_holidays(app, world):
    world.session.ended_at = None
    calendar.set_day(date.fromordinal(today().toordinal() + 1), calendar.DayKind.HOLIDAY, "x")
    db.session.commit()
    expected = calendar.add_working_days(today(), 5)
    assert followup_dates.default_due_date(world.session) == expected
    plain = [today() + timedelta(days=n) for n in range(1, 15)]
    assert expected == [d for d in plain
                        if calendar.is_working_day(d)][4]


def test_the_close_rate_counts_closed_over_all_with_impossible_apart(app, world):
    """The statistics' figures (the one implementation every surface reads)."""
    end(world)
    counts = queries.session_report(world.session).session.counts
    assert (counts.follow_ups_opened, counts.close_rate.percent()) == (3, "0%")
    followups.close_done(fu_of(world.unanswered), world.ans, "已办结。")
    followups.close_impossible(fu_of(world.pending), world.ans, "无法办理")
    late = fu_of(world.flagged)
    late.due_date = today() - timedelta(days=1)
    events.commit_and_send()
    counts = queries.session_report(world.session, today()).session.counts
    assert (counts.follow_ups_opened, counts.follow_ups_done, counts.follow_ups_impossible,
            counts.follow_ups_open, counts.follow_ups_overdue) == (3, 1, 1, 1, 1)
    assert counts.close_rate == Rate(2, 3) and counts.close_rate.percent() == "66.6%"
    assert Counts().close_rate.percent() == "—"


def test_a_second_reply_is_refused_exactly_as_a_live_answer_would_be(app, world):
    """One publish_answer: the console's answer and a follow-up's close check the text alike."""
    too_long = "答" * (app.config["ANSWER_MAX_LENGTH"] + 1)
    live = {}
    for body in ("   ", too_long):
        with pytest.raises(QuestionRefused) as refused:
            moderation.answer(world.unanswered, world.ans, body)
        live[body] = (refused.value.code, str(refused.value))
        db.session.rollback()
    end(world)
    follow_up = fu_of(world.unanswered)
    for body in ("   ", too_long):
        with pytest.raises(followups.FollowUpError) as refused:
            followups.close_done(follow_up, world.ans, body)
        assert (refused.value.code, str(refused.value)) == live[body]
        assert refused.value.field == "reply"
        db.session.rollback()
    reply = followups.close_done(follow_up, world.ans, "  已协调解决。 ")
    events.commit_and_send()
    assert reply.body == "已协调解决。" and reply.kind == AnswerKind.FOLLOW_UP
    assert world.unanswered.status == QuestionStatus.ANSWERED


def test_follow_up_actions_through_the_api_are_audited_like_the_pages(app, client, world):
    """The operations write the audit entry, so the API's actions are in the log too."""
    headers = bearer(world.ans)
    made = client.post("/api/v1/staff/follow-ups", headers=headers, json={
        "question_id": world.unanswered.id, "notes": "接口创建"}).get_json()["follow_up"]
    fu_id = made["id"]
    assert client.patch(f"/api/v1/staff/follow-ups/{fu_id}", headers=headers,
                        json={"status": "in_progress"}).status_code == 200
    refused = client.post(f"/api/v1/staff/follow-ups/{fu_id}/close", headers=headers,
                          json={"status": "done", "reply": ""})
    assert refused.status_code == 400  # refused: leaves no entry
    assert client.post(f"/api/v1/staff/follow-ups/{fu_id}/close", headers=headers,
                       json={"status": "done", "reply": "接口二次答复。"}).status_code == 200
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.target_type == "follow_up")
                                 .order_by(AuditEntry.id)).all()
    assert [(e.action, e.login, e.target_id, e.session_id) for e in entries] == [
        ("follow_up_create", "ans1", fu_id, world.session.id),
        ("follow_up_update", "ans1", fu_id, world.session.id),
        ("follow_up_close", "ans1", fu_id, world.session.id),
    ]
    assert json.loads(entries[1].detail) == {"fields": ["status"]}
    assert json.loads(entries[2].detail)["status"] == "done"
