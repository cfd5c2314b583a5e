"""The ``flood`` scenario (issue 12, finding 4): does a refused flood delay a well-behaved citizen?

Each kind runs on a fresh qa_live (so what one flood leaves behind cannot spoil the next).
One well-behaved citizen (from its own address, 127.0.0.2) joins the live session and, all run
long, (a) sends ``mine`` with an acknowledgement every PROBE_EVERY_S (within the per-socket limit)
and (b) receives the answers a host publishes through the API every PUBLISH_EVERY_S. Its answer
delay is each ack's round trip and each answer's publish-to-receipt time. It is measured with no
flood (``baseline``), then during each kind of flood, each from addresses of its own (127.0.1.x,
so the per-address limits are those a real attacker meets), against qa_live with its production
limits:

* ``oversized``: 20 sockets, each sending 1 MB WebSocket messages (reconnecting when closed);
* ``events``: 20 joined sockets sending ``mine`` as fast as the connection takes them;
* ``votes``: 100 joined sockets, each sending 50 votes on 5 questions every half second (at
  least 90 % refused: already voted, too fast, or over the event limit);
* ``connects``: 50 loops opening a websocket, connecting to /qa and hanging up;
* ``polling``: 20 loops opening a long-polling session and POSTing 20 KB (refused with 413).

A record per kind: the probe's p50/p99/max (acks and answers together) under the flood, the
baseline's on the same server just before, ``delay_p99_ms`` (flood p99 minus baseline p99:
the issue's target is at most 200 ms), what the flooders sent and how it was refused, and
the server's CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
import time
from typing import Any

from loadgen import PONG, WsClosed, _frame, _open_namespace, _read_message, ws_open

PROBE_ADDRESS = "127.0.0.2"
PROBE_EVERY_S = 0.4  # 2.5 events/s: under the per-socket limit of 30 per 10 s
PUBLISH_EVERY_S = 0.25
KINDS = ("oversized", "events", "votes", "connects", "polling")
PATH = "/socket.io/?EIO=4&transport=websocket"
BIG = 1 << 20  # bytes in one oversized message


def flooder_address(index: int) -> str:
    return f"127.0.1.{1 + index % 250}"


class Counts:
    """What the flooders did and what the server answered."""

    def __init__(self) -> None:
        self.sent = 0
        self.accepted = 0
        self.refused = 0
        self.closed = 0
        self.errors: dict[str, int] = {}
        self.began = time.perf_counter()
        self.joined_s: list[float] = []  # when each flooder's join was acknowledged

    def joined(self) -> None:
        self.joined_s.append(time.perf_counter() - self.began)

    def error(self, reason: str) -> None:
        self.errors[reason] = self.errors.get(reason, 0) + 1


async def _joined(target: Any, index: int, address: str
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await ws_open("127.0.0.1", target.port, PATH, target.headers_for(index),
                                   local_addr=address)
    await _open_namespace(reader, writer, "/qa")
    writer.write(_frame('42/qa,1["join",{"slug":"demo-11"}]'))
    while True:
        message = await _read_message(reader, writer)
        if message == b"2":
            writer.write(PONG)
        elif message.startswith(b"43/qa,1["):
            return reader, writer


async def _count_acks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                      counts: Counts) -> None:
    """Read the flooder's acknowledgements until the connection ends."""
    try:
        while True:
            message = await _read_message(reader, writer)
            if message == b"2":
                writer.write(PONG)
            elif message.startswith(b"43/qa,"):
                if b'"ok":true' in message[:40]:
                    counts.accepted += 1
                else:
                    counts.refused += 1
                    found = message.find(b'"error":"')
                    if found >= 0:
                        counts.error(message[found + 9:message.find(b'"', found + 9)].decode())
    except (WsClosed, OSError, asyncio.IncompleteReadError):
        counts.closed += 1


async def flood_oversized(target: Any, stop: asyncio.Event, counts: Counts, index: int) -> None:
    frame = _frame("4" + "x" * (BIG - 1))
    while not stop.is_set():
        writer = None
        try:
            reader, writer = await ws_open("127.0.0.1", target.port, PATH,
                                           {"Origin": target.base},
                                           local_addr=flooder_address(index))
            await _read_message(reader, writer)  # the Engine.IO open packet
            while not stop.is_set() and not writer.is_closing():
                writer.write(frame)
                counts.sent += 1
                await writer.drain()
                await asyncio.sleep(0)
        except (WsClosed, OSError, asyncio.IncompleteReadError):
            counts.closed += 1
        finally:
            if writer is not None:
                writer.close()
        await asyncio.sleep(0.01)


