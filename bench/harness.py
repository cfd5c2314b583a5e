"""`make bench` / `make bench-quick`: qa_live's live path next to bare reference servers (issue 7).

    python bench/harness.py [--clients N] [--publishes P] [--servers a,b,...]
                            [--qa-live-configs gevent,eventlet,cluster] [--scenarios ...]
                            [--intake-rate R --intake-seconds S --step-rates ... --step-seconds S]
                            [--stats-questions Q --stats-databases sqlite,postgresql]
                            [--name NAME | --out PATH]

For each server (and each qa_live configuration): start it, connect N citizens (bench/loadgen.py,
one coroutine each, each with its own visitor cookie) that join the live session's room on /qa
(``connect``), then publish P messages one at a time and time each from just before the
publishing HTTP POST to its receipt at every citizen (``fanout``, with server CPU per delivered
message and server memory per citizen), then let the connected citizens ask questions at a steady
total rate while a staff console is connected (``intake``: ask→ack, ask→console, acknowledged vs
stored), and step the rate up to find the highest one held with p99 ask→ack under 100 ms. Then
``flood`` (bench/flood.py): a well-behaved citizen's answer delay with no flood and during each
kind of refused flood, on qa_live with its production limits. Last, ``stats``:
bench/stats_year.py on SQLite and on PostgreSQL, and ``search``: the archive's search
(bench/search_archive.py) on both. ``storm-pages`` (bench/storm_pages.py): new visitors load
the live page (no cookie, gzip), then join, beside Node's socket-only connect storm.

Writes bench/results/<date>-<name>.json (or --out) with a flat list of records under "runs";
docs/performance.md says what every field means.
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
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from flood import KINDS as FLOOD_KINDS
from flood import flood_env, run_flood
from loadgen import Tally, citizen, hang_up, intake, staff_console
from servers import (
    BENCH,
    PYTHON,
    RELAY_MESSAGE,
    ROOT,
    SLUG,
    TICK,
    Services,
    Target,
    start_qa_live,
    start_qa_live_cluster,
    start_reference,
    versions,
)
from shared_parts import ClusterProbe, delta
from storm_pages import address as storm_address
from storm_pages import pages_only, storm

RESULTS = BENCH / "results"
REFERENCES = ("python-socketio-gevent", "python-socketio-eventlet", "node-socketio")
SERVERS = ("qa_live", *REFERENCES)
QA_LIVE_CONFIGS = {"gevent": "1proc-sqlite-gevent", "eventlet": "1proc-sqlite-eventlet",
                   "cluster": "2workers-pg-redis-nginx"}
SCENARIOS = ("http", "connect", "fanout", "intake", "one-session", "flood", "stats", "search",
             "storm-pages")
FLOOD_CLIENTS = 500  # visitor cookies for the flood scenario's probe and flooders
HTTP_REQUESTS = 20
ACK_TARGET_MS = 100.0
STAGE_REST_S = 2.0  # between audience sizes: the server sees the last one's pages leave


NOFILE_WANTED = 65_536  # 20,000 citizens: their sockets here and the server's, plus nginx's


def raise_nofile() -> int:
    """Raise this process's (and so the servers') open-file limit: to NOFILE_WANTED if allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < NOFILE_WANTED:
        with contextlib.suppress(ValueError, OSError):  # only root may raise the hard limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE_WANTED, NOFILE_WANTED))
            return NOFILE_WANTED
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def spread(values: list[float], prefix: str = "") -> dict[str, float | None]:
    return {f"{prefix}min_ms": round(min(values), 2) if values else None,
            f"{prefix}p50_ms": percentile(values, 0.5), f"{prefix}p99_ms": percentile(values, 0.99),
            f"{prefix}max_ms": round(max(values), 2) if values else None}


def generator_cpu_ms() -> float:
    """CPU time (user + system) of this process, the load generator, in ms."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


def log(message: str) -> None:
    print(message, flush=True)


# Socket scenarios ---------------------------------------------------------------------------


def stored_questions(database_url: str, tag: int) -> set[int]:
    """The bench question numbers of run ``tag`` that are in qa_live's database."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT client_id FROM questions WHERE client_id LIKE :p"),
                                {"p": f"{tag:08x}-%"}).scalars().all()
    finally:
        engine.dispose()
    return {int(cid.rsplit("-", 1)[1], 16) for cid in rows}


