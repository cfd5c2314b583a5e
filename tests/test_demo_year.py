"""`flask demo load` makes a believable year, dated from the day it is loaded."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.followup import calendar
from qa_live.followup.models import FollowUp, FollowUpStatus
from qa_live.live.models import Question, QuestionStatus
from qa_live.planning.models import LiveSession, SessionState


def test_the_demo_year_keeps_its_follow_ups_as_a_working_office_would(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    today = calendar.local_today()
    follow_ups = db.session.scalars(select(FollowUp)).all()
    open_ = [f for f in follow_ups if f.status in (FollowUpStatus.OPEN,
                                                   FollowUpStatus.IN_PROGRESS)]
    late = [f for f in open_ if f.due_date < today]
    assert len(follow_ups) >= 10
    assert 1 <= len(late) <= 3, [(f.id, f.due_date) for f in late]
    assert max((today - f.due_date).days for f in late) < 30
    assert len(open_) - len(late) >= 1  # some due in the coming days, not yet late
    closed = [f for f in follow_ups if f.status == FollowUpStatus.DONE]
    assert len(closed) >= len(follow_ups) - 5
    assert all(f.answer_id is not None for f in closed)  # closed with a second reply


def test_the_demo_year_is_dated_from_today_and_only_the_live_session_awaits_review(runner):
    runner.invoke(args=["demo", "load"])
    now = utcnow()
    sessions = db.session.scalars(select(LiveSession).order_by(LiveSession.scheduled_start)).all()
    held = [s for s in sessions if s.state == SessionState.ENDED]
    live = [s for s in sessions if s.state == SessionState.LIVE
            and s.slug not in ("demo-14", "demo-interview")]
    interview = next(s for s in sessions if s.slug == "demo-14")  # the studio's two, also live
    assert interview.state == SessionState.LIVE and interview.reviewed
    assert len(held) == 10 and len(live) == 1
    assert now - held[0].scheduled_start < timedelta(days=366)
    assert now - held[-1].scheduled_start < timedelta(days=14)
    assert live[0].scheduled_start.minute % 5 == 0 and live[0].scheduled_start.second == 0
    pending = db.session.scalars(select(Question).where(
        Question.status == QuestionStatus.PENDING)).all()
    assert {q.session.state for q in pending} <= {SessionState.LIVE, SessionState.ANNOUNCED}