async def flood_events(target: Any, stop: asyncio.Event, counts: Counts, index: int) -> None:
    reader, writer = await _joined(target, 100 + index, flooder_address(index))
    counts.joined()
    acks = asyncio.create_task(_count_acks(reader, writer, counts))
    try:
        ack = 2
        while not stop.is_set() and not acks.done() and not writer.is_closing():
            for _ in range(20):
                writer.write(_frame(f'42/qa,{ack}["mine",{{}}]'))
                ack += 1
                counts.sent += 1
            await writer.drain()
            await asyncio.sleep(0.005)
    except OSError:
        counts.closed += 1
    finally:
        writer.close()
        acks.cancel()


async def flood_votes(target: Any, stop: asyncio.Event, counts: Counts, index: int) -> None:
    """One joined socket voting 50 times on 5 questions, again and again on the same socket."""
    questions = target.question_ids[:5] or [1]
    try:
        reader, writer = await _joined(target, 200 + index, flooder_address(index))
    except (WsClosed, OSError, asyncio.IncompleteReadError):
        counts.closed += 1
        return
    counts.joined()
    acks = asyncio.create_task(_count_acks(reader, writer, counts))
    ack = 2
    try:
        while not stop.is_set() and not acks.done() and not writer.is_closing():
            for n in range(50):
                question = questions[n % len(questions)]
                writer.write(_frame(f'42/qa,{ack}["vote",{{"question_id":{question}}}]'))
                ack += 1
                counts.sent += 1
            await writer.drain()
            await asyncio.sleep(0.5)
    except OSError:
        counts.closed += 1
    finally:
        writer.close()
        acks.cancel()


async def flood_connects(target: Any, stop: asyncio.Event, counts: Counts, index: int) -> None:
    while not stop.is_set():
        writer = None
        try:
            reader, writer = await ws_open("127.0.0.1", target.port, PATH,
                                           target.headers_for(400 + index),
                                           local_addr=flooder_address(index))
            counts.sent += 1
            await _open_namespace(reader, writer, "/qa")
            counts.accepted += 1
        except (WsClosed, OSError, asyncio.IncompleteReadError) as exc:
            counts.refused += 1
            counts.error(type(exc).__name__)
        finally:
            if writer is not None:
                writer.close()


async def _http_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    """A response's body: by its Content-Length, or chunked (the handshake now comes chunked:
    before flood12, every polling flooder failed here and never sent its 20 KB POST)."""
    lower = head.lower()
    if b"content-length:" in lower:
        return await reader.readexactly(int(lower.split(b"content-length:")[1].split(b"\r\n")[0]))
    if b"transfer-encoding: chunked" not in lower:
        raise ValueError("a response with no length")
    body = b""
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16):
        body += await reader.readexactly(size)
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")
    return body


async def flood_polling(target: Any, stop: asyncio.Event, counts: Counts, index: int) -> None:
    body = "4" + "x" * 20_000
    address = flooder_address(index)
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", target.port,
                                                           local_addr=(address, 0))
        except OSError:
            counts.closed += 1
            await asyncio.sleep(0.05)
            continue
        try:
            writer.write(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n"
                         b"Host: 127.0.0.1\r\n\r\n")
            head = await reader.readuntil(b"\r\n\r\n")
            opened = await _http_body(reader, head)
            sid = json.loads(opened[1:])["sid"]
            writer.write((f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
                          f"Host: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n{body}").encode())
            counts.sent += 1
            status = (await reader.readuntil(b"\r\n")).split(b" ")[1].decode()
            counts.refused += status != "200"
            counts.error(status)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError, IndexError, KeyError) as exc:
            counts.closed += 1
            counts.error(type(exc).__name__)
        finally:
            writer.close()


FLOODS = {"oversized": (flood_oversized, 20), "events": (flood_events, 20),
          "votes": (flood_votes, 100), "connects": (flood_connects, 50),
          "polling": (flood_polling, 20)}


