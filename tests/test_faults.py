"""Faults in the multi-worker deployment, with real processes: two gevent workers on PostgreSQL
and Redis behind nginx running deploy/nginx.conf (tests/fault_stack.py), citizens speaking the
documented protocol over raw WebSockets (tests/sio_client.py).

Each test breaks something in the middle of a live session and counts what a citizen and the
office would notice: questions acknowledged and stored, events missed, duplicated, seconds until
the pages were whole again. The counts are printed (``-s`` shows them; docs/deployment.md quotes
them). Timing is never asserted, only outcomes, with generous limits for a loaded machine.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.fault_stack import STAFF_PASSWORD, Stack, running_stack, wait_until
from tests.live_server import new_desktop_context, new_phone_context, screenshot
from tests.sio_client import Citizen, Console, staff_cookie

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

HEAL_LIMIT_S = 30.0  # a page must be whole again well within this (the target is 5 s)
#: What Chromium logs while a server is away (socket.io keeps trying); expected, not a fault.
_OUTAGE_NOISE = re.compile(r"ERR_CONNECTION_REFUSED|WebSocket connection|ERR_EMPTY_RESPONSE|"
                           r"status of 50[23]")


def report(name: str, **counts: object) -> None:
    """Print what a fault test counted, one line, for the log and docs/deployment.md."""
    print(f"\nFAULT {name}: " + ", ".join(f"{k}={v}" for k, v in counts.items()), flush=True)


# Shorter than the defaults (2 s, 15 s, 10 s) so a dead worker is found within the test's time;
# the same code runs.
FAST = {"HEARTBEAT_INTERVAL_S": "1", "WORKER_DEAD_AFTER_S": "8", "LEADER_LEASE_S": "4"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One deployment for the module; each test leaves it running and whole."""
    with running_stack(tmp_path_factory.mktemp("faults"), FAST) as running:
        yield running


class Activity:
    """A live session going on: citizens asking in turn, staff answering through both workers.

    Counts what was acknowledged: question ids per client_id (in the citizens), answer ids.
    """

    def __init__(self, stack: Stack, session_id: int, citizens: list[Citizen],
                 askers: int = 3, pause: float = 0.15) -> None:
        self.stack = stack
        self.session_id = session_id
        self.citizens = citizens
        self.pause = pause
        self.stop = threading.Event()
        self.answers: list[int] = []
        self.answer_failures = 0
        self.asks = 0
        self.lock = threading.Lock()
        groups = [citizens[k::askers] for k in range(askers)]
        self.threads = [threading.Thread(target=self._ask, args=(g,), daemon=True)
                        for g in groups if g]
        self.threads.append(threading.Thread(target=self._answer, daemon=True))
        for thread in self.threads:
            thread.start()

    def _ask(self, group: list[Citizen]) -> None:
        n = 0
        while not self.stop.is_set():
            for citizen in group:
                if self.stop.is_set():
                    break
                if citizen.stopped or not citizen.joined.is_set():
                    continue
                n += 1
                citizen.ask(f"第 {n} 个问题：故障演练中提问会不会丢失？")
                with self.lock:
                    self.asks += 1
            time.sleep(self.pause)

    def _answer(self) -> None:
        answered: set[int] = set()
        turn = 0
        while not self.stop.is_set():
            acked = {qid for c in self.citizens for qid in list(c.acked.values())}
            todo = sorted(acked - answered)[:2]
            for qid in todo:
                turn += 1
                worker = self.stack.workers[turn % 2]
                try:
                    reply = self.stack.api(
                        "POST", f"/staff/sessions/{self.session_id}/actions/answer",
                        base=worker.url, json={"question_id": qid, "body": f"答复 {qid}"},
                        timeout=10)
                except Exception:
                    self.answer_failures += 1
                    continue
                if reply.status_code == 200:
                    answered.add(qid)
                    self.answers.append(reply.json()["answer_id"])
                else:
                    self.answer_failures += 1
            time.sleep(self.pause)

    def finish(self) -> None:
        """Stop asking and answering; wait for the threads."""
        self.stop.set()
        for thread in self.threads:
            thread.join(30)


