"""A session a department plans must be approved by the office before it can be announced: the
planner drafts for their own department only, the office approves or sends back with a reason,
every step is kept and audited; the office's own sessions need no approval. The office's pages
and the JSON API alike."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from qa_live.auth.models import Role
from qa_live.core.timeutil import to_local, utcnow
from qa_live.extensions import db
from qa_live.planning.models import ApprovalState, LiveSession, SessionState
from tests.studio_helpers import audit_of, bearer


@pytest.fixture
def bureau(make_department, make_user):
    trade = make_department("对外贸易处")
    market = make_department("市场秩序处")
    make_user("office1", roles=[Role.OFFICE], name="局办公室")
    make_user("planner_trade", roles=[Role.PLANNER], departments=[trade], name="外贸处计划员")
    make_user("host1", roles=[Role.HOST], name="主持人")
    make_user("ans_trade", roles=[Role.ANSWERER], departments=[trade])
    return {"trade": trade, "market": market}


def _draft(bureau, departments=("trade",), days=10, **extra):
    start = utcnow() + timedelta(days=days)
    return {"title": "稳外贸政策解读", "scheduled_start": start.isoformat(),
            "scheduled_end": (start + timedelta(hours=2)).isoformat(),
            "department_ids": [bureau[d].id for d in departments], **extra}


def _planned(app, bureau):
    """The id of a draft the trade department's planner made through the API."""
    made = _api(app, "post", "/sessions", "planner_trade", _draft(bureau))
    return made.get_json()["session"]["id"]


def _api(app, method, path, login, body=None):
    return getattr(app.test_client(), method)(f"/api/v1/staff{path}", json=body,
                                              headers=bearer(login))


def test_a_planners_session_goes_through_approval_before_it_is_announced(app, bureau):
    made = _api(app, "post", "/sessions", "planner_trade", _draft(bureau))
    assert made.status_code == 201, made.get_json()
    sid = made.get_json()["session"]["id"]
    assert made.get_json()["approval"]["state"] == "draft"

    early = _api(app, "post", f"/sessions/{sid}/announce", "office1")
    assert early.status_code == 409 and early.get_json()["error"] == "bad_transition"
    assert "approve" in early.get_json()["message"] or "批准" in early.get_json()["message"]
    assert _api(app, "post", f"/sessions/{sid}/submit", "planner_trade").status_code == 200
    queue = _api(app, "get", "/approvals", "office1").get_json()["sessions"]
    assert [s["session"]["id"] for s in queue] == [sid]
    assert [h["action"] for h in queue[0]["approval"]["history"]] == ["submitted"]

    back = _api(app, "post", f"/sessions/{sid}/return", "office1",
                {"reason": "请补充嘉宾名单。"})
    assert back.status_code == 200 and back.get_json()["approval"]["state"] == "returned"
    assert _api(app, "get", "/approvals", "office1").get_json()["sessions"] == []
    fixed = _api(app, "patch", f"/sessions/{sid}", "planner_trade",
                 _draft(bureau, guests=[{"name": "王建国", "title": "对外贸易处处长"}]))
    assert fixed.status_code == 200, fixed.get_json()
    assert _api(app, "post", f"/sessions/{sid}/submit", "planner_trade").status_code == 200
    approved = _api(app, "post", f"/sessions/{sid}/approve", "office1")
    assert approved.status_code == 200 and approved.get_json()["approval"]["state"] == "approved"
    announced = _api(app, "post", f"/sessions/{sid}/announce", "office1")
    assert announced.status_code == 200, announced.get_json()
    assert announced.get_json()["session"]["state"] == "announced"

    history = _api(app, "get", f"/sessions/{sid}/approval", "planner_trade").get_json()["history"]
    assert [(h["action"], h["actor"], h["reason"]) for h in history] == [
        ("submitted", "外贸处计划员", ""), ("returned", "局办公室", "请补充嘉宾名单。"),
        ("submitted", "外贸处计划员", ""), ("approved", "局办公室", "")]
    assert [len(audit_of(a)) for a in ("session_submitted", "session_returned",
                                       "session_approved")] == [2, 1, 1]
    assert json.loads(audit_of("session_returned")[0].detail)["reason"] == "请补充嘉宾名单。"


def test_approval_by_anyone_but_the_office_is_refused(app, bureau):
    sid = _planned(app, bureau)
    _api(app, "post", f"/sessions/{sid}/submit", "planner_trade")
    for login in ("planner_trade", "host1", "ans_trade"):
        for path, body in (("approve", None), ("return", {"reason": "不行"})):
            refused = _api(app, "post", f"/sessions/{sid}/{path}", login, body)
            assert refused.status_code == 403, (login, path)
            assert refused.get_json() == {"error": "forbidden",
                                          "message": "只有局办公室可以批准专场。"}
    assert db.session.get(LiveSession, sid).approval == ApprovalState.SUBMITTED
    # The pages are for the office only: the queue, and the approve and return forms, even
    # with a valid form token (the planner's own, from the session's page).
    http = app.test_client()
    http.post("/login", data={"login": "planner_trade", "password": "correct-horse-42"})
    assert http.get("/office/approvals").status_code == 403
    page = http.get(f"/office/sessions/{sid}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert http.post(f"/office/sessions/{sid}/approve",
                     data={"csrf_token": token}).status_code == 403
    assert http.post(f"/office/sessions/{sid}/return",
                     data={"csrf_token": token, "reason": "不行"}).status_code == 403
    # Nothing stored: still waiting, the history only the sending, nothing audited as decided.
    db.session.expire_all()
    assert db.session.get(LiveSession, sid).approval == ApprovalState.SUBMITTED
    history = _api(app, "get", f"/sessions/{sid}/approval", "office1").get_json()["history"]
    assert [h["action"] for h in history] == ["submitted"]
    assert audit_of("session_approved") == [] and audit_of("session_returned") == []
    assert _api(app, "post", f"/sessions/{sid}/announce", "office1").status_code == 409


