"""wsgi.py serves pages and Socket.IO under each async server it supports.

Each test starts the real ``wsgi.py`` as a subprocess (tests/live_server.py) and talks to it over
TCP: pages with requests, the Engine.IO handshake over long-polling and over a raw websocket.
"""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import websocket

from qa_live.core.serving import listening_socket
from tests.live_server import ROOT, server_env, start_live_server  # noqa: F401 - a fixture

ASYNC_SERVERS = ["gevent", "eventlet"]
#: More than eventlet's default limit of 1024 simultaneous connections.
HELD_CONNECTIONS = 1100


def _engineio_open(packet: str) -> dict:
    """Read an Engine.IO v4 OPEN packet: "0" followed by the handshake as JSON."""
    assert packet.startswith("0{"), f"not an Engine.IO open packet: {packet[:80]!r}"
    handshake = json.loads(packet[1:])
    assert handshake["sid"] and handshake["pingInterval"] > 0
    return handshake


@pytest.fixture(params=ASYNC_SERVERS)
def server(request, start_live_server):
    """wsgi.py under one async server, on a fresh database."""
    return start_live_server(mode=request.param)


def test_home_page_is_served_in_chinese(server):
    response = requests.get(server.url + "/", timeout=10)
    assert response.status_code == 200
    assert "text/html" in response.headers["Content-Type"]
    assert '<html lang="zh-CN">' in response.text
    assert "网络在线问政" in response.text


def test_socketio_handshake_over_long_polling(server):
    response = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
    assert response.status_code == 200
    handshake = _engineio_open(response.text)
    assert "websocket" in handshake["upgrades"]


def test_socketio_handshake_over_a_websocket(server):
    ws = websocket.create_connection(
        server.ws_url + "/socket.io/?EIO=4&transport=websocket", timeout=10,
        origin=server.url,
    )
    try:
        handshake = _engineio_open(ws.recv())
        assert handshake["upgrades"] == []  # already on the best transport
        ws.send("40")  # Socket.IO CONNECT to the default namespace
        reply = ws.recv()
        assert reply.startswith("40{") and json.loads(reply[2:])["sid"]
    finally:
        ws.close()


def test_websocket_from_another_site_gets_no_engineio_session(server):
    # Only the site's own pages may open the realtime channel (SOCKETIO_ALLOWED_ORIGINS unset).
    # eventlet answers the upgrade with 400; gevent-websocket completes the upgrade before the
    # app sees the request, so there the app closes the socket without an OPEN packet.
    # websocket-client leaves its socket open when the handshake is refused: bring our own.
    raw = socket.create_connection((server.host, server.port), timeout=10)
    try:
        try:
            ws = websocket.create_connection(
                server.ws_url + "/socket.io/?EIO=4&transport=websocket", timeout=10,
                origin="https://evil.example", socket=raw,
            )
        except websocket.WebSocketBadStatusException as refused:
            assert refused.status_code == 400
            return
        try:
            first = ws.recv()
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            first = ""
        finally:
            ws.close()
    finally:
        raw.close()
    assert not first.startswith("0"), f"a foreign page got an Engine.IO session: {first!r}"


def _raise_open_files_limit(needed: int) -> None:
    """Make room for `needed` sockets here and in the server started after (it inherits it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"the open-files limit is {hard}; this test needs {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _accept_queue(port: int) -> int | None:
    """Connections waiting in the listening socket's accept queue (Linux), or None if unknown."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    local = f"0100007F:{port:04X}"
    for line in lines:
        fields = line.split()
        if fields[1] == local and fields[3] == "0A":  # state 0A: LISTEN
            return int(fields[4].split(":")[1], 16)  # rx_queue: not yet accepted
    return None


