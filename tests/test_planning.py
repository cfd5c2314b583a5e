"""The office plans the year: departments, sessions, announcing and cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from qa_live.auth.models import Role
from qa_live.core.timeutil import to_local, utcnow
from qa_live.extensions import db
from qa_live.planning import services
from qa_live.planning.models import Department, LiveSession, SessionState


@pytest.fixture
def office(auth, make_user):
    user = make_user("office1", roles=[Role.OFFICE])
    auth.login(user)
    return user


def _local(dt: datetime) -> str:
    return to_local(dt).strftime("%Y-%m-%dT%H:%M")


def test_office_adds_renames_and_deactivates_a_department(client, office):
    client.post("/office/departments", data={"name": "电子商务处", "short_name": "电商处"})
    dept = db.session.scalar(select(Department).where(Department.name == "电子商务处"))
    assert dept.short_name == "电商处"
    client.post(f"/office/departments/{dept.id}", data={"name": "电子商务与信息化处",
                                                         "short_name": "电商处"})
    client.post(f"/office/departments/{dept.id}/active", data={"active": "0"})
    db.session.refresh(dept)
    assert dept.name == "电子商务与信息化处"
    assert dept.active is False
    page = client.get("/office/departments").get_data(as_text=True)
    assert "电子商务与信息化处" in page


def test_duplicate_department_name_is_explained(client, office, make_department):
    make_department("综合处")
    response = client.post("/office/departments", data={"name": "综合处"})
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    assert len(db.session.scalars(select(Department)).all()) == 1


def test_office_plans_a_session_and_it_lands_in_the_years_plan(client, office, make_department,
                                                               make_user):
    trade = make_department("对外贸易处")
    host = make_user("host1", roles=[Role.HOST])
    answerer = make_user("ans1", roles=[Role.ANSWERER], departments=[trade])
    start = (utcnow() + timedelta(days=10)).replace(second=0, microsecond=0)
    response = client.post("/office/sessions/new", data={
        "title": "稳外贸政策解读", "description": "介绍", "scheduled_start": _local(start),
        "scheduled_end": _local(start + timedelta(hours=2)), "departments": [str(trade.id)],
        "hosts": [str(host.id)], "answerers": [str(answerer.id)],
        "guests": "张处长 | 对外贸易处处长\n李科长", "moderation_mode": "pre",
        "precollect_opens_at": _local(utcnow()), "precollect_closes_at": _local(start),
    })
    assert response.status_code == 302
    session = db.session.scalar(select(LiveSession))
    assert session.state == SessionState.DRAFT
    assert session.scheduled_start == start
    assert [g.name for g in session.guests] == ["张处长", "李科长"]
    assert session.guests[0].title == "对外贸易处处长"
    assert session.hosts == [host] and session.answerers == [answerer]
    plan = client.get(f"/office/plan/{session.plan_year}").get_data(as_text=True)
    assert "稳外贸政策解读" in plan
    assert 'class="has-session"' in plan  # marked on the calendar


def test_session_form_keeps_input_and_explains_each_problem(client, office, make_department):
    trade = make_department()
    start = utcnow() + timedelta(days=2)
    response = client.post("/office/sessions/new", data={
        "title": "消费维权", "scheduled_start": _local(start),
        "scheduled_end": _local(start - timedelta(hours=1)), "departments": [str(trade.id)],
        "moderation_mode": "pre",
    })
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="消费维权"' in body
    assert 'class="error"' in body
    response = client.post("/office/sessions/new", data={
        "title": "x" * 200, "scheduled_start": "not a date", "moderation_mode": "pre"})
    assert response.status_code == 400
    assert db.session.scalar(select(LiveSession)) is None


def test_a_session_needs_a_department(client, office):
    start = utcnow() + timedelta(days=2)
    response = client.post("/office/sessions/new", data={
        "title": "无处室", "scheduled_start": _local(start),
        "scheduled_end": _local(start + timedelta(hours=1)), "moderation_mode": "pre"})
    assert response.status_code == 400
    assert db.session.scalar(select(LiveSession)) is None


def test_announcing_makes_the_session_public(client, office, make_session):
    session = make_session(title="口岸通关便利化")
    assert client.get(f"/s/{session.slug}").status_code == 404  # drafts are not public
    response = client.post(f"/office/sessions/{session.id}/announce")
    assert response.status_code == 302
    assert session.state == SessionState.ANNOUNCED
    home = client.get("/").get_data(as_text=True)
    assert "口岸通关便利化" in home
    assert client.get(f"/s/{session.slug}").status_code == 200


def test_a_session_whose_start_has_passed_cannot_be_announced(client, office, make_session):
    session = make_session(start=utcnow() - timedelta(hours=1))
    client.post(f"/office/sessions/{session.id}/announce")
    assert db.session.get(LiveSession, session.id).state == SessionState.DRAFT


def test_cancelling_needs_a_reason_and_citizens_see_it(client, office, make_session):
    session = make_session(state=SessionState.ANNOUNCED, title="家政服务")
    client.post(f"/office/sessions/{session.id}/cancel", data={"reason": ""})
    assert session.state == SessionState.ANNOUNCED
    client.post(f"/office/sessions/{session.id}/cancel", data={"reason": "因故改期"})
    assert session.state == SessionState.CANCELLED
    page = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "因故改期" in page


def test_editing_a_session_keeps_its_address(client, office, make_session, make_department):
    session = make_session(state=SessionState.ANNOUNCED)
    slug = session.slug
    form = client.get(f"/office/sessions/{session.id}/edit").get_data(as_text=True)
    assert session.title in form
    new_dept = make_department("市场秩序处")
    response = client.post(f"/office/sessions/{session.id}/edit", data={
        "title": "新主题", "scheduled_start": _local(session.scheduled_start),
        "scheduled_end": _local(session.scheduled_end), "departments": [str(new_dept.id)],
        "moderation_mode": "open"})
    assert response.status_code == 302
    db.session.refresh(session)
    assert session.title == "新主题" and session.slug == slug
    assert session.departments == [new_dept]


def test_a_live_session_cannot_be_edited(client, office, make_session):
    session = make_session(state=SessionState.LIVE, start=utcnow() - timedelta(minutes=5))
    response = client.get(f"/office/sessions/{session.id}/edit")
    assert response.status_code == 302


def test_state_changes_follow_the_allowed_moves(app, make_session):
    session = make_session()
    with pytest.raises(services.PlanningError):
        services.change_state(session, SessionState.ENDED)
    services.change_state(session, SessionState.ANNOUNCED)
    services.change_state(session, SessionState.LIVE)
    with pytest.raises(services.PlanningError):
        services.change_state(session, SessionState.CANCELLED)
    services.change_state(session, SessionState.ENDED)
    assert session.started_at and session.ended_at


def test_a_sessions_year_follows_beijing_time(app, make_session):
    # 00:30 on 1 January in Beijing is still 31 December in UTC.
    start = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    session = make_session(start=start, precollect=False)
    assert session.plan_year == 2027
    assert [s.id for s in services.sessions_of_year(2027)] == [session.id]


def test_unknown_ids_are_404(client, office):
    assert client.get("/office/sessions/999").status_code == 404
    assert client.get("/office/departments/999").status_code == 404
    assert client.get("/office/staff/999").status_code == 404
    assert client.get("/office/plan/1850").status_code == 404
