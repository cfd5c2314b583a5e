"""Figures as of a date: a report filed in January does not change when a second reply, a
rating or a due date changes in February; the live answer rate; clear errors for bad dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale

from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.followup import services as followups
from qa_live.live import moderation
from qa_live.live.models import RatingValue, RejectReason
from qa_live.planning import services as planning
from qa_live.stats import grouped, queries, report
from qa_live.stats.asof import AsOf, AsOfError, parse_as_of
from qa_live.stats.serialize import summary_json
from qa_live.transcript import ratings
from tests import stats_world as world

YEAR = 2025
FILED = date(2026, 1, 10)  # the day the annual report was made
LATER = world.beijing(2026, 2, 3)  # a second reply, a changed rating, a moved due date


def build(app) -> dict:
    app.config["FOLLOW_UP_AUTO"] = False  # follow-ups are opened by hand below, in story time
    actor = world.office_user()
    trade = planning.create_department("对外贸易处")
    start = world.beijing(YEAR, 3, 10)
    a = world.plan("稳外贸政策解读", start, [trade], actor)
    world.go_live(a)
    world.visit(a, "v1", start + timedelta(minutes=1))
    world.visit(a, "v2", start + timedelta(minutes=2))
    q1 = world.ask(a, start + timedelta(minutes=5), visitor="v1")
    q2 = world.ask(a, start + timedelta(minutes=6), visitor="v2")
    q3 = world.ask(a, start + timedelta(minutes=7))
    world.answer(q1, actor, start + timedelta(minutes=10))
    moderation.approve(q2, actor, now=start + timedelta(minutes=8))
    moderation.reject(q3, actor, RejectReason.SPAM, start + timedelta(minutes=9))
    world.end(a)
    ratings.rate_answer(q1, q1.answers[0], RatingValue.SATISFIED, start + timedelta(hours=3))
    follow_up = followups.create_follow_up(q2, actor, department_id=trade.id,
                                           due_date=date(YEAR, 3, 17), automatic=True)
    follow_up.created_at = a.ended_at
    # Session D: planned in August, held in September.
    d_start = world.beijing(YEAR, 9, 1)
    d = world.plan("外贸新业态", d_start, [trade], actor)
    world.go_live(d)
    world.visit(d, "v1", d_start + timedelta(minutes=1))
    q4 = world.ask(d, d_start + timedelta(minutes=3), visitor="v1")
    world.answer(q4, actor, d_start + timedelta(minutes=4))
    world.end(d)
    world.commit()
    return {"a": a, "d": d, "q1": q1, "q2": q2, "follow_up": follow_up, "actor": actor}


def february(story: dict) -> None:
    """What happens after the report was filed."""
    followups.close_done(story["follow_up"], story["actor"], "经核实，补贴比例为50%。",
                         now=LATER)
    q1 = story["q1"]
    ratings.rate_answer(q1, q1.answers[0], RatingValue.UNSATISFIED, LATER)
    db.session.commit()


def as_of(day: date) -> queries.Summary:
    return queries.summarize(queries.Scope.year(YEAR), as_of=AsOf.of_day(day))


def test_a_report_as_of_january_stays_the_same_after_februarys_second_reply(any_db_app):
    story = build(any_db_app)
    queries.summarize(queries.Scope.year(YEAR))  # the year's page was read: figures stored
    filed = summary_json(as_of(FILED), FILED)
    paragraph = report.paragraph_zh(as_of(FILED), FILED)

    february(story)

    again = as_of(FILED)
    assert summary_json(again, FILED) == filed
    assert report.paragraph_zh(again, FILED) == paragraph
    c = again.counts
    assert (c.valid, c.answered, c.second_replies) == (3, 2, 0)  # q1, q2 (open), q4
    assert c.answer_rate.percent() == "66.6%"
    assert (c.follow_ups_opened, c.follow_ups_done, c.follow_ups_overdue) == (1, 0, 1)
    assert c.rating_counts()[RatingValue.SATISFIED] == 1 and c.ratings == 1
    assert paragraph.endswith("答复率达到66.6%。会后二次答复0个；线下落实1件，已办结0件，办结率0%。"
                              "（数据截至2026年1月10日）")

    now = queries.summarize(queries.Scope.year(YEAR), today=date(2026, 2, 10)).counts
    assert (now.answered, now.answered_later, now.second_replies) == (3, 1, 1)
    assert now.answer_rate.percent() == "100%" and now.live_answer_rate.percent() == "66.6%"
    assert (now.follow_ups_done, now.follow_ups_overdue) == (1, 0)
    assert now.rating_counts()[RatingValue.UNSATISFIED] == 1
    # Between February and today, the figures as of February 10 are today's.
    assert summary_json(as_of(date(2026, 2, 10)), FILED)["questions"] == summary_json(
        queries.summarize(queries.Scope.year(YEAR)), FILED)["questions"]


def test_sessions_are_counted_in_the_state_they_were_in_then(any_db_app):
    build(any_db_app)
    june = as_of(date(YEAR, 6, 30))
    assert [s.title for s in june.sessions] == ["稳外贸政策解读"]  # D was not planned yet
    assert june.participant_visits == 2 and june.unique_visitors == 2
    august = as_of(date(YEAR, 8, 28))
    assert (august.sessions_planned, august.sessions_held, august.sessions_upcoming) == (2, 1, 1)
    assert august.counts.valid == 2
    year_end = as_of(date(YEAR, 12, 31))
    assert (year_end.sessions_held, year_end.participant_visits, year_end.unique_visitors) == (
        2, 3, 2)
    # The session's own page, as of the day before it went live: announced, nothing counted.
    before = queries.session_report(_session("外贸新业态"), as_of=AsOf.of_day(date(YEAR, 8, 31)))
    assert before.session.state.value == "announced" and before.session.counts.asked == 0


def _session(title: str):
    from sqlalchemy import select

    from qa_live.planning.models import LiveSession

    return db.session.scalar(select(LiveSession).where(LiveSession.title == title))


def test_settled_sessions_are_read_from_storage_and_changed_ones_counted_again(
        any_db_app, monkeypatch):
    story = build(any_db_app)
    queries.summarize(queries.Scope.year(YEAR))  # stores both sessions
    february(story)
    queries.summarize(queries.Scope.year(YEAR))  # A changed: stored again
    counted: list[list[int]] = []
    real = grouped.question_counts_and_latest

    def spy(session_ids, department_id=None, at=None):
        counted.append(sorted(session_ids))
        return real(session_ids, department_id, at)

    monkeypatch.setattr(grouped, "question_counts_and_latest", spy)
    as_of(date(2026, 2, 20))  # nothing changed since: all from storage
    assert counted == []
    as_of(FILED)  # A changed after it (the second reply): only A is counted again
    assert counted == [[story["a"].id]]


def test_the_live_answer_rate_and_the_as_of_date_on_the_pages(any_db_app, client, auth,
                                                              make_user):
    story = build(any_db_app)
    february(story)
    auth.login(make_user("office-asof", roles=[Role.OFFICE]))
    page = client.get(f"/office/stats?year={YEAR}&as_of={FILED.isoformat()}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "66.6%" in html and 'value="2026-01-10"' in html
    now = client.get(f"/office/stats?year={YEAR}").get_data(as_text=True)
    assert "100%" in now and 'data-figure="live-answer-rate"' in now
    printable = client.get(f"/office/stats/report?year={YEAR}&as_of={FILED.isoformat()}")
    assert "（数据截至2026年1月10日）" in printable.get_data(as_text=True)
    csv = client.get(f"/office/stats/export/summary.csv?year={YEAR}&as_of=2026-01-10")
    assert "66.6%" in csv.get_data(as_text=True)


@pytest.mark.parametrize(("raw", "message"), [
    ("2026-13-01", "must be a date like"),
    ("yesterday", "must be a date like"),
    ("2999-01-01", "is in the future"),
    ("2001-01-01", "is before the first session"),
])
def test_bad_as_of_dates_are_refused_clearly(any_db_app, client, auth, make_user, raw,
                                             message):
    build(any_db_app)
    with force_locale("en"), pytest.raises(AsOfError, match=message):
        parse_as_of(raw)
    auth.login(make_user("office-asof-bad", roles=[Role.OFFICE]))
    for path in ("/office/stats", "/office/stats/report", "/office/stats/export/summary.csv",
                 f"/office/stats/sessions/{_session('外贸新业态').id}"):
        response = client.get(f"{path}?year={YEAR}&as_of={raw}&lang=en")
        assert response.status_code == 400, path
        assert message in response.get_data(as_text=True), path


def test_with_no_session_on_record_an_as_of_date_is_refused(app):
    with force_locale("en"), pytest.raises(AsOfError, match="No session is on record"):
        parse_as_of("2025-01-01")
    assert parse_as_of("") is None