async def run_intake(target: Target, tally: Tally, rate: float, seconds: float, first: int,
                     tag: int, phase: str, common: dict[str, Any],
                     settle: float) -> tuple[dict[str, Any], range]:
    probe = ClusterProbe(**target.cluster) if target.cluster else None
    shared_before = await asyncio.to_thread(probe.read) if probe else None
    cpu_before = target.cpu_ticks()
    own_before = generator_cpu_ms()
    events_before, dropped_before = tally.other_events, tally.dropped
    began = time.perf_counter()
    numbers, lag_ms = await intake(tally, "/qa", rate, seconds, first, tag, settle=settle)
    took = time.perf_counter() - began
    shared_after = await asyncio.to_thread(probe.read) if probe else None
    cpu_us = (target.cpu_ticks() - cpu_before) * 1_000_000 / TICK
    acks = [(tally.acked[k] - tally.asked[k]) * 1000 for k in numbers if k in tally.acked]
    seen = [(tally.console[k] - tally.asked[k]) * 1000 for k in numbers
            if k in tally.console and k in tally.asked]
    errors: dict[str, int] = {}
    for k in numbers:
        if k in tally.ask_failed:
            errors[tally.ask_failed[k]] = errors.get(tally.ask_failed[k], 0) + 1
        elif k not in tally.acked:
            errors["no_ack"] = errors.get("no_ack", 0) + 1
    record = {"scenario": "intake", **common, "phase": phase, "rate_per_s": rate,
              **spread(acks), "expected": len(numbers), "delivered": len(acks),
              "failures": len(numbers) - len(acks), "errors": errors,
              **spread(seen, "console_"), "console_delivered": len(seen),
              "console_error": tally.console_error or None,
              "send_lag_max_ms": round(lag_ms, 1),
              # other packets the citizens got meanwhile (qa_live: counts, own-question status)
              "other_events": tally.other_events - events_before,
              # citizens whose connection the server closed during this phase
              "dropped": tally.dropped - dropped_before,
              "cpu_us_per_msg": round(cpu_us / len(acks), 1) if acks else None,
              "cpu_ms_total": round(cpu_us / 1000, 1),
              "generator_cpu_ms": round(generator_cpu_ms() - own_before),
              "seconds": round(took, 2)}
    record["late_acks_by_second"] = late_acks_by_second(tally, numbers, began)
    if shared_before is not None and shared_after is not None:
        # asks acknowledged, and what they cost each worker and the shared parts
        record["shared"] = delta(shared_before, shared_after, took, len(acks))
    return record, numbers


def late_acks_by_second(tally: Tally, numbers: range, began: float,
                        top: int = 10) -> list[dict[str, Any]]:
    """Where the tail is: the seconds of the phase (by when asked) with the most acks later than
    ACK_TARGET_MS, and how late the worst was. Scattered seconds point at the machine's
    scheduling; a regular beat at a periodic task (a summary, a collection)."""
    late: dict[int, list[float]] = {}
    for k in numbers:
        if k in tally.acked and k in tally.asked:
            took = (tally.acked[k] - tally.asked[k]) * 1000
            if took > ACK_TARGET_MS:
                late.setdefault(int(tally.asked[k] - began), []).append(took)
    worst = sorted(late.items(), key=lambda item: -len(item[1]))[:top]
    return [{"second": second, "late": len(values), "max_ms": round(max(values), 1)}
            for second, values in sorted(worst)]


async def drain(tally: Tally, numbers: range, limit: float) -> None:
    """Wait (up to ``limit`` s) until every question of a phase has its ack: an idle server."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline and any(
            k not in tally.acked and k not in tally.ask_failed for k in numbers):
        await asyncio.sleep(0.2)


def add_lost(record: dict[str, Any], numbers: range, acked_then: set[int],
             stored: set[int]) -> None:
    """``acked_then``: the acks received before the stored questions were read (an ack that
    arrives while they are read is for a commit the read may not see: not a loss)."""
    acked = {k for k in numbers if k in acked_then}
    record["stored"] = sum(1 for k in numbers if k in stored)
    record["lost"] = len(acked - stored)
    processed = max(record["delivered"], record["stored"])  # stored, acknowledged or not
    if processed:
        record["cpu_us_per_msg"] = round(record["cpu_ms_total"] * 1000 / processed, 1)


def http_records(target: Target) -> list[dict[str, Any]]:
    """HTTP_REQUESTS GETs of each page, one after another on one kept-alive connection.

    qa_live: the home page, a session's citizen page and its JSON; the relays: their GET /.
    Nothing else is connected yet: this is a request's own time, with no crowd around.
    """
    paths = ["/", f"/s/{SLUG}", f"/api/v1/sessions/{SLUG}"] if target.name == "qa_live" else ["/"]
    http = requests.Session()
    http.trust_env = False
    records = []
    for path in paths:
        times, sizes, ok = [], [], 0
        for _ in range(HTTP_REQUESTS):
            began = time.perf_counter()
            response = http.get(target.base + path, timeout=30)
            times.append((time.perf_counter() - began) * 1000)
            ok += response.status_code == 200
            sizes.append(len(response.content))
        records.append({"scenario": "http", "server": target.name, "config": target.config,
                        "path": path, **spread(times), "expected": HTTP_REQUESTS,
                        "delivered": ok, "failures": HTTP_REQUESTS - ok,
                        "response_bytes": max(sizes)})
    http.close()
    return records


def stage_sizes(stages: list[int], clients: int) -> list[int]:
    """The audience sizes measured in one server's run: the stages below ``clients``, then it."""
    return sorted({n for n in stages if 0 < n < clients}) + [clients]


