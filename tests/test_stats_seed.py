"""The seed's year, rebuilt from raw events, comes out exactly as the annual report states it.

Seed (2013 report of a city bureau of commerce, section 二(三)2): 确定了全年13场“网络在线问政”专场。
截至年底,已组织完成13场,有12个处室上线,参与网民达2482人次,问题159个,答复率达到100%.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

from flask import current_app

from qa_live.live import moderation
from qa_live.live.models import QuestionSource
from qa_live.planning import services as planning
from qa_live.stats import queries, report
from tests import stats_world as world
from tests.visit_helpers import leave_visit, open_visit

YEAR = 2025
SEED_SENTENCE = ("全年组织相关业务处室围绕“听民意、解民忧、聚民智、惠民生”的工作宗旨,"
                 "确定了全年13场“网络在线问政”专场。"
                 "截至年底,已组织完成13场,有12个处室上线,参与网民达2482人次,问题159个,答复率达到100%,"
                 "取得良好的互动效果。")
SESSIONS = 13
DEPARTMENTS = 12
VISITS = 2482
QUESTIONS = 159
RETURNERS = 5  # per session: visitors who come back after the grace period (a new 人次)
RECONNECTS = 5  # per session: visitors whose page reconnects within the grace period


def build_seed_year() -> dict[str, int]:
    """Thirteen sessions, twelve departments, 2,482 participant-visits, 159 questions answered."""
    actor = world.office_user()
    depts = [planning.create_department(f"处室{n:02d}") for n in range(DEPARTMENTS)]
    grace = current_app.config["VISIT_GRACE_S"]
    expected_unique = 0
    peak = 0
    for index in range(SESSIONS):
        start = world.beijing(YEAR, index % 12 + 1, 10 + index // 12 * 10)
        online = [depts[index % DEPARTMENTS]] + ([depts[5]] if index == SESSIONS - 1 else [])
        session = world.plan(f"专场{index + 1}", start, online, actor)
        # Questions in advance, collected the day before.
        questions_here = QUESTIONS // SESSIONS + (1 if index < QUESTIONS % SESSIONS else 0)
        advance = [world.ask(session, start - timedelta(days=1, minutes=n),
                             source=QuestionSource.ADVANCE) for n in range(2)]
        world.go_live(session)

        visits_here = VISITS // SESSIONS + (1 if index < VISITS % SESSIONS else 0)
        people = visits_here - RETURNERS
        expected_unique += people
        peak = max(peak, people)
        visitors = [f"seed-{index}-{n}" for n in range(people)]
        ids = [open_visit(session, v, start + timedelta(seconds=n))
               for n, v in enumerate(visitors)]
        middle = start + timedelta(minutes=30)
        for n, visit_id in enumerate(ids):
            leave_visit(visit_id, middle + timedelta(seconds=n))
        for n, v in enumerate(visitors[:RECONNECTS]):  # back within the grace period
            again = open_visit(session, v, middle + timedelta(seconds=n + 60))
            leave_visit(again, middle + timedelta(seconds=n + 120))
        later = middle + timedelta(seconds=grace + 600)
        for n, v in enumerate(visitors[:RETURNERS]):  # back after it: a new 人次
            again = open_visit(session, v, later + timedelta(seconds=n))
            leave_visit(again, later + timedelta(minutes=5))

        live = [world.ask(session, start + timedelta(minutes=1, seconds=20 * n),
                          visitor=visitors[n])
                for n in range(questions_here - len(advance))]
        for n, question in enumerate(advance + live):
            if question.department_id is None:
                moderation.assign(question, actor, online[n % len(online)])
            world.answer(question, actor, start + timedelta(minutes=20, seconds=30 * n))
        world.end(session)
    world.commit()
    return {"unique": expected_unique, "peak": peak}


def test_the_seed_year_comes_out_exactly(app):
    # SQLite only: building the year through the services takes about 20 s here and near a
    # minute on PostgreSQL; test_stats.py runs its hand-counted year on both databases.
    began = time.monotonic()
    expected = build_seed_year()
    built = time.monotonic() - began

    summary = queries.summarize(queries.Scope.year(YEAR), today=date(YEAR + 1, 1, 5))
    c = summary.counts
    assert summary.sessions_planned == SESSIONS
    assert summary.sessions_held == SESSIONS
    assert summary.sessions_cancelled == 0
    assert summary.departments_online == DEPARTMENTS
    assert summary.participant_visits == VISITS
    assert summary.unique_visitors == expected["unique"]
    assert summary.peak_online == expected["peak"]
    assert (c.asked, c.valid, c.answered, c.unanswered) == (QUESTIONS, QUESTIONS, QUESTIONS, 0)
    assert c.asked_advance == 2 * SESSIONS
    assert c.answered_later == 0 and c.answered_live == QUESTIONS
    assert c.answer_rate.percent() == "100%"
    assert sum(d.counts.valid for d in summary.departments) == QUESTIONS
    assert sum(m.participant_visits for m in summary.months) == VISITS

    paragraph = report.paragraph_zh(summary, today=date(YEAR + 1, 1, 5))
    assert paragraph == ("全年组织相关业务处室确定了全年13场“网络在线问政”专场。"
                         "截至年底，已组织完成13场，有12个处室上线，参与网民达2482人次，问题159个，答复率达到100%。"
                         f"（数据截至{YEAR + 1}年1月5日）")
    # Every figure sits in the seed's own sentence (the seed writes ASCII commas).
    seed = SEED_SENTENCE.replace(",", "，")
    assert "确定了全年13场“网络在线问政”专场。" in seed
    assert paragraph.split("。")[1] in seed
    english = report.paragraph_en(summary, today=date(YEAR + 1, 1, 5))
    assert "13" in english and "2482" in english and "159" in english and "100%" in english
    assert built < 60, f"building the seed year took {built:.1f} s"