def _acknowledged_stored(stack: Stack, session_id: int,
                         citizens: list[Citizen]) -> dict[str, int]:
    """Every acknowledged question in the database, once per client_id?"""
    acked = {cid: qid for c in citizens for cid, qid in c.acked.items()}
    rows = stack.sql("SELECT id, client_id FROM questions WHERE session_id = %s", session_id)
    stored = {str(cid): qid for qid, cid in rows}
    per_client = {}
    for _qid, cid in rows:
        per_client[cid] = per_client.get(cid, 0) + 1
    return {
        "acknowledged": len(acked),
        "stored": sum(1 for cid, qid in acked.items() if stored.get(cid) == qid),
        "questions_twice": sum(1 for n in per_client.values() if n > 1),
        "unacknowledged_left": sum(len(c.pending) for c in citizens),
    }


def _visits(stack: Stack, session_id: int) -> dict[str, int]:
    (total, open_now), = stack.sql(
        "SELECT count(*), count(*) FILTER (WHERE ended_at IS NULL) FROM visits "
        "WHERE session_id = %s", session_id)
    (peak,), = stack.sql("SELECT peak_online FROM live_sessions WHERE id = %s", session_id)
    return {"visits": total, "online": open_now, "peak": peak}


def _citizens(stack: Stack, slug: str, count: int, first: int = 1) -> list[Citizen]:
    """Citizens through nginx, each from its own address (nginx spreads them by address)."""
    return [Citizen(stack.url, slug, source_ip=f"127.0.{k}.1") for k in range(first, first + count)]


def _post(stack: Stack, session_id: int, body: str, base: str) -> bool:
    """A host notice published through one worker; True when acknowledged."""
    try:
        reply = stack.api("POST", f"/staff/sessions/{session_id}/actions/post", base=base,
                          json={"kind": "notice", "body": body})
    except Exception:  # a refused connection is not an acknowledgement
        return False
    return reply.status_code == 200


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}"


def _stream_counts(citizens: list[Citizen], last: int) -> dict[str, int]:
    missing = twice = behind = 0
    for citizen in citizens:
        gaps, doubles = citizen.stream_faults()
        missing += len(gaps)
        twice += len(doubles)
        behind += 0 if citizen.caught_up_to(last) else 1
    return {"missing": missing, "applied_twice": twice, "pages_behind": behind}


def test_redis_restart_pages_heal_the_gap_by_themselves(stack: Stack) -> None:
    session_id, slug = stack.new_live_session("Redis 重启")
    first, second = stack.workers
    citizens = _citizens(stack, slug, 8)
    console = Console(second.url, staff_cookie(second.url, "host", STAFF_PASSWORD), session_id)
    try:
        assert all(c.joined.wait(15) for c in citizens)
        published = 0
        for k in range(6):  # a normal start: everyone hears everything
            published += _post(stack, session_id, f"通知 {k}", (first, second)[k % 2].url)
        # The last event of the outage goes through the worker holding fewer of the pages: the
        # others miss it, and no later event of their own worker shows them the hole.
        quiet = min(stack.workers, key=lambda w: w.connections())
        busy = second if quiet is first else first
        stack.services.down("redis")
        down_at = time.monotonic()
        for k in range(6, 14):  # meanwhile each worker publishes half of them
            published += _post(stack, session_id, f"通知 {k}", (busy, quiet)[k % 2].url)
        # A page that sees a later event of its own worker notices a hole and replays it; the
        # event after the others, alone, is the one only the heartbeat can tell it about.
        time.sleep(3)
        published += _post(stack, session_id, "通知 14", quiet.url)
        last = stack.last_seq(session_id)
        # Nothing more is published: the pages must notice the hole and fill it by themselves,
        # from the database, even before Redis is back.
        healed = wait_until(lambda: all(c.caught_up_to(last) for c in citizens), HEAL_LIMIT_S)
        counts = _stream_counts(citizens, last)
        noticed = sum(1 for c in citizens if c.rejoins_for_gap)
        time.sleep(max(0.0, 6.0 - (time.monotonic() - down_at)))
        stack.services.up("redis")
        up_at = time.monotonic()
        # Broadcasts resume through Redis: new events reach every page live, from both workers.
        for k in range(15, 21):
            published += _post(stack, session_id, f"通知 {k}", (first, second)[k % 2].url)
        final = stack.last_seq(session_id)
        resumed = wait_until(lambda: all(c.caught_up_to(final) for c in citizens), HEAL_LIMIT_S)
        after = _stream_counts(citizens, final)
        service = [data for _at, data in console.named("service")]
        report("redis_restart", published_acknowledged=published, events=final,
               pages=len(citizens), pages_per_worker=[w.connections() for w in stack.workers],
               pages_that_missed_events=noticed,
               seconds_to_heal_after_last_event=_seconds(healed),
               broadcasts_resumed_s_after_redis_back=_seconds(
                   None if resumed is None else time.monotonic() - up_at),
               missing=after["missing"], applied_twice=after["applied_twice"],
               console_service_events=[d.get("message_queue") for d in service])
        assert published == 21
        assert healed is not None, (
            f"pages still behind without a new event: {counts}; "
            + "; ".join(f"last_seq={c.last_seq} heard={c.heard_ahead} beats={c.heartbeats}"
                        for c in citizens))
        assert counts["missing"] == 0 and counts["applied_twice"] == 0, counts
        assert resumed is not None, f"broadcasts did not resume: {after}"
        assert after == {"missing": 0, "applied_twice": 0, "pages_behind": 0}
        # The operator sees the outage: a line when it broke and one when it came back, with
        # the time, in each worker's log; and a banner in the console (a `service` event).
        # "Back" is said once every worker's subscription is whole again, which may come a few
        # seconds after the broadcasts that were measured above: wait for it.
        for worker in stack.workers:
            deadline = time.monotonic() + 40
            log = worker.log()
            while (not re.search(r"\d\d:\d\d:\d\d.*message queue.*back at", log)
                   and time.monotonic() < deadline):
                time.sleep(0.5)
                log = worker.log()
            assert re.search(r"\d\d:\d\d:\d\d.*message queue.*failing since", log), log[-3000:]
            assert re.search(r"\d\d:\d\d:\d\d.*message queue.*back at", log), log[-3000:]
        states = [d.get("message_queue") for d in service]
        assert "down" in states and states[-1] == "up", states
    finally:
        console.close()
        for citizen in citizens:
            citizen.hang_up()


