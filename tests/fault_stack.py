"""The multi-worker deployment as real processes, with faults on demand: what tests/test_faults.py
breaks and watches.

:class:`Stack` starts a private PostgreSQL and Redis (``scripts/services.sh`` with a set of its
own, so stopping them touches no other test's servers), migrates a fresh database and loads the
demo, runs two gevent ``wsgi.py`` workers sharing them, and nginx in front rendering
``deploy/nginx.conf`` itself. Any piece can be stopped, killed and started again: a worker
(``kill -9`` or SIGTERM, then the same command on the same port), Redis, PostgreSQL.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests

from tests import services as outside
from tests.live_server import ROOT, free_port, server_env

SERVICES = ROOT / "scripts" / "services.sh"
STAFF_PASSWORD = "fault-tests-2026"  # a throw-away database's accounts
# In one process (a `flask` command each would cost seconds): migrate, a department, the office
# and a host with API tokens (printed last), as `flask db upgrade`, `flask api token` would.
SETUP = f"""
import flask_migrate
from qa_live import create_app
from qa_live.auth import services as auth
from qa_live.auth.models import Role
from qa_live.auth.tokens import create_token
from qa_live.extensions import db
from qa_live.planning.services import create_department

app = create_app()
with app.app_context():
    flask_migrate.upgrade()
    dept = create_department("办公室", "办公室")
    db.session.flush()
    office = auth.create_user("office", "局办公室", "{STAFF_PASSWORD}", [Role.OFFICE], [dept.id])
    host = auth.create_user("host", "主持人", "{STAFF_PASSWORD}", [Role.HOST], [dept.id])
    tokens = [create_token(user, "fault tests")[1] for user in (office, host)]
    db.session.commit()
    print(*tokens)
"""
READY_TIMEOUT = 40.0


def certificate(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def brotli_modules() -> bool:
    """Whether Debian's brotli modules for nginx are installed (scripts/test.sh installs them)."""
    enabled = Path("/etc/nginx/modules-enabled")
    return all((enabled / f"50-mod-http-brotli-{kind}.conf").exists()
               for kind in ("filter", "static"))