async def connect_stage(target: Target, opts: argparse.Namespace, tally: Tally,
                        tasks: list[asyncio.Task[None]], size: int, first: int,
                        common: dict[str, Any]) -> dict[str, Any]:
    """Connect ``size`` citizens from none, as fast as they can (a storm); its record.

    They are citizens ``first`` … ``first + size - 1``: each size brings its own (a crowd
    arriving, not the last one coming back).
    """
    gate = asyncio.Semaphore(64)
    cpu_before = target.cpu_ticks()  # the server's CPU for the storm (join17c)
    started = time.perf_counter()
    tasks += [asyncio.create_task(citizen("127.0.0.1", target.port, "/qa", SLUG,
                                          target.headers_for(i), tally, gate,
                                          join_timeout=opts.join_wait,
                                          local_addr=target.local_addr_for(i)))
              for i in range(first, first + size)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tally.all_joined.wait(), timeout=opts.join_wait)
    seconds = time.perf_counter() - started
    cpu_ms = (target.cpu_ticks() - cpu_before) * 1000 / TICK
    log(f"  {target.name} {target.config}: {tally.joined}/{size} joined in "
        f"{seconds:.1f} s ({cpu_ms / size:.2f} ms of server CPU each), "
        f"failures {tally.failures} {tally.errors or ''}")
    return {"scenario": "connect", **common, **spread(tally.connect_ms),
            "expected": size, "delivered": tally.joined, "failures": tally.failures,
            "lost": size - tally.joined - tally.failures, "errors": dict(tally.errors),
            "dropped": tally.dropped, "seconds": round(seconds, 2),
            # On a shared machine the storm's time follows the server's CPU: both recorded.
            "cpu_ms_total": round(cpu_ms, 1), "cpu_ms_per_citizen": round(cpu_ms / size, 3)}


async def hang_up_all(tally: Tally, tasks: list[asyncio.Task[None]]) -> None:
    """Close every citizen's connection and wait until their coroutines have ended."""
    hang_up(tally)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()
    await asyncio.sleep(0.2)  # let the closed transports finish


async def fanout_stage(target: Target, opts: argparse.Namespace, tally: Tally, first: int,
                       common: dict[str, Any], rss_before: int,
                       rss_after: int) -> dict[str, Any]:
    """Publish ``opts.publishes`` answers (numbered from ``first``) one at a time; the record."""
    joined = tally.joined
    tally.fanout_started = True
    published: dict[int, float] = {}
    answered: dict[int, float] = {}  # when each publishing call returned
    probe = ClusterProbe(**target.cluster) if target.cluster else None
    shared_before = await asyncio.to_thread(probe.read) if probe else None
    cpu_before = target.cpu_ticks()
    own_before = generator_cpu_ms()
    dropped_before, events_before = tally.dropped, tally.other_events
    names_before = dict(tally.other_names)
    fan_started = time.perf_counter()
    for k in range(first, first + opts.publishes):
        published[k] = time.perf_counter()
        await asyncio.to_thread(target.publish, k)
        answered[k] = time.perf_counter()
        deadline = time.perf_counter() + opts.wait
        while (len(tally.receipts.get(k, ())) < joined
               and time.perf_counter() < deadline):
            await asyncio.sleep(0.005)
        await asyncio.sleep(opts.gap)
    fan_seconds = time.perf_counter() - fan_started
    cpu_us = (target.cpu_ticks() - cpu_before) * 1_000_000 / TICK
    shared_after = await asyncio.to_thread(probe.read) if probe else None
    latencies = [(t - published[k]) * 1000 for k, times in tally.receipts.items()
                 if k in published for t in times]
    expected = joined * opts.publishes
    delivered = len(latencies)
    shared = ({"shared": delta(shared_before, shared_after, fan_seconds, delivered)}
              if shared_before is not None and shared_after is not None else {})
    return {"scenario": "fanout", **common, "publishes": opts.publishes, **shared,
            **spread(latencies), "expected": expected, "delivered": delivered,
            "failures": tally.failures, "lost": expected - delivered,
            "rss_kb_before": rss_before, "rss_kb_after": rss_after,
            "rss_kb_per_client": round((rss_after - rss_before) / joined, 1),
            "cpu_us_per_msg": round(cpu_us / delivered, 2) if delivered else None,
            "cpu_ms_total": round(cpu_us / 1000, 1), "message_bytes": tally.message_bytes,
            "other_events": tally.other_events - events_before,
            "other_event_names": {name: n - names_before.get(name, 0)
                                  for name, n in tally.other_names.items()
                                  if n > names_before.get(name, 0)},
            "server_pids": len(target.pids()),
            "generator_cpu_ms": round(generator_cpu_ms() - own_before),
            "dropped": tally.dropped - dropped_before,
            "seconds": round(fan_seconds, 2),
            "per_publish": per_publish(tally.receipts, published, answered)}


def per_publish(receipts: dict[int, list[float]], published: dict[int, float],
                answered: dict[int, float]) -> list[dict[str, float | None]]:
    """Each publish on its own: how long the publishing call took (``call_ms``) and when its
    receipts came (``min/p50/p99/max_ms``), all from just before the call, so one publish held
    up by something else (a heartbeat, a summary) shows as one row, not as a p99 of them all."""
    rows = []
    for k, started in sorted(published.items()):
        times = [(t - started) * 1000 for t in receipts.get(k, ())]
        rows.append({"k": k, "call_ms": round((answered.get(k, started) - started) * 1000, 2),
                     **spread(times)})
    return rows