def test_kill_9_of_a_worker_loses_no_acknowledged_question_and_its_pages_move(
        stack: Stack) -> None:
    session_id, slug = stack.new_live_session("进程被杀")
    gone: list[Citizen] = []

    def first_three_close(citizen: Citizen) -> bool:  # three phones close when the worker dies
        if len(gone) < 3:
            gone.append(citizen)
            return True
        return False

    citizens = [Citizen(stack.url, slug, source_ip=f"127.0.{k}.1", vanish=first_three_close)
                for k in range(20, 32)]
    assert all(c.joined.wait(15) for c in citizens)
    assert wait_until(lambda: sum(w.connections() for w in stack.workers) >= 12, 15)
    victim = max(stack.workers, key=lambda w: w.connections())
    on_victim = victim.connections()
    activity = Activity(stack, session_id, citizens)
    late: list[Citizen] = []
    try:
        time.sleep(3)
        victim.kill9()
        killed_at = time.monotonic()
        # Four citizens arrive after the crash, before anyone could have noticed it.
        late = [Citizen(stack.url, slug, source_ip=f"127.0.{k}.1") for k in range(40, 44)]
        time.sleep(4)
        activity.finish()
        moved = [c for c in citizens if c.drops and not c.vanished]
        assert wait_until(lambda: all(c.joined.is_set() for c in moved + late), 30)
        for citizen in moved + late:  # what waited for an acknowledgement goes again
            citizen.retry_pending()
        staying = [c for c in citizens + late if not c.vanished]
        final = stack.last_seq(session_id)
        whole = wait_until(lambda: all(c.caught_up_to(final) for c in staying), HEAL_LIMIT_S)
        stream = _stream_counts(staying, final)
        questions = _acknowledged_stored(stack, session_id, citizens + late)
        answers_stored = stack.sql(
            "SELECT count(*) FROM answers WHERE id = ANY(%s)", activity.answers)[0][0]
        # The dead worker's visits: closed by a survivor within a bounded time, the reconnected
        # citizens' visits continued (the same 人次), the peak exact.
        truth = {"visits": len(citizens) + len(late), "online": len(staying),
                 "peak": max(len(citizens), len(staying))}
        swept = wait_until(lambda: _visits(stack, session_id) == truth, 40)
        seen = _visits(stack, session_id)
        report("kill_9", citizens=len(citizens), on_killed_worker=on_victim,
               reconnected_to_other_worker=len(moved), phones_closed=len(gone),
               seconds_to_reconnect=_seconds(max((max(c.back_after, default=0) for c in moved),
                                                 default=None)),
               asks_sent=activity.asks, **questions,
               answers_acknowledged=len(activity.answers), answers_stored=answers_stored,
               events=final, **stream,
               dead_visits_closed_after_s=_seconds(
                   None if swept is None else time.monotonic() - killed_at),
               visits=seen["visits"], online=seen["online"], peak=seen["peak"],
               truth=truth)
        assert moved, "no citizen was on the killed worker"
        assert questions["acknowledged"] > 0
        assert questions["stored"] == questions["acknowledged"], questions
        assert questions["questions_twice"] == 0
        assert answers_stored == len(activity.answers)
        assert whole is not None, stream
        assert stream == {"missing": 0, "applied_twice": 0, "pages_behind": 0}
        assert seen == truth, f"visits {seen} != the count from scratch {truth}"
        log = "\n".join(w.log() for w in stack.workers if w is not victim)
        assert re.search(r"worker \w+ .* is gone: \d+ of its pages taken off", log), log[-3000:]
    finally:
        activity.finish()
        for citizen in citizens + late:
            citizen.hang_up()
        if victim.process is not None and victim.process.poll() is not None:
            victim.start()


