"""The annual report's paragraph: English plurals, the date it runs to, unique visitors."""

from __future__ import annotations

from datetime import UTC, date, datetime

from qa_live.planning.models import SessionState
from qa_live.stats import report
from qa_live.stats.figures import Counts, SessionFigures, Summary


def _session(n: int, state: SessionState) -> SessionFigures:
    start = datetime(2025, 3, n, 1, 30, tzinfo=UTC)
    return SessionFigures(id=n, title=f"专场{n}", slug=f"s{n}", state=state,
                          scheduled_start=start, local_date=start.date(), started_at=None,
                          ended_at=None, peak_online=0, department_ids=[1])


def summary_of(states: list[SessionState], counts: Counts, visits: int = 1,
               unique: int = 1, departments: int = 1) -> Summary:
    return Summary(start=date(2025, 1, 1), end=date(2025, 12, 31), department_id=None,
                   sessions=[_session(n + 1, s) for n, s in enumerate(states)],
                   departments=[], months=[], counts=counts, departments_online=departments,
                   participant_visits=visits, unique_visitors=unique, peak_online=0,
                   peak_session=None, median_answer_seconds=None, p90_answer_seconds=None)


def test_english_says_one_of_each_in_the_singular(app):
    one = Counts(asked=1, valid=1, answered=1, second_replies=1, follow_ups_opened=1,
                 follow_ups_done=1)
    summary = summary_of([SessionState.ENDED, SessionState.CANCELLED], one)
    text = report.paragraph_en(summary, date(2026, 1, 5))
    assert "1 of them was cancelled." in text
    assert "1 questions" not in text and "1 follow-ups" not in text
    assert "Citizens asked 1 question." in text
    assert "1 department went online" in text and "1 participant-visit." in text
    assert "1 question received a second reply" in text
    assert "1 follow-up was opened" in text


def test_english_says_many_in_the_plural(app):
    many = Counts(asked=9, valid=6, answered=4, second_replies=2, follow_ups_opened=3,
                  follow_ups_done=1, follow_ups_impossible=1)
    summary = summary_of([SessionState.ENDED] * 2 + [SessionState.CANCELLED] * 2, many,
                         visits=6, departments=2)
    text = report.paragraph_en(summary, date(2026, 1, 5))
    assert "4 online Q&A sessions were planned" in text
    assert "2 of them were cancelled." in text
    assert "Citizens asked 9 questions." in text and "6 were valid" in text
    assert "2 departments went online" in text and "6 participant-visits." in text
    assert "2 questions received a second reply" in text
    assert "3 follow-ups were opened" in text and "66.6%" in text


def test_the_paragraph_names_unique_visitors_only_when_the_office_wants_it(app):
    counts = Counts(asked=159, valid=159, answered=159)
    summary = summary_of([SessionState.ENDED] * 13, counts, visits=2482, unique=1907,
                         departments=12)
    plain = report.paragraph_zh(summary, date(2014, 1, 5))
    assert "参与网民达2482人次，" in plain and "1907" not in plain
    assert "1907" not in report.paragraph_en(summary, date(2014, 1, 5))
    app.config["REPORT_UNIQUE_VISITORS"] = True
    named = report.paragraph_zh(summary, date(2014, 1, 5))
    assert "参与网民达2482人次（1907人）" in named
    assert "2482 participant-visits by 1907 different citizens" in report.paragraph_en(
        summary, date(2014, 1, 5))