async def measure(target: Target, opts: argparse.Namespace, tag: int, clients: int,
                  primary: bool) -> list[dict[str, Any]]:
    """At each audience size: connect storm, fan-out, memory; then intake; the records.

    Each size starts from no citizen: those of the smaller size hang up first (and the server
    is given STAGE_REST_S to see them go), so every ``connect`` record is a storm from zero.
    """
    await asyncio.sleep(0.5)
    rss_before = target.rss_kb()
    tasks: list[asyncio.Task[None]] = []
    records: list[dict[str, Any]] = []
    sizes = stage_sizes(opts.stages, clients)
    console_task = None
    tally = Tally(expected_clients=clients)  # replaced by each size's; here for `finally`
    if "http" in opts.scenarios:
        records += await asyncio.to_thread(http_records, target)
    try:
        for stage, size in enumerate(sizes):
            if stage:
                await hang_up_all(tally, tasks)
                await asyncio.sleep(STAGE_REST_S)
            tally = Tally(expected_clients=size)
            common = {"server": target.name, "config": target.config, "clients": size}
            records.append(await connect_stage(target, opts, tally, tasks, size,
                                               sum(sizes[:stage]), common))
            await asyncio.sleep(1.0)  # let the server settle (qa_live: the counts summary)
            rss_after = target.rss_kb()
            if "fanout" in opts.scenarios and tally.joined:
                records.append(await fanout_stage(target, opts, tally, stage * opts.publishes,
                                                  common, rss_before, rss_after))
        joined = tally.joined

        if "intake" in opts.scenarios and joined:
            console_task = asyncio.create_task(staff_console(
                "127.0.0.1", target.port, "/moderation", target.staff_join,
                target.staff_headers, tally))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tally.console_joined.wait(), timeout=60)
            if tally.console_error:
                log(f"  staff console: {tally.console_error}")
            reference = target.name != "qa_live"
            # The step-up search first, from a low rate, stopping at the first rate not held
            # (so at most one step's backlog builds up, and it is drained before going on);
            # then the steady run at the target rate.
            step_records: list[tuple[dict[str, Any], range]] = []
            first = 0
            held = 0.0
            rates = opts.step_rates if (opts.reference_steps or not reference) else []
            for rate in rates:
                record, step_numbers = await run_intake(target, tally, rate, opts.step_seconds,
                                                        first, tag, "step", common, opts.settle)
                first = step_numbers.stop
                step_records.append((record, step_numbers))
                passed = (record["failures"] == 0 and record["p99_ms"] is not None
                          and record["p99_ms"] <= ACK_TARGET_MS)
                log(f"    step {rate:g}/s: p99 ack {record['p99_ms']} ms, failures "
                    f"{record['failures']}{'' if passed else '  (not held)'}")
                await drain(tally, step_numbers, opts.drain)
                if not passed:
                    break
                held = rate
            seconds = opts.intake_seconds if primary else (opts.short_intake_seconds
                                                          or opts.intake_seconds)
            steady, numbers = await run_intake(target, tally, opts.intake_rate, seconds, first,
                                               tag, "steady", common, opts.settle)
            # Issue 17's target rate (1,000 q/s for 60 s) on qa_live's first configuration,
            # after the steady run's backlog drained: a record of its own (phase "target").
            target_runs: list[tuple[dict[str, Any], range]] = []
            if primary and opts.target_intake_rate:
                await drain(tally, numbers, opts.drain)
                target_runs.append(await run_intake(
                    target, tally, opts.target_intake_rate, opts.intake_seconds,
                    numbers.stop, tag, "target", common, opts.settle))
            if step_records:
                top = max(rates)
                steady["max_rate_held_per_s"] = held
                steady["max_rate_capped"] = held >= top  # the search stopped at its top rate
            if target.database_url:
                acked_then = set(tally.acked)  # before the read (see add_lost)
                stored = await asyncio.to_thread(stored_questions, target.database_url, tag)
                add_lost(steady, numbers, acked_then, stored)
                for record, step_numbers in step_records + target_runs:
                    add_lost(record, step_numbers, acked_then, stored)
            records.append(steady)
            records.extend(record for record, _ in target_runs + step_records)
    finally:
        if console_task is not None:
            console_task.cancel()
        await hang_up_all(tally, tasks)
        if console_task is not None:
            await asyncio.gather(console_task, return_exceptions=True)
    if not target.alive():
        for record in records:
            record["server_exited"] = True
    return records


def describe(record: dict[str, Any]) -> str:
    text = (f"  {record['scenario']}: p50 {record.get('p50_ms')} ms, p99 {record.get('p99_ms')} "
            f"ms, max {record.get('max_ms')} ms, delivered {record.get('delivered')}/"
            f"{record.get('expected')}")
    if record["scenario"] == "fanout":
        text += (f", {record['rss_kb_per_client']} KB RSS/client, "
                 f"{record['cpu_us_per_msg']} µs CPU/msg")
    if record.get("dropped"):
        text += f", {record['dropped']} citizens dropped by the server"
    if record["scenario"] == "intake":
        text += (f" at {record['rate_per_s']:g}/s, console p99 {record.get('console_p99_ms')} "
                 f"ms, lost {record.get('lost', '-')}")
        if "max_rate_held_per_s" in record:
            text += f", held up to {record['max_rate_held_per_s']:g}/s"
    return text


def flood_records(opts: argparse.Namespace, log_path: Path, tag: str) -> list[dict[str, Any]]:
    """The flood scenario (bench/flood.py): each kind on its own qa_live, production limits."""
    records: list[dict[str, Any]] = []
    for kind in opts.flood_kinds:
        try:
            target = start_qa_live("gevent", FLOOD_CLIENTS, log_path, f"{tag}-{kind}",
                                   flood_env())
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            log(f"  flood {kind}: not run: {exc}")
            records.append({"scenario": "flood", "server": "qa_live", "flood": kind,
                            "skipped": str(exc)[:300]})
            continue
        try:
            record = asyncio.run(run_flood(target, kind, opts.flood_seconds, log,
                                           separate=opts.flood_own_process))
            exited = not target.alive()  # before stop(), after which it is never alive
        finally:
            target.stop()
        if exited:
            record["server_exited"] = True
        records.append(record)
    return records