def _ask_api(base: str, slug: str, cookie: str, client_id: str) -> tuple[int, dict]:
    try:
        reply = requests.post(f"{base}/api/v1/sessions/{slug}/questions", timeout=15,
                              headers={"Cookie": cookie},
                              json={"text": "数据库停了还能提问吗？", "client_id": client_id})
    except requests.RequestException as exc:
        return 0, {"error": type(exc).__name__}
    try:
        return reply.status_code, reply.json()
    except ValueError:
        return reply.status_code, {"error": reply.text[:200]}


def test_postgresql_down_for_10_s_asking_says_try_again_and_works_after(stack: Stack) -> None:
    session_id, slug = stack.new_live_session("数据库重启")
    citizens = _citizens(stack, slug, 4, first=60)
    assert all(c.joined.wait(15) for c in citizens)
    cookie = citizens[0].cookie
    socket_answers: dict[str, int] = {}
    api_answers: dict[str, int] = {}
    tried: list[str] = []
    try:
        stack.services.down("postgres")
        down_at = time.monotonic()
        while time.monotonic() - down_at < 10:
            for citizen in citizens:
                ack = citizen.ask("数据库停了还能提问吗？")
                key = "ok" if ack and ack.get("ok") else (ack or {}).get("error", "no answer")
                socket_answers[key] = socket_answers.get(key, 0) + 1
            for worker in stack.workers:
                client_id = str(uuid.uuid4())
                tried.append(client_id)
                status, body = _ask_api(worker.url, slug, cookie, client_id)
                key = f"{status} {body.get('error')}"
                api_answers[key] = api_answers.get(key, 0) + 1
            time.sleep(1)
        # What the operator watches says so on every worker (docs/deployment.md, "Watching it").
        during = {w.name: requests.get(f"{w.url}/readyz", timeout=10) for w in stack.workers}
        metrics_during = {w.name: requests.get(f"{w.url}/metrics", timeout=10).text
                          for w in stack.workers}
        stack.services.up("postgres")
        up_at = time.monotonic()
        # Without restarting anything, each worker takes questions again.
        back = {}
        for worker in stack.workers:
            client_id = str(uuid.uuid4())
            back[worker.name] = wait_until(
                lambda w=worker, cid=client_id: _ask_api(w.url, slug, cookie, cid)[0] == 201, 30,
                interval=0.5)
        recovered_s = time.monotonic() - up_at
        for citizen in citizens:  # what the pages kept ("try again") goes now
            citizen.retry_pending()
        questions = _acknowledged_stored(stack, session_id, citizens)
        stored_api = stack.sql("SELECT count(*) FROM questions WHERE client_id = ANY(%s)",
                               tried)[0][0]
        logs = "\n".join(w.log() for w in stack.workers)
        report("postgres_down_10s", socket_asks=socket_answers, api_asks=api_answers,
               acknowledged_during_outage=socket_answers.get("ok", 0)
               + sum(n for k, n in api_answers.items() if k.startswith(("200", "201"))),
               stored_from_outage_api_asks=stored_api,
               asking_again_after_s=f"{recovered_s:.1f}", kept_and_sent_after=questions,
               tracebacks_in_logs=logs.count("Traceback"))
        assert set(socket_answers) == {"unavailable"}, socket_answers
        assert {k for k in api_answers} == {"503 unavailable"}, api_answers
        assert stored_api == 0
        assert all(v is not None for v in back.values()), back
        # Each question the pages kept is stored once, now.
        assert questions["stored"] == questions["acknowledged"] == socket_answers["unavailable"]
        assert questions["unacknowledged_left"] == 0 and questions["questions_twice"] == 0
        assert "Traceback" not in logs, logs[-4000:]
        for name, ready in during.items():
            assert ready.status_code == 503, (name, ready.text)
            assert ready.json()["checks"]["database"]["ok"] is False
            assert 'qa_live_failing{what="database"} 1.0' in metrics_during[name]
        for worker in stack.workers:  # ready again once the database answers
            assert wait_until(lambda w=worker: requests.get(f"{w.url}/readyz", timeout=10)
                              .status_code == 200, 15), worker.name
        for worker in stack.workers:  # "back" comes with the worker's next heartbeat
            assert wait_until(lambda w=worker: re.search(r"\d\d:\d\d:\d\d.*database back at",
                                                         w.log()), 15), worker.log()[-3000:]
            log = worker.log()
            assert re.search(r"\d\d:\d\d:\d\d.*database failing since", log), log[-3000:]
    finally:
        for citizen in citizens:
            citizen.hang_up()


