"""A reviewed session: answers and host posts go public only once a reviewer (审核) approves them.
The reviewer approves, edits and approves, or sends back with a reason; the author sees the state
in the console; publishing without review is refused. Through the socket and the API."""

from __future__ import annotations

import json

from sqlalchemy import select

from qa_live.extensions import db
from qa_live.followup.models import FollowUp, FollowUpStatus
from qa_live.live.models import Answer, HostPost, SessionEvent
from qa_live.live.review_models import ReviewItem, ReviewState
from qa_live.planning.models import SessionState
from tests.conftest import PASSWORD
from tests.studio_helpers import (  # noqa: F401 - studio is a fixture
    GUEST,
    act,
    api_act,
    audit_of,
    bearer,
    citizen,
    public,
    published_question,
    received,
    staff,
    studio,
)


def _guest(session):
    return next(g.id for g in session.guests if g.name == GUEST[0])


def _public_types(session):
    return [e.type for e in db.session.scalars(
        select(SessionEvent).where(SessionEvent.session_id == session.id)
        .order_by(SessionEvent.seq))]


def test_publishing_without_review_is_refused_through_the_socket_and_the_api(app, studio):
    session = studio["reviewed"]
    q = published_question(studio, "reviewed", "小微企业出口信保有补贴吗？", "v-rv-000000001")
    before = _public_types(session)
    for login, event, data in (
        ("ans1", "answer", {"question_id": q.id, "body": "有补贴。"}),
        ("editor1", "answer", {"question_id": q.id, "guest_id": _guest(session), "body": "有。"}),
        ("host1", "post", {"kind": "policy", "body": "政策解读：……"}),
    ):
        ack = act(staff(app, login, session), event, **data)
        assert ack["ok"] is False and ack["error"] == "review_required", (login, ack)
        assert ack["message"] == "本场需要审核：请提交审核，审核通过后发布。"
        response = api_act(app, session, login, event, data)
        assert response.status_code == 409 and response.get_json()["error"] == "review_required"
    assert db.session.query(Answer).count() == 0 and db.session.query(HostPost).count() == 0
    assert _public_types(session) == before  # nothing reached the public log
    # The unreviewed interview publishes directly, as before.
    open_q = published_question(studio, "open", "同样的问题？", "v-rv-000000002")
    assert act(staff(app, "ans1", studio["open"]), "answer", question_id=open_q.id,
               body="可以。")["ok"]


def test_a_second_reply_does_not_bypass_the_review_while_the_session_is_open(app, studio):
    """A follow-up's second reply is published like an answer: not past the reviewer."""
    session = studio["reviewed"]
    q = published_question(studio, "reviewed", "外贸企业的退税多久到账？", "v-rv-000000009")
    http = app.test_client()
    headers = bearer("ans1")
    made = http.post("/api/v1/staff/follow-ups", json={"question_id": q.id}, headers=headers)
    assert made.status_code == 201, made.get_json()
    follow_up_id = made.get_json()["follow_up"]["id"]
    phone = citizen(app, session)
    phone.get_received("/qa")
    refused = http.post(f"/api/v1/staff/follow-ups/{follow_up_id}/close", headers=headers,
                        json={"status": "done", "reply": "一般十个工作日内到账。"})
    assert refused.status_code == 409, refused.get_json()
    assert refused.get_json()["error"] == "review_required"
    assert "审核" in refused.get_json()["message"]
    # Nothing stored and nothing public: no answer, the follow-up still open.
    db.session.expire_all()
    assert db.session.query(Answer).count() == 0 and public(phone) == []
    assert db.session.get(FollowUp, follow_up_id).status == FollowUpStatus.OPEN
    # The follow-up's page says so next to the reply, and keeps what was typed.
    page = app.test_client()
    page.post("/login", data={"login": "ans1", "password": PASSWORD})
    form = page.post(f"/follow-ups/{follow_up_id}/close", data={"reply": "十个工作日内到账。"})
    assert form.status_code == 400
    html = form.get_data(as_text=True)
    assert "本场需要审核且尚未结束" in html and "十个工作日内到账。" in html
    db.session.expire_all()
    assert db.session.query(Answer).count() == 0
    # Once the session is over the review no longer applies: the second reply goes out.
    session.state = SessionState.ENDED
    db.session.commit()
    done = http.post(f"/api/v1/staff/follow-ups/{follow_up_id}/close", headers=headers,
                     json={"status": "done", "reply": "一般十个工作日内到账。"})
    assert done.status_code == 200, done.get_json()
    assert db.session.query(Answer).count() == 1