# Statistics ---------------------------------------------------------------------------------


def _bench_script(name: str, database: str, questions: int, log_path: Path,
                  timeout: float) -> tuple[dict[str, Any], float]:
    """Run bench/<name> QUESTIONS --json on one database (PostgreSQL: a throw-away server);
    its figures and how long it took. Raises when it cannot run or fails."""
    services = None
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    try:
        if database == "postgresql":
            services = Services(log_path)
            services.start()
            if not services.postgres:
                raise RuntimeError(f"scripts/services.sh started no PostgreSQL (see {log_path})")
            env["DATABASE_URL"] = services.postgres
        with tempfile.TemporaryDirectory(prefix="qa-bench-") as folder:
            out_json = Path(folder) / "figures.json"
            command = [PYTHON, str(BENCH / name), str(questions), "--json", str(out_json)]
            began = time.monotonic()
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env,
                                  timeout=timeout, check=False)
            took = time.monotonic() - began
            with open(log_path, "a") as out:
                out.write(f"$ {' '.join(command)}\n{done.stdout}\n{done.stderr[-4000:]}\n")
            if done.returncode:
                raise RuntimeError(f"{name} exited with {done.returncode}: "
                                   f"{done.stderr.strip().splitlines()[-1:]}")
            return json.loads(out_json.read_text()), took
    finally:
        if services is not None:
            services.stop()


def run_stats(database: str, questions: int, log_path: Path,
              timeout: float) -> dict[str, Any]:
    """bench/stats_year.py in a subprocess on one database; one ``stats`` record.

    stats_year.py --json writes {"database", "questions", "fill_seconds", "cold_page_seconds",
    "page_seconds": [...], "summarize_seconds": [...], "after_change_page_seconds"}: p50_ms and
    max_ms are over the warm page loads (page_seconds), cold_ms is the first page.
    Since stats17 the script also writes "first_page_seconds" (the first page after the bulk
    load and one refresh round: cold_ms then), "uncounted_page_seconds" (a page that counts
    every session: uncounted_ms), "refresh_round_seconds", "first_page_after_import_seconds"
    (after `flask sessions import`) and "live_page_seconds" (pages during a live session);
    since asof17c the "as_of_*" timings of reports as of a past day.
    """
    common = {"scenario": "stats", "server": "qa_live", "config": f"1proc-{database}",
              "questions": questions}
    try:
        figures, took = _bench_script("stats_year.py", database, questions, log_path, timeout)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
        return {**common, "skipped": str(exc)[:300]}
    pages = [float(s) for s in figures.get("page_seconds") or []]
    cold = figures.get("first_page_seconds", figures.get("cold_page_seconds"))

    def ms(key: str) -> float | None:
        value = figures.get(key)
        return round(float(value) * 1000, 1) if value is not None else None

    def median_ms(key: str) -> float | None:
        values = [float(x) for x in figures.get(key) or []]
        return round(statistics.median(values) * 1000, 1) if values else None

    return {**common, "database": figures.get("database", database),
            "questions": figures.get("questions", questions),
            "p50_ms": median_ms("page_seconds"),
            "max_ms": round(max(pages) * 1000, 1) if pages else None,
            "expected": len(pages), "delivered": len(pages),
            "cold_ms": round(float(cold) * 1000, 1) if cold is not None else None,
            "summarize_p50_ms": median_ms("summarize_seconds"),
            "after_change_ms": ms("after_change_page_seconds"),
            "uncounted_ms": ms("uncounted_page_seconds"),
            "refresh_round_ms": ms("refresh_round_seconds"),
            "first_after_import_ms": ms("first_page_after_import_seconds"),
            "import_ms": ms("import_seconds"),
            "after_change_uncounted_ms": ms("after_change_uncounted_page_seconds"),
            "live_p50_ms": median_ms("live_page_seconds"),
            # reports as of a past day (asof17c): the first after later changes and a round,
            # the first as of another day, one between a change and the next round, and those
            # during a live session
            "as_of_first_ms": ms("as_of_first_page_seconds"),
            "as_of_other_day_first_ms": ms("as_of_other_day_first_page_seconds"),
            "as_of_before_round_ms": ms("as_of_before_round_seconds"),
            "as_of_live_p50_ms": median_ms("as_of_live_page_seconds"),
            "fill_seconds": figures.get("fill_seconds"),
            "seconds": round(took, 1)}


def run_search(database: str, questions: int, log_path: Path,
               timeout: float) -> list[dict[str, Any]]:
    """bench/search_archive.py in a subprocess on one database; one ``search`` record per word.

    search_archive.py --json writes {"database", "questions", "answers", "fill_seconds",
    "index_seconds", "database_bytes", "searches": {word: {"hits", "median_ms", "max_ms"}},
    "after_change_ms"}.
    """
    common = {"scenario": "search", "server": "qa_live", "config": f"1proc-{database}",
              "questions": questions}
    try:
        figures, took = _bench_script("search_archive.py", database, questions, log_path, timeout)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
        return [{**common, "skipped": str(exc)[:300]}]
    shared = {"database": figures.get("database", database),
              "answers": figures.get("answers"), "fill_seconds": figures.get("fill_seconds"),
              "index_seconds": figures.get("index_seconds"),
              "database_bytes": figures.get("database_bytes"), "seconds": round(took, 1)}
    return [{**common, **shared, "query": word, "hits": one["hits"], "p50_ms": one["median_ms"],
             "max_ms": one["max_ms"]} for word, one in figures.get("searches", {}).items()]


