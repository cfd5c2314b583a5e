"""What an operator watches, in process: /healthz, /readyz, /metrics, the logs and request ids,
and a deployment's environment checked before anything runs.

The same endpoints on real gevent workers behind nginx, with PostgreSQL and Redis stopped and
started, are in tests/test_operations.py.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa_live import create_app
from qa_live.core import logs
from qa_live.live import realtime
from tests.conftest import config_for
from tests.live_server import ROOT
from tests.test_live_sockets import citizen, live_session  # noqa: F401 - the fixture


def _metrics(client, address: str = "127.0.0.1") -> str:
    reply = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
    assert reply.status_code == 200, reply.status_code
    return reply.get_data(as_text=True)


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the metrics:\n{text}")


def test_healthz_answers_and_readyz_says_what_is_ready(client):
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.get_json()["status"] == "ok"
    ready = client.get("/readyz")
    body = ready.get_json()
    # In tests the loops are off (the tests drive them): ready means the database answers.
    assert ready.status_code == 200, body
    assert body["status"] == "ready" and body["checks"]["database"] == {"ok": True}
    assert "qa_visitor" not in alive.headers.get("Set-Cookie", "")


def test_readyz_is_503_while_a_background_loop_is_late(app, client, monkeypatch):
    from qa_live.live import sockets
    from qa_live.ops import views

    for module in (views, sockets):  # no real threads here (the first request starts them)
        monkeypatch.setattr(module, "start_loops", lambda _app: None)
    app.config.update(HEARTBEAT_INTERVAL_S=2.0)
    late = client.get("/readyz")
    assert late.status_code == 503
    assert late.get_json()["checks"]["loops"] == {"ok": False, "heartbeat": None}
    realtime.of_app(app).rounds["heartbeat"] = (time.monotonic() - 1.0, 2.0)
    assert client.get("/readyz").status_code == 200
    realtime.of_app(app).rounds["heartbeat"] = (time.monotonic() - 30.0, 2.0)  # stalled
    assert client.get("/readyz").status_code == 503


def test_metrics_count_sockets_errors_and_responses(app, client, live_session):
    before = _metrics(client)
    pages = [citizen(app, live_session) for _ in range(3)]
    for page in pages:
        page.emit("join", {"slug": live_session.slug}, namespace="/qa", callback=True)
    bad = pages[0].emit("vote", {"question_id": "x"}, namespace="/qa", callback=True)
    assert bad["error"] == "invalid"
    client.get("/no-such-page").close()  # counted once the body is done, as a server does
    after = _metrics(client)
    assert _value(after, 'qa_live_sockets{namespace="/qa"}') == 3
    name = 'qa_live_socket_errors_total{code="invalid"}'
    earlier = _value(before, name) if name in before else 0.0  # the process's count so far
    assert _value(after, name) == earlier + 1
    assert _value(after, 'qa_live_http_responses_total{code="404"}') >= 1
    assert "qa_live_visits_pending 0.0" in after
    assert "process_resident_memory_bytes" in after  # prometheus_client's process metrics


def test_metrics_are_refused_outside_the_allowed_networks(app, client):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
    app.config["METRICS_ALLOWED_NETWORKS"] = "10.20.0.0/16"
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.3.4"}).status_code == 200
    assert client.get("/metrics").status_code == 404


def test_behind_nginx_an_outside_address_is_refused_metrics(db_url):
    app = create_app(config_for(db_url, PROXY_FIX_COUNT=1))
    with app.app_context():
        client = app.test_client()
        outside = client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
        inside = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert (outside.status_code, inside.status_code) == (404, 200)


def test_every_response_has_a_request_id_and_keeps_a_well_formed_one(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32
    kept = client.get("/healthz", headers={"X-Request-ID": "nginx-4bf92f3577b34da6a3ce"})
    assert kept.headers["X-Request-ID"] == "nginx-4bf92f3577b34da6a3ce"
    odd = "<script>alert(1)</script> and far too long " * 3
    forged = client.get("/healthz", headers={"X-Request-ID": odd})
    assert forged.headers["X-Request-ID"] != odd and len(forged.headers["X-Request-ID"]) == 32


def _json_lines(err: str) -> list[dict]:
    found = []
    for line in err.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


def test_json_logs_carry_time_level_and_the_request_id(db_url, capfd, monkeypatch):
    app = create_app(config_for(db_url, LOG_FORMAT="json", ACCESS_LOG=True))

    @app.get("/_log_something")
    def _log_something():  # a request that logs, as a failing dependency would
        app.logger.warning("something failed: %s", "details")
        return "ok"

    with app.app_context():
        reply = app.test_client().get("/_log_something")
        reply.get_data()  # the access line is written when the body is done
    logging.getLogger("socketio.server").error("a library's line")
    lines = _json_lines(capfd.readouterr().err)
    rid = reply.headers["X-Request-ID"]
    warning = next(line for line in lines if line["message"] == "something failed: details")
    assert warning["level"] == "WARNING" and warning["logger"] == "qa_live"
    assert warning["request_id"] == rid and warning["time"].endswith("Z")
    access = next(line for line in lines if line["logger"] == "qa_live.access")
    assert (access["path"], access["status"], access["request_id"]) == (
        "/_log_something", 200, rid)
    assert access["duration_ms"] >= 0 and access["method"] == "GET"
    library = next(line for line in lines if line["message"] == "a library's line")
    assert library["logger"] == "socketio.server" and library["level"] == "ERROR"


def test_text_logs_have_the_time_and_repeats_are_held_back(db_url, capfd):
    app = create_app(config_for(db_url, LOG_REPEAT_WINDOW_S=0.5))
    for _ in range(5):
        app.logger.error("the same failure %d", 1)
    # The same template with other values is another line (the database failing after the
    # message queue did: both "%s failing since %s: %s").
    app.logger.warning("%s failing since %s", "message queue", "03:40")
    app.logger.warning("%s failing since %s", "database", "03:41")
    time.sleep(0.6)
    app.logger.error("the same failure %d", 1)
    written = capfd.readouterr().err.splitlines()
    err = [line for line in written if "the same failure" in line]
    assert len(err) == 2, err
    assert err[0].startswith("[20") and "ERROR in" in err[0]
    assert "(4 more like this held back in the last 0.5 s)" in err[1]
    failing = [line for line in written if "failing since" in line]
    assert len(failing) == 2, written


def test_a_traceback_is_one_json_object(db_url, capfd):
    create_app(config_for(db_url, LOG_FORMAT="json"))
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("qa_live").exception("unhandled error")
    line = next(x for x in _json_lines(capfd.readouterr().err) if x["message"] == "unhandled error")
    assert "ValueError: boom" in line["exception"]


@pytest.fixture(autouse=True)
def _text_logs_after(db_url):
    """Leave the root logger as the other tests expect it (text, no held-back repeats)."""
    yield
    logs.configure(create_app(config_for(db_url)))


def _flask(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DATABASE_URL", "SECRET_KEY", "QA_LIVE_DEPLOYMENT")}
    return subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "qa_live",
                           *args], cwd=ROOT, env={**clean, **env}, capture_output=True,
                          text=True, timeout=120, check=False)


def test_a_deployments_flask_command_refuses_an_incomplete_environment(tmp_path):
    partial = tmp_path / "qa_live.env"
    partial.write_text("QA_LIVE_DEPLOYMENT=1\nSECRET_KEY=k\n")
    refused = _flask(["--env-file", str(partial), "db", "current"], {})
    assert refused.returncode != 0
    assert "DATABASE_URL" in refused.stderr and "not set" in refused.stderr
    whole = tmp_path / "whole.env"
    whole.write_text(f"QA_LIVE_DEPLOYMENT=1\nSECRET_KEY=k\n"
                     f"DATABASE_URL=sqlite:///{tmp_path / 'db.sqlite3'}\n")
    done = _flask(["--env-file", str(whole), "db", "upgrade"], {})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "db.sqlite3").exists()


def test_readyz_is_503_naming_the_database_when_it_cannot_be_reached():
    """A PostgreSQL that refuses connections: not ready, and the reason; alive all the same."""
    from tests.live_server import free_port

    app = create_app(config_for(f"postgresql+psycopg://qa:qa@127.0.0.1:{free_port()}/qa"))
    with app.app_context():
        reply = app.test_client().get("/readyz")
        alive = app.test_client().get("/healthz")
    body = reply.get_json()
    assert reply.status_code == 503 and body["status"] == "not ready"
    assert reply.headers["Retry-After"] == "5"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["database"]["error"].startswith("OperationalError")
    assert alive.status_code == 200  # alive all the same: restarting it would not help


def test_a_socketio_redis_error_is_one_line_with_the_time(tmp_path):
    """python-socketio gives its logger a bare handler of its own when the server is made (after
    the logs are set up): in a worker its Redis errors came out twice, once without a time."""
    script = ("from qa_live import create_app\n"
              "from qa_live.extensions import socketio\n"
              "create_app()\n"
              "socketio.server.logger.error('Cannot receive from redis... retrying in 1 secs')\n"
              "socketio.server.eio.logger.error('an engine.io error')\n")
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LOG_FORMAT")}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False, env={
                              **clean, "SECRET_KEY": "k" * 32, "SOCKETIO_ASYNC_MODE": "threading",
                              "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    assert done.returncode == 0, done.stderr
    for text in ("Cannot receive from redis", "an engine.io error"):
        lines = [line for line in done.stderr.splitlines() if text in line]
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("[20") and "ERROR in" in lines[0]
