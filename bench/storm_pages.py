"""A crowd arriving (issue 17): new visitors load the live page, then join on /qa.

Each simulated citizen is a new visitor: no cookie, ``Accept-Encoding: gzip``, a connection of
its own (``Connection: close``), from one of 64 loopback addresses (127.0.2.1-64, so a 10,000
crowd does not run out of ports). It reads the whole page, keeps the cookies the page set (the
signed visitor cookie the /qa socket asks for), then connects a WebSocket with them and joins
(bench/loadgen.py's ``citizen``). Used by bench/harness.py's ``storm-pages`` scenario:

* :func:`pages_only`: ``size`` new visitors load the page and leave: the server's CPU per page;
* :func:`storm`: ``size`` new visitors each load the page and then join: the time from the
  first page request to the last join, beside the Node reference's socket-only connect storm
  (harness.py runs that on bench/node/server.js in the same run).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from loadgen import Tally, citizen

ADDRESSES = 64
PAGE_GATE = 64  # page requests in flight at once (as the connect storm's handshakes)


def address(index: int) -> str:
    """The loopback source address of citizen ``index``."""
    return f"127.0.2.{1 + index % ADDRESSES}"


@dataclass
class Pages:
    """What the page loads of one run saw."""

    ok: int = 0
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    times_ms: list[float] = field(default_factory=list)
    body_bytes: int = 0
    encodings: dict[str, int] = field(default_factory=dict)
    no_cookie: int = 0

    def fail(self, reason: str) -> None:
        self.failures += 1
        self.errors[reason] = self.errors.get(reason, 0) + 1


async def load_page(host: str, port: int, path: str, local_addr: str,
                    pages: Pages) -> str | None:
    """GET ``path`` as a new visitor; the Cookie header its Set-Cookie lines make, or None."""
    began = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(local_addr, 0))
    except OSError as exc:
        pages.fail(f"{type(exc).__name__}: {str(exc)[:60]}")
        return None
    try:
        writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept-Encoding: gzip\r\n"
                      "Accept: text/html\r\nUser-Agent: qa-live-bench-new-visitor\r\n"
                      "Connection: close\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)[1] if " " in lines[0] else "?"
        headers = [line.split(":", 1) for line in lines[1:] if ":" in line]
        length = next((int(v) for k, v in headers if k.lower() == "content-length"), None)
        body = await (reader.readexactly(length) if length is not None else reader.read())
        cookies = [v.strip().split(";", 1)[0] for k, v in headers if k.lower() == "set-cookie"]
        encoding = next((v.strip() for k, v in headers if k.lower() == "content-encoding"),
                        "identity")
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        pages.fail(f"{type(exc).__name__}: {str(exc)[:60]}")
        return None
    finally:
        writer.close()
    if status != "200":
        pages.fail(f"HTTP {status}")
        return None
    pages.ok += 1
    pages.times_ms.append((time.perf_counter() - began) * 1000)
    pages.body_bytes = max(pages.body_bytes, len(body))
    pages.encodings[encoding] = pages.encodings.get(encoding, 0) + 1
    if not cookies:
        pages.no_cookie += 1
    return "; ".join(cookies)


async def pages_only(host: str, port: int, path: str, size: int) -> tuple[Pages, float]:
    """``size`` new visitors load the page (``PAGE_GATE`` at a time); what they saw, seconds."""
    pages = Pages()
    gate = asyncio.Semaphore(PAGE_GATE)

    async def one(index: int) -> None:
        async with gate:
            await load_page(host, port, path, address(index), pages)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(size)))
    return pages, time.perf_counter() - began


async def storm(host: str, port: int, path: str, slug: str, size: int, join_wait: float,
                origin: str) -> tuple[Pages, Tally, float, list[asyncio.Task[None]]]:
    """``size`` new visitors each load the page, then join; seconds from the first page request
    to the last join (or the wait's end). The joined citizens' tasks are returned to hang up."""
    pages = Pages()
    tally = Tally(expected_clients=size)
    page_gate = asyncio.Semaphore(PAGE_GATE)
    join_gate = asyncio.Semaphore(64)
    tasks: list[asyncio.Task[None]] = []

    async def one(index: int) -> None:
        async with page_gate:
            cookie = await load_page(host, port, path, address(index), pages)
        if cookie is None:
            tally.fail("page failed")
            return
        await citizen(host, port, "/qa", slug, {"Cookie": cookie, "Origin": origin}, tally,
                      join_gate, join_timeout=join_wait, local_addr=address(index))

    began = time.perf_counter()
    tasks += [asyncio.create_task(one(i)) for i in range(size)]
    try:
        await asyncio.wait_for(tally.all_joined.wait(), timeout=join_wait)
    except TimeoutError:
        pass
    return pages, tally, time.perf_counter() - began, tasks
