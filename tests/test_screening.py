"""Sensitive-word screening catches the variants people use, in questions and nicknames; the
office keeps the list on a page and with `flask words`, and every worker screens with the new
list from its next question on."""

from __future__ import annotations

import io
import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from qa_live import create_app
from qa_live.audit.models import AuditEntry
from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import sensitive, wordlist
from qa_live.live.models import Question, QuestionStatus
from qa_live.live.screening import fold, locate
from qa_live.live.sensitive_models import SensitiveWord
from qa_live.planning.models import ModerationMode, SessionState
from tests.conftest import PASSWORD, _isolate_requests, config_for

# -- folding ------------------------------------------------------------------------------------

#: (what a citizen writes, the list word it must hit). The list is data/sensitive_words.txt.
VARIANTS = [
    ("请问賭博网站怎么举报？", "赌博"),  # traditional characters
    ("小区里有人藏炸彈吗", "炸弹"),
    ("可以代開發票，价格优惠", "代开发票"),
    ("招聘兼職日結，日入三百", "兼职日结"),
    ("有人在群里赌.博，怎么办", "赌博"),  # punctuation inside the word
    ("有人在群里赌*博，怎么办", "赌博"),
    ("有人在群里赌·博，怎么办", "赌博"),
    ("有人在群里賭-博，怎么办", "赌博"),  # both at once
    ("有人在群里赌\u200b博，怎么办", "赌博"),  # zero-width space
    ("有人在群里赌\u200d博\ufeff，怎么办", "赌博"),  # zero-width joiner, BOM
    ("有人在群里赌\u00ad博，怎么办", "赌博"),  # soft hyphen
    ("有人在群里赌\u0336博，怎么办", "赌博"),  # combining strike-through
    ("有人在群里赌🎲博，怎么办", "赌博"),  # emoji
    ("有人在群里赌 博，怎么办", "赌博"),  # plain and full-width spaces
    ("有人在群里赌\u3000博，怎么办", "赌博"),
    ("领补贴请加 微 信", "加微信"),
    ("领补贴请加ＶＸ：abc123", "vx"),  # full-width Latin
    ("领补贴请加Ｖ.Ｘ", "vx"),
    ("领补贴请联系WeChat客服", "wechat"),  # case
    ("领补贴请联系ＷＥＣＨＡＴ客服", "wechat"),
    ("这什么破政策，shit", "shit"),
    ("你们都是SB吗？", "sb"),
    ("你们都是Ｓ Ｂ吗？", "sb"),
    ("你们真是傻逼", "傻逼"),
    ("你们真是傻.逼", "傻逼"),
]


@pytest.mark.parametrize(("text", "word"), VARIANTS)
def test_variants_of_listed_words_are_hits(app, text, word):
    assert word in sensitive.find_hits(text), text


@pytest.mark.parametrize("text", [
    "我的USB接口坏了，能报修吗？",  # "sb" inside a Latin word is not the word
    "出口信用保险有没有保费补贴？",
    "申请政府信息公开要多久能答复？",
    "Essex大学的学历认证怎么办理？",
])
def test_clean_questions_and_latin_inside_words_are_not_hits(app, text):
    assert sensitive.find_hits(text) == []


def test_a_hit_is_reported_as_the_span_the_citizen_wrote():
    text = "群里有人賭.博，还有人加ＶＸ"
    hits = locate(text, ["赌博", "vx"])
    assert [(h.word, h.text) for h in hits] == [("赌博", "賭.博"), ("vx", "ＶＸ")]
    assert [text[h.start:h.end] for h in hits] == ["賭.博", "ＶＸ"]


def test_folding_keeps_where_each_character_came_from():
    folded, origin = fold("A，賭\u200b博")
    assert folded == "a赌博" and origin == [0, 2, 4]


# -- through the live path: socket and API --------------------------------------------------


@pytest.fixture
def world(make_session, make_department, make_user):
    trade = make_department("对外贸易处")
    make_user("office1", roles=[Role.OFFICE])
    make_user("host1", roles=[Role.HOST])
    make_user("ans1", roles=[Role.ANSWERER], departments=[trade])

    def live(mode=ModerationMode.PRE):
        return make_session(state=SessionState.LIVE, departments=[trade],
                            start=utcnow() - timedelta(minutes=5), moderation_mode=mode)

    return {"live": live, "trade": trade}


def citizen(app, session):
    http = app.test_client()
    http.get(f"/s/{session.slug}")
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    sock.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)
    return sock