def test_an_editors_answer_waits_for_the_reviewer_then_reaches_citizens(app, studio):
    session = studio["reviewed"]
    q = published_question(studio, "reviewed", "展会补贴什么时候申报？", "v-rv-000000003")
    phone = citizen(app, session)
    editor = staff(app, "editor1", session)
    reviewer = staff(app, "reviewer1", session)
    assert reviewer.join_ack["me"]["can_review"] and not editor.join_ack["me"]["can_review"]
    phone.get_received("/qa")

    sent = act(editor, "submit_review", kind="answer", question_id=q.id,
               guest_id=_guest(session), body="每年三月集中申报。")
    assert sent["ok"], sent
    item = sent["item"]
    assert item["state"] == "pending" and item["fields"]["guest"]["name"] == GUEST[0]
    assert public(phone) == [], "nothing is public before the review"
    [queued] = [i for i in received(reviewer, "review") if i["id"] == item["id"]]
    assert queued["author_name"] == "文字编辑小张" and queued["body"] == "每年三月集中申报。"
    # A console opened now lists it too; citizens' snapshots do not.
    assert [i["id"] for i in staff(app, "host1", session).join_ack["snapshot"]["review_items"]] \
        == [item["id"]]
    stream = app.test_client().get(f"/api/v1/sessions/{session.slug}/stream").get_json()
    assert "每年三月" not in str(stream)

    ack = act(reviewer, "review_approve", item_id=item["id"])
    assert ack["ok"] and ack["item"]["state"] == "approved", ack
    [event] = [e for e in public(phone, "question") if e["data"]["id"] == q.id]
    [answer] = event["data"]["answers"]
    assert answer["body"] == "每年三月集中申报。" and answer["guest"]["name"] == GUEST[0]
    row = db.session.get(Answer, ack["item"]["target_id"])
    assert row.author_id == item["author_id"]  # the editor stays the author, not the reviewer
    states = [i["state"] for i in received(editor, "review") if i["id"] == item["id"]]
    assert states[-1] == "approved"  # the author sees it
    assert [len(audit_of(a)) for a in ("review_submit", "review_approve")] == [1, 1]


def test_sent_back_with_a_reason_changed_and_approved_with_the_reviewers_edit(app, studio):
    session = studio["reviewed"]
    q = published_question(studio, "reviewed", "预付卡跑路怎么办？", "v-rv-000000004")
    author = staff(app, "ans1", session)
    reviewer = staff(app, "reviewer1", session)
    item = act(author, "submit_review", kind="answer", question_id=q.id, body="找商家。")["item"]

    no_reason = act(reviewer, "review_return", item_id=item["id"], reason="   ")
    assert no_reason["ok"] is False and no_reason["error"] == "invalid"
    back = act(reviewer, "review_return", item_id=item["id"], reason="请写明投诉渠道。")
    assert back["ok"] and back["item"]["state"] == "returned"
    author.get_received("/moderation")
    snapshot_item = staff(app, "ans1", session).join_ack["snapshot"]["review_items"][0]
    assert snapshot_item["state"] == "returned" and snapshot_item["reason"] == "请写明投诉渠道。"
    # Approving what was sent back is not possible; only its author sends it again.
    assert act(reviewer, "review_approve", item_id=item["id"])["error"] == "bad_transition"
    assert act(staff(app, "host1", session), "review_resubmit", item_id=item["id"],
               body="改写")["error"] == "forbidden"
    again = act(author, "review_resubmit", item_id=item["id"],
                body="可拨打12315或向市场秩序处投诉。")
    assert again["ok"] and again["item"]["state"] == "pending"

    edited = act(reviewer, "review_approve", item_id=item["id"],
                 body="可拨打12315热线，或向市商务局市场秩序处投诉。")
    assert edited["ok"], edited
    assert edited["item"]["edited"] is True
    assert edited["item"]["original_body"] == "可拨打12315或向市场秩序处投诉。"
    [answer] = db.session.get(type(q), q.id).answers
    assert answer.body == "可拨打12315热线，或向市商务局市场秩序处投诉。"
    assert json.loads(audit_of("review_return")[0].detail)["reason"] == "请写明投诉渠道。"
    assert json.loads(audit_of("review_approve")[0].detail)["edited"] is True


