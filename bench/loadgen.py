"""A lean Socket.IO 5 / Engine.IO 4 load generator: one asyncio coroutine per simulated citizen.

No client library: each citizen is a raw WebSocket (RFC 6455 framing on asyncio streams) that
speaks just enough Engine.IO/Socket.IO to connect to a namespace, send ``join`` with an ack, answer
the server's pings and look for publish markers (``bch#<k>#``) in ``event`` packets. A citizen
keeps only its stream pair and a few locals, so 10,000 of them fit in one process.

Used by bench/harness.py; the functions here know nothing of which server is on the other side.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import struct
import time
from dataclasses import dataclass, field

MARK = re.compile(rb"bch#(\d+)#")
ZERO_MASK = b"\x00\x00\x00\x00"  # a client frame must be masked; a zero key is a valid key


class WsClosed(Exception):
    """The server closed the WebSocket or the TCP connection."""


@dataclass
class Tally:
    """What all citizens of one run observed, shared by their coroutines."""

    joined: int = 0
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    connect_ms: list[float] = field(default_factory=list)
    receipts: dict[int, list[float]] = field(default_factory=dict)  # publish k -> receive times
    other_events: int = 0
    message_bytes: int = 0  # size of the last marked event packet
    all_joined: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    expected_clients: int = 0
    fanout_started: bool = False  # citizens joining after this only listen, nothing counted
    late: int = 0

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


async def ws_open(host: str, port: int, path: str,
                  headers: dict[str, str]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """TCP connect and WebSocket upgrade; raise on anything but 101."""
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
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


async def citizen(host: str, port: int, namespace: str, slug: str, headers: dict[str, str],
                  tally: Tally, gate: asyncio.Semaphore, join_timeout: float) -> None:
    """Connect, join the session's room, then listen until tally.stop is set."""
    path = "/socket.io/?EIO=4&transport=websocket"
    ns = namespace.encode()
    event_prefix = b"42" + ns + b',["event"'
    writer = None
    try:
        async with gate:  # only so many handshakes in flight: the listen backlog is finite
            started = time.perf_counter()
            reader, writer = await ws_open(host, port, path, headers)
            async with asyncio.timeout(join_timeout):
                opened = await _read_message(reader, writer)
                if not opened.startswith(b"0"):
                    raise WsClosed("no engine.io open packet")
                writer.write(_frame(f"40{namespace},"))
                reply = await _read_message(reader, writer)
                while reply == b"2":
                    writer.write(_frame("3"))
                    reply = await _read_message(reader, writer)
                if not reply.startswith(b"40" + ns):
                    raise WsClosed("namespace refused: " + reply[:120].decode(errors="replace"))
                writer.write(_frame(f'42{namespace},1["join",{{"slug":"{slug}"}}]'))
                ack = b"43" + ns + b",1"
                while True:
                    reply = await _read_message(reader, writer)
                    if reply == b"2":
                        writer.write(_frame("3"))
                    elif reply.startswith(ack):
                        break
                if b'"ok":false' in reply[:200]:
                    raise WsClosed("join refused: " + reply[:160].decode(errors="replace"))
        tally.connect_ms.append((time.perf_counter() - started) * 1000)
        tally.joined += 1
        tally._check_done()
        if tally.fanout_started:
            tally.late += 1
            receipts: dict[int, list[float]] = {}
        else:
            receipts = tally.receipts
        stop = asyncio.ensure_future(tally.stop.wait())
        while True:
            read = asyncio.ensure_future(_read_message(reader, writer))
            done, _pending = await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
            if read not in done:
                read.cancel()
                break
            message = read.result()
            now = time.perf_counter()
            if message == b"2":
                writer.write(_frame("3"))
            elif message.startswith(event_prefix):
                marks = MARK.findall(message)
                if marks:
                    tally.message_bytes = len(message)
                    receipts.setdefault(max(int(m) for m in marks), []).append(now)
                else:
                    tally.other_events += 1
    except (WsClosed, OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
        if not tally.stop.is_set():
            tally.fail(type(exc).__name__ + ": " + str(exc)[:80])
    finally:
        if writer is not None:
            writer.close()
