"""A join on a real server (gevent, eventlet): the connect and the acknowledgement written
straight to the WebSocket (qa_live/transport/unicast.py), whole and in order, the same bytes as
the queue's path; long polling still served by the queue."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import pytest
import websocket

from tests.live_server import start_live_server  # noqa: F401 - a fixture
from tests.test_fanout import (
    JOIN,
    SLUG,
    Citizen,
    PollingCitizen,
    _read_websocket,
    _staff_publisher,
    _visitor_cookie,
    _wait_for,
)


def _join_by_hand(server: Any, name: str) -> tuple[Citizen, websocket.WebSocket, dict]:
    """Connect a raw WebSocket, open /qa, join; the join's acknowledgement."""
    citizen = Citizen(name)
    ws = websocket.create_connection(
        server.ws_url + "/socket.io/?EIO=4&transport=websocket", timeout=60,
        origin=server.url, cookie=_visitor_cookie(server.url))
    assert ws.recv().startswith("0{")
    ws.send("40/qa,")
    connected = ws.recv()
    assert re.fullmatch(r'40/qa,\{"sid":"[^"]+"\}', connected), connected
    ws.send(JOIN)
    while True:
        reply = ws.recv()
        if reply == "2":
            ws.send("3")
        elif reply.startswith("43/qa,1"):
            ack = json.loads(reply[len("43/qa,1"):])[0]
            break
    threading.Thread(target=_read_websocket, args=(citizen, ws), daemon=True).start()
    return citizen, ws, ack


@pytest.mark.parametrize("mode", ["gevent", "eventlet"])
def test_a_join_is_answered_straight_to_the_websocket(start_live_server, mode):
    server = start_live_server(mode=mode, demo=True)
    publish = _staff_publisher(server)
    joined = [_join_by_hand(server, f"ws-{k}") for k in range(3)]
    polling = PollingCitizen(server, "polling")  # its acks go through the queue, as before
    try:
        for _citizen, _ws, ack in joined:
            assert ack["ok"] and ack["mode"] == "snapshot"
            snapshot = ack["snapshot"]
            assert snapshot["session"]["slug"] == SLUG and snapshot["questions"]
            assert snapshot == joined[0][2]["snapshot"]  # one session version, one snapshot
        for k in range(3):
            publish(k)
        citizens = [c for c, _ws, _ack in joined] + [polling]
        _wait_for(citizens, 3)
        first = joined[0][0].seqs()
        assert len(first) == 3 and first[0] > joined[0][2]["snapshot"]["seq"]
        for citizen in citizens:
            assert citizen.seqs() == first, (citizen.name, citizen.seqs(), citizen.errors)
    finally:
        for _citizen, ws, _ack in joined:
            ws.close()
        polling.stop()
    server.stop()
    line = [x for x in server.output().splitlines() if "packets to one socket:" in x]
    assert line, server.output()[-3000:]
    direct = int(line[-1].split("packets to one socket: ")[1].split()[0])
    # Each WebSocket citizen's /qa connect and join acknowledgement at least.
    assert direct >= 2 * len(joined), line[-1]
