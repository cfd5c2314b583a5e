"""The live session over Socket.IO: citizens ask and watch, staff moderate and answer."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from qa_live.auth.models import Role
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import counters, summaries
from qa_live.live import visits as visit_batches
from qa_live.live.models import Question, QuestionStatus, SessionEvent, Visit
from qa_live.planning.models import ModerationMode, SessionState
from tests.conftest import PASSWORD


@pytest.fixture
def live_session(make_session, make_department, make_user):
    trade = make_department("对外贸易处")
    host = make_user("host1", roles=[Role.HOST])
    answerer = make_user("ans1", roles=[Role.ANSWERER], departments=[trade])
    return make_session(title="稳外贸", state=SessionState.LIVE, departments=[trade],
                        hosts=[host], answerers=[answerer],
                        start=utcnow() - timedelta(minutes=5))


def citizen(app, session):
    """A citizen's phone: loads the page (gets the visitor cookie), then opens the socket."""
    http = app.test_client()
    http.get(f"/s/{session.slug}")
    sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
    assert sock.is_connected("/qa")
    return sock


def staff(app, login):
    http = app.test_client()
    http.post("/login", data={"login": login, "password": PASSWORD})
    return socketio.test_client(app, namespace="/moderation", flask_test_client=http)


def ask(sock, text="出口信用保险有没有保费补贴？", client_id=None):
    return sock.emit("ask", {"text": text, "client_id": client_id or str(uuid.uuid4())},
                     namespace="/qa", callback=True)


def events_named(sock, name, namespace="/qa"):
    return [m["args"][0] for m in sock.get_received(namespace) if m["name"] == name]


def test_citizen_joins_and_gets_a_snapshot(app, live_session):
    sock = citizen(app, live_session)
    ack = sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    assert ack["ok"] and ack["mode"] == "snapshot"
    assert ack["snapshot"]["session"]["title"] == "稳外贸"
    assert ack["snapshot"]["counts"]["participant_visits"] == 1


def test_a_question_is_acknowledged_only_after_it_is_stored(app, live_session):
    sock = citizen(app, live_session)
    sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    ack = ask(sock)
    assert ack["ok"] is True
    stored = db.session.get(Question, ack["question"]["id"])
    assert stored is not None and stored.status == QuestionStatus.PENDING
    assert ack["question"]["status_label"]


def test_a_retried_ask_returns_the_same_question(app, live_session):
    sock = citizen(app, live_session)
    sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    client_id = str(uuid.uuid4())
    first, again = ask(sock, client_id=client_id), ask(sock, client_id=client_id)
    assert first["question"]["id"] == again["question"]["id"] and again["duplicate"]
    assert db.session.scalar(select(func.count(Question.id))) == 1


def test_bad_asks_get_clear_errors_and_store_nothing(app, live_session):
    sock = citizen(app, live_session)
    sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    cases = [
        ("not an object", "invalid"),
        ({"text": "短", "client_id": str(uuid.uuid4())}, "invalid"),
        ({"text": "x" * 501, "client_id": str(uuid.uuid4())}, "invalid"),
        ({"text": 12345, "client_id": str(uuid.uuid4())}, "invalid"),
        ({"text": "正常长度的问题内容", "client_id": "not-a-uuid"}, "invalid"),
        ({"text": "正常长度的问题内容", "client_id": str(uuid.uuid4()), "phone": "123"},
         "invalid"),
        ({"text": "正常长度的问题内容", "client_id": str(uuid.uuid4()), "nickname": ["x"]},
         "invalid"),
    ]
    for data, code in cases:
        ack = sock.emit("ask", data, namespace="/qa", callback=True)
        assert ack["ok"] is False and ack["error"] == code, data
        assert ack["message"]
    assert db.session.scalar(select(func.count(Question.id))) == 0


def test_asking_before_joining_or_in_an_ended_session_is_refused(app, live_session, make_session):
    sock = citizen(app, live_session)
    assert ask(sock)["error"] == "not_joined"
    ended = make_session(state=SessionState.ENDED, start=utcnow() - timedelta(days=1))
    sock.emit("join", {"slug": ended.slug}, namespace="/qa", callback=True)
    ack = ask(sock)
    assert ack["ok"] is False and ack["error"] == "not_live"


