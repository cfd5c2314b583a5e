"""The HTTP edge of the real servers: every request is answered or closed in bounded time, and
no refused request keeps its socket (issue 12, finding 1).

wsgi.py runs under gevent and under eventlet (tests/live_server.py); the clients are raw TCP
sockets, as a hostile script would use, and the server's own sockets are counted in /proc.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests import services as outside
from tests.live_server import LiveServer, free_port, running_server

ASYNC_SERVERS = ["gevent", "eventlet"]
LIMIT = 16384  # SOCKETIO_MAX_PAYLOAD_BYTES
#: Short time limits, so the slow-client tests take seconds (production: 75/10/30/60 s).
TIMEOUTS = {"HTTP_IDLE_TIMEOUT_S": "3", "HTTP_HEADER_TIMEOUT_S": "1.5",
            "HTTP_BODY_TIMEOUT_S": "1.5", "HTTP_IO_TIMEOUT_S": "30"}
ANSWER_WITHIN = 5.0  # seconds: far longer than any answer takes, far shorter than "never"


@pytest.fixture(scope="module", params=ASYNC_SERVERS)
def server(request, tmp_path_factory) -> Iterator[LiveServer]:
    """wsgi.py under one async server, shared by this module's tests."""
    folder = tmp_path_factory.mktemp(f"edge-{request.param}")
    with running_server(folder, request.param, env=TIMEOUTS) as live:
        yield live


