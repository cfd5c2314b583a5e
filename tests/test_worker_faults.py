"""What keeps a deployment right when a worker, the broker or the database fails, in process:
the seq heartbeat, the worker registry and its sweep of a dead worker's visits, the leader
lease, the retryable "unavailable" answer, and two workers' first questions at once.

The same faults with real processes behind nginx are in tests/test_faults.py.
"""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from qa_live import create_app
from qa_live.core.timeutil import utcnow
from qa_live.extensions import db, socketio
from qa_live.live import counters, events, heartbeat, intake_group, visits, workers
from qa_live.live import services as live
from qa_live.live.lease import Lease
from qa_live.live.models import Visit
from qa_live.live.worker_models import VisitConnection, Worker
from qa_live.planning.models import SessionState
from tests import services as outside
from tests.conftest import config_for
from tests.test_live_sockets import ask, citizen, events_named, live_session, staff  # noqa: F401


def _join(sock, session, last_seq=None):
    data = {"slug": session.slug}
    if last_seq is not None:
        data["last_seq"] = last_seq
    return sock.emit("join", data, namespace="/qa", callback=True)


# The seq heartbeat -----------------------------------------------------------------------------


def test_a_page_that_missed_an_event_hears_the_latest_seq_and_replays_it(app, live_session):
    page = citizen(app, live_session)
    joined = _join(page, live_session)
    seq = joined["snapshot"]["seq"]
    page.get_received("/qa")
    # A post committed whose broadcast never reached this worker (the broker was down).
    events.publish_to(live_session.id, "post", {"id": 999, "kind": "notice", "body": "公告"})
    db.session.info.pop(events.OUTBOX)  # lost on its way: this worker never sends it
    db.session.commit()
    assert events_named(page, "event") == []
    assert heartbeat.tell_latest_seq() == 1
    heard = events_named(page, "seq")
    assert heard == [{"session_id": live_session.id, "seq": seq + 1}]
    assert heartbeat.tell_latest_seq() == 0  # told once per move, not every beat
    assert events_named(page, "seq") == []
    replay = _join(page, live_session, last_seq=seq)  # what the page does on hearing it
    assert replay["mode"] == "replay" and [e["seq"] for e in replay["events"]] == [seq + 1]


def test_an_event_the_pages_were_sent_is_not_repeated_by_the_heartbeat(app, live_session):
    page = citizen(app, live_session)
    seq = _join(page, live_session)["snapshot"]["seq"]
    page.get_received("/qa")
    events.publish_to(live_session.id, "post", {"id": 999, "kind": "notice", "body": "公告"})
    events.commit_and_send()  # sent to this worker's pages with its seq
    assert [e["seq"] for e in events_named(page, "event")] == [seq + 1]
    # The heartbeat would be one more message to every page, while answers go out.
    assert heartbeat.tell_latest_seq() == 0
    assert events_named(page, "seq") == []
    # One that did not reach them after it is still told.
    events.publish_to(live_session.id, "post", {"id": 1000, "kind": "notice", "body": "又一条"})
    db.session.info.pop(events.OUTBOX)
    db.session.commit()
    assert heartbeat.tell_latest_seq() == 1
    assert events_named(page, "seq") == [{"session_id": live_session.id, "seq": seq + 2}]


def test_a_beat_while_an_event_is_going_out_does_not_repeat_it(app, live_session,
                                                                monkeypatch):
    page = citizen(app, live_session)
    _join(page, live_session)
    page.get_received("/qa")
    manager = socketio.server.manager
    real_emit = manager._emit
    beats = []

    def emit_with_a_beat_inside(*args, **kwargs):
        # A large broadcast pauses now and then; the heartbeat may run in such a pause.
        beats.append(heartbeat.tell_latest_seq())
        return real_emit(*args, **kwargs)

    monkeypatch.setattr(manager, "_emit", emit_with_a_beat_inside)
    events.publish_to(live_session.id, "post", {"id": 999, "kind": "notice", "body": "公告"})
    events.commit_and_send()
    monkeypatch.setattr(manager, "_emit", real_emit)
    assert beats and not any(beats)
    assert events_named(page, "seq") == []