def test_asking_too_fast_is_answered_with_a_wait(app, live_session):
    sock = citizen(app, live_session)
    sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    assert ask(sock)["ok"]
    second = ask(sock, "第二个问题：补贴怎么申请？")
    assert second["error"] == "too_fast"
    assert any(ch.isdigit() for ch in second["message"])
    assert db.session.scalar(select(func.count(Question.id))) == 1


def test_staff_moderate_and_answer_and_the_citizen_sees_it_live(app, live_session):
    asker = citizen(app, live_session)
    watcher = citizen(app, live_session)
    for sock in (asker, watcher):
        sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    host = staff(app, "host1")
    joined = host.emit("join", {"session_id": live_session.id}, namespace="/moderation",
                       callback=True)
    assert joined["ok"] and joined["me"]["can_moderate"]
    question_id = ask(asker)["question"]["id"]
    assert any(q["id"] == question_id for q in events_named(host, "question", "/moderation"))
    assert events_named(watcher, "event") == []  # pending questions are not public

    assert host.emit("approve", {"question_id": question_id}, namespace="/moderation",
                     callback=True)["ok"]
    published = events_named(watcher, "event")
    assert [e["type"] for e in published] == ["question"]
    assert published[0]["data"]["status"] == "approved"

    answerer = staff(app, "ans1")
    answerer.emit("join", {"session_id": live_session.id}, namespace="/moderation",
                  callback=True)
    ack = answerer.emit("answer", {"question_id": question_id, "body": "有补贴，按规定申请。"},
                        namespace="/moderation", callback=True)
    assert ack["ok"], ack
    answered = events_named(watcher, "event")
    assert answered[-1]["data"]["answers"][0]["body"] == "有补贴，按规定申请。"
    assert answered[-1]["data"]["answers"][0]["department"] == "对外贸易处"
    assert answered[-1]["seq"] == published[0]["seq"] + 1
    mine = events_named(asker, "mine")
    assert mine[-1]["status"] == "answered"


def test_a_reconnecting_citizen_gets_exactly_what_it_missed(app, live_session, make_question):
    host = staff(app, "host1")
    host.emit("join", {"session_id": live_session.id}, namespace="/moderation", callback=True)
    sock = citizen(app, live_session)
    first = sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    seen = first["snapshot"]["seq"]
    sock.disconnect(namespace="/qa")
    ids = [make_question(live_session, f"错过的问题第{i}个？", visitor=f"v{i}-xxxxxxxxxxxxxxx").id
           for i in range(3)]
    for qid in ids:
        host.emit("approve", {"question_id": qid}, namespace="/moderation", callback=True)
    back = citizen(app, live_session)
    ack = back.emit("join", {"slug": live_session.slug, "last_seq": seen}, namespace="/qa",
                    callback=True)
    assert ack["mode"] == "replay"
    assert [e["data"]["id"] for e in ack["events"]] == ids
    assert [e["seq"] for e in ack["events"]] == [seen + 1, seen + 2, seen + 3]
    again = back.emit("join", {"slug": live_session.slug, "last_seq": ack["seq"]},
                      namespace="/qa", callback=True)
    assert again["mode"] == "replay" and again["events"] == []


def test_a_gap_too_old_gets_a_snapshot(app, live_session):
    app.config["REPLAY_LIMIT"] = 0
    host = staff(app, "host1")
    host.emit("join", {"session_id": live_session.id}, namespace="/moderation", callback=True)
    host.emit("post", {"kind": "policy", "body": "政策解读一"}, namespace="/moderation",
              callback=True)
    sock = citizen(app, live_session)
    ack = sock.emit("join", {"slug": live_session.slug, "last_seq": 0}, namespace="/qa",
                    callback=True)
    assert ack["mode"] == "snapshot"
    assert ack["snapshot"]["posts"][0]["body"] == "政策解读一"


def test_every_public_change_is_logged_with_gapless_numbers(app, live_session, make_question):
    host = staff(app, "host1")
    host.emit("join", {"session_id": live_session.id}, namespace="/moderation", callback=True)
    q = make_question(live_session)
    host.emit("approve", {"question_id": q.id}, namespace="/moderation", callback=True)
    host.emit("pin", {"question_id": q.id, "pinned": True}, namespace="/moderation",
              callback=True)
    host.emit("post", {"kind": "notice", "body": "欢迎参与"}, namespace="/moderation",
              callback=True)
    seqs = db.session.scalars(select(SessionEvent.seq).where(
        SessionEvent.session_id == live_session.id).order_by(SessionEvent.seq)).all()
    assert seqs == [1, 2, 3]