def test_every_worker_restarted_in_turn_loses_nothing_and_pages_resume(stack: Stack) -> None:
    session_id, slug = stack.new_live_session("滚动重启")
    citizens = _citizens(stack, slug, 10, first=80)
    assert all(c.joined.wait(15) for c in citizens)
    activity = Activity(stack, session_id, citizens)
    try:
        for worker in stack.workers:
            time.sleep(2)
            worker.stop()  # SIGTERM, as systemctl restart
            worker.start()
        time.sleep(2)
        activity.finish()
        assert wait_until(lambda: all(c.joined.is_set() for c in citizens), 30), [
            (c.drops, c.connects, c.reconnect_errors[-3:]) for c in citizens
            if not c.joined.is_set()]
        for citizen in citizens:
            citizen.retry_pending()
        final = stack.last_seq(session_id)
        whole = wait_until(lambda: all(c.caught_up_to(final) for c in citizens), HEAL_LIMIT_S)
        stream = _stream_counts(citizens, final)
        questions = _acknowledged_stored(stack, session_id, citizens)
        answers_stored = stack.sql(
            "SELECT count(*) FROM answers WHERE id = ANY(%s)", activity.answers)[0][0]
        truth = {"visits": len(citizens), "online": len(citizens), "peak": len(citizens)}
        settled = wait_until(lambda: _visits(stack, session_id) == truth, 20)
        seen = _visits(stack, session_id)
        report("rolling_restart", citizens=len(citizens),
               reconnects=sum(c.drops for c in citizens),
               seconds_to_reconnect=_seconds(max((max(c.back_after, default=0)
                                                  for c in citizens), default=None)),
               asks_sent=activity.asks, **questions,
               answers_acknowledged=len(activity.answers), answers_stored=answers_stored,
               events=final, **stream, **seen)
        assert questions["stored"] == questions["acknowledged"] > 0, questions
        assert questions["questions_twice"] == 0 and questions["unacknowledged_left"] == 0
        assert answers_stored == len(activity.answers)
        assert whole is not None and stream == {"missing": 0, "applied_twice": 0,
                                                "pages_behind": 0}, stream
        assert settled is not None, f"visits {seen} != {truth}"
    finally:
        activity.finish()
        for citizen in citizens:
            citizen.hang_up()


def test_a_citizen_who_reconnects_to_the_other_worker_continues_the_same_visit(
        stack: Stack) -> None:
    session_id, slug = stack.new_live_session("换了进程")
    first, second = stack.workers
    cookie = Citizen(first.url, slug, reconnect=False)
    try:
        assert cookie.joined.wait(15)
    finally:
        cookie.hang_up()
    again = Citizen(second.url, slug, cookie=cookie.cookie, reconnect=False)
    try:
        assert again.joined.wait(15)
        settled = wait_until(lambda: _visits(stack, session_id)["online"] == 1, 15)
        seen = _visits(stack, session_id)
        report("reconnect_to_other_worker", **seen)
        assert settled is not None and seen == {"visits": 1, "online": 1, "peak": 1}, seen
    finally:
        again.hang_up()


