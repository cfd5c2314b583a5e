"""Time the statistics of a large year: `python bench/stats_year.py [QUESTIONS]`.

Fills a database (DATABASE_URL, else a temporary SQLite file) with one year of 13 ended sessions
holding QUESTIONS questions (default 1,000,000), one answer each for 95% of them, as many visits
as questions, and a follow-up and a rating for 1 in 50. The rows are bulk-inserted by SQL (the
services would take hours), as a restore or a load by hand would write them. Then it times
GET /office/stats for the year (stats17, docs/performance.md "Statistics always fast"):

- ``uncounted_page_seconds``: a page that finds nothing stored (it counts every session, as the
  first page after a bulk load did before stats17; now only a page that beats the leader's
  refresh round to it); its figures are then thrown away (``stored.forget``);
- ``refresh_round_seconds``: one round of the leader's background loop (stats.refresh), which
  counts the bulk-loaded sessions off the request path; ``first_page_seconds`` the page after it;
- ``page_seconds``: --runs warm pages;
- ``import_seconds`` / ``first_page_after_import_seconds``: `flask sessions import` of a file
  of one more session (--import-questions questions with answers and visit rows), which counts
  its figures in its own transaction, then the first page after it;
- after a change in one ended session by SQL (a late second reply): the round, then the page
  (``refresh_after_change_seconds``, ``after_change_page_seconds``), and a page that comes
  before the round (``after_change_uncounted_page_seconds``: before stats17b it counted that one
  session; now the change keeps the stored figures current, stats.maintained);
- ``as_of_first_page_seconds`` / ``as_of_page_seconds``: a report as of a past day (1 December),
  after those changes and a round: since asof17c the first reads the days the round kept for
  the changed sessions (before, it counted them as of then once and kept them for that day);
  ``as_of_other_day_first_page_seconds`` the first report as of another day (30 June); then
  one more change kept current by itself: ``as_of_before_round_seconds`` a report as of
  1 December before the next round (it counts the changed session as of then),
  ``as_of_round_seconds`` that round (it keeps the session's days again) and
  ``as_of_other_day_after_round_seconds`` a report as of 30 June after it;
- ``live_page_seconds``: pages while a session of --live-questions questions and as many visits
  is live in the year (counted on every page, as live figures are); ``as_of_live_page_seconds``
  reports as of 1 December meanwhile (the live session counted as of then);
- ``change_seconds``: the second change's own write and commit (since stats17b it keeps the
  stored figures current: the page after it reads them); ``write_costs``: milliseconds per
  ORM write, a rating in an ended session with stored figures and a live answer (--writes of
  each, each its own transaction; ``--writes-only`` times just these after the round).

``--lock PATH`` takes that flock after the fill, so only the timings hold it; ``--save-fill`` and
``--reuse-fill`` (SQLite) keep a filled file and start from a copy of it.

`--json PATH` writes the figures as JSON; the last line printed is "RESULT <the same JSON>". The
figures are not checked here, only the time (tests/test_stats*.py check them); the page's total
of valid questions is printed after each phase as a sanity line.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
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
from qa_live.live.models import Answer, Question, QuestionStatus, Rating, RatingValue, Visit
from qa_live.planning.models import Department, LiveSession, session_departments
from qa_live.stats import queries, refresh, stored

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
                        peak_online=1000 + i, created_at=start - timedelta(days=30),
                        announced_at=start - timedelta(days=7))
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
        for table in ("questions", "answers"):  # their ids were given: move the sequences on
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
        for table in ("questions", "answers", "visits", "ratings", "follow_ups"):
            db.session.execute(text(f"ANALYZE {table}"))
    else:
        db.session.execute(text("ANALYZE"))
    db.session.commit()


def timed(action) -> float:
    began = time.monotonic()
    action()
    return time.monotonic() - began


def import_file(path: Path, n_questions: int, department: str) -> None:
    """One more session of the year as an import file (docs/imports.md), with visit rows."""
    start = datetime(YEAR, 12, 15, 1, 30, tzinfo=UTC)
    questions, visits = [], []
    for k in range(n_questions):
        asked = start + timedelta(seconds=k % 7000)
        questions.append({
            "id": f"q{k}", "asked_at": asked.isoformat(), "source": "live", "text": "导入的问题",
            "department": department,
            "answers": [{"id": f"a{k}", "at": (asked + timedelta(seconds=60)).isoformat(),
                         "kind": "live", "body": "导入的答复"}]})
        visits.append({"visitor": f"import-v{k}", "start": asked.isoformat()})
    document = {"format": "qa_live-import/1", "year": YEAR, "sessions": [{
        "id": "bench-import", "title": "导入的专场", "start": start.isoformat(),
        "end": (start + timedelta(hours=2, minutes=1)).isoformat(),
        "departments": [department], "planned_at": (start - timedelta(days=7)).isoformat(),
        "participants": {"visits": visits}, "questions": questions}]}
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def live_session(n_questions: int) -> None:
    """A session of the year live now, with n questions (half answered) and n visits."""
    dept = db.session.scalar(select(Department))
    start = datetime(YEAR, 11, 20, 1, 30, tzinfo=UTC)
    s = LiveSession(slug="bench-live", title="直播中", scheduled_start=start,
                    scheduled_end=start + timedelta(hours=2), plan_year=YEAR, state="live",
                    started_at=start, peak_online=10, created_at=start - timedelta(days=30),
                    announced_at=start - timedelta(days=7))
    db.session.add(s)
    db.session.flush()
    db.session.execute(insert(session_departments), [{"session_id": s.id,
                                                      "department_id": dept.id}])
    qs, visits = [], []
    for k in range(n_questions):
        asked = start + timedelta(seconds=k % 7000)
        answered = asked + timedelta(seconds=90) if k % 2 else None
        qs.append({"session_id": s.id, "client_id": str(uuid.uuid4()), "visitor_id": f"live{k}",
                   "access_token": f"lt{k}", "nickname": "", "phone": None, "source": "live",
                   "original_text": "问题", "text": "问题",
                   "status": "answered" if answered else "approved", "reject_reason": None,
                   "department_id": dept.id, "upvotes": 0, "pinned": False,
                   "needs_follow_up": False, "sensitive_hits": "", "created_at": asked,
                   "answered_at": answered})
        # Half of the live session's visitors came to an earlier session of the year too.
        visits.append({"session_id": s.id, "visitor_id": f"v{k % 13}-{k}" if k % 2 else f"live{k}",
                       "started_at": asked, "ended_at": None, "connections": 1})
    conn = db.session.connection()
    conn.execute(insert(Question.__table__), qs)
    conn.execute(insert(Visit.__table__), visits)
    db.session.commit()


def write_costs(n: int) -> dict[str, float]:
    """Milliseconds per write through the ORM, each its own transaction: a rating in an ended
    session whose figures are stored (stats.maintained keeps them current), and a live answer
    in the live session (whose figures are never stored)."""
    first = db.session.scalar(select(LiveSession.id).where(LiveSession.slug == "bench-0"))
    questions = db.session.scalars(
        select(Question).where(Question.session_id == first,
                               Question.status == QuestionStatus.ANSWERED,
                               Question.id % 50 != 0).order_by(Question.id.desc()).limit(n)).all()
    moment = datetime(YEAR, 12, 22, tzinfo=UTC)
    began = time.monotonic()
    for q in questions:
        db.session.add(Rating(answer_id=q.id, question_id=q.id, value=RatingValue.BASIC,
                              created_at=moment, updated_at=moment))
        db.session.commit()
    ended = (time.monotonic() - began) / len(questions) * 1000
    live = db.session.scalar(select(LiveSession.id).where(LiveSession.slug == "bench-live"))
    questions = db.session.scalars(
        select(Question).where(Question.session_id == live,
                               Question.status == QuestionStatus.APPROVED).limit(n)).all()
    began = time.monotonic()
    for q in questions:
        db.session.add(Answer(question_id=q.id, kind="live", body="答复",
                              department_id=q.department_id))
        q.status = QuestionStatus.ANSWERED
        q.answered_at = datetime.now(UTC)
        db.session.commit()
    live_ms = (time.monotonic() - began) / len(questions) * 1000
    return {"ended_session_rating_ms": round(ended, 2), "live_answer_ms": round(live_ms, 2),
            "writes": n}


def pg_copy(url: str, saved: str, into_url: bool) -> None:
    """PostgreSQL: copy the URL's database to the database named ``saved`` (--save-fill), or
    that one over the URL's (--reuse-fill), as templates (both unused meanwhile)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    current = make_url(url).database
    source, target = (saved, current) if into_url else (current, saved)
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}"'))
        conn.execute(text(f'CREATE DATABASE "{target}" TEMPLATE "{source}"'))
    admin.dispose()