def test_open_mode_publishes_at_once_but_holds_flagged_questions(app, make_session,
                                                                 make_department):
    session = make_session(state=SessionState.LIVE, start=utcnow() - timedelta(minutes=1),
                           moderation_mode=ModerationMode.OPEN)
    sock = citizen(app, session)
    sock.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)
    clean = ask(sock, "请问家政服务补贴怎么申请？")
    assert clean["question"]["status"] == "approved"
    app.config["QUESTION_MIN_INTERVAL_S"] = 0
    flagged = ask(sock, "加 微 信 代开发票，便宜")
    assert flagged["question"]["status"] == "pending"
    assert db.session.get(Question, flagged["question"]["id"]).sensitive_hits


def test_reject_merge_and_votes(app, live_session, make_question):
    host = staff(app, "host1")
    host.emit("join", {"session_id": live_session.id}, namespace="/moderation", callback=True)
    first = make_question(live_session, "预付卡余额怎么追回？", visitor="a" * 20)
    dup = make_question(live_session, "预付卡跑路余额怎么办？", visitor="b" * 20)
    for q in (first, dup):
        host.emit("approve", {"question_id": q.id}, namespace="/moderation", callback=True)
    voter = citizen(app, live_session)
    voter.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    assert voter.emit("vote", {"question_id": dup.id}, namespace="/qa", callback=True)["ok"]
    again = voter.emit("vote", {"question_id": dup.id}, namespace="/qa", callback=True)
    assert again["error"] == "already_voted"
    ack = host.emit("merge", {"question_id": dup.id, "into_id": first.id},
                    namespace="/moderation", callback=True)
    assert ack["ok"], ack
    db.session.expire_all()
    assert db.session.get(Question, first.id).upvotes == 1
    merged = db.session.get(Question, dup.id)
    assert merged.status == QuestionStatus.REJECTED and merged.merged_into_id == first.id
    removed = [e for e in events_named(voter, "event") if e["type"] == "question.removed"]
    assert removed[0]["data"]["id"] == dup.id
    bad = host.emit("reject", {"question_id": first.id, "reason": "because"},
                    namespace="/moderation", callback=True)
    assert bad["error"] == "invalid"


def test_votes_and_counters_go_out_as_one_summary(app, live_session, make_question):
    host = staff(app, "host1")
    host.emit("join", {"session_id": live_session.id}, namespace="/moderation", callback=True)
    q = make_question(live_session)
    host.emit("approve", {"question_id": q.id}, namespace="/moderation", callback=True)
    socks = [citizen(app, live_session) for _ in range(3)]
    for sock in socks:
        sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
        sock.emit("vote", {"question_id": q.id}, namespace="/qa", callback=True)
    for sock in socks:
        sock.get_received("/qa")
    summaries.flush_summaries()
    received = socks[0].get_received("/qa")
    votes = [m["args"][0] for m in received if m["name"] == "votes"]
    counts = [m["args"][0] for m in received if m["name"] == "counts"]
    assert votes == [{"session_id": live_session.id, "upvotes": {str(q.id): 3}}]
    assert len(counts) == 1 and counts[0]["online"] == 3 and counts[0]["participant_visits"] == 3


def test_a_reconnect_is_not_a_new_visit(app, live_session):
    http = app.test_client()
    http.get(f"/s/{live_session.slug}")
    for _ in range(3):
        sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
        sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
        sock.disconnect(namespace="/qa")
    visits = db.session.scalars(select(Visit)).all()
    assert len(visits) == 1 and visits[0].ended_at is not None
    other = citizen(app, live_session)
    other.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    assert db.session.scalar(select(func.count(Visit.id))) == 2