def nginx_conf(tmp: Path, listen: int, tls_listen: int, ports: list[int],
               cert: Path, key: Path) -> Path:
    """nginx's main configuration around deploy/nginx.conf with the placeholders filled in."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    brotli = brotli_modules()
    if not brotli:  # deploy/nginx.conf marks the lines that need the module package
        site = "\n".join(line for line in site.splitlines() if not line.endswith("# brotli"))
    for placeholder, value in {
        "@WORKER1_PORT@": str(ports[0]), "@WORKER2_PORT@": str(ports[1]),
        "@LISTEN@": f"127.0.0.1:{listen}", "@TLS_LISTEN@": f"127.0.0.1:{tls_listen}",
        "@SERVER_NAME@": "127.0.0.1", "@ROOT@": str(ROOT), "@CERT@": str(cert),
        "@KEY@": str(key),
    }.items():
        site = site.replace(placeholder, value)
    (tmp / "site.conf").write_text(site)
    temp = {name: tmp / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    # As Debian's own nginx.conf does: load the modules packages installed (brotli).
    modules = "include /etc/nginx/modules-enabled/*.conf;\n" if brotli else ""
    conf.write_text(
        f"{user}{modules}daemon off;\nworker_processes 1;\npid {tmp}/nginx.pid;\n"
        f"error_log {tmp}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n  access_log off;\n"
        # as Debian's /etc/nginx/mime.types: module scripts need their type
        "  types { text/html html; text/css css; application/javascript js mjs;\n"
        "          image/png png; image/svg+xml svg; application/json json; }\n"
        "  default_type application/octet-stream;\n"
        f"  client_body_temp_path {temp['body']};\n  proxy_temp_path {temp['proxy']};\n"
        f"  fastcgi_temp_path {temp['fastcgi']};\n  uwsgi_temp_path {temp['uwsgi']};\n"
        f"  scgi_temp_path {temp['scgi']};\n"
        f"  include {tmp}/site.conf;\n}}\n"
    )
    return conf


def start_nginx(tmp: Path, ports: list[int]) -> tuple[subprocess.Popen[bytes], str, str, Path]:
    """nginx on deploy/nginx.conf in front of the workers: (process, url, tls url, cert)."""
    binary = outside.nginx_path()
    tmp.mkdir(parents=True, exist_ok=True)
    listen, tls_listen = free_port(), free_port()
    cert, key = certificate(tmp)
    conf = nginx_conf(tmp, listen, tls_listen, ports, cert, key)
    process = subprocess.Popen(
        [binary, "-c", str(conf), "-e", str(tmp / "error.log")],
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
            log = tmp / "error.log"
            pytest.fail(f"nginx did not serve {url}: {process.communicate()[0]!r}\n"
                        f"{log.read_text() if log.exists() else ''}")
        time.sleep(0.1)
    return process, url, f"https://127.0.0.1:{tls_listen}", cert


class Services:
    """A private PostgreSQL and Redis of scripts/services.sh, to stop and start at will."""

    def __init__(self, name: str) -> None:
        self.env = {**os.environ, "QA_LIVE_SERVICES_RUN": name}
        self.name = name
        self._run("start", timeout=180)
        env_file = ROOT / ".test-services" / name / "env"
        found = dict(re.findall(r"^export (\w+)=(.*)$", env_file.read_text(), re.M))
        if "QA_LIVE_TEST_POSTGRES_URL" not in found or "QA_LIVE_TEST_REDIS_URL" not in found:
            self.stop()
            outside.need("PostgreSQL and Redis", False,
                         f"scripts/services.sh start did not start both ({found})")
        self.postgres_url = found["QA_LIVE_TEST_POSTGRES_URL"]
        self.redis_url = found["QA_LIVE_TEST_REDIS_URL"]

    def _run(self, *args: str, timeout: float = 90) -> None:
        done = subprocess.run(["bash", str(SERVICES), *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise AssertionError(f"services.sh {' '.join(args)} failed:\n{done.stderr}")

    def down(self, which: str) -> None:
        """Stop PostgreSQL or Redis (its data and port kept)."""
        self._run("down", which)

    def up(self, which: str) -> None:
        """Start it again on the same port."""
        self._run("up", which)

    def stop(self) -> None:
        """Stop both and remove their folder."""
        self._run("stop")


class Worker:
    """One wsgi.py process; started again with the same command on the same port."""

    def __init__(self, name: str, env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.env = env
        self.folder = folder
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        """Start wsgi.py and wait until it answers GET /."""
        self.runs += 1
        with (open(self.folder / f"server.{self.runs}.out", "wb") as out,
              open(self.folder / f"server.{self.runs}.err", "wb") as err):
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "wsgi.py")], cwd=ROOT, env=self.env,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(self.url + "/", timeout=3).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"worker {self.name} did not start\n{self.log()}")
            time.sleep(0.1)

    def kill9(self) -> None:
        """kill -9: no shutdown code runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, as systemd stops it; kill if it does not exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        """Everything every run of this worker wrote to stderr and stdout."""
        parts = []
        for path in sorted(self.folder.glob("server.*")):
            parts.append(f"--- {path.name} ---\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def connections(self) -> int:
        """Established TCP connections to this worker's port (nginx's, one per client)."""
        return established_to(self.port)


def established_to(port: int) -> int:
    """Count ESTABLISHED connections whose local end is 127.0.0.1:port (from /proc/net/tcp)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state = fields[1], fields[3]
        if state == "01" and int(local.split(":")[1], 16) == port:
            count += 1
    return count


class Stack:
    """PostgreSQL, Redis, two gevent workers and nginx, as in docs/deployment.md."""

    def __init__(self, tmp: Path, extra_env: dict[str, str] | None = None) -> None:
        outside.nginx_path()  # skip (or fail, strict) early when nginx is missing
        self.tmp = tmp
        # Named as scripts/test.sh names its own: a later start stops it if this process died.
        self.services = Services(f"run-{os.getpid()}")
        self.workers: list[Worker] = []
        self.nginx: subprocess.Popen[bytes] | None = None
        try:
            self._start(extra_env or {})
        except BaseException:
            self.stop()
            raise

    def _start(self, extra_env: dict[str, str]) -> None:
        self.database = self.services.postgres_url
        shared = {
            "DATABASE_URL": self.database,
            "SOCKETIO_MESSAGE_QUEUE": self.services.redis_url,
            "RATELIMIT_STORAGE_URI": self.services.redis_url,
            "SECRET_KEY": secrets.token_hex(32),
            "PROXY_FIX_COUNT": "1",
            "QUESTION_MIN_INTERVAL_S": "0",
            "QUESTION_MAX_PER_VISITOR": "1000",
            **extra_env,
        }
        ports = [free_port(), free_port()]
        for index, port in enumerate(ports, start=1):
            folder = self.tmp / f"worker{index}"
            folder.mkdir(parents=True, exist_ok=True)
            env = server_env(folder, "gevent", port=port, extra=shared)
            self.workers.append(Worker(f"worker{index}", env, folder))
        done = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=self.workers[0].env,
                              capture_output=True, text=True, timeout=180, check=False)
        assert done.returncode == 0, f"setting up the database failed:\n{done.stderr}"
        self.office_token, self.host_token = done.stdout.split()[-2:]
        for worker in self.workers:
            worker.start()
        self.nginx, self.url, self.tls_url, self.cert = start_nginx(self.tmp / "nginx", ports)

    # -- the database, read directly ------------------------------------------------------------

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Run a query on the workers' database (PostgreSQL must be up)."""
        plain = urlunsplit(urlsplit(self.database)._replace(scheme="postgresql"))
        with psycopg.connect(plain, connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    # -- staff through the API --------------------------------------------------------------------

    def api(self, method: str, path: str, token: str | None = None, base: str | None = None,
            **kwargs: Any) -> requests.Response:
        """A staff API call (host token by default) through nginx or a given worker."""
        headers = {"Authorization": f"Bearer {token or self.host_token}"}
        return requests.request(method, f"{base or self.url}/api/v1{path}", headers=headers,
                                timeout=kwargs.pop("timeout", 20), **kwargs)

    def new_live_session(self, title: str) -> tuple[int, str]:
        """A fresh session in open moderation (questions published at once), started: (id, slug)."""
        departments = self.api("GET", "/staff/departments", self.office_token).json()
        dept = departments["departments"][0]["id"]
        slug = "fault-" + secrets.token_hex(3)
        now = time.time()
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))  # noqa: E731
        made = self.api("POST", "/staff/sessions", self.office_token, json={
            "title": title, "scheduled_start": iso(now + 600), "scheduled_end": iso(now + 7200),
            "department_ids": [dept], "moderation_mode": "open", "slug": slug,
        })
        assert made.status_code == 201, made.text
        session_id = made.json()["session"]["id"]
        for path in (f"/staff/sessions/{session_id}/announce",
                     f"/staff/sessions/{session_id}/actions/start"):
            done = self.api("POST", path, self.office_token, json={})
            assert done.status_code == 200, done.text
        return session_id, slug

    def last_seq(self, session_id: int) -> int:
        """The session's sequence number as stored."""
        return self.sql("SELECT last_seq FROM live_sessions WHERE id = %s", session_id)[0][0]

    # -- the end ----------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop everything this stack started."""
        if self.nginx is not None:
            self.nginx.terminate()
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
            if self.nginx.stdout:
                self.nginx.stdout.close()
        for worker in self.workers:
            worker.stop()
        self.services.stop()


@contextmanager
def running_stack(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """A Stack for the duration of a with-block."""
    stack = Stack(tmp, extra_env)
    try:
        yield stack
    finally:
        stack.stop()


def wait_until(predicate: Any, timeout: float, interval: float = 0.2) -> float | None:
    """Poll until predicate() is true; the seconds it took, or None on timeout."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():
            return time.monotonic() - began
        time.sleep(interval)
    return None
