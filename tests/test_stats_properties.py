"""Properties of the figures over generated years: rates stay in [0, 1], parts add up to wholes."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_live.extensions import db
from qa_live.live import moderation
from qa_live.live.models import RejectReason
from qa_live.planning import services as planning
from qa_live.stats import queries
from qa_live.stats.figures import Rate
from tests import stats_world as world

#: What happens to one question: answered, left unanswered, rejected (with a reason), pending.
OUTCOMES = st.sampled_from(["answered", "approved", "pending", *list(RejectReason)])
#: One session: its month, which of three departments go online, and its questions' fates,
#: each assigned to one of the session's departments (by index) or left unassigned.
SESSION = st.tuples(
    st.integers(1, 12),
    st.sets(st.integers(0, 2), min_size=1, max_size=2),
    st.lists(st.tuples(OUTCOMES, st.integers(0, 2), st.booleans()), max_size=6),
)
_years = itertools.count(2030)


@pytest.fixture
def departments(app):
    actor = world.office_user()
    depts = [planning.create_department(f"属性处室{n}") for n in range(3)]
    db.session.commit()
    return actor, depts


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sessions=st.lists(SESSION, min_size=1, max_size=4))
def test_the_answer_rate_and_the_parts_add_up(departments, sessions):
    actor, depts = departments
    year = next(_years)  # each example its own year, so examples never see each other
    expected_valid = expected_answered = asked = 0
    for index, (month, dept_ids, fates) in enumerate(sessions):
        online = [depts[i] for i in sorted(dept_ids)]
        start = world.beijing(year, month, 1 + index)
        session = world.plan(f"专场{index}", start, online, actor)
        world.go_live(session)
        for n, (fate, which, assign) in enumerate(fates):
            question = world.ask(session, start + timedelta(minutes=1 + n),
                                 text=f"第{n}个问题，关于政策怎么办理？")
            asked += 1
            if assign:
                moderation.assign(question, actor, online[which % len(online)])
            if fate == "answered":
                world.answer(question, actor, start + timedelta(minutes=30 + n))
            elif fate == "approved":
                moderation.approve(question, actor, now=start + timedelta(minutes=20))
            elif fate != "pending":
                moderation.reject(question, actor, RejectReason(fate),
                                  start + timedelta(minutes=20))
            expected_valid += fate in ("answered", "approved", "pending")
            expected_answered += fate == "answered"
        world.end(session)
    world.commit()

    summary = queries.summarize(queries.Scope.year(year), today=date(year + 1, 1, 1))
    c = summary.counts
    assert (c.asked, c.valid, c.answered) == (asked, expected_valid, expected_answered)
    rate = c.answer_rate
    if c.valid == 0:
        assert rate.value is None and rate.percent() == "—"
    else:
        assert rate.value is not None and 0 <= rate.value <= 1
        assert Fraction(rate.numerator, rate.denominator) == Fraction(c.answered, c.valid)
        assert (rate.percent() == "100%") == (c.answered == c.valid)

    def total(rows, name):
        return sum(getattr(r.counts, name) for r in rows)

    for name in ("asked", "valid", "answered", "rejected", "pending", "answered_later"):
        assert total(summary.departments, name) == getattr(c, name), name
        assert total(summary.sessions, name) == getattr(c, name), name
        assert total(summary.months, name) == getattr(c, name), name
    assert sum(m.participant_visits for m in summary.months) == summary.participant_visits
    # Each department's own summary (its filter) says what its row in the year's table says.
    rows = {d.id: d for d in summary.departments}
    for dept in depts:
        alone = queries.summarize(queries.Scope.year(year, dept.id), today=date(year + 1, 1, 1))
        row = rows.get(dept.id)
        assert alone.counts.valid == (row.counts.valid if row else 0)
        assert alone.counts.answered == (row.counts.answered if row else 0)


@given(n=st.integers(0, 10**6), extra=st.integers(0, 10**6))
def test_a_rate_is_never_printed_higher_than_it_is(n, extra):
    rate = Rate(n, n + extra)
    if n + extra == 0:
        assert rate.percent() == "—"
        return
    shown = rate.percent().rstrip("%")
    assert Fraction(shown) <= Fraction(n, n + extra) * 100
    assert Fraction(n, n + extra) * 100 - Fraction(shown) < Fraction(1, 10)
    assert (shown == "100") == (extra == 0)