def test_staff_socket_refuses_anonymous_and_checks_roles(app, live_session, make_question,
                                                         make_user, make_department):
    anonymous = socketio.test_client(app, namespace="/moderation")
    assert not anonymous.is_connected("/moderation")
    outsider_dept = make_department("市场秩序处")
    make_user("other", roles=[Role.ANSWERER], departments=[outsider_dept])
    other = staff(app, "other")
    ack = other.emit("join", {"session_id": live_session.id}, namespace="/moderation",
                     callback=True)
    assert ack["error"] == "forbidden"
    answerer = staff(app, "ans1")
    answerer.emit("join", {"session_id": live_session.id}, namespace="/moderation",
                  callback=True)
    q = make_question(live_session)
    assert answerer.emit("approve", {"question_id": q.id}, namespace="/moderation",
                         callback=True)["error"] == "forbidden"
    # Not approved yet: answerers wait for the host (docs/realtime.md, claims).
    assert answerer.emit("claim", {"question_id": q.id}, namespace="/moderation",
                         callback=True)["error"] == "forbidden"


def test_a_claim_shows_who_holds_the_question(app, live_session, make_question, make_user):
    make_user("host2", roles=[Role.HOST])
    q = make_question(live_session)
    a, b = staff(app, "host1"), staff(app, "host2")
    for s in (a, b):
        s.emit("join", {"session_id": live_session.id}, namespace="/moderation", callback=True)
    assert a.emit("claim", {"question_id": q.id}, namespace="/moderation", callback=True)["ok"]
    held = b.emit("claim", {"question_id": q.id}, namespace="/moderation", callback=True)
    assert held["error"] == "claimed"
    seen = [e for e in events_named(b, "question", "/moderation") if e["id"] == q.id]
    assert seen[-1]["claimed_by_name"] == "host1"


def test_ending_the_session_turns_it_read_only(app, live_session):
    watcher = citizen(app, live_session)
    watcher.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    host = staff(app, "host1")
    host.emit("join", {"session_id": live_session.id}, namespace="/moderation", callback=True)
    assert host.emit("end", {}, namespace="/moderation", callback=True)["ok"]
    states = [e["data"]["state"] for e in events_named(watcher, "event")
              if e["type"] == "session"]
    assert states == ["ended"]
    assert ask(watcher)["error"] == "not_live"
    assert db.session.scalar(select(func.count(Visit.id)).where(Visit.ended_at.is_(None))) == 0


def test_peak_viewers_is_the_most_pages_open_at_once(app, live_session):
    socks = [citizen(app, live_session) for _ in range(3)]
    for sock in socks:
        sock.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    for sock in socks[:2]:
        sock.disconnect(namespace="/qa")
    late = citizen(app, live_session)
    ack = late.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    counts = ack["snapshot"]["counts"]
    assert counts["online"] == 2
    assert counts["peak_online"] == 3
    assert counts["participant_visits"] == 4


def test_the_projector_view_watches_without_counting_as_a_visit(app, live_session):
    screen = citizen(app, live_session)
    ack = screen.emit("join", {"slug": live_session.slug, "screen": True}, namespace="/qa",
                      callback=True)
    assert ack["ok"] and ack["snapshot"]["counts"]["participant_visits"] == 0
    person = citizen(app, live_session)
    ack = person.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    assert ack["snapshot"]["counts"]["participant_visits"] == 1
    assert ack["snapshot"]["counts"]["online"] == 1


def test_a_snapshot_shows_current_votes_and_changes_after_earlier_joins(app, live_session,
                                                                       make_question):
    host = staff(app, "host1")
    host.emit("join", {"session_id": live_session.id}, namespace="/moderation", callback=True)
    q = make_question(live_session)
    host.emit("approve", {"question_id": q.id}, namespace="/moderation", callback=True)
    first = citizen(app, live_session)
    before = first.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    assert [x["upvotes"] for x in before["snapshot"]["questions"]] == [0]
    assert first.emit("vote", {"question_id": q.id}, namespace="/qa", callback=True)["ok"]
    later = citizen(app, live_session).emit("join", {"slug": live_session.slug},
                                            namespace="/qa", callback=True)["snapshot"]
    assert later["seq"] == before["snapshot"]["seq"]  # a vote writes no event…
    assert [x["upvotes"] for x in later["questions"]] == [1]  # …and still shows
    host.emit("answer", {"question_id": q.id, "body": "已答复。"}, namespace="/moderation",
              callback=True)
    last = citizen(app, live_session).emit("join", {"slug": live_session.slug},
                                           namespace="/qa", callback=True)["snapshot"]
    assert last["seq"] > later["seq"]
    assert last["questions"][0]["answers"][0]["body"] == "已答复。"
    assert last["questions"][0]["upvotes"] == 1


