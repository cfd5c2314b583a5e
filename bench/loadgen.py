"""A lean Socket.IO 5 / Engine.IO 4 load generator: one asyncio coroutine per simulated citizen.

No client library: each citizen is a raw WebSocket (RFC 6455 framing on asyncio streams) that
speaks just enough Engine.IO/Socket.IO to connect to a namespace, send ``join`` with an ack, answer
the server's pings, look for publish markers (``bch#<k>#``) in ``event`` packets and read the
acks of the questions it is told to ask. A citizen is one small protocol object on its
transport, so 10,000 of them fit in one process and receiving costs little of its one core.

* :func:`citizen` / :class:`Citizen`: connect and join; the citizen then listens (fan-out
  receipts, ask acks) as a bare protocol until :func:`hang_up` closes every connection.
* :func:`staff_console`: one staff socket on ``/moderation`` that joins the session and notes
  when each asked question (marker ``ask#<k>#``) reaches it.
* :func:`intake`: asks at a steady total rate, round-robin over the joined citizens (open loop:
  each question is sent at its scheduled time, whether or not earlier ones were acknowledged).

Used by bench/harness.py; the functions here know nothing of which server is on the other side.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import struct
import time
from dataclasses import dataclass, field

MARK = re.compile(rb"bch#(\d+)#")
ASK_MARK = re.compile(rb"ask#(\d+)#")
ZERO_MASK = b"\x00\x00\x00\x00"  # a client frame must be masked; a zero key is a valid key
ASK_ACK_BASE = 2  # ack id of question k is k + 2 (1 is the join's)


class WsClosed(Exception):
    """The server closed the WebSocket or the TCP connection."""


OTHER_NAME = re.compile(rb'^[0-9]+(?:/[^,]*,)?\[?"([^"]*)"(?:,\{"seq":[0-9]+,"type":"([^"]*)")?')


def _count_other(tally: Tally, message: bytes) -> None:
    """Count an unmarked packet by its event name (an ``event`` by its envelope's type)."""
    found = OTHER_NAME.match(message[:80])
    name = "?" if found is None else ":".join(
        part.decode(errors="replace") for part in found.groups() if part)
    tally.other_names[name] = tally.other_names.get(name, 0) + 1


@dataclass
class Tally:
    """What all citizens of one run observed, shared by their coroutines."""

    joined: int = 0
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    connect_ms: list[float] = field(default_factory=list)
    receipts: dict[int, list[float]] = field(default_factory=dict)  # publish k -> receive times
    other_events: int = 0
    other_names: dict[str, int] = field(default_factory=dict)  # other_events by event (type)
    message_bytes: int = 0  # size of the last marked event packet
    all_joined: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    expected_clients: int = 0
    fanout_started: bool = False  # citizens joining after this only listen, nothing counted
    late: int = 0
    dropped: int = 0  # joined citizens whose connection the server closed while listening
    # Intake: the joined citizens' writers (asks go out on them), and per question k the time
    # it was sent, acknowledged with ok, and first seen by the staff console.
    writers: list[asyncio.WriteTransport] = field(default_factory=list)
    transports: list[asyncio.BaseTransport] = field(default_factory=list)
    asked: dict[int, float] = field(default_factory=dict)
    acked: dict[int, float] = field(default_factory=dict)
    ask_failed: dict[int, str] = field(default_factory=dict)  # k -> error code of the ack
    console: dict[int, float] = field(default_factory=dict)
    console_joined: asyncio.Event = field(default_factory=asyncio.Event)
    console_error: str = ""

    def fail(self, reason: str) -> None:
        self.failures += 1
        self.errors[reason] = self.errors.get(reason, 0) + 1
        self._check_done()

    def _check_done(self) -> None:
        if self.joined + self.failures >= self.expected_clients:
            self.all_joined.set()


def _frame(text: str, opcode: int = 1) -> bytes:
    data = text.encode()
    n = len(data)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + ZERO_MASK + data


PONG = _frame("3")


async def _read_message(reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> bytes:
    """One complete text/binary message; answers WebSocket pings on the way."""
    parts: list[bytes] = []
    while True:
        b1, b2 = await reader.readexactly(2)
        n = b2 & 0x7F
        if n == 126:
            (n,) = struct.unpack("!H", await reader.readexactly(2))
        elif n == 127:
            (n,) = struct.unpack("!Q", await reader.readexactly(8))
        mask = await reader.readexactly(4) if b2 & 0x80 else None
        data = await reader.readexactly(n) if n else b""
        if mask:
            data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
        opcode = b1 & 0x0F
        if opcode == 8:
            raise WsClosed("close frame")
        if opcode == 9:
            writer.write(struct.pack("!BB", 0x8A, 0x80 | len(data)) + ZERO_MASK + data)
            continue
        if opcode == 10:
            continue
        parts.append(data)
        if b1 & 0x80:
            return parts[0] if len(parts) == 1 else b"".join(parts)


async def ws_open(host: str, port: int, path: str, headers: dict[str, str],
                  local_addr: str | None = None,
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """TCP connect (from ``local_addr`` when given) and WebSocket upgrade; raise unless 101."""
    reader, writer = await asyncio.open_connection(
        host, port, limit=1 << 22, local_addr=(local_addr, 0) if local_addr else None)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 101" not in status:
        writer.close()
        raise WsClosed(f"upgrade refused: {status.decode(errors='replace')}")
    return reader, writer


async def _open_namespace(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                          namespace: str) -> None:
    opened = await _read_message(reader, writer)
    if not opened.startswith(b"0"):
        raise WsClosed("no engine.io open packet")
    writer.write(_frame(f"40{namespace},"))
    reply = await _read_message(reader, writer)
    while reply == b"2":
        writer.write(PONG)
        reply = await _read_message(reader, writer)
    if not reply.startswith(b"40" + namespace.encode()):
        raise WsClosed("namespace refused: " + reply[:120].decode(errors="replace"))


async def _call(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, namespace: str,
                event: str, data: dict[str, object]) -> bytes:
    """Send ``event`` with ack id 1 and return the ack packet (pings answered meanwhile)."""
    writer.write(_frame(f'42{namespace},1["{event}",'
                        + json.dumps(data, separators=(",", ":")) + "]"))
    ack = b"43" + namespace.encode() + b",1"
    while True:
        reply = await _read_message(reader, writer)
        if reply == b"2":
            writer.write(PONG)
        elif reply.startswith(ack):
            if b'"ok":false' in reply[:200]:
                raise WsClosed(f"{event} refused: " + reply[:160].decode(errors="replace"))
            return reply


def _ask_error(message: bytes) -> str:
    found = re.search(rb'"error":"([a-z_]+)"', message[:300])
    return found.group(1).decode() if found else "not_ok"


class Citizen(asyncio.Protocol):
    """One simulated citizen: a WebSocket as a bare asyncio protocol, no coroutine while it listens.

    Frames are parsed in ``data_received`` straight from the socket's bytes, so receiving a
    message costs a few microseconds of the generator's single core, not a chain of awaits:
    with 10,000 citizens the generator must not be what delays a receipt.
    """

    __slots__ = ("ack_prefix", "buf", "done", "event_prefix", "join_frame", "namespace", "ns",
                 "open_frame", "parts", "receipts", "request", "started", "state", "tally",
                 "timer", "transport")

    def __init__(self, request: bytes, namespace: str, slug: str, tally: Tally,
                 done: asyncio.Future[None], join_timeout: float) -> None:
        self.request = request
        self.namespace = namespace
        self.ns = namespace.encode()
        self.event_prefix = b"42" + self.ns + b',["event"'
        self.ack_prefix = b"43" + self.ns + b","
        self.open_frame = _frame(f"40{namespace},")
        self.join_frame = _frame(f'42{namespace},1["join",'
                                 + json.dumps({"slug": slug}, separators=(",", ":")) + "]")
        self.tally = tally
        self.done = done
        self.buf = bytearray()
        self.parts: list[bytes] = []
        self.state = 0  # 0 upgrade, 1 engine.io open, 2 namespace, 3 join ack, 4 listening
        self.receipts: dict[int, list[float]] = tally.receipts
        self.transport: asyncio.Transport | None = None
        self.started = time.perf_counter()
        loop = asyncio.get_running_loop()
        self.timer: asyncio.TimerHandle | None = loop.call_later(
            join_timeout, self._fail, "TimeoutError: no join ack")

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]
        self.request = b""

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state < 4:
            self._fail(f"closed before joining: {exc or 'EOF'}")
        elif self.state == 4:
            self._closed()

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if self.state == 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[:buf.find(b"\r\n")])
            if b" 101" not in status:
                self._fail("upgrade refused: " + status.decode(errors="replace")[:60])
                return
            del buf[:end + 4]
            self.state = 1
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b1, b2 = buf[pos], buf[pos + 1]
            length, head = b2 & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
            mask = b""
            if b2 & 0x80:
                mask = bytes(buf[pos + head:pos + head + 4])
                head += 4
            if size - pos < head + length:
                break
            payload = bytes(buf[pos + head:pos + head + length])
            pos += head + length
            if mask:
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            opcode = b1 & 0x0F
            if opcode == 8:
                if self.state < 4:
                    self._fail("close frame")
                else:
                    self._closed()
                return
            if opcode == 9:
                self.transport.write(  # type: ignore[union-attr]
                    struct.pack("!BB", 0x8A, 0x80 | len(payload)) + ZERO_MASK + payload)
                continue
            if opcode == 10:
                continue
            if not b1 & 0x80:  # a fragment: keep it until the final one
                self.parts.append(payload)
                continue
            if self.parts:
                payload = b"".join([*self.parts, payload])
                self.parts = []
            self._message(payload)
            if self.state > 4:
                return
        if pos:
            del buf[:pos]

    # -- messages -----------------------------------------------------------------------------

    def _message(self, message: bytes) -> None:
        transport = self.transport
        assert transport is not None
        if message == b"2":
            transport.write(PONG)
            return
        state = self.state
        if state == 4:
            if message.startswith(self.event_prefix):
                now = time.perf_counter()
                marks = MARK.findall(message)
                tally = self.tally
                if marks:
                    tally.message_bytes = len(message)
                    self.receipts.setdefault(max(int(m) for m in marks), []).append(now)
                else:
                    tally.other_events += 1
                    _count_other(tally, message)
            elif message.startswith(self.ack_prefix):
                now = time.perf_counter()
                skip = len(self.ack_prefix)
                end = message.find(b"[", skip)
                tally = self.tally
                if end > skip:
                    k = int(message[skip:end]) - ASK_ACK_BASE
                    if k in tally.asked:
                        if message.startswith(b'[{"ok":true', end):
                            tally.acked[k] = now
                        else:
                            tally.ask_failed[k] = _ask_error(message)
            else:
                self.tally.other_events += 1
                _count_other(self.tally, message)
        elif state == 1:
            if not message.startswith(b"0"):
                self._fail("no engine.io open packet")
                return
            transport.write(self.open_frame)
            self.state = 2
        elif state == 2:
            if not message.startswith(b"40" + self.ns):
                self._fail("namespace refused: " + message[:100].decode(errors="replace"))
                return
            transport.write(self.join_frame)
            self.state = 3
        elif state == 3 and message.startswith(self.ack_prefix + b"1["):
            if b'"ok":false' in message[:200]:
                self._fail("join refused: " + message[:140].decode(errors="replace"))
                return
            self._joined()

    def _joined(self) -> None:
        tally = self.tally
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        tally.connect_ms.append((time.perf_counter() - self.started) * 1000)
        tally.joined += 1
        tally.writers.append(self.transport)  # type: ignore[arg-type]
        if tally.fanout_started:  # joined late: listens, nothing counted
            tally.late += 1
            self.receipts = {}
        self.state = 4
        tally._check_done()
        if not self.done.done():
            self.done.set_result(None)

    def _fail(self, reason: str) -> None:
        if self.state >= 4:
            return
        self.state = 5
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.tally.fail(reason[:100])
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)

    def _closed(self) -> None:
        """The server closed a joined citizen's connection (not counted once the run is over)."""
        self.state = 5
        if not self.tally.stop.is_set():
            self.tally.dropped += 1
        if self.transport is not None:
            self.transport.close()