# A crowd arriving: page, then join (issue 17) ------------------------------------------------


async def _node_connect_storm(target: Target, size: int, join_wait: float) -> dict[str, Any]:
    """The reference: ``size`` sockets connect and join from none (no page), from the same
    loopback addresses as the new visitors; seconds until all joined."""
    tally = Tally(expected_clients=size)
    gate = asyncio.Semaphore(64)
    tasks: list[asyncio.Task[None]] = []
    cpu_before = target.cpu_ticks()
    began = time.perf_counter()
    tasks += [asyncio.create_task(citizen("127.0.0.1", target.port, "/qa", SLUG,
                                          {"Origin": target.base}, tally, gate,
                                          join_timeout=join_wait,
                                          local_addr=storm_address(i)))
              for i in range(size)]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(tally.all_joined.wait(), timeout=join_wait)
    seconds = time.perf_counter() - began
    cpu_ms = (target.cpu_ticks() - cpu_before) * 1000 / TICK
    await hang_up_all(tally, tasks)
    return {"scenario": "storm-pages", "phase": "node-connect", "server": target.name,
            "config": target.config, "clients": size, **spread(tally.connect_ms),
            "expected": size, "delivered": tally.joined, "failures": tally.failures,
            "errors": dict(tally.errors), "seconds": round(seconds, 2),
            # On a shared machine the storm's time follows its CPU: compare the two.
            "cpu_ms_total": round(cpu_ms, 1), "cpu_ms_per_citizen": round(cpu_ms / size, 3)}


async def _qa_live_page_storms(target: Target, size: int,
                               join_wait: float) -> list[dict[str, Any]]:
    """On qa_live: ``size`` new visitors load the page (CPU per page), then ``size`` others
    load it and join (seconds from the first page request to the last join)."""
    common = {"scenario": "storm-pages", "server": target.name, "config": target.config,
              "clients": size, "path": f"/s/{SLUG}"}
    await asyncio.sleep(0.5)
    cpu_before = target.cpu_ticks()
    own_before = generator_cpu_ms()
    pages, seconds = await pages_only("127.0.0.1", target.port, f"/s/{SLUG}", size)
    cpu_ms = (target.cpu_ticks() - cpu_before) * 1000 / TICK
    records = [{**common, "phase": "pages", **spread(pages.times_ms), "expected": size,
                "delivered": pages.ok, "failures": pages.failures, "errors": pages.errors,
                "encodings": pages.encodings, "without_cookie": pages.no_cookie,
                "response_bytes": pages.body_bytes, "cpu_ms_total": round(cpu_ms, 1),
                "cpu_ms_per_page": round(cpu_ms / pages.ok, 3) if pages.ok else None,
                "pages_per_s": round(pages.ok / seconds, 1) if seconds else None,
                "generator_cpu_ms": round(generator_cpu_ms() - own_before),
                "seconds": round(seconds, 2)}]
    await asyncio.sleep(STAGE_REST_S)
    cpu_before = target.cpu_ticks()
    own_before = generator_cpu_ms()
    pages, tally, seconds, tasks = await storm("127.0.0.1", target.port, f"/s/{SLUG}", SLUG,
                                               size, join_wait, target.base)
    cpu_ms = (target.cpu_ticks() - cpu_before) * 1000 / TICK
    records.append({**common, "phase": "page-then-join", **spread(tally.connect_ms),
                    "page_p50_ms": percentile(pages.times_ms, 0.5),
                    "page_p99_ms": percentile(pages.times_ms, 0.99),
                    "expected": size, "delivered": tally.joined, "pages": pages.ok,
                    "failures": tally.failures, "errors": {**pages.errors, **tally.errors},
                    "encodings": pages.encodings, "cpu_ms_total": round(cpu_ms, 1),
                    "cpu_ms_per_citizen": round(cpu_ms / size, 3),
                    "generator_cpu_ms": round(generator_cpu_ms() - own_before),
                    "seconds": round(seconds, 2)})
    await hang_up_all(tally, tasks)
    return records


def storm_pages_records(opts: argparse.Namespace, size: int, log_path: Path,
                        tag: str) -> list[dict[str, Any]]:
    """The storm-pages scenario at one size: Node's socket-only storm, then qa_live (gevent,
    SQLite) with new visitors; the qa_live storm's record carries the ratio to Node's time."""
    records: list[dict[str, Any]] = []
    node_seconds = None
    try:
        node = start_reference("node-socketio", log_path)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        records.append({"scenario": "storm-pages", "phase": "node-connect",
                        "server": "node-socketio", "clients": size, "skipped": str(exc)[:300]})
    else:
        try:
            record = asyncio.run(_node_connect_storm(node, size, opts.join_wait))
        finally:
            node.stop()
        if record["delivered"] == size:
            node_seconds = record["seconds"]
        records.append(record)
    try:
        target = start_qa_live("gevent", 1, log_path, f"{tag}-storm{size}")
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        records.append({"scenario": "storm-pages", "server": "qa_live", "clients": size,
                        "skipped": str(exc)[:300]})
        return records
    try:
        found = asyncio.run(_qa_live_page_storms(target, size, opts.join_wait))
        exited = not target.alive()
    finally:
        target.stop()
    if exited:
        for record in found:
            record["server_exited"] = True
    for record in found:
        if record["phase"] == "page-then-join" and node_seconds:
            record["node_connect_seconds"] = node_seconds
            record["vs_node"] = round(record["seconds"] / node_seconds, 2)
    return records + found