def staff(app, login, session):
    http = app.test_client()
    http.post("/login", data={"login": login, "password": PASSWORD})
    sock = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    assert sock.emit("join", {"session_id": session.id}, namespace="/moderation",
                     callback=True)["ok"]
    return sock


def bearer(login):
    from qa_live.auth.services import find_user_by_login

    _row, secret = tokens.create_token(find_user_by_login(login), "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def ask_socket(sock, text, nickname=""):
    return sock.emit("ask", {"text": text, "nickname": nickname, "client_id": str(uuid.uuid4())},
                     namespace="/qa", callback=True)


def ask_api(app, session, text, nickname=""):
    return app.test_client().post(
        f"/api/v1/sessions/{session.slug}/questions",
        json={"text": text, "nickname": nickname, "client_id": str(uuid.uuid4())})


def public_events(sock, type_):
    return [m["args"][0]["data"] for m in sock.get_received("/qa")
            if m["name"] == "event" and m["args"][0]["type"] == type_]


def staff_events(sock, name="question"):
    return [m["args"][0] for m in sock.get_received("/moderation") if m["name"] == name]


def test_a_traditional_variant_is_held_in_open_mode_over_the_socket(app, world):
    session = world["live"](ModerationMode.OPEN)
    watcher = citizen(app, session)
    host = staff(app, "host1", session)
    ack = ask_socket(citizen(app, session), "听说有人在群里組織賭.博，怎么举报？")
    assert ack["ok"] and ack["question"]["status"] == "pending"
    clean = ask_socket(citizen(app, session), "出口信用保险有没有保费补贴？")
    assert clean["question"]["status"] == "approved"
    assert [q["id"] for q in public_events(watcher, "question")] == [clean["question"]["id"]]
    flagged = next(q for q in staff_events(host) if q["id"] == ack["question"]["id"])
    assert flagged["sensitive_hits"] == ["赌博"]
    assert flagged["sensitive_spans"] == [{"word": "赌博", "start": 9, "end": 12,
                                           "text": "賭.博"}]


def test_a_variant_asked_through_the_api_waits_for_review(app, world):
    session = world["live"](ModerationMode.OPEN)
    response = ask_api(app, session, "招聘兼職日結，请加ＶＸ了解")
    assert response.status_code == 201
    stored = db.session.get(Question, response.get_json()["question"]["id"])
    assert stored.status == QuestionStatus.PENDING
    assert stored.sensitive_hits.split("\n") == ["兼职日结", "vx"]


# -- nicknames -------------------------------------------------------------------------------


@pytest.mark.parametrize("nickname", ["傻逼", "他妈的", "傻.逼", "他媽的"])
def test_an_abusive_nickname_holds_a_clean_question_in_open_mode(app, world, nickname):
    session = world["live"](ModerationMode.OPEN)
    watcher = citizen(app, session)
    host = staff(app, "host1", session)
    ack = ask_socket(citizen(app, session), "出口信用保险有没有保费补贴？", nickname=nickname)
    assert ack["ok"] and ack["question"]["status"] == "pending"
    assert public_events(watcher, "question") == []
    seen = next(q for q in staff_events(host) if q["id"] == ack["question"]["id"])
    assert seen["sensitive_hits"] == [] and seen["nickname_hits"]
    assert seen["nickname_spans"][0]["text"] == nickname


def test_an_abusive_nickname_is_flagged_in_pre_moderation_through_the_api(app, world):
    session = world["live"](ModerationMode.PRE)
    response = ask_api(app, session, "出口信用保险有没有保费补贴？", nickname="他妈的")
    stored = db.session.get(Question, response.get_json()["question"]["id"])
    assert stored.status == QuestionStatus.PENDING and stored.nickname_hits == "他妈的"
    snapshot = app.test_client().get(f"/api/v1/staff/sessions/{session.id}",
                                     headers=bearer("host1")).get_json()
    assert snapshot["questions"][0]["nickname_hits"] == ["他妈的"]


def test_a_moderator_clears_a_nickname_over_the_socket_and_the_question_stays(app, world):
    session = world["live"](ModerationMode.PRE)
    ack = ask_socket(citizen(app, session), "出口信用保险有没有保费补贴？", nickname="傻逼")
    question_id = ack["question"]["id"]
    host = staff(app, "host1", session)
    assert host.emit("approve", {"question_id": question_id}, namespace="/moderation",
                     callback=True)["ok"]
    watcher = citizen(app, session)
    snap_before = app.test_client().get(f"/api/v1/sessions/{session.slug}/stream").get_json()
    assert snap_before["snapshot"]["questions"][0]["nickname"] == "傻逼"
    done = host.emit("clear_nickname", {"question_id": question_id}, namespace="/moderation",
                     callback=True)
    assert done == {"ok": True, "question_id": question_id}
    published = public_events(watcher, "question")
    assert published and published[-1]["nickname"] == "网民"  # the default name, as for no nickname
    assert published[-1]["status"] == "approved"
    stored = db.session.get(Question, question_id)
    assert stored.nickname == "" and stored.nickname_hits == ""
    assert stored.status == QuestionStatus.APPROVED
    entry = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "clear_nickname")).one()
    assert entry.login == "host1" and entry.target_id == question_id
    assert json.loads(entry.detail) == {"nickname": "傻逼"}
    again = host.emit("clear_nickname", {"question_id": question_id}, namespace="/moderation",
                      callback=True)
    assert again["ok"] is False and again["error"] == "bad_transition"


