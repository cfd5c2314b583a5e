"""Figures as of a past day from the days the round keeps (asof17c, qa_live/stats/days.py).

The refresh round keeps, for each session it stores, its figures as of the end of every day on
which one of its rows has a time, and the distinct visitors of every beginning of the year's
sessions. So the first report as of any past day after later changes reads kept rows only (no
statement reads questions, answers, ratings or visits), and says exactly what a count from
scratch says. A change to a session leaves its kept days unread until the round keeps them again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from qa_live.core.timeutil import from_local
from qa_live.extensions import db
from qa_live.live.models import QuestionSource, RatingValue
from qa_live.stats import days, past, queries, refresh, stored, visitors
from qa_live.stats.asof import AsOf
from qa_live.stats.models import StatsAsOf
from qa_live.stats.serialize import summary_json
from qa_live.transcript import ratings
from tests import stats_world as world
from tests.test_stats import YEAR, build_year
from tests.test_stats_ahead import (
    _oral_answer,
    _second_reply,
    counting,
    from_scratch,
    office_headers,
    surfaces,
)
from tests.test_stats_stored import statements

#: Session A's day, the day after, the day of its second reply (12 March), the day after that,
#: the day of B, after B, the July session's day, and the year's last day.
DAYS = ["2025-03-10", "2025-03-11", "2025-03-12", "2025-03-15", "2025-06-18",
        "2025-06-19", "2025-07-01", "2025-12-31"]


def _advance_session(year: dict) -> None:
    """A session in July whose question was sent in advance in June (counted before it)."""
    start = world.beijing(YEAR, 7, 1)
    session = world.plan("外贸企业座谈", start, [year["trade"]], year["actor"])
    world.ask(session, start - timedelta(days=5), source=QuestionSource.ADVANCE)
    world.go_live(session)
    world.visit(session, "v1", start + timedelta(minutes=1))
    world.end(session)


def test_the_first_report_as_of_any_past_day_after_later_changes_counts_nothing(any_db_app):
    year = build_year()
    _advance_session(year)
    headers = office_headers()
    _second_reply(year)  # A changes after these days (its ratings too: given today)
    db.session.commit()
    refresh.refresh_round()
    kept = db.session.scalar(select(func.count()).select_from(StatsAsOf))
    first = {}
    for day in DAYS:
        first[day], seen = surfaces(any_db_app, headers, YEAR, day)
        assert counting(seen) == [], day
    # Nothing was counted and kept for one of these moments on demand.
    assert db.session.scalar(select(func.count()).select_from(StatsAsOf)) == kept
    # The July session's question, sent in June, counts before the session was held.
    assert (first["2025-07-01"]["api"]["questions"]["asked"]
            == first["2025-06-19"]["api"]["questions"]["asked"] + 1)
    for day in DAYS:
        assert first[day] == from_scratch(any_db_app, headers, YEAR, day), day


def test_a_later_change_is_served_from_the_kept_days_after_the_next_round(any_db_app):
    year = build_year()
    headers = office_headers()
    refresh.refresh_round()
    as_of = "2025-03-11"
    filed, seen = surfaces(any_db_app, headers, YEAR, as_of)
    assert counting(seen) == []
    _second_reply(year)  # kept current by the change itself (stats.maintained)
    db.session.commit()
    # Only A's kept days are behind now: its version moved; B's are untouched.
    assert [s for s, _v, _settled in days.unkept_sessions(10)] == [year["a"].id]
    before_round, seen = surfaces(any_db_app, headers, YEAR, as_of)
    assert counting(seen)  # A as of that day, counted on demand until the round
    assert before_round == filed
    refresh.refresh_round()
    assert days.unkept_sessions(10) == []
    after_round, seen = surfaces(any_db_app, headers, YEAR, as_of)
    assert counting(seen) == []
    assert after_round == filed == from_scratch(any_db_app, headers, YEAR, as_of)


def test_an_answer_given_orally_and_recorded_later_moves_the_past_from_its_recording(
        any_db_app):
    year = build_year()
    headers = office_headers()
    refresh.refresh_round()
    _oral_answer(year)  # given on 10 March, recorded on 11 March
    db.session.commit()
    refresh.refresh_round()
    got = {}
    for day in ("2025-03-10", "2025-03-11"):
        got[day], seen = surfaces(any_db_app, headers, YEAR, day)
        assert counting(seen) == [], day
    assert (got["2025-03-11"]["api"]["questions"]["answered"]
            == got["2025-03-10"]["api"]["questions"]["answered"] + 1)
    for day in got:
        assert got[day] == from_scratch(any_db_app, headers, YEAR, day), day


def test_a_rating_changed_exactly_at_midnight_counts_as_of_the_day_that_ends_then(any_db_app):
    year = build_year()
    headers = office_headers()
    q5 = year["questions"][4]  # its second reply (12 March) not rated yet
    midnight = from_local(datetime(YEAR, 4, 2))  # the end of 1 April, local time
    ratings.rate_answer(q5, q5.answers[0], RatingValue.UNSATISFIED, midnight)
    ratings.rate_answer(q5, q5.answers[0], RatingValue.BASIC, midnight + timedelta(days=30))
    db.session.commit()
    refresh.refresh_round()
    got = {}
    for day in ("2025-03-31", "2025-04-01", "2025-04-02"):
        got[day], seen = surfaces(any_db_app, headers, YEAR, day)
        assert counting(seen) == [], day
    rated = {day: got[day]["api"]["ratings"] for day in got}
    assert rated["2025-03-31"]["rated"] + 1 == rated["2025-04-01"]["rated"]
    assert rated["2025-04-01"] == rated["2025-04-02"]
    for day in got:
        assert got[day] == from_scratch(any_db_app, headers, YEAR, day), day


def test_a_quarter_starting_at_local_midnight_names_both_days(app):
    with app.app_context():
        midnight = from_local(datetime(2025, 4, 2))
        quarter = int(midnight.timestamp()) // days.QUARTER
        assert days._days_of(quarter) == [date(2025, 4, 1), date(2025, 4, 2)]
        assert days._days_of(quarter + 1) == [date(2025, 4, 2)]
        assert days._days_of(quarter - 1) == [date(2025, 4, 1)]
        assert past.is_day_end(midnight)
        assert not past.is_day_end(midnight + timedelta(seconds=1))
        assert past.MARKER == datetime(1970, 1, 1, tzinfo=UTC)


def test_the_visitors_of_each_beginning_of_the_year_are_stored_by_the_round(any_db_app):
    year = build_year()
    refresh.refresh_round()
    a, b = year["a"], year["b"]
    versions = {s: v for s, v in db.session.execute(select(
        type(a).id, type(a).visits_version).where(type(a).id.in_([a.id, b.id])))}
    assert visitors.store_beginnings([a.id, b.id]) == 0  # stored already: nothing counted
    from qa_live.stats.models import StatsPeriod

    def stored_count(ids: list[int]) -> int | None:
        return db.session.scalar(select(StatsPeriod.unique_visitors).where(
            StatsPeriod.key == visitors.period_key(ids, versions)))

    assert stored_count([a.id]) == 3  # v1, v2, v3
    assert stored_count([a.id, b.id]) == 4  # and v9 (v1 came again)


def test_a_departments_share_as_of_a_past_day_reads_kept_rows_and_is_exact(any_db_app):
    year = build_year()
    _second_reply(year)
    db.session.commit()
    refresh.refresh_round()
    scopes = [queries.Scope.year(YEAR, year[name].id) for name in ("trade", "market")]
    got = {}
    for scope in scopes:
        for day in (date(2025, 3, 11), date(2025, 6, 19)):
            db.session.commit()  # a fresh snapshot, as a request has
            with statements() as seen:
                got[(scope, day)] = summary_json(
                    queries.summarize(scope, as_of=AsOf.of_day(day)), day)
            assert counting(seen) == [], (scope, day)
    stored.forget()
    for (scope, day), figures in got.items():
        db.session.commit()
        assert figures == summary_json(queries.summarize(scope, as_of=AsOf.of_day(day)), day)