class Probe:
    """The well-behaved citizen: its acks' round trips and its answers' delivery times."""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.samples: list[float] = []
        # (seconds from `origin` when the ack was asked or the answer published, delay in ms):
        # where the slow samples fall against the flood's phases.
        self.origin = time.perf_counter()
        self.timeline: list[tuple[float, float]] = []
        self.joined_s: float | None = None
        self.expected = 0
        self.sent: dict[int, float] = {}
        self.published: dict[str, float] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.listener: asyncio.Task[None] | None = None
        self.ack = 100

    async def start(self) -> None:
        self.reader, self.writer = await _joined(self.target, 0, PROBE_ADDRESS)
        self.listener = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        assert self.reader is not None and self.writer is not None
        with contextlib.suppress(WsClosed, OSError, asyncio.IncompleteReadError):
            while True:
                message = await _read_message(self.reader, self.writer)
                now = time.perf_counter()
                if message == b"2":
                    self.writer.write(PONG)
                elif message.startswith(b"43/qa,"):
                    ack = int(message[6:message.find(b"[", 6)])
                    if ack in self.sent and b'"ok":true' in message[:40]:
                        self._sample(self.sent.pop(ack), now)
                elif b"flood#" in message:
                    for marker, at in list(self.published.items()):
                        if marker.encode() in message:
                            self._sample(at, now)
                            del self.published[marker]

    def _sample(self, at: float, now: float) -> None:
        self.samples.append((now - at) * 1000)
        self.timeline.append((round(at - self.origin, 3), round((now - at) * 1000, 1)))

    async def measure(self, seconds: float, label: str) -> list[float]:
        """Probe for ``seconds`` on a fresh connection; the delays (ms) observed."""
        self.close()
        self.samples = []
        self.expected = 0
        try:
            await asyncio.wait_for(self.start(), timeout=seconds)
        except (WsClosed, OSError, asyncio.IncompleteReadError, TimeoutError):
            self.expected = 1  # could not even join: nothing delivered
            return []
        assert self.writer is not None
        self.joined_s = round(time.perf_counter() - self.origin, 3)
        self.samples = []
        self.timeline = []
        self.expected = 0
        publisher = asyncio.create_task(self._publish(seconds, label))
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            self.ack += 1
            self.sent[self.ack] = time.perf_counter()
            if not self.writer.is_closing():
                self.writer.write(_frame(f'42/qa,{self.ack}["mine",{{}}]'))
            self.expected += 1
            await asyncio.sleep(PROBE_EVERY_S)
        await publisher
        await asyncio.sleep(1.0)  # the last answers
        self.sent.clear()
        self.published.clear()
        return list(self.samples)

    async def _publish(self, seconds: float, label: str) -> None:
        began = time.perf_counter()
        k = 0
        while time.perf_counter() - began < seconds:
            marker = f"flood#{label}-{k}#"
            self.published[marker] = time.perf_counter()
            self.expected += 1
            await asyncio.to_thread(self._post_answer, marker, k)
            k += 1
            await asyncio.sleep(PUBLISH_EVERY_S)

    def _post_answer(self, marker: str, k: int) -> None:
        target = self.target
        question = target.question_ids[5 + k % max(1, len(target.question_ids) - 5)]
        body = {"question_id": question, "body": f"防泛洪测试答复 {marker}"}
        with contextlib.suppress(Exception):
            from servers import HTTP

            HTTP.post(target.publish_url, json=body, headers=target.publish_headers, timeout=30)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.listener is not None:
            self.listener.cancel()
            self.listener = None


