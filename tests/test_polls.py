"""Live polls: the host opens a poll in the console, citizens answer on their phones, results
reach the console (throttled), the projector and the citizens when the host chose so, and the
transcript after. Through the /moderation and /qa sockets, the page's plain form and the API."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, select

from qa_live import create_app
from qa_live.audit.models import AuditEntry
from qa_live.auth import tokens
from qa_live.auth.models import Role
from qa_live.auth.services import find_user_by_login
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import counters, moderation, poll_results, polls, visits
from qa_live.live.models import Visit
from qa_live.planning.models import SessionState
from qa_live.stats import queries, stored
from qa_live.stats.models import StatsSession
from qa_live.votes.models import Poll, PollChoice, PollResponse
from tests.conftest import PASSWORD, config_for


@pytest.fixture
def world(make_session, make_department, make_user):
    trade = make_department("对外贸易处")
    make_user("office1", roles=[Role.OFFICE])
    make_user("host1", roles=[Role.HOST], name="主持人")
    make_user("ans1", roles=[Role.ANSWERER], departments=[trade])
    session = make_session(title="稳外贸", state=SessionState.LIVE, departments=[trade],
                           start=utcnow() - timedelta(minutes=5))
    return {"session": session}


def citizen(app, session, screen=False):
    http = app.test_client()
    http.get(f"/s/{session.slug}")
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    data = {"slug": session.slug}
    if screen:
        data["screen"] = True
    ack = sock.emit("join", data, namespace="/qa", callback=True)
    assert ack["ok"], ack
    sock.http = http
    return sock


def staff(app, login, session):
    http = app.test_client()
    http.post("/login", data={"login": login, "password": PASSWORD})
    sock = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    ack = sock.emit("join", {"session_id": session.id}, namespace="/moderation", callback=True)
    assert ack["ok"], ack
    sock.snapshot = ack["snapshot"]
    return sock


def act(sock, name, **data):
    return sock.emit(name, data, namespace="/moderation", callback=True)


def answer(sock, poll_id, option_ids):
    return sock.emit("poll_answer", {"poll_id": poll_id, "option_ids": option_ids},
                     namespace="/qa", callback=True)


def received(sock, name, namespace):
    return [m["args"][0] for m in sock.get_received(namespace) if m["name"] == name]


def events_of(sock, type_):
    return [m["args"][0] for m in sock.get_received("/qa")
            if m["name"] == "event" and m["args"][0]["type"] == type_]


def bearer(login):
    _row, secret = tokens.create_token(find_user_by_login(login), "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def open_poll(host, options=("支持", "反对", "看情况"), multiple=False, results="live",
              question="您支持延长政策期限吗？"):
    ack = act(host, "poll_open", question=question, options=list(options),
              multiple=multiple, results=results)
    assert ack["ok"], ack
    return ack["poll_id"], ack["option_ids"]


def stored_answers():
    return db.session.scalar(select(func.count()).select_from(PollResponse))


# -- the story ----------------------------------------------------------------------------------


def test_a_phone_answers_and_the_console_sees_the_count_in_a_summary(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    phone = citizen(app, session)
    poll_id, (yes, no, maybe) = open_poll(host)
    opened = events_of(phone, "poll")
    assert opened[-1]["data"]["question"] == "您支持延长政策期限吗？"
    assert [o["label"] for o in opened[-1]["data"]["options"]] == ["支持", "反对", "看情况"]
    assert opened[-1]["data"]["results"] is None  # counts travel as summaries

    ack = answer(phone, poll_id, [yes])
    assert ack == {"ok": True, "poll_id": poll_id, "option_ids": [yes], "outcome": "new"}
    host.get_received("/moderation")
    phone.get_received("/qa")
    poll_results.flush_poll_results()
    (summary,) = received(host, "poll_results", "/moderation")
    counts = {o["id"]: o["count"] for o in summary["results"][0]["options"]}
    assert summary["results"][0]["respondents"] == 1 and counts == {yes: 1, no: 0, maybe: 0}
    assert summary["results"][0]["options"][0]["share"] == "100%"
    # Results shown live: the citizens hear the same summary.
    (public,) = received(phone, "poll_results", "/qa")
    assert public["results"][0]["respondents"] == 1


def test_many_answers_make_one_summary_not_one_broadcast_each(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    poll_id, (yes, no, _maybe) = open_poll(host)
    phones = [citizen(app, session) for _ in range(5)]
    host.get_received("/moderation")
    for i, phone in enumerate(phones):
        assert answer(phone, poll_id, [yes if i % 2 else no])["ok"]
    assert received(host, "poll_results", "/moderation") == []  # nothing per answer
    poll_results.flush_poll_results()
    summaries = received(host, "poll_results", "/moderation")
    assert len(summaries) == 1
    counts = {o["id"]: o["count"] for o in summaries[0]["results"][0]["options"]}
    assert counts[yes] == 2 and counts[no] == 3
    poll_results.flush_poll_results()  # nothing changed since: nothing sent
    assert received(host, "poll_results", "/moderation") == []


def test_results_after_closing_stay_hidden_from_citizens_until_the_poll_closes(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    phone = citizen(app, session)
    screen = citizen(app, session, screen=True)
    poll_id, (yes, _no, _maybe) = open_poll(host, results="closed")
    assert answer(phone, poll_id, [yes])["ok"]
    phone.get_received("/qa")
    screen.get_received("/qa")
    host.get_received("/moderation")
    poll_results.flush_poll_results()
    assert received(phone, "poll_results", "/qa") == []
    assert received(screen, "poll_results", "/qa") == []
    assert received(host, "poll_results", "/moderation")  # staff see them all along
    # A page joining now gets the poll without counts, in the snapshot and on the page.
    late = app.test_client()
    page = late.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "您支持延长政策期限吗？" in page and "投票结束后公布结果" in page
    assert 'class="poll-count"' not in page
    assert polls.poll_results_payload(db.session.get(Poll, poll_id)) is None

    closed = act(host, "poll_close", poll_id=poll_id)
    assert closed["ok"] and closed["results"]["respondents"] == 1
    final = events_of(phone, "poll")[-1]["data"]
    assert final["state"] == "closed" and final["results"]["respondents"] == 1
    assert events_of(screen, "poll")[-1]["data"]["results"]["options"][0]["count"] == 1
    payload = polls.poll_results_payload(db.session.get(Poll, poll_id))
    assert payload["results"]["respondents"] == 1 and payload["state"] == "closed"


def test_a_visitor_changes_the_answer_while_open_and_counts_once(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    phone = citizen(app, session)
    poll_id, (yes, no, maybe) = open_poll(host, multiple=True)
    assert answer(phone, poll_id, [yes, no])["outcome"] == "new"
    assert answer(phone, poll_id, [maybe])["outcome"] == "changed"
    assert answer(phone, poll_id, [maybe])["outcome"] == "same"
    found = polls.staff_poll(db.session.get(Poll, poll_id))["results"]
    assert found["respondents"] == 1
    assert {o["id"]: o["count"] for o in found["options"]} == {yes: 0, no: 0, maybe: 1}


def test_a_reconnecting_page_replays_the_poll_and_gets_its_counts(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    phone = citizen(app, session)
    seq = phone.emit("join", {"slug": session.slug}, namespace="/qa",
                     callback=True)["snapshot"]["seq"]
    poll_id, (yes, _no, _maybe) = open_poll(host)
    voter = citizen(app, session)
    assert answer(voter, poll_id, [yes])["ok"]
    back = citizen(app, session)
    ack = back.emit("join", {"slug": session.slug, "last_seq": seq}, namespace="/qa",
                    callback=True)
    assert ack["mode"] == "replay"
    assert [e["type"] for e in ack["events"]] == ["poll"]
    assert ack["poll_results"][0]["poll_id"] == poll_id
    assert ack["poll_results"][0]["respondents"] == 1
    # A fresh page's snapshot carries the poll with its live counts.
    snap = citizen(app, session).emit("join", {"slug": session.slug}, namespace="/qa",
                                      callback=True)["snapshot"]
    (shown,) = snap["polls"]
    assert shown["id"] == poll_id and shown["results"]["respondents"] == 1


def test_ending_the_session_closes_its_polls_and_the_transcript_shows_them(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    phone = citizen(app, session)
    poll_id, (yes, _no, _maybe) = open_poll(host, question="本场答复是否清楚？")
    assert answer(phone, poll_id, [yes])["ok"]
    assert act(host, "end")["ok"]
    poll = db.session.get(Poll, poll_id)
    db.session.refresh(poll)
    assert poll.state.value == "closed"
    page = app.test_client().get(f"/s/{session.slug}").get_data(as_text=True)
    assert "本场答复是否清楚？" in page and 'class="poll-count">1<' in page
    # Answers after the end are refused, and nothing is stored.
    assert answer(phone, poll_id, [yes])["error"] == "closed"


def test_the_api_opens_closes_and_answers_polls(app, world):
    session = world["session"]
    headers = bearer("host1")
    http = app.test_client()
    opened = http.post(f"/api/v1/staff/sessions/{session.id}/actions/poll_open", headers=headers,
                       json={"question": "今天的解读有帮助吗？", "options": ["有", "没有"],
                             "results": "live"})
    assert opened.status_code == 200, opened.get_json()
    poll_id, (yes, _no) = opened.get_json()["poll_id"], opened.get_json()["option_ids"]
    phone = app.test_client()
    phone.get(f"/s/{session.slug}")
    listed = phone.get(f"/api/v1/sessions/{session.slug}/polls").get_json()
    assert listed["polls"][0]["id"] == poll_id and listed["mine"] == {}
    sent = phone.post(f"/api/v1/sessions/{session.slug}/polls/{poll_id}/answer",
                      json={"option_ids": [yes]})
    assert sent.status_code == 200 and sent.get_json()["outcome"] == "new"
    listed = phone.get(f"/api/v1/sessions/{session.slug}/polls").get_json()
    assert listed["mine"] == {str(poll_id): [yes]}
    assert listed["polls"][0]["results"]["respondents"] == 1
    closed = http.post(f"/api/v1/staff/sessions/{session.id}/actions/poll_close",
                       headers=headers, json={"poll_id": poll_id})
    assert closed.status_code == 200
    again = phone.post(f"/api/v1/sessions/{session.slug}/polls/{poll_id}/answer",
                       json={"option_ids": [yes]})
    assert again.status_code == 409 and again.get_json()["error"] == "closed"
    actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.count("poll_open") == 1 and actions.count("poll_close") == 1


def test_a_phone_without_the_script_answers_with_the_plain_form(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    poll_id, (yes, no, _maybe) = open_poll(host)
    phone = app.test_client()
    page = phone.get(f"/s/{session.slug}").get_data(as_text=True)
    assert f'action="/s/{session.slug}/polls/{poll_id}"' in page
    sent = phone.post(f"/s/{session.slug}/polls/{poll_id}", data={"option": [str(yes)]})
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"#poll-{poll_id}")
    page = phone.get(sent.headers["Location"]).get_data(as_text=True)
    assert "您的回答已计入" in page or "Your answer is counted" in page
    assert f'value="{yes}" checked' in page
    # Two options in a single-choice poll: refused with the reason, nothing changed.
    refused = phone.post(f"/s/{session.slug}/polls/{poll_id}", data={"option": [str(yes),
                                                                                str(no)]})
    assert refused.status_code == 400
    assert "只能选择一项" in refused.get_data(as_text=True)
    assert db.session.scalars(select(PollChoice.option_id)).all() == [yes]


def test_the_console_page_offers_hosts_the_poll_panel(app, world):
    session = world["session"]
    host = app.test_client()
    host.post("/login", data={"login": "host1", "password": PASSWORD})
    page = host.get(f"/console/{session.slug}").get_data(as_text=True)
    assert 'id="poll-composer"' in page and "console-polls-config" in page
    strings = json.loads(re.search(r'id="console-polls-config">(.*?)</script>', page).group(1))
    assert strings["close"] == "结束投票"  # the panel's texts, translated
    answerer = app.test_client()
    answerer.post("/login", data={"login": "ans1", "password": PASSWORD})
    page = answerer.get(f"/console/{session.slug}").get_data(as_text=True)
    assert 'id="console-polls"' in page and 'id="poll-composer"' not in page


# -- participation (人次) -------------------------------------------------------------------------


def test_an_answer_without_a_visit_counts_one_participant_visit(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    poll_id, (yes, _no, _maybe) = open_poll(host)
    before = counters.counts(session.id)["participant_visits"]
    phone = app.test_client()
    phone.get(f"/s/{session.slug}")
    assert phone.post(f"/s/{session.slug}/polls/{poll_id}",
                      data={"option": [str(yes)]}).status_code == 303
    after = counters.counts(session.id)
    assert after["participant_visits"] == before + 1
    assert after["online"] == 0  # the visit started and ended with the answer
    # Changing the answer a moment later is the same visit.
    phone.post(f"/s/{session.slug}/polls/{poll_id}", data={"option": [str(_no)]})
    assert counters.counts(session.id)["participant_visits"] == before + 1


def test_an_answer_from_a_joined_page_adds_no_participant_visit(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    poll_id, (yes, _no, _maybe) = open_poll(host)
    phone = citizen(app, session)
    visits = db.session.scalar(select(func.count()).select_from(Visit))
    assert answer(phone, poll_id, [yes])["ok"]
    assert db.session.scalar(select(func.count()).select_from(Visit)) == visits


def test_another_workers_poll_only_participant_reaches_stored_statistics(app, world, db_url,
                                                                        monkeypatch):
    """A poll answer's visit that another worker writes after the session ended and its
    figures were stored: the visits triggers make the statistics count it at once."""
    session = world["session"]
    host = staff(app, "host1", session)
    poll_id, (yes, _no, _maybe) = open_poll(host)
    citizen(app, session)  # one participant with the page open
    other = create_app(config_for(db_url, VISIT_FLUSH_INTERVAL_S=3600.0))  # a second worker
    with other.app_context():
        phone = other.test_client()
        phone.get(f"/s/{session.slug}")
        assert phone.post(f"/s/{session.slug}/polls/{poll_id}",
                          data={"option": [str(yes)]}).status_code == 303
        assert visits.pending_visits(other) == 2  # its join and leave, not yet written
    moderation.end_session(session, find_user_by_login("host1"))
    db.session.commit()
    monkeypatch.setattr(stored, "SETTLE", timedelta(0))
    assert queries.session_report(session).session.participant_visits == 1
    assert db.session.get(StatsSession, session.id).participant_visits == 1  # stored
    with other.app_context():
        visits.flush_visits()
    db.session.expire_all()
    report = queries.session_report(session)
    assert report.session.participant_visits == 2 and report.session.unique_visitors == 2
    assert db.session.get(StatsSession, session.id).participant_visits == 2


def test_a_poll_answer_after_the_end_changes_stored_figures_never(app, world):
    """The answer's visit goes through the visits table, whose triggers the statistics watch."""
    session = world["session"]
    host = staff(app, "host1", session)
    poll_id, (yes, _no, _maybe) = open_poll(host)
    phone = app.test_client()
    phone.get(f"/s/{session.slug}")
    phone.post(f"/s/{session.slug}/polls/{poll_id}", data={"option": [str(yes)]})
    moderation.end_session(session, find_user_by_login("host1"))
    db.session.commit()
    version = session.stats_version
    late = phone.post(f"/s/{session.slug}/polls/{poll_id}", data={"option": [str(_no)]})
    assert late.status_code == 303  # the page says the poll has closed
    db.session.refresh(session)
    assert session.stats_version == version
    assert db.session.scalars(select(PollChoice.option_id)).all() == [yes]


