"""Several people in one role at once: two reviewers deciding the same review item at the same
moment publish it once; two office staff deciding the same session's approval at the same moment
leave one decision. Each is a request with its own database transaction (another worker, or
another greenlet); the second finds the decision made already. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from qa_live.auth.models import Role
from qa_live.auth.services import find_user_by_login
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.live import events, review
from qa_live.live.models import Answer, SessionEvent
from qa_live.live.review_models import ReviewItem, ReviewState
from qa_live.live.services import QuestionRefused
from qa_live.planning import approval
from qa_live.planning.errors import PlanningError
from qa_live.planning.models import ApprovalState, Duty, LiveSession, SessionStaff
from tests.studio_helpers import (  # noqa: F401 - studio is a fixture
    GUEST,
    audit_of,
    bearer,
    published_question,
    studio,
)


@pytest.fixture
def app(any_db_app):
    """The studio's fixtures on both databases."""
    return any_db_app


@pytest.fixture
def two_reviewers(studio, make_user):
    """A second reviewer on duty in the reviewed interview, and an item waiting for review."""
    session = studio["reviewed"]
    second = make_user("reviewer2", roles=[Role.REVIEWER], name="审核小钱")
    db.session.add(SessionStaff(session_id=session.id, user_id=second.id, duty=Duty.REVIEWER))
    db.session.commit()
    question = published_question(studio, "reviewed", "出口退税多久到账？", "v-race-00000001")
    guest_id = next(g.id for g in session.guests if g.name == GUEST[0])
    item = review.submit(session, find_user_by_login("editor1"), "answer", {
        "question_id": question.id, "guest_id": guest_id, "body": "一般十个工作日内到账。"})
    events.commit_and_send()
    return session, item.id


def _in_another_transaction(app, work) -> None:
    """Run `work()` in a thread with its own app context, so its own session and connection,
    and commit it there (another reviewer's request), before this one goes on."""
    failure: list[BaseException] = []

    def run() -> None:
        with app.app_context():
            try:
                work()
                events.commit_and_send()
            except BaseException as exc:  # reported to the test below
                failure.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and not failure, failure


@pytest.mark.parametrize("second_decision", ["approve", "send_back"])
def test_two_reviewers_deciding_at_once_publish_once(app, two_reviewers, second_decision):
    session, item_id = two_reviewers
    # Reviewer 1 has read the item (pending) in their transaction...
    item = db.session.get(ReviewItem, item_id)
    assert item.state == ReviewState.PENDING
    # ...when reviewer 2, in theirs, approves it and commits.
    _in_another_transaction(app, lambda: review.approve(
        db.session.get(ReviewItem, item_id), find_user_by_login("reviewer2")))
    # Reviewer 1's decision comes second: refused, clearly, and nothing is published twice.
    decide = {"approve": lambda: review.approve(item, find_user_by_login("reviewer1")),
              "send_back": lambda: review.send_back(item, find_user_by_login("reviewer1"),
                                                    "措辞需要调整。")}[second_decision]
    with pytest.raises(QuestionRefused) as refused:
        decide()
    assert refused.value.code == "bad_transition"
    db.session.rollback()

    assert db.session.query(Answer).count() == 1
    row = db.session.get(ReviewItem, item_id)
    assert row.state == ReviewState.APPROVED and row.reason == ""
    assert row.reviewer_id == find_user_by_login("reviewer2").id
    answers = [e for e in db.session.query(SessionEvent).filter_by(session_id=session.id)
               if e.type == "question" and "一般十个工作日内到账" in e.payload]
    assert len(answers) == 1
    assert len(audit_of("review_approve")) == 1 and audit_of("review_return") == []


@pytest.fixture
def sent_for_approval(app, make_department, make_user):
    """A department's session its planner sent to the office; two office staff at work."""
    trade = make_department("对外贸易处")
    make_user("office1", roles=[Role.OFFICE], name="局办公室小王")
    make_user("office2", roles=[Role.OFFICE], name="局办公室小李")
    make_user("planner_trade", roles=[Role.PLANNER], departments=[trade], name="外贸处计划员")
    start = utcnow() + timedelta(days=10)
    http = app.test_client()
    made = http.post("/api/v1/staff/sessions", headers=bearer("planner_trade"), json={
        "title": "稳外贸政策解读", "scheduled_start": start.isoformat(),
        "scheduled_end": (start + timedelta(hours=2)).isoformat(),
        "department_ids": [trade.id]})
    session_id = made.get_json()["session"]["id"]
    assert http.post(f"/api/v1/staff/sessions/{session_id}/submit",
                     headers=bearer("planner_trade")).status_code == 200
    return session_id


@pytest.mark.parametrize("first, second", [("approve", "send_back"), ("send_back", "approve"),
                                           ("approve", "approve")])
def test_two_office_staff_deciding_at_once_leave_one_decision(app, sent_for_approval, first,
                                                               second):
    session_id = sent_for_approval
    decide = {"approve": lambda s, who: approval.approve(s, find_user_by_login(who)),
              "send_back": lambda s, who: approval.send_back(s, find_user_by_login(who),
                                                             "请补充嘉宾名单。")}
    # Office 1 has the session open (waiting for approval)...
    session = db.session.get(LiveSession, session_id)
    assert session.approval == ApprovalState.SUBMITTED
    # ...when office 2 decides it and commits.
    _in_another_transaction(app, lambda: decide[first](db.session.get(LiveSession, session_id),
                                                       "office2"))
    with pytest.raises(PlanningError) as refused:
        decide[second](session, "office1")
    assert refused.value.code == "bad_transition"
    db.session.rollback()

    expected = {"approve": ApprovalState.APPROVED, "send_back": ApprovalState.RETURNED}[first]
    assert db.session.get(LiveSession, session_id).approval == expected
    steps = [(step.action, step.actor.login) for step in
             approval.history(db.session.get(LiveSession, session_id))]
    assert steps == [("submitted", "planner_trade"),
                     ({"approve": "approved", "send_back": "returned"}[first], "office2")]
