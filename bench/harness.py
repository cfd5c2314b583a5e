"""`make bench` / `make bench-quick`: qa_live's live path next to bare reference servers.

    python bench/harness.py [--clients N] [--publishes P] [--servers a,b,...] [--config NAME]

For each server: start it, connect N citizens (bench/loadgen.py, one coroutine each) that join
the live session's room on /qa, then publish P messages one at a time and time each from just
before the publishing HTTP POST to its receipt at every citizen. Writes
bench/results/<date>-<config>.json with a flat list of records under "runs".

Servers:

* ``qa_live``: wsgi.py under gevent on a fresh SQLite database with ``flask demo load``; the
  publisher is the staff API (``POST /api/v1/staff/sessions/<id>/actions/answer`` with a token
  from ``flask api token host``), citizens join ``demo-11`` with one visitor cookie.
* ``python-socketio-gevent`` / ``python-socketio-eventlet``: bench/relay_gevent.py,
  bench/relay_eventlet.py (``POST /publish``).
* ``node-socketio``: bench/node/server.js (needs ``npm ci --prefix bench/node``).

Scenarios recorded: ``connect`` (TCP open to join ack, per citizen), ``fanout`` (publish to
receipt, per citizen and message; server CPU per delivered message from /proc/<pid>/stat) with
the memory figure (server RSS growth per connected citizen) on the fanout record.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import Tally, citizen

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PYTHON = sys.executable
SLUG = "demo-11"
SERVERS = ("qa_live", "python-socketio-gevent", "python-socketio-eventlet", "node-socketio")
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
HTTP = requests.Session()
HTTP.trust_env = False  # never through a proxy


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def rss_kb(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


@dataclass
class Target:
    """A started server: where it listens, how to publish to it, how to stop it."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    headers: dict[str, str] = field(default_factory=dict)
    publish_url: str = ""
    publish_headers: dict[str, str] = field(default_factory=dict)
    question_ids: list[int] = field(default_factory=list)
    workdir: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def publish(self, k: int) -> None:
        marker = f"bch#{k}#"
        if self.name == "qa_live":
            question = self.question_ids[k % len(self.question_ids)]
            body = {"question_id": question,
                    "body": f"基准测试答复 {marker} " + "这是一条用于压力测试的答复。" * 8}
        else:
            body = {"room": f"s:{SLUG}", "event": "event", "data": relay_envelope(k, marker)}
        response = HTTP.post(self.publish_url, json=body, headers=self.publish_headers,
                             timeout=60)
        response.raise_for_status()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def relay_envelope(k: int, marker: str) -> dict[str, Any]:
    """An envelope shaped and sized like qa_live's answered-question event (about 1.5 KB)."""
    answer = {"id": 100000 + k, "question_id": 1, "kind": "live",
              "body": f"基准测试答复 {marker} " + "这是一条用于压力测试的答复。" * 8,
              "department": "市住房和城乡建设局", "created_at": "2026-11-29T06:00:00+00:00",
              "updated_at": "2026-11-29T06:00:00+00:00"}
    question = {"id": 1, "text": "请问老旧小区加装电梯的补贴标准和申请流程是什么？" * 3,
                "nickname": "市民", "source": "live", "status": "answered",
                "department": "市住房和城乡建设局", "upvotes": 12, "pinned": False,
                "needs_follow_up": False, "created_at": "2026-11-29T05:40:00+00:00",
                "published_at": "2026-11-29T05:41:00+00:00",
                "answered_at": "2026-11-29T06:00:00+00:00", "answers": [answer, answer]}
    return {"seq": k + 1, "type": "question", "data": question}


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if HTTP.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start_qa_live(log: Path) -> Target:
    workdir = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOCKETIO_", "RATELIMIT_", "FLASK_"))}
    env.update(
        HOST="127.0.0.1", PORT=str(port), SOCKETIO_ASYNC_MODE="gevent",
        QA_LIVE_INSTANCE_DIR=str(workdir), DATABASE_URL=f"sqlite:///{workdir / 'qa.sqlite3'}",
        SECRET_KEY=secrets.token_hex(32), FLASK_APP="qa_live", PYTHONUNBUFFERED="1",
        # Every simulated citizen comes from 127.0.0.1: lift the per-address limits
        # (one address would otherwise be capped at 1,000 sockets and 600 events / 10 s).
        CITIZEN_CONNECTIONS_PER_IP="0", SOCKET_IP_EVENT_RATE_LIMIT="1000000/10 seconds",
    )

    def flask(*args: str) -> str:
        done = subprocess.run([PYTHON, "-m", "flask", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, check=False, timeout=300)
        if done.returncode:
            raise RuntimeError(f"flask {' '.join(args)}: {done.stderr[-2000:]}")
        return done.stdout

    flask("db", "upgrade")
    flask("demo", "load")
    token = flask("api", "token", "host", "--name", "bench").strip().splitlines()[-1]
    with open(log, "ab") as out:
        process = subprocess.Popen([PYTHON, str(ROOT / "wsgi.py")], cwd=ROOT, env=env,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    target = Target("qa_live", process, port, workdir=workdir)
    wait_http(target.base + "/", process)
    page = HTTP.get(f"{target.base}/s/{SLUG}", timeout=10)
    cookie = "; ".join(f"{c.name}={c.value}" for c in HTTP.cookies)
    HTTP.cookies.clear()
    if "qa_visitor" not in cookie:
        raise RuntimeError(f"GET /s/{SLUG} set no visitor cookie ({page.status_code})")
    target.headers = {"Cookie": cookie, "Origin": target.base}
    info = HTTP.get(f"{target.base}/api/v1/sessions/{SLUG}", timeout=10).json()
    session_id = info["session"]["id"]
    snap = HTTP.get(f"{target.base}/api/v1/sessions/{SLUG}/stream", timeout=10).json()
    questions = snap["snapshot"]["questions"]
    target.question_ids = [q["id"] for q in questions] or [1]
    target.publish_url = f"{target.base}/api/v1/staff/sessions/{session_id}/actions/answer"
    target.publish_headers = {"Authorization": f"Bearer {token}"}
    return target


def start_reference(name: str, log: Path) -> Target:
    port = free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), PYTHONUNBUFFERED="1")
    if name == "node-socketio":
        if not (BENCH / "node" / "node_modules" / "socket.io").exists():
            raise RuntimeError("bench/node/node_modules missing: run npm ci --prefix bench/node")
        command = ["node", str(BENCH / "node" / "server.js")]
    else:
        script = "relay_gevent.py" if name.endswith("gevent") else "relay_eventlet.py"
        command = [PYTHON, str(BENCH / script)]
    with open(log, "ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=out)
    target = Target(name, process, port)
    target.headers = {"Origin": target.base}
    target.publish_url = f"{target.base}/publish"
    wait_http(target.base + "/", process)
    return target


async def measure(target: Target, clients: int, publishes: int, config: str,
                  gap: float, wait_s: float, join_wait: float) -> list[dict[str, Any]]:
    pid = target.process.pid
    await asyncio.sleep(0.5)
    rss_before = rss_kb(pid)
    tally = Tally(expected_clients=clients)
    gate = asyncio.Semaphore(64)
    started = time.perf_counter()
    tasks = [asyncio.create_task(citizen("127.0.0.1", target.port, "/qa", SLUG, target.headers,
                                         tally, gate, join_timeout=join_wait))
             for _ in range(clients)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tally.all_joined.wait(), timeout=join_wait)
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(1.0)  # let the server settle (qa_live: the counts summary)
    rss_after = rss_kb(pid)
    tally.fanout_started = True
    joined = tally.joined
    print(f"  {target.name}: {joined}/{clients} joined in {connect_seconds:.1f} s, "
          f"failures {tally.failures} {tally.errors or ''}", flush=True)

    published: dict[int, float] = {}
    cpu_before = cpu_ticks(pid)
    fan_started = time.perf_counter()
    for k in range(publishes):
        published[k] = time.perf_counter()
        await asyncio.to_thread(target.publish, k)
        deadline = time.perf_counter() + wait_s
        while len(tally.receipts.get(k, ())) < joined and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        await asyncio.sleep(gap)
    fan_seconds = time.perf_counter() - fan_started
    cpu_after = cpu_ticks(pid)
    tally.stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)

    latencies = [(t - published[k]) * 1000 for k, times in tally.receipts.items()
                 if k in published for t in times]
    expected = joined * publishes
    delivered = len(latencies)
    cpu_us = (cpu_after - cpu_before) * 1_000_000 / TICK
    common = {"server": target.name, "config": config, "clients": clients}
    return [
        {"scenario": "connect", **common, "p50_ms": percentile(tally.connect_ms, 0.5),
         "p99_ms": percentile(tally.connect_ms, 0.99),
         "max_ms": round(max(tally.connect_ms), 2) if tally.connect_ms else None,
         "expected": clients, "delivered": joined, "failures": tally.failures,
         "lost": clients - joined - tally.failures, "errors": tally.errors,
         "joined_late": tally.late,
         "seconds": round(connect_seconds, 2)},
        {"scenario": "fanout", **common, "publishes": publishes,
         "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99),
         "max_ms": round(max(latencies), 2) if latencies else None,
         "expected": expected, "delivered": delivered, "failures": tally.failures,
         "lost": expected - delivered,
         "rss_kb_before": rss_before, "rss_kb_after": rss_after,
         "rss_kb_per_client": round((rss_after - rss_before) / joined, 1) if joined else None,
         "cpu_us_per_msg": round(cpu_us / delivered, 2) if delivered else None,
         "cpu_ms_total": round(cpu_us / 1000, 1), "message_bytes": tally.message_bytes,
         "other_events": tally.other_events, "seconds": round(fan_seconds, 2)},
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--publishes", type=int, default=20)
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--config", default="full")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between publishes")
    parser.add_argument("--wait", type=float, default=15.0,
                        help="seconds to wait for every citizen to receive one publish")
    parser.add_argument("--join-wait", type=float, default=600.0,
                        help="seconds to wait for every citizen to join before publishing")
    args = parser.parse_args()
    nofile = raise_nofile()
    if nofile < args.clients * 2 + 100:
        print(f"warning: open-files limit {nofile} is low for {args.clients} clients")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tmp").mkdir(exist_ok=True)
    log = RESULTS / "tmp" / f"{args.config}-servers.log"
    runs: list[dict[str, Any]] = []
    for name in args.servers.split(","):
        print(f"{name}: starting", flush=True)
        try:
            target = start_qa_live(log) if name == "qa_live" else start_reference(name, log)
        except RuntimeError as exc:
            print(f"  {name}: not run: {exc}", flush=True)
            runs.append({"scenario": "fanout", "server": name, "config": args.config,
                         "clients": args.clients, "skipped": str(exc)})
            continue
        try:
            records = asyncio.run(measure(target, args.clients, args.publishes, args.config,
                                          args.gap, args.wait, args.join_wait))
        finally:
            target.stop()
        for record in records:
            print(f"  {record['scenario']}: p50 {record['p50_ms']} ms, p99 {record['p99_ms']} "
                  f"ms, max {record['max_ms']} ms, delivered {record['delivered']}/"
                  f"{record['expected']}" + (f", {record['rss_kb_per_client']} KB RSS/client, "
                  f"{record['cpu_us_per_msg']} µs CPU/msg" if record["scenario"] == "fanout"
                                             else ""), flush=True)
        runs.extend(records)
    out = RESULTS / f"{dt.date.today().isoformat()}-{args.config}.json"
    out.write_text(json.dumps({
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "nofile": nofile},
        "clients": args.clients, "publishes": args.publishes, "runs": runs,
    }, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