def test_eventlet_serves_more_than_1024_connections_at_once(start_live_server):
    _raise_open_files_limit(3 * HELD_CONNECTIONS)
    server = start_live_server(mode="eventlet")
    held: list[socket.socket] = []
    deadline = time.monotonic() + 15
    try:
        # Each connection sends half a request and waits: the server holds a green thread for
        # every one of them. With eventlet's default pool of 1024 it would stop accepting.
        # Connections go in small batches, each accepted before the next: eventlet listens
        # with a backlog of 50 and a faster burst would only measure SYN retries.
        while len(held) < HELD_CONNECTIONS:
            for _ in range(min(25, HELD_CONNECTIONS - len(held))):
                sock = socket.create_connection((server.host, server.port), timeout=5)
                held.append(sock)
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while _accept_queue(server.port):
                assert time.monotonic() < deadline, (
                    f"the server stopped accepting after about {len(held)} connections")
                time.sleep(0.005)
        assert time.monotonic() < deadline, f"only {len(held)} connections in time"

        started = time.monotonic()
        response = requests.get(server.url + "/", timeout=5)
        assert response.status_code == 200
        assert time.monotonic() - started < 2

        # The last connection, well past the 1024th, is being served: finish its request.
        last = held[-1]
        last.sendall(b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := last.recv(65536):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in held:
            sock.close()
    assert server.process.poll() is None, server.output()


@pytest.mark.parametrize("mode", [None, "gevent", "eventlet"])
def test_app_falls_back_to_threads_when_nothing_is_monkey_patched(tmp_path, mode):
    # `flask run`, the tests and the CLI import the app without wsgi.py's monkey-patching;
    # a gevent or eventlet server there would block, so the app must choose threads.
    env = server_env(tmp_path, mode or "")
    if mode is None:
        del env["SOCKETIO_ASYNC_MODE"]
    code = (
        "import sys\n"
        "from qa_live import create_app\n"
        "from qa_live.extensions import socketio\n"
        "app = create_app()\n"
        "assert 'gevent.monkey' not in sys.modules or "
        "not sys.modules['gevent.monkey'].is_module_patched('socket')\n"
        "print(socketio.async_mode)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "threading"


def test_wsgi_py_serves_under_threading_too(start_live_server):
    server = start_live_server(mode="threading")
    assert requests.get(server.url + "/", timeout=10).status_code == 200
    polling = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
    _engineio_open(polling.text)
    ws = websocket.create_connection(
        server.ws_url + "/socket.io/?EIO=4&transport=websocket", timeout=10, origin=server.url,
    )
    try:
        _engineio_open(ws.recv())
    finally:
        ws.close()



def test_a_socket_message_over_the_size_limit_closes_the_connection(server):
    # SOCKETIO_MAX_PAYLOAD_BYTES (16 KiB) is engine.io's max_http_buffer_size: a larger message
    # ends that connection; a message under the limit does not.
    limit = 16384
    for size, closes in ((limit - 100, False), (limit + 100, True)):
        raw = socket.create_connection((server.host, server.port), timeout=10)
        ws = websocket.create_connection(
            server.ws_url + "/socket.io/?EIO=4&transport=websocket", timeout=10,
            origin=server.url, socket=raw,
        )
        try:
            handshake = _engineio_open(ws.recv())
            assert handshake["maxPayload"] == limit
            try:
                # A Socket.IO CONNECT to "/" whose auth data pads the message to that size: a
                # live connection answers "40{...}" (a malformed packet would be refused for
                # its shape, whatever its size: see tests/test_floods_and_fuzz.py).
                padding = "x" * (size - len('40{"pad":""}'))
                ws.send('40{"pad":"' + padding + '"}')
                reply = ws.recv()
            except (websocket.WebSocketConnectionClosedException, ConnectionError):
                reply = ""  # closed already: even the next send found the connection gone
            assert (not reply.startswith("40")) is closes, (size, reply[:80])
        finally:
            ws.close()
            raw.close()  # websocket-client may leave it open after the server hung up


def test_the_servers_connections_send_small_writes_at_once():
    # TCP_NODELAY on every accepted connection: without it a response's last small write waits
    # for the client's delayed acknowledgement (some 40 ms on every page and API call).
    listener = listening_socket("127.0.0.1", 0, backlog=8)
    client = socket.create_connection(listener.getsockname()[:2], timeout=5)
    accepted, _address = listener.accept()
    try:
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        for sock in (accepted, client, listener):
            sock.close()