def test_a_page_joining_while_an_event_goes_out_gets_it_in_its_snapshot(app, live_session,
                                                                        monkeypatch):
    from qa_live.live import sockets

    page = citizen(app, live_session)
    before = _join(citizen(app, live_session), live_session)["snapshot"]["seq"]
    real_join_room = sockets.join_room

    def join_room_late(room, *args, **kwargs):
        # Between reading the session's seq and entering its room, another green thread
        # commits a post and sends it to the room: the joining page is not in it yet.
        events.publish_to(live_session.id, "post", {"id": 999, "kind": "notice", "body": "公告"})
        events.commit_and_send()
        return real_join_room(room, *args, **kwargs)

    monkeypatch.setattr(sockets, "join_room", join_room_late)
    joined = _join(page, live_session)
    monkeypatch.setattr(sockets, "join_room", real_join_room)
    # Its snapshot is as of the post (it was not in the room when the post went out).
    assert joined["snapshot"]["seq"] == before + 1


def test_pages_of_no_session_hear_nothing(app, live_session):
    page = citizen(app, live_session)  # connected, not joined
    assert heartbeat.tell_latest_seq() == 0
    assert events_named(page, "seq") == []


# The worker registry and the sweep of a dead worker ----------------------------------------


def _as_worker(app: Flask, worker_id: str) -> None:
    """From now on this app is worker `worker_id` (as if another process)."""
    who = workers.me(app)
    who.id = worker_id
    who.beating_since = time.monotonic() - 3600  # beating long enough to judge others


def _visits(session_id):
    db.session.expire_all()
    return [(v.visitor_id, v.connections, v.ended_at) for v in db.session.scalars(
        select(Visit).where(Visit.session_id == session_id).order_by(Visit.id))]


def test_a_dead_workers_visits_end_when_it_was_last_seen_and_the_peak_is_recounted(
        app, live_session):
    _as_worker(app, "a" * 32)
    pages = {}
    for name in ("ann", "bob", "cat"):
        http = app.test_client()
        http.get(f"/s/{live_session.slug}")
        pages[name] = (http, socketio.test_client(app, namespace="/qa", flask_test_client=http))
        assert _join(pages[name][1], live_session)["ok"]
    assert workers.open_pages() == 3
    # Worker a dies (kill -9: no leave is ever written); it was last seen a minute ago, the
    # pages had come a minute before that.
    seen = utcnow() - timedelta(seconds=60)
    db.session.execute(update(Worker).where(Worker.id == "a" * 32).values(last_seen_at=seen))
    db.session.execute(update(Visit).values(started_at=seen - timedelta(seconds=60)))
    db.session.commit()
    # Worker b: bob's page reconnects to it before anyone noticed; dan arrives.
    _as_worker(app, "b" * 32)
    for name in ("bob", "dan"):
        http = pages[name][0] if name in pages else app.test_client()
        if name == "dan":
            http.get(f"/s/{live_session.slug}")
        sock = socketio.test_client(app, namespace="/qa", flask_test_client=http)
        assert _join(sock, live_session)["ok"]
    db.session.refresh(live_session)
    assert live_session.peak_online == 4  # a's three still looked open when dan came
    assert workers.sweep_dead() == [live_session.id]
    visits = _visits(live_session.id)
    assert len(visits) == 4  # bob's reconnect continued his visit
    ann, bob, cat, dan = ((n, end) for _visitor, n, end in visits)  # in the order they came
    assert ann == (0, seen) and cat == (0, seen)  # ended when worker a was last seen
    assert bob[0] == 1 and bob[1] is None and dan == (1, None)
    db.session.refresh(live_session)
    counts = counters.counts(live_session.id)
    assert counts["online"] == 2 and counts["participant_visits"] == 4
    # Counted from scratch: three from the start, then bob (continued) and dan.
    assert live_session.peak_online == 3 == counts["peak_online"]
    gone = db.session.get(Worker, "a" * 32)
    assert gone.ended_how == "swept" and workers.open_pages("a" * 32) == 0
    assert workers.sweep_dead() == []  # once only