# -- bad input: a clear error, nothing stored ------------------------------------------------------


@pytest.mark.parametrize("options", [["只有一项"], [f"选项{i}" for i in range(11)], "不是列表",
                                     ["同一项", "同一项"], ["", "   "]])
def test_a_poll_needs_two_to_ten_distinct_options(app, world, options):
    host = staff(app, "host1", world["session"])
    ack = act(host, "poll_open", question="请选择", options=options)
    assert ack["ok"] is False and ack["error"] == "invalid" and "options" in ack["fields"]
    assert db.session.scalar(select(func.count()).select_from(Poll)) == 0


def test_only_hosts_and_the_office_open_polls(app, world):
    session = world["session"]
    answerer = staff(app, "ans1", session)
    ack = act(answerer, "poll_open", question="请选择", options=["甲", "乙"])
    assert ack["ok"] is False and ack["error"] == "forbidden"
    response = app.test_client().post(
        f"/api/v1/staff/sessions/{session.id}/actions/poll_open", headers=bearer("ans1"),
        json={"question": "请选择", "options": ["甲", "乙"]})
    assert response.status_code == 403
    office = staff(app, "office1", session)
    assert act(office, "poll_open", question="请选择", options=["甲", "乙"])["ok"]
    assert db.session.scalar(select(func.count()).select_from(Poll)) == 1


