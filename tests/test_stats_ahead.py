"""Statistics counted ahead of the pages: after an import, live activity, a 补录 or a second
reply, the statistics page, the API and the download read stored figures only, and say exactly
what a count from scratch says (qa_live/stats/refresh.py).

"Reads stored figures only" is checked on the SQL a request runs: no statement reads the
questions, answers, ratings or visits tables (follow-ups are always read: overdue depends on
the day). "Exactly" is checked by throwing every stored figure away and asking again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from qa_live.auth import tokens
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db
from qa_live.followup.models import FollowUp
from qa_live.followup.services import close_done
from qa_live.live.lease import lease
from qa_live.planning import services as planning
from qa_live.planning.models import LiveSession
from qa_live.stats import refresh, stored
from qa_live.stats.models import StatsSession
from qa_live.transcript.supplementary import add_oral_answer
from tests import stats_world as world
from tests.test_imports import DEPARTMENTS, SEED
from tests.test_stats import YEAR, build_year
from tests.test_stats_stored import statements
from tests.visit_helpers import open_visit

COUNTING = re.compile(r"FROM (questions|answers|ratings|visits)\b")


def office_headers() -> dict[str, str]:
    user = world.office_user()
    _row, secret = tokens.create_token(user, "stats-ahead")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def surfaces(app, headers: dict[str, str], year: int, as_of: str = "") -> tuple[dict, list[str]]:
    """What the office reads: the API's year, the page's tiles, the summary download; with the
    SQL statements that reading ran."""
    query = f"year={year}" + (f"&as_of={as_of}" if as_of else "")
    db.session.commit()  # a fresh snapshot, as a new request would have
    client = app.test_client()
    assert client.post("/login", data={"login": "stats-office", "password": "correct-horse-42"}
                       ).status_code == 302
    client.get("/lang/en")
    with statements() as seen:
        api = client.get(f"/api/v1/stats/years/{year}?{query}", headers=headers)
        page = client.get(f"/office/stats?{query}")
        download = client.get(f"/office/stats/export/summary.csv?{query}")
    assert (api.status_code, page.status_code, download.status_code) == (200, 200, 200)
    tiles = dict(re.findall(
        r'data-figure="([\w-]+)">\s*<dt>[^<]*</dt>\s*<dd><span class="stat-value">([^<]*)</span>',
        page.get_data(as_text=True)))
    body = download.get_data(as_text=True).lstrip("\ufeff")
    figures = {"api": api.get_json(), "page": tiles,
               "download": {row[0]: row[1] for row in csv.reader(io.StringIO(body))}}
    return figures, seen


def counting(seen: list[str]) -> list[str]:
    """The statements that read the rows figures are counted from."""
    return [s for s in seen if COUNTING.search(s)]


def from_scratch(app, headers: dict[str, str], year: int, as_of: str = "") -> dict:
    """The same reading with nothing stored: every session counted from its rows."""
    db.session.commit()
    stored.forget()
    figures, _seen = surfaces(app, headers, year, as_of)
    return figures


def agree(figures: dict) -> None:
    """The page, the download and the API show the same figures."""
    api, page, download = figures["api"], figures["page"], figures["download"]
    questions = api["questions"]
    assert page["answer-rate"] == download["Answer rate"] == questions["answer_rate"]["percent"]
    assert page["live-answer-rate"] == questions["live_answer_rate"]["percent"]
    assert int(download["Valid questions"]) == questions["valid"]
    assert int(download["Answered"]) == questions["answered"]
    assert int(download["Second replies"]) == questions["second_replies"]
    assert int(download["Participant-visits"]) == api["participant_visits"]


# After an import -------------------------------------------------------------------------------


def test_the_first_reading_after_an_import_counts_nothing_and_equals_a_count_from_scratch(
        any_db_app, tmp_path):
    for name in DEPARTMENTS:
        planning.create_department(name)
    headers = office_headers()
    done = any_db_app.test_cli_runner().invoke(args=["sessions", "import", str(SEED)])
    assert done.exit_code == 0, done.output
    # The import committed its sessions' figures with its rows.
    assert db.session.scalar(select(func.count()).select_from(StatsSession)) == 13
    first, seen = surfaces(any_db_app, headers, 2013)
    assert counting(seen) == []
    agree(first)
    assert first["api"]["participant_visits"] == 2482
    assert first["api"]["questions"]["answered"] == 159
    assert first == from_scratch(any_db_app, headers, 2013)


def test_a_refused_import_leaves_no_figures_behind(any_db_app, tmp_path):
    for name in DEPARTMENTS[1:]:  # 综合处 unknown: the file is refused
        planning.create_department(name)
    db.session.commit()
    done = any_db_app.test_cli_runner().invoke(args=["sessions", "import", str(SEED)])
    assert done.exit_code == 1
    assert db.session.scalar(select(func.count()).select_from(StatsSession)) == 0


# After changes to a year already read ---------------------------------------------------------


def _second_reply(year: dict) -> None:
    follow_up = db.session.scalar(select(FollowUp).where(
        FollowUp.question_id == year["questions"][5].id))  # q6: open follow-up in session A
    close_done(follow_up, year["actor"], "经核实，已办结。", now=year["a"].scheduled_end
               + timedelta(days=5))


def _oral_answer(year: dict) -> None:
    q7 = year["questions"][6]  # pending when session A ended
    add_oral_answer(q7, year["actor"], "现场已口头答复：可以申请。",
                    given_at=year["a"].scheduled_end - timedelta(minutes=5),
                    now=year["a"].scheduled_end + timedelta(days=1))


def _bulk_sql(year: dict) -> None:
    # Rows written past the services (a bulk load, a fix by hand, another process).
    db.session.execute(text("UPDATE questions SET status = 'REJECTED', reject_reason = 'SPAM' "
                            "WHERE id = :q"), {"q": year["questions"][7].id})


def _live_activity(year: dict) -> None:
    # A whole session held since the page was read: visits, questions, answers, its end.
    start = world.beijing(YEAR, 11, 5)
    session = world.plan("年末外贸形势", start, [year["trade"]], year["actor"])
    world.go_live(session)
    open_visit(session, "v1", start + timedelta(minutes=1))  # seen at A and B already
    open_visit(session, "v-new", start + timedelta(minutes=2))
    asked = world.ask(session, start + timedelta(minutes=3), visitor="v-new")
    world.answer(asked, year["actor"], start + timedelta(minutes=9))
    world.ask(session, start + timedelta(minutes=4))
    world.end(session)


CHANGES: dict[str, Callable[[dict], None]] = {
    "a second reply": _second_reply,
    "an answer given orally (补录)": _oral_answer,
    "a change by SQL": _bulk_sql,
    "live activity": _live_activity,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_after_a_change_and_a_refresh_round_the_pages_count_nothing_and_stay_exact(
        any_db_app, change):
    year = build_year()
    headers = office_headers()
    before, _seen = surfaces(any_db_app, headers, YEAR)
    CHANGES[change](year)
    db.session.commit()
    # A change through the services keeps the stored figures current (stats.maintained); one
    # by SQL, or a session held since, leaves them stale for the round.
    refresh.refresh_round()
    assert refresh.stale_sessions() == []
    after, seen = surfaces(any_db_app, headers, YEAR)
    assert counting(seen) == []
    agree(after)
    assert after != before
    assert after == from_scratch(any_db_app, headers, YEAR)


def test_a_report_as_of_a_past_day_stays_the_same_after_a_later_second_reply(any_db_app):
    year = build_year()
    headers = office_headers()
    as_of = "2025-03-11"  # the day after session A
    january, _seen = surfaces(any_db_app, headers, YEAR, as_of)
    _second_reply(year)
    db.session.commit()
    refresh.refresh_round()
    later, _seen = surfaces(any_db_app, headers, YEAR, as_of)
    assert later == january
    assert later == from_scratch(any_db_app, headers, YEAR, as_of)
    now, _seen = surfaces(any_db_app, headers, YEAR)
    assert now["api"]["questions"]["second_replies"] == 2  # q5's and q6's, today


def test_a_round_counts_each_stale_session_once_and_a_settling_session_not_yet(any_db_app):
    year = build_year()
    assert refresh.refresh_round() == 4  # A, B, C, D (E is live)
    assert refresh.refresh_round() == 0
    # A session that has just ended settles for a minute before it is counted.
    e = db.session.scalar(select(LiveSession).where(LiveSession.title == "下一年"))
    world.end(e, utcnow() - timedelta(seconds=5))
    db.session.commit()
    assert refresh.refresh_round() == 0
    assert refresh.stale_sessions(now=utcnow() + stored.SETTLE) == [e.id]
    assert year["a"].id not in refresh.stale_sessions()


def test_only_the_leader_counts(any_db_app, monkeypatch):
    build_year()
    monkeypatch.setattr(type(lease()), "leading", lambda self: False)
    assert refresh.refresh_round() == 0
    assert len(refresh.stale_sessions()) == 4


def test_the_refresher_is_one_of_the_process_loops(app):
    from qa_live.live import loops

    assert any(name == "statistics refresh" and key == "STATS_REFRESH_INTERVAL_S"
               for key, _work, name in loops.extra_loops)
    assert app.config["STATS_REFRESH_INTERVAL_S"] == 0  # tests run the rounds themselves


def test_during_a_live_session_the_year_counts_only_the_live_sessions_visitors(any_db_app):
    year = build_year()
    headers = office_headers()
    refresh.refresh_round()  # A-D stored, and the year's distinct visitors
    start = world.beijing(YEAR, 11, 5)
    live = world.plan("年末外贸形势", start, [year["trade"]], year["actor"])
    world.go_live(live)
    open_visit(live, "v1", start + timedelta(minutes=1))  # seen at A and B: not new
    open_visit(live, "v2", start + timedelta(minutes=2))  # seen at A: not new
    open_visit(live, "v-new", start + timedelta(minutes=3))
    during, seen = surfaces(any_db_app, headers, YEAR)
    assert during["api"]["unique_visitors"] == 5  # v1, v2, v3, v9 and v-new
    # Nothing counts the distinct visitors of the settled sessions again: only the live
    # session's visitors are looked up against them.
    distinct_counts = [s for s in seen if "count(DISTINCT visits.visitor_id)" in s
                       and "GROUP BY" not in s]  # the year's, not the live session's own
    assert distinct_counts and all("EXISTS" in s for s in distinct_counts)
    assert during == from_scratch(any_db_app, headers, YEAR)


def test_a_report_as_of_a_past_day_reads_what_the_round_kept(any_db_app):
    year = build_year()
    headers = office_headers()
    as_of = "2025-03-11"  # the day after session A
    _second_reply(year)  # A changed after that day: its figures then are not today's
    db.session.commit()
    refresh.refresh_round()
    first, seen = surfaces(any_db_app, headers, YEAR, as_of)
    assert counting(seen) == []  # A as of that day: the round kept it (asof17c)
    again, seen = surfaces(any_db_app, headers, YEAR, as_of)
    assert counting(seen) == []
    assert again == first == from_scratch(any_db_app, headers, YEAR, as_of)
    # The past changes with an answer given orally in it: recorded now, counted from now.
    refresh.refresh_round()  # from_scratch threw everything away
    surfaces(any_db_app, headers, YEAR, as_of)
    _oral_answer(year)
    db.session.commit()
    after, seen = surfaces(any_db_app, headers, YEAR, as_of)
    assert counting(seen)  # A's version moved: its kept figures are not read
    assert after == from_scratch(any_db_app, headers, YEAR, as_of)


@pytest.mark.parametrize(("table", "column"), [
    ("questions", "published_at"), ("questions", "rejected_at"), ("visits", "started_at")])
def test_a_change_to_a_time_the_figures_as_of_a_date_read_makes_them_stale(
        any_db_app, table, column):
    year = build_year()
    refresh.refresh_round()
    a = year["a"].id
    db.session.execute(text(f"UPDATE {table} SET {column} = :t WHERE session_id = :s"),
                       {"t": year["a"].scheduled_start.replace(tzinfo=None), "s": a})
    db.session.commit()
    assert refresh.stale_sessions() == [a]


def test_distinct_visitors_as_of_a_day_add_a_recounted_session_to_the_stored_others(any_db_app):
    year = build_year()
    headers = office_headers()
    follow_up = db.session.scalar(select(FollowUp).where(
        FollowUp.question_id == year["questions"][5].id))
    close_done(follow_up, year["actor"], "经核实，已办结。",
               now=world.beijing(YEAR, 7, 1))  # A changes after the day below; B does not
    db.session.commit()
    refresh.refresh_round()
    as_of = "2025-06-19"  # the day after session B
    first, _seen = surfaces(any_db_app, headers, YEAR, as_of)
    # A (counted as of then: v1, v2, v3) and B (stored: v1 again, v9): four people.
    assert first["api"]["unique_visitors"] == 4
    assert first["api"]["questions"]["second_replies"] == 1  # q5's; q6's came in July
    assert first == from_scratch(any_db_app, headers, YEAR, as_of)
