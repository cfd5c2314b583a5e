"""Follow-ups opened automatically: at a session's end, and for questions flagged after it.

followup/receivers.py calls these when live signals the session's end or a late flag.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from qa_live.auth.models import User
from qa_live.extensions import db
from qa_live.followup import calendar
from qa_live.followup.dates import session_day
from qa_live.followup.models import FollowUp
from qa_live.followup.services import create_follow_up, follow_up_of
from qa_live.live.models import Question, QuestionStatus
from qa_live.planning.models import LiveSession


def needs_follow_up(question: Question) -> bool:
    """A valid question not answered live, or one staff flagged for offline work."""
    if question.status == QuestionStatus.REJECTED:
        return False
    return question.status != QuestionStatus.ANSWERED or question.needs_follow_up


def create_session_follow_ups(session: LiveSession, actor: User | None) -> list[FollowUp]:
    """Give every question of an ended session that needs one an automatic follow-up."""
    have = set(db.session.scalars(select(FollowUp.question_id)
                                  .where(FollowUp.session_id == session.id)))
    questions = db.session.scalars(
        select(Question).where(Question.session_id == session.id,
                               Question.status != QuestionStatus.REJECTED)
        .order_by(Question.id)
    ).all()
    # Counted from the session's day even when it ended earlier (the demo's held sessions).
    due = calendar.add_working_days(session_day(session),
                                    current_app.config["FOLLOW_UP_WORKING_DAYS"])
    return [create_follow_up(q, actor, due_date=due, automatic=True)
            for q in questions if q.id not in have and needs_follow_up(q)]


def ensure_follow_up(question: Question, actor: User | None) -> FollowUp:
    """The question's follow-up, made automatically when it has none."""
    found = follow_up_of(question)
    if found is not None:
        return found
    return create_follow_up(question, actor, automatic=True)