def test_a_poll_opens_only_while_the_session_is_live(app, world, make_session):
    announced = make_session(title="下周专场", state=SessionState.ANNOUNCED)
    host = staff(app, "host1", announced)
    ack = act(host, "poll_open", question="请选择", options=["甲", "乙"])
    assert ack["ok"] is False and ack["error"] == "not_live"


@pytest.mark.parametrize("bad, code, field", [
    ({"option_ids": [999999]}, "invalid", "option_ids"),       # not an option of this poll
    ({"option_ids": []}, "invalid", "option_ids"),              # nothing chosen
    ({"option_ids": "1"}, "invalid", "option_ids"),             # not a list
    ({"option_ids": [True]}, "invalid", "option_ids"),
    ({"poll_id": 999999}, "not_found", "poll_id"),              # no such poll
    ({"poll_id": "x"}, "not_found", "poll_id"),
])
def test_bad_poll_answers_are_refused_and_nothing_is_stored(app, world, bad, code, field):
    session = world["session"]
    host = staff(app, "host1", session)
    poll_id, (yes, _no, _maybe) = open_poll(host)
    phone = citizen(app, session)
    data = {"poll_id": poll_id, "option_ids": [yes], **bad}
    ack = phone.emit("poll_answer", data, namespace="/qa", callback=True)
    assert ack["ok"] is False and ack["error"] == code and field in ack.get("fields", {})
    assert ack["message"]
    assert stored_answers() == 0


