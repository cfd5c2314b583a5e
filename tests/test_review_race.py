"""Several reviewers at once: two of them deciding the same item at the same moment publish it
once. Each reviewer is a request with its own database transaction (another worker, or another
greenlet); the second finds the item decided already. On SQLite and on the real PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest

from qa_live.auth.models import Role
from qa_live.auth.services import find_user_by_login
from qa_live.extensions import db
from qa_live.live import events, review
from qa_live.live.models import Answer, SessionEvent
from qa_live.live.review_models import ReviewItem, ReviewState
from qa_live.live.services import QuestionRefused
from qa_live.planning.models import Duty, SessionStaff
from tests.studio_helpers import (  # noqa: F401 - studio is a fixture
    GUEST,
    audit_of,
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