def _upgrade_request(host: str, port: int, headers: dict[str, str]) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET /socket.io/?EIO=4&transport=websocket HTTP/1.1", f"Host: {host}:{port}",
             "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
             "Sec-WebSocket-Version: 13", *[f"{k}: {v}" for k, v in headers.items()]]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def citizen(host: str, port: int, namespace: str, slug: str, headers: dict[str, str],
                  tally: Tally, gate: asyncio.Semaphore, join_timeout: float,
                  local_addr: str | None = None) -> None:
    """Connect one citizen and wait until it has joined (or failed); it then listens on its own.

    At most ``gate``'s count of handshakes are in flight (the listen backlog is finite). The
    citizen's transport stays open in ``tally.transports`` until :func:`hang_up`.
    """
    loop = asyncio.get_running_loop()
    async with gate:
        done: asyncio.Future[None] = loop.create_future()
        request = _upgrade_request(host, port, headers)
        try:
            transport, _protocol = await loop.create_connection(
                lambda: Citizen(request, namespace, slug, tally, done, join_timeout),
                host, port, local_addr=(local_addr, 0) if local_addr else None)
        except OSError as exc:
            tally.fail(f"{type(exc).__name__}: {str(exc)[:80]}")
            return
        tally.transports.append(transport)
        await done


