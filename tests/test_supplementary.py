"""Supplementary records (补录): an answer given orally, recorded after the session ended."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from qa_live.audit.models import AuditEntry
from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.extensions import db
from qa_live.live.models import AnswerKind, QuestionStatus
from qa_live.stats import queries
from qa_live.stats.asof import AsOf
from qa_live.transcript import supplementary
from tests import stats_world as world

YEAR = 2025


def bearer(user) -> dict[str, str]:
    _row, secret = tokens.create_token(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def story(app, make_user):
    app.config["FOLLOW_UP_AUTO"] = False
    actor = world.office_user()
    trade = world.planning.create_department("对外贸易处")
    market = world.planning.create_department("市场处")
    start = world.beijing(YEAR, 4, 8)
    session = world.plan("稳外贸", start, [trade], actor)
    world.go_live(session)
    q1 = world.ask(session, start + timedelta(minutes=3))
    q2 = world.ask(session, start + timedelta(minutes=4))
    q3 = world.ask(session, start + timedelta(minutes=5), text="外贸企业的出口退税多久能到账？")
    world.moderation.approve(q2, actor, now=start + timedelta(minutes=5))
    world.answer(q1, actor, start + timedelta(minutes=6))
    world.end(session)
    world.commit()
    return {"session": session, "q1": q1, "q2": q2, "q3": q3, "start": start,
            "answerer": make_user("ans-trade", roles=[Role.ANSWERER], departments=[trade],
                                  name="王处长"),
            "other": make_user("ans-market", roles=[Role.ANSWERER], departments=[market])}


def test_an_answerer_records_an_oral_answer_and_the_transcript_marks_it(client, auth, story):
    session, q2, start = story["session"], story["q2"], story["start"]
    auth.login(story["answerer"])
    page = client.get(f"/s/{session.slug}/oral-answers")
    assert page.status_code == 200 and q2.text in page.get_data(as_text=True)
    response = client.post(f"/s/{session.slug}/oral-answers/{q2.id}", data={
        f"q{q2.id}-body": "可以，线上申请即可。", f"q{q2.id}-given_at": "2025-04-08T10:10",
        f"q{q2.id}-department": ""})
    assert response.status_code == 302
    db.session.expire_all()
    answer = q2.answers[0]
    assert story["q3"].text not in page.get_data(as_text=True)  # never approved: not theirs
    assert answer.kind == AnswerKind.ORAL and answer.author_id == story["answerer"].id
    assert answer.given_at == start + timedelta(minutes=40)  # 10:10 Beijing time
    assert q2.status == QuestionStatus.ANSWERED and q2.answered_at == answer.given_at
    html = client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "补录" in html and "王处长" in html and "可以，线上申请即可。" in html
    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "answer_oral"))
    assert entry.login == "ans-trade" and entry.target_id == q2.id
    # It counts as answered during the session: 2 of the 3 valid questions (q3 still waits).
    counts = queries.summarize(queries.Scope.year(YEAR)).counts
    assert (counts.answered, counts.answered_live, counts.second_replies) == (2, 2, 0)
    assert counts.live_answer_rate.percent() == "66.6%"


def test_a_report_before_the_recording_does_not_include_it(any_db_app, make_user):
    any_db_app.config["FOLLOW_UP_AUTO"] = False
    actor = world.office_user()
    trade = world.planning.create_department("对外贸易处")
    start = world.beijing(YEAR, 4, 8)
    session = world.plan("稳外贸", start, [trade], actor)
    world.go_live(session)
    question = world.ask(session, start + timedelta(minutes=3))
    world.end(session)
    world.commit()
    queries.summarize(queries.Scope.year(YEAR))  # stored before the recording
    supplementary.add_oral_answer(question, actor, "可以。", start + timedelta(minutes=30),
                                  now=world.beijing(YEAR, 4, 20))
    db.session.commit()
    before = queries.summarize(queries.Scope.year(YEAR), as_of=AsOf.of_day(date(YEAR, 4, 19)))
    after = queries.summarize(queries.Scope.year(YEAR), as_of=AsOf.of_day(date(YEAR, 4, 20)))
    assert (before.counts.answered, before.counts.answered_live) == (0, 0)
    assert (after.counts.answered, after.counts.answered_live) == (1, 1)
    assert after.median_answer_seconds == 27 * 60  # asked at +3 min, answered at +30 min


def test_the_api_records_one_with_the_same_checks(client, story):
    session, q1, q2, start = story["session"], story["q1"], story["q2"], story["start"]
    headers = bearer(story["answerer"])
    url = f"/api/v1/staff/sessions/{session.id}/questions/{{}}/oral-answers?lang=en"

    def post(question_id, **body):
        return client.post(url.format(question_id), headers=headers, json=body)

    late = (session.ended_at + timedelta(minutes=5)).isoformat()
    assert post(q2.id, body="可以。", given_at=late).status_code == 400
    early = (q2.created_at - timedelta(minutes=1)).isoformat()
    refused = post(q2.id, body="可以。", given_at=early)
    assert refused.status_code == 400 and "before the question" in refused.get_json()["message"]
    assert post(q2.id, body="", given_at=(start + timedelta(minutes=9)).isoformat()
                ).status_code == 400
    assert post(q2.id, body="可以。", given_at="10:10").status_code == 400
    given = (start + timedelta(minutes=9)).isoformat()
    assert post(q1.id, body="可以。", given_at=given).status_code == 409  # answered already
    other = client.post(url.format(q2.id), headers=bearer(story["other"]),
                        json={"body": "可以。", "given_at": given})
    assert other.status_code == 403
    unreviewed = story["q3"]  # no moderator published it: its answerer cannot, the office can
    assert post(unreviewed.id, body="可以。", given_at=given).status_code == 403
    assert db.session.get(type(unreviewed), unreviewed.id).answers == []
    made = post(q2.id, body="可以。", given_at=given)
    assert made.status_code == 201
    assert made.get_json()["answer"]["kind"] == "oral"
    assert post(q2.id, body="可以。", given_at=given).status_code == 409  # not twice
    assert post(999999, body="可以。", given_at=given).status_code == 404


def test_nothing_is_recorded_while_the_session_is_live(client, make_session, make_question,
                                                       make_user):
    session = make_session(state=world.SessionState.LIVE)
    question = make_question(session)
    office = make_user("office-oral", roles=[Role.OFFICE])
    response = client.post(
        f"/api/v1/staff/sessions/{session.id}/questions/{question.id}/oral-answers",
        headers=bearer(office),
        json={"body": "可以。", "given_at": question.created_at.isoformat()})
    assert response.status_code == 409 and response.get_json()["error"] == "bad_transition"
    assert db.session.get(type(question), question.id).answers == []
