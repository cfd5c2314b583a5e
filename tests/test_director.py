"""The director (导播) decides what the room's projector shows: the latest answer (default), a
chosen question, the QR code, a host post; published as a numbered public event the projector
follows live, and refused clearly for anything not in the session."""

from __future__ import annotations

import re

from qa_live.extensions import db
from qa_live.live import events, moderation
from qa_live.live.models import HostPost, PostKind
from qa_live.planning.models import LiveSession
from tests.studio_helpers import (  # noqa: F401 - studio is a fixture
    act,
    api_act,
    audit_of,
    citizen,
    public,
    published_question,
    received,
    staff,
    studio,
)


def _post(session, body="【政策解读】稳外贸十条措施。"):
    from qa_live.auth.services import find_user_by_login

    post = moderation.create_post(session, find_user_by_login("host1"), PostKind.POLICY, body)
    events.commit_and_send()
    return post


def _shown(app, session):
    """Which panel the projector view shows, as the server renders it (scripts off)."""
    page = app.test_client().get(f"/s/{session.slug}/screen").get_data(as_text=True)
    return re.search(r'id="screen-main" data-shown="(\w+)"', page).group(1), page


def test_the_director_switches_the_projector_and_it_follows_live(app, studio):
    session = studio["open"]
    q = published_question(studio, "open", "出口信用保险有没有保费补贴？", "v-dr-000000001")
    post = _post(session)
    projector = citizen(app, session)
    projector.get_received("/qa")
    director = staff(app, "director1", session)
    assert director.join_ack["me"]["can_direct"] and not director.join_ack["me"]["can_moderate"]
    assert _shown(app, session)[0] == "latest"

    steps = [({"kind": "qr"}, "qr"), ({"kind": "question", "id": q.id}, "question"),
             ({"kind": "post", "id": post.id}, "post"), ({"kind": "latest"}, "latest")]
    for data, shown in steps:
        ack = act(director, "screen", **data)
        assert ack == {"ok": True, "kind": data["kind"], "id": data.get("id")}, ack
        assert _shown(app, session)[0] == shown
    seen = public(projector, "screen")
    assert [e["data"] for e in seen] == [
        {"kind": "qr", "id": None}, {"kind": "question", "id": q.id},
        {"kind": "post", "id": post.id}, {"kind": "latest", "id": None}]
    assert [e["seq"] for e in seen] == sorted(e["seq"] for e in seen)  # numbered, in order
    # A projector that reconnects replays the choices it missed.
    replay = app.test_client().get(
        f"/api/v1/sessions/{session.slug}/stream?since={seen[0]['seq'] - 1}").get_json()
    assert [e["data"]["kind"] for e in replay["events"] if e["type"] == "screen"] == \
        ["qr", "question", "post", "latest"]
    assert len(audit_of("screen")) == 4


def test_the_projector_shows_the_chosen_post_large(app, studio):
    session = studio["open"]
    post = _post(session, "【通知】访谈现场请将手机调至静音。")
    assert api_act(app, session, "director1", "screen",
                   {"kind": "post", "id": post.id}).status_code == 200
    shown, page = _shown(app, session)
    panel = re.search(r'<section[^>]*id="post-panel"[^>]*>(.*?)</section>', page, re.S).group(1)
    assert shown == "post" and "访谈现场请将手机调至静音" in panel


def test_a_choice_of_something_not_in_the_session_is_refused(app, studio):
    session = studio["open"]
    elsewhere = published_question(studio, "reviewed", "别的场次的问题", "v-dr-000000002")
    other_post = HostPost(session_id=studio["reviewed"].id, kind=PostKind.NOTICE, body="别场")
    db.session.add(other_post)
    db.session.commit()
    director = staff(app, "director1", session)
    for data, error in (
        ({"kind": "question", "id": elsewhere.id}, "not_found"),
        ({"kind": "question", "id": 999999}, "not_found"),
        ({"kind": "post", "id": other_post.id}, "not_found"),
        ({"kind": "video", "id": 1}, "invalid"),
        ({"kind": "question"}, "invalid"),
        ({"kind": "qr", "id": 3}, "invalid"),
        ({}, "invalid"),
    ):
        ack = act(director, "screen", **data)
        assert ack["ok"] is False and ack["error"] == error and ack["message"], (data, ack)
    response = api_act(app, session, "director1", "screen",
                       {"kind": "question", "id": elsewhere.id})
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    assert db.session.get(LiveSession, session.id).screen_kind == "latest"


def test_who_may_direct(app, studio):
    session = studio["open"]
    q = published_question(studio, "open", "谁可以切换大屏？", "v-dr-000000003")
    for login in ("ans1", "editor1", "reviewer1"):
        ack = act(staff(app, login, session), "screen", kind="qr")
        assert ack["ok"] is False and ack["error"] == "forbidden", (login, ack)
        assert act(staff(app, login, session), "highlight",
                   question_id=q.id)["error"] == "forbidden"
    for login in ("host1", "office1", "director1"):
        assert api_act(app, session, login, "screen", {"kind": "qr"}).status_code == 200


def test_the_highlight_is_the_directors_question_choice(app, studio):
    session = studio["open"]
    q = published_question(studio, "open", "正在回答的问题", "v-dr-000000004")
    director = staff(app, "director1", session)
    assert act(director, "highlight", question_id=q.id) == {"ok": True, "question_id": q.id}
    assert db.session.get(LiveSession, session.id).screen_kind == "question"
    host = staff(app, "host1", session)
    host.get_received("/moderation")
    # Answered: off the projector, which shows the latest answer (that very one).
    assert act(staff(app, "ans1", session), "answer", question_id=q.id, body="这是答复。")["ok"]
    assert received(host, "session")[-1]["screen"] == {"kind": "latest", "id": None}


def test_a_removed_post_leaves_the_projector(app, studio):
    session = studio["open"]
    post = _post(session)
    assert api_act(app, session, "director1", "screen",
                   {"kind": "post", "id": post.id}).status_code == 200
    projector = citizen(app, session)
    projector.get_received("/qa")
    assert api_act(app, session, "host1", "update_post",
                   {"post_id": post.id, "removed": True}).status_code == 200
    assert [e["type"] for e in public(projector)][-2:] == ["post.removed", "screen"]
    assert _shown(app, session)[0] == "latest"


def test_the_projector_choice_needs_a_live_session(app, studio, make_session):
    from qa_live.planning.models import SessionState

    ended = make_session(title="已结束的访谈", state=SessionState.ENDED,
                         departments=[studio["trade"]])
    response = api_act(app, ended, "office1", "screen", {"kind": "qr"})
    assert response.status_code == 409 and response.get_json()["error"] == "not_live"