def held_connections(pid: int, port: int) -> list[str]:
    """The server process's open TCP connections on `port`, as "STATE peer"."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    states = {"01": "ESTABLISHED", "08": "CLOSE-WAIT", "07": "CLOSE", "09": "LAST-ACK",
              "04": "FIN-WAIT-1", "05": "FIN-WAIT-2", "0A": "LISTEN"}
    held = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            # Held: still open on the server's side (ESTABLISHED, or CLOSE-WAIT: the client
            # left and the server never closed). Once the server has hung up (FIN-WAIT...) the
            # kernel finishes the goodbye on its own.
            if (inode in inodes and int(local.split(":")[1], 16) == port
                    and state in ("01", "08")):
                held.append(f"{states.get(state, state)} {remote}")
    return held


def wait_until_released(server: LiveServer, baseline: int) -> list[str]:
    """Wait (up to ANSWER_WITHIN) until the server holds no more connections than before."""
    deadline = time.monotonic() + ANSWER_WITHIN
    while True:
        held = held_connections(server.process.pid, server.port)
        if len(held) <= baseline or time.monotonic() > deadline:
            return held
        time.sleep(0.05)


def raw_request(server: LiveServer, head: str, body: bytes = b"") -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=ANSWER_WITHIN)
    sock.sendall(head.encode("latin-1") + body)
    return sock


def read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (or ANSWER_WITHIN passes: then b'' + ...)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        received += b"<no close within the time limit>"
    except ConnectionResetError:
        received += b"<reset>"
    return received


def open_polling_session(server: LiveServer) -> str:
    response = requests.get(server.url + "/socket.io/?EIO=4&transport=polling", timeout=10)
    return json.loads(response.text[1:])["sid"]


def post_head(path: str, length: int | None, extra: str = "") -> str:
    size = f"Content-Length: {length}\r\n" if length is not None else ""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8"
            f"\r\n{size}{extra}\r\n")


def test_oversized_long_polling_posts_are_answered_and_their_sockets_freed(server):
    baseline = len(held_connections(server.process.pid, server.port))
    socks = []
    for _ in range(30):
        sid = open_polling_session(server)
        body = b"4" + b"x" * 20_000  # one Engine.IO message of 20 KB
        sock = raw_request(server, post_head(f"/socket.io/?EIO=4&transport=polling&sid={sid}",
                                             len(body)), body)
        socks.append(sock)
        answer = read_answer(sock)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert b"Connection: close" in answer
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == "413"
    # The client did not even close its end: the server hung up on every one of them.
    assert wait_until_released(server, baseline) == []
    for sock in socks:
        sock.close()


def test_the_session_that_sent_too_much_is_ended_and_a_poll_receives_the_close(server):
    sid = open_polling_session(server)
    polling = f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    answer = requests.post(polling, data="4" + "x" * (LIMIT + 1), timeout=ANSWER_WITHIN)
    assert answer.status_code == 413
    after = requests.get(polling, timeout=ANSWER_WITHIN)
    # Engine.IO's CLOSE packet ("1"), or, once the session is gone, 400 "unknown session".
    assert after.text == "1" or after.status_code == 400, (after.status_code, after.text)


def test_a_message_under_the_limit_still_goes_through_long_polling(server):
    sid = open_polling_session(server)
    polling = f"{server.url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    assert requests.post(polling, data="40", timeout=ANSWER_WITHIN).text == "OK"
    assert requests.get(polling, timeout=ANSWER_WITHIN).text.startswith("40{")
    chunked = requests.post(polling, data=iter([b"4", b"x" * 1000]), timeout=ANSWER_WITHIN)
    assert chunked.status_code == 200 and chunked.text == "OK"


def test_an_oversized_chunked_body_is_refused_without_reading_it_all(server):
    sid = open_polling_session(server)
    sock = raw_request(server, post_head(f"/socket.io/?EIO=4&transport=polling&sid={sid}",
                                         None, "Transfer-Encoding: chunked\r\n"))
    for _ in range(5):  # 5 × 8 KB announced in chunks: over the limit after the third
        sock.sendall(b"2000\r\n" + b"x" * 0x2000 + b"\r\n")
    answer = read_answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]


def test_a_page_post_over_the_body_limit_gets_413_and_a_malformed_length_400(server):
    body = b"x" * (65536 + 1)
    sock = raw_request(server, post_head("/login", len(body)), body)
    answer = read_answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    sock = raw_request(server, post_head("/api/v1/visitor", None, "Content-Length: -5\r\n"))
    answer = read_answer(sock)
    sock.close()
    assert answer.split(b" ", 2)[1] == b"400", answer[:200]  # eventlet's own: HTTP/1.0


def test_a_client_trickling_its_headers_is_answered_408_and_closed(server):
    baseline = len(held_connections(server.process.pid, server.port))
    sock = raw_request(server, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
    started = time.monotonic()
    answer = read_answer(sock)
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert time.monotonic() - started < ANSWER_WITHIN
    assert wait_until_released(server, baseline) == []


def test_a_client_trickling_its_body_is_answered_408_and_closed(server):
    for path in ("/socket.io/?EIO=4&transport=polling&sid=" + open_polling_session(server),
                 "/api/v1/sessions/none/questions"):
        sock = raw_request(server, post_head(path, 100), b"4" + b"x" * 9)  # 10 of 100 bytes
        answer = read_answer(sock)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 408 "), (path, answer[:200])


def test_an_idle_connection_is_closed(server):
    baseline = len(held_connections(server.process.pid, server.port))
    sock = socket.create_connection((server.host, server.port), timeout=ANSWER_WITHIN)
    answer = read_answer(sock)  # nothing sent: the server hangs up after HTTP_IDLE_TIMEOUT_S
    sock.close()
    assert answer == b"", answer[:200]
    assert wait_until_released(server, baseline) == []


# -- through deploy/nginx.conf ------------------------------------------------------------------


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator[tuple[str, LiveServer]]:
    """nginx with deploy/nginx.conf in front of one gevent worker (on SQLite)."""
    from tests.test_scale_out import _certificate, _nginx_conf

    nginx = outside.nginx_path()
    with running_server(tmp_path / "worker", "gevent", env=TIMEOUTS) as worker:
        listen, tls_listen = free_port(), free_port()
        (tmp_path / "nginx").mkdir()
        cert, key = _certificate(tmp_path / "nginx")
        conf = _nginx_conf(tmp_path / "nginx", listen, tls_listen, [worker, worker], cert, key)
        process = subprocess.Popen([nginx, "-c", str(conf), "-e", str(tmp_path / "error.log")],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{listen}"
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    if requests.get(url + "/", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                assert process.poll() is None and time.monotonic() < deadline, "nginx failed"
                time.sleep(0.1)
            yield url, worker
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.slow
def test_through_nginx_an_oversized_polling_post_is_answered_and_the_worker_lets_go(
        nginx_in_front):
    url, worker = nginx_in_front
    baseline = len(held_connections(worker.process.pid, worker.port))
    for size in (20_000, 60_000):  # both under nginx's 64 KB: they reach the worker
        response = requests.get(url + "/socket.io/?EIO=4&transport=polling", timeout=10)
        sid = json.loads(response.text[1:])["sid"]
        answer = requests.post(f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}",
                               data="4" + "x" * size, timeout=ANSWER_WITHIN)
        assert answer.status_code == 413, answer.text[:200]
    too_big = requests.post(url + "/login", data="x" * 70_000, timeout=ANSWER_WITHIN)
    assert too_big.status_code == 413  # nginx's own limit
    # nginx keeps idle connections to the worker only if told to; none is held here.
    assert wait_until_released(worker, baseline) == []
