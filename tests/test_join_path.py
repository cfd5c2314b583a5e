"""A citizen's join on /qa answered from memory: one query, vote counts kept while no summary
says they moved, the snapshot's lists encoded once (issue 17, join17c)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import events
from qa_live.live.models import Question
from qa_live.planning.models import SessionState
from qa_live.transport.packets import Packet, Prepared, PreparedList
from tests.conftest import PASSWORD


@pytest.fixture
def live_session(make_session, make_department, make_user):
    trade = make_department("对外贸易处")
    host = make_user("host1", roles=[Role.HOST])
    return make_session(title="稳外贸", state=SessionState.LIVE, departments=[trade],
                        hosts=[host], start=utcnow() - timedelta(minutes=5))


def citizen(app, session):
    http = app.test_client()
    http.get(f"/s/{session.slug}")
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    assert sock.is_connected("/qa")
    return sock


def host_console(app, session):
    http = app.test_client()
    http.post("/login", data={"login": "host1", "password": PASSWORD})
    host = socketio.test_client(app, namespace="/moderation", flask_test_client=http)
    host.emit("join", {"session_id": session.id}, namespace="/moderation", callback=True)
    return host


def join(sock, session, **extra):
    return sock.emit("join", {"slug": session.slug, **extra}, namespace="/qa", callback=True)


class Selects:
    """The SELECT statements this thread sends to the database while counting."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.thread = threading.get_ident()

    def __call__(self, _conn, _cursor, statement, *_args) -> None:
        if threading.get_ident() == self.thread and statement.lstrip().upper().startswith(
                "SELECT"):
            self.seen.append(statement)


@pytest.fixture
def selects(app):
    # The counters a join sends are computed at most once per SUMMARY_INTERVAL_S (1 s in
    # production; 0 in the tests' configuration): here they stay for the test's length.
    app.config["SUMMARY_INTERVAL_S"] = 60.0
    # Visits are written in batches in production (every 0.2 s); in the tests at each join.
    app.config["VISIT_FLUSH_INTERVAL_S"] = 3600.0
    counter = Selects()
    event.listen(db.engine, "before_cursor_execute", counter)
    yield counter
    event.remove(db.engine, "before_cursor_execute", counter)


def published(app, session, make_question, n=2):
    host = host_console(app, session)
    ids = []
    for k in range(n):
        q = make_question(session, text=f"出口信用保险有没有保费补贴？第{k}问",
                          visitor=f"asker-{k}")
        host.emit("approve", {"question_id": q.id}, namespace="/moderation", callback=True)
        ids.append(q.id)
    return host, ids


def test_a_join_after_the_first_reads_one_row(app, live_session, make_question, selects):
    published(app, live_session, make_question)
    assert join(citizen(app, live_session), live_session)["ok"]  # the first builds the parts
    sock = citizen(app, live_session)
    selects.seen.clear()
    ack = join(sock, live_session)
    assert ack["ok"] and len(ack["snapshot"]["questions"]) == 2
    # The session's head (with "did this visitor ask here?"); no vote counts, no own list.
    assert len(selects.seen) == 1, selects.seen


def test_a_vote_here_shows_in_the_next_join(app, live_session, make_question):
    _host, ids = published(app, live_session, make_question)
    voter = citizen(app, live_session)
    assert join(voter, live_session)["ok"]
    assert voter.emit("vote", {"question_id": ids[1]}, namespace="/qa", callback=True)["ok"]
    snapshot = join(citizen(app, live_session), live_session)["snapshot"]
    assert {q["id"]: q["upvotes"] for q in snapshot["questions"]} == {ids[0]: 0, ids[1]: 1}


def test_another_workers_votes_show_once_their_summary_passes(app, live_session, make_question):
    """A vote taken by another worker reaches this one as its ``votes`` summary (through the
    message queue): from then on joins show it, and the pages already joined got the summary."""
    _host, ids = published(app, live_session, make_question)
    watcher = citizen(app, live_session)
    assert join(watcher, live_session)["ok"]
    db.session.execute(update(Question).where(Question.id == ids[0]).values(upvotes=5))
    db.session.commit()  # what the other worker's vote wrote
    summary = {"session_id": live_session.id, "upvotes": {str(ids[0]): 5}}
    socketio.emit("votes", summary, to=events.session_room(live_session.id), namespace="/qa")
    snapshot = join(citizen(app, live_session), live_session)["snapshot"]
    assert {q["id"]: q["upvotes"] for q in snapshot["questions"]} == {ids[0]: 5, ids[1]: 0}
    got = [m["args"][0] for m in watcher.get_received("/qa") if m["name"] == "votes"]
    assert got == [summary]


def test_a_replay_carries_the_kept_counts_and_the_askers_own(app, live_session, make_question,
                                                           selects):
    _host, ids = published(app, live_session, make_question)
    sock = citizen(app, live_session)
    first = join(sock, live_session)
    seq = first["snapshot"]["seq"]
    asked = sock.emit("ask", {"text": "外贸企业的出口退税多久能到账？", "client_id":
                              "6f1c1f2e-8a44-4d2b-9a55-3c1d2b9e0a11"}, namespace="/qa",
                      callback=True)
    assert asked["ok"]
    assert sock.emit("vote", {"question_id": ids[0]}, namespace="/qa", callback=True)["ok"]
    again = join(sock, live_session, last_seq=seq)
    assert again["mode"] == "replay" and again["seq"] >= seq
    assert again["upvotes"] == {str(ids[0]): 1, str(ids[1]): 0}
    assert [q["client_id"] for q in again["mine"]] == ["6f1c1f2e-8a44-4d2b-9a55-3c1d2b9e0a11"]
    other = citizen(app, live_session)
    selects.seen.clear()
    replayed = join(other, live_session, last_seq=again["seq"])
    assert replayed["mode"] == "replay" and replayed["mine"] == []
    assert replayed["upvotes"] == {str(ids[0]): 1, str(ids[1]): 0}
    # The head only: nothing after last_seq to read, the counts kept, no own questions.
    assert len(selects.seen) == 1, selects.seen


def test_bad_joins_are_still_refused_clearly(app, live_session):
    sock = citizen(app, live_session)
    for bad, code in (({"slug": "no-such"}, "not_found"), ({"slug": 5}, "not_found"),
                      ({"slug": live_session.slug, "last_seq": -1}, "invalid"),
                      ({"slug": live_session.slug, "last_seq": True}, "invalid")):
        ack = sock.emit("join", bad, namespace="/qa", callback=True)
        assert ack["ok"] is False and ack["error"] == code and ack["message"]
    assert sock.is_connected("/qa")
    assert sock.emit("join", ["x"], namespace="/qa", callback=True)["error"] == "invalid"


def test_a_prepared_list_goes_out_as_the_list_would():
    items = [Prepared({"id": 1, "text": '问"题\\u0000', "n": None}), {"id": 2, "b": [1, "二"]}]
    shared = PreparedList(items)
    data = ["ack", {"ok": True, "snapshot": {"questions": shared, "posts": PreparedList()}}]
    plain = ["ack", {"ok": True, "snapshot": {"questions": [dict(i) for i in items],
                                              "posts": []}}]
    for _ in range(2):  # the second time from the kept text
        text = Packet(data=data).encode()
        assert text == Packet(data=plain).encode()
        assert json.loads(text[1:]) == plain
    assert not Packet.data_is_binary(data)