def test_clearing_a_nickname_through_the_api_is_for_moderators(app, world):
    session = world["live"](ModerationMode.PRE)
    response = ask_api(app, session, "出口信用保险有没有保费补贴？", nickname="他妈的")
    question_id = response.get_json()["question"]["id"]
    url = f"/api/v1/staff/sessions/{session.id}/actions/clear_nickname"
    refused = app.test_client().post(url, json={"question_id": question_id},
                                     headers=bearer("ans1"))
    assert refused.status_code == 403
    done = app.test_client().post(url, json={"question_id": question_id},
                                  headers=bearer("office1"))
    assert done.status_code == 200 and done.get_json()["question_id"] == question_id
    assert db.session.get(Question, question_id).nickname == ""
    mine = db.session.get(Question, question_id)
    assert mine.status == QuestionStatus.PENDING  # still waits for the moderator's approval


# -- every worker screens with the new list ---------------------------------------------------


def test_a_change_made_elsewhere_reaches_this_worker_at_its_next_question(app, db_url):
    assert sensitive.find_hits("周末去澳门玩百家乐") == []
    db.session.commit()  # as every request ends (the first use loaded the default file)
    other = create_app(config_for(db_url))  # another worker on the same database
    _isolate_requests(other)
    with other.app_context():
        wordlist.add_words(["百家乐"], None, login="test")
        db.session.commit()
        db.session.remove()
    assert sensitive.find_hits("周末去澳门玩百家乐") == ["百家乐"]
    db.session.commit()
    # Taking the newest entry off and adding one gives the same count (and on SQLite the same
    # highest id): the version still tells the workers apart.
    with other.app_context():
        wordlist.remove_words(["百家乐"], None, login="test")
        wordlist.add_words(["二十一点"], None, login="test")
        db.session.commit()
        db.session.remove()
    assert sensitive.find_hits("周末去澳门玩百家乐和二十一点") == ["二十一点"]


def test_the_default_file_is_loaded_once_and_an_emptied_list_stays_empty(app):
    assert sensitive.find_hits("你们真是傻逼")  # loaded on first use
    words = list(db.session.scalars(select(SensitiveWord.word)))
    wordlist.remove_words(words, None, login="test")
    db.session.commit()
    assert sensitive.find_hits("你们真是傻逼") == []
    assert db.session.scalar(select(SensitiveWord.id)) is None


# -- the office page --------------------------------------------------------------------------


def login(app, who):
    http = app.test_client()
    http.post("/login", data={"login": who, "password": PASSWORD})
    return http


def csrf_of(http, url):
    page = http.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]* value="([^"]+)"', page).group(1)


def audit_actions():
    return [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.action.startswith("sensitive_word")]


def test_the_word_list_page_is_for_the_office_and_needs_the_csrf_token(db_url, world):
    guarded = create_app(config_for(db_url, WTF_CSRF_ENABLED=True))
    _isolate_requests(guarded)
    with guarded.app_context():
        host = guarded.test_client()
        host.post("/login", data={"login": "host1", "password": PASSWORD,
                                  "csrf_token": csrf_of(host, "/login")})
        assert host.get("/office/sensitive-words/").status_code == 403
        assert guarded.test_client().get("/office/sensitive-words/").status_code == 302
        office = guarded.test_client()
        office.post("/login", data={"login": "office1", "password": PASSWORD,
                                    "csrf_token": csrf_of(office, "/login")})
        page = office.get("/office/sensitive-words/")
        assert page.status_code == 200 and "傻逼" in page.get_data(as_text=True)
        forged = office.post("/office/sensitive-words/add", data={"words": "百家乐"})
        assert forged.status_code == 400
        assert db.session.scalar(select(SensitiveWord).where(
            SensitiveWord.word == "百家乐")) is None
        word = db.session.scalar(select(SensitiveWord).where(SensitiveWord.word == "傻逼"))
        assert office.post(f"/office/sensitive-words/{word.id}/remove").status_code == 400
        done = office.post("/office/sensitive-words/add", data={
            "words": "百家乐", "csrf_token": csrf_of(office, "/office/sensitive-words/")})
        assert done.status_code == 302
        db.session.remove()


