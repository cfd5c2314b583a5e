"""The servers `make bench` measures: how each is started, published to, measured and stopped.

* :func:`start_qa_live`: ``wsgi.py`` as one process on SQLite, under gevent or eventlet
  (configs ``1proc-sqlite-gevent`` / ``1proc-sqlite-eventlet``).
* :func:`start_qa_live_cluster`: two ``wsgi.py`` gevent workers on PostgreSQL sharing broadcasts
  through Redis, behind nginx configured by ``deploy/nginx.conf`` rendered the way
  tests/test_scale_out.py renders it (config ``2workers-pg-redis-nginx``). PostgreSQL and Redis
  are throw-away servers from scripts/services.sh.
* :func:`start_reference`: the bare relays (bench/relay_gevent.py, bench/relay_eventlet.py,
  bench/node/server.js; config ``1proc``).

Every process is started in a process group of its own and :meth:`Target.stop` ends the group
(SIGTERM, then SIGKILL), so a failed run leaves nothing behind.

qa_live is started with limits lifted so the benchmark's own load is never refused (all
simulated citizens come from one machine and ask far faster than a person may): see
:data:`QA_LIVE_BENCH_ENV`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable
SLUG = "demo-11"  # the demo's live session (pre-moderated: asked questions wait for review)
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
HTTP = requests.Session()
HTTP.trust_env = False  # never through a proxy

# What the bench changes in qa_live's configuration (config.py reads all of these), and why:
QA_LIVE_BENCH_ENV = {
    # Every citizen comes from this machine: no cap on sockets per address (default 1,000) ...
    "CITIZEN_CONNECTIONS_PER_IP": "0",
    # ... nor on events per address (default 600 / 10 s) or per socket (default 30 / 10 s).
    "SOCKET_IP_EVENT_RATE_LIMIT": "1000000/10 seconds",
    "SOCKET_EVENT_RATE_LIMIT": "1000000/10 seconds",
    # Intake asks up to a few questions per citizen per minute: lift the per-visitor pace
    # (default 10 s between questions, 20 per session).
    "QUESTION_MIN_INTERVAL_S": "0",
    "QUESTION_MAX_PER_VISITOR": "1000000",
}
# Settings a developer's shell may carry that would make the server differ from the bench's.
_APP_SETTINGS = (
    "SOCKETIO_", "RATELIMIT_", "FLASK_", "PUBLIC_BASE_URL", "PROXY_FIX_COUNT",
    "PREFERRED_URL_SCHEME", "SESSION_COOKIE_SECURE", "ACCESS_LOG", "QA_LIVE_",
    "EVENTLET_MAX_CONNECTIONS", "DATABASE_URL", "SECRET_KEY", "CITIZEN_", "SOCKET_",
    "QUESTION_", "STAFF_",
)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_PROC_FILES: dict[str, int] = {}


def read_proc(path: str) -> str:
    """A /proc file's current text, through a descriptor opened on its first read and kept.

    With 20,000 citizens the load generator holds every descriptor its limit allows, so a file
    opened afresh after the storm fails (EMFILE), and a CPU or memory figure read as 0 spoils
    the phase's difference. Reading a kept descriptor from offset 0 makes the kernel write the
    file anew. A process that has ended fails the read (ESRCH): its descriptor is dropped."""
    fd = _PROC_FILES.get(path)
    if fd is None:
        fd = os.open(path, os.O_RDONLY)
        _PROC_FILES[path] = fd
    try:
        return os.pread(fd, 65_536, 0).decode()
    except OSError:
        os.close(fd)
        del _PROC_FILES[path]
        raise


def close_proc_files() -> None:
    """Close every kept /proc descriptor (a stopped server's would otherwise stay open and take
    a citizen's place under the open-file limit); the next read opens its file again."""
    while _PROC_FILES:
        with contextlib.suppress(OSError):
            os.close(_PROC_FILES.popitem()[1])


def cpu_ticks(pid: int) -> int:
    try:
        fields = read_proc(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def rss_kb(pid: int) -> int:
    try:
        return int(read_proc(f"/proc/{pid}/statm").split()[1]) * PAGE_KB
    except OSError:
        return 0


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def popen(command: list[str], log: Path, env: dict[str, str] | None = None,
          cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    """Start a server in a process group of its own, output appended to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out, start_new_session=True)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM the process's group, SIGKILL it if still there after ``timeout``."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group, if any
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def wait_http(url: str, processes: list[subprocess.Popen[bytes]], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"{url}: a server exited with {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if HTTP.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@dataclass
class Target:
    """A started server (or set of processes): where clients go, how to publish, what to stop."""

    name: str
    config: str
    port: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    extra_pids: list[int] = field(default_factory=list)  # measured, not ours to stop (redis)
    citizen_headers: list[dict[str, str]] = field(default_factory=list)  # one per citizen
    local_addrs: list[str] = field(default_factory=list)  # citizens' source addresses, if any
    publish_url: str = ""
    publish_headers: dict[str, str] = field(default_factory=dict)
    question_ids: list[int] = field(default_factory=list)
    staff_headers: dict[str, str] = field(default_factory=dict)
    staff_join: dict[str, Any] = field(default_factory=dict)
    database_url: str = ""  # where asked questions are counted (qa_live only)
    cleanup: list[Any] = field(default_factory=list)  # callables run by stop(), last first
    pid_notes: dict[str, list[int]] = field(default_factory=dict)
    # The two-worker configuration's parts, for bench/shared_parts.ClusterProbe.
    cluster: dict[str, Any] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def headers_for(self, index: int) -> dict[str, str]:
        if not self.citizen_headers:
            return {"Origin": self.base}
        return self.citizen_headers[index % len(self.citizen_headers)]

    def local_addr_for(self, index: int) -> str | None:
        return self.local_addrs[index % len(self.local_addrs)] if self.local_addrs else None

    def pids(self) -> list[int]:
        """Every server process to measure: ours and their children (nginx workers), plus extras."""
        found: list[int] = []
        for process in self.processes:
            if process.poll() is None:
                found.append(process.pid)
                found.extend(children(process.pid))
        return found + [p for p in self.extra_pids if Path(f"/proc/{p}").exists()]

    def rss_kb(self) -> int:
        return sum(rss_kb(pid) for pid in self.pids())

    def cpu_ticks(self) -> int:
        return sum(cpu_ticks(pid) for pid in self.pids())

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def publish(self, k: int) -> None:
        marker = f"bch#{k}#"
        if self.name == "qa_live":
            question = self.question_ids[k % len(self.question_ids)]
            body: dict[str, Any] = {
                "question_id": question,
                "body": f"基准测试答复 {marker} " + "这是一条用于压力测试的答复。" * 8}
        elif RELAY_MESSAGE["size"] == "small":
            body = {"room": f"s:{SLUG}", "event": "event",
                    "data": {"seq": k + 1, "type": "question", "data": {"id": 1, "m": marker}}}
        else:
            body = {"room": f"s:{SLUG}", "event": "event", "data": relay_envelope(k, marker)}
        response = HTTP.post(self.publish_url, json=body, headers=self.publish_headers,
                             timeout=60)
        response.raise_for_status()

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_group(process)
        close_proc_files()
        for action in reversed(self.cleanup):
            with contextlib.suppress(Exception):
                action()


# What the relays broadcast: "answer" (default), an envelope sized like qa_live's answered
# question; "small", a ~70-byte one (to compare with figures measured with small messages).
RELAY_MESSAGE = {"size": "answer"}


def relay_envelope(k: int, marker: str) -> dict[str, Any]:
    """An envelope shaped and sized like qa_live's answered-question event (about 1.5 KB)."""
    answer = {"id": 100000 + k, "question_id": 1, "kind": "live",
              "body": f"基准测试答复 {marker} " + "这是一条用于压力测试的答复。" * 8,
              "department": "市住房和城乡建设局", "created_at": "2026-11-29T06:00:00+00:00",
              "updated_at": "2026-11-29T06:00:00+00:00"}
    question = {"id": 1, "text": "请问老旧小区加装电梯的补贴标准和申请流程是什么？" * 3,
                "nickname": "市民", "source": "live", "status": "answered",
                "department": "市住房和城乡建设局", "upvotes": 12, "pinned": False,
                "needs_follow_up": False, "created_at": "2026-11-29T05:40:00+00:00",
                "published_at": "2026-11-29T05:41:00+00:00",
                "answered_at": "2026-11-29T06:00:00+00:00", "answers": [answer, answer]}
    return {"seq": k + 1, "type": "question", "data": question}


# qa_live -----------------------------------------------------------------------------------


def qa_live_env(workdir: Path, port: int, mode: str, secret: str,
                extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_APP_SETTINGS)}
    env.update(
        HOST="127.0.0.1", PORT=str(port), SOCKETIO_ASYNC_MODE=mode,
        QA_LIVE_INSTANCE_DIR=str(workdir), DATABASE_URL=f"sqlite:///{workdir / 'qa.sqlite3'}",
        SECRET_KEY=secret, FLASK_APP="qa_live", PYTHONUNBUFFERED="1", **QA_LIVE_BENCH_ENV,
    )
    env.update(extra or {})
    return env


def flask(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    done = subprocess.run([PYTHON, "-m", "flask", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"flask {' '.join(args)}: {done.stderr[-2000:]}")
    return done.stdout


STAFF_AGENT = "qa-live-bench-console"


def staff_login(base: str, login: str, password: str) -> dict[str, str]:
    """Log in through the login form; the headers a staff socket needs.

    Flask-Login's "strong" session protection ties the login to the address and User-Agent, so
    the console's socket sends the same User-Agent (and comes from the same 127.0.0.1).
    """
    http = requests.Session()
    http.trust_env = False
    http.headers["User-Agent"] = STAFF_AGENT
    page = http.get(f"{base}/login", timeout=10)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError(f"GET /login: no CSRF token ({page.status_code})")
    reply = http.post(f"{base}/login", data={"csrf_token": token.group(1), "login": login,
                                              "password": password},
                      allow_redirects=False, timeout=10)
    if reply.status_code not in (302, 303):
        raise RuntimeError(f"staff login as {login} failed ({reply.status_code})")
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    return {"Cookie": cookie, "Origin": base, "User-Agent": STAFF_AGENT}


def _prepare_qa_live(target: Target, env: dict[str, str], clients: int, tag: str) -> None:
    """Citizens' cookies, staff login, publisher token, the session's ids."""
    from visitors import visitor_cookies

    from qa_live.demo import DEMO_PASSWORD

    token = flask(env, "api", "token", "host", "--name", "bench").strip().splitlines()[-1]
    info = HTTP.get(f"{target.base}/api/v1/sessions/{SLUG}", timeout=10).json()
    session_id = info["session"]["id"]
    target.publish_url = f"{target.base}/api/v1/staff/sessions/{session_id}/actions/answer"
    target.publish_headers = {"Authorization": f"Bearer {token}"}
    target.question_ids = _fresh_questions(target, env["SECRET_KEY"], session_id, tag)
    target.citizen_headers = [{"Cookie": cookie, "Origin": target.base}
                              for cookie in visitor_cookies(env["SECRET_KEY"], clients, tag)]
    target.staff_headers = staff_login(target.base, "host", DEMO_PASSWORD)
    target.staff_join = {"session_id": session_id}


#: Questions asked and approved before a run, one for each publish (`make bench` makes 30;
#: beyond 64 they are answered again): every answer the fan-out broadcasts is then a question's
#: first, so the message keeps one size (1.3 KB) all run long, as the relays' does (answering the
#: demo's five questions again and again made it grow to 4 KB).
FRESH_QUESTIONS = 64


def _fresh_questions(target: Target, secret_key: str, session_id: int, tag: str) -> list[int]:
    """Ask FRESH_QUESTIONS questions (through the citizens' API) and approve them (staff API)."""
    from visitors import visitor_cookies

    approve = f"{target.base}/api/v1/staff/sessions/{session_id}/actions/approve"
    ids = []
    for k, cookie in enumerate(visitor_cookies(secret_key, FRESH_QUESTIONS, f"{tag}-fanout")):
        asked = HTTP.post(f"{target.base}/api/v1/sessions/{SLUG}/questions",
                          json={"client_id": str(uuid.uuid4()),
                                "text": f"基准测试问题 {k}：请问政策何时出台？"},
                          headers={"Cookie": cookie, "Origin": target.base}, timeout=30)
        if asked.status_code != 201:
            raise RuntimeError(f"asking a fan-out question: {asked.status_code} {asked.text[:200]}")
        question_id = asked.json()["question"]["id"]
        done = HTTP.post(approve, json={"question_id": question_id},
                         headers=target.publish_headers, timeout=30)
        if done.status_code != 200:
            raise RuntimeError(f"approving a fan-out question: {done.status_code} "
                               f"{done.text[:200]}")
        ids.append(question_id)
    return ids


def start_qa_live(mode: str, clients: int, log: Path, tag: str,
                  extra_env: dict[str, str] | None = None) -> Target:
    """One wsgi.py process on a fresh SQLite database with ``flask demo load``."""
    workdir = Path(tempfile.mkdtemp(prefix="qa-bench-"))
    port = free_port()
    env = qa_live_env(workdir, port, mode, secrets.token_hex(32), extra_env)
    target = Target("qa_live", f"1proc-sqlite-{mode}", port,
                    database_url=env["DATABASE_URL"])
    target.cleanup.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
    try:
        flask(env, "db", "upgrade")
        flask(env, "demo", "load")
        target.processes.append(popen([PYTHON, str(ROOT / "wsgi.py")], log, env))
        wait_http(target.base + "/", target.processes)
        _prepare_qa_live(target, env, clients, tag)
    except BaseException:
        target.stop()
        raise
    return target


# The scale-out deployment ------------------------------------------------------------------


class Services:
    """Throw-away PostgreSQL and Redis from scripts/services.sh, under a set name of our own."""

    def __init__(self, log: Path) -> None:
        # "run-<pid>": if this process dies without stopping them, the next
        # `scripts/services.sh start` (any test run) stops them as orphans.
        self.name = f"run-{os.getpid()}"
        self.env = dict(os.environ, QA_LIVE_SERVICES_RUN=self.name)
        self.log = log
        self.urls: dict[str, str] = {}
        self.state: dict[str, str] = {}

    def start(self) -> dict[str, str]:
        with open(self.log, "ab") as out:
            subprocess.run([str(ROOT / "scripts" / "services.sh"), "start"], cwd=ROOT,
                           env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                           timeout=300, check=False)
        folder = ROOT / ".test-services" / self.name
        env_file, state_file = folder / "env", folder / "state"
        for path, into in ((env_file, self.urls), (state_file, self.state)):
            if path.exists():
                for line in path.read_text().splitlines():
                    match = re.match(r"(?:export )?(\w+)=(.*)$", line.strip())
                    if match:
                        into[match.group(1)] = match.group(2).strip("'\"")
        return self.urls

    @property
    def postgres(self) -> str | None:
        return self.urls.get("QA_LIVE_TEST_POSTGRES_URL")

    @property
    def redis(self) -> str | None:
        return self.urls.get("QA_LIVE_TEST_REDIS_URL")

    def redis_pid(self) -> int | None:
        folder = self.state.get("D", "")
        path = Path(folder) / "redis.pid"
        with contextlib.suppress(OSError, ValueError):
            return int(path.read_text().split()[0])
        return None

    def postgres_pids(self) -> list[int]:
        folder = self.state.get("D", "")
        with contextlib.suppress(OSError, ValueError):
            master = int((Path(folder) / "data" / "postmaster.pid").read_text().split()[0])
            return [master, *children(master)]
        return []

    def stop(self) -> None:
        with open(self.log, "ab") as out:
            subprocess.run([str(ROOT / "scripts" / "services.sh"), "stop"], cwd=ROOT,
                           env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                           timeout=120, check=False)


def render_nginx(folder: Path, listen: int, tls_listen: int, worker_ports: list[int],
                 clients: int) -> Path:
    """deploy/nginx.conf rendered by tests/test_scale_out.py's own function, sized for the bench.

    The test's wrapper runs one nginx worker with 1,024 connections; a proxied citizen holds
    two connections (client and upstream), and the open-files hard limit here is 20,000 per
    process, so the bench runs two nginx workers (``reuseport`` spreads citizens over them).
    """
    sys.path.insert(0, str(ROOT))
    from tests.test_scale_out import _certificate, _nginx_conf

    cert, key = _certificate(folder)
    workers = [SimpleNamespace(port=port) for port in worker_ports]
    conf = _nginx_conf(folder, listen, tls_listen, workers, cert, key)  # type: ignore[arg-type]
    text = conf.read_text()
    per_worker = max(1024, 2 * clients + 512)
    for old, new in (("worker_processes 1;", "worker_processes 2;"),
                     ("worker_connections 1024;", f"worker_connections {per_worker};")):
        if old not in text:
            raise RuntimeError(f"tests/test_scale_out.py's nginx.conf has no '{old}'")
        text = text.replace(old, new)
    conf.write_text(text)
    site = folder / "site.conf"
    site_text = site.read_text()
    plain = f"listen 127.0.0.1:{listen};"
    if plain not in site_text:
        raise RuntimeError(f"rendered site.conf has no '{plain}'")
    site.write_text(site_text.replace(plain, f"listen 127.0.0.1:{listen} reuseport;"))
    return conf


# ip_hash keys IPv4 clients by their first three octets: citizens connect from 64 /24 networks
# of the loopback (127.0.1.1 ... 127.0.64.1), which nginx's hash splits 32 / 32 between two
# workers, instead of all from 127.0.0.1, which would pin every citizen to one worker.
CLUSTER_SOURCES = [f"127.0.{n}.1" for n in range(1, 65)]


def start_qa_live_cluster(clients: int, log: Path, tag: str) -> Target:
    """Two gevent workers + Redis + PostgreSQL behind nginx (the deployment of deploy/)."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None:
        raise RuntimeError("nginx is not installed")
    workdir = Path(tempfile.mkdtemp(prefix="qa-bench-cluster-"))
    services = Services(log)
    port = free_port()
    target = Target("qa_live", "2workers-pg-redis-nginx", port)
    target.cleanup.append(lambda: shutil.rmtree(workdir, ignore_errors=True))
    target.cleanup.append(services.stop)
    try:
        services.start()
        if not services.postgres or not services.redis:
            raise RuntimeError("scripts/services.sh could not start PostgreSQL and Redis "
                               f"(see {log})")
        secret = secrets.token_hex(32)
        redis = services.redis
        shared = {"DATABASE_URL": services.postgres, "SOCKETIO_MESSAGE_QUEUE": redis,
                  "RATELIMIT_STORAGE_URI": redis.rsplit("/", 1)[0] + "/1",
                  "PROXY_FIX_COUNT": "1"}
        worker_ports = [free_port(), free_port()]
        envs = [qa_live_env(workdir / f"w{i}", p, "gevent", secret, shared)
                for i, p in enumerate(worker_ports)]
        for i in range(2):
            (workdir / f"w{i}").mkdir()
        flask(envs[0], "db", "upgrade")
        flask(envs[0], "demo", "load")
        for env in envs:
            target.processes.append(popen([PYTHON, str(ROOT / "wsgi.py")], log, env))
        for env in envs:
            wait_http(f"http://127.0.0.1:{env['PORT']}/", target.processes)
        (workdir / "nginx").mkdir()
        conf = render_nginx(workdir / "nginx", port, free_port(), worker_ports, clients)
        target.processes.append(popen([nginx, "-c", str(conf), "-e",
                                       str(workdir / "nginx" / "error.log")], log))
        wait_http(target.base + "/", target.processes, timeout=15)
        redis_pid = services.redis_pid()
        target.extra_pids = [redis_pid] if redis_pid else []
        target.pid_notes = {"postgres_not_measured": services.postgres_pids()[:1]}
        target.cluster = {"worker_pids": [p.pid for p in target.processes[:2]],
                          "worker_ports": worker_ports, "nginx_pid": target.processes[2].pid,
                          "redis_url": redis, "postgres_url": services.postgres,
                          "redis_pid": redis_pid, "postgres_pids": services.postgres_pids()}
        target.local_addrs = CLUSTER_SOURCES
        target.database_url = services.postgres
        _prepare_qa_live(target, envs[0], clients, tag)
    except BaseException:
        target.stop()
        raise
    return target


# The references ----------------------------------------------------------------------------


def start_reference(name: str, log: Path) -> Target:
    port = free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), PYTHONUNBUFFERED="1")
    if name == "node-socketio":
        if shutil.which("node") is None:
            raise RuntimeError("node is not installed")
        if not (BENCH / "node" / "node_modules" / "socket.io").exists():
            raise RuntimeError("bench/node/node_modules missing: run npm ci --prefix bench/node")
        command = ["node", str(BENCH / "node" / "server.js")]
    else:
        script = "relay_gevent.py" if name.endswith("gevent") else "relay_eventlet.py"
        command = [PYTHON, str(BENCH / script)]
    target = Target(name, "1proc", port)
    target.processes.append(popen(command, log, env))
    target.publish_url = f"{target.base}/publish"
    target.staff_headers = {"Origin": target.base}
    target.staff_join = {"slug": SLUG}
    try:
        wait_http(target.base + "/", target.processes)
    except BaseException:
        target.stop()
        raise
    return target


def versions() -> dict[str, str]:
    """Versions of what is measured, for the results file."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str] = {}
    for package in ("flask-socketio", "python-socketio", "python-engineio", "gevent",
                    "gevent-websocket", "eventlet", "sqlalchemy"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    for name, command in (("node", ["node", "--version"]), ("nginx", ["nginx", "-v"]),
                          ("redis", ["redis-server", "--version"])):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            done = subprocess.run(command, capture_output=True, text=True, timeout=10,
                                  check=False)
            found[name] = (done.stdout + done.stderr).strip().splitlines()[0][:80]
    lock = BENCH / "node" / "package-lock.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        packages = json.loads(lock.read_text())["packages"]
        found["socket.io"] = packages["node_modules/socket.io"]["version"]
    return found