def hang_up(tally: Tally) -> None:
    """Close every citizen's connection (the run is over: nothing more is counted)."""
    tally.stop.set()
    for transport in tally.transports:
        transport.close()
    tally.transports.clear()


async def staff_console(host: str, port: int, namespace: str, join: dict[str, object],
                        headers: dict[str, str], tally: Tally, timeout: float = 60) -> None:
    """A staff socket: join the session's console, then note when each asked question arrives."""
    path = "/socket.io/?EIO=4&transport=websocket"
    prefix = b"42" + namespace.encode() + b',["question"'
    writer = None
    try:
        reader, writer = await ws_open(host, port, path, headers)
        async with asyncio.timeout(timeout):
            await _open_namespace(reader, writer, namespace)
            await _call(reader, writer, namespace, "join", join)
        tally.console_joined.set()
        seen = tally.console
        while True:
            message = await _read_message(reader, writer)
            if message == b"2":
                writer.write(PONG)
            elif message.startswith(prefix):
                now = time.perf_counter()
                for mark in ASK_MARK.findall(message):
                    seen.setdefault(int(mark), now)
    except asyncio.CancelledError:
        pass
    except (WsClosed, OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
        tally.console_error = type(exc).__name__ + ": " + str(exc)[:160]
        tally.console_joined.set()
    finally:
        if writer is not None:
            writer.close()


def question_text(k: int) -> str:
    """The text of bench question k: plain, within the length limits, with its marker."""
    return f"基准测试提问 ask#{k}# 请问老旧小区加装电梯的补贴标准和申请流程是什么？"


def client_id(tag: int, k: int) -> str:
    """A UUID-shaped client_id naming the run (tag, 32 bits) and the question number."""
    return f"{tag:08x}-0000-4000-8000-{k:012x}"


async def intake(tally: Tally, namespace: str, rate: float, seconds: float, first: int,
                 tag: int, settle: float = 10.0) -> tuple[range, float]:
    """Ask ``rate`` questions per second for ``seconds``, numbered from ``first``.

    Question k goes out on citizen ``k % joined`` at its scheduled time. Returns the numbers
    sent and the largest lag (ms) of a send behind its schedule (the generator falling behind).
    Waits up to ``settle`` seconds after the last send for acks and console receipts.
    """
    writers = list(tally.writers)
    count = max(1, int(rate * seconds))
    numbers = range(first, first + count)
    if not writers:
        return range(first, first), 0.0
    started = time.perf_counter()
    lag = 0.0
    asked = tally.asked
    for i, k in enumerate(numbers):
        due = started + i / rate
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(due - now)
            now = time.perf_counter()
        lag = max(lag, now - due)
        body = json.dumps({"client_id": client_id(tag, k), "text": question_text(k)},
                          ensure_ascii=False, separators=(",", ":"))
        asked[k] = now
        writers[k % len(writers)].write(
            _frame(f'42{namespace},{k + ASK_ACK_BASE}["ask",{body}]'))
    deadline = time.perf_counter() + settle
    while time.perf_counter() < deadline:
        ok = sum(1 for k in numbers if k in tally.acked)
        failed = sum(1 for k in numbers if k in tally.ask_failed)
        seen = sum(1 for k in numbers if k in tally.console)
        if ok + failed >= count and (seen >= ok or not tally.console_joined.is_set()
                                     or tally.console_error):
            break
        await asyncio.sleep(0.05)
    return numbers, lag * 1000
