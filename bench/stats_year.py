"""Time the statistics of a large year: `python bench/stats_year.py [QUESTIONS]`.

Fills a database (DATABASE_URL, else a temporary SQLite file) with one year of 13 ended sessions
holding QUESTIONS questions (default 1,000,000), one answer each for 95% of them, as many visits
as questions, and a follow-up and a rating for 1 in 50. Then it times GET /office/stats for the
year: first with nothing stored (the rows were bulk-inserted, so every session is computed from
its questions and stored), then --runs times from the stored figures, then once more after a
change in one session (which recomputes that one). `--json PATH` writes the figures as JSON;
the last line printed is "RESULT <the same JSON>". The rows are bulk-inserted (the services would
take hours); the figures are not checked here, only the time (tests/test_stats*.py check them).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import flask_migrate
from sqlalchemy import insert, select, text

from config import TestingConfig
from qa_live import create_app
from qa_live.auth import services as auth_services
from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.followup.models import FollowUp
from qa_live.live.models import Answer, Question, QuestionStatus, Rating, Visit
from qa_live.planning.models import Department, LiveSession, session_departments
from qa_live.stats import queries

YEAR = 2025
BATCH = 20_000


def fill(n_questions: int) -> None:
    """Bulk-insert the year."""
    rng = random.Random(7)
    depts = [Department(name=f"处室{i}", short_name=f"处{i}") for i in range(12)]
    db.session.add_all(depts)
    db.session.flush()
    sessions = []
    for i in range(13):
        start = datetime(YEAR, i % 12 + 1, 10, 1, 30, tzinfo=UTC)
        s = LiveSession(slug=f"bench-{i}", title=f"专场{i}", scheduled_start=start,
                        scheduled_end=start + timedelta(hours=2), plan_year=YEAR,
                        state="ended", started_at=start, ended_at=start + timedelta(hours=2),
                        peak_online=1000 + i)
        db.session.add(s)
        sessions.append(s)
    db.session.flush()
    db.session.execute(insert(session_departments), [
        {"session_id": s.id, "department_id": depts[i % 12].id} for i, s in enumerate(sessions)])
    auth_services.create_user("office", "office", "bench-password-1", [Role.OFFICE], [])
    db.session.commit()
    per = n_questions // len(sessions)
    qid = 0
    for i, s in enumerate(sessions):
        start = s.scheduled_start
        for base in range(0, per, BATCH):
            qs, ans, visits, fus, rts = [], [], [], [], []
            for k in range(base, min(per, base + BATCH)):
                qid += 1
                asked = start + timedelta(seconds=rng.randint(0, 7000))
                r = rng.random()
                answered = asked + timedelta(seconds=rng.randint(30, 3000)) if r < 0.95 else None
                status = "answered" if answered else ("rejected" if r < 0.98 else "approved")
                qs.append({"id": qid, "session_id": s.id, "client_id": f"c{qid}",
                           "visitor_id": f"v{i}-{k}", "access_token": f"t{qid}",
                           "nickname": "", "phone": None, "source": "live",
                           "original_text": "问题", "text": "问题", "status": status,
                           "reject_reason": "spam" if status == "rejected" else None,
                           "department_id": depts[i % 12].id, "upvotes": 0, "pinned": False,
                           "needs_follow_up": False, "sensitive_hits": "",
                           "created_at": asked,
                           "answered_at": answered if answered else None})
                if answered:
                    ans.append({"id": qid, "question_id": qid, "kind": "live", "body": "答复",
                                "department_id": depts[i % 12].id,
                                "created_at": answered})
                visits.append({"session_id": s.id, "visitor_id": f"v{i}-{k}",
                               "started_at": asked,
                               "ended_at": asked, "connections": 0})
                if answered and qid % 50 == 0:
                    rts.append({"answer_id": qid, "question_id": qid, "value": "satisfied",
                                "created_at": answered,
                                "updated_at": answered})
                if status == "approved" and qid % 2 == 0:
                    fus.append({"question_id": qid, "session_id": s.id,
                                "department_id": depts[i % 12].id, "due_date": date(YEAR, 12, 1),
                                "status": "open", "notes": "", "outcome": "", "reason": "",
                                "automatic": True, "notify_state": "none",
                                "created_at": asked,
                                "updated_at": asked})
            conn = db.session.connection()
            conn.execute(insert(Question.__table__), qs)
            if ans:
                conn.execute(insert(Answer.__table__), ans)
            conn.execute(insert(Visit.__table__), visits)
            if rts:
                conn.execute(insert(Rating.__table__), rts)
            if fus:
                conn.execute(insert(FollowUp.__table__), fus)
            db.session.commit()
    if db.engine.dialect.name == "postgresql":
        for table in ("questions", "answers", "visits", "ratings", "follow_ups"):
            db.session.execute(text(f"ANALYZE {table}"))
    else:
        db.session.execute(text("ANALYZE"))
    db.session.commit()


def timed(action) -> float:
    began = time.monotonic()
    action()
    return time.monotonic() - began


def main() -> None:
    """Fill, then time."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="warm page loads to time")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    n = args.questions
    url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{tempfile.mkdtemp(prefix='qa_bench_')}/bench.sqlite3")
    config = type("BenchConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url})
    app = create_app(config)
    result: dict = {"questions": n}
    with app.app_context():
        result["database"] = db.engine.dialect.name
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        flask_migrate.upgrade()
        result["fill_seconds"] = round(timed(lambda: fill(n)), 2)
        print(f"{db.engine.dialect.name}: filled {n} questions in {result['fill_seconds']} s")
        client = app.test_client()
        client.post("/login", data={"login": "office", "password": "bench-password-1"})

        def page() -> None:
            response = client.get(f"/office/stats?year={YEAR}")
            assert response.status_code == 200, response.status_code

        # Nothing stored yet (the rows were bulk-inserted): the first page computes every
        # session from the questions and stores the figures; later pages read them.
        result["cold_page_seconds"] = round(timed(page), 3)
        print(f"first GET /office/stats (computes and stores 13 sessions): "
              f"{result['cold_page_seconds']} s")
        result["page_seconds"] = [round(timed(page), 3) for _ in range(args.runs)]
        print(f"GET /office/stats x{args.runs}: {result['page_seconds']} s")
        summaries = []
        for _ in range(3):
            began = time.monotonic()
            summary = queries.summarize(queries.Scope.year(YEAR), today=date(YEAR + 1, 1, 5))
            summaries.append(round(time.monotonic() - began, 3))
        result["summarize_seconds"] = summaries
        print(f"summarize() x3: {summaries} s (valid {summary.counts.valid}, answered "
              f"{summary.counts.answered}, median {summary.median_answer_seconds}, "
              f"p90 {summary.p90_answer_seconds})")
        # A second reply lands in one ended session: the next page recomputes that one.
        question = db.session.scalar(select(Question).where(Question.status == "approved"))
        assert question is not None
        question.status = QuestionStatus.ANSWERED
        question.answered_at = datetime(YEAR, 12, 20, tzinfo=UTC)
        db.session.commit()
        result["after_change_page_seconds"] = round(timed(page), 3)
        print(f"GET /office/stats after a change in one session: "
              f"{result['after_change_page_seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
