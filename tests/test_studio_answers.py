"""A text editor (文字编辑) types a guest's spoken answer and publishes it in the guest's name:
citizens see the guest, the record keeps who typed it, the console shows both. Through the
/moderation socket and the staff API, as outside clients reach them."""

from __future__ import annotations

from qa_live.auth.services import find_user_by_login
from qa_live.extensions import db
from qa_live.live.models import Answer
from tests.studio_helpers import (  # noqa: F401 - studio is a fixture
    GUEST,
    act,
    api_act,
    bearer,
    citizen,
    public,
    published_question,
    received,
    staff,
    studio,
)


def _guest_id(session, name=GUEST[0]):
    return next(g.id for g in session.guests if g.name == name)


def test_a_text_editor_publishes_a_guests_answer_in_the_guests_name(app, studio):
    session = studio["open"]
    q = published_question(studio, "open", "出口信用保险有没有保费补贴？", "v-ed-000000001")
    phone = citizen(app, session)
    host = staff(app, "host1", session)
    editor = staff(app, "editor1", session)
    me = editor.join_ack["me"]
    assert me["can_type_for_guests"] and me["guest_required"] and not me["can_moderate"]
    assert editor.join_ack["snapshot"]["questions"], "an editor sees the session's questions"
    host.get_received("/moderation")

    ack = act(editor, "answer", question_id=q.id, guest_id=_guest_id(session),
              body="有补贴，按实缴保费的一定比例给予支持。")
    assert ack["ok"], ack

    [event] = [e for e in public(phone, "question") if e["data"]["id"] == q.id]
    [answer] = event["data"]["answers"]
    assert answer["guest"] == {"name": GUEST[0], "title": GUEST[1]}
    assert answer["department"] == "对外贸易处"  # the answering unit: the session's only one
    assert "author_id" not in answer and "author_name" not in answer  # citizens never see it
    staff_view = [x for x in received(host, "question") if x["id"] == q.id][-1]["answers"][0]
    assert staff_view["guest"]["name"] == GUEST[0]
    assert staff_view["author_name"] == "文字编辑小张"
    row = db.session.get(Answer, ack["answer_id"])
    assert row.author_id == find_user_by_login("editor1").id
    assert (row.guest_name, row.guest_title) == GUEST
    # The citizen's page and the transcript read the same row.
    page = app.test_client().get(f"/s/{session.slug}").get_data(as_text=True)
    assert GUEST[0] in page and GUEST[1] in page


def test_a_text_editor_answers_only_in_a_guests_name(app, studio):
    session = studio["open"]
    q = published_question(studio, "open", "外贸企业如何申请展会补贴？", "v-ed-000000002")
    editor = staff(app, "editor1", session)
    refused = act(editor, "answer", question_id=q.id, body="我自己的答复。")
    assert refused["ok"] is False and refused["error"] == "forbidden"
    assert refused["message"] == "文字编辑以嘉宾的名义发布答复，请选择嘉宾。"
    assert db.session.query(Answer).count() == 0


def test_publishing_in_the_name_of_someone_not_a_guest_is_refused(app, studio):
    session = studio["open"]
    q = published_question(studio, "open", "跨境电商退税政策有哪些？", "v-ed-000000003")
    other_guest = _guest_id(studio["reviewed"])  # a guest, but of the other session
    editor = staff(app, "editor1", session)
    for bad in (other_guest, 999999):
        ack = act(editor, "answer", question_id=q.id, guest_id=bad, body="答复。")
        assert ack == {"ok": False, "error": "not_found",
                       "message": "该人员不是本场的嘉宾。"}, ack
    wrong_type = act(editor, "answer", question_id=q.id, guest_id="王建国", body="答复。")
    assert wrong_type["ok"] is False and wrong_type["error"] == "invalid"
    response = api_act(app, session, "editor1", "answer",
                       {"question_id": q.id, "guest_id": other_guest, "body": "答复。"})
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert db.session.query(Answer).count() == 0


def test_answerers_may_not_publish_in_a_guests_name(app, studio):
    session = studio["open"]
    q = published_question(studio, "open", "出口退税多久到账？", "v-ed-000000004")
    answerer = staff(app, "ans1", session)
    assert answerer.join_ack["me"]["can_type_for_guests"] is False
    ack = act(answerer, "answer", question_id=q.id, guest_id=_guest_id(session), body="答复。")
    assert ack["ok"] is False and ack["error"] == "forbidden"
    # In their own name, by the department rule, they may.
    assert act(answerer, "answer", question_id=q.id, body="十个工作日内到账。")["ok"]


def test_the_host_may_publish_in_a_guests_name_too(app, studio):
    session = studio["open"]
    q = published_question(studio, "open", "展会补贴比例是多少？", "v-ed-000000005")
    response = api_act(app, session, "host1", "answer",
                       {"question_id": q.id, "guest_id": _guest_id(session, "李敏"),
                        "body": "按展位费的一定比例补助。"})
    assert response.status_code == 200, response.get_json()
    row = db.session.get(Answer, response.get_json()["answer_id"])
    assert row.guest_name == "李敏" and row.author_id == find_user_by_login("host1").id


def test_an_editor_not_on_duty_cannot_open_the_console(app, studio):
    staff(app, "editor_off", studio["open"], joined=False)
    response = app.test_client().get(f"/api/v1/staff/sessions/{studio['open'].id}",
                                     headers=bearer("editor_off"))
    assert response.status_code == 403
    # The role alone opens nothing; the duty list of the session decides.
    assert app.test_client().get(f"/api/v1/staff/sessions/{studio['open'].id}",
                                 headers=bearer("editor1")).status_code == 200


def test_a_text_editor_may_claim_the_question_being_typed(app, studio):
    session = studio["open"]
    q = published_question(studio, "open", "预付卡余额如何追回？", "v-ed-000000006")
    editor = staff(app, "editor1", session)
    host = staff(app, "host1", session)
    host.get_received("/moderation")
    assert act(editor, "claim", question_id=q.id)["ok"]
    [seen] = [x for x in received(host, "question") if x["id"] == q.id]
    assert seen["claimed_by_name"] == "文字编辑小张"
