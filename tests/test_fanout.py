"""Broadcasts encoded once and written straight to WebSockets (qa_live/transport/fanout.py).

First the pieces, with stand-in sockets: the frame is byte for byte what gevent-websocket and
eventlet would write, and `deliver` writes directly only when nothing else is waiting for a
socket, keeps each socket's order, queues the rest of a frame the kernel took in part, and keeps
going past a dead connection. Then the real thing: ``wsgi.py`` under gevent and eventlet, with a
raw WebSocket, a long-polling client and an upgrading one in the same room while staff publish
quickly — every client gets every event once and in order, the WebSocket receives exactly the
packets the polling client does, and a client dropping mid-broadcast changes nothing for the
others.
"""

from __future__ import annotations

import json
import socket as socketlib
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import pytest
import requests
import websocket
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from qa_live.transport import fanout
from qa_live.transport.packets import Packet, Plain, Prepared
from tests.live_server import start_live_server  # noqa: F401 - a fixture

SLUG = "demo-11"
JOIN = '42/qa,1["join",{"slug":"' + SLUG + '"}]'
PUBLISHES = 25


# The pieces -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 125, 126, 1000, 65535, 65536, 70000])
def test_a_frame_is_what_gevent_websocket_and_eventlet_would_write(size):
    from geventwebsocket.websocket import Header

    with warnings.catch_warnings():  # importing eventlet warns that it is deprecated
        warnings.simplefilter("ignore")
        from eventlet.websocket import RFC6455WebSocket

    text = "4" + "问" * (size // 3) + "x" * (size % 3)
    payload = text.encode()
    frame = fanout.websocket_frame(payload)
    assert frame == bytes(Header.encode_header(True, 0x1, b"", len(payload), 0)) + payload

    class NoExtensions:
        extensions: dict[str, Any] = {}
        client = False

        def _get_permessage_deflate_enc(self) -> None:
            return None

    assert frame == RFC6455WebSocket._pack_message(NoExtensions(), text)


class FakeQueue:
    def __init__(self) -> None:
        self.items: list[Any] = []

    def qsize(self) -> int:
        return len(self.items)

    def put(self, item: Any) -> None:
        self.items.append(item)


class FakeSocket:
    """An Engine.IO socket as `deliver` sees it."""

    def __init__(self, websocket_open: bool = True) -> None:
        self.closed = self.closing = self.upgrading = False
        self.upgraded = websocket_open
        self.last_ping: float | None = None
        self.queue = FakeQueue()
        self.wire = bytearray()  # what reached the kernel
        self.accept: list[int | Exception] = []  # per raw send: bytes taken, or an error
        if websocket_open:
            setattr(self, fanout.STATE_ATTR, fanout.WriteState(self._raw_send, self._sendall))

    @property
    def state(self) -> fanout.WriteState:
        return getattr(self, fanout.STATE_ATTR)

    def _raw_send(self, data: bytes) -> int:
        taken = self.accept.pop(0) if self.accept else len(data)
        if isinstance(taken, Exception):
            raise taken
        self.wire += data[:taken]
        return taken

    def _sendall(self, data: bytes) -> None:
        self.wire += data

    def send(self, pkt: Any) -> None:  # engineio's Socket.send: into the queue
        self.queue.put(pkt)

    def writer(self) -> fanout._WebSocketProxy:
        """The WebSocket as engineio's writer holds it (behind the proxy)."""
        return fanout._WebSocketProxy(FakeWebSocket(self), self.state)

    def drain(self) -> None:
        """What the socket's writer does: write every queued packet, through the proxy."""
        ws = self.writer()
        while self.queue.items:
            ws.send(self.queue.items.pop(0).encode())


class FakeWebSocket:
    """The library's WebSocket: frames a text and writes it all."""

    def __init__(self, sock: FakeSocket) -> None:
        self.sock = sock

    def send(self, text: str) -> None:
        self.sock.wire += fanout.websocket_frame(text.encode())


def _broadcast(sockets: dict[str, FakeSocket], text: str, skip: list[Any] | None = None,
               ping_timeout: float = 20.0) -> bytes:
    pkt = eio_packet.Packet(eio_packet.MESSAGE, text)
    frame = fanout.websocket_frame(pkt.encode().encode())
    fanout.deliver(sockets, [(f"s{k}", k) for k in sockets], skip or [None], pkt, frame,
                   ping_timeout)
    return frame


def _frames(wire: bytes) -> list[str]:
    """Split server frames (final, unmasked text) back into their texts."""
    texts, i = [], 0
    while i < len(wire):
        assert wire[i] == 0x81
        n, i = wire[i + 1], i + 2
        if n == 126:
            n, i = int.from_bytes(wire[i:i + 2], "big"), i + 2
        elif n == 127:
            n, i = int.from_bytes(wire[i:i + 8], "big"), i + 8
        texts.append(wire[i:i + n].decode())
        i += n
    return texts


def test_an_idle_websocket_is_written_directly_and_others_go_through_their_queue():
    idle, polling, busy, waiting = (FakeSocket(), FakeSocket(websocket_open=False),
                                    FakeSocket(), FakeSocket())
    busy.state.busy = True
    waiting.queue.put(eio_packet.Packet(eio_packet.MESSAGE, '3/qa,1[{"ok":true}]'))
    sockets = {"idle": idle, "polling": polling, "busy": busy, "waiting": waiting}
    frame = _broadcast(sockets, '2/qa,["event",{"seq":7}]')
    assert bytes(idle.wire) == frame and not idle.queue.items
    for sock in (polling, busy):
        assert not sock.wire and [p.data for p in sock.queue.items] == ['2/qa,["event",{"seq":7}]']
    # What was waiting stays first: the ack, then the broadcast.
    assert [p.data for p in waiting.queue.items] == ['3/qa,1[{"ok":true}]',
                                                     '2/qa,["event",{"seq":7}]']
    assert not waiting.wire


def test_a_frame_taken_in_part_is_finished_before_anything_else():
    sock = FakeSocket()
    sock.accept = [10]  # the kernel takes 10 bytes of the first frame, then has no room
    sockets = {"a": sock}
    _broadcast(sockets, '2/qa,["event",{"seq":1,"body":"' + "答" * 200 + '"}]')
    _broadcast(sockets, '2/qa,["event",{"seq":2}]')  # must not overtake the rest of seq 1
    assert len(sock.wire) == 10 and len(sock.queue.items) == 2
    sock.drain()
    texts = _frames(bytes(sock.wire))
    assert [_seq(t) for t in texts] == [1, 2]
    assert texts[0].endswith("答" * 200 + '"}]')
    _broadcast(sockets, '2/qa,["event",{"seq":3}]')  # idle again: written directly
    assert [_seq(t) for t in _frames(bytes(sock.wire))] == [1, 2, 3]


def test_a_large_broadcast_pauses_only_once_its_slice_of_time_is_used():
    sockets = {f"k{i}": FakeSocket() for i in range(fanout.CHECK_EVERY * 4)}
    pauses: list[int] = []
    pkt = eio_packet.Packet(eio_packet.MESSAGE, '2/qa,["event",{"seq":1}]')
    frame = fanout.websocket_frame(pkt.encode().encode())
    fanout.deliver(sockets, [(f"s{k}", k) for k in sockets], [None], pkt, frame, 20.0,
                   pause=lambda: pauses.append(1), pause_after=60.0)
    assert pauses == []  # a quick broadcast goes out in one go
    assert all(bytes(sock.wire) == frame for sock in sockets.values())


def test_a_large_broadcast_pauses_and_what_others_sent_meanwhile_stays_in_order():
    n = fanout.CHECK_EVERY * 2 + 10
    sockets = {f"k{i}": FakeSocket() for i in range(n)}
    late = sockets[f"k{n - 1}"]
    paused_at: list[int] = []

    def pause() -> None:  # another green thread runs: it writes to a page not reached yet
        paused_at.append(sum(1 for sock in sockets.values() if sock.wire))
        if len(paused_at) == 1:
            late.send(eio_packet.Packet(eio_packet.MESSAGE, '2/qa,["mine",{"id":5}]'))

    pkt = eio_packet.Packet(eio_packet.MESSAGE, '2/qa,["event",{"seq":9}]')
    frame = fanout.websocket_frame(pkt.encode().encode())
    fanout.deliver(sockets, [(f"s{k}", k) for k in sockets], [None], pkt, frame, 20.0,
                   pause=pause, pause_after=0.0)  # every check is due
    assert paused_at == [fanout.CHECK_EVERY, fanout.CHECK_EVERY * 2]
    assert all(bytes(sock.wire) == frame for sock in sockets.values() if sock is not late)
    late.drain()  # its writer: what was sent during the pause first, then the broadcast
    assert _frames(bytes(late.wire)) == ['42/qa,["mine",{"id":5}]', '42/qa,["event",{"seq":9}]']


def _seq(text: str) -> int:
    return json.loads(text[len("42/qa,"):])[1]["seq"]


def test_a_websocket_writer_does_not_keep_the_last_packet_it_wrote():
    # engineio's writer holds its last packet while it waits for the next; for a page whose
    # broadcasts are written directly that would be its join acknowledgement, the snapshot.
    snapshot = eio_packet.Packet(eio_packet.MESSAGE, '3/qa,1[{"ok":true,"snapshot":{}}]')
    kept = weakref.ref(snapshot)
    queue = [[snapshot]]
    poll = fanout._releasing_poll(lambda: queue.pop())
    (handed,) = poll()
    del snapshot
    assert kept() is not None  # not yet written
    assert handed.encode() == '43/qa,1[{"ok":true,"snapshot":{}}]'
    assert kept() is None  # written: only the writer's reference to the wrapper remains
    assert fanout._releasing_poll(lambda: [])() == []  # a closed socket still reads as closed


def test_the_packet_class_finds_bytes_anywhere_but_never_walks_a_plain_part():
    plain = Plain({"id": 1, "answers": [{"body": "已答复"}]})
    assert not Packet.data_is_binary(["event", {"questions": [plain, plain]}])
    assert Packet.data_is_binary(["event", {"questions": [{"a": [1, {"b": b"\x00"}]}]}])
    assert Packet.data_is_binary([bytearray(b"x")])
    # python-socketio sends a payload with bytes as a binary event with attachments.
    encoded = Packet(sio_packet.EVENT, data=["file", {"raw": b"\x01"}], namespace="/qa").encode()
    assert isinstance(encoded, list) and encoded[1] == b"\x01"
    text = Packet(sio_packet.EVENT, data=["event", plain], namespace="/qa").encode()
    assert text == '2/qa,["event",{"id":1,"answers":[{"body":"已答复"}]}]'


def test_a_prepared_part_is_encoded_once_and_sent_exactly_as_json_would_write_it():
    question = Prepared({"id": 7, "text": '问"题\\u0000', "answers": [{"body": "\x00答复"}]})
    data = ["event", {"questions": [question, Plain(question, upvotes=2), question],
                      "mine": [{"text": "\x000"}]}]
    expected = '2/qa,' + json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    assert Packet(sio_packet.EVENT, data=data, namespace="/qa").encode() == expected
    # Its text is kept: a change made afterwards (which the code never makes) would not show.
    question["text"] = "changed"
    assert "changed" not in Packet(sio_packet.EVENT, data=data, namespace="/qa").encode()


def test_no_room_at_all_queues_the_packet_whole():
    sock = FakeSocket()
    sock.accept = [BlockingIOError()]
    _broadcast({"a": sock}, '2/qa,["event",{"seq":1}]')
    assert not sock.wire and [p.data for p in sock.queue.items] == ['2/qa,["event",{"seq":1}]']


def test_a_dead_connection_does_not_stop_the_broadcast():
    first, dead, last = FakeSocket(), FakeSocket(), FakeSocket()
    dead.accept = [ConnectionResetError()]
    sockets = {"first": first, "dead": dead, "last": last}
    frame = _broadcast(sockets, '2/qa,["event",{"seq":1}]')
    assert bytes(first.wire) == frame and bytes(last.wire) == frame
    assert dead.state.closed and not dead.wire
    _broadcast(sockets, '2/qa,["event",{"seq":2}]')  # from now on: the normal path, which
    assert [p.data for p in dead.queue.items] == ['2/qa,["event",{"seq":2}]']  # closes it


def test_skipped_closed_and_timed_out_sockets():
    kept, skipped, closed, silent = FakeSocket(), FakeSocket(), FakeSocket(), FakeSocket()
    closed.closed = True
    silent.last_ping = time.time() - 60  # no pong for a minute: engineio's send closes it
    sockets = {"kept": kept, "skipped": skipped, "closed": closed, "silent": silent}
    frame = _broadcast(sockets, '2/qa,["event",{"seq":1}]', skip=["sskipped"])
    assert bytes(kept.wire) == frame
    assert not skipped.wire and not skipped.queue.items
    assert not closed.wire and not closed.queue.items
    assert not silent.wire and len(silent.queue.items) == 1


def test_the_writers_own_packets_and_broadcasts_keep_their_order():
    sock = FakeSocket()
    sockets = {"a": sock}
    sock.writer().send('3/qa,1[{"ok":true}]')  # the writer's own packet (an ack)
    _broadcast(sockets, '2/qa,["event",{"seq":1}]')
    sock.state.busy = True  # the writer is in the middle of a write: the broadcast waits
    _broadcast(sockets, '2/qa,["event",{"seq":2}]')
    sock.state.busy = False
    sock.drain()
    assert _frames(bytes(sock.wire)) == ['3/qa,1[{"ok":true}]', '42/qa,["event",{"seq":1}]',
                                         '42/qa,["event",{"seq":2}]']


def _manager(cls: type) -> Any:
    import socketio

    manager = cls()
    manager.fast = False  # no Engine.IO server here: only the rooms are under test

    class Server:
        packet_class = socketio.packet.Packet

        class eio:  # stands in for the attribute of the same name
            async_mode = "threading"
            ids = iter(range(10**9))

            @classmethod
            def generate_id(cls) -> str:
                return f"id{next(cls.ids)}"

    manager.set_server(Server)
    return manager


def test_the_room_index_agrees_with_python_socketios_rooms():
    import random

    import socketio

    ours, theirs = _manager(fanout.FastEmitManager), _manager(socketio.Manager)
    rng = random.Random(7)
    sids: list[str] = []
    for step in range(3000):
        action = rng.random()
        if action < 0.3 or not sids:
            for manager in (ours, theirs):
                sid = manager.connect(f"e{step}", "/qa")
            sids.append(sid)
        elif action < 0.6:
            room = f"r{rng.randrange(20)}"
            sid = rng.choice(sids)
            for manager in (ours, theirs):
                manager.enter_room(sid, "/qa", room)
        elif action < 0.8:
            room, sid = f"r{rng.randrange(20)}", rng.choice(sids)
            for manager in (ours, theirs):
                manager.leave_room(sid, "/qa", room)
        elif action < 0.97:
            sid = sids.pop(rng.randrange(len(sids)))
            for manager in (ours, theirs):
                manager.disconnect(sid, "/qa")
        else:
            room = f"r{rng.randrange(20)}"
            for manager in (ours, theirs):
                manager.close_room(room, "/qa")
        if step % 100 == 0 or step == 2999:
            assert {r: dict(m) for r, m in ours.rooms.get("/qa", {}).items()} == {
                r: dict(m) for r, m in theirs.rooms.get("/qa", {}).items()}
            for sid in sids:
                assert sorted(map(str, ours.get_rooms(sid, "/qa"))) == sorted(
                    map(str, theirs.get_rooms(sid, "/qa")))


def test_thousands_of_pages_leaving_at_once_cost_each_its_own_rooms():
    manager = _manager(fanout.FastEmitManager)
    sids = []
    for n in range(20_000):
        sid = manager.connect(f"e{n}", "/qa")
        manager.enter_room(sid, "/qa", f"v:{n}")
        manager.enter_room(sid, "/qa", "s:1")
        sids.append(sid)
    started = time.perf_counter()
    for sid in sids:
        manager.disconnect(sid, "/qa")
    # python-socketio's own manager looks through every room for each: minutes at this size.
    assert time.perf_counter() - started < 5
    assert manager.rooms == {} and manager._rooms_of == {}


# The real servers -----------------------------------------------------------------------------


class Citizen:
    """A page's socket on /qa: joins the demo session and keeps every raw event packet."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[str] = []  # raw Socket.IO packets "2/qa,["event",…]"
        self.errors: list[str] = []
        self.done = threading.Event()

    def seqs(self) -> list[int]:
        return [json.loads(text[len('2/qa,'):])[1]["seq"] for text in self.events]


def _visitor_cookie(base: str) -> str:
    http = requests.Session()
    http.trust_env = False
    http.get(f"{base}/s/{SLUG}", timeout=10).raise_for_status()
    return f"qa_visitor={http.cookies['qa_visitor']}"


def _websocket_citizen(server: Any, name: str) -> tuple[Citizen, websocket.WebSocket]:
    """A raw WebSocket speaking Engine.IO 4 / Socket.IO 5 by hand, joined to the session."""
    citizen = Citizen(name)
    ws = websocket.create_connection(
        server.ws_url + "/socket.io/?EIO=4&transport=websocket", timeout=60,
        origin=server.url, cookie=_visitor_cookie(server.url))
    assert ws.recv().startswith("0{")
    ws.send("40/qa,")
    assert ws.recv().startswith("40/qa,")
    ws.send(JOIN)
    while True:
        reply = ws.recv()
        if reply == "2":
            ws.send("3")
        elif reply.startswith("43/qa,1"):
            assert json.loads(reply[len("43/qa,1"):])[0]["ok"]
            break

    threading.Thread(target=_read_websocket, args=(citizen, ws), daemon=True).start()
    return citizen, ws


class PollingCitizen(Citizen):
    """Engine.IO long-polling by hand, joined to the session; may upgrade to a WebSocket."""

    def __init__(self, server: Any, name: str) -> None:
        super().__init__(name)
        self.server = server
        self.http = requests.Session()
        self.http.trust_env = False
        self.cookie = _visitor_cookie(server.url)
        self.http.headers.update({"Cookie": self.cookie, "Origin": server.url})
        base = f"{server.url}/socket.io/?EIO=4&transport=polling"
        self.sid = json.loads(self.http.get(base, timeout=10).text[1:])["sid"]
        self.url = f"{base}&sid={self.sid}"
        self.stopped = threading.Event()
        self.upgrading = threading.Event()
        self.ws: websocket.WebSocket | None = None
        self.post("40/qa,")
        assert any(p.startswith("40/qa,") for p in self.poll())
        self.post(JOIN)
        joined = False
        while not joined:
            joined = any(p.startswith("43/qa,1") for p in self.poll())
        self.reader = threading.Thread(target=self._read_polling, daemon=True)
        self.reader.start()

    def post(self, text: str) -> None:
        assert self.http.post(self.url, data=text.encode(), timeout=10).status_code == 200

    def poll(self) -> list[str]:
        """One long-poll: the packets it brought, pings answered, events kept in order."""
        packets = self.http.get(self.url, timeout=60).text.split("\x1e")
        for p in packets:
            if p == "2":
                self.post("3")
            elif p.startswith('42/qa,["event"'):
                self.events.append(p[1:])
        return packets

    def _read_polling(self) -> None:
        try:
            while not self.stopped.is_set():
                if "6" in self.poll() and self.upgrading.is_set():
                    return  # the server ended polling for the upgrade (a NOOP)
        except Exception as exc:
            if not self.stopped.is_set():
                self.errors.append(repr(exc))

    def upgrade(self) -> None:
        """Move to a WebSocket as a browser does: probe, let the last poll finish, upgrade."""
        ws = websocket.create_connection(
            self.server.ws_url + f"/socket.io/?EIO=4&transport=websocket&sid={self.sid}",
            timeout=60, origin=self.server.url, cookie=self.cookie)
        self.upgrading.set()
        ws.send("2probe")
        assert ws.recv() == "3probe"
        self.reader.join(timeout=30)  # whatever the last poll carried comes before the WebSocket
        assert not self.reader.is_alive()
        ws.send("5")
        self.ws = ws
        threading.Thread(target=_read_websocket, args=(self, ws), daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        if self.ws is not None:
            self.ws.close()


def _read_websocket(citizen: Citizen, ws: websocket.WebSocket) -> None:
    try:
        while True:
            text = ws.recv()
            if text == "2":
                ws.send("3")
            elif text.startswith('42/qa,["event"'):
                citizen.events.append(text[1:])
    except Exception as exc:  # closed by the test
        citizen.errors.append(repr(exc))
    finally:
        citizen.done.set()


def _staff_publisher(server: Any) -> Callable[[int], None]:
    token = server.flask("api", "token", "host", "--name", "fanout").stdout.strip().splitlines()[-1]
    http = requests.Session()
    http.trust_env = False
    http.headers["Authorization"] = f"Bearer {token}"
    info = http.get(f"{server.url}/api/v1/sessions/{SLUG}", timeout=10).json()
    session_id = info["session"]["id"]

    def publish(k: int) -> None:
        body = f"第{k}条通知：" + "请留意现场答复。" * (1 + k % 7)
        response = http.post(f"{server.url}/api/v1/staff/sessions/{session_id}/actions/post",
                             json={"kind": "notice", "body": body}, timeout=30)
        assert response.status_code == 200, response.text

    return publish


def _wait_for(citizens: list[Citizen], count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(len(c.events) >= count for c in citizens):
            return
        time.sleep(0.05)


@pytest.mark.parametrize("mode", ["gevent", "eventlet"])
def test_websocket_polling_and_upgrading_clients_get_every_event_once_in_order(
        start_live_server, mode):
    server = start_live_server(mode=mode, demo=True)
    publish = _staff_publisher(server)
    raw_a, ws_a = _websocket_citizen(server, "websocket")
    raw_b, ws_b = _websocket_citizen(server, "websocket-2")
    _dropped, ws_dropped = _websocket_citizen(server, "dropped")
    dropped_socket = ws_dropped.sock
    polling = PollingCitizen(server, "polling")
    upgrading = PollingCitizen(server, "upgrading")
    citizens: list[Citizen] = [raw_a, raw_b, polling, upgrading]

    def staff() -> None:
        # Staff publish as fast as the API answers; meanwhile one phone vanishes without a
        # goodbye (its TCP connection cut), which must not disturb anyone else's delivery.
        for k in range(PUBLISHES):
            publish(k)
            if k == PUBLISHES // 3:
                dropped_socket.shutdown(socketlib.SHUT_RDWR)
                dropped_socket.close()

    publisher = threading.Thread(target=staff)
    publisher.start()
    try:
        _wait_for([raw_a], 5)
        upgrading.upgrade()  # in the middle of the stream of broadcasts
        publisher.join(timeout=120)
        _wait_for(citizens, PUBLISHES)
        first = raw_a.seqs()[0] if raw_a.events else 0
        expected = list(range(first, first + PUBLISHES))
        for citizen in citizens:
            assert citizen.seqs() == expected, (citizen.name, citizen.seqs(), citizen.errors)
        # The WebSockets got exactly the packets python-socketio's normal path (the polling
        # client's queue) carried, byte for byte.
        assert raw_a.events == polling.events == raw_b.events == upgrading.events
        # Chinese goes out as UTF-8 text, not as \uXXXX escapes (half the bytes on a phone).
        assert "条通知" in raw_a.events[0] and "\\u" not in raw_a.events[0]
        assert requests.get(server.url + "/", timeout=10).status_code == 200
    finally:
        publisher.join(timeout=120)
        for ws in (ws_a, ws_b):
            ws.close()
        polling.stop()
        upgrading.stop()
    server.stop()
    # The fast path did the work: the WebSocket clients were written directly.
    tally = [line for line in server.output().splitlines() if "broadcast packets:" in line]
    assert tally, server.output()
    direct = int(tally[-1].split("broadcast packets: ")[1].split()[0])
    assert direct >= 2 * PUBLISHES, tally[-1]


def test_with_the_fast_path_off_broadcasts_take_python_socketios_own_path(
        start_live_server):
    server = start_live_server(mode="gevent", demo=True, env={"SOCKETIO_FAST_FANOUT": "0"})
    publish = _staff_publisher(server)
    raw, ws = _websocket_citizen(server, "websocket")
    polling = PollingCitizen(server, "polling")
    try:
        for k in range(3):
            publish(k)
        _wait_for([raw, polling], 3)
        assert len(raw.events) == 3 and raw.events == polling.events
    finally:
        ws.close()
        polling.stop()
    server.stop()
    assert "broadcast packets: 0 written directly, 0 queued, 0 split" in server.output()
