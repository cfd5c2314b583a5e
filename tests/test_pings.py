"""Engine.IO pings from one timer (qa_live/transport/pings.py), as a page sees them.

A page must get its PING every interval as long as it answers with PONG, and a page that stops
answering must be closed after the interval and the timeout, under both production servers;
the queue must send what is due, in order, and skip what closed.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import pytest
import websocket

from qa_live.transport import pings
from tests.live_server import start_live_server  # noqa: F401 - a fixture

FAST_PINGS = {"SOCKETIO_PING_INTERVAL_S": "1", "SOCKETIO_PING_TIMEOUT_S": "1.5"}


def _open(server: Any) -> tuple[websocket.WebSocket, dict[str, Any]]:
    ws = websocket.create_connection(
        f"ws://{server.host}:{server.port}/socket.io/?EIO=4&transport=websocket",
        origin=server.url, timeout=10)
    opening = ws.recv()
    assert opening.startswith("0")
    return ws, json.loads(opening[1:])


def _close(ws: websocket.WebSocket) -> None:
    with contextlib.suppress(Exception):
        ws.close(timeout=1)
    ws.shutdown()


@pytest.mark.parametrize("mode", ["gevent", "eventlet"])
def test_a_page_that_answers_gets_a_ping_every_interval_and_stays(start_live_server, mode):
    server = start_live_server(mode=mode, env=FAST_PINGS)
    ws, opening = _open(server)
    assert opening["pingInterval"] == 1000 and opening["pingTimeout"] == 1500
    pinged: list[float] = []
    began = time.monotonic()
    try:
        while time.monotonic() - began < 4.6:
            ws.settimeout(max(0.1, 4.6 - (time.monotonic() - began)))
            try:
                message = ws.recv()
            except websocket.WebSocketTimeoutException:
                break
            if message == "2":
                pinged.append(time.monotonic() - began)
                ws.send("3")
        assert ws.connected
    finally:
        _close(ws)
    # One a second (sent up to PING_RESOLUTION_S late): four in 4.6 s, none early.
    assert len(pinged) >= 3, pinged
    gaps = [b - a for a, b in zip(pinged, pinged[1:], strict=False)]
    assert all(0.9 <= gap <= 1.0 + pings.PING_RESOLUTION_S + 0.4 for gap in gaps), gaps


@pytest.mark.parametrize("mode", ["gevent", "eventlet"])
def test_a_page_that_stops_answering_is_closed(start_live_server, mode):
    server = start_live_server(mode=mode, env=FAST_PINGS)
    ws, _opening = _open(server)
    began = time.monotonic()
    closed_after = None
    try:
        ws.settimeout(8)
        while time.monotonic() - began < 8:
            try:
                message = ws.recv()
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                closed_after = time.monotonic() - began
                break
            if message in ("", None) or not ws.connected:
                closed_after = time.monotonic() - began
                break
            # never a PONG
    finally:
        _close(ws)
    # The interval (1 s) and the timeout (1.5 s), with the writer's and reader's slack.
    assert closed_after is not None and closed_after < 7, closed_after


class _Socket:
    def __init__(self, name: str, fail: bool = False) -> None:
        self.name, self.fail = name, fail
        self.closing = self.closed = False
        self.last_ping: float | None = None
        self.sent: list[Any] = []

    def send(self, pkt: Any) -> None:
        if self.fail:
            raise OSError("gone")
        self.sent.append(pkt.packet_type)


class _Eio:
    ping_interval = 25
    started = 0
    logger = __import__("logging").getLogger("test_pings")

    def start_background_task(self, target: Any) -> None:
        self.started += 1


def test_the_queue_pings_what_is_due_in_order_and_skips_what_closed():
    eio = _Eio()
    queue = pings.PingQueue(eio)
    first, gone, broken, later = _Socket("a"), _Socket("b"), _Socket("c", fail=True), _Socket("d")
    for sock in (first, gone, broken):
        queue.add(sock)
    assert eio.started == 1  # one timer for the server, not one per socket
    queue.waiting.append((queue.waiting[-1][0] + 10, later))
    gone.closed = True
    due = queue.waiting[2][0]
    assert queue.send_due(due - 0.01) == 0 and not first.sent  # nothing before it is due
    assert queue.send_due(due) == 1
    assert first.sent == [2] and first.last_ping is not None  # 2: PING
    assert gone.sent == [] and broken.sent == []
    assert [s for _d, s in queue.waiting] == [later]  # the failing one did not stop the rest
    queue.add(first)
    assert eio.started == 1
