"""Stored per-session figures: read back instead of recounted, and never stale after a change.

Every change below goes to a session whose figures are already stored, through the services or
as bare SQL (as a bulk fix or another process would write); the figures read afterwards must
equal the figures computed from scratch with nothing stored, and must show the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text

from qa_live.extensions import db
from qa_live.live.models import (
    Answer,
    AnswerKind,
    QuestionStatus,
    Rating,
    RatingValue,
)
from qa_live.live.services import set_question_status
from qa_live.planning import services as planning
from qa_live.planning.models import SessionState
from qa_live.stats import queries, stored
from qa_live.stats.models import StatsGroup, StatsSession
from tests import stats_world as world
from tests.test_stats import TODAY, YEAR, build_year
from tests.visit_helpers import open_visit


@pytest.fixture
def year(any_db_app):
    return build_year()


def figures(scope: queries.Scope | None = None) -> dict[str, Any]:
    """Everything a user reads off the year's page, as plain values."""
    db.session.commit()  # a fresh snapshot, as a new page would have
    summary = queries.summarize(scope or queries.Scope.year(YEAR), today=TODAY)
    return {
        "totals": asdict(summary.counts),
        "sessions": {s.id: (asdict(s.counts), s.participant_visits, s.unique_visitors)
                     for s in summary.sessions},
        "departments": {d.id: (asdict(d.counts), d.participant_visits)
                        for d in summary.departments},
        "months": {m.label: asdict(m.counts) for m in summary.months},
        "visits": (summary.participant_visits, summary.unique_visitors),
        "times": (summary.median_answer_seconds, summary.p90_answer_seconds),
    }


def from_scratch(scope: queries.Scope | None = None) -> dict[str, Any]:
    """The same figures with nothing stored: every session counted from its rows."""
    db.session.commit()
    stored.forget()
    return figures(scope)


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_a_second_look_reads_the_stored_figures_without_counting_questions(year):
    first = figures()
    assert db.session.scalar(select(StatsSession).where(
        StatsSession.session_id == year["a"].id)) is not None
    with statements() as seen:
        again = figures()
    assert again == first
    counting = [s for s in seen if "FROM questions" in s or "FROM visits" in s]
    assert counting == []
    assert first["totals"]["answered"] == 4 and first["visits"] == (6, 4)


def _second_reply(year: dict) -> None:
    q6 = year["questions"][5]  # approved, never answered, in ended session A
    at = year["a"].scheduled_end + timedelta(days=3)
    db.session.add(Answer(question_id=q6.id, author_id=year["actor"].id, kind=AnswerKind.FOLLOW_UP,
                          department_id=year["trade"].id, body="已办结。", created_at=at))
    set_question_status(q6, QuestionStatus.ANSWERED, at)


def _reject_an_answered_question(year: dict) -> None:
    # The services refuse to reject after the session; a correction by hand in SQL does not.
    db.session.execute(text("UPDATE questions SET status = 'REJECTED', reject_reason = 'SPAM' "
                            "WHERE id = :q"), {"q": year["questions"][7].id})  # q8, session B


def _rating_changed(year: dict) -> None:
    rating = db.session.scalar(select(Rating).where(Rating.value == RatingValue.BASIC))
    rating.value = RatingValue.UNSATISFIED


def _visits_deleted_with_sql(year: dict) -> None:
    db.session.execute(text("DELETE FROM visits WHERE session_id = :s AND visitor_id = 'v9'"),
                       {"s": year["b"].id})


def _question_moved_with_sql(year: dict) -> None:
    db.session.execute(text("UPDATE questions SET department_id = :d WHERE id = :q"),
                       {"d": year["market"].id, "q": year["questions"][0].id})


def _late_question_in_advance(year: dict) -> None:
    # Session D is announced: its questions in advance change its own row of the table.
    world.ask(year["d"], year["d"].scheduled_start - timedelta(hours=1),
              source=world.QuestionSource.ADVANCE)


def _session_archived(year: dict) -> None:
    planning.change_state(year["b"], SessionState.ARCHIVED, year["b"].scheduled_end
                          + timedelta(days=30))


CHANGES: dict[str, tuple[Callable[[dict], None], Callable[[dict, dict], bool]]] = {
    "a second reply": (_second_reply,
                       lambda before, after: after["totals"]["answered"]
                       == before["totals"]["answered"] + 1),
    "a rejection by SQL": (_reject_an_answered_question,
                    lambda before, after: after["totals"]["valid"]
                    == before["totals"]["valid"] - 1),
    "a rating changed": (_rating_changed,
                         lambda before, after: after["totals"]["ratings_unsatisfied"] == 1),
    "visits deleted by SQL": (_visits_deleted_with_sql,
                              lambda before, after: after["visits"] == (5, 3)),
    "a question moved by SQL": (_question_moved_with_sql,
                                lambda before, after: after["departments"] != before[
                                    "departments"] and after["totals"] == before["totals"]),
    "a question in advance": (_late_question_in_advance,
                              lambda before, after: after["sessions"] != before["sessions"]),
    "a session archived": (_session_archived, lambda before, after: after == before),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_figures_after_a_change_equal_a_count_from_scratch(year, change):
    before = figures()
    action, shows = CHANGES[change]
    action(year)
    db.session.commit()
    after = figures()
    assert shows(before, after), change
    assert after == from_scratch()


def test_a_department_and_a_range_read_the_same_stored_rows(year):
    market = queries.Scope.year(YEAR, year["market"].id)
    figures()  # stores every session
    assert figures(market) == from_scratch(market)
    _second_reply(year)
    db.session.commit()
    trade = queries.Scope.year(YEAR, year["trade"].id)
    assert figures(trade) == from_scratch(trade)


def test_a_live_session_is_counted_afresh_and_never_stored(year):
    next_year = queries.Scope.year(YEAR + 1)  # session E, live now
    first = figures(next_year)
    (live_id,) = first["sessions"]
    assert db.session.scalar(select(StatsSession).where(
        StatsSession.session_id == live_id)) is None
    session = db.session.get(world.LiveSession, live_id)
    world.ask(session, session.scheduled_start + timedelta(minutes=5))
    open_visit(session, "late-visitor", session.scheduled_start + timedelta(minutes=6))
    after = figures(next_year)
    assert after["totals"]["asked"] == first["totals"]["asked"] + 1
    assert after["visits"][0] == first["visits"][0] + 1


def test_flask_stats_refresh_recomputes_what_is_stored(year, any_db_app):
    figures()
    db.session.execute(text("UPDATE stats_groups SET answered = 999"))  # damaged by hand
    db.session.commit()
    assert figures()["totals"]["answered"] != 4  # the stored rows are believed...
    result = any_db_app.test_cli_runner().invoke(args=["stats", "refresh"])
    assert result.exit_code == 0, result.output
    assert "2025: 4 session(s)" in result.output
    assert figures()["totals"]["answered"] == 4  # ...until refreshed
    assert db.session.scalar(select(StatsGroup.answered).where(
        StatsGroup.session_id == year["a"].id, StatsGroup.department_key == year["trade"].id)) == 3
