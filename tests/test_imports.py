"""Importing a past year: the seed report's 2013 file, dry runs, and every kind of bad file
refused with its row and reason, nothing stored (docs/imports.md)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.imports.models import SessionImport
from qa_live.live.models import Answer, Question, Visit
from qa_live.planning import services as planning
from qa_live.planning.models import LiveSession
from qa_live.stats import queries, report
from qa_live.stats.asof import AsOf

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "data" / "import_2013.json"
DEPARTMENTS = ["综合处", "对外贸易处", "外国投资管理处", "对外经济合作处", "市场体系建设处",
               "市场运行调节处", "电子商务处", "商贸服务业处", "机电产品进出口处", "加工贸易处",
               "口岸物流处", "流通业发展处"]


def seed() -> dict:
    return json.loads(SEED.read_text(encoding="utf-8"))


@pytest.fixture
def departments(any_db_app):
    any_db_app.config["BABEL_DEFAULT_LOCALE"] = "en"  # the CLI speaks the default language
    for name in DEPARTMENTS:
        planning.create_department(name)
    db.session.commit()


@pytest.fixture
def bureau(app):
    app.config["BABEL_DEFAULT_LOCALE"] = "en"  # the CLI speaks the default language
    for name in DEPARTMENTS:
        planning.create_department(name)
    db.session.commit()


def stored() -> tuple[int, int, int, int]:
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    return count(LiveSession), count(Question), count(Answer), count(Visit)


def run(runner, tmp_path, document: dict | bytes, *args: str):
    path = tmp_path / "import.json"
    path.write_bytes(document if isinstance(document, bytes)
                     else json.dumps(document, ensure_ascii=False).encode())
    return runner.invoke(args=["sessions", "import", str(path), *args])


def test_the_seed_year_imports_and_every_page_shows_its_figures(any_db_app, departments,
                                                                tmp_path):
    runner = any_db_app.test_cli_runner()
    dry = runner.invoke(args=["sessions", "import", str(SEED), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "total: 13 sessions, 13 held, 12 departments online, 2482 participant-visits, " \
           "159 questions, 159 valid, 159 answered, answer rate 100%" in dry.output
    assert "dry run: nothing was stored." in dry.output and stored() == (0, 0, 0, 0)

    done = runner.invoke(args=["sessions", "import", str(SEED)])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert stored() == (13, 159, 159, 2482)

    summary = queries.summarize(queries.Scope.year(2013))
    c = summary.counts
    assert (summary.sessions_planned, summary.sessions_held, summary.departments_online) == (
        13, 13, 12)
    assert summary.participant_visits == 2482
    assert (c.asked, c.valid, c.answered) == (159, 159, 159)
    assert c.answer_rate.percent() == "100%" and c.live_answer_rate.percent() == "100%"
    # Unique visitors were given per session; the year adds them up (someone at two sessions
    # cannot be told apart): 12 × 178 + 177.
    assert summary.unique_visitors == 12 * 178 + 177
    assert summary.sessions_with_given_participants == 13
    paragraph = report.paragraph_zh(summary, date(2014, 4, 14))
    assert paragraph == ("全年组织相关业务处室确定了全年13场“网络在线问政”专场。"
                         "截至年底，已组织完成13场，有12个处室上线，参与网民达2482人次，"
                         "问题159个，答复率达到100%。"
                         "（数据截至2014年4月14日）")
    # As of the end of 2013, the same: every imported row carries its own 2013 time.
    year_end = queries.summarize(queries.Scope.year(2013),
                                 as_of=AsOf.of_day(date(2013, 12, 31)))
    assert (year_end.participant_visits, year_end.counts.answered) == (2482, 159)

    again = runner.invoke(args=["sessions", "import", str(SEED)])
    assert again.exit_code == 1 and "This file was imported before." in again.output
    assert stored() == (13, 159, 159, 2482)


def test_the_office_sees_the_imported_year_on_the_page_and_through_the_api(
        client, auth, bureau, make_user):
    office = make_user("office-import", roles=[Role.OFFICE])
    _row, secret = tokens.create_token(office, "test")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    raw = SEED.read_bytes()
    dry = client.post("/api/v1/staff/imports?dry_run=1&filename=import_2013.json", data=raw,
                      headers=headers, content_type="application/json")
    assert dry.status_code == 200 and dry.get_json()["report"]["stored"] is False
    assert stored() == (0, 0, 0, 0)
    made = client.post("/api/v1/staff/imports?filename=import_2013.json", data=raw,
                       headers=headers, content_type="application/json")
    assert made.status_code == 201
    assert made.get_json()["report"]["totals"]["participant_visits"] == 2482
    figures = client.get("/api/v1/stats/years/2013", headers=headers).get_json()
    assert (figures["sessions"]["held"], figures["departments_online"],
            figures["participant_visits"], figures["questions"]["valid"]) == (13, 12, 2482, 159)
    assert figures["questions"]["answer_rate"]["percent"] == "100%"
    paragraph = client.get("/api/v1/stats/years/2013/paragraph", headers=headers).get_json()
    assert "参与网民达2482人次，问题159个，答复率达到100%。" in paragraph["zh"]
    auth.login(office)
    html = client.get("/office/stats?year=2013").get_data(as_text=True)
    assert "2482" in html and 'id="given-participants"' in html
    assert client.post("/api/v1/staff/imports", data=raw, headers={
        "Authorization": "Bearer " + tokens.create_token(
            make_user("host-import", roles=[Role.HOST]), "t")[1]},
        content_type="application/json").status_code == 403


def _first_question(doc: dict) -> dict:
    return doc["sessions"][0]["questions"][0]


def _bad(change) -> dict:
    doc = seed()
    change(doc)
    return doc


CASES = {
    "unknown department": (
        lambda d: d["sessions"][1].update(departments=["招商局"]),
        "session 2013-02", "Unknown department \"招商局\""),
    "session ends before it starts": (
        lambda d: d["sessions"][2].update(end="2013-03-07T08:00:00+08:00"),
        "session 2013-03", "ends (2013-03-07T08:00:00+08:00) before it starts"),
    "live question after the session": (
        lambda d: d["sessions"][0]["questions"][5].update(asked_at="2013-01-17T13:00:00+08:00"),
        "question 2013-q006", "must be asked during the session"),
    "answer before its question": (
        lambda d: d["sessions"][0]["questions"][4]["answers"][0].update(
            at="2013-01-17T09:31:00+08:00"),
        "question 2013-q005, answers[0]", "comes before its question"),
    "follow-up closed before opened": (
        lambda d: d["sessions"][0]["questions"][3].update(follow_up={
            "opened_at": "2013-01-18T09:00:00+08:00", "due": "2013-01-25", "status": "impossible",
            "closed_at": "2013-01-17T12:00:00+08:00", "reason": "不属本局职能"}),
        "question 2013-q004, follow_up", "is closed (2013-01-17T12:00:00+08:00) before it was"),
    "duplicate session id": (
        lambda d: d["sessions"][4].update(id="2013-01"),
        "sessions[4]", "The id 2013-01 is used twice"),
    "duplicate question id": (
        lambda d: d["sessions"][1]["questions"][0].update(id="2013-q001"),
        "session 2013-02, questions[0]", "The id 2013-q001 is used twice"),
    "duplicate answer id": (
        lambda d: d["sessions"][1]["questions"][1]["answers"][0].update(id="2013-a001"),
        "answers[0]", "The id 2013-a001 is used twice"),
    "totals contradict the rows": (
        lambda d: d["totals"].update(questions=160),
        "totals.questions", "The file states 160, but its rows give 159."),
    "answer rate stated too high": (
        lambda d: (_first_question(d).update(status="published", answers=[]),
                   d["totals"].update(answered=158)),
        "totals.answer_rate", "The file states \"100%\", but its rows give 99.3%."),
    "answered without an answer": (
        lambda d: _first_question(d).update(answers=[], status="answered"),
        "question 2013-q001", "answered but has no answer"),
    "rejected without a reason": (
        lambda d: _first_question(d).update(answers=[], status="rejected"),
        "question 2013-q001", "needs reject_reason"),
    "participants that cannot be": (
        lambda d: d["sessions"][0].update(participants={"participant_visits": 10,
                                                        "unique_visitors": 11}),
        "session 2013-01", "must be between 1 and participant_visits"),
    "a session in the future": (
        lambda d: d["sessions"][0].update(start="2999-01-17T09:30:00+08:00"),
        "session 2013-01", "lies in the future"),
    "a session of another year": (
        lambda d: d["sessions"][0].update(start="2012-12-17T09:30:00+08:00",
                                          end="2012-12-17T11:30:00+08:00"),
        "session 2013-01", "is in 2012, but the file is for 2013"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_file_is_refused_with_the_row_and_the_reason_and_nothing_stored(
        bureau, runner, tmp_path, case):
    change, row, reason = CASES[case]
    result = run(runner, tmp_path, _bad(change))
    assert result.exit_code == 1
    refused = [line for line in result.output.splitlines() if line.startswith("refused: ")]
    assert any(row in line and reason in line for line in refused), result.output
    assert "nothing was stored" in result.output
    assert stored() == (0, 0, 0, 0)
    assert db.session.scalar(select(func.count()).select_from(SessionImport)) == 0


def test_every_refusal_of_a_file_is_reported_at_once(bureau, runner, tmp_path):
    doc = seed()
    doc["sessions"][1]["departments"] = ["招商局"]
    doc["sessions"][0]["questions"][4]["answers"][0]["at"] = "2013-01-17T09:31:00+08:00"
    doc["sessions"][3]["questions"][0]["answers"][0]["id"] = "2013-a002"
    doc["totals"]["questions"] = 1  # totals are checked once every row passes
    result = run(runner, tmp_path, doc, "--dry-run")
    assert result.exit_code == 1
    refused = [line for line in result.output.splitlines() if line.startswith("refused: ")]
    assert len(refused) == 3 and "3 row(s) refused" in result.output
    assert not any("totals" in line for line in refused)


def test_a_gbk_file_is_refused_clearly_unless_its_encoding_is_named(bureau, runner, tmp_path):
    gbk = json.dumps(seed(), ensure_ascii=False).encode("gb18030")
    result = run(runner, tmp_path, gbk)
    assert result.exit_code == 1
    assert "not UTF-8" in result.output and "GBK/GB18030" in result.output
    assert "--encoding gb18030" in result.output and stored() == (0, 0, 0, 0)
    named = run(runner, tmp_path, gbk, "--dry-run", "--encoding", "gb18030")
    assert named.exit_code == 0 and "answer rate 100%" in named.output
    latin = run(runner, tmp_path, b"\xff\xfe\x00garbage\x81")
    assert latin.exit_code == 1 and "not UTF-8" in latin.output


@pytest.mark.parametrize(("raw", "reason"), [
    (b"{\"format\": \"qa_live-import/1\", \"sessions\": [", "Not valid JSON"),
    (b"[1, 2]", "Not an import file"),
    (json.dumps({"format": "qa_live-import/1", "sessions": []}).encode(), "at least one session"),
])
def test_something_that_is_not_an_import_file_is_refused(bureau, runner, tmp_path, raw, reason):
    result = run(runner, tmp_path, raw)
    assert result.exit_code == 1 and reason in result.output and stored() == (0, 0, 0, 0)


def test_visit_rows_second_replies_and_follow_ups_come_in_exactly(bureau, runner, tmp_path):
    doc = seed()
    doc.pop("totals")
    session = doc["sessions"][0]
    session["participants"] = {"visits": [
        {"visitor": "v1", "start": "2013-01-17T09:31:00+08:00",
         "end": "2013-01-17T10:00:00+08:00"},
        {"visitor": "v1", "start": "2013-01-17T10:40:00+08:00"},
        {"visitor": "v2", "start": "2013-01-17T09:45:00+08:00"}]}
    question = session["questions"][2]
    question["answers"] = [{"id": "x-a1", "at": "2013-01-21T15:00:00+08:00", "kind": "follow_up",
                            "body": "经核实，已协调解决。"}]
    question["follow_up"] = {"opened_at": "2013-01-17T11:30:00+08:00", "due": "2013-01-24",
                             "status": "done", "closed_at": "2013-01-21T15:00:00+08:00"}
    assert run(runner, tmp_path, doc).exit_code == 0
    summary = queries.summarize(queries.Scope(date(2013, 1, 1), date(2013, 1, 31)))
    c = summary.counts
    assert (summary.participant_visits, summary.unique_visitors) == (3, 2)
    assert summary.sessions_with_given_participants == 0
    assert (c.answered, c.answered_live, c.answered_later, c.second_replies) == (13, 12, 1, 1)
    assert (c.follow_ups_opened, c.follow_ups_done) == (1, 1)
    assert c.live_answer_rate.percent() == "92.3%"


def test_the_api_refuses_a_bad_file_with_every_row(client, bureau, make_user):
    office = make_user("office-import-bad", roles=[Role.OFFICE])
    _row, secret = tokens.create_token(office, "test")
    db.session.commit()
    doc = seed()
    doc["sessions"][1]["departments"] = ["招商局"]
    response = client.post("/api/v1/staff/imports?lang=en",
                           data=json.dumps(doc, ensure_ascii=False).encode(),
                           headers={"Authorization": f"Bearer {secret}"},
                           content_type="application/json")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid" and body["report"]["refused"] == [
        {"row": "session 2013-02", "reason": "Unknown department \"招商局\": add it on the "
         "departments page (or through the API) first, with this name or short name."}]
    assert stored() == (0, 0, 0, 0)
    gbk = client.post("/api/v1/staff/imports?lang=en",
                      data=json.dumps(seed(), ensure_ascii=False).encode("gb18030"),
                      headers={"Authorization": f"Bearer {secret}"},
                      content_type="application/json")
    assert gbk.status_code == 400 and "GBK" in gbk.get_json()["report"]["refused"][0]["reason"]


def test_an_import_file_over_its_own_limit_is_refused_and_other_paths_keep_64_kib(client, app):
    # The import path takes files larger than the 64 KiB of every other path (the year of 2013
    # is 77 KB), up to IMPORT_MAX_BYTES; beyond it, 413 before anything is read or stored.
    from qa_live.core.uploads import FORM_SLACK

    too_big = b" " * (app.config["IMPORT_MAX_BYTES"] + FORM_SLACK + 1)
    answer = client.post("/api/v1/staff/imports", data=too_big, content_type="application/json")
    assert answer.status_code == 413
    answer = client.post("/api/v1/staff/imports", data=b" " * 70_000,
                         content_type="application/json")
    assert answer.status_code == 401  # through the edge; refused for want of a token
    answer = client.post("/api/v1/visitor", data=b" " * 70_000, content_type="application/json")
    assert answer.status_code == 413