# Main ---------------------------------------------------------------------------------------


def one_session_records(opts: argparse.Namespace, log_path: Path,
                        tag: str) -> list[dict[str, Any]]:
    """The one-session scenario (issue 17: 20,000 citizens in one session on one process):
    qa_live (gevent, SQLite) alone, ``--session-clients`` citizens join from none, then the
    fan-out; its connect and fanout records carry ``phase: one-session``. A process's open-file
    limit bounds how many can join (each citizen is a descriptor here and one in the server)."""
    size = opts.session_clients
    try:
        target = start_qa_live("gevent", size, log_path, f"{tag}-session")
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        return [{"scenario": "connect", "phase": "one-session", "server": "qa_live",
                 "config": QA_LIVE_CONFIGS["gevent"], "clients": size,
                 "skipped": str(exc)[:300]}]
    alone = argparse.Namespace(**{**vars(opts), "stages": [], "scenarios": ["connect", "fanout"]})
    try:  # measure() marks its records server_exited if the server died meanwhile
        records = asyncio.run(measure(target, alone, int(tag, 16), size, primary=False))
    finally:
        target.stop()
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    for record in records:
        record.update(phase="one-session", nofile=nofile)
    return records


def start_target(server: str, qa_config: str, clients: int, log_path: Path,
                 tag: str) -> Target:
    if server != "qa_live":
        return start_reference(server, log_path)
    if qa_config == "cluster":
        return start_qa_live_cluster(clients, log_path, tag)
    return start_qa_live(qa_config, clients, log_path, tag)


def plan(opts: argparse.Namespace) -> list[tuple[str, str]]:
    """(server, qa_live config) in run order: qa_live's first config, the references, the rest."""
    servers = [s for s in opts.servers if s in SERVERS]
    order: list[tuple[str, str]] = []
    if "qa_live" in servers and opts.qa_live_configs:
        order.append(("qa_live", opts.qa_live_configs[0]))
    order += [(s, "") for s in servers if s != "qa_live"]
    if "qa_live" in servers:
        order += [("qa_live", c) for c in opts.qa_live_configs[1:]]
    return order