def test_a_planner_drafts_only_for_their_own_department(app, bureau):
    refused = _api(app, "post", "/sessions", "planner_trade",
                   _draft(bureau, departments=("trade", "market")))
    assert refused.status_code == 403
    assert refused.get_json()["fields"] == {"departments": "你只能为本处室安排专场。"}
    assert db.session.query(LiveSession).count() == 0
    # The office's own session, then changed by the planner: refused too.
    office = _api(app, "post", "/sessions", "office1", _draft(bureau))
    assert office.get_json()["approval"]["state"] == "not_required"
    sid = office.get_json()["session"]["id"]
    assert _api(app, "patch", f"/sessions/{sid}", "planner_trade",
                _draft(bureau)).status_code == 403
    # And on the office's page the same rule stands next to the field.
    http = app.test_client()
    http.post("/login", data={"login": "planner_trade", "password": "correct-horse-42"})
    form = http.get("/office/sessions/new").get_data(as_text=True)
    assert "对外贸易处" in form and "市场秩序处" not in form  # only their own to choose
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    start = to_local(utcnow() + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M")
    end = to_local(utcnow() + timedelta(days=9, hours=2)).strftime("%Y-%m-%dT%H:%M")
    page = http.post("/office/sessions/new", data={
        "csrf_token": token, "title": "跨处室专场", "scheduled_start": start,
        "scheduled_end": end, "departments": [str(bureau["trade"].id), str(bureau["market"].id)],
        "moderation_mode": "pre"})
    assert page.status_code == 400
    assert "你只能为本处室安排专场。" in page.get_data(as_text=True)


def test_the_offices_own_sessions_need_no_approval(app, bureau, make_session):
    made = _api(app, "post", "/sessions", "office1", _draft(bureau))
    sid = made.get_json()["session"]["id"]
    assert _api(app, "post", f"/sessions/{sid}/announce", "office1").status_code == 200
    refused = _api(app, "post", f"/sessions/{sid}/submit", "office1")
    assert refused.status_code in (403, 409)


def test_a_planners_change_after_sending_needs_sending_again(app, bureau):
    sid = _planned(app, bureau)
    _api(app, "post", f"/sessions/{sid}/submit", "planner_trade")
    _api(app, "post", f"/sessions/{sid}/approve", "office1")
    changed = _api(app, "patch", f"/sessions/{sid}", "planner_trade", _draft(bureau, days=12))
    assert changed.get_json()["approval"]["state"] == "draft"
    assert changed.get_json()["approval"]["history"][-1]["action"] == "reopened"
    assert _api(app, "post", f"/sessions/{sid}/announce", "office1").status_code == 409


def test_bad_approval_requests_get_clear_errors(app, bureau):
    sid = _planned(app, bureau)
    not_sent = _api(app, "post", f"/sessions/{sid}/approve", "office1")
    assert not_sent.status_code == 409 and not_sent.get_json()["error"] == "bad_transition"
    _api(app, "post", f"/sessions/{sid}/submit", "planner_trade")
    again = _api(app, "post", f"/sessions/{sid}/submit", "planner_trade")
    assert again.status_code == 409
    for body in ({}, {"reason": ""}, {"reason": 12}, {"reason": "长" * 501}):
        bad = _api(app, "post", f"/sessions/{sid}/return", "office1", body)
        assert bad.status_code == 400 and bad.get_json()["fields"]["reason"], body
    assert _api(app, "post", "/sessions/424242/approve", "office1").status_code == 404
    assert db.session.get(LiveSession, sid).state == SessionState.DRAFT


def test_the_office_queue_page_shows_the_history_and_decides(app, bureau, client, auth):
    sid = _planned(app, bureau)
    _api(app, "post", f"/sessions/{sid}/submit", "planner_trade")
    auth.login("office1")
    page = client.get("/office/approvals").get_data(as_text=True)
    assert "稳外贸政策解读" in page and "外贸处计划员" in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    done = client.post(f"/office/sessions/{sid}/return", data={"csrf_token": token,
                                                               "reason": "时间与另一场冲突。"})
    assert done.status_code == 302
    detail = client.get(f"/office/sessions/{sid}").get_data(as_text=True)
    assert "时间与另一场冲突。" in detail
    assert db.session.get(LiveSession, sid).approval == ApprovalState.RETURNED
