"""SQLite under contention: one real gevent server on its default database, 50 writers at once.

Citizens ask and vote over the documented socket protocol and staff answer through the API,
all released together; nobody may get "database is locked", a server error or "try again".
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from tests.live_server import LiveServer, start_live_server  # noqa: F401 - fixture
from tests.sio_client import Citizen

pytestmark = [pytest.mark.slow]

SESSION = "demo-11"  # the demo's live session (pre-moderated: questions wait for review)
ROUNDS = 4


def test_fifty_writers_at_once_never_meet_a_locked_database(start_live_server) -> None:
    server: LiveServer = start_live_server(demo=True, env={
        "QUESTION_MIN_INTERVAL_S": "0", "QUESTION_MAX_PER_VISITOR": "100"})
    token = server.flask("api", "token", "host").stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    published = requests.get(f"{server.url}/api/v1/sessions/{SESSION}/stream",
                             timeout=20).json()["snapshot"]
    session_id = published["session"]["id"]
    question_ids = [q["id"] for q in published["questions"]]
    assert len(question_ids) >= ROUNDS

    askers = [Citizen(server.url, SESSION, reconnect=False) for _ in range(25)]
    voters = [Citizen(server.url, SESSION, reconnect=False) for _ in range(15)]
    assert all(c.joined.wait(20) for c in askers + voters)
    outcomes: Counter[str] = Counter()
    texts: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def note(what: str, result: str) -> None:
        with lock:
            outcomes[f"{what} {result}"] += 1
            if "lock" in result:
                texts.append(result)

    def ask(citizen: Citizen) -> None:
        start.wait()
        for k in range(ROUNDS):
            ack = citizen.ask(f"并发写入测试：第 {k} 个问题，会不会锁库？")
            note("ask", "ok" if ack and ack.get("ok") else str((ack or {}).get("error")))

    def vote(citizen: Citizen) -> None:
        start.wait()
        for question_id in question_ids[:ROUNDS]:
            assert citizen.sock is not None
            ack = citizen.sock.call("vote", {"question_id": question_id})
            result = "ok" if ack and ack.get("ok") else str((ack or {}).get("error"))
            note("vote", "ok" if result == "already_voted" else result)

    def answer(n: int) -> None:
        start.wait()
        for question_id in question_ids[:ROUNDS]:
            reply = requests.post(
                f"{server.url}/api/v1/staff/sessions/{session_id}/actions/answer",
                headers=headers, timeout=30,
                json={"question_id": question_id, "body": f"第 {n} 位值班员的补充答复。"})
            note("answer", "ok" if reply.status_code == 200 else f"{reply.status_code} "
                 f"{reply.text[:120]}")

    threads = ([threading.Thread(target=ask, args=(c,)) for c in askers]
               + [threading.Thread(target=vote, args=(c,)) for c in voters]
               + [threading.Thread(target=answer, args=(n,)) for n in range(10)])
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    took = time.monotonic() - began
    log = server.output()
    for citizen in askers + voters:
        citizen.hang_up()
    stored = sum(len(c.acked) for c in askers)
    print(f"\nFAULT sqlite_contention: writers=50, seconds={took:.1f}, "
          + ", ".join(f"{k}={v}" for k, v in sorted(outcomes.items()))
          + f", questions_acknowledged={stored}, locked_in_log={log.count('locked')}",
          flush=True)
    assert outcomes == Counter({"ask ok": 25 * ROUNDS, "vote ok": 15 * ROUNDS,
                                "answer ok": 10 * ROUNDS}), (outcomes, texts)
    assert "database is locked" not in log, log[-4000:]