def test_who_may_review(app, studio):
    session = studio["reviewed"]
    q = published_question(studio, "reviewed", "外资研发中心有何扶持？", "v-rv-000000005")
    item = act(staff(app, "ans1", session), "submit_review", kind="answer", question_id=q.id,
               body="有专项资金。")["item"]
    for login in ("host1", "editor1", "director1", "ans1"):
        ack = act(staff(app, login, session), "review_approve", item_id=item["id"])
        assert ack["ok"] is False and ack["error"] == "forbidden", (login, ack)
    staff(app, "reviewer_off", session, joined=False)  # the role without the duty: no console
    office = api_act(app, session, "office1", "review_approve", {"item_id": item["id"]})
    assert office.status_code == 200, office.get_json()  # the office may review


def test_nobody_reviews_what_they_wrote(app, studio):
    session = studio["reviewed"]
    ack = api_act(app, session, "host1", "submit_review",
                  {"kind": "post", "post_kind": "notice", "body": "访谈将于十点开始。"})
    assert ack.status_code == 200
    item_id = ack.get_json()["item"]["id"]
    own = api_act(app, session, "office1", "submit_review",
                  {"kind": "post", "body": "办公室自己写的解读。"}).get_json()["item"]["id"]
    refused = api_act(app, session, "office1", "review_approve", {"item_id": own})
    assert refused.status_code == 403
    assert refused.get_json()["message"] == "自己撰写的内容须由他人审核。"
    phone = citizen(app, session)
    phone.get_received("/qa")
    assert act(staff(app, "reviewer1", session), "review_approve", item_id=item_id)["ok"]
    [post] = public(phone, "post")
    assert post["data"]["body"] == "访谈将于十点开始。" and post["data"]["kind"] == "notice"


def test_in_a_reviewed_session_only_a_reviewer_rewords_what_was_published(app, studio):
    session = studio["reviewed"]
    q = published_question(studio, "reviewed", "菜市场改造何时完成？", "v-rv-000000006")
    author = staff(app, "ans1", session)
    item = act(author, "submit_review", kind="answer", question_id=q.id, body="年底前。")["item"]
    answer_id = act(staff(app, "reviewer1", session), "review_approve",
                    item_id=item["id"])["item"]["target_id"]
    refused = act(author, "edit_answer", answer_id=answer_id, body="明年。")
    assert refused["ok"] is False and refused["error"] == "review_required"
    assert act(staff(app, "reviewer1", session), "edit_answer", answer_id=answer_id,
               body="年底前完成改造。")["ok"]
    assert db.session.get(Answer, answer_id).body == "年底前完成改造。"


def test_bad_review_payloads_get_clear_errors(app, studio):
    session = studio["reviewed"]
    editor = staff(app, "editor1", session)
    q = published_question(studio, "reviewed", "口岸通关时间多久？", "v-rv-000000007")
    cases = [
        ({"kind": "poster", "body": "x"}, "invalid"),
        ({"kind": "answer", "question_id": q.id, "guest_id": _guest(session), "body": ""},
         "invalid"),
        ({"kind": "answer", "question_id": q.id, "guest_id": 424242, "body": "答复"},
         "not_found"),
        ({"kind": "answer", "question_id": 987654, "guest_id": _guest(session), "body": "答"},
         "not_found"),
        ({"kind": "post", "body": "编辑不能发帖"}, "forbidden"),
    ]
    for data, error in cases:
        ack = act(editor, "submit_review", **data)
        assert ack["ok"] is False and ack["error"] == error, (data, ack)
        assert ack["message"]
    assert act(editor, "review_approve", item_id="1")["error"] == "invalid"
    assert act(editor, "review_approve", item_id=555)["error"] == "not_found"
    # Review in a session that is not reviewed: refused, so nobody waits for a reviewer.
    open_q = published_question(studio, "open", "不需要审核的问题？", "v-rv-000000008")
    not_reviewed = act(staff(app, "ans1", studio["open"]), "submit_review", kind="answer",
                       question_id=open_q.id, body="答复")
    assert not_reviewed["error"] == "not_reviewed"
    assert db.session.query(ReviewItem).count() == 0
    assert not db.session.scalars(select(ReviewItem).where(
        ReviewItem.state == ReviewState.PENDING)).all()