def _phases(times: list[float]) -> list[float]:
    ordered = sorted(times)
    return ([round(ordered[0], 3), round(ordered[len(ordered) // 2], 3), round(ordered[-1], 3)]
            if ordered else [])


def _spread(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)

    def at(q: float) -> float | None:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None

    return {"p50_ms": at(0.5), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1], 1) if ordered else None}


class _Remote:
    """What the flooders need of the target, to hand to their own process (picklable)."""

    def __init__(self, target: Any) -> None:
        self.port = target.port
        self.base = target.base
        self.question_ids = list(target.question_ids)
        self.citizen_headers = list(target.citizen_headers)

    def headers_for(self, index: int) -> dict[str, str]:
        if not self.citizen_headers:
            return {"Origin": self.base}
        return dict(self.citizen_headers[index % len(self.citizen_headers)])


async def _flood(target: Any, kind: str, stop: asyncio.Event, counts: Counts) -> None:
    """Run one kind of flood until ``stop`` is set."""
    function, flooders = FLOODS[kind]
    tasks = [asyncio.create_task(function(target, stop, counts, i)) for i in range(flooders)]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _flood_process(remote: _Remote, kind: str, started: Any, stop: Any, report: Any) -> None:
    """The flooders' own process: starts at once, says when, floods until ``stop`` is set."""

    async def main() -> Counts:
        counts = Counts()
        started.send(counts.began)
        done = asyncio.Event()
        flooding = asyncio.create_task(_flood(remote, kind, done, counts))
        while not stop.is_set():
            await asyncio.sleep(0.05)
        done.set()
        await flooding
        return counts

    report.send(vars(asyncio.run(main())))


async def run_flood(target: Any, kind: str, seconds: float,
                    log: Any = print, separate: bool = False) -> dict[str, Any]:
    """On a fresh server: the baseline, then one kind of flood; its record (see above).

    With ``separate`` the flooders run in a process of their own instead of the probe's event
    loop, so the probe's reads never wait behind the flood's acknowledgements; on two cores
    that process then takes CPU from the server too (docs/performance.md, flood12).
    """
    probe = Probe(target)
    process = None
    try:
        cpu = target.cpu_ticks()
        baseline = await probe.measure(seconds, "baseline")
        base = {**_spread(baseline), "expected": probe.expected, "delivered": len(baseline),
                "cpu_ms_total": round((target.cpu_ticks() - cpu) * 1000 / _tick(), 1)}
        flooders = FLOODS[kind][1]
        counts = Counts()
        cpu = target.cpu_ticks()
        if separate:
            context = multiprocessing.get_context("spawn")
            started, started_in = context.Pipe(duplex=False)
            report, report_in = context.Pipe(duplex=False)
            halt = context.Event()
            process = context.Process(target=_flood_process, daemon=True, args=(
                _Remote(target), kind, started_in, halt, report_in))
            process.start()
            started_in.close()  # the child's ends: a child that dies then ends recv()
            report_in.close()
            probe.origin = await asyncio.to_thread(started.recv)
        else:
            stop = asyncio.Event()
            probe.origin = counts.began = time.perf_counter()
            flooding = asyncio.create_task(_flood(target, kind, stop, counts))
        await asyncio.sleep(1.0 - (time.perf_counter() - probe.origin))  # under way first
        samples = await probe.measure(seconds, kind)
        if separate:
            halt.set()
            found = await asyncio.to_thread(report.recv)
            counts.__dict__.update(found)
            if process is not None:
                process.join(10)
        else:
            stop.set()
            await flooding
        cpu_ms = round((target.cpu_ticks() - cpu) * 1000 / _tick(), 1)
    finally:
        probe.close()
        if process is not None and process.is_alive():
            process.kill()
    spread = _spread(samples)
    record = {"scenario": "flood", "server": target.name, "config": target.config,
              "flood": kind, "flooders": flooders, "seconds": seconds, **spread,
              "flooders_process": "own" if separate else "the probe's",
              "expected": probe.expected, "delivered": len(samples),
              "baseline_p50_ms": base["p50_ms"], "baseline_p99_ms": base["p99_ms"],
              "baseline_max_ms": base["max_ms"],
              "baseline_delivered": f"{base['delivered']}/{base['expected']}",
              "delay_p99_ms": (round(spread["p99_ms"] - base["p99_ms"], 1)
                               if spread["p99_ms"] is not None and base["p99_ms"] is not None
                               else None),
              "flood_sent": counts.sent, "flood_accepted": counts.accepted,
              "flood_refused": counts.refused, "flood_closed": counts.closed,
              "flood_errors": counts.errors, "cpu_ms_total": cpu_ms,
              # Seconds from the flood's start: the probe's join, the flooders' joins (first,
              # median, last), and the five slowest samples as [sent at, delay ms].
              "probe_joined_s": probe.joined_s,
              "flood_joined_s": _phases(counts.joined_s),
              "slowest": sorted(probe.timeline, key=lambda s: -s[1])[:5]}
    log(f"  flood {kind}: p50 {record['p50_ms']} ms, p99 {record['p99_ms']} ms, max "
        f"{record['max_ms']} ms, delivered {record['delivered']}/{record['expected']} "
        f"(baseline p50 {base['p50_ms']}, p99 {base['p99_ms']} ms, delivered "
        f"{record['baseline_delivered']}); delay p99 {record['delay_p99_ms']} ms; flooders sent "
        f"{counts.sent}, accepted {counts.accepted}, refused {counts.refused}, closed "
        f"{counts.closed} {counts.errors}; probe joined at {probe.joined_s} s, flooders "
        f"joined {record['flood_joined_s']} s, slowest {record['slowest']}")
    return record


async def recovered(target: Any, limit: float = 60.0) -> None:
    """Wait (up to ``limit`` s) until the server answers a page again, plus a second."""
    from servers import HTTP

    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        try:
            await asyncio.to_thread(HTTP.get, target.base + "/", timeout=5)
            break
        except Exception:  # still busy or refusing: wait
            await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)


def _tick() -> int:
    return os.sysconf("SC_CLK_TCK")


def flood_env() -> dict[str, str]:
    """qa_live's production limits (the other scenarios lift them: bench/servers.py)."""
    return {"CITIZEN_CONNECTIONS_PER_IP": "1000", "SOCKET_IP_EVENT_RATE_LIMIT": "600/10 seconds",
            "SOCKET_EVENT_RATE_LIMIT": "30/10 seconds", "QUESTION_MIN_INTERVAL_S": "10",
            "QUESTION_MAX_PER_VISITOR": "20"}