def test_each_console_hears_one_summary_per_interval_whatever_the_workers(stack: Stack) -> None:
    session_id, slug = stack.new_live_session("汇总一次")
    first, second = stack.workers
    console = Console(first.url, staff_cookie(first.url, "host", STAFF_PASSWORD), session_id)
    pages: list[Citizen] = []
    try:
        began = time.monotonic()
        k = 0
        while time.monotonic() - began < 6:  # citizens arrive through both workers all along
            k += 1
            pages.append(Citizen((first, second)[k % 2].url, slug, reconnect=False))
            time.sleep(0.25)
        window = time.monotonic() - began
        time.sleep(1.5)
        heard = [at for at, _data in console.named("counts") if at >= began]
        last = console.named("counts")[-1][1] if console.named("counts") else {}
        report("summaries_once", window_s=f"{window:.1f}", counts_heard=len(heard),
               joins=len(pages), last_online=last.get("online"))
        # One summary per SUMMARY_INTERVAL_S (1 s) at most; each worker sending its own would
        # be about two per second here.
        assert 1 <= len(heard) <= window + 2, heard
        assert last.get("online") == len(pages)
    finally:
        console.close()
        for page in pages:
            page.hang_up()


@pytest.mark.browser
def test_in_chromium_the_page_heals_a_missed_event_and_says_try_again(stack: Stack,
                                                                     browser) -> None:
    """The real page and console through nginx: a broker outage, then a database outage."""
    session_id, slug = stack.new_live_session("浏览器里的故障")
    phone, phone_watch = new_phone_context(browser, stack.url)
    desk, desk_watch = new_desktop_context(browser, stack.url)
    try:
        before = [w.connections() for w in stack.workers]
        page = phone_watch.attach(phone.new_page())
        page.goto(f"/s/{slug}")
        page.wait_for_function("() => window.qaStream && window.qaStream.ready")
        console = desk_watch.attach(desk.new_page())
        console.goto("/login")
        console.get_by_label("登录名").fill("host")
        console.get_by_label("密码").fill(STAFF_PASSWORD)
        console.get_by_role("button", name="登录").click()
        console.wait_for_load_state()
        console.goto(f"/console/{slug}")
        console.locator("#console[data-ready='true']").wait_for()
        grew = [w.connections() - b for w, b in zip(stack.workers, before, strict=True)]
        here = stack.workers[grew.index(max(grew))]  # where nginx put this browser
        other = next(w for w in stack.workers if w is not here)
        page.evaluate("window.notReloaded = true")

        # Redis stops; a notice published through the other worker does not reach the page,
        # and nothing is published after it. The console shows the outage.
        stack.services.down("redis")
        time.sleep(1)
        assert _post(stack, session_id, "只经另一个进程发布的通知", other.url)
        began = time.monotonic()
        page.locator(".post-body", has_text="只经另一个进程发布的通知").wait_for(timeout=20_000)
        healed_s = time.monotonic() - began
        assert page.evaluate("window.notReloaded") is True  # healed in place, no reload
        banner = console.locator("#service-banner")
        banner.wait_for(state="visible", timeout=15_000)
        assert banner.get_attribute("data-kind") == "warn"
        stack.services.up("redis")
        console.wait_for_function(
            "() => document.getElementById('service-banner').dataset.kind !== 'warn'",
            timeout=30_000)

        # PostgreSQL stops: asking says "try again" and keeps the question; it goes by itself
        # once the database is back, without a reload.
        unavailable = page.evaluate(
            "() => JSON.parse(document.getElementById('live-config').textContent).t.unavailable")
        stack.services.down("postgres")
        page.locator("#ask-form textarea[name='text']").fill("数据库重启的时候我的问题会丢吗？")
        page.locator("#ask-submit").click()
        page.locator("#ask-status", has_text=unavailable).wait_for(timeout=20_000)
        stack.services.up("postgres")
        page.locator("#my-list .mine-item:not(.is-sending)",
                     has_text="数据库重启的时候我的问题会丢吗？").wait_for(timeout=30_000)
        stored = stack.sql("SELECT count(*) FROM questions WHERE session_id = %s "
                           "AND text = %s", session_id, "数据库重启的时候我的问题会丢吗？")
        assert page.evaluate("window.notReloaded") is True
        report("browser", page_healed_missed_event_s=f"{healed_s:.1f}",
               question_kept_through_db_outage_stored=stored[0][0])
        assert stored[0][0] == 1
        screenshot(console, "faults-console-after-outages")
    finally:
        for watch in (phone_watch, desk_watch):
            # socket.io retrying while a server is away is expected, not a fault
            watch.console_errors = [e for e in watch.console_errors
                                    if not _OUTAGE_NOISE.search(e)]
        phone.close()
        desk.close()
    phone_watch.assert_clean()
    desk_watch.assert_clean()