def main() -> None:
    """Fill, then time."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="warm page loads to time")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--import-questions", type=int, default=5_000,
                        help="questions in the imported session")
    parser.add_argument("--live-questions", type=int, default=5_000,
                        help="questions (and visits) of the live session")
    parser.add_argument("--writes-only", action="store_true",
                        help="only the round, the live session and the cost per write")
    parser.add_argument("--writes", type=int, default=200, help="writes to time per kind")
    parser.add_argument("--lock", type=Path,
                        help="take this flock after the fill, for the timings only")
    parser.add_argument("--save-fill", type=Path,
                        help="copy the fill here before any timing (SQLite: a file; "
                             "PostgreSQL: a database name on the same server)")
    parser.add_argument("--reuse-fill", type=Path,
                        help="start from a copy of what --save-fill wrote (no fill)")
    args = parser.parse_args()
    n = args.questions
    sqlite_path = Path(tempfile.mkdtemp(prefix="qa_bench_")) / "bench.sqlite3"
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{sqlite_path}"
    if args.reuse_fill and url.startswith("postgresql"):
        pg_copy(url, str(args.reuse_fill), into_url=True)
    elif args.reuse_fill:
        shutil.copyfile(args.reuse_fill, sqlite_path)
    config = type("BenchConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url})
    app = create_app(config)
    result: dict = {"questions": n}
    with app.app_context():
        result["database"] = db.engine.dialect.name
        if args.reuse_fill:
            result["fill_seconds"] = None
            print(f"reusing the fill of {args.reuse_fill}")
        else:
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
            flask_migrate.upgrade()
            result["fill_seconds"] = round(timed(lambda: fill(n)), 2)
            print(f"{db.engine.dialect.name}: filled {n} questions in {result['fill_seconds']} s")
        if args.save_fill:
            db.session.remove()
            db.engine.dispose()
            if db.engine.dialect.name == "postgresql":
                pg_copy(url, str(args.save_fill), into_url=False)
            else:
                shutil.copyfile(sqlite_path, args.save_fill)
        if args.lock:
            lock = open(args.lock, "a")
            began = time.monotonic()
            fcntl.flock(lock, fcntl.LOCK_EX)
            result["lock_wait_seconds"] = round(time.monotonic() - began, 1)
            result["load_average_at_start"] = os.getloadavg()
        client = app.test_client()
        client.post("/login", data={"login": "office", "password": "bench-password-1"})

        def page() -> None:
            response = client.get(f"/office/stats?year={YEAR}")
            assert response.status_code == 200, response.status_code

        def valid() -> int:
            db.session.rollback()
            return queries.summarize(queries.Scope.year(YEAR)).counts.valid

        def say(key: str, what: str) -> None:
            print(f"{what}: {result[key]} s")

        if args.writes_only:
            refresh.refresh_round()
            db.session.rollback()
            live_session(args.live_questions)
            result["write_costs"] = write_costs(args.writes)
            print(f"cost per write: {result['write_costs']}")
            result["load_average_at_end"] = os.getloadavg()
            if args.json:
                args.json.write_text(json.dumps(result, indent=2) + "\n")
            print("RESULT " + json.dumps(result))
            return
        # A page that beats the refresher to the bulk-loaded rows counts every session.
        result["uncounted_page_seconds"] = round(timed(page), 3)
        say("uncounted_page_seconds", "GET /office/stats with nothing stored (counts 13 sessions)")
        db.session.rollback()
        stored.forget()
        db.session.rollback()
        # What the leader's loop does after the load, off the request path; then the first page.
        result["refresh_round_seconds"] = round(timed(refresh.refresh_round), 3)
        say("refresh_round_seconds", "refresh round after the bulk load (background)")
        result["first_page_seconds"] = round(timed(page), 3)
        say("first_page_seconds", "first GET /office/stats after the bulk load and the round")
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

        # `flask sessions import FILE` of one more session; then the first page.
        path = Path(tempfile.mkdtemp(prefix="qa_bench_import_")) / "import.json"
        import_file(path, args.import_questions, "处室0")
        runner = app.test_cli_runner()
        began = time.monotonic()
        done = runner.invoke(args=["sessions", "import", str(path)])
        result["import_seconds"] = round(time.monotonic() - began, 3)
        assert done.exit_code == 0, (done.output, repr(done.exception))
        result["import_questions"] = args.import_questions
        say("import_seconds", f"flask sessions import ({args.import_questions} questions)")
        result["first_page_after_import_seconds"] = round(timed(page), 3)
        say("first_page_after_import_seconds", "first GET /office/stats after the import")
        result["pages_after_import_seconds"] = [round(timed(page), 3) for _ in range(3)]
        print(f"valid questions now: {valid()}")

        # A second reply lands in one ended session by SQL: the round counts it, then the page.
        def change() -> float:
            """The change; returns how long its write and commit took (not the look-up)."""
            question = db.session.scalar(select(Question).where(Question.status == "approved"))
            assert question is not None
            began = time.monotonic()
            question.status = QuestionStatus.ANSWERED
            question.answered_at = datetime(YEAR, 12, 20, tzinfo=UTC)
            db.session.commit()
            return time.monotonic() - began

        change()
        result["refresh_after_change_seconds"] = round(timed(refresh.refresh_round), 3)
        say("refresh_after_change_seconds", "refresh round after a change in one session")
        result["after_change_page_seconds"] = round(timed(page), 3)
        say("after_change_page_seconds", "GET /office/stats after the change and the round")
        result["change_seconds"] = round(change(), 3)  # the write itself (stats17b)
        result["after_change_uncounted_page_seconds"] = round(timed(page), 3)
        say("after_change_uncounted_page_seconds",
            "GET /office/stats after a change, before the round (the change kept the figures)")
        refresh.refresh_round()

        # A report as of a past day: the sessions changed since (the changes above, on the
        # 20th of December) are read from the days the round kept (asof17c; before it they
        # were counted as of that day once and kept for it).
        def as_of_page() -> None:
            response = client.get(f"/office/stats?year={YEAR}&as_of={YEAR}-12-01")
            assert response.status_code == 200, response.status_code

        result["as_of_first_page_seconds"] = round(timed(as_of_page), 3)
        say("as_of_first_page_seconds", "first GET /office/stats as of a past day after "
            "changes since (before asof17c: counts them as of then)")
        result["as_of_page_seconds"] = [round(timed(as_of_page), 3) for _ in range(3)]
        print(f"GET /office/stats as of that day x3: {result['as_of_page_seconds']} s")

        def other_day_page() -> None:
            response = client.get(f"/office/stats?year={YEAR}&as_of={YEAR}-06-30")
            assert response.status_code == 200, response.status_code

        result["as_of_other_day_first_page_seconds"] = round(timed(other_day_page), 3)
        say("as_of_other_day_first_page_seconds", "first GET /office/stats as of another past "
            "day (30 June)")
        # A change kept current by itself (stats.maintained) raises the session's version: a
        # report as of a past day that comes before the next round counts it as of then; the
        # round keeps its days again (asof17c), and the report after it reads them.
        change()
        result["as_of_before_round_seconds"] = round(timed(as_of_page), 3)
        say("as_of_before_round_seconds", "GET /office/stats as of that day after another "
            "change, before the round")
        result["as_of_round_seconds"] = round(timed(refresh.refresh_round), 3)
        say("as_of_round_seconds", "the round after that change (keeps the session's days)")
        result["as_of_other_day_after_round_seconds"] = round(timed(other_day_page), 3)
        say("as_of_other_day_after_round_seconds", "GET /office/stats as of 30 June after it")

        # A session of the year live now: counted on every page (its visitors looked up).
        db.session.rollback()
        live_session(args.live_questions)
        result["live_questions"] = args.live_questions
        result["live_page_seconds"] = [round(timed(page), 3) for _ in range(3)]
        print(f"GET /office/stats x3 during a live session of {args.live_questions} "
              f"questions: {result['live_page_seconds']} s")
        # The same report as of 1 December meanwhile: the live session is counted as of then.
        result["as_of_live_page_seconds"] = [round(timed(as_of_page), 3) for _ in range(3)]
        print(f"GET /office/stats as of 1 December x3 during it: "
              f"{result['as_of_live_page_seconds']} s")
        print(f"valid questions now: {valid()}")
        db.session.rollback()
        result["write_costs"] = write_costs(args.writes)
        print(f"cost per write: {result['write_costs']}")
    result["load_average_at_end"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
