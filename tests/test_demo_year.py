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
            and s.slug != "demo-14"]
    interview = next(s for s in sessions if s.slug == "demo-14")  # the studio's, also live
    assert interview.state == SessionState.LIVE and interview.reviewed
    assert len(held) == 10 and len(live) == 1
    assert now - held[0].scheduled_start < timedelta(days=366)
    assert now - held[-1].scheduled_start < timedelta(days=14)
    assert live[0].scheduled_start.minute % 5 == 0 and live[0].scheduled_start.second == 0
    pending = db.session.scalars(select(Question).where(
        Question.status == QuestionStatus.PENDING)).all()
    assert {q.session.state for q in pending} <= {SessionState.LIVE, SessionState.ANNOUNCED}


def test_the_demo_has_one_interview_with_the_whole_studio(runner, client):
    """Issue 15's "done when": one interview session with photos, materials, a stream player, a
    poll and a director-chosen projector, reviewed (the editor's photos went through review)."""
    from qa_live.live.media.models import MaterialKind
    from qa_live.live.review_models import ReviewItem, ReviewState

    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(LiveSession).where(LiveSession.slug == "demo-interview")) \
        is None
    interview = db.session.scalar(select(LiveSession).where(LiveSession.slug == "demo-14"))
    assert interview.reviewed and interview.state == SessionState.LIVE
    assert interview.stream_url.endswith(".m3u8")
    assert interview.screen_kind == "question" and interview.screen_ref
    media = client.get("/api/v1/sessions/demo-14/media").get_json()
    assert len(media["photos"]) == 3 and media["stream_url"] == interview.stream_url
    kinds = {m["kind"] for m in media["materials"]}
    assert {k.value for k in MaterialKind} <= kinds, kinds
    approved_photos = db.session.scalars(select(ReviewItem).where(
        ReviewItem.session_id == interview.id, ReviewItem.kind == "photo")).all()
    assert len(approved_photos) == 3
    assert all(i.state == ReviewState.APPROVED for i in approved_photos)
    page = client.get("/s/demo-14").get_data(as_text=True)
    assert "您最关注哪方面的稳外贸政策？" in page and "index.m3u8" in page
