"""Stored figures kept current as rows are written (qa_live/stats/maintained.py).

Before, a change to a session whose figures were stored left them stale until the leader's
next round, and a page that came first counted the whole session. Here the page right after
the change, with no round in between, reads stored figures only and says exactly what a count
from scratch says, for the whole year and for each department's share.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import text

from qa_live.extensions import db
from qa_live.live.models import (
    QuestionStatus,
    RatingValue,
)
from qa_live.live.services import set_question_status
from qa_live.stats import queries, refresh, stored
from qa_live.transcript.ratings import rate_answer
from tests.test_stats import YEAR, build_year
from tests.test_stats_ahead import (
    _oral_answer,
    _second_reply,
    agree,
    counting,
    from_scratch,
    office_headers,
    surfaces,
)


def _rating_changed(year: dict) -> None:
    q1 = year["questions"][0]
    rate_answer(q1, q1.answers[0], RatingValue.UNSATISFIED, year["a"].scheduled_end
                + timedelta(days=3))


def _answered_late(year: dict) -> None:
    # What the bench does: an approved question of an ended session marked answered later.
    q6 = year["questions"][5]
    set_question_status(q6, QuestionStatus.ANSWERED, year["a"].scheduled_end + timedelta(days=9))


def _moved_department(year: dict) -> None:
    q1 = year["questions"][0]  # answered, rated, from 外贸处 to 市场处: every figure moves
    q1.department_id = year["market"].id
    db.session.flush()


SERVICE_CHANGES: dict[str, Callable[[dict], None]] = {
    "a second reply": _second_reply,
    "an answer given orally (补录)": _oral_answer,
    "a rating changed": _rating_changed,
    "a question answered late": _answered_late,
    "a question moved to another department": _moved_department,
}


@pytest.mark.parametrize("change", list(SERVICE_CHANGES))
def test_right_after_a_change_and_before_any_round_the_page_reads_the_new_figures_exactly(
        any_db_app, change):
    year = build_year()
    headers = office_headers()
    refresh.refresh_round()
    before, _seen = surfaces(any_db_app, headers, YEAR)
    SERVICE_CHANGES[change](year)
    db.session.commit()
    assert refresh.stale_sessions() == []  # nothing left for a round: the change kept them
    after, seen = surfaces(any_db_app, headers, YEAR)
    assert counting(seen) == []
    agree(after)
    assert after != before
    assert after == from_scratch(any_db_app, headers, YEAR)
    # Each department's share too, read from the stored figures and counted from scratch.
    for department in (year["trade"], year["market"]):
        shares = []
        for _ in range(2):
            db.session.commit()
            share = queries.summarize(queries.Scope.year(YEAR, department.id))
            shares.append((share.counts, share.median_answer_seconds, share.p90_answer_seconds))
            stored.forget()
        assert shares[0] == shares[1]


def test_a_change_by_sql_after_a_kept_change_in_one_transaction_leaves_them_stale(any_db_app):
    # PostgreSQL raises a session's version once per transaction: after the kept change the
    # plain UPDATE must raise it again, or the stored figures would miss it.
    year = build_year()
    headers = office_headers()
    refresh.refresh_round()
    _rating_changed(year)
    db.session.execute(text("UPDATE questions SET status = 'REJECTED', reject_reason = 'SPAM' "
                            "WHERE id = :q"), {"q": year["questions"][7].id})
    db.session.commit()
    assert refresh.stale_sessions() == [year["b"].id]
    after, _seen = surfaces(any_db_app, headers, YEAR)
    assert after == from_scratch(any_db_app, headers, YEAR)


def test_a_change_rolled_back_leaves_the_stored_figures_as_they_were(any_db_app):
    year = build_year()
    headers = office_headers()
    refresh.refresh_round()
    before, _seen = surfaces(any_db_app, headers, YEAR)
    _answered_late(year)
    db.session.rollback()
    assert refresh.stale_sessions() == []
    again, seen = surfaces(any_db_app, headers, YEAR)
    assert counting(seen) == [] and again == before


def test_a_report_as_of_a_past_day_is_unchanged_by_a_later_second_reply_with_no_round(
        any_db_app):
    year = build_year()
    headers = office_headers()
    refresh.refresh_round()
    as_of = "2025-03-11"  # the day after session A
    filed, _seen = surfaces(any_db_app, headers, YEAR, as_of)
    _second_reply(year)
    db.session.commit()
    assert refresh.stale_sessions() == []
    later, _seen = surfaces(any_db_app, headers, YEAR, as_of)
    assert later == filed == from_scratch(any_db_app, headers, YEAR, as_of)
