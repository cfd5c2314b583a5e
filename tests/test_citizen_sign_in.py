"""Citizen sign-in through a real OpenID Connect provider: one asker on every device.

The provider is panva's oidc-provider on Node.js (tests/oidc/provider.mjs), started on loopback;
the app finds it by discovery and checks its real signed ID tokens against its JWKS. The
citizen's browser is the Flask test client for the app and ``requests`` at the provider's own
login and consent pages. The browser version is tests/test_browser_citizen_sign_in.py; bad
callbacks are in tests/test_citizen_sign_in_refusals.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qa_live import create_app
from qa_live.audit.models import AuditEntry
from qa_live.auth.citizen_models import CitizenIdentity, ContactKind
from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.followup import services as followups
from qa_live.followup.models import FollowUp, NotifyState
from qa_live.live import events, moderation
from qa_live.live.models import Question, Vote
from qa_live.live.privacy import purge_personal_data
from qa_live.planning.models import SessionState
from tests.citizen_sign_in_helpers import (  # noqa: F401 - pytest fixtures
    CALLBACK,
    app,
    begin,
    cookie_visitor,
    devices,
    oidc_client_id,
    provider,
    query,
    sign_in,
    sign_in_mode,
)
from tests.conftest import PASSWORD, config_for

TEXT = "小微外贸企业出口信用保险有没有保费补贴？"


def ask_in_advance(client, session, text=TEXT):
    return client.post(f"/s/{session.slug}/ask",
                       data={"text": text, "client_id": str(uuid.uuid4())})


def ask_live(client, session, text=TEXT):
    return client.post(f"/s/{session.slug}/live-ask",
                       data={"text": text, "client_id": str(uuid.uuid4())})


def identities() -> list[CitizenIdentity]:
    db.session.expire_all()
    return list(db.session.scalars(select(CitizenIdentity)))


# The flow ------------------------------------------------------------------------------------


def test_the_sign_in_request_uses_pkce_state_and_nonce(app, client, provider):
    url = begin(client, "/s/somewhere")
    params = query(url)
    assert url.startswith(provider.issuer + "/auth?")
    assert params["response_type"] == "code" and params["client_id"] == "qa-live"
    assert params["redirect_uri"] == CALLBACK
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) >= 43
    assert len(params["state"]) >= 20 and len(params["nonce"]) >= 20
    assert params["scope"].split() == ["openid", "profile"]  # no contact without agreeing
    assert "phone" in query(begin(client, "/", contact=True))["scope"].split()


def test_signing_in_brings_the_citizen_back_signed_in_with_a_masked_name(app, client,
                                                                          make_session):
    session = make_session(state=SessionState.ANNOUNCED)
    before = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert 'id="citizen-sign-in-form"' in before and 'id="citizen-signed-in"' not in before
    back = sign_in(client, next_url=f"/s/{session.slug}#ask")
    assert back.status_code == 302 and back.headers["Location"] == f"/s/{session.slug}#ask"
    [identity] = identities()
    assert identity.subject == "zhangsan" and identity.display_name == "张**"
    assert identity.contact is None  # the box was not ticked
    visitor = cookie_visitor(client)
    assert visitor.signed_in and visitor.id == identity.visitor_id
    page = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert 'id="citizen-signed-in"' in page and "张**" in page and "张三丰" not in page
    assert 'id="citizen-sign-out"' in page


def test_a_first_sign_in_keeps_what_this_device_asked_before(app, client, make_session):
    session = make_session(state=SessionState.ANNOUNCED)
    assert ask_in_advance(client, session).status_code == 302
    before = cookie_visitor(client).id
    sign_in(client)
    assert identities()[0].visitor_id == before == cookie_visitor(client).id
    question = db.session.scalar(select(Question))
    assert question.access_token in client.get(f"/s/{session.slug}").get_data(as_text=True)


def test_questions_from_two_devices_are_one_askers(app, make_session):
    phone, desktop = devices(app)
    announced = make_session(title="提前征集的专场", state=SessionState.ANNOUNCED)
    sign_in(phone)
    assert ask_in_advance(phone, announced, "在手机上提前问的问题是什么？").status_code == 302
    desktop.get(f"/s/{announced.slug}")  # an anonymous visitor of its own first
    anonymous_id = cookie_visitor(desktop).id
    sign_in(desktop)
    assert cookie_visitor(desktop).id == cookie_visitor(phone).id != anonymous_id
    [identity] = identities()  # the same citizen: no second identity
    # The desktop lists the phone's question, with its private status link.
    question = db.session.scalar(select(Question))
    page = desktop.get(f"/s/{announced.slug}").get_data(as_text=True)
    assert question.access_token in page
    assert question.visitor_id == identity.visitor_id


def test_one_vote_per_citizen_across_devices(app, make_session, make_question, make_user):
    host = make_user("host1", roles=[Role.HOST])
    session = make_session(state=SessionState.LIVE, hosts=[host],
                           start=utcnow() - timedelta(minutes=5))
    question = make_question(session, visitor="someone-else-000001")
    moderation.approve(question, host)
    events.commit_and_send()
    phone, desktop = devices(app)
    sign_in(phone)
    sign_in(desktop)
    url = f"/api/v1/sessions/{session.slug}/questions/{question.id}/vote"
    assert phone.post(url).status_code == 200
    second = desktop.post(url)
    assert second.status_code == 409 and second.get_json()["error"] == "already_voted"
    assert db.session.scalar(select(func.count()).select_from(Vote)) == 1


def test_the_socket_knows_the_signed_in_citizen_and_tells_every_device(app, make_session):
    session = make_session(state=SessionState.LIVE, start=utcnow() - timedelta(minutes=5))
    phone, desktop = devices(app)
    for device in (phone, desktop):
        sign_in(device)
        device.get(f"/s/{session.slug}")
    sockets = [socketio.test_client(app, namespace="/qa", flask_test_client=d)
               for d in (phone, desktop)]
    for sock in sockets:
        assert sock.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)["ok"]
        sock.get_received("/qa")
    ack = sockets[0].emit("ask", {"text": TEXT, "client_id": str(uuid.uuid4())},
                          namespace="/qa", callback=True)
    assert ack["ok"], ack
    mine = [m["args"][0] for m in sockets[1].get_received("/qa") if m["name"] == "mine"]
    assert [q["id"] for q in mine] == [ack["question"]["id"]]  # the desktop hears it
    listed = sockets[1].emit("mine", {}, namespace="/qa", callback=True)
    assert [q["id"] for q in listed["questions"]] == [ack["question"]["id"]]
    for sock in sockets:
        sock.disconnect(namespace="/qa")


def test_signing_out_makes_the_device_a_new_anonymous_visitor(app, client, make_session):
    session = make_session(state=SessionState.ANNOUNCED)
    sign_in(client)
    ask_in_advance(client, session)
    signed_id = cookie_visitor(client).id
    out = client.post("/citizen/sign-out", data={"next": f"/s/{session.slug}"})
    assert out.status_code == 302 and out.headers["Location"] == f"/s/{session.slug}"
    visitor = cookie_visitor(client)
    assert not visitor.signed_in and visitor.id != signed_id
    page = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert db.session.scalar(select(Question.access_token)) not in page
    assert 'id="citizen-sign-in-form"' in page
    sign_in(client)  # and back: the citizen's questions again
    assert cookie_visitor(client).id == signed_id


def test_a_second_citizen_on_a_device_another_used_gets_their_own_identity(app, client):
    sign_in(client, "zhangsan")
    first = cookie_visitor(client).id
    sign_in(client, "lisi")  # without signing out: the device now belongs to lisi
    assert cookie_visitor(client).id != first
    assert sorted(i.subject for i in identities()) == ["lisi", "zhangsan"]
    assert len({i.visitor_id for i in identities()}) == 2


@pytest.mark.parametrize("sign_in_mode", ["off"])
def test_the_page_stays_anonymous_when_sign_in_is_off(app, client, make_session):
    session = make_session(state=SessionState.ANNOUNCED)
    page = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "citizen-sign-in" not in page
    assert client.post("/citizen/sign-in", data={"next": "/"}).status_code == 404
    assert client.get("/citizen/callback?code=x&state=y").status_code == 404


def test_next_never_leaves_the_site(app, client, provider):
    for target in ("https://evil.example/", "//evil.example/x", "/\t/evil.example", "\\evil"):
        back = sign_in(client, next_url=target)
        assert back.status_code == 302 and back.headers["Location"] == "/", target


# Sign-in required ----------------------------------------------------------------------------


@pytest.mark.parametrize("sign_in_mode", ["required"])
def test_required_sign_in_lets_everyone_watch_and_only_signed_in_citizens_ask(app, make_session):
    live = make_session(state=SessionState.LIVE, start=utcnow() - timedelta(minutes=5))
    announced = make_session(state=SessionState.ANNOUNCED)
    anonymous, citizen = devices(app)
    for session in (live, announced):
        page = anonymous.get(f"/s/{session.slug}")
        body = page.get_data(as_text=True)
        assert page.status_code == 200 and 'id="citizen-required"' in body
        assert 'id="ask-form"' not in body and "live-ask" not in body
        assert 'id="citizen-sign-in-button"' in body
    refused = ask_live(anonymous, live)
    assert refused.status_code == 409 and 'id="citizen-required"' in refused.get_data(
        as_text=True)
    assert ask_in_advance(anonymous, announced).status_code == 409
    api = anonymous.post(f"/api/v1/sessions/{live.slug}/questions",
                         json={"text": TEXT, "client_id": str(uuid.uuid4())})
    assert api.status_code == 401 and api.get_json()["error"] == "sign_in_required"
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=anonymous)
    sock.emit("join", {"slug": live.slug}, namespace="/qa", callback=True)
    ack = sock.emit("ask", {"text": TEXT, "client_id": str(uuid.uuid4())}, namespace="/qa",
                    callback=True)
    assert ack["ok"] is False and ack["error"] == "sign_in_required" and ack["message"]
    sock.disconnect(namespace="/qa")
    assert db.session.scalar(select(func.count(Question.id))) == 0
    sign_in(citizen, next_url=f"/s/{live.slug}")
    assert 'id="ask-form"' in citizen.get(f"/s/{live.slug}").get_data(as_text=True)
    assert ask_live(citizen, live).status_code == 302
    assert ask_in_advance(citizen, announced).status_code == 302
    assert db.session.scalar(select(func.count(Question.id))) == 2


@pytest.mark.parametrize("sign_in_mode", ["required"])
def test_a_forged_or_lapsed_sign_in_cookie_does_not_ask(app, client, make_session):
    from itsdangerous import URLSafeSerializer

    live = make_session(state=SessionState.LIVE, start=utcnow() - timedelta(minutes=5))
    forged = URLSafeSerializer("not-the-secret", salt="qa_live.visitor").dumps(
        ["v" * 20, 1, 4102444800])
    lapsed = URLSafeSerializer(app.config["SECRET_KEY"], salt="qa_live.visitor").dumps(
        ["v" * 20, 1, 1000])
    for value in (forged, lapsed):
        client.set_cookie("qa_visitor", value)
        assert 'id="citizen-required"' in client.get(f"/s/{live.slug}").get_data(as_text=True)
        api = client.post(f"/api/v1/sessions/{live.slug}/questions",
                          json={"text": TEXT, "client_id": str(uuid.uuid4())})
        assert api.status_code == 401
    assert db.session.scalar(select(func.count(Question.id))) == 0


@pytest.mark.parametrize("sign_in_mode", ["required"])
def test_an_api_client_carries_the_sign_in_in_its_visitor_token(app, client, make_session):
    live = make_session(state=SessionState.LIVE, start=utcnow() - timedelta(minutes=5))
    sign_in(client)
    token = client.get("/api/v1/visitor").get_json()
    assert token["signed_in"] is True
    app_client = app.test_client()  # no cookies: the token alone
    asked = app_client.post(f"/api/v1/sessions/{live.slug}/questions",
                            json={"text": TEXT, "client_id": str(uuid.uuid4())},
                            headers={"X-Visitor-Token": token["visitor_token"]})
    assert asked.status_code == 201
    assert db.session.scalar(select(Question.visitor_id)) == cookie_visitor(client).id


# Contact for a second reply, and erasure -----------------------------------------------------


def test_a_contact_is_kept_only_when_the_citizen_agrees(app, client):
    sign_in(client, contact=True)
    [identity] = identities()
    assert identity.contact == "13812345678" and identity.contact_kind == ContactKind.PHONE
    assert identity.masked_contact == "138****5678"
    sign_in(client, contact=False)  # the latest answer counts: withdrawn
    [identity] = identities()
    assert identity.contact is None and identity.contact_agreed_at is None
    sign_in(client, "lisi", contact=True)  # no phone in lisi's account: the e-mail
    lisi = next(i for i in identities() if i.subject == "lisi")
    assert lisi.contact == "lisi@example.cn" and lisi.masked_contact == "l***@example.cn"


def test_the_to_notify_list_shows_a_signed_in_citizens_contact(app, client, make_session,
                                                                make_user, make_department):
    trade = make_department("对外贸易处")
    host = make_user("host1", roles=[Role.HOST])
    session = make_session(state=SessionState.LIVE, departments=[trade], hosts=[host],
                           start=utcnow() - timedelta(minutes=30))
    sign_in(client, contact=True)
    assert ask_live(client, session).status_code == 302
    question = db.session.scalar(select(Question))
    assert question.phone is None  # none typed with the question
    moderation.approve(question, host)
    moderation.end_session(session, host)
    events.commit_and_send()
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.question_id == question.id))
    followups.close_done(follow_up, host, "已协调解决，特此答复。")
    events.commit_and_send()
    assert follow_up.notify_state == NotifyState.PENDING
    staff = app.test_client()
    staff.post("/login", data={"login": "host1", "password": PASSWORD})
    listing = staff.get("/follow-ups/notify").get_data(as_text=True)
    assert f'data-follow-up="{follow_up.id}"' in listing and "138****5678" in listing
    assert "13812345678" not in listing
    shown = staff.post(f"/follow-ups/{follow_up.id}/reveal").get_data(as_text=True)
    assert "13812345678" in shown
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "reveal_phone"))
    assert json.loads(entry.detail)["source"] == "sign_in"


def test_without_a_contact_a_signed_in_citizen_is_not_on_the_list(app, client, make_session,
                                                                   make_user):
    host = make_user("host1", roles=[Role.HOST])
    session = make_session(state=SessionState.LIVE, hosts=[host],
                           start=utcnow() - timedelta(minutes=30))
    sign_in(client, contact=False)
    ask_live(client, session)
    question = db.session.scalar(select(Question))
    moderation.approve(question, host)
    moderation.end_session(session, host)
    events.commit_and_send()
    follow_up = db.session.scalar(select(FollowUp).where(FollowUp.question_id == question.id))
    followups.close_done(follow_up, host, "已协调解决，特此答复。")
    assert follow_up.notify_state == NotifyState.NONE


def test_privacy_purge_erases_identities_not_signed_in_for_the_retention(app, client, runner):
    sign_in(client, "zhangsan", contact=True)
    sign_in(app.test_client(), "lisi", contact=True)
    old = next(i for i in identities() if i.subject == "lisi")
    old.last_signed_in_at = utcnow() - timedelta(days=200)
    db.session.commit()
    phones, erased = purge_personal_data(days=180)
    db.session.commit()
    assert (phones, erased) == (0, 1)
    assert [i.subject for i in identities()] == ["zhangsan"]
    # A sign-in still running is never erased, even with --days 0.
    result = runner.invoke(args=["privacy", "purge", "--days", "0"])
    assert result.exit_code == 0 and "0 signed-in citizens' identities" in result.output
    assert [i.subject for i in identities()] == ["zhangsan"]


# Settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("settings", "says"), [
    ({"CITIZEN_SIGN_IN": "maybe"}, "CITIZEN_SIGN_IN must be one of"),
    ({"CITIZEN_SIGN_IN": "required"}, "needs OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET"),
    ({"CITIZEN_SIGN_IN": "offered", "OIDC_ISSUER": "http://id.example.gov.cn",
      "OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y"}, "must be an https://"),
    ({"CITIZEN_SIGN_IN": "offered", "OIDC_ISSUER": "https://id.example.gov.cn",
      "OIDC_CLIENT_ID": "x", "OIDC_CLIENT_SECRET": "y", "OIDC_SCOPES": "profile"},
     "must include openid"),
])
def test_a_wrong_sign_in_setting_stops_the_app_at_start(db_url, settings, says):
    with pytest.raises(RuntimeError, match=says):
        create_app(config_for(db_url, **settings))