# Visits written in batches (visits.join_visit / leave; VISIT_FLUSH_INTERVAL_S > 0) ----------


def _visits_of(session):
    """(visitor, connections, open?) of every visit, in the order they were opened."""
    db.session.expire_all()
    return [(v.visitor_id, v.connections, v.ended_at is None)
            for v in db.session.scalars(select(Visit).where(Visit.session_id == session.id)
                                        .order_by(Visit.id))]


def _crowd_comes_and_goes(app, session):
    """Pages arriving and leaving: a reconnect, a second tab, a page that leaves for good."""
    pages = {}

    def page(name, http):
        sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
        assert sock.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)["ok"]
        pages[name] = sock
        return sock

    phones = {}
    for name in ("a", "b", "c"):
        phones[name] = app.test_client()
        phones[name].get(f"/s/{session.slug}")
    page("a", phones["a"])
    page("b", phones["b"])
    pages.pop("a").disconnect(namespace="/qa")  # a's phone switches networks…
    page("a2", phones["a"])  # …and is back: the same visit
    page("c", phones["c"])
    page("c-tab", phones["c"])  # a second tab: the same visit
    pages.pop("c").disconnect(namespace="/qa")
    pages.pop("c-tab").disconnect(namespace="/qa")  # c has gone
    return pages


def test_visits_written_in_batches_are_exactly_the_visits_written_at_once(app, make_session,
                                                                          make_department):
    results = []
    for batched in (False, True):
        session = make_session(title=f"批量{batched}", state=SessionState.LIVE,
                               start=utcnow() - timedelta(minutes=5))
        app.config["VISIT_FLUSH_INTERVAL_S"] = 3600.0 if batched else 0.0
        _crowd_comes_and_goes(app, session)
        if batched:  # nothing written yet: every join and leave waits for the batch
            assert _visits_of(session) == [] and visit_batches.pending_visits() == 8
            visit_batches.flush_visits()
            assert visit_batches.pending_visits() == 0
        visits = [(connections, is_open) for _visitor, connections, is_open
                  in _visits_of(session)]
        db.session.refresh(session)
        counts = counters.counts(session.id)
        del counts["session_id"]
        results.append((visits, session.peak_online, counts))
    at_once, in_batch = results
    assert at_once == in_batch
    visits, peak, counts = in_batch
    assert visits == [(1, True), (1, True), (0, False)]  # a (continued), b, c (two tabs, gone)
    assert peak == 3 and counts["online"] == 2 and counts["participant_visits"] == 3


def test_a_batch_that_fails_is_written_with_the_next(app, live_session, monkeypatch):
    app.config["VISIT_FLUSH_INTERVAL_S"] = 3600.0
    pages = _crowd_comes_and_goes(app, live_session)
    real_apply = visit_batches._apply
    calls = []

    def failing_once(ops, check_state, **kwargs):
        calls.append(len(ops))
        if len(calls) == 1:
            raise RuntimeError("database unavailable")
        return real_apply(ops, check_state, **kwargs)

    monkeypatch.setattr(visit_batches, "_apply", failing_once)
    with pytest.raises(RuntimeError):
        visit_batches.flush_visits()
    assert visit_batches.pending_visits() == 8 and _visits_of(live_session) == []
    pages["b"].disconnect(namespace="/qa")  # recorded after the failed batch, kept in order
    visit_batches.flush_visits()
    assert visit_batches.pending_visits() == 0
    assert [(c, o) for _v, c, o in _visits_of(live_session)] == [(1, True), (0, False),
                                                                  (0, False)]


def test_ending_a_session_writes_its_pending_visits_first(app, live_session):
    app.config["VISIT_FLUSH_INTERVAL_S"] = 3600.0
    for _ in range(3):
        citizen(app, live_session).emit("join", {"slug": live_session.slug}, namespace="/qa",
                                        callback=True)
    host = staff(app, "host1")
    host.emit("join", {"session_id": live_session.id}, namespace="/moderation", callback=True)
    assert host.emit("end", {}, namespace="/moderation", callback=True)["ok"]
    assert visit_batches.pending_visits() == 0
    assert [(c, o) for _v, c, o in _visits_of(live_session)] == [(0, False)] * 3
    db.session.refresh(live_session)
    assert live_session.peak_online == 3


