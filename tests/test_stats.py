"""Statistics: a year with everything that can happen, counted by hand; rounding; exports; pages.

The year is built from raw events through the services (plan, announce, go live, visits,
questions, moderation, answers); follow-ups and ratings, whose services belong to other areas,
are rows in their own tables, as those services leave them.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import openpyxl
import pytest

from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.followup.models import FollowUp, FollowUpStatus
from qa_live.live import moderation
from qa_live.live.models import (
    Answer,
    AnswerKind,
    QuestionSource,
    QuestionStatus,
    Rating,
    RatingValue,
    RejectReason,
)
from qa_live.live.services import set_question_status
from qa_live.planning import services as planning
from qa_live.stats import exports, queries, report
from qa_live.stats.figures import Rate
from tests import stats_world as world
from tests.visit_helpers import leave_visit, open_visit

YEAR = 2025
TODAY = date(2026, 1, 10)


@pytest.fixture
def year(any_db_app):
    """The hand-counted year; returns what the tests need to look things up."""
    return build_year()


def build_year() -> dict:
    actor = world.office_user()
    trade = planning.create_department("对外贸易处", "外贸处")
    market = planning.create_department("市场体系建设处", "市场处")
    other = planning.create_department("电子商务处", "电商处")  # only in a cancelled session

    # Session A (March, 外贸处): everything that can happen to a question and a visit.
    a_start = world.beijing(YEAR, 3, 10)
    a = world.plan("稳外贸政策解读", a_start, [trade], actor)
    q1 = world.ask(a, a_start - timedelta(hours=2), source=QuestionSource.ADVANCE,
                   phone="13812345678", text="=HYPERLINK(\"http://evil\") 出口退税怎么办理？")
    world.go_live(a)
    # Visits: v1 reconnects within the grace period (one visit); v2 comes back after it
    # (two visits); v3 opens two tabs at once (one visit).
    v1 = open_visit(a, "v1", a_start + timedelta(minutes=1))
    v2 = open_visit(a, "v2", a_start + timedelta(minutes=2))
    v3 = open_visit(a, "v3", a_start + timedelta(minutes=3))
    assert open_visit(a, "v3", a_start + timedelta(minutes=3, seconds=5)) == v3  # tab
    leave_visit(v1, a_start + timedelta(minutes=4))
    open_visit(a, "v1", a_start + timedelta(minutes=5))  # reconnect, same visit
    leave_visit(v2, a_start + timedelta(minutes=6))
    open_visit(a, "v2", a_start + timedelta(minutes=30))  # after 24 min: new visit

    q2 = world.ask(a, a_start + timedelta(minutes=5), visitor="v1", nickname="@SUM(A1)")
    q3 = world.ask(a, a_start + timedelta(minutes=6), visitor="v2",
                   text="加微信领红包，代办各类补贴，包过！")
    q4 = world.ask(a, a_start + timedelta(minutes=7), visitor="v3",
                   text="出口信用保险有保费补贴吗？怎么申请？")
    q5 = world.ask(a, a_start + timedelta(minutes=20), text="境外展会补贴比例是多少？")
    q6 = world.ask(a, a_start + timedelta(minutes=21), text="外贸企业备案能网上办吗？")
    q7 = world.ask(a, a_start + timedelta(minutes=22), text="出口转内销有什么支持？")
    moderation.answer(q1, actor, "可以网上办理。", a_start + timedelta(minutes=10))
    moderation.answer(q2, actor, "有补贴，详见通知。", a_start + timedelta(minutes=7))
    moderation.reject(q3, actor, RejectReason.SPAM, a_start + timedelta(minutes=8))
    moderation.approve(q4, actor, now=a_start + timedelta(minutes=8))
    moderation.merge(q4, q2, actor)
    moderation.approve(q5, actor, now=a_start + timedelta(minutes=25))
    moderation.approve(q6, actor, now=a_start + timedelta(minutes=25))
    # q7 is never reviewed: still pending when the session ends.
    a_end = a.scheduled_end
    world.end(a)

    # A second reply to q5, two days after the session (as the follow-up service closes one).
    late = a_end + timedelta(days=2)
    db.session.add(Answer(question_id=q5.id, author_id=actor.id, department_id=trade.id,
                          kind=AnswerKind.FOLLOW_UP, body="经核实，补贴比例为50%。",
                          created_at=late))
    set_question_status(q5, QuestionStatus.ANSWERED, late)
    session_day = date(YEAR, 3, 10)
    db.session.add_all([
        FollowUp(question_id=q5.id, session_id=a.id, department_id=trade.id,
                 due_date=session_day + timedelta(days=7), status=FollowUpStatus.DONE,
                 closed_at=late),
        FollowUp(question_id=q6.id, session_id=a.id, department_id=trade.id,
                 due_date=session_day + timedelta(days=7), status=FollowUpStatus.OPEN),
        FollowUp(question_id=q7.id, session_id=a.id, department_id=trade.id,
                 due_date=session_day + timedelta(days=7), status=FollowUpStatus.IMPOSSIBLE,
                 closed_at=late),
    ])
    db.session.flush()
    answers = {q.id: q.answers[0].id for q in (q1, q2)}
    db.session.add_all([
        Rating(answer_id=answers[q1.id], question_id=q1.id, value=RatingValue.SATISFIED),
        Rating(answer_id=answers[q2.id], question_id=q2.id, value=RatingValue.BASIC),
    ])

    # Session B (June, 外贸处 and 市场处): one question for 市场处, one off topic.
    b_start = world.beijing(YEAR, 6, 18, 14, 0)
    b = world.plan("菜市场建设与外贸", b_start, [trade, market], actor)
    world.go_live(b)
    vb = open_visit(b, "v1", b_start + timedelta(minutes=1))  # v1 again: same person
    open_visit(b, "v9", b_start + timedelta(minutes=2))
    leave_visit(vb, b_start + timedelta(minutes=50))
    q8 = world.ask(b, b_start + timedelta(minutes=1), text="社区菜市场什么时候改造？")
    q9 = world.ask(b, b_start + timedelta(minutes=2), text="今天天气怎么样？晚上吃什么？")
    moderation.assign(q8, actor, market)
    moderation.answer(q8, actor, "年内完成。", b_start + timedelta(minutes=4))
    moderation.reject(q9, actor, RejectReason.OFF_TOPIC, b_start + timedelta(minutes=3))
    world.end(b)

    # Session C: cancelled. Session D: announced for December with a question in advance.
    c = world.plan("电子商务进农村", world.beijing(YEAR, 9, 1), [other], actor)
    planning.cancel_session(c, "嘉宾临时有事", c.scheduled_start - timedelta(days=1))
    d_start = world.beijing(YEAR, 12, 20)
    d = world.plan("年终市场供应", d_start, [trade], actor)
    world.ask(d, d_start - timedelta(days=1), source=QuestionSource.ADVANCE)
    # Session E: the next year; never in this year's figures.
    e = world.plan("下一年", world.beijing(YEAR + 1, 1, 15), [trade], actor)
    world.go_live(e)
    world.ask(e, e.scheduled_start + timedelta(minutes=1))
    world.commit()
    return {"a": a, "b": b, "c": c, "d": d, "trade": trade, "market": market,
            "questions": [q1, q2, q3, q4, q5, q6, q7, q8, q9], "actor": actor}


def test_a_year_with_everything_in_it_matches_the_hand_count(year):
    summary = queries.summarize(queries.Scope.year(YEAR), today=TODAY)
    c = summary.counts
    # Sessions: A and B held, C cancelled, D announced.
    assert (summary.sessions_planned, summary.sessions_held, summary.sessions_cancelled,
            summary.sessions_upcoming) == (4, 2, 1, 1)
    assert summary.departments_online == 2  # 外贸处, 市场处 (电商处's session was cancelled)
    # Visits: A has v1 (one, reconnected), v2 (two), v3 (one, two tabs) = 4; B has v1, v9.
    assert summary.participant_visits == 6
    assert summary.unique_visitors == 4  # v1, v2, v3, v9
    assert year["a"].peak_online == 3 and summary.peak_online == 3
    # Questions of A and B: 9 asked (1 in advance), 3 rejected (spam, merged duplicate, off
    # topic), 1 still pending; answered q1, q2, q8 live and q5 by a second reply.
    assert (c.asked, c.asked_advance, c.asked_live) == (9, 1, 8)
    assert (c.valid, c.rejected, c.merged, c.pending) == (6, 3, 1, 1)
    assert c.rejected_by_reason() == {RejectReason.SPAM: 1, RejectReason.OFF_TOPIC: 1,
                                      RejectReason.ABUSIVE: 0, RejectReason.DUPLICATE: 1,
                                      RejectReason.PERSONAL_INFO: 0}
    assert (c.answered, c.answered_live, c.answered_later, c.unanswered) == (4, 3, 1, 2)
    assert c.second_replies == 1
    assert c.answer_rate == Rate(4, 6) and c.answer_rate.percent() == "66.6%"
    # Seconds to the first answer: q2 120, q8 180, q1 7800 (asked in advance), q5 178800.
    assert summary.median_answer_seconds == pytest.approx((180 + 7800) / 2)
    assert summary.p90_answer_seconds == pytest.approx(7800 + 0.7 * (178800 - 7800))
    # Follow-ups: q5 done, q6 open and overdue, q7 impossible; close rate 2 of 3.
    assert (c.follow_ups_opened, c.follow_ups_done, c.follow_ups_impossible,
            c.follow_ups_overdue, c.follow_ups_open) == (3, 1, 1, 1, 1)
    assert c.close_rate.percent() == "66.6%"
    assert c.ratings == 2 and c.rating_counts()[RatingValue.SATISFIED] == 1
    assert c.rating_shares()[RatingValue.BASIC].percent() == "50.0%"


def test_per_session_department_and_month_figures(year):
    summary = queries.summarize(queries.Scope.year(YEAR), today=TODAY)
    by_title = {s.title: s for s in summary.sessions}
    a = by_title["稳外贸政策解读"]
    assert (a.participant_visits, a.unique_visitors, a.counts.valid, a.counts.answered) == (
        4, 3, 5, 3)
    d = by_title["年终市场供应"]
    assert d.counts.asked == 1 and not d.held  # listed, but not in the year's figures
    depts = {dept.id: dept for dept in summary.departments}
    trade, market = year["trade"].id, year["market"].id
    assert depts[trade].sessions_online == 2 and depts[market].sessions_online == 1
    assert (depts[trade].counts.valid, depts[trade].counts.answered) == (5, 3)
    assert (depts[market].counts.valid, depts[market].counts.answered) == (1, 1)
    assert depts[None].counts.asked == 1 and depts[None].counts.valid == 0  # q9, unassigned
    assert depts[trade].participant_visits == 6 and depts[market].participant_visits == 2
    months = {m.month: m for m in summary.months}
    assert len(months) == 12
    assert (months[3].sessions_held, months[3].participant_visits, months[3].counts.valid) == (
        1, 4, 5)
    assert months[6].counts.answered == 1 and months[9].sessions_held == 0


def test_a_department_and_a_date_range_narrow_the_figures(year):
    market = queries.summarize(queries.Scope.year(YEAR, year["market"].id), today=TODAY)
    assert [s.title for s in market.sessions] == ["菜市场建设与外贸"]
    assert (market.counts.asked, market.counts.valid, market.counts.answered) == (1, 1, 1)
    assert market.departments_online == 1 and market.participant_visits == 2
    assert market.median_answer_seconds == 180

    spring = queries.summarize(queries.Scope(date(YEAR, 3, 1), date(YEAR, 3, 31)), today=TODAY)
    assert spring.sessions_planned == 1 and spring.counts.valid == 5
    assert spring.participant_visits == 4

    session = queries.session_report(year["a"], today=TODAY)
    assert session.session.counts.answered_later == 1
    assert session.median_answer_seconds == pytest.approx(7800)  # 120, 7800, 178800


def test_the_report_says_what_the_figures_say(year):
    summary = queries.summarize(queries.Scope.year(YEAR), today=TODAY)
    text = report.paragraph_zh(summary, TODAY)
    assert text.startswith("全年组织相关业务处室确定了全年4场“网络在线问政”专场（其中1场取消）。")
    assert "截至年底，已组织完成2场，有2个处室上线，参与网民达6人次，" in text
    # q5 was answered only by its second reply: the live answer rate (现场答复率) is 3 of 6.
    assert "问题9个，其中有效提问6个，答复率达到66.6%（现场答复率50.0%）。" in text
    assert text.endswith("会后二次答复1个；线下落实3件，已办结2件，办结率66.6%。"
                         "（数据截至2026年1月10日）")
    english = report.paragraph_en(summary, TODAY)
    assert "66.6% (50.0% answered during the session)" in english and "6 were valid" in english
    assert english.endswith("Figures as of 2026-01-10.")


@pytest.mark.parametrize(("n", "d", "shown"), [
    (159, 159, "100%"), (158, 159, "99.3%"), (19999, 20000, "99.9%"), (0, 3, "0%"),
    (1, 3, "33.3%"), (2, 3, "66.6%"), (1, 2000, "0.0%"), (0, 0, "—"),
])
def test_rates_are_rounded_down_and_never_reach_100_percent_early(n, d, shown):
    assert Rate(n, d).percent() == shown
    assert Rate(n, d).fraction() == f"{n}/{d}"


# Exports ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_cells_that_look_like_formulas_are_escaped(text):
    assert exports.escape_cell(text) == "'" + text
    assert exports.escape_cell("出口退税") == "出口退税"
    assert exports.escape_cell(-3) == -3  # numbers stay numbers


@pytest.fixture
def office(client, make_user):
    user = make_user("office-stats", roles=[Role.OFFICE])
    client.get("/lang/en")
    return user


def test_the_question_list_escapes_formulas_masks_phones_and_shows_beijing_time(app, client,
                                                                                auth, office):
    built = build_year()
    auth.login(office)
    response = client.get(f"/office/stats/export/questions.csv?year={YEAR}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert "13812345678" not in body and "138****5678" in body
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["Session date", "Theme", "Department"]
    first = next(r for r in rows if r[-1].startswith("'=HYPERLINK"))
    assert first[4] == "2025-03-10 07:30:00"  # asked two hours before 09:30, Beijing time
    assert first[5] == "2025-03-10 09:40:00"
    assert any(r[8] == "'@SUM(A1)" for r in rows)
    assert len(rows) == 1 + 9 + 1  # A and B's questions and D's question in advance
    assert built["questions"]

    xlsx = client.get(f"/office/stats/export/questions.xlsx?year={YEAR}")
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.data))
    sheet = book.active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not any(cell.data_type == "f" for cell in cells)
    assert any(str(v).startswith("'=HYPERLINK") for row in values for v in row)
    assert not any("13812345678" in str(v) for row in values for v in row)


@pytest.mark.parametrize("table", ["sessions", "summary"])
def test_session_table_and_summary_download_as_csv_and_xlsx(app, client, auth, office, table):
    build_year()
    auth.login(office)
    body = client.get(f"/office/stats/export/{table}.csv?year={YEAR}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    if table == "summary":
        figures = {r[0]: r[1] for r in rows[1:]}
        assert figures["Participant-visits"] == "6" and figures["Answer rate"] == "66.6%"
        assert figures["Answer rate (exact)"] == "4/6"
    else:
        assert len(rows) == 1 + 4
        assert rows[1][1] == "稳外贸政策解读" and rows[1][4] == "4"
    book = openpyxl.load_workbook(io.BytesIO(
        client.get(f"/office/stats/export/{table}.xlsx?year={YEAR}").data))
    assert book.active.max_row == len(rows)


# Pages --------------------------------------------------------------------------------------


def test_the_office_reads_the_dashboard_and_the_report(app, client, auth, office):
    build_year()
    auth.login(office)
    page = client.get(f"/office/stats?year={YEAR}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="stats-data"' in html and "66.6%" in html
    assert re.search(r"/static/vendor/chart\.umd\.min\.[0-9a-f]{12}\.js", html)
    assert "<script>" not in html  # no inline code (CSP)
    narrowed = client.get(f"/office/stats?year={YEAR}&from={YEAR}-03-01&to={YEAR}-03-31")
    assert narrowed.status_code == 200 and "菜市场建设与外贸" not in narrowed.get_data(as_text=True)
    printable = client.get(f"/office/stats/report?year={YEAR}")
    assert printable.status_code == 200
    text = printable.get_data(as_text=True)
    assert "已组织完成2场" in text and 'data-copy="report-zh"' in text


@pytest.mark.parametrize(("query", "message"), [
    ("year=abc", "The year must be a number"),
    ("year=20255", "The year must be a number"),
    (f"year={YEAR}&from={YEAR}-05-01&to={YEAR}-04-01", "is after the end date"),
    (f"year={YEAR}&from=yesterday", "must be a date like"),
    ("department=abc", "Unknown department"),
    ("department=99999", "Unknown department"),
])
def test_bad_filters_get_a_clear_message_never_a_500(app, client, auth, office, query, message):
    auth.login(office)
    for path in ("/office/stats", "/office/stats/report", "/office/stats/export/sessions.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert message in response.get_data(as_text=True), path


def test_who_may_read_which_figures(app, client, auth, make_user):
    built = build_year()
    trade_answerer = make_user("ans-trade", roles=[Role.ANSWERER], departments=[built["trade"]])
    market_answerer = make_user("ans-market", roles=[Role.ANSWERER],
                                departments=[built["market"]])
    host = make_user("host-stats", roles=[Role.HOST])
    a, b = built["a"].id, built["b"].id

    assert client.get("/office/stats").status_code == 302  # anonymous: to the login page
    assert client.get(f"/office/stats/sessions/{a}").status_code == 302
    assert client.get("/office/stats/export/summary.csv").status_code == 302

    auth.login(market_answerer)
    assert client.get("/office/stats").status_code == 403
    assert client.get(f"/office/stats/sessions/{a}").status_code == 403  # not their department
    assert client.get(f"/office/stats/sessions/{b}").status_code == 200
    assert client.get(f"/office/stats/sessions/{a}/questions.csv").status_code == 403
    auth.logout()

    auth.login(trade_answerer)
    page = client.get(f"/office/stats/sessions/{a}")
    assert page.status_code == 200 and "稳外贸政策解读" in page.get_data(as_text=True)
    assert client.get(f"/office/stats/sessions/{a}/questions.csv").status_code == 200
    auth.logout()

    auth.login(host)
    assert client.get(f"/office/stats/sessions/{a}").status_code == 200
    assert client.get("/office/stats").status_code == 403
    assert client.get("/office/stats/sessions/999999").status_code == 404