def test_a_worker_that_is_merely_slow_is_not_swept(app, live_session):
    _as_worker(app, "a" * 32)
    sock = citizen(app, live_session)
    assert _join(sock, live_session)["ok"]
    _as_worker(app, "b" * 32)
    workers.me(app).beating_since = time.monotonic()  # b itself only just began beating
    db.session.execute(update(Worker).where(Worker.id == "a" * 32)
                       .values(last_seen_at=utcnow() - timedelta(seconds=60)))
    db.session.commit()
    assert workers.sweep_dead() == []  # after an outage everyone first gets a chance to beat
    assert counters.counts(live_session.id)["online"] == 1


def test_a_worker_taken_for_dead_carries_on_under_a_new_id(app, live_session):
    sock = citizen(app, live_session)
    assert _join(sock, live_session)["ok"]
    old = workers.worker_id()
    db.session.execute(update(Worker).where(Worker.id == old)
                       .values(ended_at=utcnow(), ended_how="swept"))
    db.session.execute(update(Visit).values(connections=0, ended_at=utcnow()))
    db.session.execute(VisitConnection.__table__.delete())
    db.session.commit()
    assert workers.beat() is False and workers.worker_id() != old
    # The old page's leave counts nothing: its visit was closed for it already.
    sock.disconnect(namespace="/qa")
    assert [(n, end is not None) for _v, n, end in _visits(live_session.id)] == [(0, True)]


def test_a_clean_stop_says_so_and_leaves_nothing_to_sweep(app, live_session):
    sock = citizen(app, live_session)
    assert _join(sock, live_session)["ok"]
    sock.disconnect(namespace="/qa")
    heartbeat.stop(app)
    row = db.session.get(Worker, workers.worker_id())
    db.session.refresh(row)
    assert row.ended_how == "stopped" and workers.open_pages() == 0


def test_ending_a_session_forgets_which_worker_held_its_pages(app, live_session, make_user):
    from qa_live.auth.models import Role
    from qa_live.live import moderation

    sock = citizen(app, live_session)
    assert _join(sock, live_session)["ok"]
    host = make_user("host-end", roles=[Role.HOST])
    moderation.end_session(live_session, host)
    db.session.commit()
    assert db.session.scalar(select(VisitConnection.visit_id)) is None
    assert live_session.state == SessionState.ENDED


@pytest.fixture
def two_workers_on_postgres(tmp_path: Path):
    """Two apps (two workers' engines) on the test PostgreSQL database."""
    url = outside.postgres_url()
    from tests.conftest import _empty_postgres

    batched = {"VISIT_FLUSH_INTERVAL_S": 3600.0}  # joins wait for an explicit batch
    first = create_app(config_for(url, **batched))
    second = create_app(config_for(url, **batched))
    with first.app_context():
        flask_migrate = __import__("flask_migrate")
        flask_migrate.upgrade()
    _empty_postgres(first)
    yield first, second
    for app in (first, second):
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.postgres
def test_a_page_moving_to_another_worker_at_once_is_still_one_visit(two_workers_on_postgres,
                                                                    make_department):
    first, second = two_workers_on_postgres
    with first.app_context():
        from qa_live.planning import services as planning

        dept = planning.create_department("对外贸易处", "外贸处")
        now = utcnow()
        draft = planning.SessionDraft(
            title="两个进程", description="", scheduled_start=now + timedelta(hours=1),
            scheduled_end=now + timedelta(hours=3), department_ids=[dept.id])
        session = planning.create_session(draft, None)
        planning.change_state(session, SessionState.ANNOUNCED)
        planning.change_state(session, SessionState.LIVE)
        db.session.commit()
        session_id = session.id
    entered = threading.Event()
    done: list[str] = []

    def worker_one() -> None:  # writes its join batch and holds it a moment before committing
        with first.app_context():
            visits.join_visit(session_id, "visitor-moving-0001")
            visits.write_pending()
            entered.set()
            time.sleep(1.0)
            db.session.commit()
            done.append("first")

    thread = threading.Thread(target=worker_one)
    thread.start()
    assert entered.wait(10)
    with second.app_context():  # the same visitor's page, a moment later, on the other worker
        visits.join_visit(session_id, "visitor-moving-0001")
        visits.flush_visits()
        done.append("second")
    thread.join(10)
    with first.app_context():
        rows = db.session.execute(select(Visit.visitor_id, Visit.connections)
                                  .where(Visit.session_id == session_id)).all()
    assert done == ["first", "second"]  # the second batch waited for the first
    assert rows == [("visitor-moving-0001", 2)]