def test_too_many_choices_and_a_closed_poll_are_refused(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    single, (a, b, _c) = open_poll(host)
    phone = citizen(app, session)
    ack = answer(phone, single, [a, b])
    assert ack["ok"] is False and ack["error"] == "invalid"
    assert act(host, "poll_close", poll_id=single)["ok"]
    ack = answer(phone, single, [a])
    assert ack["ok"] is False and ack["error"] == "closed"
    assert "closed" in ack["message"] or "结束" in ack["message"]
    assert act(host, "poll_close", poll_id=single)["error"] == "bad_transition"
    assert stored_answers() == 0


def test_a_poll_of_another_session_is_not_found(app, world, make_session, make_department):
    other = make_session(title="另一场", state=SessionState.LIVE,
                         start=utcnow() - timedelta(minutes=1))
    host_other = staff(app, "office1", other)
    poll_id, (yes, _no, _maybe) = open_poll(host_other)
    phone = citizen(app, world["session"])
    assert answer(phone, poll_id, [yes])["error"] == "not_found"
    assert stored_answers() == 0


def test_answering_many_times_quickly_is_refused_before_the_database(app, world):
    session = world["session"]
    host = staff(app, "host1", session)
    poll_id, options = open_poll(host)
    phone = citizen(app, session)
    limit = int(app.config["POLL_ANSWER_RATE_LIMIT"].split("/")[0])
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    acks = [answer(phone, poll_id, [options[i % 3]]) for i in range(limit)]
    assert all(a["ok"] for a in acks)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        refused = [answer(phone, poll_id, [options[0]]) for _ in range(5)]
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert all(r["ok"] is False and r["error"] == "rate_limited" for r in refused)
    assert statements == []  # refused cheaply: not one query
    assert stored_answers() == 1


_ids = st.integers(min_value=-2, max_value=12)
_values = st.one_of(st.none(), st.booleans(), _ids, st.text(max_size=5), st.floats(),
                    st.lists(_ids, max_size=12), st.lists(st.text(max_size=3), max_size=3),
                    st.dictionaries(st.text(max_size=3), _ids, max_size=2))


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.one_of(_values, st.dictionaries(
    st.sampled_from(["poll_id", "option_ids", "extra"]), _values, max_size=3)))
def test_random_poll_answers_get_an_ack_and_store_only_whole_answers(app, world, data):
    app.config.update(SOCKET_EVENT_RATE_LIMIT="100000/second",
                      SOCKET_IP_EVENT_RATE_LIMIT="100000/second",
                      POLL_ANSWER_RATE_LIMIT="100000/second")
    session = world["session"]
    if not polls.session_polls(session.id):  # two polls: option ids 1-3 and 4-5
        host = staff(app, "host1", session)
        open_poll(host, multiple=True)
        open_poll(host, options=("是", "否"))
    phone = citizen(app, session)
    ack = phone.emit("poll_answer", data, namespace="/qa", callback=True)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool)
    if not ack["ok"]:
        assert ack["error"] != "server_error", ack
        assert isinstance(ack["message"], str) and ack["message"]
    phone.disconnect(namespace="/qa")
    for poll in polls.session_polls(session.id):
        options = {o.id for o in poll.options}
        for response in db.session.scalars(select(PollResponse).where(
                PollResponse.poll_id == poll.id)):
            chosen = db.session.scalars(select(PollChoice.option_id).where(
                PollChoice.response_id == response.id)).all()
            assert 1 <= len(chosen) <= poll.max_choices and set(chosen) <= options