def test_joins_written_after_another_worker_ended_the_session(app, live_session):
    # Another process ended the session while this one still held joins: those made before
    # the end count (stored as ended then), one made after it does not.
    app.config["VISIT_FLUSH_INTERVAL_S"] = 3600.0
    end = utcnow()
    before = visit_batches.join_visit(live_session.id, "before-the-end-xxx",
                                      end - timedelta(seconds=1))
    visit_batches.join_visit(live_session.id, "after-the-end-xxxx", end + timedelta(seconds=1))
    live_session.state = SessionState.ENDED
    live_session.ended_at = end
    db.session.commit()
    visit_batches.leave(before, end + timedelta(seconds=5))
    visit_batches.flush_visits()
    visits = db.session.scalars(select(Visit).where(Visit.session_id == live_session.id)).all()
    assert [(v.visitor_id, v.connections, v.ended_at) for v in visits] == [
        ("before-the-end-xxx", 0, end)]


def test_a_clean_shutdown_writes_every_pending_visit_and_ends_this_processs_pages(
        app, live_session):
    from qa_live.live.sockets import end_pages

    app.config["VISIT_FLUSH_INTERVAL_S"] = 3600.0
    for _ in range(2):
        citizen(app, live_session).emit("join", {"slug": live_session.slug}, namespace="/qa",
                                        callback=True)
    end_pages(app)
    assert visit_batches.pending_visits() == 0
    assert [(c, o) for _v, c, o in _visits_of(live_session)] == [(0, False)] * 2


def test_a_joining_page_sends_no_write_and_counts_catch_up_with_the_summary(app,
                                                                             live_session):
    app.config["VISIT_FLUSH_INTERVAL_S"] = 3600.0
    first = citizen(app, live_session)
    ack = first.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    assert ack["ok"] and ack["snapshot"]["counts"]["participant_visits"] == 0  # not yet written
    visit_batches.flush_visits()  # what the background loop does every VISIT_FLUSH_INTERVAL_S
    first.get_received("/qa")
    summaries.flush_summaries()
    counts = events_named(first, "counts")
    assert counts and counts[-1]["participant_visits"] == 1 and counts[-1]["online"] == 1


def test_a_large_audience_hears_the_counters_less_often_and_staff_every_time(
        app, live_session, monkeypatch):
    host = staff(app, "host1")
    host.emit("join", {"session_id": live_session.id}, namespace="/moderation", callback=True)
    pages = [citizen(app, live_session) for _ in range(3)]
    for page in pages:
        page.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    # One second per two pages: three pages hear a summary at most every 1.5 s.
    app.config.update(SUMMARY_INTERVAL_S=1.0, SUMMARY_AUDIENCE_STEP=2)
    clock = [1000.0]
    monkeypatch.setattr(summaries.time, "monotonic", lambda: clock[0])

    def heard():
        page_counts = events_named(pages[0], "counts")
        staff_counts = events_named(host, "counts", "/moderation")
        return len(page_counts), len(staff_counts), page_counts

    heard()
    summaries.flush_summaries()  # the first summary goes out at once, to everyone
    assert heard()[:2] == (1, 1)
    summaries.mark_counts(live_session.id)
    clock[0] += 1.0
    summaries.flush_summaries()  # staff hear it; the audience waits…
    assert heard()[:2] == (0, 1)
    clock[0] += 0.6
    summaries.flush_summaries()  # …until 1.5 s have passed, then hears the latest figures
    n_pages, n_staff, page_counts = heard()
    assert (n_pages, n_staff) == (1, 0) and page_counts[0]["online"] == 3


def _stored_shapes(question_id):
    """What the general serializers make of the stored question, read back from the database."""
    from qa_live.live import serialize

    db.session.expire_all()
    stored = db.session.get(Question, question_id)
    return stored, serialize.staff_question(stored, utcnow())


