"""The scale-out deployment: two wsgi.py workers on PostgreSQL, sharing broadcasts through Redis,
behind nginx configured by deploy/nginx.conf itself.

A citizen connected through nginx to whichever worker nginx picks sees an answer published
through the other worker, and a question asked through nginx is in the shared database.
"""

from __future__ import annotations

import http.client
import queue
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
import pytest
import requests
import socketio

from tests import fault_stack
from tests import services as outside
from tests.fault_stack import brotli_modules
from tests.live_server import ROOT, LiveServer, free_port, start_live_server  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

SESSION = "demo-11"  # the demo's live session


@pytest.fixture
def worker_database() -> Iterator[str]:
    """A fresh PostgreSQL database of its own on the test server, dropped afterwards."""
    base = outside.postgres_url()
    name = "qa_live_scale_" + secrets.token_hex(4)
    parts = urlsplit(base)
    admin = urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _certificate(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the fault tests' own)."""
    return fault_stack.certificate(tmp)


def _nginx_conf(tmp: Path, listen: int, tls_listen: int, workers: list[LiveServer],
                cert: Path, key: Path) -> Path:
    """deploy/nginx.conf in front of these two workers, as the fault tests run it."""
    return fault_stack.nginx_conf(tmp, listen, tls_listen, [w.port for w in workers], cert, key)


@pytest.fixture
def nginx_front(tmp_path: Path, start_live_server, worker_database: str) -> Iterator[dict]:
    redis = outside.redis_url()
    nginx = outside.nginx_path()
    shared = {
        "DATABASE_URL": worker_database,
        "SOCKETIO_MESSAGE_QUEUE": redis,
        "RATELIMIT_STORAGE_URI": redis,
        "SECRET_KEY": secrets.token_hex(32),
        "PROXY_FIX_COUNT": "1",
    }
    first = start_live_server(mode="gevent", demo=True, env=shared)
    second = start_live_server(mode="gevent", env=shared)
    listen, tls_listen = free_port(), free_port()
    (tmp_path / "nginx").mkdir()
    cert, key = _certificate(tmp_path / "nginx")
    conf = _nginx_conf(tmp_path / "nginx", listen, tls_listen, [first, second], cert, key)
    process = subprocess.Popen(
        [nginx, "-c", str(conf), "-e", str(tmp_path / "nginx" / "error.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{listen}"
    deadline = time.monotonic() + 15
    while True:
        try:
            if requests.get(url + "/", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = (tmp_path / "nginx" / "error.log")
            pytest.fail(f"nginx did not serve {url}: {process.communicate()[0]!r}\n"
                        f"{log.read_text() if log.exists() else ''}")
        time.sleep(0.1)
    try:
        yield {"url": url, "tls_url": f"https://127.0.0.1:{tls_listen}", "cert": str(cert),
               "workers": [first, second], "database": worker_database}
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def _citizen(url: str, transport: str,
             cert: str | None = None) -> tuple[socketio.Client, queue.Queue, requests.Session]:
    http = requests.Session()
    if cert:
        http.verify = cert  # our self-signed certificate, checked, not ignored
        http.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment would win
    page = http.get(f"{url}/s/{SESSION}", timeout=10)
    assert page.status_code == 200
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    received: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False, http_session=http)
    client.on("event", received.put, namespace="/qa")
    client.connect(url, headers={"Cookie": cookie}, transports=[transport],
                   namespaces=["/qa"], wait_timeout=10)
    return client, received, http


def _wait_for(received: queue.Queue, question_id: int, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            envelope = received.get(timeout=left)
        except queue.Empty:
            break
        data = envelope["data"]
        if envelope["type"] == "question" and data["id"] == question_id and data["answers"]:
            return envelope
    pytest.fail(f"no answer to question {question_id} arrived within {timeout} s")


def test_answer_published_on_one_worker_reaches_citizens_behind_nginx(nginx_front):
    url = nginx_front["url"]
    first, second = nginx_front["workers"]
    citizens = [_citizen(url, "websocket"), _citizen(url, "polling"),
                _citizen(nginx_front["tls_url"], "websocket", nginx_front["cert"])]
    try:
        acks = [c.call("join", {"slug": SESSION}, namespace="/qa", timeout=10)
                for c, _q, _h in citizens]
        assert all(ack["ok"] and ack["mode"] == "snapshot" for ack in acks)
        snapshot = acks[0]["snapshot"]
        unanswered = [q for q in snapshot["questions"] if q["status"] == "approved"]
        assert unanswered, "the demo's live session has a published, unanswered question"
        question = unanswered[0]

        token = second.flask("api", "token", "host").stdout.strip()
        for worker in (first, second):  # a change through either worker reaches everyone
            reply = requests.post(
                f"{worker.url}/api/v1/staff/sessions/{snapshot['session']['id']}/actions/answer",
                json={"question_id": question["id"], "body": f"由 {worker.port} 号进程答复。"},
                headers={"Authorization": f"Bearer {token}"}, timeout=10,
            )
            assert reply.status_code == 200, reply.text
            for _client, received, _http in citizens:
                envelope = _wait_for(received, question["id"])
                assert envelope["data"]["answers"][-1]["body"] == f"由 {worker.port} 号进程答复。"
                assert envelope["seq"] > snapshot["seq"]

        client, _received, _http = citizens[0]
        asked = client.call("ask", {"text": "两个进程之间的提问会不会丢？", "client_id":
                                    str(uuid.uuid4())}, namespace="/qa", timeout=10)
        assert asked["ok"], asked
        mine = requests.get(f"{second.url}/api/v1/sessions/{SESSION}/questions/mine",
                            cookies=citizens[0][2].cookies, timeout=10).json()
        assert asked["question"]["id"] in [q["id"] for q in mine["questions"]]
    finally:
        for client, _q, http in citizens:
            client.disconnect()
            http.close()


def _login_from(address: str, port: int, spoofed: str) -> None:
    """A failed staff login through nginx from a given local address, with a forged header."""
    def request(method: str, path: str, body: str = "", headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                          source_address=(address, 0))
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response, response.read().decode()
        finally:
            conn.close()

    response, page = request("GET", "/login")
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = urlencode({"csrf_token": token, "login": "host", "password": "not-the-password"})
    response, _page = request("POST", "/login", form, {
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
        "X-Forwarded-For": spoofed,
    })
    assert response.status == 200  # the form again, with the error


def test_the_real_client_address_passes_through_nginx_and_a_forged_one_does_not(nginx_front):
    port = int(urlsplit(nginx_front["url"]).port or 0)
    _login_from("127.0.0.5", port, spoofed="203.0.113.66")
    admin = urlunsplit(urlsplit(nginx_front["database"])._replace(scheme="postgresql"))
    with psycopg.connect(admin) as conn:
        row = conn.execute("SELECT ip FROM audit_log WHERE action = 'login_failed' "
                           "ORDER BY id DESC LIMIT 1").fetchone()
    # nginx connects to the worker from 127.0.0.1; the app records the citizen's own address.
    assert row == ("127.0.0.5",)


def test_nginx_sends_static_files_precompressed_and_cached_for_a_year(nginx_front):
    url = nginx_front["url"]
    outside.need("nginx brotli modules", brotli_modules(),
                 "libnginx-mod-http-brotli-static and -filter are not installed "
                 "(scripts/test.sh installs them)")
    page = requests.get(f"{url}/s/{SESSION}", headers={"Accept-Encoding": "br, gzip"},
                        timeout=10)
    assert page.status_code == 200 and page.headers["Content-Encoding"] == "br"
    assert "immutable" not in page.headers.get("Cache-Control", "")
    assets = re.findall(r'(?:href|src)="(/static/[^"]+\.[0-9a-f]{12}\.(?:css|js|svg))"',
                        page.text)
    assert len(assets) >= 5
    for asset in assets:
        for accepted, encoding in (("br, gzip", "br"), ("gzip", "gzip"), ("identity", None)):
            # Raw bytes: requests would decompress (and drop nothing to check).
            response = requests.get(url + asset, headers={"Accept-Encoding": accepted},
                                    timeout=10, stream=True)
            assert response.status_code == 200, asset
            assert response.headers.get("Content-Encoding") == encoding, (asset, accepted)
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert "Accept-Encoding" in response.headers.get("Vary", ""), asset
            response.close()
    icon = requests.get(f"{url}/favicon.ico", timeout=10)
    assert icon.status_code == 200 and icon.content[:4] == b"\x00\x00\x01\x00"


def _sockets_on(worker: LiveServer) -> int:
    text = requests.get(f"{worker.url}/metrics", timeout=10).text
    found = re.search(r'^qa_live_sockets\{namespace="/qa"\} (\S+)$', text, re.M)
    assert found, text[:2000]
    return int(float(found.group(1)))


def test_one_network_is_spread_over_the_workers(nginx_front):
    """Everyone behind one address (a carrier NAT, an office): sockets and requests still spread.

    With `ip_hash` (IPv4 keyed by its /24) all of them landed on one worker.
    """
    url = nginx_front["url"]
    first, second = nginx_front["workers"]
    for worker in (first, second):  # ready as soon as it serves (its loops just started)
        ready = requests.get(f"{worker.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
    citizens = [_citizen(url, "polling" if n % 3 == 0 else "websocket") for n in range(12)]
    try:
        acks = [c.call("join", {"slug": SESSION}, namespace="/qa", timeout=10)
                for c, _q, _h in citizens]
        assert all(ack["ok"] for ack in acks)  # long-polling too: its requests stay on one
        held = (_sockets_on(first), _sockets_on(second))
        assert sum(held) == 12 and min(held) >= 2, held
        served = {requests.get(f"{url}/healthz", timeout=10).json()["worker"] for _ in range(6)}
        assert len(served) == 2, served  # pages and the API: any worker
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 404  # not from outside
    finally:
        for client, _received, _http in citizens:
            client.disconnect()


def test_make_scale_starts_the_stack_ready_and_stops_it():
    """`make scale` (scripts/scale.py): the deployment on loopback, checked and stopped."""
    outside.nginx_path()
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "scale.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("/readyz 200 ready") == 2 and "/healthz 200" in done.stdout