def csv(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--publishes", type=int, default=20)
    parser.add_argument("--stages", type=lambda s: [int(n) for n in csv(s)], default=[],
                        help="smaller audiences measured first (connect, fan-out, memory), "
                        "e.g. 1000,5000; intake runs at --clients")
    parser.add_argument("--servers", type=csv, default=list(SERVERS))
    parser.add_argument("--qa-live-configs", type=csv, default=list(QA_LIVE_CONFIGS),
                        help="of gevent, eventlet, cluster (2 workers + Redis + PG + nginx)")
    parser.add_argument("--scenarios", type=csv, default=list(SCENARIOS))
    parser.add_argument("--name", default="full", help="results go to <date>-<name>.json")
    parser.add_argument("--out", type=Path, help="results file (instead of --name)")
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between publishes")
    parser.add_argument("--wait", type=float, default=15.0,
                        help="seconds to wait for every citizen to receive one publish")
    parser.add_argument("--join-wait", type=float, default=600.0,
                        help="seconds to wait for every citizen to join before publishing")
    parser.add_argument("--intake-rate", type=float, default=200.0, help="questions per second")
    parser.add_argument("--intake-seconds", type=float, default=60.0)
    parser.add_argument("--session-clients", type=int, default=20_000,
                        help="one-session: citizens in one session on one qa_live process")
    parser.add_argument("--target-intake-rate", type=float, default=0.0,
                        help="also ask at this rate for --intake-seconds on qa_live's first "
                        "configuration (issue 17: 1000), after the steady run")
    parser.add_argument("--step-rates", type=lambda s: [float(r) for r in csv(s)],
                        default=[10.0, 25.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 600.0,
                                 800.0, 1200.0, 1600.0],
                        help="rates tried in turn after the steady run ('' for none)")
    parser.add_argument("--step-seconds", type=float, default=5.0)
    parser.add_argument("--short-intake-seconds", type=float, default=0.0,
                        help="steady intake length for the references and qa_live's other "
                        "configurations (default: --intake-seconds)")
    parser.add_argument("--secondary-clients", type=int, default=0,
                        help="citizens for qa_live's configurations after the first "
                        "(default: --clients)")
    parser.add_argument("--reference-steps", action=argparse.BooleanOptionalAction,
                        default=True, help="run the step-up search on the references too")
    parser.add_argument("--settle", type=float, default=10.0,
                        help="seconds to wait for the last acks after an intake phase "
                        "(later ones count as failures)")
    parser.add_argument("--drain", type=float, default=30.0,
                        help="seconds to wait, after a step, for late acks before the next")
    parser.add_argument("--relay-message", choices=("answer", "small"), default="answer",
                        help="what the references broadcast: an envelope sized like qa_live's "
                        "answered question, or a ~70-byte one")
    parser.add_argument("--flood-seconds", type=float, default=10.0,
                        help="how long the well-behaved citizen is measured per flood kind")
    parser.add_argument("--flood-kinds", type=csv, default=list(FLOOD_KINDS),
                        help=f"of {', '.join(FLOOD_KINDS)}")
    parser.add_argument("--flood-own-process", action="store_true",
                        help="run the flooders in a process of their own, not in the probe's "
                        "event loop (on two cores they then take more CPU from the server)")
    parser.add_argument("--stats-questions", type=int, default=1_000_000)
    parser.add_argument("--stats-databases", type=csv, default=["sqlite", "postgresql"])
    parser.add_argument("--stats-timeout", type=float, default=1800.0)
    parser.add_argument("--search-questions", type=int, default=1_000_000)
    parser.add_argument("--search-databases", type=csv, default=["sqlite", "postgresql"])
    parser.add_argument("--search-timeout", type=float, default=3600.0)
    parser.add_argument("--storm-clients", type=lambda s: [int(n) for n in csv(s)],
                        default=[1000, 10_000],
                        help="storm-pages: new visitors per run (page, then join), e.g. 1000")
    opts = parser.parse_args(argv)
    unknown = set(opts.qa_live_configs) - set(QA_LIVE_CONFIGS)
    if unknown:
        parser.error(f"unknown qa_live configs: {', '.join(sorted(unknown))}")
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    RELAY_MESSAGE["size"] = opts.relay_message
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run every finally: stop servers
    nofile = raise_nofile()
    if nofile < opts.clients + 200:
        log(f"warning: open-files limit {nofile} is low for {opts.clients} clients")
    out = opts.out or RESULTS / f"{dt.date.today().isoformat()}-{opts.name}.json"
    n = 1
    while opts.out is None and out.exists():  # never overwrite an earlier run's results
        n += 1
        out = RESULTS / f"{dt.date.today().isoformat()}-{opts.name}-{n}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    log_path = tmp / f"{out.stem}-servers.log"
    tag = secrets.randbits(32)
    began = time.monotonic()
    runs: list[dict[str, Any]] = []
    socket_scenarios = {"http", "connect", "fanout", "intake"} & set(opts.scenarios)
    for server, qa_config in (plan(opts) if socket_scenarios else []):
        label = server + (f" ({QA_LIVE_CONFIGS[qa_config]})" if qa_config else "")
        primary = server != "qa_live" or qa_config == opts.qa_live_configs[0]
        clients = opts.clients if primary else (opts.secondary_clients or opts.clients)
        log(f"{label}: starting, {clients} citizens")
        phase_began = time.monotonic()
        try:
            # A visitor cookie for every citizen of every size (each size brings its own).
            target = start_target(server, qa_config, sum(stage_sizes(opts.stages, clients)),
                                  log_path, f"{tag:08x}")
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            log(f"  {label}: not run: {exc}")
            runs.append({"scenario": "connect", "server": server,
                         "config": QA_LIVE_CONFIGS.get(qa_config, "1proc"),
                         "clients": clients, "skipped": str(exc)[:300]})
            continue
        try:
            records = asyncio.run(measure(target, opts, tag, clients,
                                          primary=primary and server == "qa_live"))
        finally:
            target.stop()
        for record in records:
            log(describe(record))
        runs.extend(records)
        log(f"  ({time.monotonic() - phase_began:.0f} s)")
    if "one-session" in opts.scenarios and opts.session_clients:
        log(f"one-session: qa_live (gevent, SQLite), {opts.session_clients} citizens in one "
            f"session")
        for record in one_session_records(opts, log_path, f"{tag:08x}"):
            log(describe(record) if "skipped" not in record else f"  not run: {record}")
            runs.append(record)
    if "flood" in opts.scenarios:
        log(f"flood: qa_live (gevent) with its production limits, {opts.flood_seconds:g} s "
            f"per kind")
        runs.extend(flood_records(opts, log_path, f"{tag:08x}"))
    if "stats" in opts.scenarios:
        for database in opts.stats_databases:
            log(f"stats: {opts.stats_questions} questions on {database}")
            record = run_stats(database, opts.stats_questions, log_path, opts.stats_timeout)
            log(f"  {record}")
            runs.append(record)
    if "search" in opts.scenarios:
        for database in opts.search_databases:
            log(f"search: {opts.search_questions} questions on {database}")
            for record in run_search(database, opts.search_questions, log_path,
                                     opts.search_timeout):
                log(f"  {record}")
                runs.append(record)
    if "storm-pages" in opts.scenarios:
        for size in opts.storm_clients:
            log(f"storm-pages: {size} new visitors load /s/{SLUG} (gzip, no cookie), then "
                f"join; Node's socket-only storm beside it")
            for record in storm_pages_records(opts, size, log_path, f"{tag:08x}"):
                log(f"  {record}")
                runs.append(record)
    out.write_text(json.dumps({
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "name": out.stem[11:] if out.stem[:4].isdigit() and out.stem[10:11] == "-" else out.stem,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "nofile": nofile,
                    "loadavg": os.getloadavg()},
        "versions": versions(),
        "settings": {k: (v if isinstance(v, str | int | float | list) else str(v))
                     for k, v in vars(opts).items()},
        "clients": opts.clients, "publishes": opts.publishes,
        "seconds": round(time.monotonic() - began, 1), "runs": runs,
    }, ensure_ascii=False, indent=2) + "\n")
    log(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out} "
        f"in {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
