"""Public votes before sessions: the December vote on next year's departments (results after
closing, next year's plan drafted from them) and a session's theme voted from its department's
candidates (the winner applied to the title). Through the office's pages, the citizens' pages
(a plain form) and the API; bad input refused with the reason and nothing stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qa_live.audit.models import AuditEntry
from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.auth.services import find_user_by_login
from qa_live.core.timeutil import local_year, to_local, utcnow
from qa_live.extensions import db
from qa_live.live.models import SessionEvent
from qa_live.planning.models import LiveSession, SessionState
from qa_live.votes import services
from qa_live.votes.ballots import BallotError
from qa_live.votes.models import PollResponse, PollState
from tests.conftest import PASSWORD

NEXT_YEAR = local_year(utcnow()) + 1


@pytest.fixture
def world(make_department, make_user, make_session):
    names = ["对外贸易处", "市场运行处", "外资处", "电子商务处"]
    departments = [make_department(n) for n in names]
    make_user("office1", roles=[Role.OFFICE])
    make_user("host1", roles=[Role.HOST])
    make_user("ans1", roles=[Role.ANSWERER], departments=[departments[0]])
    make_user("ans_other", roles=[Role.ANSWERER], departments=[departments[3]])
    session = make_session(title="待定主题", state=SessionState.ANNOUNCED,
                           departments=[departments[0]])
    return {"departments": departments, "session": session}


def login(app, name):
    http = app.test_client()
    http.post("/login", data={"login": name, "password": PASSWORD})
    return http


def bearer(name):
    _row, secret = tokens.create_token(find_user_by_login(name), "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def departments_vote(max_choices=2, open_it=True):
    office = find_user_by_login("office1")
    poll = services.create_departments_vote(NEXT_YEAR, "明年哪些处室上线？", [], max_choices,
                                            office)
    if open_it:
        services.open_vote(poll, office)
    db.session.commit()
    return poll


def option_ids(poll):
    return {o.label: o.id for o in poll.options}


def ballots():
    return db.session.scalar(select(func.count()).select_from(PollResponse))


def citizen(app, address="203.0.113.7"):
    http = app.test_client()
    http.environ_base["REMOTE_ADDR"] = address
    return http


# -- the December vote ----------------------------------------------------------------------------


def test_the_office_prepares_and_opens_the_vote_on_its_pages(app, world):
    office = login(app, "office1")
    form = office.get("/office/votes/").get_data(as_text=True)
    assert "对外贸易处" in form
    made = office.post("/office/votes/", data={
        "year": NEXT_YEAR, "question": "明年哪些处室上线？", "max_choices": 2, "description": ""})
    assert made.status_code == 302
    detail_url = made.headers["Location"]
    assert "对外贸易处" in office.get(detail_url).get_data(as_text=True)
    poll_id = int(detail_url.rstrip("/").rsplit("/", 1)[1])
    # A draft is not public yet.
    assert app.test_client().get(f"/votes/{poll_id}").status_code == 404
    assert office.post(f"/office/votes/{poll_id}/open").status_code == 302
    page = app.test_client().get(f"/votes/{poll_id}").get_data(as_text=True)
    assert "明年哪些处室上线？" in page and 'name="option"' in page
    assert [e.action for e in db.session.scalars(select(AuditEntry).where(
        AuditEntry.target_type == "poll"))] == ["vote_create", "vote_open"]


def test_a_citizen_votes_without_the_script_once_and_sees_results_after_closing(app, world):
    poll = departments_vote()
    ids = option_ids(poll)
    phone = citizen(app)
    phone.get(f"/votes/{poll.id}")
    sent = phone.post(f"/votes/{poll.id}", data={"option": [str(ids["外资处"]),
                                                           str(ids["对外贸易处"])]})
    assert sent.status_code == 303
    page = phone.get(f"/votes/{poll.id}").get_data(as_text=True)
    assert "您的投票已计入" in page and 'name="option"' not in page
    assert 'class="poll-count"' not in page  # no results while open
    api = phone.get(f"/api/v1/votes/{poll.id}").get_json()["vote"]
    assert api["results"] is None and sorted(api["mine"]) == sorted(
        [ids["外资处"], ids["对外贸易处"]])
    # Twice: refused, with the reason, and the first vote stands.
    again = phone.post(f"/votes/{poll.id}", data={"option": [str(ids["市场运行处"])]})
    assert again.status_code == 409 and "已经投过票" in again.get_data(as_text=True)
    assert ballots() == 1
    services.close_vote(poll, find_user_by_login("office1"))
    db.session.commit()
    page = app.test_client().get(f"/votes/{poll.id}").get_data(as_text=True)
    assert 'class="poll-count">1<' in page
    closed = phone.post(f"/votes/{poll.id}", data={"option": [str(ids["市场运行处"])]})
    assert closed.status_code == 409 and ballots() == 1


def test_the_api_votes_once_and_refuses_closed_votes(app, world):
    poll = departments_vote(max_choices=1)
    ids = option_ids(poll)
    phone = citizen(app)
    token = phone.get("/api/v1/visitor").get_json()["visitor_token"]
    headers = {"X-Visitor-Token": token}
    cast = phone.post(f"/api/v1/votes/{poll.id}/ballot", json={"option_ids": [ids["外资处"]]},
                      headers=headers)
    assert cast.status_code == 201
    twice = phone.post(f"/api/v1/votes/{poll.id}/ballot", json={"option_ids": [ids["外资处"]]},
                       headers=headers)
    assert twice.status_code == 409 and twice.get_json()["error"] == "already_voted"
    assert twice.get_json()["message"]
    listed = app.test_client().get("/api/v1/votes").get_json()["votes"]
    assert [v["id"] for v in listed] == [poll.id] and listed[0]["results"] is None
    services.close_vote(poll, find_user_by_login("office1"))
    db.session.commit()
    late = citizen(app, "198.51.100.9").post(f"/api/v1/votes/{poll.id}/ballot",
                                             json={"option_ids": [ids["外资处"]]})
    assert late.status_code == 409 and late.get_json()["error"] == "closed"
    result = app.test_client().get(f"/api/v1/votes/{poll.id}").get_json()["vote"]["results"]
    assert result["respondents"] == 1
    assert ballots() == 1


def test_a_vote_past_its_closing_time_takes_no_more_ballots(app, world):
    office = find_user_by_login("office1")
    poll = services.create_departments_vote(NEXT_YEAR, "明年哪些处室上线？", [], 1, office,
                                            closes_at=utcnow() + timedelta(hours=1))
    services.open_vote(poll, office)
    db.session.commit()
    poll.closes_at = utcnow() - timedelta(seconds=1)  # the hour has passed
    db.session.commit()
    ids = list(option_ids(poll).values())
    refused = citizen(app).post(f"/api/v1/votes/{poll.id}/ballot", json={"option_ids": ids[:1]})
    assert refused.status_code == 409 and refused.get_json()["error"] == "closed"
    shown = app.test_client().get(f"/api/v1/votes/{poll.id}").get_json()["vote"]
    assert shown["state"] == "closed" and shown["results"]["respondents"] == 0


@pytest.mark.parametrize("body, field", [
    ({"option_ids": []}, "option_ids"),
    ({"option_ids": "1"}, "option_ids"),
    ({"option_ids": [999999]}, "option_ids"),
    ({}, "option_ids"),
])
def test_bad_ballots_are_refused_with_the_reason(app, world, body, field):
    poll = departments_vote(max_choices=2)
    response = citizen(app).post(f"/api/v1/votes/{poll.id}/ballot", json=body)
    assert response.status_code == 400 and field in response.get_json()["fields"]
    assert ballots() == 0


def test_too_many_choices_are_refused(app, world):
    poll = departments_vote(max_choices=2)
    ids = list(option_ids(poll).values())
    response = citizen(app).post(f"/api/v1/votes/{poll.id}/ballot", json={"option_ids": ids[:3]})
    assert response.status_code == 400 and "2" in response.get_json()["message"]
    page = citizen(app).post(f"/votes/{poll.id}", data={"option": [str(i) for i in ids[:3]]})
    assert page.status_code == 400 and "最多选择2项" in page.get_data(as_text=True)
    assert ballots() == 0


def test_clearing_cookies_to_vote_again_meets_the_address_limit(app, world):
    app.config["PUBLIC_VOTE_ADDRESS_LIMIT"] = "2 per day"
    poll = departments_vote(max_choices=1)
    first = list(option_ids(poll).values())[0]
    for _ in range(2):  # a fresh client: a new visitor cookie each time, the same address
        assert citizen(app).post(f"/votes/{poll.id}", data={"option": [str(first)]}
                                 ).status_code == 303
    third = citizen(app).post(f"/api/v1/votes/{poll.id}/ballot", json={"option_ids": [first]})
    assert third.status_code == 429
    assert ballots() == 2
    # Refused ballots do not use the budget; another address votes as usual.
    assert citizen(app, "198.51.100.20").post(
        f"/api/v1/votes/{poll.id}/ballot", json={"option_ids": [first]}).status_code == 201


def test_only_the_office_opens_and_closes_votes(app, world):
    poll = departments_vote(open_it=False)
    response = app.test_client().post(f"/api/v1/staff/votes/{poll.id}/open",
                                      headers=bearer("host1"))
    assert response.status_code == 403
    assert login(app, "host1").post(f"/office/votes/{poll.id}/open").status_code == 403
    db.session.refresh(poll)
    assert poll.state == PollState.DRAFT
    with pytest.raises(BallotError):
        services.create_departments_vote(NEXT_YEAR, "明年哪些处室上线？", [], 1,
                                         find_user_by_login("ans1"))


def test_the_office_drafts_next_years_plan_from_the_results(app, world):
    poll = departments_vote(max_choices=2)
    ids = option_ids(poll)
    for i, picks in enumerate([["外资处", "电子商务处"], ["外资处"], ["外资处", "市场运行处"],
                               ["电子商务处"]]):
        services.cast_vote(poll, f"visitor-{i:04d}-abcdefgh", [ids[p] for p in picks])
    db.session.commit()
    http = app.test_client()
    early = http.post(f"/api/v1/staff/votes/{poll.id}/draft-plan", json={"top": 2},
                      headers=bearer("office1"))
    assert early.status_code == 409 and early.get_json()["error"] == "not_closed"
    http.post(f"/api/v1/staff/votes/{poll.id}/close", headers=bearer("office1"))
    drafted = http.post(f"/api/v1/staff/votes/{poll.id}/draft-plan", json={"top": 2},
                        headers=bearer("office1"))
    assert drafted.status_code == 201, drafted.get_json()
    sessions = drafted.get_json()["sessions"]
    assert [[d["name"] for d in s["departments"]] for s in sessions] == [["外资处"],
                                                                          ["电子商务处"]]
    made = [db.session.get(LiveSession, s["id"]) for s in sessions]
    assert all(s.state == SessionState.DRAFT and s.plan_year == NEXT_YEAR for s in made)
    assert [to_local(s.scheduled_start).month for s in made] == [1, 2]
    again = http.post(f"/api/v1/staff/votes/{poll.id}/draft-plan", json={"top": 2},
                      headers=bearer("office1"))
    assert again.status_code == 409
    assert db.session.scalar(select(func.count()).select_from(LiveSession).where(
        LiveSession.plan_year == NEXT_YEAR)) == 2


# -- a session's theme -------------------------------------------------------------------------


def test_a_department_proposes_themes_and_citizens_vote_on_the_session_page(app, world):
    session = world["session"]
    answerer = login(app, "ans1")
    made = answerer.post(f"/office/votes/theme/{session.id}", data={
        "question": "本场选哪个主题？", "themes": "稳外贸政策解读\n跨境电商新政\n\n"})
    assert made.status_code == 302
    assert login(app, "ans_other").get(f"/office/votes/theme/{session.id}").status_code == 403
    poll = services.theme_vote_of(session)
    assert poll is None  # a draft until the office opens it
    (draft,) = services.staff_votes()
    services.open_vote(draft, find_user_by_login("office1"))
    db.session.commit()
    phone = citizen(app)
    page = phone.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "本场选哪个主题？" in page and "跨境电商新政" in page
    ids = option_ids(draft)
    sent = phone.post(f"/votes/{draft.id}", data={"option": [str(ids["跨境电商新政"])],
                                                   "return_to": "session"})
    assert sent.status_code == 303 and sent.headers["Location"].endswith(
        f"/s/{session.slug}#vote-{draft.id}")
    page = phone.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "您的投票已计入" in page and "<bdi>跨境电商新政</bdi>" in page


def test_the_office_applies_the_winning_theme_to_the_title(app, world):
    session = world["session"]
    office = find_user_by_login("office1")
    poll = services.create_theme_vote(session, "本场选哪个主题？",
                                      ["稳外贸政策解读", "跨境电商新政"], office)
    services.open_vote(poll, office)
    ids = option_ids(poll)
    services.cast_vote(poll, "visitor-0001-abcdefgh", [ids["跨境电商新政"]])
    services.cast_vote(poll, "visitor-0002-abcdefgh", [ids["稳外贸政策解读"]])
    db.session.commit()
    http = app.test_client()
    http.post(f"/api/v1/staff/votes/{poll.id}/close", headers=bearer("office1"))
    tied = http.post(f"/api/v1/staff/votes/{poll.id}/apply-theme", headers=bearer("office1"))
    assert tied.status_code == 400 and tied.get_json()["fields"]["option_id"]
    applied = http.post(f"/api/v1/staff/votes/{poll.id}/apply-theme", headers=bearer("office1"),
                        json={"option_id": ids["跨境电商新政"]})
    assert applied.status_code == 200, applied.get_json()
    db.session.refresh(session)
    assert session.title == "跨境电商新政"
    # The pages redraw the title: a numbered session event went out.
    last = db.session.scalars(select(SessionEvent).where(SessionEvent.session_id == session.id)
                              .order_by(SessionEvent.seq.desc())).first()
    assert last.type == "session" and "跨境电商新政" in last.payload


def test_a_theme_vote_needs_two_to_ten_themes_and_a_session_not_yet_live(app, world,
                                                                         make_session):
    office = find_user_by_login("office1")
    session = world["session"]
    with pytest.raises(BallotError) as one:
        services.create_theme_vote(session, "选主题", ["只有一个主题"], office)
    assert one.value.field == "themes"
    with pytest.raises(BallotError):
        services.create_theme_vote(session, "选主题", [f"主题{i}号" for i in range(11)], office)
    live = make_session(title="正在进行", state=SessionState.LIVE,
                        start=utcnow() - timedelta(minutes=1))
    with pytest.raises(BallotError):
        services.create_theme_vote(live, "选主题", ["主题甲", "主题乙"], office)
    response = app.test_client().post("/api/v1/staff/votes", headers=bearer("ans_other"), json={
        "kind": "theme", "session_id": session.id, "question": "选主题",
        "themes": ["主题甲", "主题乙"]})
    assert response.status_code == 403
    assert services.staff_votes() == []


def test_one_ballot_per_visitor_and_exact_results_on_both_databases(any_db_app):
    """The unique key, the savepoint and the grouped counts on SQLite and PostgreSQL."""
    from qa_live.auth import services as auth_services
    from qa_live.planning import services as planning

    for name in ("对外贸易处", "外资处", "电子商务处"):
        planning.create_department(name)
    office = auth_services.create_user("office1", "办公室", PASSWORD, [Role.OFFICE], [])
    db.session.commit()
    poll = services.create_departments_vote(NEXT_YEAR, "明年哪些处室上线？", [], 2, office)
    services.open_vote(poll, office)
    db.session.commit()
    ids = option_ids(poll)
    for n in range(7):
        services.cast_vote(poll, f"visitor-{n:04d}-abcdefgh",
                           [ids["外资处"]] + ([ids["对外贸易处"]] if n % 3 == 0 else []))
    db.session.commit()
    with pytest.raises(BallotError) as twice:
        services.cast_vote(poll, "visitor-0001-abcdefgh", [ids["电子商务处"]])
    assert twice.value.code == "already_voted"
    db.session.rollback()
    from qa_live.votes import ballots as ballot_rules

    found = ballot_rules.results(poll)
    assert found.respondents == 7
    assert found.counts == {ids["外资处"]: 7, ids["对外贸易处"]: 3}
    assert found.share(ids["对外贸易处"]).percent() == "42.8%"  # 3/7, rounded down
    assert [o.label for o, _n in ballot_rules.ranked(poll, found)] == [
        "外资处", "对外贸易处", "电子商务处"]