def test_the_office_adds_searches_removes_imports_and_exports_words(app, world):
    office = login(app, "office1")
    token = csrf_of(office, "/office/sensitive-words/")
    added = office.post("/office/sensitive-words/add", follow_redirects=True, data={
        "csrf_token": token, "words": "百家乐\n賭博\nX\nBaccarat"})
    text = added.get_data(as_text=True)
    assert added.status_code == 200
    assert "百家乐" in text and "Baccarat" in text
    assert "赌博" in text and "X" in text  # both left out, each with its reason shown
    assert sensitive.find_hits("线上BACCARAT开户") == ["Baccarat"]

    found = office.get("/office/sensitive-words/?q=百家").get_data(as_text=True)
    assert "百家乐" in found and "傻逼" not in found
    variant = office.get("/office/sensitive-words/?q=賭").get_data(as_text=True)
    assert "赌博" in variant

    entry = db.session.scalar(select(SensitiveWord).where(SensitiveWord.word == "百家乐"))
    removed = office.post(f"/office/sensitive-words/{entry.id}/remove",
                          data={"csrf_token": token}, follow_redirects=True)
    assert removed.status_code == 200
    assert sensitive.find_hits("周末玩百家乐") == []

    upload = (io.BytesIO("# 外来名单\n六合彩\n时时彩  # 彩票\n".encode()), "words.txt")
    imported = office.post("/office/sensitive-words/import", follow_redirects=True,
                           data={"csrf_token": token, "file": upload},
                           content_type="multipart/form-data")
    assert imported.status_code == 200
    assert sensitive.find_hits("六合彩和时时彩") == ["六合彩", "时时彩"]

    exported = office.get("/office/sensitive-words/export")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    body = exported.get_data(as_text=True)
    assert "六合彩\n" in body and "百家乐" not in body
    assert wordlist.parse_lines(body)  # the export reads back as an import

    assert audit_actions() == ["sensitive_word_import",  # the first load, from the file
                               "sensitive_word_add", "sensitive_word_remove",
                               "sensitive_word_import", "sensitive_word_export"]
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("sensitive_word%"), AuditEntry.login == "office1")).all()
    assert json.loads(entries[0].detail)["words"] == ["百家乐", "Baccarat"]


def test_the_page_lists_words_a_page_at_a_time(app, world):
    wordlist.add_words([f"测试词{i:03d}" for i in range(120)], None, login="test")
    db.session.commit()
    office = login(app, "office1")
    first = office.get("/office/sensitive-words/").get_data(as_text=True)
    assert "测试词119" in first and "测试词000" not in first
    last = office.get("/office/sensitive-words/?page=3").get_data(as_text=True)
    assert "测试词000" in last
    assert office.get("/office/sensitive-words/?page=abc").status_code == 200


# -- flask words -----------------------------------------------------------------------------


def test_flask_words_add_remove_import_export_are_audited(app, runner, tmp_path):
    result = runner.invoke(args=["words", "add", "百家乐", "六合彩", "傻逼"])
    assert result.exit_code == 0, result.output
    assert "百家乐" in result.output and "傻逼" in result.output  # added; already there
    assert sensitive.find_hits("百家乐") == ["百家乐"]
    source = tmp_path / "more.txt"
    source.write_text("时时彩\n# 注释\n\n賭博\n", encoding="utf-8")
    result = runner.invoke(args=["words", "import", str(source)])
    assert result.exit_code == 0 and "1" in result.output
    result = runner.invoke(args=["words", "remove", "百家樂", "没有这个词"])
    assert result.exit_code == 0
    assert sensitive.find_hits("百家乐") == []
    target = tmp_path / "out.txt"
    result = runner.invoke(args=["words", "export", str(target)])
    assert result.exit_code == 0
    words = wordlist.parse_lines(target.read_text(encoding="utf-8"))
    assert "时时彩" in words and "六合彩" in words and "百家乐" not in words
    assert runner.invoke(args=["words", "import", str(tmp_path / "missing.txt")]).exit_code != 0
    cli = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action.like("sensitive_word%"), AuditEntry.login.like("cli%"))).all()
    assert [e.action for e in cli] == ["sensitive_word_add", "sensitive_word_import",
                                       "sensitive_word_remove", "sensitive_word_export"]
