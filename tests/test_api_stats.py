"""The statistics API: the same figures as the pages and downloads, as of a date, office only."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.stats import queries, report
from qa_live.stats.asof import AsOf
from tests.test_stats import YEAR, build_year


def bearer(user) -> dict[str, str]:
    _row, secret = tokens.create_token(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def office(make_user):
    return make_user("office-api-stats", roles=[Role.OFFICE])


def tiles(html: str) -> dict[str, str]:
    """The figures the page shows in its tiles, by data-figure key."""
    return dict(re.findall(
        r'data-figure="([\w-]+)">\s*<dt>[^<]*</dt>\s*<dd><span class="stat-value">([^<]*)</span>',
        html))


@pytest.mark.parametrize("as_of", ["", "2025-03-11"])
def test_the_page_the_download_and_the_api_say_the_same(app, client, auth, office, as_of):
    build_year()
    query = f"year={YEAR}" + (f"&as_of={as_of}" if as_of else "")
    api = client.get(f"/api/v1/stats/years/{YEAR}?{query}", headers=bearer(office)).get_json()
    auth.login(office)
    client.get("/lang/en")
    page = tiles(client.get(f"/office/stats?{query}").get_data(as_text=True))
    body = client.get(f"/office/stats/export/summary.csv?{query}").get_data(as_text=True)
    download = {row[0]: row[1] for row in csv.reader(io.StringIO(body.lstrip("\ufeff")))}
    questions = api["questions"]
    assert page["answer-rate"] == download["Answer rate"] == questions["answer_rate"]["percent"]
    assert page["live-answer-rate"] == questions["live_answer_rate"]["percent"]
    assert download["Answer rate (exact)"] == "{numerator}/{denominator}".format(
        **questions["answer_rate"])
    assert int(download["Participant-visits"]) == api["participant_visits"]
    assert int(download["Valid questions"]) == questions["valid"]
    assert int(download["Answered"]) == questions["answered"]
    assert int(download["Second replies"]) == questions["second_replies"]
    assert int(download["Follow-ups"]) == api["follow_ups"]["opened"]
    assert download["Close rate"] == api["follow_ups"]["close_rate"]["percent"]
    if as_of:  # the day after session A: q5's second reply and B are not in yet
        assert api["as_of"] == as_of
        assert (questions["answered"], questions["second_replies"]) == (2, 0)
        assert api["sessions"]["held"] == 1
    else:
        assert questions["answer_rate"] == {"numerator": 4, "denominator": 6,
                                            "percent": "66.6%", "value": 4 / 6}
        assert questions["live_answer_rate"]["percent"] == "50.0%"


def test_departments_months_sessions_follow_ups_and_the_paragraph(app, client, office):
    built = build_year()
    headers = bearer(office)
    trade = client.get(f"/api/v1/stats/years/{YEAR}/departments/{built['trade'].id}",
                       headers=headers).get_json()
    assert trade["period"]["department_id"] == built["trade"].id
    assert trade["questions"]["valid"] == 5 and trade["departments_online"] == 1
    march = client.get(f"/api/v1/stats/years/{YEAR}/months/3", headers=headers).get_json()
    assert march["period"] == {"from": f"{YEAR}-03-01", "to": f"{YEAR}-03-31",
                               "department_id": None}
    assert march["participant_visits"] == 4 and march["sessions"]["held"] == 1
    session = client.get(f"/api/v1/stats/sessions/{built['a'].id}", headers=headers).get_json()
    assert session["session"]["title"] == "稳外贸政策解读"
    assert session["session"]["questions"]["answered_after_session"] == 1
    assert session["median_answer_seconds"] == pytest.approx(7800)
    follow = client.get(f"/api/v1/stats/years/{YEAR}/follow-ups", headers=headers).get_json()
    assert follow["follow_ups"]["opened"] == 3 and follow["follow_ups"]["done"] == 1
    assert follow["follow_ups"]["close_rate"]["percent"] == "66.6%"
    assert [s["title"] for s in follow["sessions"]] == ["稳外贸政策解读", "菜市场建设与外贸"]

    paragraph = client.get(f"/api/v1/stats/years/{YEAR}/paragraph?as_of=2026-01-10",
                           headers=headers).get_json()
    summary = queries.summarize(queries.Scope.year(YEAR), as_of=AsOf.of_day(date(2026, 1, 10)))
    assert paragraph == {"as_of": "2026-01-10",
                         "zh": report.paragraph_zh(summary, date(2026, 1, 10)),
                         "en": report.paragraph_en(summary, date(2026, 1, 10))}
    assert "（数据截至2026年1月10日）" in paragraph["zh"]


@pytest.mark.parametrize(("path", "message"), [
    (f"/api/v1/stats/years/{YEAR}?as_of=2999-01-01", "is in the future"),
    (f"/api/v1/stats/years/{YEAR}?as_of=2001-01-01", "before the first session"),
    (f"/api/v1/stats/years/{YEAR}?as_of=soon", "must be a date like"),
    ("/api/v1/stats/years/1999", "The year must be a number"),
    (f"/api/v1/stats/years/{YEAR}/months/13", "from 1 to 12"),
    ("/api/v1/stats/years/99999/months/2", "The year must be a number"),
    (f"/api/v1/stats/years/{YEAR}?department=x", "Unknown department"),
    (f"/api/v1/stats/years/{YEAR}/departments/9999", "Unknown department"),
    (f"/api/v1/stats/years/{YEAR}/paragraph?from={YEAR}-05-01&to={YEAR}-04-01", "after the end"),
])
def test_bad_requests_get_a_clear_error(app, client, office, path, message):
    build_year()
    response = client.get(path + ("&" if "?" in path else "?") + "lang=en",
                          headers=bearer(office))
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid" and message in body["message"]


def test_only_the_office_reads_the_years_figures(app, client, make_user):
    built = build_year()
    host = make_user("host-api-stats", roles=[Role.HOST])
    answerer = make_user("ans-api-stats", roles=[Role.ANSWERER], departments=[built["market"]])
    assert client.get(f"/api/v1/stats/years/{YEAR}").status_code == 401
    assert client.get(f"/api/v1/stats/years/{YEAR}", headers=bearer(host)).status_code == 403
    assert client.get(f"/api/v1/stats/sessions/{built['a'].id}",
                      headers=bearer(host)).status_code == 200
    headers = bearer(answerer)
    assert client.get(f"/api/v1/stats/sessions/{built['a'].id}",
                      headers=headers).status_code == 403
    assert client.get(f"/api/v1/stats/sessions/{built['b'].id}",
                      headers=headers).status_code == 200
    assert client.get("/api/v1/stats/sessions/99999", headers=headers).status_code == 404


def test_the_figures_are_staff_functions_behind_the_network_rule(app, client, office):
    app.config["STAFF_ALLOWED_NETWORKS"] = "10.0.0.0/8"
    response = client.get(f"/api/v1/stats/years/{YEAR}", headers=bearer(office),
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403