# The leader lease --------------------------------------------------------------------------


@pytest.mark.redis
def test_one_leader_at_a_time_and_another_takes_over_when_it_lapses():
    url = outside.redis_url()
    one, two = Lease(url), Lease(url)
    one.client().delete("qa_live:leader", "qa_live:summary_marks")
    assert one.renew(1.5, "worker-one") is True and one.leading()
    assert two.renew(1.5, "worker-two") is False and not two.leading()
    assert one.renew(1.5, "worker-one") is True  # renewing keeps it
    time.sleep(1.7)  # worker one stopped renewing (it died)
    assert two.renew(1.5, "worker-two") is True and two.leading()
    assert one.renew(1.5, "worker-one") is False and not one.leading()
    two.release("worker-two")
    assert one.renew(1.5, "worker-one") is True


@pytest.mark.redis
def test_followers_hand_their_summary_marks_to_the_leader():
    url = outside.redis_url()
    leader, follower = Lease(url), Lease(url)
    leader.client().delete("qa_live:leader", "qa_live:summary_marks")
    assert leader.renew(5, "leader") and not follower.renew(5, "follower")
    assert follower.share_marks({7}, {7: {70, 71}}) is None  # not its to send
    sessions, votes = leader.share_marks({8}, {})
    assert sessions == {7, 8} and votes == {7: {70, 71}}
    assert leader.share_marks(set(), {}) == (set(), {})  # taken once
    leader.release("leader")


def test_a_lone_worker_always_leads_and_keeps_its_marks():
    alone = Lease(None)
    assert alone.renew(5, "me") and alone.leading()
    assert alone.share_marks({1}, {1: {2}}) == ({1}, {1: {2}})


# "unavailable": a retryable answer during an outage, never a server error ----------------------


def _outage(*_args, **_kwargs):
    raise OperationalError("INSERT …", {}, Exception("connection refused"))


def test_asking_while_the_database_is_down_says_try_again(app, live_session, monkeypatch):
    sock = citizen(app, live_session)
    assert _join(sock, live_session)["ok"]
    monkeypatch.setattr(intake_group, "submit_group", _outage)
    ack = ask(sock)
    assert ack["ok"] is False and ack["error"] == "unavailable" and ack["message"]


def test_the_api_answers_503_unavailable_with_retry_after(app, client, live_session,
                                                           monkeypatch):
    monkeypatch.setattr(intake_group, "submit_group", _outage)
    reply = client.post(f"/api/v1/sessions/{live_session.slug}/questions",
                        json={"text": "数据库停了还能提问吗？", "client_id": str(uuid.uuid4())})
    assert reply.status_code == 503 and reply.headers["Retry-After"] == "5"
    assert reply.get_json()["error"] == "unavailable"


def test_an_unexpected_api_failure_is_a_server_error_code_not_500(app, client, live_session,
                                                                    monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(intake_group, "submit_group", broken)
    reply = client.post(f"/api/v1/sessions/{live_session.slug}/questions",
                        json={"text": "这里出了个错会怎样？", "client_id": str(uuid.uuid4())})
    assert reply.status_code == 500 and reply.get_json()["error"] == "server_error"


def test_voting_while_redis_is_down_says_try_again(app, client, live_session, make_question,
                                                   monkeypatch):
    import redis

    from qa_live.core import ratelimit
    from qa_live.live.models import QuestionStatus

    question = make_question(live_session)
    live.set_question_status(question, QuestionStatus.APPROVED)
    db.session.commit()

    def down(*_args, **_kwargs):  # the vote limit lives in Redis (RATELIMIT_STORAGE_URI)
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr(ratelimit, "allow", down)
    page = citizen(app, live_session)
    assert _join(page, live_session)["ok"]
    ack = page.emit("vote", {"question_id": question.id}, namespace="/qa", callback=True)
    assert ack["ok"] is False and ack["error"] == "unavailable"
    reply = client.post(f"/api/v1/sessions/{live_session.slug}/questions/{question.id}/vote",
                        json={})
    assert reply.status_code == 503 and reply.get_json()["error"] == "unavailable"