@pytest.mark.parametrize("mode", [ModerationMode.PRE, ModerationMode.OPEN])
def test_a_live_question_reaches_console_asker_and_public_as_the_stored_row_reads(
        app, make_session, make_department, make_user, mode):
    from qa_live.live import serialize
    from qa_live.live.services import status_label

    trade = make_department("对外贸易处")
    session = make_session(state=SessionState.LIVE, start=utcnow() - timedelta(minutes=1),
                           moderation_mode=mode, departments=[trade],
                           hosts=[make_user("host1", roles=[Role.HOST])])
    host = staff(app, "host1")
    host.emit("join", {"session_id": session.id}, namespace="/moderation", callback=True)
    sock = citizen(app, session)
    watcher = citizen(app, session)
    for page in (sock, watcher):
        page.emit("join", {"slug": session.slug}, namespace="/qa", callback=True)
    sock.get_received("/qa"), watcher.get_received("/qa"), host.get_received("/moderation")
    ack = sock.emit("ask", {"text": "出口信用保险有没有保费补贴？", "nickname": "老王",
                            "phone": "13812345678", "client_id": str(uuid.uuid4())},
                    namespace="/qa", callback=True)
    assert ack["ok"] is True, ack
    stored, staff_shape = _stored_shapes(ack["question"]["id"])
    assert stored.phone == "13812345678" and stored.department_id == trade.id
    own_shape = serialize.own_question(stored, status_label(stored))
    assert ack["question"] == own_shape
    assert events_named(sock, "mine") == [own_shape]
    assert events_named(host, "question", "/moderation") == [staff_shape]
    assert staff_shape["department"] == "对外贸易处"
    assert staff_shape["phone_masked"] == "138****5678"
    published = [e["data"] for e in events_named(watcher, "event") if e["type"] == "question"]
    if mode == ModerationMode.OPEN:
        assert stored.status == QuestionStatus.APPROVED
        assert published == [serialize.public_question(stored)]
    else:
        assert stored.status == QuestionStatus.PENDING and published == []


def test_a_client_id_of_another_visitor_is_refused_and_stores_nothing(app, live_session):
    first, second = citizen(app, live_session), citizen(app, live_session)
    for page in (first, second):
        page.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    client_id = str(uuid.uuid4())
    assert ask(first, client_id=client_id)["ok"]
    refused = ask(second, "另一个问题", client_id=client_id)
    assert refused["ok"] is False and refused["error"] == "forbidden"
    assert db.session.scalar(select(func.count(Question.id))) == 1


def test_citizens_leaving_lowers_online_now_with_the_next_summary(app, live_session):
    """Issue 18: "online now" stayed too high after citizens left until something else changed."""
    host = staff(app, "host1")
    host.emit("join", {"session_id": live_session.id}, namespace="/moderation", callback=True)
    pages = [citizen(app, live_session) for _ in range(5)]
    for page in pages:
        page.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    summaries.flush_summaries()
    assert events_named(host, "counts", "/moderation")[-1]["online"] == 5
    for page in pages[:2]:  # two citizens leave; nothing else happens in the session
        page.disconnect(namespace="/qa")
    events_named(pages[2], "counts")
    summaries.flush_summaries()
    console = events_named(host, "counts", "/moderation")
    page = events_named(pages[2], "counts")
    assert console and console[-1]["online"] == 3, console
    assert page and page[-1]["online"] == 3, page


def test_a_summary_to_a_large_audience_waits_while_an_answer_goes_out(
        app, live_session, monkeypatch):
    """An answer published while the counters go out to thousands of pages goes first: the
    summary is sent in slices and waits between them while a large broadcast is going out."""
    import threading

    pages = [citizen(app, live_session) for _ in range(5)]
    for page in pages:
        page.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
        page.get_received("/qa")
    monkeypatch.setattr(summaries, "SLICE", 2, raising=False)  # five pages stand for thousands
    summaries.mark_counts(live_session.id)
    turn = socketio.server.manager._large  # what an answer's large broadcast holds
    done = threading.Event()

    def flush() -> None:
        with app.app_context():
            summaries.flush_summaries()
        done.set()

    with turn:  # an answer is going out to the audience
        worker = threading.Thread(target=flush)
        worker.start()
        assert not done.wait(0.3)
        assert not any(events_named(page, "counts") for page in pages)
    worker.join(5)
    assert done.is_set()
    heard = [events_named(page, "counts") for page in pages]
    assert all(len(h) == 1 and h[0]["online"] == 5 for h in heard)
